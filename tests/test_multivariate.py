"""Packing, multivariate normals (full, diagonal, unit) and Wishart: family-specific tests
against mpmath (30 digits) and scipy, conditioning extremes, and hypothesis ranges."""

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
from expfam import MultivariateNormal, MultivariateNormalDiag, MultivariateNormalUnit, Wishart
from expfam._numerics import linalg, packing


def _symmetric(rng: np.random.Generator, d: int) -> np.ndarray:
    a = rng.normal(size=(d, d))
    return a + a.T


def _covariance(seed: int, d: int, condition: float) -> np.ndarray:
    """A random rotation of eigenvalues spread log-uniformly over [1 / condition, 1]."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.normal(size=(d, d)))
    eigenvalues = np.logspace(0.0, -np.log10(condition), d)
    return (q * eigenvalues) @ q.T


@pytest.mark.parametrize("d", [1, 2, 4])
def test_packing_is_a_trace_isometry(d: int, x64: None) -> None:
    rng = np.random.default_rng(d)
    s, h = _symmetric(rng, d), _symmetric(rng, d)
    ps, ph = packing.pack(jnp.asarray(s)), packing.pack(jnp.asarray(h))
    assert ps.shape == (packing.packed_size(d),)
    np.testing.assert_allclose(float(ps @ ph), np.trace(s @ h), rtol=1e-13)
    np.testing.assert_allclose(packing.unpack(ps), s, rtol=1e-15)
    x = rng.normal(size=(3, d))
    np.testing.assert_allclose(
        packing.pack_outer(jnp.asarray(x)), packing.pack(jnp.asarray(x[:, :, None] * x[:, None, :]))
    )
    lower = np.tril(rng.normal(size=(d, d)))
    np.testing.assert_array_equal(packing.unpack_lower(packing.pack_lower(jnp.asarray(lower))), lower)
    with pytest.raises(ValueError, match="not the packed size"):
        packing.dim_from_packed(packing.packed_size(d) + 1)


def _mp_mvn_log_prob(eta: np.ndarray, x: np.ndarray, d: int) -> float:
    """log q(x) from the natural parameters themselves, in 30-digit arithmetic."""
    with mp.workdps(30):
        eta_1 = mp.matrix([mp.mpf(float(e)) for e in eta[:d]])
        h = np.asarray(packing.unpack(jnp.asarray(eta[d:])), np.float64)
        precision = mp.matrix([[-2 * mp.mpf(float(h[i, j])) for j in range(d)] for i in range(d)])
        mean = mp.lu_solve(precision, eta_1)
        diff = mp.matrix([mp.mpf(float(t)) for t in x]) - mean
        quad = (diff.T * precision * diff)[0]
        return float(-d * mp.log(2 * mp.pi) / 2 + mp.log(mp.det(precision)) / 2 - quad / 2)


@pytest.mark.parametrize("condition", [1.0, 1e4, 1e8])
def test_mvn_log_prob_against_mpmath(condition: float, x64: None) -> None:
    """Relative error of log q at a typical sample: the Cholesky solve is accurate to about
    eps * condition, so 1e-12 at condition 1 and 2e-16 * condition beyond (2e-12 at 1e4)."""
    d, family = 3, MultivariateNormal(3)
    cov = _covariance(0, d, condition)
    loc = np.array([1.0, -2.0, 0.5])
    eta = np.asarray(family.natural_from_source(loc=jnp.asarray(loc), covariance=jnp.asarray(cov)))
    x = np.asarray(family.sample(jax.random.key(1), jnp.asarray(eta), (4,)))
    got = np.asarray(expfam.log_prob(family, jnp.broadcast_to(jnp.asarray(eta), (4, eta.size)), x))
    expected = np.array([_mp_mvn_log_prob(eta, row, d) for row in x])
    tol = max(1e-12, 4.5e-16 * condition)  # about 2 eps x condition number
    np.testing.assert_allclose(got, expected, rtol=tol)
    np.testing.assert_allclose(got, st.multivariate_normal(loc, cov).logpdf(x), rtol=max(tol, 1e-9))


def test_mvn_link_gives_valid_parameters(dtype: str) -> None:
    family = MultivariateNormal(4)
    # Typical network outputs; raw values far from 0 can make L L^T numerically singular in float32.
    raw = jax.random.normal(jax.random.key(0), (64, family.num_natural))
    eta = family.link(raw)
    assert bool(jnp.all(family.is_natural_valid(eta)))
    assert np.all(np.isfinite(np.asarray(expfam.nll(family, eta, jnp.zeros((64, 4))))))


def test_diagonal_and_unit_agree_with_full(x64: None) -> None:
    full, diag, unit = MultivariateNormal(3), MultivariateNormalDiag(3), MultivariateNormalUnit(3)
    loc, scale = jnp.asarray([0.5, -1.0, 2.0]), jnp.asarray([2.0, 0.1, 1.0])
    eta_f = full.natural_from_source(loc=loc, covariance=jnp.diag(scale**2))
    eta_d = diag.natural_from_source(loc=loc, scale=scale)
    x = diag.sample(jax.random.key(0), eta_d, (5,))
    np.testing.assert_allclose(expfam.log_prob(diag, eta_d, x), expfam.log_prob(full, eta_f, x), rtol=1e-13)
    np.testing.assert_allclose(expfam.entropy(diag, eta_d), expfam.entropy(full, eta_f), rtol=1e-13)
    eta_f1 = full.natural_from_source(loc=loc, covariance=jnp.eye(3))
    np.testing.assert_allclose(expfam.log_prob(unit, loc, x), expfam.log_prob(full, eta_f1, x), rtol=1e-13)
    np.testing.assert_allclose(expfam.entropy(unit, loc), expfam.entropy(full, eta_f1), rtol=1e-13)


@pytest.mark.parametrize("df", [2.5, 5.0, 1e3])
def test_wishart_against_scipy(df: float, x64: None) -> None:
    family = Wishart(3, df=df)
    scale = _covariance(3, 3, 1e3)
    eta = family.natural_from_source(scale=jnp.asarray(scale))
    x = np.asarray(family.sample(jax.random.key(0), eta, (6,)))
    dist = st.wishart(df=df, scale=scale)
    got = np.asarray(expfam.log_prob(family, jnp.broadcast_to(eta, (6, 6)), x))
    # scipy's own Wishart log-density loses digits near df = dim - 1 (df = 2.5 for dim 3)
    np.testing.assert_allclose(got, dist.logpdf(np.moveaxis(x, 0, -1)), rtol=1e-9)
    np.testing.assert_allclose(float(expfam.entropy(family, eta)), dist.entropy(), rtol=1e-10)


def test_wishart_rejects_bad_configuration_and_support(dtype: str) -> None:
    with pytest.raises(ValueError, match="df > dim - 1"):
        Wishart(3, df=2.0)
    family = Wishart(2, df=3.0)
    eta = family.natural_from_source(scale=jnp.eye(2))
    for bad in ([[1.0, 2.0], [2.0, 1.0]], [[1.0, 0.3], [0.0, 1.0]], [[0.0, 0.0], [0.0, 0.0]]):
        assert float(expfam.log_prob(family, eta, jnp.asarray(bad))) == -np.inf


# 8 examples, each in float32 (condition <= 1e4) and float64 (condition <= 1e8), compiled (the
# battery evaluates each family eagerly too).
@settings(max_examples=8, deadline=None, derandomize=True)
@given(log_condition=hs.floats(0.0, 8.0), seed=hs.integers(0, 2**16), shift=hs.floats(-1e3, 1e3))
def test_mvn_finite_loss_and_gradient(log_condition: float, seed: int, shift: float) -> None:
    for dtype, limit in (("float32", 4.0), ("float64", 8.0)):
        with jax.enable_x64(dtype == "float64"):
            family = MultivariateNormal(3)
            cov = _covariance(seed, 3, 10.0 ** min(log_condition, limit))
            eta = family.natural_from_source(loc=jnp.full(3, shift), covariance=jnp.asarray(cov))
            assert bool(family.is_natural_valid(eta))
            assert_finite_loss_and_derivatives(family, eta, draws(family, eta, 2, seed))


# 4 examples (each a family of its own, compiled afresh), each in float32 and float64. Degrees of
# freedom from dim = 3 up: closer to the boundary dim - 1, float32 draws are numerically singular
# (log det = -inf).
@settings(max_examples=4, deadline=None, derandomize=True)
@given(log_condition=hs.floats(0.0, 4.0), seed=hs.integers(0, 2**16), log_df=hs.floats(1.0, 5.0))
def test_wishart_finite_loss_and_gradient(log_condition: float, seed: int, log_df: float) -> None:
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            family = Wishart(3, df=2.0 + 10.0**log_df / 10.0)
            eta = family.natural_from_source(scale=jnp.asarray(_covariance(seed, 3, 10.0**log_condition)))
            assert_finite_loss_and_derivatives(family, eta, draws(family, eta, 2, seed))


def _factored_inputs(d: int, dtype: str, n: int = 6) -> tuple[jax.Array, jax.Array]:
    """Head outputs for ``source_link(MultivariateNormal(d), factored=True)`` and samples."""
    rng = np.random.default_rng(d)
    raw = rng.normal(0.0, 0.5, (n, d + packing.packed_size(d)))
    return jnp.asarray(raw, dtype), jnp.asarray(rng.normal(0.0, 2.0, (n, d)), dtype)


@jax.jit
def _factored_routes(raw: jax.Array, x: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    """Value and gradient in the head's outputs of each route, factored head against eta."""
    family = MultivariateNormal(x.shape[-1])
    head = expfam.source_link(family, factored=True)
    keep = jnp.arange(x.shape[0]) != 2
    weights = jnp.linspace(0.5, 1.5, x.shape[0])
    target = family.target(x)
    routes = {
        "nll(head(raw))": lambda r: expfam.nll(family, head(r), x),
        "loss(head)": lambda r: expfam.loss(family, head)(r, x),
        "loss(head, prepared)": lambda r: expfam.loss(family, head)(r, target),
        "loss(head, (chi, elc))": lambda r: expfam.loss(family, head)(r, (target.chi, target.elc)),
        "loss(head, where)": lambda r: expfam.loss(family, head)(r, x, where=keep) / keep,
        "loss(head, weights)": lambda r: expfam.loss(family, head)(r, x, weights=weights) / weights,
    }
    return {
        name: (f(raw), jax.grad(lambda r, f=f: jnp.sum(jnp.where(keep, f(r), 0.0)))(raw)) for name, f in routes.items()
    }


