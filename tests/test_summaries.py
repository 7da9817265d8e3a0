"""Distribution summaries (mean, variance, mode, cdf, survival, log tails, quantile) against scipy.stats.

One compiled probe per catalogue entry and dtype, vmapped over the entry's example points. The
references are built at the source parameters of the dtype-rounded natural parameters (read in
float64), so that a float32 parametrization's own rounding is not charged to the summaries.
Quantiles are checked by their backward error (the reference cdf at the quantile against p, on
the side of p, relative to the conditioning ``|x f(x) / F(x)|``), count quantiles by the
definition ``F(k - 1) < p <= F(k)``, modes by the reference density around them.
"""

from __future__ import annotations

import functools
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.integrate
import scipy.special
import scipy.stats
from registry import scipy_distribution

import expfam

ENTRIES = [(entry.family, entry.examples) for entry in expfam.catalogue()]
IDS = [family.name for family, _ in ENTRIES]
#: (VonMises, circular, has its own test below.)
UNIVARIATE = [(f, e) for f, e in ENTRIES if f.event_shape == () and not isinstance(f, expfam.VonMises)]
#: Families whose summaries are closed forms compile in about a second; those built on incomplete
#: gamma / beta functions, series or quantile searches take tens of seconds each (slow).
CLOSED_FORMS = {"Normal", "NormalKnownVariance", "LogNormal", "Exponential", "Laplace", "Rayleigh", "Weibull", "Pareto"}
UNIVARIATE_PARAMS = [
    pytest.param(f, e, id=f.name, marks=() if type(f).__name__ in CLOSED_FORMS else pytest.mark.slow)
    for f, e in UNIVARIATE
]

MOMENTS = ("mean", "variance", "stddev", "mode")
TAILS = ("cdf", "survival", "log_cdf", "log_survival")

#: Probabilities at which quantiles are taken (the dtype's neighbour of 1 - 1e-10 is 1 in float32).
PROBABILITIES = {
    "float32": [1e-10, 1e-4, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 2**-20],
    "float64": [1e-10, 1e-4, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 1e-10],
}
#: Relative accuracy asked of every summary (a few hundred ulps: incomplete gamma and beta
#: functions in float32 carry a few 1e-6).
RTOL = {"float32": 3e-5, "float64": 1e-10}
#: The float32 incomplete beta function (``_numerics.incomplete_beta``) keeps ~1e-5 at a = b = 1000
#: but loses up to ~4e-4 next to the ends with one parameter tiny or huge (a = 12866, b = 2.5 in the
#: NegativeBinomial's upper tail); the families built on it get this tolerance in float32.
BETAINC_FAMILIES = {"Beta", "BetaPrime", "Binomial", "NegativeBinomial", "Geometric"}


def rtol(family: expfam.ExponentialFamily, dtype: str) -> float:
    if dtype == "float32" and type(family).__name__ in BETAINC_FAMILIES:
        return 1e-3
    return RTOL[dtype]


def provided(family: expfam.ExponentialFamily, names: tuple[str, ...]) -> list[str]:
    """The summaries among ``names`` that the family provides. ``log_cdf`` / ``log_survival`` only
    where the family has its own log form (elsewhere they are the logarithms of the tails, and
    compiling them again would double the probe's compile time)."""
    method = {"variance": "var", "stddev": "var"}
    wanted = []
    for name in names:
        base = method.get(name, name)
        if family.provides(base) or (name in ("variance", "stddev") and family.provides("covariance")):
            wanted.append(name)
    return wanted


@functools.partial(jax.jit, static_argnums=(0, 1))
def probe(family: expfam.ExponentialFamily, names: tuple[str, ...], eta: jax.Array, x: jax.Array, p: jax.Array):
    """Every summary in ``names`` at each row of eta (vmapped), x and p per row."""

    def one(e: jax.Array, xs: jax.Array) -> dict[str, jax.Array]:
        out = {}
        for name in names:
            fn = getattr(expfam, name)
            if name in TAILS:
                out[name] = fn(family, e, xs)
            elif name == "quantile":
                out[name] = fn(family, e, p)
            else:
                out[name] = fn(family, e)
        return out

    return jax.vmap(one)(eta, x)


