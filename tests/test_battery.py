"""The common battery every family passes (rows come from tests/registry.py).

The math of each check lives in a module-level function compiled with the family as a static
argument, so each family compiles once per check and dtype however many examples it has (eager
evaluation compiles every primitive on first use, which made the battery slow); the first
example of each catalogue entry is also checked eagerly and under vmap.
"""

from __future__ import annotations

import dataclasses
import functools
import warnings
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import DRAWS, assert_close, draws, log_prob_and_gradient, representative, tolerance
from registry import CASES, ENTRY_CASES, REFERENCES, Case, case_ids, scipy_distribution

import expfam

# Every example under jit in both dtypes; the first example of each representative family also
# eagerly (in float32, the default) and under vmap (in float64): the modes trace the same math,
# and each mode in each dtype compiles it afresh.
MODE_CASES = [
    pytest.param(case, "jit", dtype, id=f"{dtype}-{case.id}-jit") for case in CASES for dtype in ("float32", "float64")
] + [
    pytest.param(case, mode, dtype, id=f"{dtype}-{case.id}-{mode}")
    for case in ENTRY_CASES
    if representative(case.family)
    for mode, dtype in (("eager", "float32"), ("vmap", "float64"))
]

#: The batch every per-sample check evaluates (one shape: everything compiled is reused).
BATCH = 16


@functools.cache
def compiled(fn: Any) -> Any:
    """``jax.jit(fn)`` with the family (argument 0) static, one object per function, so that it
    compiles once per family, shape and dtype."""
    return jax.jit(fn, static_argnums=0)


def natural(case: Case, dtype: Any = None) -> jax.Array:
    """The case's natural parameters, computed in the active default float precision."""
    source = {k: jnp.asarray(v, dtype) for k, v in case.source.items()}
    return case.family.natural_from_source(**source)


def draw(case: Case, n: int, seed: int = 0) -> jax.Array:
    return draws(case.family, natural(case), n, seed)


def as_float64(x: jax.Array) -> np.ndarray:
    """Samples for scipy: floating samples in float64, integer labels unchanged."""
    x = np.asarray(x)
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


@functools.cache
def _row_by_row(fn: Any) -> Any:
    """``fn`` mapped over the leading axis of its array arguments by ``jax.vmap``, compiled."""
    return compiled(lambda family, *batched: jax.vmap(functools.partial(fn, family))(*batched))


def in_mode(mode: str, fn: Any, family: expfam.ExponentialFamily, *batched: jax.Array) -> Any:
    """Evaluate ``fn(family, *batched)`` eagerly, compiled, or row by row under vmap (compiled)."""
    if mode == "eager":
        return fn(family, *batched)
    if mode == "jit":
        return compiled(fn)(family, *batched)
    return _row_by_row(fn)(family, *batched)


def test_every_family_has_a_reference() -> None:
    missing = {type(entry.family).__name__ for entry in expfam.catalogue() if type(entry.family) not in REFERENCES}
    assert not missing, f"add rows to tests/registry.py for {sorted(missing)}"


def _per_sample(case: Case, mode: str, dtype: str) -> tuple[jax.Array, jax.Array, tuple[jax.Array, ...]]:
    """``BATCH`` draws, eta broadcast to them, and ``log_prob_and_gradient`` in the given mode (one
    compilation for the log-prob and the gradient test)."""
    with jax.enable_x64(dtype == "float64"):
        x = draw(case, BATCH, seed=1)
        eta = jnp.broadcast_to(natural(case), (BATCH, case.family.num_natural))
        return eta, x, in_mode(mode, log_prob_and_gradient, case.family, eta, x)


