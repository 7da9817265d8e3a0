"""Backward error of the iterative inverse maps (expectation -> natural) over their documented ranges.

For every family whose ``natural_from_expectation`` is a solver, ``ROWS`` natural parameters drawn
log-uniformly over the family's documented range (seed 0): ``chi = expectation(eta)`` in the dtype
under test, ``solved = natural_from_expectation(chi)`` in that dtype, and the backward error per row
``max|expectation(solved) - chi| / max|chi|`` with the forward map evaluated in float64. A solver
that works in the input's precision can reach its rounding level whatever the conditioning of the
map, so the bound is ``BOUND`` epsilons of the dtype on every row (the forward error may be larger
by the condition number; the accuracy tests bound it at the catalogue's points). The catalogue's
example points are few; a regression of a solver on part of its range shows here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam

#: Rows per family.
ROWS = 2_000
#: The backward error allowed, in epsilons of the dtype.
BOUND = 64


def _log_uniform(rng: np.random.Generator, low: float, high: float, shape: Any) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), shape))


def _directions(rng: np.random.Generator, n: int, p: int) -> np.ndarray:
    v = rng.normal(size=(n, p))
    return v / np.linalg.norm(v, axis=-1, keepdims=True)


Sampler = Callable[[np.random.Generator, int], dict[str, np.ndarray]]

#: family -> its documented range as a sampler of source parameters (natural parameters for the
#: families documented on eta). Logarithmic stops at eta = -12, where its mean 1 + ~3e-6 still
#: differs from 1 in float32 (at the boundary value 1 the preimage is eta = -inf, and the inverse
#: gives NaN by design).
CASES: list[tuple[expfam.ExponentialFamily, Sampler]] = [
    (expfam.Gamma(), lambda r, n: {"shape": _log_uniform(r, 1e-3, 1e5, n), "rate": _log_uniform(r, 1e-2, 1e2, n)}),
    (expfam.Beta(), lambda r, n: {"alpha": _log_uniform(r, 1e-4, 1e6, n), "beta": _log_uniform(r, 1e-4, 1e6, n)}),
    (expfam.BetaPrime(), lambda r, n: {"alpha": _log_uniform(r, 1e-4, 1e6, n), "beta": _log_uniform(r, 1e-4, 1e6, n)}),
    (expfam.Dirichlet(5), lambda r, n: {"concentration": _log_uniform(r, 1e-4, 1e6, (n, 5))}),
    # (more than 32 coordinates: the solver's sums over them are reductions, not written out)
    (expfam.Dirichlet(40), lambda r, n: {"concentration": _log_uniform(r, 1e-4, 1e6, (n, 40))}),
    (
        expfam.InverseGamma(),
        lambda r, n: {"shape": _log_uniform(r, 1e-4, 1e6, n), "scale": _log_uniform(r, 1e-6, 1e6, n)},
    ),
    (
        expfam.VonMises(),
        lambda r, n: {"loc": r.uniform(-np.pi, np.pi, n), "concentration": _log_uniform(r, 1e-3, 1e4, n)},
    ),
    (
        expfam.VonMisesFisher(3),
        lambda r, n: {"mean_direction": _directions(r, n, 3), "concentration": _log_uniform(r, 1e-3, 1e4, n)},
    ),
    (
        expfam.ContinuousBernoulli(),
        lambda r, n: {"eta": r.choice([-1.0, 1.0], (n, 1)) * _log_uniform(r, 1e-6, 1e4, (n, 1))},
    ),
    (expfam.Logarithmic(), lambda r, n: {"eta": -_log_uniform(r, 1e-6, 12.0, (n, 1))}),
]


def _natural(family: expfam.ExponentialFamily, source: dict[str, np.ndarray]) -> np.ndarray:
    """The rows' natural parameters in float64."""
    if "eta" in source:
        return source["eta"]
    with jax.enable_x64(True):
        return np.asarray(family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()}))


@pytest.mark.parametrize(("family", "sampler"), CASES, ids=[family.name for family, _ in CASES])
def test_inverse_map_backward_error_over_the_documented_range(
    family: expfam.ExponentialFamily, sampler: Sampler, dtype: str
) -> None:
    eta = _natural(family, sampler(np.random.default_rng(0), ROWS))
    chi = jax.jit(family.expectation)(jnp.asarray(eta, dtype))
    solved = jax.jit(family.natural_from_expectation)(chi)
    with jax.enable_x64(True):
        back = np.asarray(jax.jit(family.expectation)(jnp.asarray(np.asarray(solved), jnp.float64)))
    given = np.asarray(chi, np.float64)
    error = np.max(np.abs(back - given), axis=-1) / np.max(np.abs(given), axis=-1)
    worst = int(np.argmax(np.where(np.isnan(error), np.inf, error)))
    at_worst = (eta[worst], given[worst], np.asarray(solved)[worst], error[worst])
    assert np.all(error <= BOUND * np.finfo(dtype).eps), at_worst


def test_concentration_solver_gives_each_row_its_own_value(monkeypatch: pytest.MonkeyPatch, dtype: str) -> None:
    """Solved in blocks of rows (the last overlapping the one before), in one block, or alone,
    every row of the Dirichlet / Beta solver gets the same value to the last bit: its iteration is
    its own."""
    from expfam.families import dirichlet

    family = expfam.Dirichlet(5)
    concentration = _log_uniform(np.random.default_rng(1), 1e-4, 1e6, (50, family.num_classes))
    chi = jax.jit(family.expectation)(jnp.asarray(concentration, dtype))
    one_block = np.asarray(jax.jit(dirichlet.concentration_from_mean_log)(chi))
    alone = np.concatenate([np.asarray(jax.jit(dirichlet.concentration_from_mean_log)(row[None])) for row in chi])
    monkeypatch.setattr(dirichlet, "_BLOCK_ELEMENTS", 8 * family.num_classes)  # 7 blocks of 8 rows
    blocks = np.asarray(jax.jit(dirichlet.concentration_from_mean_log)(chi))
    assert np.all(np.isfinite(one_block))
    np.testing.assert_array_equal(blocks, one_block)
    np.testing.assert_array_equal(alone, one_block)