@pytest.mark.parametrize("d", [3])
def test_factored_head_has_the_value_and_gradient_of_nll(d: int, dtype: str) -> None:
    """One quantity, one value: the factored head's loss (the precision's Cholesky factor read
    directly, no factorization) against ``nll`` on the natural parameters the same head gives
    (which refactor ``P = L L^T``): equal up to that refactorization's rounding, every route."""
    raw, x = _factored_inputs(d, dtype)
    results = _factored_routes(raw, x)
    value, grad = (np.asarray(a, np.float64) for a in results.pop("nll(head(raw))"))
    eps = float(np.finfo(dtype).eps)
    kept = np.arange(len(value)) != 2
    for name, (other_value, other_grad) in results.items():
        other_value, other_grad = np.asarray(other_value, np.float64), np.asarray(other_grad, np.float64)
        np.testing.assert_allclose(other_value[kept], value[kept], rtol=64 * d * eps, atol=64 * d * eps, err_msg=name)
        np.testing.assert_allclose(other_grad, grad, atol=64 * d * eps * max(np.max(np.abs(grad)), 1.0), err_msg=name)


@pytest.mark.parametrize("d", [1, 5, 33])
def test_packed_lower_transpose_times(d: int, x64: None) -> None:
    """``L^T v`` from the packed factor (selection products up to d = 32, the dense L above) and
    its gradient ``pack_lower(2 v w^T)`` for ``|w|^2``, against the dense product."""
    rng = np.random.default_rng(d)
    packed, v = rng.normal(size=(3, packing.packed_size(d))), rng.normal(size=(3, d))
    lower = np.asarray(packing.unpack_lower(jnp.asarray(packed)))
    product = jax.jit(jax.value_and_grad(lambda p, v: jnp.sum(linalg.packed_lower_transpose_times(p, v) ** 2)))
    value, grad = product(jnp.asarray(packed), jnp.asarray(v))
    w = np.einsum("nij,ni->nj", lower, v)
    np.testing.assert_allclose(value, np.sum(w**2), rtol=1e-13)
    np.testing.assert_allclose(grad, packing.pack_lower(jnp.asarray(2 * v[:, :, None] * w[:, None, :])), rtol=1e-12)