def rounded_sources(family: expfam.ExponentialFamily, eta: jax.Array) -> list[dict[str, np.ndarray]]:
    """The source parameters of each row of eta, read in float64."""
    with jax.enable_x64(True):
        source = family.source_from_natural(jnp.asarray(np.asarray(eta, np.float64)))
        return [{k: np.asarray(v[i], np.float64) for k, v in source.items()} for i in range(eta.shape[0])]


class ContinuousBernoulliReference:
    """``q(x) = eta e^(eta x) / expm1(eta)`` on [0, 1], its moments and tails by quadrature."""

    def __init__(self, lam: float) -> None:
        self.eta = float(np.log(lam) - np.log1p(-lam))

    def pdf(self, x: Any) -> Any:
        eta, x = self.eta, np.asarray(x, np.float64)
        if eta == 0:
            value = np.ones_like(x)
        elif eta > 0:
            value = np.exp(eta * (x - 1.0)) * eta / -np.expm1(-eta)
        else:
            value = eta * np.exp(eta * x) / np.expm1(eta)
        return np.where((x >= 0) & (x <= 1), value, 0.0)

    def logpdf(self, x: Any) -> Any:
        with np.errstate(divide="ignore"):
            return np.log(self.pdf(x))

    def _integral(self, f: Any, lo: float, hi: float) -> float:
        return scipy.integrate.quad(f, lo, hi, epsabs=0.0, epsrel=1e-13, limit=200)[0]

    def mean(self) -> float:
        return self._integral(lambda x: x * self.pdf(x), 0.0, 1.0)

    def var(self) -> float:
        m = self.mean()
        return self._integral(lambda x: (x - m) ** 2 * self.pdf(x), 0.0, 1.0)

    def cdf(self, x: Any) -> np.ndarray:
        return np.array([self._integral(self.pdf, 0.0, min(max(v, 0.0), 1.0)) for v in np.ravel(x)]).reshape(
            np.shape(x)
        )

    def sf(self, x: Any) -> np.ndarray:
        return np.array([self._integral(self.pdf, min(max(v, 0.0), 1.0), 1.0) for v in np.ravel(x)]).reshape(
            np.shape(x)
        )

    def logcdf(self, x: Any) -> np.ndarray:
        return np.log(self.cdf(x))

    def logsf(self, x: Any) -> np.ndarray:
        return np.log(self.sf(x))

    def ppf(self, p: Any) -> np.ndarray:
        """Where the tails' test points are placed (the closed form; the quantile is checked by quadrature)."""
        eta = self.eta
        return np.asarray(p, np.float64) if eta == 0 else np.log1p(np.asarray(p) * np.expm1(eta)) / eta


def reference(family: expfam.ExponentialFamily, source: dict[str, np.ndarray]) -> Any:
    if isinstance(family, expfam.ContinuousBernoulli):
        return ContinuousBernoulliReference(float(source["lam"]))
    return scipy_distribution(family, source)


