"""Family-specific checks for the catalogue families beyond the common battery.

* special cases: Binomial(1) is the Bernoulli, Multinomial(1, K) the Categorical, Geometric the
  NegativeBinomial(1), ChiSquare a Gamma, Weibull(1) the Exponential, Beta the Dirichlet(2)...;
* inverse maps (expectation -> natural) at the extremes of each documented range;
* expected log carriers against brute-force sums in mpmath / float64;
* mpmath (40 digits) accuracy of log-prob, entropy and KL at typical and extreme points;
* hypothesis properties: finite losses and gradients across the documented ranges
  (``MAX_EXAMPLES`` examples per family and dtype, each checked eagerly and under jit).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import scipy.special as sp
import scipy.stats as st
from helpers import assert_close, quick_marks, representative
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as hs

import expfam
from expfam import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    ChiSquare,
    ContinuousBernoulli,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    InverseGamma,
    InverseGaussian,
    Laplace,
    Multinomial,
    NegativeBinomial,
    Rayleigh,
    Weibull,
)

mp.mp.dps = 40
MAX_EXAMPLES = 12


def f(x: Any) -> jax.Array:
    """An array in the active default float precision."""
    return jnp.asarray(x, jnp.result_type(float))


# -- special cases -----------------------------------------------------------------------


@functools.partial(jax.jit, static_argnums=(0, 3))
def _log_prob_and_entropy_pairs(
    family_a: expfam.ExponentialFamily,
    eta_a: jax.Array,
    x_a: jax.Array,
    family_b: expfam.ExponentialFamily,
    eta_b: jax.Array,
    x_b: jax.Array,
) -> tuple[tuple[jax.Array, jax.Array], tuple[jax.Array, jax.Array]]:
    """``(log_prob_a, log_prob_b), (entropy_a, entropy_b)`` of two parametrizations of one
    distribution, compiled as one program (eagerly, every operation compiles on its own)."""
    log_probs = expfam.log_prob(family_a, eta_a, x_a), expfam.log_prob(family_b, eta_b, x_b)
    return log_probs, (expfam.entropy(family_a, eta_a), expfam.entropy(family_b, eta_b))


def test_binomial_one_is_bernoulli(dtype: str) -> None:
    eta = f([[-3.0], [0.2], [25.0]])
    x = f([1.0, 0.0, 1.0])
    pairs = _log_prob_and_entropy_pairs(Binomial(1), eta, x, Bernoulli(), eta, x)
    assert_close(*pairs[0], dtype)
    assert_close(*pairs[1], dtype, floor=1.0)


def test_multinomial_one_is_categorical(dtype: str) -> None:
    eta = f([[0.3, -1.0, 2.0], [-30.0, 0.0, 1.0]])
    x = f([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    pairs = _log_prob_and_entropy_pairs(Multinomial(1, 3), eta, x, Categorical(3), eta, jnp.array([2, 0]))
    assert_close(*pairs[0], dtype)
    assert_close(*pairs[1], dtype, floor=1.0)


def test_multinomial_two_classes_is_binomial(dtype: str) -> None:
    n = 9
    logits = f([[0.4, -0.3], [5.0, -5.0]])
    binomial_eta = logits[:, :1] - logits[:, 1:]
    x = f([3.0, 9.0])
    counts = jnp.stack([x, n - x], axis=-1)
    pairs = _log_prob_and_entropy_pairs(Multinomial(n, 2), logits, counts, Binomial(n), binomial_eta, x)
    assert_close(*pairs[0], dtype)
    assert_close(*pairs[1], dtype, floor=1.0)
    carriers = jax.jit(lambda a, b: (Multinomial(n, 2).expected_log_carrier(a), Binomial(n).expected_log_carrier(b)))
    assert_close(*carriers(logits, binomial_eta), dtype)


def test_geometric_is_negative_binomial_one(dtype: str) -> None:
    eta = f([[-0.01], [-2.0], [-20.0]])
    x = f([120.0, 1.0, 0.0])
    pairs = _log_prob_and_entropy_pairs(Geometric(), eta, x, NegativeBinomial(1.0), eta, x)
    assert_close(*pairs[0], dtype)
    assert_close(*pairs[1], dtype, floor=1e-6)


def test_chi_square_is_gamma(dtype: str) -> None:
    df = f([0.3, 2.0, 7.0, 400.0])
    x = f([0.01, 1.5, 6.0, 390.0])
    gamma_eta = Gamma().natural_from_source(shape=df / 2, rate=jnp.full_like(df, 0.5))
    chi_eta = ChiSquare().natural_from_source(df=df)
    pairs = _log_prob_and_entropy_pairs(ChiSquare(), chi_eta, x, Gamma(), gamma_eta, x)
    assert_close(*pairs[0], dtype, floor=1.0)
    assert_close(*pairs[1], dtype, floor=1.0)


def test_scale_families_reduce_to_exponential(dtype: str) -> None:
    x = f([0.1, 1.0, 7.0])
    rate = f([2.0, 0.5, 0.1])
    expected = expfam.log_prob(Exponential(), Exponential().natural_from_source(rate=rate), x)
    weibull = Weibull(1.0)
    assert_close(expfam.log_prob(weibull, weibull.natural_from_source(scale=1 / rate), x), expected, dtype)
    # Rayleigh(sigma) is Weibull(2) with scale sqrt(2) sigma; |Laplace - loc| is exponential (density halved).
    sigma = f([0.3, 1.0, 4.0])
    rayleigh = expfam.log_prob(Rayleigh(), Rayleigh().natural_from_source(scale=sigma), x)
    weibull2 = expfam.log_prob(Weibull(2.0), Weibull(2.0).natural_from_source(scale=math.sqrt(2) * sigma), x)
    assert_close(rayleigh, weibull2, dtype, floor=1.0)
    laplace = expfam.log_prob(Laplace(1.0), Laplace(1.0).natural_from_source(scale=1 / rate), 1.0 - x)
    assert_close(laplace, expected - math.log(2), dtype, floor=1.0)


def test_inverse_gamma_is_reciprocal_gamma(dtype: str) -> None:
    shape, scale = f([0.5, 3.0, 200.0]), f([2.0, 0.1, 150.0])
    x = f([0.7, 0.05, 1.0])
    inverse = expfam.log_prob(InverseGamma(), InverseGamma().natural_from_source(shape=shape, scale=scale), x)
    gamma = expfam.log_prob(Gamma(), Gamma().natural_from_source(shape=shape, rate=scale), 1 / x)
    assert_close(inverse, gamma - 2 * jnp.log(x), dtype, floor=1.0)


def test_beta_is_two_class_dirichlet(dtype: str) -> None:
    a = f([[0.5, 2.0], [30.0, 0.2]])
    x = f([0.3, 0.9])
    pairs = _log_prob_and_entropy_pairs(Beta(), a, x, Dirichlet(2), a, jnp.stack([x, 1 - x], axis=-1))
    assert_close(*pairs[0], dtype, floor=1.0)
    assert_close(*pairs[1], dtype, floor=1.0)


# -- inverse maps at the extremes ------------------------------------------------------------

CONCENTRATIONS = [1e-4, 1e-2, 1.0, 1e2, 1e4, 1e6]
ROUND_TRIP = {"float32": 1e-5, "float64": 1e-12}


def _round_trip_error(family: expfam.ExponentialFamily, eta: jax.Array) -> float:
    """Norm-wise relative error of expectation(natural_from_expectation(chi)) against chi, per row.

    Compiled: in float32 the inverse of a boundary mean (a Binomial mean of n) is the boundary of
    the natural domain (an infinite logit), which an eager ``expectation`` call would reject.
    """
    chi, back = jax.jit(
        lambda e: (family.expectation(e), family.expectation(family.natural_from_expectation(family.expectation(e))))
    )(eta)
    a, b = np.asarray(back, np.float64), np.asarray(chi, np.float64)
    assert np.all(np.isfinite(a))
    return float(np.max(np.max(np.abs(a - b), -1) / np.max(np.abs(b), -1)))


@pytest.mark.slow  # a non-quick family (helpers.QUICK)
def test_concentration_inverses_at_extremes(dtype: str) -> None:
    grid = np.array(np.meshgrid(CONCENTRATIONS, CONCENTRATIONS)).reshape(2, -1).T
    assert _round_trip_error(Beta(), f(grid)) <= ROUND_TRIP[dtype]
    triples = np.array(np.meshgrid(CONCENTRATIONS, CONCENTRATIONS, CONCENTRATIONS)).reshape(3, -1).T
    assert _round_trip_error(Dirichlet(3), f(triples)) <= ROUND_TRIP[dtype]
    shapes = np.array(CONCENTRATIONS)
    eta = InverseGamma().natural_from_source(shape=f(shapes), scale=f(np.geomspace(1e-6, 1e6, shapes.size)))
    assert _round_trip_error(InverseGamma(), eta) <= ROUND_TRIP[dtype]
    assert _round_trip_error(ChiSquare(), ChiSquare().natural_from_source(df=f(2 * shapes))) <= ROUND_TRIP[dtype]


@pytest.mark.slow  # a non-quick family (helpers.QUICK)
def test_dirichlet_inverse_recovers_concentrations(x64: None) -> None:
    """Where c determines a well (moderate total concentration), the solver returns a itself."""
    a = jnp.asarray([[1e-4, 1e-4, 1e-4], [1e-4, 1.0, 50.0], [3.0, 3.0, 3.0], [0.5, 1e3, 2.0]])
    back = Dirichlet(3).natural_from_expectation(Dirichlet(3).expectation(a))
    assert np.max(np.abs(np.asarray(back / a) - 1)) <= 1e-12


@pytest.mark.slow  # a non-quick family (helpers.QUICK)
def test_concentration_inverse_flags_impossible_targets(dtype: str) -> None:
    """By Jensen, ``exp(E[log x_k]) < E[x_k] = a_k / a0``, so every attainable c has ``sum_k exp(c_k) < 1``:
    targets at or beyond that bound have no solution and must come back as NaN (not a wrong answer)."""
    pairs = f([[0.1, 0.1], [-0.5, 0.2], [0.0, -1.0], [-0.69, -0.69], [-0.7, -0.7]])
    beta = np.asarray(jax.jit(Beta().natural_from_expectation)(pairs))
    assert np.all(np.isnan(beta[:4]))
    assert np.all(np.isfinite(beta[4]))
    triples = f([[-1.0, -1.0, -1.0], [0.1, -1.0, -2.0], [-1.2, -1.2, -1.2]])
    dirichlet = np.asarray(jax.jit(Dirichlet(3).natural_from_expectation)(triples))
    assert np.all(np.isnan(dirichlet[:2]))
    assert np.all(np.isfinite(dirichlet[2]))


@pytest.mark.slow  # a non-quick family (helpers.QUICK)
def test_float32_mean_direction_inverse_at_large_concentration(x64: None) -> None:
    """In float32 the slope ``1 - (p - 1) R - A^2`` of the mean-length equation cancels completely
    by kappa ~ 1e3: the solver must still return a kappa whose expectation (evaluated in float64)
    reproduces the given float32 chi to rounding level (backward error), for p = 2, 3 and 50
    (256 log-spaced kappa in [20, 1e4], seeded random directions; before the fix 7e-5, 5e-4, 4e-6)."""
    kappa = np.geomspace(20.0, 1e4, 256)
    rng = np.random.default_rng(0)
    for family in (expfam.VonMises(), expfam.VonMisesFisher(3), expfam.VonMisesFisher(50)):
        direction = rng.normal(size=(kappa.size, family.num_natural))
        direction /= np.linalg.norm(direction, axis=-1, keepdims=True)
        chi = family.expectation(jnp.asarray(kappa[:, None] * direction)).astype(jnp.float32)
        solved = jax.jit(family.natural_from_expectation)(chi)
        assert solved.dtype == jnp.float32
        back = np.asarray(family.expectation(solved.astype(jnp.float64)))
        assert np.max(np.abs(back - np.asarray(chi, np.float64))) <= 2e-6


def test_continuous_bernoulli_inverse_near_one_half(dtype: str) -> None:
    eta = f([[-1e3], [-40.0], [-1.0], [-1e-3], [-1e-7], [0.0], [1e-7], [1e-3], [0.7], [1.0], [12.0], [1e3]])
    family = ContinuousBernoulli()
    back = jax.jit(family.natural_from_expectation)(family.expectation(eta))
    # eta near 0 is determined by the mean only to absolute accuracy ~ 12 * eps(1/2).
    error = np.abs(np.asarray(back - eta, np.float64)) / np.maximum(np.abs(np.asarray(eta, np.float64)), 1.0)
    assert np.max(error) <= {"float32": 2e-5, "float64": 1e-12}[dtype]


def test_closed_form_inverses(dtype: str) -> None:
    cases = [
        (NegativeBinomial(0.01), f([[-30.0], [-1e-6], [-1.0]])),
        (Geometric(), f([[-25.0], [-1e-6]])),
        (Binomial(50), f([[-30.0], [0.0], [30.0]])),
        (Multinomial(7, 3), f([[-20.0, 0.0, 20.0], [1.0, 1.0, 1.0]])),
        (InverseGaussian(), InverseGaussian().natural_from_source(mean=f([1e-3, 1e3]), shape=f([1e3, 1e-3]))),
        (Rayleigh(), Rayleigh().natural_from_source(scale=f([1e-6, 1e6]))),
        (Laplace(), Laplace().natural_from_source(scale=f([1e-6, 1e6]))),
        (Weibull(0.3), Weibull(0.3).natural_from_source(scale=f([1e-3, 1e3]))),
    ]
    for family, eta in cases:
        assert _round_trip_error(family, eta) <= ROUND_TRIP[dtype], family


# -- expected log carriers -------------------------------------------------------------------


@pytest.mark.parametrize(("n", "p"), [(1, 0.3), (7, 0.5), (40, 1e-3), (40, 0.999)])
def test_binomial_expected_log_carrier(n: int, p: float, x64: None) -> None:
    reference = mp.fsum(
        mp.binomial(n, k) * mp.mpf(p) ** k * (1 - mp.mpf(p)) ** (n - k) * mp.log(mp.binomial(n, k))
        for k in range(n + 1)
    )
    eta = Binomial(n).natural_from_source(probability=jnp.asarray(p))
    assert_close(Binomial(n).expected_log_carrier(eta), float(reference), "float64", floor=1e-3)


def test_multinomial_expected_log_carrier(x64: None) -> None:
    n, p = 6, [mp.mpf("0.1"), mp.mpf("0.3"), mp.mpf("0.6")]
    reference = mp.mpf(0)
    for i in range(n + 1):
        for j in range(n + 1 - i):
            k = n - i - j
            coefficient = mp.factorial(n) / (mp.factorial(i) * mp.factorial(j) * mp.factorial(k))
            reference += coefficient * p[0] ** i * p[1] ** j * p[2] ** k * mp.log(coefficient)
    eta = jnp.log(jnp.asarray([0.1, 0.3, 0.6]))
    assert_close(Multinomial(n, 3).expected_log_carrier(eta), float(reference), "float64")


@pytest.mark.parametrize(
    ("r", "mean"), [(0.01, 0.3), (0.01, 50.0), (0.5, 5.0), (2.5, 1e-3), (7.3, 200.0), (400.0, 30.0)]
)
def test_negative_binomial_expected_log_carrier(r: float, mean: float, x64: None) -> None:
    p = mean / (mean + r)
    distribution = st.nbinom(r, 1 - p)
    k = np.arange(int(distribution.isf(1e-18)) + 20, dtype=np.float64)
    log_h = sp.gammaln(k + r) - sp.gammaln(r) - sp.gammaln(k + 1)
    reference = math.fsum(distribution.pmf(k) * log_h)
    actual = NegativeBinomial(r).expected_log_carrier(jnp.asarray([math.log(p)]))
    assert_close(actual, reference, "float64", floor=1e-2)


def test_inverse_gaussian_expected_log(x64: None) -> None:
    for mean, shape in [(2.0, 3.0), (0.01, 100.0), (10.0, 0.01), (1.0, 500.0)]:
        m, s = mp.mpf(mean), mp.mpf(shape)

        def density_log(x: Any, m: Any = m, s: Any = s) -> Any:
            return mp.sqrt(s / (2 * mp.pi * x**3)) * mp.exp(-s * (x - m) ** 2 / (2 * m * m * x)) * mp.log(x)

        reference = mp.quad(density_log, [0, mean / 10, mean, 10 * mean, mp.inf])
        eta = InverseGaussian().natural_from_source(mean=jnp.asarray(mean), shape=jnp.asarray(shape))
        elc = -0.5 * math.log(2 * math.pi) - 1.5 * float(reference)
        assert_close(InverseGaussian().expected_log_carrier(eta), elc, "float64", floor=1.0)


# -- mpmath accuracy of log-prob, entropy and KL ----------------------------------------------


def _mp_beta_log_prob(a: Any, b: Any, x: Any) -> Any:
    return (a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x) - mp.log(mp.beta(a, b))


def _mp_beta_entropy(a: Any, b: Any) -> Any:
    return mp.log(mp.beta(a, b)) - (a - 1) * mp.digamma(a) - (b - 1) * mp.digamma(b) + (a + b - 2) * mp.digamma(a + b)


def _mp_beta_kl(a: Any, b: Any, c: Any, d: Any) -> Any:
    return (
        mp.log(mp.beta(c, d))
        - mp.log(mp.beta(a, b))
        + (a - c) * mp.digamma(a)
        + (b - d) * mp.digamma(b)
        + (c - a + d - b) * mp.digamma(a + b)
    )


BETA_POINTS = [(2.0, 3.0, 0.3), (0.5, 0.5, 0.01), (30.0, 0.2, 0.999), (1e-3, 5.0, 1e-5), (50.0, 80.0, 0.4)]


@pytest.mark.slow  # a non-quick family (helpers.QUICK)
def test_beta_accuracy_against_mpmath(dtype: str) -> None:
    """float64: 1e-12 relative (absolute below 1); float32: 10x the input-rounding floor or 2e-6."""
    for a, b, x in BETA_POINTS:
        eta = Beta().natural_from_source(alpha=f(a), beta=f(b))
        values = {
            "log_prob": (expfam.log_prob(Beta(), eta, f(x)), lambda a, b, x: _mp_beta_log_prob(a, b, x)),
            "entropy": (expfam.entropy(Beta(), eta), lambda a, b, x: _mp_beta_entropy(a, b)),
            "kl": (expfam.kl_divergence(Beta(), eta, Beta().natural_from_source(alpha=f(1.5), beta=f(2.5))),
                   lambda a, b, x: _mp_beta_kl(a, b, mp.mpf(1.5), mp.mpf(2.5))),
        }  # fmt: skip
        for name, (actual, reference) in values.items():
            exact = reference(mp.mpf(a), mp.mpf(b), mp.mpf(x))
            error = abs(float(actual) - float(exact)) / max(abs(float(exact)), 1.0)
            if dtype == "float64":
                assert error <= 1e-12, (name, a, b, x, error)
            else:
                rounded = [mp.mpf(float(np.float32(v))) for v in (a, b, x)]
                floor = abs(float(reference(*rounded)) - float(exact)) / max(abs(float(exact)), 1.0)
                assert error <= max(10 * floor, 2e-6), (name, a, b, x, error, floor)


# -- hypothesis: finite losses and gradients across the documented ranges ------------------------


def _log_uniform(low: float, high: float) -> Any:
    return hs.floats(math.log10(low), math.log10(high)).map(lambda e: 10.0**e)


def _sources(**fields: Any) -> Any:
    return lambda: hs.fixed_dictionaries(fields)


_CONCENTRATION = _log_uniform(1e-4, 1e6)
_PROBABILITY = hs.floats(1e-12, 1 - 1e-7)

SOURCES = {
    "Beta": (Beta(), _sources(alpha=_CONCENTRATION, beta=_CONCENTRATION)),
    "Dirichlet": (Dirichlet(3), _sources(concentration=hs.lists(_CONCENTRATION, min_size=3, max_size=3))),
    "InverseGamma": (InverseGamma(), _sources(shape=_CONCENTRATION, scale=_log_uniform(1e-6, 1e6))),
    "ChiSquare": (ChiSquare(), _sources(df=_log_uniform(2e-4, 2e6))),
    "Binomial": (Binomial(30), _sources(probability=_PROBABILITY)),
    "Multinomial": (
        Multinomial(8, 3),
        _sources(probabilities=hs.lists(_log_uniform(1e-12, 1.0), min_size=3, max_size=3)),
    ),
    "NegativeBinomial": (NegativeBinomial(0.7), _sources(probability=_PROBABILITY)),
    "Geometric": (Geometric(), _sources(probability=_PROBABILITY)),
    "Rayleigh": (Rayleigh(), _sources(scale=_log_uniform(1e-6, 1e6))),
    "Weibull": (Weibull(1.7), _sources(scale=_log_uniform(1e-3, 1e3))),
    "Laplace": (Laplace(), _sources(scale=_log_uniform(1e-6, 1e6))),
    "InverseGaussian": (InverseGaussian(), _sources(mean=_log_uniform(1e-3, 1e3), shape=_log_uniform(1e-3, 1e3))),
    "ContinuousBernoulli": (ContinuousBernoulli(), _sources(lam=hs.floats(1e-4, 1 - 1e-4))),
}


def _loss(family: expfam.ExponentialFamily, eta: jax.Array, chi: jax.Array, elc: jax.Array) -> jax.Array:
    return expfam.cross_entropy(family, eta, (chi, elc))


# Built once: the family is a static pytree, so each family and dtype compiles once.
_VALUE_AND_GRAD = jax.value_and_grad(_loss, argnums=1)
_JIT_VALUE_AND_GRAD = jax.jit(_VALUE_AND_GRAD)


@functools.partial(jax.jit, static_argnums=0)
def _from_points(family: expfam.ExponentialFamily, eta_p: jax.Array, eta_q: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``_VALUE_AND_GRAD`` at q against p's target, the target computed in the same program."""
    return _VALUE_AND_GRAD(family, eta_q, *family.distribution_target(eta_p)[:2])


