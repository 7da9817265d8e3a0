"""Family CDFs against scipy.stats, and the PIT / coverage of correctly specified models."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, draws
from registry import ENTRY_CASES, case_ids, scipy_distribution
from scipy import stats

import expfam

# (family, source parameters, frozen scipy distribution, evaluation points)
CASES = [
    (expfam.Normal(), {"loc": 0.5, "scale": 2.0}, stats.norm(0.5, 2.0), [-30.0, -3.0, 0.0, 0.5, 4.0]),
    (expfam.NormalKnownVariance(0.25), {"loc": -1.0}, stats.norm(-1.0, 0.5), [-3.0, -1.0, 0.2]),
    (expfam.LogNormal(), {"loc": 0.3, "scale": 0.8}, stats.lognorm(0.8, scale=np.exp(0.3)), [-1.0, 0.0, 0.1, 1.0, 9.0]),
    (expfam.Gamma(), {"shape": 2.5, "rate": 1.5}, stats.gamma(2.5, scale=1 / 1.5), [-1.0, 0.0, 0.01, 1.0, 6.0]),
    (expfam.Gamma(), {"shape": 0.05, "rate": 1.0}, stats.gamma(0.05, scale=1.0), [1e-30, 1e-5, 0.5, 3.0]),
    (expfam.Exponential(), {"rate": 0.5}, stats.expon(scale=2.0), [-1.0, 0.0, 1e-6, 1.0, 30.0]),
    (expfam.Pareto(3.0), {"alpha": 2.5}, stats.pareto(2.5, scale=3.0), [0.0, 3.0, 3.5, 100.0]),
    (expfam.Poisson(), {"rate": 3.5}, stats.poisson(3.5), [-1.0, 0.0, 0.5, 2.0, 3.0, 12.0]),
    (expfam.Bernoulli(), {"probability": 0.3}, stats.bernoulli(0.3), [-0.5, 0.0, 0.5, 1.0, 2.0]),
    (expfam.Binomial(20), {"probability": 0.3}, stats.binom(20, 0.3), [-1.0, 0.0, 2.5, 6.0, 12.0, 19.0, 20.0, 25.0]),
    (expfam.NegativeBinomial(2.5), {"probability": 0.4}, stats.nbinom(2.5, 0.6), [-1.0, 0.0, 1.5, 3.0, 10.0, 40.0]),
    (expfam.Geometric(), {"probability": 0.4}, stats.geom(0.6, loc=-1), [-0.5, 0.0, 1.0, 2.7, 8.0, 30.0]),
]
IDS = [f"{family.name}-{i}" for i, (family, *_) in enumerate(CASES)]
#: Every case's points padded (with its last point) to one length: one compiled cdf per family and dtype.
POINTS = max(len(points) for *_, points in CASES)


@functools.partial(jax.jit, static_argnums=0)
def _cdf(family, eta, x):
    return family.cdf(jnp.broadcast_to(eta, x.shape + eta.shape), x)


@functools.partial(jax.jit, static_argnums=0)
def _pit(family, eta, y, key):
    """The PIT of y under eta (broadcast to y), compiled once per family, dtype and size."""
    return expfam.pit(family, jnp.broadcast_to(eta, y.shape + eta.shape), y, key)


@pytest.mark.parametrize(("family", "source", "reference", "points"), CASES, ids=IDS)
def test_cdf_matches_scipy(family, source, reference, points, dtype):
    eta = family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in source.items()})
    x = jnp.asarray(points + points[-1:] * (POINTS - len(points)), dtype)
    value = _cdf(family, eta, x)[: len(points)]
    assert_close(value, reference.cdf(np.asarray(points)), dtype, loose=5)


@pytest.mark.parametrize(("family", "source", "reference", "points"), CASES, ids=IDS)
def test_pit_of_the_true_model_is_uniform(family, source, reference, points):
    eta = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
    y = jnp.asarray(reference.rvs(size=4000, random_state=0), jnp.float32)
    u = _pit(family, eta, y, jax.random.key(0))
    assert stats.kstest(np.asarray(u), "uniform").pvalue > 1e-3
    for level in (0.5, 0.9):
        assert float(expfam.interval_coverage(u, level)) == pytest.approx(level, abs=0.03)
    assert_close(jnp.sum(expfam.pit_histogram(u)), 1.0, "float32")


def test_no_cdf_for_categorical():
    family = expfam.Categorical(3)
    assert not family.provides("cdf")
    assert expfam.pit(family, jnp.zeros((2, 3)), jnp.asarray([0, 1]), jax.random.key(0)) is None


#: (VonMises: its cdf is the circular one over the period centred on loc, while scipy's adds 1 per
#: period; tests/test_summaries.py checks it against quadrature.)
CDF_CASES = [
    c
    for c in ENTRY_CASES
    if c.family.provides("cdf") and c.reference.scipy is not None and not isinstance(c.family, expfam.VonMises)
]


@pytest.mark.parametrize("case", CDF_CASES, ids=case_ids(CDF_CASES))
def test_every_cdf_matches_scipy_at_draws(case, x64):
    """Every catalogue family with a ``cdf``, at its first example, in float64, at draws and their neighbours."""
    family = case.family
    eta = family.natural_from_source(**{k: jnp.asarray(v) for k, v in case.source.items()})
    x = jnp.concatenate([draws(family, eta, 32), draws(family, eta, 8) - 1.0])
    value = jax.jit(family.cdf)(jnp.broadcast_to(eta, x.shape + eta.shape), x)
    expected = scipy_distribution(family, case.source).cdf(np.asarray(x))
    assert_close(value, expected, "float64", loose=100, floor=1.0)


UNIVARIATE_CASES = [c for c in ENTRY_CASES if c.family.event_shape == () and c.family.provides("cdf")]


@pytest.mark.parametrize("case", UNIVARIATE_CASES, ids=case_ids(UNIVARIATE_CASES))
def test_pit_and_central_interval_of_every_univariate_family(case):
    """Draws of the family itself: a uniform PIT, 90% coverage, and the 90% central interval
    holding 90% of the draws (at least 90% for counts)."""
    family = case.family
    eta = family.natural_from_source(**{k: jnp.asarray(v) for k, v in case.source.items()})
    y = draws(family, eta, 4000)
    u = _pit(family, eta, y, jax.random.key(1))
    assert stats.kstest(np.asarray(u), "uniform").pvalue > 1e-3
    assert float(expfam.interval_coverage(u, 0.9)) == pytest.approx(0.9, abs=0.02)
    low, high = expfam.central_interval(family, eta, 0.9)
    inside = float(jnp.mean((y >= low) & (y <= high)))
    if family.support.discrete:
        assert inside >= 0.9 - 0.02
    else:
        assert inside == pytest.approx(0.9, abs=0.02)


def test_brier_score_is_proper_for_classes():
    """The Brier score against numpy, and its mean over draws smallest at the true probabilities."""
    family = expfam.Categorical(3)
    truth = np.array([0.2, 0.5, 0.3])
    labels = np.random.default_rng(0).choice(3, size=20000, p=truth)
    scores = {}
    for name, probabilities in {"truth": truth, "sharper": [0.1, 0.7, 0.2], "flatter": [1 / 3] * 3}.items():
        eta = jnp.broadcast_to(jnp.log(jnp.asarray(probabilities)), (labels.size, 3))
        score = np.asarray(expfam.brier_score(family, eta, jnp.asarray(labels)))
        expected = np.sum((np.asarray(probabilities) - np.eye(3)[labels]) ** 2, axis=-1)
        assert_close(score, expected, "float32", loose=5)
        scores[name] = score.mean()
    assert scores["truth"] < min(scores["sharper"], scores["flatter"])
    binary = expfam.brier_score(expfam.Bernoulli(), jnp.asarray([[0.0], [2.0]]), jnp.asarray([1.0, 0.0]))
    assert_close(binary, 2 * (np.array([0.5, 1 / (1 + np.exp(-2.0))]) - [1.0, 0.0]) ** 2, "float32")
    with pytest.raises(TypeError, match="class probabilities"):
        expfam.brier_score(expfam.Poisson(), jnp.zeros(1), 1.0)