def close(actual: np.ndarray, expected: np.ndarray, rtol: float, what: str) -> None:
    """Elementwise: infinite values equal, finite ones within ``rtol`` relative."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    infinite = ~np.isfinite(expected)
    assert np.array_equal(actual[infinite], expected[infinite]), (what, actual, expected)
    error = np.abs(actual[~infinite] - expected[~infinite])
    assert np.all(error <= rtol * np.abs(expected[~infinite])), (what, actual, expected)


def check_tails(values: dict[str, np.ndarray], ref: Any, x: np.ndarray, dtype: str, rtol: float) -> None:
    """At the points that are normal numbers (XLA flushes subnormal inputs to zero)."""
    tiny = float(np.finfo(dtype).tiny)
    normal = (x == 0) | (np.abs(x) >= tiny)
    x, values = x[normal], {name: np.asarray(values[name])[normal] for name in TAILS if name in values}
    for name, method in (("cdf", "cdf"), ("survival", "sf")):
        expected = getattr(ref, method)(x)
        actual = np.asarray(values[name], np.float64)
        assert np.all(np.abs(actual - expected) <= rtol * expected + 10 * tiny), (name, x, actual, expected)
    for name, method in (("log_cdf", "logcdf"), ("log_survival", "logsf")):
        if name not in values:
            continue
        expected = getattr(ref, method)(x)
        actual = np.asarray(values[name], np.float64)
        finite = expected > np.log(100 * tiny)
        assert np.all(np.abs(actual[finite] - expected[finite]) <= rtol * np.maximum(1.0, np.abs(expected[finite])))
        assert np.all(actual[~finite] < np.log(1000 * tiny)), (name, actual, expected)


def check_continuous_quantile(q: np.ndarray, ref: Any, p: np.ndarray, dtype: str, rtol: float) -> None:
    """Backward error: the reference tail at q equals the tail probability, within the rounding of q."""
    info = np.finfo(dtype)
    q = np.asarray(q, np.float64)
    assert not np.any(np.isnan(q)), q
    lower = p <= 0.5
    with warnings.catch_warnings():  # (used only to tell whether the quantile is representable)
        warnings.simplefilter("ignore", RuntimeWarning)
        exact = np.where(lower, ref.ppf(np.where(lower, p, 0.5)), ref.ppf(np.where(lower, 0.5, p)))
    representable = (np.abs(exact) >= info.tiny) & (np.abs(exact) <= info.max) | (exact == 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        tail = np.where(lower, ref.cdf(q), ref.sf(q))
        target = np.where(lower, p, 1.0 - p)
        condition = np.abs(q * ref.pdf(q) / tail)
    ok = np.abs(tail - target) <= 4 * rtol * target * (1.0 + condition)
    assert np.all(ok | ~representable), (q, exact, tail, target, condition)
    assert np.all(np.where(representable, True, (np.abs(q) <= 2 * info.tiny) | (np.abs(q) >= info.max))), (q, exact)


def check_count_quantile(q: np.ndarray, ref: Any, p: np.ndarray, rtol: float) -> None:
    """``F(k - 1) < p <= F(k)`` (as ``S(k) <= 1 - p < S(k - 1)`` above 1/2), within rounding."""
    q = np.asarray(q, np.float64)
    assert np.array_equal(q, np.floor(q)), q
    lower = p <= 0.5
    at, below = np.where(lower, ref.cdf(q), ref.sf(q)), np.where(lower, ref.cdf(q - 1), ref.sf(q - 1))
    target = np.where(lower, p, 1.0 - p)
    upper_ok = np.where(lower, at >= target * (1 - rtol), at <= target * (1 + rtol))
    lower_ok = np.where(lower, below < target * (1 + rtol), below > target * (1 - rtol))
    assert np.all(upper_ok & lower_ok), (q, at, below, target)


def check_mode(mode: np.ndarray, ref: Any, family: expfam.ExponentialFamily, spread: float) -> None:
    """No higher reference density (mass) next to the mode; at an end of the support where the
    density is unbounded (scipy: not finite there), the density grows towards the mode."""
    mode = float(mode)
    if family.support.discrete:
        mass = ref.logpmf(np.array([mode - 1.0, mode, mode + 1.0]))
        assert mass[1] >= max(mass[0], mass[2]) - 1e-12, (mode, mass)
        return
    step = 1e-3 * spread
    density = np.asarray(ref.logpdf(np.array([mode - 2 * step, mode - step, mode, mode + step, mode + 2 * step])))
    if not np.isfinite(density[2]):
        inward = density[3:] if np.isfinite(density[3]) else density[1::-1]
        assert inward[0] >= inward[1], (mode, density)
        return
    neighbours = density[[1, 3]][np.isfinite(density[[1, 3]])]
    assert np.all(neighbours <= density[2] + 1e-9 * (1 + abs(density[2]))), (mode, density)


@pytest.mark.parametrize(("family", "examples"), UNIVARIATE_PARAMS)
def test_univariate_summaries_match_scipy(family, examples, dtype):
    eta = jnp.stack([family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in s.items()}) for s in examples])
    sources = rounded_sources(family, eta)
    refs = [reference(family, s) for s in sources]
    p = np.asarray(np.asarray(PROBABILITIES[dtype], dtype), np.float64)
    # Tails at the reference quantiles of p (rounded to the dtype), away from the extreme ones.
    with warnings.catch_warnings():  # boost's inverse-Gaussian quantile warns while placing these points
        warnings.simplefilter("ignore", RuntimeWarning)
        x = np.stack([ref.ppf(p[1:-1]) for ref in refs]).astype(dtype)
    names = tuple(provided(family, MOMENTS + TAILS) + ["quantile"])
    values = jax.tree.map(np.asarray, probe(family, names, eta, jnp.asarray(x), jnp.asarray(p, dtype)))
    for i, ref in enumerate(refs):
        row = {name: value[i] for name, value in values.items()}
        spread = np.sqrt(float(ref.var())) if np.isfinite(ref.var()) else 1.0
        tol = rtol(family, dtype)
        close(row["mean"], ref.mean(), 10 * tol, "mean")
        close(row["variance"], ref.var(), 10 * tol, "variance")
        close(row["stddev"], np.sqrt(ref.var()), 10 * tol, "stddev")
        if "mode" in row:
            check_mode(row["mode"], ref, family, spread)
        check_tails(row, ref, np.asarray(x[i], np.float64), dtype, tol)
        if family.support.discrete:
            check_count_quantile(row["quantile"], ref, p, tol)
        else:
            check_continuous_quantile(row["quantile"], ref, p, dtype, tol)


def vector_reference(family: expfam.ExponentialFamily, source: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Mean, covariance (or elementwise variance) and mode where scipy (or scipy.special) gives them."""
    if isinstance(family, expfam.VonMisesFisher):
        mu, kappa, d = source["mean_direction"], float(source["concentration"]), family.dim
        a = scipy.special.ive(d / 2, kappa) / scipy.special.ive(d / 2 - 1, kappa)
        cov = a / kappa * np.eye(d) + (1 - d * a / kappa - a * a) * np.outer(mu, mu)
        return {"mean": a * mu, "covariance": cov, "mode": mu}
    dist = scipy_distribution(family, source)
    if isinstance(family, expfam.Wishart):
        return {"mean": dist.mean(), "variance": dist.var(), "mode": dist.mode()}
    if isinstance(family, (expfam.Categorical, expfam.Multinomial)):
        out = {"mean": dist.mean(), "covariance": dist.cov()}
        if isinstance(family, expfam.Categorical):  # Multinomial's mode: its own test below
            out["mode"] = np.eye(family.num_classes)[np.argmax(source["probabilities"])]
        return out
    if isinstance(family, expfam.Dirichlet):
        return {"mean": dist.mean(), "covariance": dist.cov()}
    return {"mean": dist.mean, "covariance": dist.cov, "mode": dist.mean}  # the multivariate normals