@pytest.mark.parametrize("d", [1, 5, 33])
def test_whitened_energy_and_its_written_out_derivative(d: int, x64: None) -> None:
    """``|L^T v|^2 / 2 - sum log L_ii`` and its derivative (written out: ``pack_lower(v w^T) -
    diag(1/L_ii)`` in L, ``L w`` in v) against dense products: reverse mode, forward mode, and a
    factor shared by every row (its gradient summed over the rows)."""
    rng = np.random.default_rng(d)
    packed, v = rng.normal(size=(4, packing.packed_size(d))), rng.normal(size=(4, d))
    packed[:, :d] = np.exp(packed[:, :d])  # positive diagonal
    lower = np.asarray(packing.unpack_lower(jnp.asarray(packed)))
    w = np.einsum("nij,ni->nj", lower, v)
    value = 0.5 * np.sum(w**2, -1) - np.sum(np.log(packed[:, :d]), -1)
    grad_lower = v[:, :, None] * w[:, None, :] - np.eye(d) / np.diagonal(lower, axis1=-2, axis2=-1)[:, None, :]
    grad_packed = np.asarray(packing.pack_lower(jnp.asarray(grad_lower)))
    grad_v = np.einsum("nij,nj->ni", lower, w)
    energy = jax.jit(linalg.whitened_energy)
    np.testing.assert_allclose(energy(packed, v), value, rtol=1e-13)
    got_packed, got_v = jax.jit(jax.grad(lambda p, v: jnp.sum(linalg.whitened_energy(p, v)), (0, 1)))(packed, v)
    np.testing.assert_allclose(got_packed, grad_packed, rtol=1e-12, atol=1e-13)
    np.testing.assert_allclose(got_v, grad_v, rtol=1e-12, atol=1e-13)
    dp, dv = rng.normal(size=packed.shape), rng.normal(size=v.shape)
    _, tangent = jax.jvp(
        linalg.whitened_energy, (jnp.asarray(packed), jnp.asarray(v)), (jnp.asarray(dp), jnp.asarray(dv))
    )
    np.testing.assert_allclose(tangent, np.sum(grad_packed * dp, -1) + np.sum(grad_v * dv, -1), rtol=1e-12, atol=1e-13)
    shared = jax.grad(lambda p: jnp.sum(linalg.whitened_energy(jnp.broadcast_to(p, packed.shape), jnp.asarray(v))))(
        jnp.asarray(packed[0])
    )
    w0 = np.einsum("ij,ni->nj", lower[0], v)
    grad0 = v[:, :, None] * w0[:, None, :] - np.eye(d) / np.diagonal(lower[0])[None, None, :]
    np.testing.assert_allclose(
        shared, np.asarray(packing.pack_lower(jnp.asarray(grad0.sum(0)))), rtol=1e-12, atol=1e-12
    )