def _finite_loss_and_gradient(family: expfam.ExponentialFamily, source_p: dict, source_q: dict) -> None:
    eta_p = family.natural_from_source(**{k: f(v) for k, v in source_p.items()})
    eta_q = family.natural_from_source(**{k: f(v) for k, v in source_q.items()})
    # Eagerly (and compiled from the eager target) as well only for the representative families
    # (eager evaluation compiles every operation afresh; the compiled function runs the same math).
    if representative(family):
        chi, elc = family.distribution_target(eta_p)[:2]
        results = [fn(family, eta_q, chi, elc) for fn in (_VALUE_AND_GRAD, _JIT_VALUE_AND_GRAD)]
    else:
        results = [_from_points(family, eta_p, eta_q)]
    for value, gradient in results:
        assert np.isfinite(float(value)), (source_p, source_q, value)
        assert np.all(np.isfinite(np.asarray(gradient))), (source_p, source_q, gradient)


@pytest.mark.parametrize("name", [pytest.param(name, marks=quick_marks(name)) for name in sorted(SOURCES)])
def test_finite_loss_and_gradient_across_range(name: str, dtype: str) -> None:
    family, strategy = SOURCES[name]

    @settings(max_examples=MAX_EXAMPLES, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
    @given(strategy(), strategy())
    def check(source_p: dict, source_q: dict) -> None:
        _finite_loss_and_gradient(family, source_p, source_q)

    check()