VECTOR = [(f, e) for f, e in ENTRIES if f.event_shape != ()]


@pytest.mark.parametrize(("family", "examples"), VECTOR, ids=[f.name for f, _ in VECTOR])
def test_vector_summaries_match_scipy(family, examples, dtype):
    eta = jnp.stack([family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in s.items()}) for s in examples])
    names = tuple(n for n in ("mean", "covariance", "variance", "mode") if n == "variance" or family.provides(n))
    dummy = jnp.zeros((eta.shape[0], 1), dtype)
    values = jax.tree.map(np.asarray, probe(family, names, eta, dummy, jnp.zeros((1,), dtype)))
    for i, source in enumerate(rounded_sources(family, eta)):
        expected = vector_reference(family, source)
        scale = max(float(np.max(np.abs(expected["mean"]))), 1e-300)
        for name, value in expected.items():
            assert np.allclose(values[name][i], value, rtol=10 * RTOL[dtype], atol=10 * RTOL[dtype] * scale), name
        if "covariance" in expected:
            assert np.allclose(values["variance"][i], np.diag(expected["covariance"]), rtol=10 * RTOL[dtype])


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::scipy.integrate.IntegrationWarning")
def test_von_mises_summaries(dtype):
    """Circular mean and variance; the cdf over the period centred on loc and the quantile against
    scipy (absolute accuracy: the Fourier series' error is a few ulps of 1)."""
    family = expfam.VonMises()
    kappa, loc = np.array([1e-8, 2.0, 30.0, 1000.0]), np.array([-3.0, 0.5, 1.0, 2.0])
    eta = family.natural_from_source(loc=jnp.asarray(loc, dtype), concentration=jnp.asarray(kappa, dtype))
    p = np.array([1e-6, 1e-3, 0.1, 0.5, 0.9, 1 - 1e-3])
    # Points from scipy's quantile (accurate enough to place them), references by quadrature.
    x = np.stack([scipy.stats.vonmises(k, loc=m).ppf(p) for k, m in zip(kappa, loc, strict=True)]).astype(dtype)
    names = ("mean", "variance", "mode", "cdf", "survival", "quantile")
    values = jax.tree.map(np.asarray, probe(family, names, eta, jnp.asarray(x), jnp.asarray(p, dtype)))
    assert np.allclose(values["mean"], loc, rtol=RTOL[dtype])
    assert np.allclose(values["mode"], loc, rtol=RTOL[dtype])
    circular = 1 - scipy.special.i1e(kappa) / scipy.special.i0e(kappa)
    assert np.allclose(values["variance"], circular, rtol=10 * RTOL[dtype])
    atol = 64 * np.finfo(dtype).eps  # a sum of up to 400 terms of size up to 1
    for i, (k, m) in enumerate(zip(kappa, loc, strict=True)):
        cdf = von_mises_cdf(k, m)
        expected = cdf(np.asarray(x[i], np.float64))
        assert np.allclose(values["cdf"][i], expected, rtol=0, atol=atol)
        assert np.allclose(values["survival"][i], 1 - expected, rtol=0, atol=atol)
        assert np.allclose(cdf(np.asarray(values["quantile"][i], np.float64)), p, rtol=0, atol=atol)


