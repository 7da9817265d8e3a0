"""The common battery every family passes (rows come from tests/registry.py).

Every check reads ``probe.probe(family, dtype)``: one compiled program per family and dtype that
evaluates what all the checks (and tests/test_routes.py) compare, at every example of the family's
catalogue entry. The first example of each representative family (``helpers.REPRESENTATIVES``) is
also evaluated eagerly and under vmap, against the probe's references.
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
from probe import BATCH, TRACES, H, K, compiled_per_sample, directions, natural, probe, row
from registry import CASES, ENTRY_CASES, REFERENCES, Case, case_ids, scipy_distribution

import expfam

# Every example compiled in both dtypes (the probe); the first example of each representative
# family also eagerly (in float32, the default) and under vmap (in float64): the modes trace the
# same math, and each mode in each dtype compiles it afresh.
MODE_CASES = [
    pytest.param(case, "jit", dtype, id=f"{dtype}-{case.id}-jit") for case in CASES for dtype in ("float32", "float64")
] + [
    pytest.param(case, mode, dtype, id=f"{dtype}-{case.id}-{mode}")
    for case in ENTRY_CASES
    if representative(case.family)
    for mode, dtype in (("eager", "float32"), ("vmap", "float64"))
]


def as_float64(x: Any) -> np.ndarray:
    """Samples for scipy: floating samples in float64, integer labels unchanged."""
    x = np.asarray(x)
    return x.astype(np.float64) if np.issubdtype(x.dtype, np.floating) else x


def at(case: Case, dtype: str) -> dict[str, Any]:
    """The probe's single-point quantities at the case's example."""
    i = row(case.family, case.source)
    return jax.tree.map(lambda a: a[i], probe(case.family, dtype)["at"])


@functools.cache
def _row_by_row(fn: Any) -> Any:
    """``fn`` mapped over the leading axis of its array arguments by ``jax.vmap``, compiled."""
    return jax.jit(lambda family, *batched: jax.vmap(functools.partial(fn, family))(*batched), static_argnums=0)


def _per_sample(case: Case, mode: str, dtype: str) -> tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, Any]]:
    """``BATCH`` draws and ``log_prob_and_gradient`` at them (eta broadcast), in the given mode:
    the probe's values under jit, else evaluated eagerly or row by row under vmap; and the probe."""
    result = probe(case.family, dtype)
    i = row(case.family, case.source)
    x = result["inputs"]["x"][i]
    if mode == "jit":
        return x, result["log_prob"][i], result["gradient"][i], result
    with jax.enable_x64(dtype == "float64"):
        eta = jnp.broadcast_to(jnp.asarray(result["inputs"]["eta"][i]), (BATCH, case.family.num_natural))
        fn = log_prob_and_gradient if mode == "eager" else _row_by_row(log_prob_and_gradient)
        log_prob, gradient = fn(case.family, eta, jnp.asarray(x))
        return x, np.asarray(log_prob), np.asarray(gradient), result


def test_every_family_has_a_reference() -> None:
    missing = {type(entry.family).__name__ for entry in expfam.catalogue() if type(entry.family) not in REFERENCES}
    assert not missing, f"add rows to tests/registry.py for {sorted(missing)}"


@pytest.mark.parametrize(("case", "mode", "dtype"), MODE_CASES)
def test_log_prob_matches_scipy(case: Case, mode: str, dtype: str) -> None:
    dist = scipy_distribution(case.family, case.source)
    if dist is None:
        pytest.skip("scipy has no such distribution")
    x, actual, _, _ = _per_sample(case, mode, dtype)
    expected = case.reference.logpdf(dist, as_float64(x))
    assert actual.dtype == jnp.dtype(dtype)
    # A float32 draw can underflow to a boundary that scipy's support includes and expfam's
    # excludes (a Gamma(0.05) sample rounded to 0): compare where the reference is finite.
    finite = np.isfinite(expected)
    assert np.mean(finite) > 0.5
    # Log-densities near zero are compared absolutely (floor 1).
    assert_close(actual[finite], expected[finite], dtype, loose=5, floor=1.0)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_density_integrates_to_one(case: Case, x64: None) -> None:
    if case.reference.mass is None:
        pytest.skip("no direct integration for this family")
    mass = case.reference.mass(case.family, np.asarray(natural(case.family, case.source)))
    assert abs(mass - 1) < 1e-8


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_closed_forms_match_autodiff(case: Case, dtype: str) -> None:
    point = at(case, dtype)
    assert_close(point["expectation"], point["autodiff_expectation"], dtype)
    assert_close(point["fisher"], point["autodiff_fisher"], dtype, loose=5)


@pytest.mark.parametrize(("case", "mode", "dtype"), MODE_CASES)
def test_gradient_is_expectation_minus_target(case: Case, mode: str, dtype: str) -> None:
    _, _, gradient, result = _per_sample(case, mode, dtype)
    i = row(case.family, case.source)
    expected, inside = result["expected_gradient"][i], result["inside"][i]
    # As above, a float32 draw can underflow out of the support (its loss is +inf, its gradient 0):
    # compare at the draws inside.
    assert np.mean(inside) > 0.5
    assert_close(gradient[inside], expected[inside], dtype, floor=1e-3)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_gradient_in_target_coordinates(case: Case, dtype: str) -> None:
    point = at(case, dtype)
    eta = probe(case.family, dtype)["inputs"]["eta"][row(case.family, case.source)]
    assert_close(point["d_chi"], -eta, dtype)
    assert float(point["d_elc"]) == -1.0


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_hessian_is_fisher(case: Case, dtype: str) -> None:
    point = at(case, dtype)
    assert_close(point["hessian"], point["fisher"], dtype)
    assert_close(point["forward"], point["expected_forward"], dtype, floor=1e-3)