@pytest.mark.parametrize(("case", "mode", "dtype"), MODE_CASES)
def test_log_prob_matches_scipy(case: Case, mode: str, dtype: str) -> None:
    dist = scipy_distribution(case.family, case.source)
    if dist is None:
        pytest.skip("scipy has no such distribution")
    _, x, (actual, _) = _per_sample(case, mode, dtype)
    expected = case.reference.logpdf(dist, as_float64(x))
    assert actual.dtype == jnp.dtype(dtype)
    # A float32 draw can underflow to a boundary that scipy's support includes and expfam's
    # excludes (a Gamma(0.05) sample rounded to 0): compare where the reference is finite.
    finite = np.isfinite(expected)
    assert np.mean(finite) > 0.5
    # Log-densities near zero are compared absolutely (floor 1).
    assert_close(np.asarray(actual)[finite], expected[finite], dtype, loose=5, floor=1.0)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_density_integrates_to_one(case: Case, x64: None) -> None:
    if case.reference.mass is None:
        pytest.skip("no direct integration for this family")
    mass = case.reference.mass(case.family, np.asarray(natural(case)))
    assert abs(mass - 1) < 1e-8


@compiled
def _at_point(family: expfam.ExponentialFamily, eta: jax.Array) -> dict[str, Any]:
    """Everything the single-point checks compare, in one compiled function per family and dtype.

    With ``chi, elc`` = q's own target ``(g'(eta), E[log h])`` and ``H(e) = cross_entropy(e, chi, elc)``:
    closed forms and their autodiff versions; the gradients of H in chi and elc; the Hessian of H
    and its forward derivative along ones; g' after the inverse map and after a trip through the
    source parameters.
    """
    chi, elc = family.distribution_target(eta)[:2]

    def loss(e: jax.Array) -> jax.Array:
        return expfam.cross_entropy(family, e, (chi, elc))

    d_chi, d_elc = jax.grad(lambda c, l: expfam.cross_entropy(family, eta, (c, l)), argnums=(0, 1))(chi, elc)
    source = family.source_from_natural(eta)
    return {
        "expectation": chi,
        "autodiff_expectation": family.autodiff_expectation(eta),
        "fisher": family.fisher(eta),
        "autodiff_fisher": family.autodiff_fisher(eta),
        "d_chi": d_chi,
        "d_elc": d_elc,
        "hessian": jax.hessian(loss)(eta),
        "forward": jax.jvp(loss, (eta,), (jnp.ones_like(eta),))[1],
        "expected_forward": jnp.sum(family.expectation(eta) - chi),
        "from_inverse": family.expectation(family.natural_from_expectation(chi)),
        "from_source": family.expectation(family.natural_from_source(**source)),
        "source": source,
    }


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_closed_forms_match_autodiff(case: Case, dtype: str) -> None:
    at = _at_point(case.family, natural(case))
    assert_close(at["expectation"], at["autodiff_expectation"], dtype)
    assert_close(at["fisher"], at["autodiff_fisher"], dtype, loose=5)


@pytest.mark.parametrize(("case", "mode", "dtype"), MODE_CASES)
def test_gradient_is_expectation_minus_target(case: Case, mode: str, dtype: str) -> None:
    eta, x, (_, gradient) = _per_sample(case, mode, dtype)
    with jax.enable_x64(dtype == "float64"):
        expected, inside = compiled(_expectation_minus_target)(case.family, eta, x)
    # As above, a float32 draw can underflow out of the support (its loss is +inf, its gradient 0):
    # compare at the draws inside.
    inside = np.asarray(inside)
    assert np.mean(inside) > 0.5
    assert_close(np.asarray(gradient)[inside], np.asarray(expected)[inside], dtype, floor=1e-3)