def von_mises_cdf(kappa: float, loc: float) -> Any:
    """The cdf over ``[loc - pi, loc + pi]`` by adaptive quadrature (scipy's ``vonmises.cdf`` is off by
    6e-9 at kappa = 1000)."""

    def density(t: float) -> float:
        return np.exp(kappa * (np.cos(t - loc) - 1)) / (2 * np.pi * scipy.special.i0e(kappa))

    def cdf(x: np.ndarray) -> np.ndarray:
        return np.array([scipy.integrate.quad(density, loc - np.pi, v, epsabs=1e-15, limit=200)[0] for v in x])

    return cdf


@pytest.mark.slow
def test_gamma_quantile_in_both_tails_in_float64(x64):
    """The issue's example: Gamma quantiles at 1e-10 and 1 - 1e-10, against scipy's ppf / isf."""
    family = expfam.Gamma()
    shape, rate = np.array([0.05, 2.0, 50.0, 1e4]), np.array([1.0, 3.0, 0.5, 2.0])
    eta = family.natural_from_source(shape=jnp.asarray(shape), rate=jnp.asarray(rate))
    p = jnp.asarray([1e-10, 1 - 1e-10])
    q = np.asarray(jax.jit(jax.vmap(lambda e: expfam.quantile(family, e, p)))(eta))
    ref = scipy.stats.gamma(shape[:, None], scale=1 / rate[:, None])
    expected = np.stack([ref.ppf(1e-10)[:, 0], ref.isf(1 - float(p[1]))[:, 0]], axis=-1)
    assert np.allclose(q, expected, rtol=1e-11, atol=0.0)


@pytest.mark.parametrize(
    "name",
    [
        pytest.param("Gamma", marks=pytest.mark.slow),
        pytest.param("InverseGaussian", marks=pytest.mark.slow),
        "Weibull",
        "Normal",
    ],
)
def test_quantile_derivatives_are_implicit(name, x64):
    """d quantile / d p = 1 / density; d quantile / d eta against central differences."""
    family, examples = next((f, e) for f, e in UNIVARIATE if type(f).__name__ == name)
    eta = family.natural_from_source(**{k: jnp.asarray(v, jnp.float64) for k, v in examples[0].items()})
    p = jnp.asarray(0.03)
    quantile = jax.jit(lambda e, u: expfam.quantile(family, e, u))
    d_eta, d_p = jax.grad(quantile, argnums=(0, 1))(eta, p)
    x = quantile(eta, p)
    assert np.isclose(d_p, 1.0 / np.exp(expfam.log_prob(family, eta, x)), rtol=1e-9)
    step = 1e-6 * np.maximum(np.abs(np.asarray(eta)), 1e-3)
    for j in range(eta.shape[-1]):
        shift = jnp.zeros_like(eta).at[j].set(step[j])
        central = (quantile(eta + shift, p) - quantile(eta - shift, p)) / (2 * step[j])
        assert np.isclose(d_eta[j], central, rtol=1e-6), (j, d_eta, central)


@pytest.mark.slow
def test_count_quantile_has_zero_derivative():
    family = expfam.Poisson()
    grad = jax.grad(lambda e: expfam.quantile(family, e, 0.3))(jnp.asarray([1.0]))
    assert np.array_equal(grad, [0.0])