def test_factored_head_parameters(x64: None) -> None:
    """The head's source parameters: loc = raw_1, precision_cholesky = L packed, with
    ``P = L L^T`` the inverse of the covariance ``source_from_natural`` reads back."""
    family = MultivariateNormal(3)
    head = expfam.source_link(family, factored=True)
    raw, _ = _factored_inputs(3, "float64", 2)
    source = head.source(raw)
    np.testing.assert_array_equal(source["loc"], raw[:, :3])
    lower = np.asarray(packing.unpack_lower(source["precision_cholesky"]))
    assert np.all(np.diagonal(lower, axis1=-2, axis2=-1) > 0)
    back = family.source_from_natural(head(raw))
    np.testing.assert_allclose(back["loc"], raw[:, :3], rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(np.linalg.inv(back["covariance"]), lower @ np.swapaxes(lower, -1, -2), rtol=1e-12)
    with pytest.raises(TypeError, match="exactly one of"):
        family.natural_from_source(loc=raw[:, :3])
    with pytest.raises(TypeError, match="no factored head"):
        expfam.source_link(expfam.Normal(), factored=True)
    with pytest.raises(TypeError, match="takes no transforms"):
        expfam.source_link(family, factored=True, loc=expfam.positive)
    with pytest.raises(ValueError, match="needs outputs of shape"):
        expfam.loss(family, head)(raw[:, :5], jnp.zeros((2, 3)))
