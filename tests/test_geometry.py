"""Fisher information, its matrix-free products, the dual potential and Bregman divergences.

Parametrized over the catalogue, so every family added there is covered. References are
independent of the code under test: Hessians of the plain log-normalizer formula, sample
covariances of sufficient statistics, dense linear algebra, Monte Carlo KL.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import expfam
from expfam._catalogue import CATALOGUE

ENTRIES = [pytest.param(entry, id=entry.family.name) for entry in CATALOGUE]


def _points(entry, dtype) -> jax.Array:
    """The entry's example points as natural parameters, shape (E, M)."""
    family = entry.family
    return jnp.stack(
        [family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in ex.items()}) for ex in entry.examples]
    )


def _pairs(entry, dtype) -> tuple[jax.Array, jax.Array]:
    """Two batches of distinct natural parameters: each example and the next one (or 0.8 eta)."""
    eta = _points(entry, dtype)
    other = jnp.roll(eta, 1, axis=0) if eta.shape[0] > 1 else 0.8 * eta
    return eta, other


def _tangents(family, shape, dtype) -> jax.Array:
    v = jax.random.normal(jax.random.key(1), shape, dtype)
    if isinstance(family, expfam.Categorical):  # tangents of the simplex
        v = v - jnp.mean(v, axis=-1, keepdims=True)
    return v


def _is_overcomplete(family) -> bool:
    return isinstance(family, expfam.Categorical)


@pytest.mark.parametrize("entry", ENTRIES)
def test_fisher_equals_hessian_of_log_normalizer(entry, dtype):
    family = entry.family
    eta = _points(entry, dtype)
    hessian = jnp.vectorize(jax.hessian(family.log_normalizer_formula), signature="(m)->(m,m)")(eta)
    assert_close(family.fisher(eta), hessian, dtype, loose=5)


@pytest.mark.parametrize("entry", ENTRIES)
def test_fisher_equals_covariance_of_sufficient_statistics(entry, x64):
    family = entry.family
    n = 100_000
    eta = _points(entry, jnp.float64)
    t = np.stack([family.target(family.sample(jax.random.key(7), e, (n,)))[0] for e in eta], axis=1)  # (n, E, M)
    centered = t - t.mean(axis=0)
    products = centered[..., :, None] * centered[..., None, :]
    covariance = products.mean(axis=0)
    standard_error = products.std(axis=0) / np.sqrt(n)
    fisher = np.asarray(family.fisher(eta))
    assert np.all(np.abs(covariance - fisher) <= 5 * standard_error + 1e-12), (covariance, fisher)


@pytest.mark.parametrize("entry", ENTRIES)
def test_fisher_vector_products(entry, dtype):
    family = entry.family
    eta = _points(entry, dtype)
    v = _tangents(family, eta.shape, dtype)
    fisher = family.fisher(eta)
    assert_close(expfam.fisher_vector_product(family, eta, v), jnp.einsum("...ij,...j->...i", fisher, v), dtype)
    # The inverse product solves F u = v (on the simplex's tangents for the categorical).
    u = expfam.inverse_fisher_vector_product(family, eta, v)
    assert_close(jnp.einsum("...ij,...j->...i", fisher, u), v, dtype, loose=50)


@pytest.mark.parametrize("entry", ENTRIES)
def test_expectation_fisher_is_inverse_of_natural_fisher(entry, x64):
    family = entry.family
    if _is_overcomplete(family):
        pytest.skip("the categorical's Fisher is singular")
    eta = _points(entry, jnp.float64)
    chi = family.expectation(eta)
    v = _tangents(family, eta.shape, jnp.float64)
    dense = jnp.linalg.solve(family.fisher(eta), v[..., None])[..., 0]
    assert_close(expfam.expectation_fisher_vector_product(family, chi, v), dense, "float64", loose=1e3)
    hessian = jnp.vectorize(jax.hessian(lambda c: expfam.dual_potential(family, c)), signature="(m)->(m,m)")(chi)
    assert_close(hessian, jnp.linalg.inv(family.fisher(eta)), "float64", loose=1e3)