def test_quantile_ends_and_bad_probabilities():
    family = expfam.Exponential()
    eta = family.natural_from_source(rate=2.0)
    assert np.array_equal(expfam.quantile(family, eta, jnp.asarray([0.0, 1.0])), [0.0, np.inf])
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        expfam.quantile(family, eta, 1.5)
    assert np.isnan(jax.jit(lambda e, u: expfam.quantile(family, e, u))(eta, 1.5))
    assert np.array_equal(expfam.quantile(expfam.Bernoulli(), jnp.asarray([0.0]), jnp.asarray([0.0, 1.0])), [0.0, 1.0])


@pytest.mark.slow
def test_solved_quantiles_at_the_ends():
    """The root finder's and the integer search's answers at p = 0 and 1: the support's ends."""
    gamma = jax.jit(lambda e, u: expfam.quantile(expfam.Gamma(), e, u))
    assert np.array_equal(gamma(jnp.asarray([-1.0, 2.0]), jnp.asarray([0.0, 1.0])), [0.0, np.inf])
    binomial = jax.jit(lambda e, u: expfam.quantile(expfam.Binomial(20), e, u))
    assert np.array_equal(binomial(jnp.asarray([0.0]), jnp.asarray([0.0, 1.0])), [0.0, 20.0])
    assert np.isnan(gamma(jnp.asarray([-1.0, 2.0]), jnp.asarray(-0.5)))


def test_dirichlet_mode(x64):
    """Inside the simplex (every a_k > 1) no nearby point on the simplex has a higher scipy density;
    for two classes it is Beta's mode (checked against scipy above), ends and ties included."""
    a = np.array([[2.0, 3.0, 7.0], [1.5, 40.0, 1.01], [1e3, 2.0, 5e2]])
    mode = np.asarray(expfam.mode(expfam.Dirichlet(3), jnp.asarray(a)))
    steps = 1e-4 * np.array([[1.0, -1.0, 0.0], [0.0, 1.0, -1.0], [1.0, 0.0, -1.0]])
    for concentration, m in zip(a, mode, strict=True):
        top = scipy.stats.dirichlet.logpdf(m, concentration)
        for step in np.concatenate([steps, -steps]):
            assert scipy.stats.dirichlet.logpdf(m + step, concentration) <= top + 1e-12
    pairs = np.array([[2.0, 5.0], [0.5, 3.0], [3.0, 0.5], [0.3, 0.7], [0.7, 0.3], [1.0, 1.0], [0.5, 0.5], [1.0, 4.0]])
    beta = np.asarray(expfam.mode(expfam.Beta(), jnp.asarray(pairs)))
    dirichlet = np.asarray(expfam.mode(expfam.Dirichlet(2), jnp.asarray(pairs)))
    np.testing.assert_allclose(dirichlet, np.stack([beta, 1 - beta], axis=-1), rtol=1e-15)
    corner = np.asarray(expfam.mode(expfam.Dirichlet(3), jnp.asarray([0.2, 0.9, 0.5])))
    np.testing.assert_array_equal(corner, [0.0, 1.0, 0.0])


def test_multinomial_mode_is_the_most_probable_count_vector(x64):
    """Against every composition of n into K parts, by scipy's pmf (ties: any maximizer)."""
    cases = [(1, [0.2, 0.3, 0.5]), (7, [0.2, 0.3, 0.5]), (10, [0.001, 0.001, 0.998]), (10, [0.25, 0.25, 0.5])]
    cases += [(9, [1 / 3, 1 / 3, 1 / 3]), (13, [0.1, 0.45, 0.45]), (40, [0.07, 0.33, 0.6])]
    for n, p in cases:
        family = expfam.Multinomial(n, 3)
        mode = np.asarray(expfam.mode(family, jnp.log(jnp.asarray(p))))
        assert mode.sum() == n, (n, p, mode)
        assert np.all(mode >= 0), (n, p, mode)
        assert np.all(mode == np.round(mode)), (n, p, mode)
        compositions = np.array([(i, j, n - i - j) for i in range(n + 1) for j in range(n + 1 - i)])
        best = np.max(scipy.stats.multinomial.pmf(compositions, n, p))
        assert scipy.stats.multinomial.pmf(mode, n, p) >= best * (1 - 1e-12), (n, p, mode)


def test_missing_summaries_say_so():
    with pytest.raises(NotImplementedError, match="cdf"):
        expfam.cdf(expfam.Dirichlet(3), jnp.ones(3), jnp.ones(3))
    with pytest.raises(NotImplementedError, match="covariance"):
        expfam.covariance(expfam.Gamma(), jnp.asarray([-1.0, 2.0]))