def _expectation_minus_target(
    family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``g'(eta) - T(x)``, and whether each draw is inside the support."""
    chi, log_h = family.target(x)[:2]
    return family.expectation(eta) - chi, log_h > -jnp.inf


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_gradient_in_target_coordinates(case: Case, dtype: str) -> None:
    eta = natural(case)
    at = _at_point(case.family, eta)
    assert_close(at["d_chi"], -eta, dtype)
    assert float(at["d_elc"]) == -1.0


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_hessian_is_fisher(case: Case, dtype: str) -> None:
    at = _at_point(case.family, natural(case))
    assert_close(at["hessian"], at["fisher"], dtype)
    assert_close(at["forward"], at["expected_forward"], dtype, floor=1e-3)


@compiled
def _reverse_derivatives(
    family: expfam.ExponentialFamily, eta: jax.Array, target: tuple[jax.Array, jax.Array], directions: jax.Array
) -> tuple[jax.Array, ...]:
    """Reverse-mode derivatives at (eta, expectation = directions[3]), one compilation per family.

    ``H(e) = sum cross_entropy(family, e, target)``: H, its gradient, and the reverse-over-reverse
    Hessian-vector product along ``u = directions[0]``; the inverse map at the expectation point
    and its vector-Jacobian product with the cotangent ``c = directions[2]`` (reverse mode
    transposes the inverse map's custom JVP, so this checks that rule too).
    """
    u, _, c, expectation = directions

    def loss(e: jax.Array) -> jax.Array:
        return jnp.sum(expfam.cross_entropy(family, e, target))

    value, gradient = jax.value_and_grad(loss)(eta)
    hessian_u = jax.grad(lambda e: jnp.vdot(jax.grad(loss)(e), u))(eta)
    inverse, pullback = jax.vjp(family.natural_from_expectation, expectation)
    return value, gradient, hessian_u, inverse, pullback(c)[0]


def _agree(derivative: jax.Array, difference: jax.Array, tolerance: float) -> None:
    derivative, difference = float(derivative), float(difference)
    assert abs(derivative - difference) <= tolerance * (1 + abs(difference)), (derivative, difference)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_reverse_derivatives_match_finite_differences(case: Case, x64: None) -> None:
    """Reverse mode against central differences along random directions (what
    ``jax.test_util.check_grads(order=2, modes=["rev"])`` checks, compiled once per family):
    ``grad H . v``, ``u . (Hess H) v`` and ``c . J w`` for the inverse map J; forward mode is checked
    exactly by the Hessian and JVP tests above."""
    family, eta = case.family, natural(case)
    target = family.target(draw(case, BATCH))[:2]
    u, v, c, w = (jnp.asarray(r) for r in np.random.default_rng(0).standard_normal((4, family.num_natural)))
    # Second-order differences carry ~1e-5 relative noise where third derivatives are large (small
    # scales, tiny NegativeBinomial r): compare at 1e-4. The inverse map's step is 1e-6, since
    # expectation parameters can be small (4e-3 for NegativeBinomial(0.01)).
    h, k = 1e-4, 1e-6
    expectation = family.expectation(eta)
    _, gradient, hessian_u, _, pulled = _reverse_derivatives(family, eta, target, jnp.stack([u, v, c, expectation]))
    plus = _reverse_derivatives(family, eta + h * v, target, jnp.stack([u, v, c, expectation + k * w]))
    minus = _reverse_derivatives(family, eta - h * v, target, jnp.stack([u, v, c, expectation - k * w]))
    _agree(jnp.vdot(gradient, v), (plus[0] - minus[0]) / (2 * h), 1e-4)
    _agree(jnp.vdot(hessian_u, v), jnp.vdot(plus[1] - minus[1], u) / (2 * h), 1e-4)
    _agree(jnp.vdot(pulled, w), jnp.vdot(plus[3] - minus[3], c) / (2 * k), 1e-4)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_round_trips(case: Case, dtype: str) -> None:
    at = _at_point(case.family, natural(case))
    assert_close(at["from_inverse"], at["expectation"], dtype)
    assert_close(at["from_source"], at["expectation"], dtype)
    for key, value in at["source"].items():
        assert_close(value, jnp.asarray(case.source[key]), dtype, loose=5)


def _pairs(case: Case) -> list[dict[str, Any]]:
    entry = next(e for e in expfam.catalogue() if e.family == case.family and case.source in e.examples)
    return list(entry.examples)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_kl_is_a_divergence(case: Case, dtype: str) -> None:
    family, eta_p = case.family, natural(case)
    kl = compiled(expfam.kl_divergence)
    assert abs(float(kl(family, eta_p, eta_p))) <= tolerance(dtype) * 10
    for other in _pairs(case):
        eta_q = family.natural_from_source(**{k: jnp.asarray(v) for k, v in other.items()})
        assert float(kl(family, eta_p, eta_q)) >= -tolerance(dtype)


def _monte_carlo(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values) / np.sqrt(values.size))


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_cross_entropy_and_kl_match_monte_carlo(case: Case, x64: None) -> None:
    family, eta_p = case.family, natural(case)
    others = _pairs(case)
    other = others[(others.index(case.source) + 1) % len(others)]
    eta_q = family.natural_from_source(**{k: jnp.asarray(v) for k, v in other.items()})
    x = draw(case, DRAWS, seed=2)
    if np.ptp(np.asarray(x)) == 0:
        pytest.skip("every draw is the same value: a Monte Carlo estimate says nothing here")
    nll_q, nll_p, cross, kl = (np.asarray(v) for v in _cross_entropy_and_kl(family, eta_p, eta_q, x))

    mean, error = _monte_carlo(nll_q)
    assert abs(float(cross) - mean) <= 5 * error + 1e-9 * abs(mean)

    mean, error = _monte_carlo(nll_q - nll_p)
    assert abs(float(kl) - mean) <= 5 * error + 1e-12


