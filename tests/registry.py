"""Independent references for every family in ``expfam._core.registry.CATALOGUE``.

One row per family class, keyed by the class: adding a family adds one row here. A row gives
* ``scipy``: the matching frozen ``scipy.stats`` distribution, built from the family and its
  source parameters (as float64 numpy arrays), or None where scipy has none;
* ``logpdf``: how to evaluate it (``logpdf``/``logpmf`` and the sample format scipy expects);
* ``mass``: the total probability by direct numerical integration or summation of
  ``exp(log_prob)`` (None where that is impractical; scipy then carries the check);
* ``outside``: samples outside the support (log-prob must be -inf, never NaN);
* ``invalid``: natural parameters outside the natural domain.
"""

from __future__ import annotations

import functools
import itertools
import math
from collections.abc import Callable
from typing import Any, NamedTuple

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import scipy.integrate
import scipy.stats as st

import expfam


@functools.partial(jax.jit, static_argnums=0)
def _compiled_log_prob(family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array) -> jax.Array:
    return expfam.log_prob(family, eta, x)


def _log_prob_of(family: expfam.ExponentialFamily, eta: Any) -> Callable[[Any], jax.Array]:
    """``x -> log q(x | eta)``, compiled once per family (eta an argument, not a constant)."""
    eta = jnp.asarray(eta)
    return lambda x: _compiled_log_prob(family, eta, x)


class Reference(NamedTuple):
    scipy: Callable[[Any, dict[str, np.ndarray]], Any] | None
    logpdf: Callable[[Any, np.ndarray], np.ndarray]
    mass: Callable[[expfam.ExponentialFamily, np.ndarray], float] | None
    outside: tuple[Any, ...]
    invalid: tuple[Any, ...]


def continuous(dist: Any, x: np.ndarray) -> np.ndarray:
    return dist.logpdf(x)


def discrete(dist: Any, x: np.ndarray) -> np.ndarray:
    return dist.logpmf(x)


def integrate(lower: Callable[[Any], float]) -> Callable[..., float]:
    """Mass by adaptive quadrature of ``exp(log_prob)`` on ``[lower(family), inf)``."""

    def mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
        log_prob = _log_prob_of(family, eta)

        def density(x: float) -> float:
            return float(np.exp(log_prob(np.float64(x))))

        total, _ = scipy.integrate.quad(density, lower(family), np.inf, limit=500, epsabs=1e-13, epsrel=1e-11)
        return total

    return mass


