"""Fisher information, its matrix-free products, the dual potential and Bregman divergences.

Parametrized over the whole catalogue, so every family added there is covered. References are
independent of the code under test: sample covariances of sufficient statistics, dense linear
algebra, Monte Carlo KL. (The closed-form Fisher against ``jax.hessian`` of the plain
log-normalizer formula is in the battery, on every catalogue example and both dtypes.)
The identities are checked in float64: their float32 ingredients (g', Fisher, KL, entropy) are
the battery's, and each dtype compiles every family's geometry afresh.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, draws, tolerance

import expfam

ENTRIES = [pytest.param(entry, id=entry.family.name) for entry in expfam.catalogue()]


def _natural(family, example, dtype) -> jax.Array:
    return family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in example.items()})


def _points(entry, dtype) -> jax.Array:
    """The entry's example points as natural parameters, shape (E, M)."""
    return jnp.stack([_natural(entry.family, ex, dtype) for ex in entry.examples])


def _pairs(entry, dtype) -> tuple[jax.Array, jax.Array]:
    """Two batches of distinct natural parameters: each example and the next one (or 0.8 eta)."""
    eta = _points(entry, dtype)
    other = jnp.roll(eta, 1, axis=0) if eta.shape[0] > 1 else 0.8 * eta
    return eta, other


def _is_overcomplete(family) -> bool:
    """Logits of K classes: g is invariant along (1, ..., 1), so F is singular there (rank K - 1)."""
    return isinstance(family, (expfam.Categorical, expfam.Multinomial))


def _tangents(family, shape, dtype) -> jax.Array:
    """Random tangent vectors; for an over-complete family, tangents of the simplex (sum 0)."""
    v = jax.random.normal(jax.random.key(1), shape, dtype)
    if _is_overcomplete(family):
        v = v - jnp.mean(v, axis=-1, keepdims=True)
    return v


def _matvec(matrix, v):
    return jnp.einsum("...ij,...j->...i", matrix, v)


#: Monte Carlo draws from each entry's first example (its typical point; the extremes are
#: exercised by the deterministic checks), shared by the two Monte Carlo tests.
DRAWS = 20_000


@functools.partial(jax.jit, static_argnums=0)
def _geometry(family, eta: jax.Array, eta_other: jax.Array, v: jax.Array) -> dict:
    """Every deterministic quantity the tests below compare, one compilation per family and dtype
    (the expectation-coordinate Fisher used to be a second program).

    At the points eta (E, M) with tangents v and a second batch of distributions eta_other.
    """
    chi, chi_other = family.expectation(eta), family.expectation(eta_other)
    dual_hessian = jax.hessian(lambda c: expfam.dual_potential(family, c))
    return {
        "fisher": family.fisher(eta),
        "fvp": expfam.fisher_vector_product(family, eta, v),
        "inverse_fvp": expfam.inverse_fisher_vector_product(family, eta, v),
        # the expectation-coordinate Fisher-vector product at chi along v, and the dual
        # potential's Hessian at chi
        "expectation_fvp": expfam.expectation_fisher_vector_product(family, chi, v),
        "dual_hessian": jnp.vectorize(dual_hessian, signature="(m)->(m,m)")(chi),
        "chi": chi,
        "dual_gradient_expectation": family.expectation(
            jax.grad(lambda c: jnp.sum(expfam.dual_potential(family, c)))(chi)
        ),
        "dual": expfam.dual_potential(family, chi),
        "entropy": expfam.entropy(family, eta),
        "elc": family.expected_log_carrier(eta),
        "g": family.log_normalizer(eta),
        "g_other": family.log_normalizer(eta_other),
        "kl": expfam.kl_divergence(family, eta, eta_other),
        "bregman_natural": expfam.bregman_divergence(family, eta, eta_other),
        "bregman_expectation": expfam.bregman_divergence(family, chi, chi_other, coordinates="expectation"),
        "bregman_self": expfam.bregman_divergence(family, eta, eta),
    }


@functools.partial(jax.jit, static_argnums=0)
def _monte_carlo(family, eta: jax.Array, x: jax.Array) -> dict:
    """What the two Monte Carlo checks compare, a second, small program per family (in the program
    above it made the compilation of Beta's slower than the two apart): at the first point
    ``a = eta[0]``, a second distribution b (the second point, or 0.8 a where there is one point)
    and draws x of a, the sufficient statistics of x, F(a), log q(x | a) - log q(x | b) and KL(a, b)."""
    eta_a = eta[0]
    eta_b = eta[1] if eta.shape[0] > 1 else 0.8 * eta_a
    return {
        "statistics": family.target(x)[0],
        "fisher_a": family.fisher(eta_a),
        "log_ratio": expfam.log_prob(family, eta_a, x) - expfam.log_prob(family, eta_b, x),
        "bregman_ab": expfam.bregman_divergence(
            family, family.expectation(eta_a), family.expectation(eta_b), "expectation"
        ),
    }


_computed_cache: dict = {}