@compiled
def _cross_entropy_and_kl(
    family: expfam.ExponentialFamily, eta_p: jax.Array, eta_q: jax.Array, x: jax.Array
) -> tuple[jax.Array, ...]:
    """nll of the draws x under q and p, H(p, q) from p's prepared target, and KL(p || q)."""
    cross = expfam.cross_entropy(family, eta_q, family.distribution_target(eta_p))
    return expfam.nll(family, eta_q, x), expfam.nll(family, eta_p, x), cross, expfam.kl_divergence(family, eta_p, eta_q)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_entropy_matches_scipy(case: Case, x64: None) -> None:
    dist = scipy_distribution(case.family, case.source)
    if dist is None:
        pytest.skip("scipy has no such distribution")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        try:
            reference = dist.entropy()
        except RuntimeWarning as warning:  # scipy's own series did not converge
            pytest.skip(f"no reliable scipy reference: {warning}")
    entropy = compiled(expfam.entropy)(case.family, natural(case))
    assert_close(entropy, reference, "float64", loose=1e3, floor=1.0)


@compiled
def _moments(family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array) -> tuple[jax.Array, ...]:
    """Mean sufficient statistics of the draws x, and g'(eta), g''(eta)."""
    return jnp.mean(family.target(x)[0], axis=0), family.expectation(eta), family.fisher(eta)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_sample_moments_match_expectation(case: Case, x64: None) -> None:
    n = DRAWS
    mean_chi, expectation, fisher = (np.asarray(v) for v in _moments(case.family, natural(case), draw(case, n, seed=3)))
    standard_error = np.sqrt(np.diagonal(fisher) / n)
    deviation = np.abs(mean_chi - expectation)
    assert np.all(deviation <= 5 * standard_error + 1e-12), (deviation, standard_error)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_second_call_does_not_recompile(case: Case) -> None:
    traces = []

    @jax.jit
    def loss(family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array) -> jax.Array:
        traces.append(1)
        return jnp.mean(expfam.nll(family, eta, x))

    family = case.family
    x = draw(case, BATCH)
    eta = jnp.broadcast_to(natural(case), (BATCH, family.num_natural))
    loss(family, eta, x)
    equal_family = dataclasses.replace(family)
    loss(equal_family, eta + 0.0, draw(case, BATCH, seed=9))
    assert len(traces) == 1
    assert hash(equal_family) == hash(family)
    assert jax.tree_util.tree_leaves(family) == []


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_sampling_with_batched_parameters(case: Case) -> None:
    family = case.family
    eta = jnp.broadcast_to(natural(case), (3, family.num_natural))
    draws = family.sample(jax.random.key(4), eta, (5,))
    labels = family.event_shape and jnp.issubdtype(draws.dtype, jnp.integer)
    assert draws.shape == (5, 3) + (() if labels else family.event_shape)
    assert bool(jnp.all(family.support.contains(draws) if not labels else (draws >= 0)))