@pytest.mark.parametrize("entry", ENTRIES)
def test_dual_potential_gradient_and_entropy(entry, dtype):
    family = entry.family
    eta = _points(entry, dtype)
    chi = family.expectation(eta)
    gradient = jax.grad(lambda c: jnp.sum(expfam.dual_potential(family, c)))(chi)
    assert_close(family.expectation(gradient), chi, dtype, loose=20)  # eta up to the categorical's shift
    # g*(chi) = -H(q) - E_q[log h]; compared against the entropy's own scale.
    value = expfam.dual_potential(family, chi)
    reference = -expfam.entropy(family, eta) - family.expected_log_carrier(eta)
    floor = float(jnp.max(jnp.abs(family.log_normalizer(eta))))
    assert_close(value, reference, dtype, loose=20, floor=floor)


@pytest.mark.parametrize("entry", ENTRIES)
def test_bregman_divergences_are_kl(entry, dtype):
    family = entry.family
    eta_a, eta_b = _pairs(entry, dtype)
    chi_a, chi_b = family.expectation(eta_a), family.expectation(eta_b)
    kl_ab = expfam.kl_divergence(family, eta_a, eta_b)
    natural = expfam.bregman_divergence(family, eta_b, eta_a)
    dual = expfam.bregman_divergence(family, chi_a, chi_b, coordinates="expectation")
    scale = float(jnp.max(jnp.abs(family.log_normalizer(eta_a)) + jnp.abs(family.log_normalizer(eta_b))))
    assert_close(natural, kl_ab, dtype, floor=scale)
    assert_close(dual, kl_ab, dtype, loose=20, floor=scale)
    assert bool(jnp.all(natural >= 0))
    assert_close(expfam.bregman_divergence(family, eta_a, eta_a), jnp.zeros_like(kl_ab), dtype, floor=1.0)


@pytest.mark.parametrize("entry", ENTRIES)
def test_kl_against_monte_carlo(entry, x64):
    family = entry.family
    n = 50_000
    eta_a, eta_b = _pairs(entry, jnp.float64)
    x = jnp.stack([family.sample(jax.random.key(3), a, (n,)) for a in eta_a], axis=1)
    ratio = np.asarray(expfam.log_prob(family, eta_a, x) - expfam.log_prob(family, eta_b, x))  # (n, E)
    chi_a, chi_b = family.expectation(eta_a), family.expectation(eta_b)
    bregman = np.asarray(expfam.bregman_divergence(family, chi_a, chi_b, "expectation"))
    assert np.all(np.abs(ratio.mean(axis=0) - bregman) <= 5 * ratio.std(axis=0) / np.sqrt(n) + 1e-9), (ratio, bregman)


def test_bad_coordinates_and_shapes():
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=2.0, rate=1.0)
    with pytest.raises(ValueError, match="coordinates"):
        expfam.bregman_divergence(family, eta, eta, coordinates="source")
    with pytest.raises(ValueError, match="tangent vectors must have shape"):
        expfam.fisher_vector_product(family, eta, jnp.ones(3))
    with pytest.raises(ValueError, match="natural domain"):
        expfam.inverse_fisher_vector_product(family, -eta, jnp.ones(2))


def test_products_under_jit_and_vmap():
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=jnp.array([0.5, 3.0]), rate=jnp.array([2.0, 0.1]))
    v = jnp.array([[1.0, -2.0], [0.5, 0.25]])
    eager = expfam.inverse_fisher_vector_product(family, eta, v)
    jitted = jax.jit(expfam.inverse_fisher_vector_product, static_argnums=0)(family, eta, v)
    mapped = jax.vmap(expfam.inverse_fisher_vector_product, in_axes=(None, 0, 0))(family, eta, v)
    assert_close(jitted, eager, "float32")
    assert_close(mapped, eager, "float32")
