"""Von Mises and von Mises-Fisher: accuracy against mpmath (40 digits), inverse maps at the
extremes, support, and hypothesis ranges (concentrations 1e-8 .. 1e5)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
import scipy.stats as st
from helpers import assert_finite_loss_and_derivatives, draws
from hypothesis import given, settings
from hypothesis import strategies as hs

import expfam
from expfam import VonMises, VonMisesFisher

CONCENTRATIONS = (1e-8, 1e-3, 0.5, 2.0, 30.0, 1e3, 1e5)


def _mp_log_normalizer(kappa: float, p: int) -> mp.mpf:
    """log(1 / C_p(kappa)) = p/2 log(2 pi) + log I_v(kappa) - v log kappa, v = p/2 - 1."""
    k, v = mp.mpf(kappa), mp.mpf(p) / 2 - 1
    return p * mp.log(2 * mp.pi) / 2 + mp.log(mp.besseli(v, k)) - v * mp.log(k)


def _mp_mean_length(kappa: float, p: int) -> mp.mpf:
    k, v = mp.mpf(kappa), mp.mpf(p) / 2 - 1
    return mp.besseli(v + 1, k) / mp.besseli(v, k)


@pytest.mark.parametrize("p", [2, 3, 10])
@pytest.mark.parametrize("kappa", CONCENTRATIONS)
def test_vmf_against_mpmath(kappa: float, p: int, x64: None) -> None:
    family = VonMisesFisher(p)
    mu = np.zeros(p)
    mu[0], mu[-1] = 0.6, 0.8
    x = np.zeros(p)
    x[0], x[1] = 0.8, -0.6
    eta = family.natural_from_source(mean_direction=jnp.asarray(mu), concentration=jnp.asarray(kappa))
    with mp.workdps(40):
        g = _mp_log_normalizer(kappa, p)
        a = _mp_mean_length(kappa, p)
        log_prob = float(mp.mpf(kappa) * mp.mpf(float(np.dot(mu, x))) - g)
        entropy = float(g - mp.mpf(kappa) * a)
        mean = [float(a * mp.mpf(m)) for m in mu]
    assert abs(float(expfam.log_prob(family, eta, x)) - log_prob) <= 1e-12 * max(abs(log_prob), 1.0)
    assert abs(float(expfam.entropy(family, eta)) - entropy) <= 1e-12 * max(abs(entropy), kappa)
    np.testing.assert_allclose(family.expectation(eta), mean, rtol=1e-12, atol=1e-300)


@pytest.mark.parametrize("kappa", CONCENTRATIONS)
def test_von_mises_against_mpmath_and_scipy(kappa: float, x64: None) -> None:
    family, loc = VonMises(), 0.7
    x = np.array([0.7, -2.0, 3.1, 10.0])
    eta = family.natural_from_source(loc=jnp.asarray(loc), concentration=jnp.asarray(kappa))
    with mp.workdps(40):
        g = _mp_log_normalizer(kappa, 2)
        expected = [float(mp.mpf(kappa) * mp.cos(mp.mpf(float(t)) - mp.mpf(loc)) - g) for t in x]
    got = np.asarray(expfam.log_prob(family, jnp.broadcast_to(eta, (4, 2)), x))
    # log q = eta . T - g: at the mode both terms are ~kappa, so the error floor is ~kappa eps absolute.
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=2 * np.finfo(np.float64).eps * kappa)
    if kappa <= 1e3:  # scipy's own error grows with kappa
        np.testing.assert_allclose(got, st.vonmises(kappa, loc=loc).logpdf(x), rtol=1e-9)


@pytest.mark.parametrize("p", [2, 3, 10])
@pytest.mark.parametrize("kappa", CONCENTRATIONS)
def test_inverse_map_at_extremes(kappa: float, p: int, x64: None) -> None:
    """kappa from the exactly rounded mean length A_v(kappa): within 1e-12 plus the
    conditioning floor |d kappa / d r| eps r / kappa (which is ~2 eps kappa / (p - 1) at large kappa)."""
    with mp.workdps(40):
        r = _mp_mean_length(kappa, p)
        v = mp.mpf(p) / 2 - 1
        slope = 1 - (2 * v + 1) * r / kappa - r * r
        floor = float(np.finfo(np.float64).eps * r / (slope * kappa))
    chi = jnp.zeros(p).at[0].set(float(r))
    eta = VonMisesFisher(p).natural_from_expectation(chi)
    error = abs(float(eta[0]) - kappa) / kappa
    assert error <= 1e-12 + 4 * floor, (error, floor)
    assert np.all(np.asarray(eta[1:]) == 0.0)


def test_inverse_map_float32(dtype: str) -> None:
    """Round trip kappa -> r -> kappa in the working dtype: 1e-5 (float32) / 1e-12 (float64)
    up to kappa = 1e2, and in expectation coordinates everywhere."""
    family = VonMisesFisher(3)
    kappa = jnp.asarray(CONCENTRATIONS)
    eta = kappa[:, None] * jnp.asarray([[0.0, 0.6, 0.8]])
    chi = family.expectation(eta)
    back = family.natural_from_expectation(chi)
    tol = 1e-5 if dtype == "float32" else 1e-12
    moderate = np.asarray(kappa) <= 1e2
    rel = np.linalg.norm(np.asarray(back - eta), axis=-1) / np.asarray(kappa)
    assert np.all(rel[moderate] <= tol), rel
    assert np.max(np.abs(np.asarray(family.expectation(back) - chi))) <= 4 * tol


def test_vmf_support_and_zero_concentration(dtype: str) -> None:
    family = VonMisesFisher(3)
    eta = jnp.asarray([0.0, 0.0, 0.0])
    on = jnp.asarray([0.0, 0.6, 0.8])
    # kappa = 0: uniform on the sphere, density 1 / (4 pi).
    np.testing.assert_allclose(expfam.log_prob(family, eta, on), -np.log(4 * np.pi), rtol=1e-6)
    np.testing.assert_allclose(family.expectation(eta), np.zeros(3), atol=0)
    np.testing.assert_allclose(jax.hessian(lambda e: expfam.nll(family, e, on))(eta), np.eye(3) / 3, rtol=1e-6)
    for off in ([0.0, 0.6, 0.81], [0.0, 0.0, 0.0], [1.0, 1.0, 1.0]):
        assert float(expfam.log_prob(family, eta, jnp.asarray(off))) == -np.inf


# 8 examples, each checked in float32 and float64, compiled (the battery evaluates each family
# eagerly too).
@settings(max_examples=8, deadline=None, derandomize=True)
@given(log_kappa=hs.floats(-8.0, 5.0), loc=hs.floats(-np.pi, np.pi), x=hs.floats(-10.0, 10.0))
def test_von_mises_finite_loss_and_gradient(log_kappa: float, loc: float, x: float) -> None:
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            family = VonMises()
            eta = family.natural_from_source(loc=jnp.asarray(loc), concentration=jnp.asarray(10.0**log_kappa))
            assert_finite_loss_and_derivatives(family, eta, jnp.asarray(x), hessian=True)


# 4 examples, each in float32 and float64, compiled, in dimensions 3 and 50.
@settings(max_examples=4, deadline=None, derandomize=True)
@given(log_kappa=hs.floats(-8.0, 5.0), seed=hs.integers(0, 2**16))
def test_vmf_finite_loss_and_gradient(log_kappa: float, seed: int) -> None:
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            for p in (3, 50):
                family = VonMisesFisher(p)
                mu = jax.random.normal(jax.random.key(seed), (p,))
                mu = mu / jnp.linalg.norm(mu)
                eta = family.natural_from_source(mean_direction=mu, concentration=jnp.asarray(10.0**log_kappa))
                assert_finite_loss_and_derivatives(family, eta, draws(family, eta, 1, seed + 1)[0])


@pytest.mark.parametrize("p", [2, 3, 50])
def test_symmetric_beta_draws_follow_scipy_beta(p: int, x64: None) -> None:
    # Wood's sampler takes Beta((p - 1)/2, (p - 1)/2) draws from the first coordinate of a uniform
    # direction; Kolmogorov-Smirnov against scipy's Beta (fixed key, so the p-value is fixed).
    from expfam.families.von_mises_fisher import _symmetric_beta

    z = np.asarray(_symmetric_beta(jax.random.key(p), p, (20_000,), jnp.float64))
    assert st.kstest(z, st.beta((p - 1) / 2, (p - 1) / 2).cdf).pvalue > 1e-3