def _computed(entry, dtype: str) -> dict:
    """``_geometry`` at the entry's examples (each paired with the next) and at DRAWS draws of the
    first example (seed 7), evaluated once per dtype."""
    key = (entry.family, dtype)
    if key not in _computed_cache:
        eta, other = _pairs(entry, dtype)
        v = _tangents(entry.family, eta.shape, dtype)
        x = draws(entry.family, eta[0], DRAWS, seed=7)
        _computed_cache[key] = {"v": v, **_geometry(entry.family, eta, other, v), **_monte_carlo(entry.family, eta, x)}
    return _computed_cache[key]


@pytest.mark.parametrize("entry", ENTRIES)
def test_fisher_equals_covariance_of_sufficient_statistics(entry, x64):
    # Each entry of the sample covariance is a mean of n products; its Monte Carlo standard
    # error is the standard deviation of those products over sqrt(n). Allowed: 5 standard errors
    # (plus 1e-12 for entries that vanish exactly). Centring at the sample mean adds a bias of
    # F / n, far below that.
    at = _computed(entry, "float64")
    t = np.asarray(at["statistics"])  # (n, M)
    centered = t - t.mean(axis=0)
    products = centered[:, :, None] * centered[:, None, :]
    covariance = products.mean(axis=0)
    standard_error = products.std(axis=0) / np.sqrt(DRAWS)
    fisher = np.asarray(at["fisher_a"])
    assert np.all(np.abs(covariance - fisher) <= 5 * standard_error + 1e-12), (covariance, fisher, standard_error)


@pytest.mark.parametrize("entry", ENTRIES)
def test_fisher_vector_products(entry, x64):
    dtype = "float64"
    at = _computed(entry, dtype)
    v, fisher = at["v"], at["fisher"]
    assert_close(at["fvp"], _matvec(fisher, v), dtype)
    # The inverse product solves F u = v (on the simplex's tangents for an over-complete family),
    # judged by its backward error |F u - v| / (|F| |u|) per row, which the conditioning of F
    # (up to 1e14 at the catalogue's extremes) does not inflate.
    u = at["inverse_fvp"]
    residual = np.max(np.abs(np.asarray(_matvec(fisher, u) - v, np.float64)), axis=-1)
    scale = np.max(np.sum(np.abs(np.asarray(fisher, np.float64)), axis=-1), axis=-1) * np.max(np.abs(u), axis=-1)
    assert np.all(residual <= tolerance(dtype, 10) * scale), residual / scale


@pytest.mark.parametrize("entry", ENTRIES)
def test_expectation_fisher_is_inverse_of_natural_fisher(entry, x64):
    at = _computed(entry, "float64")
    v, fisher, product, hessian = at["v"], at["fisher"], at["expectation_fvp"], at["dual_hessian"]
    if _is_overcomplete(entry.family):
        # F is singular; the dual's Hessian is a generalized inverse (F H F = F) that inverts F
        # on the simplex's tangents.
        assert_close(_matvec(fisher, product), v, "float64", loose=1e3)
        assert_close(fisher @ hessian @ fisher, fisher, "float64", loose=1e3)
        return
    dense = jnp.linalg.solve(fisher, v[..., None])[..., 0]
    assert_close(product, dense, "float64", loose=1e3)
    assert_close(hessian, jnp.linalg.inv(fisher), "float64", loose=1e3)


@pytest.mark.parametrize("entry", ENTRIES)
def test_dual_potential_gradient_and_entropy(entry, x64):
    dtype = "float64"
    at = _computed(entry, dtype)
    # eta up to the categorical's shift
    assert_close(at["dual_gradient_expectation"], at["chi"], dtype, loose=20)
    # g*(chi) = -H(q) - E_q[log h]; compared against the entropy's own scale.
    floor = float(jnp.max(jnp.abs(at["g"])))
    assert_close(at["dual"], -at["entropy"] - at["elc"], dtype, loose=20, floor=floor)


@pytest.mark.parametrize("entry", ENTRIES)
def test_bregman_divergences_are_kl(entry, x64):
    dtype = "float64"
    at = _computed(entry, dtype)
    kl_ab, natural = at["kl"], at["bregman_natural"]
    scale = float(jnp.max(jnp.abs(at["g"]) + jnp.abs(at["g_other"])))
    assert_close(natural, kl_ab, dtype, floor=scale)
    assert_close(at["bregman_expectation"], kl_ab, dtype, loose=20, floor=scale)
    assert bool(jnp.all(natural >= 0))
    assert_close(at["bregman_self"], jnp.zeros_like(kl_ab), dtype, floor=1.0)


@pytest.mark.parametrize("entry", ENTRIES)
def test_kl_against_monte_carlo(entry, x64):
    # The mean of n log-density ratios, within 5 Monte Carlo standard errors (their standard
    # deviation over sqrt(n)).
    at = _computed(entry, "float64")
    ratio = np.asarray(at["log_ratio"])  # (n,)
    bregman = float(at["bregman_ab"])
    assert abs(ratio.mean() - bregman) <= 5 * ratio.std() / np.sqrt(DRAWS) + 1e-9, (ratio.mean(), bregman)


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