def _agree(derivative: Any, difference: Any, tolerance: float) -> None:
    derivative, difference = float(derivative), float(difference)
    assert abs(derivative - difference) <= tolerance * (1 + abs(difference)), (derivative, difference)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_reverse_derivatives_match_finite_differences(case: Case, x64: None) -> None:
    """Reverse mode against central differences along random directions (what
    ``jax.test_util.check_grads(order=2, modes=["rev"])`` checks): ``grad H . v``, ``u . (Hess H) v``
    and ``c . J w`` for the inverse map J, with ``H = sum cross_entropy`` at draws of the first
    example, evaluated there and at ``eta +- h v`` (and the expectation ``+- k w``); forward mode is
    checked exactly by the Hessian and JVP tests above.

    Second-order differences carry ~1e-5 relative noise where third derivatives are large (small
    scales, tiny NegativeBinomial r): compare at 1e-4. The inverse map's step is ``k = 1e-6``, since
    expectation parameters can be small (4e-3 for NegativeBinomial(0.01)); ``h = 1e-4``.
    """
    u, v, c, w = directions(case.family)
    value, gradient, hessian_u, inverse, pulled = probe(case.family, "float64")["reverse"]
    _agree(np.vdot(gradient[0], v), (value[1] - value[2]) / (2 * H), 1e-4)
    _agree(np.vdot(hessian_u[0], v), np.vdot(gradient[1] - gradient[2], u) / (2 * H), 1e-4)
    _agree(np.vdot(pulled[0], w), np.vdot(inverse[1] - inverse[2], c) / (2 * K), 1e-4)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_round_trips(case: Case, dtype: str) -> None:
    point = at(case, dtype)
    assert_close(point["from_inverse"], point["expectation"], dtype)
    assert_close(point["from_source"], point["expectation"], dtype)
    for key, value in point["source"].items():
        assert_close(value, jnp.asarray(case.source[key]), dtype, loose=5)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_kl_is_a_divergence(case: Case, dtype: str) -> None:
    """KL(p || p) = 0 and KL(p || q) >= 0 for every example q of the entry."""
    i = row(case.family, case.source)
    kl = probe(case.family, dtype)["kl"][i]
    assert abs(float(kl[i])) <= tolerance(dtype) * 10
    for value in kl:
        assert float(value) >= -tolerance(dtype)


def _monte_carlo(values: np.ndarray) -> tuple[float, float]:
    return float(np.mean(values)), float(np.std(values) / np.sqrt(values.size))


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_cross_entropy_and_kl_match_monte_carlo(case: Case, x64: None) -> None:
    """H(p, q) and KL(p || q) against the mean over ``DRAWS`` draws of p, q the entry's next example."""
    result, i = probe(case.family, "float64"), row(case.family, case.source)
    if np.ptp(result["inputs"]["x_mc"][i]) == 0:
        pytest.skip("every draw is the same value: a Monte Carlo estimate says nothing here")
    nll_q, nll_p, cross, kl = (v[i] for v in result["mc"])

    mean, error = _monte_carlo(nll_q)
    assert abs(float(cross) - mean) <= 5 * error + 1e-9 * abs(mean)

    mean, error = _monte_carlo(nll_q - nll_p)
    assert abs(float(kl) - mean) <= 5 * error + 1e-12


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
    entropy = probe(case.family, "float64")["entropy"][row(case.family, case.source)]
    assert_close(entropy, reference, "float64", loose=1e3, floor=1.0)


@pytest.mark.parametrize("case", CASES, ids=case_ids(CASES))
def test_sample_moments_match_expectation(case: Case, x64: None) -> None:
    n = DRAWS
    mean_chi, expectation, fisher = (v[row(case.family, case.source)] for v in probe(case.family, "float64")["moments"])
    standard_error = np.sqrt(np.diagonal(fisher) / n)
    deviation = np.abs(mean_chi - expectation)
    assert np.all(deviation <= 5 * standard_error + 1e-12), (deviation, standard_error)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_second_call_does_not_recompile(case: Case) -> None:
    """The probe's compiled per-sample program, called with an equal family (a new object) and new
    values of the same shapes, runs the program it has: the family is a pytree without leaves,
    hashed by its fields."""
    family = case.family
    result = probe(family, "float32")
    eta = jnp.broadcast_to(jnp.asarray(result["inputs"]["eta"][0]), (BATCH, family.num_natural))
    compiled_per_sample(family, eta, jnp.asarray(result["inputs"]["x"][0]))
    traces = len(TRACES)
    equal_family = dataclasses.replace(family)
    compiled_per_sample(equal_family, eta + 0.0, draws(family, eta[0], BATCH, seed=9))
    assert len(TRACES) == traces
    assert hash(equal_family) == hash(family)
    assert jax.tree_util.tree_leaves(family) == []


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_sampling_with_batched_parameters(case: Case) -> None:
    """Draws of shape (5,) at parameters batched to 3: compiled (the probe), and eagerly for the
    representative families."""
    family = case.family
    result = probe(family, "float32")
    samples = [(result["sample"], bool(result["sample_inside"]))]
    if representative(family):
        eta = jnp.broadcast_to(natural(family, case.source), (3, family.num_natural))
        eager = family.sample(jax.random.key(4), eta, (5,))
        labels = family.event_shape and jnp.issubdtype(eager.dtype, jnp.integer)
        samples.append((eager, bool(jnp.all(family.support.contains(eager) if not labels else (eager >= 0)))))
    for sample, inside in samples:
        labels = family.event_shape and np.issubdtype(sample.dtype, np.integer)
        assert sample.shape == (5, 3) + (() if labels else family.event_shape)
        assert inside