def integrate_line(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on the real line, split at the mode region found from the expectation."""
    center = float(family.expectation(eta)[0])
    log_prob = _log_prob_of(family, eta)

    def density(x: float) -> float:
        return float(np.exp(log_prob(np.float64(x))))

    left, _ = scipy.integrate.quad(density, -np.inf, center, limit=500, epsabs=1e-13, epsrel=1e-11)
    right, _ = scipy.integrate.quad(density, center, np.inf, limit=500, epsabs=1e-13, epsrel=1e-11)
    return left + right


def summation(upper: Callable[[np.ndarray], int]) -> Callable[..., float]:
    """Mass by summing ``exp(log_prob)`` over 0..upper(eta) (upper beyond all visible mass)."""

    def mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
        x = np.arange(upper(eta) + 1, dtype=np.float64)
        return float(np.sum(np.exp(expfam.log_prob(family, eta, x))))

    return mass


def _poisson_upper(eta: np.ndarray) -> int:
    rate = float(np.exp(eta[0]))
    return int(rate + 40 * np.sqrt(rate) + 60)


def _categorical_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    labels = np.arange(family.num_natural)
    return float(np.sum(np.exp(expfam.log_prob(family, eta, labels))))


def _one_hot_logpmf(dist: Any, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x)
    if np.issubdtype(x.dtype, np.integer):
        x = np.eye(dist.p.shape[-1])[x]
    return dist.logpmf(x)


def _positive_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on (0, inf) after substituting x = e^u, which smooths densities singular at 0."""

    log_prob = _log_prob_of(family, eta)

    def density(u: float) -> float:
        return float(np.exp(log_prob(np.exp(np.float64(u))) + u))

    # Split at the log of the sample median, so quad sees the bulk however narrow it is.
    draws = helpers.draws(family, jnp.asarray(eta), 101)
    center = float(np.log(np.median(np.asarray(draws))))
    # u in [-700, 700] keeps e^u finite and nonzero in float64; the mass outside is negligible.
    left, _ = scipy.integrate.quad(density, -700.0, center, limit=500, epsabs=1e-13, epsrel=1e-11)
    right, _ = scipy.integrate.quad(density, center, 700.0, limit=500, epsabs=1e-13, epsrel=1e-11)
    return left + right


def _split_mass(density: Callable[[float], float], u: np.ndarray, low: float, high: float) -> float:
    """Integral of ``density`` over ``[low, high]``, split around the bulk of the draws ``u``.

    Adaptive quadrature misses a peak much narrower than its interval, so the bulk
    ``median(u) +- 12 (spread + 1e-3)`` is integrated on its own, and the tails apart.
    """
    center, spread = float(np.median(u)), float(np.std(u)) + 1e-3
    cuts = [low, max(low, center - 12 * spread), min(high, center + 12 * spread), high]
    pieces = [
        scipy.integrate.quad(density, lo, hi, limit=500, epsabs=1e-13, epsrel=1e-11)[0]
        for lo, hi in itertools.pairwise(cuts)
        if hi > lo
    ]
    return math.fsum(pieces)


def _log_scale_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on (0, inf) after substituting x = e^u, split around the draws' bulk."""
    log_prob = _log_prob_of(family, eta)

    def density(u: float) -> float:
        return float(np.exp(log_prob(np.exp(np.float64(u))) + u))

    draws = np.log(np.asarray(helpers.draws(family, jnp.asarray(eta), 1001), np.float64))
    return _split_mass(density, draws, -700.0, 700.0)


def _unit_interval_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on (0, 1) after substituting x = sigmoid(u) (smooths densities singular at 0 and 1)."""
    log_prob = _log_prob_of(family, eta)

    def density(u: float) -> float:
        x = 1.0 / (1.0 + np.exp(-u))
        return float(np.exp(log_prob(np.float64(x)))) * x * (1.0 - x)

    draws = np.asarray(helpers.draws(family, jnp.asarray(eta), 1001), np.float64)
    inside = draws[(draws > 0) & (draws < 1)]
    return _split_mass(density, np.log(inside) - np.log1p(-inside), -700.0, 700.0)


def _closed_unit_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on [0, 1] by adaptive quadrature (a bounded density)."""
    log_prob = _log_prob_of(family, eta)
    total, _ = scipy.integrate.quad(
        lambda x: float(np.exp(log_prob(np.float64(x)))), 0.0, 1.0, limit=500, epsabs=1e-13, epsrel=1e-11
    )
    return total


def _circle_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass of an angle density over one period [-pi, pi]."""
    log_prob = _log_prob_of(family, eta)
    loc = float(np.arctan2(eta[1], eta[0]))
    points = [p for p in (loc, loc - np.pi, loc + np.pi) if -np.pi < p < np.pi]
    total, _ = scipy.integrate.quad(
        lambda x: float(np.exp(log_prob(np.float64(x)))), -np.pi, np.pi, points=points, limit=500, epsabs=1e-13
    )
    return total


def _laplace_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Mass on the real line, split at the known location (the kink)."""
    log_prob = _log_prob_of(family, eta)
    scale = float(family.expectation(eta)[0])

    def density(x: float) -> float:
        return float(np.exp(log_prob(np.float64(family.loc + scale * x)))) * scale

    left, _ = scipy.integrate.quad(density, -np.inf, 0.0, limit=500, epsabs=1e-13, epsrel=1e-11)
    right, _ = scipy.integrate.quad(density, 0.0, np.inf, limit=500, epsabs=1e-13, epsrel=1e-11)
    return left + right


def _multinomial_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    """Sum over every count vector with total n (all compositions)."""
    n, k = family.num_trials, family.num_classes
    grid = np.stack(np.meshgrid(*[np.arange(n + 1)] * (k - 1), indexing="ij"), -1).reshape(-1, k - 1)
    grid = grid[grid.sum(-1) <= n]
    counts = np.concatenate([grid, n - grid.sum(-1, keepdims=True)], -1).astype(np.float64)
    return float(np.sum(np.exp(expfam.log_prob(family, eta, counts))))


def _negative_binomial_upper(family: expfam.ExponentialFamily) -> Callable[[np.ndarray], int]:
    def upper(eta: np.ndarray) -> int:
        return int(st.nbinom(family.r, -np.expm1(eta[0])).isf(1e-15)) + 10

    return upper


def _negative_binomial_mass(family: expfam.ExponentialFamily, eta: np.ndarray) -> float:
    return summation(_negative_binomial_upper(family))(family, eta)


def _wishart_logpdf(dist: Any, x: np.ndarray) -> np.ndarray:
    """scipy.stats.wishart takes a batch of matrices with the batch axis last."""
    return dist.logpdf(np.moveaxis(x, 0, -1))


def _dirichlet_logpdf(dist: Any, x: np.ndarray) -> np.ndarray:
    """scipy wants the components first and a sum within 1e-9 of 1 (float32 draws: 3e-8)."""
    return dist.logpdf(np.moveaxis(x / np.sum(x, axis=-1, keepdims=True), -1, 0))


REFERENCES: dict[type, Reference] = {
    expfam.Bernoulli: Reference(
        lambda f, s: st.bernoulli(s["probability"]),
        discrete,
        summation(lambda eta: 1),
        (0.5, 2.0, -1.0, np.nan),
        ([np.nan],),
    ),
    expfam.Categorical: Reference(
        lambda f, s: st.multinomial(1, s["probabilities"]),
        _one_hot_logpmf,
        _categorical_mass,
        (-1, 4, 7),
        ([np.nan, 0.0, 0.0, 0.0], [-np.inf, -np.inf, -np.inf, -np.inf]),
    ),
    expfam.NormalKnownVariance: Reference(
        lambda f, s: st.norm(s["loc"], np.sqrt(f.variance)),
        continuous,
        integrate_line,
        (np.inf, -np.inf, np.nan),
        ([np.nan], [np.inf]),
    ),
    expfam.Normal: Reference(
        lambda f, s: st.norm(s["loc"], s["scale"]),
        continuous,
        integrate_line,
        (np.inf, np.nan),
        ([0.0, 0.0], [1.0, 1.0], [np.nan, -1.0]),
    ),
    expfam.Gamma: Reference(
        lambda f, s: st.gamma(a=s["shape"], scale=1 / s["rate"]),
        continuous,
        _positive_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([1.0, 1.0], [-1.0, 0.0], [-1.0, -2.0], [0.0, 1.0]),
    ),
    expfam.Exponential: Reference(
        lambda f, s: st.expon(scale=1 / s["rate"]),
        continuous,
        _positive_mass,
        (-1.0, -1e-30, np.inf, np.nan),
        ([0.0], [1.0]),
    ),
    expfam.Poisson: Reference(
        lambda f, s: st.poisson(s["rate"]),
        discrete,
        summation(_poisson_upper),
        (-1.0, 1.5, np.inf, np.nan),
        ([np.nan], [np.inf]),
    ),
    expfam.Pareto: Reference(
        lambda f, s: st.pareto(b=s["alpha"], scale=f.minimum),
        continuous,
        integrate(lambda family: family.minimum),
        (0.5, -1.0, np.inf, np.nan),
        ([0.0], [1.0]),
    ),
    expfam.LogNormal: Reference(
        lambda f, s: st.lognorm(s=s["scale"], scale=np.exp(s["loc"])),
        continuous,
        _positive_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([0.0, 0.0], [1.0, 1.0]),
    ),
    expfam.Beta: Reference(
        lambda f, s: st.beta(s["alpha"], s["beta"]),
        continuous,
        _unit_interval_mass,
        (0.0, 1.0, -0.5, 1.5, np.nan),
        ([0.0, 1.0], [1.0, -1.0], [np.nan, 1.0]),
    ),
    expfam.Dirichlet: Reference(
        lambda f, s: st.dirichlet(s["concentration"]),
        _dirichlet_logpdf,
        None,
        ([0.5, 0.5, 0.0], [0.5, 0.6, 0.1], [-0.1, 0.6, 0.5], [np.nan, 0.5, 0.5]),
        ([0.0, 1.0, 1.0], [1.0, -1.0, 1.0], [np.nan, 1.0, 1.0]),
    ),
    expfam.Binomial: Reference(
        lambda f, s: st.binom(f.num_trials, s["probability"]),
        discrete,
        lambda f, eta: summation(lambda e: f.num_trials)(f, eta),
        (-1.0, 0.5, 21.0, np.inf, np.nan),
        ([np.nan], [np.inf]),
    ),
    expfam.Multinomial: Reference(
        lambda f, s: st.multinomial(f.num_trials, s["probabilities"]),
        discrete,
        _multinomial_mass,
        ([1.0, 2.0, 3.0], [-1.0, 5.0, 6.0], [0.5, 4.5, 5.0], [np.nan, 5.0, 5.0]),
        ([np.nan, 0.0, 0.0], [-np.inf, -np.inf, -np.inf], [np.inf, 0.0, 0.0]),
    ),
    expfam.NegativeBinomial: Reference(
        lambda f, s: st.nbinom(f.r, 1 - s["probability"]),
        discrete,
        _negative_binomial_mass,
        (-1.0, 1.5, np.inf, np.nan),
        ([0.0], [1.0], [np.nan]),
    ),
    expfam.Geometric: Reference(
        lambda f, s: st.geom(1 - s["probability"], loc=-1),
        discrete,
        _negative_binomial_mass,
        (-1.0, 1.5, np.inf, np.nan),
        ([0.0], [1.0], [np.nan]),
    ),
    expfam.InverseGamma: Reference(
        lambda f, s: st.invgamma(s["shape"], scale=s["scale"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([1.0, -1.0], [-1.0, 0.0], [0.0, -1.0]),
    ),
    expfam.ChiSquare: Reference(
        lambda f, s: st.chi2(s["df"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([-1.0], [-2.0], [np.nan]),
    ),
    expfam.Rayleigh: Reference(
        lambda f, s: st.rayleigh(scale=s["scale"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([0.0], [1.0]),
    ),
    expfam.Weibull: Reference(
        lambda f, s: st.weibull_min(f.shape, scale=s["scale"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([0.0], [1.0]),
    ),
    expfam.Laplace: Reference(
        lambda f, s: st.laplace(f.loc, s["scale"]),
        continuous,
        _laplace_mass,
        (np.inf, -np.inf, np.nan),
        ([0.0], [1.0]),
    ),
    expfam.InverseGaussian: Reference(
        lambda f, s: st.invgauss(s["mean"] / s["shape"], scale=s["shape"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([0.0, -1.0], [-1.0, 0.0], [1.0, 1.0]),
    ),
    expfam.ContinuousBernoulli: Reference(
        None,
        continuous,
        _closed_unit_mass,
        (-0.5, 1.5, np.inf, np.nan),
        ([np.nan], [np.inf]),
    ),
    expfam.VonMises: Reference(
        lambda f, s: st.vonmises(kappa=s["concentration"], loc=s["loc"]),
        continuous,
        _circle_mass,
        (np.inf, -np.inf, np.nan),
        ([np.nan, 0.0], [np.inf, 1.0]),
    ),
    expfam.VonMisesFisher: Reference(
        lambda f, s: st.vonmises_fisher(s["mean_direction"], float(s["concentration"])),
        continuous,
        None,
        ([1.0, 1.0, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 1.001], [np.nan, 0.0, 1.0]),
        ([np.nan, 0.0, 0.0], [np.inf, 1.0, 0.0]),
    ),
    expfam.MultivariateNormal: Reference(
        lambda f, s: st.multivariate_normal(s["loc"], s["covariance"]),
        continuous,
        None,
        ([np.inf, 0.0, 0.0], [0.0, np.nan, 0.0]),
        # precision not positive definite; indefinite; NaN
        ([0.0, 0.0, 0.0, 0.5, 0.5, 0.5, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, -0.5, -0.5, -0.5, 2.0, 0.0, 0.0], [np.nan] * 9),
    ),
    expfam.MultivariateNormalDiag: Reference(
        lambda f, s: st.multivariate_normal(s["loc"], np.diag(s["scale"] ** 2), allow_singular=True),
        continuous,
        None,
        ([np.inf, 0.0, 0.0], [0.0, np.nan, 0.0]),
        ([0.0, 0.0, 0.0, -1.0, 0.0, -1.0], [np.nan, 0.0, 0.0, -1.0, -1.0, -1.0]),
    ),
    expfam.MultivariateNormalUnit: Reference(
        lambda f, s: st.multivariate_normal(s["loc"], np.eye(3)),
        continuous,
        None,
        ([np.inf, 0.0, 0.0], [0.0, np.nan, 0.0]),
        ([np.nan, 0.0, 0.0], [0.0, np.inf, 0.0]),
    ),
    expfam.Wishart: Reference(
        lambda f, s: st.wishart(df=f.df, scale=s["scale"]),
        _wishart_logpdf,
        None,
        # indefinite; singular; not symmetric; NaN
        (
            [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[1.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
            [[np.nan, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]],
        ),
        ([0.5, 0.5, 0.5, 0.0, 0.0, 0.0], [-0.5, -0.5, -0.5, 2.0, 0.0, 0.0], [np.nan] * 6),
    ),
    expfam.Logarithmic: Reference(
        lambda f, s: st.logser(s["probability"]),
        discrete,
        summation(lambda eta: int(np.log(1e-19) / eta[0]) + 10),  # p^x / (x L) < 1e-19 beyond
        (0.0, -1.0, 1.5, np.inf, np.nan),
        ([0.0], [1.0], [np.nan], [-np.inf]),
    ),
    expfam.BetaPrime: Reference(
        lambda f, s: st.betaprime(s["alpha"], s["beta"]),
        continuous,
        _log_scale_mass,
        (0.0, -1.0, np.inf, np.nan),
        ([0.0, 1.0], [1.0, 0.0], [-1.0, 2.0], [np.nan, 1.0], [np.inf, 1.0]),
    ),
}


def scipy_distribution(family: expfam.ExponentialFamily, source: dict[str, Any]) -> Any:
    """The scipy.stats distribution of ``family`` at ``source``, or None."""
    arrays = {k: np.asarray(v, np.float64) for k, v in source.items()}
    build = REFERENCES[type(family)].scipy
    return None if build is None else build(family, arrays)


class Case(NamedTuple):
    family: expfam.ExponentialFamily
    source: dict[str, Any]
    reference: Reference

    @property
    def id(self) -> str:
        return f"{self.family.name}-{self.source}"


CASES: list[Case] = [
    Case(entry.family, source, REFERENCES[type(entry.family)])
    for entry in expfam.catalogue()
    for source in entry.examples
    if type(entry.family) in REFERENCES
]

#: One case per catalogue entry (the first example), for the slower checks.
ENTRY_CASES: list[Case] = [
    Case(entry.family, entry.examples[0], REFERENCES[type(entry.family)])
    for entry in expfam.catalogue()
    if type(entry.family) in REFERENCES
]


def case_ids(cases: list[Case]) -> list[str]:
    return [case.id for case in cases]
