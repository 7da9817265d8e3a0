"""Helpers shared by the tests: one tolerance per dtype, relative-error measures, and draws."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import expfam

#: Relative tolerance for a quantity computed two ways in floating point.
_RTOL = {"float32": 2e-4, "float64": 1e-10}


def tolerance(dtype: str | np.dtype, loose: float = 1.0) -> float:
    """Relative tolerance for ``dtype``, optionally loosened by a documented factor."""
    return _RTOL[np.dtype(dtype).name] * loose


def assert_close(actual, expected, dtype, loose: float = 1.0, floor: float = 0.0) -> None:
    """Norm-wise relative comparison: ``max|a - e| <= tol * max(max|e|, floor)``."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    assert a.shape == e.shape, (a.shape, e.shape)
    assert np.all(np.isfinite(a)), a
    scale = max(float(np.max(np.abs(e), initial=0.0)), floor, np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(a - e), initial=0.0)) / scale
    assert error <= tolerance(dtype, loose), f"relative error {error:.2e} > {tolerance(dtype, loose):.1e}\n{a}\n{e}"


def families() -> list[Any]:
    """The catalogue's families, each configuration once, in catalogue order."""
    return list(dict.fromkeys(entry.family for entry in expfam.catalogue()))


def first_examples() -> list[tuple[Any, dict[str, Any]]]:
    """One ``(family, example)`` per family class: its first configuration and first example point."""
    first: dict[type, tuple[Any, dict[str, Any]]] = {}
    for entry in expfam.catalogue():
        first.setdefault(type(entry.family), (entry.family, entry.examples[0]))
    return list(first.values())


#: The families that also run eagerly and under vmap (a scalar event, a vector, a matrix, labels):
#: every mode traces the same math, and each mode compiles it afresh (eagerly, primitive by primitive).
REPRESENTATIVES = ("Gamma", "Dirichlet", "Wishart", "Categorical")


def representative(family: Any) -> bool:
    """Whether ``family`` is one of the ``REPRESENTATIVES``, checked in every mode."""
    return type(family).__name__ in REPRESENTATIVES


#: The families whose checks ``pytest -m "not slow"`` keeps (a scalar family with special functions
#: and a label family, two of the representatives): every other family's tests are ``slow``.
QUICK = ("Gamma", "Categorical")


def quick(family: Any) -> bool:
    """Whether ``family`` is one of the ``QUICK`` families."""
    return type(family).__name__ in QUICK


def quick_marks(name: str) -> list[Any]:
    """Marks of a test parametrized by a family's class name: ``slow`` unless the family is ``QUICK``
    (conftest marks tests parametrized by a family object itself)."""
    return [] if name in QUICK else [pytest.mark.slow]


#: Every test draws from one compiled float64 sampler per family and parameter shape: the first n
#: of this many draws, made once per parameter value and seed and rounded to the dtype under test
#: (a sampler with a Gamma rejection loop compiles in ~2 s; drawing more and slicing costs
#: milliseconds, and the float32 tests read the same draws instead of compiling a second sampler).
DRAWS = 40_000


@functools.cache
def _sampler(family: Any) -> Any:
    return jax.jit(lambda key, eta: family.sample(key, eta, (DRAWS,)))


@functools.lru_cache(maxsize=256)
def _float64_draws(family: Any, eta: bytes, shape: tuple[int, ...], seed: int) -> np.ndarray:
    with jax.enable_x64(True):
        natural = jnp.asarray(np.frombuffer(eta, np.float64).reshape(shape))
        return np.asarray(_sampler(family)(jax.random.key(seed), natural))


def draws(family: Any, eta: Any, n: int, seed: int = 0) -> jax.Array:
    """``n <= DRAWS`` independent draws of ``q(. | eta)`` for one parameter vector ``eta``, in the
    active default float precision (integer labels stay integers)."""
    assert n <= DRAWS
    natural = np.asarray(eta, np.float64)
    x = _float64_draws(family, natural.tobytes(), natural.shape, seed)[:n]
    return jnp.asarray(x) if np.issubdtype(x.dtype, np.integer) else jnp.asarray(x, jnp.asarray(eta).dtype)


def log_prob_and_gradient(family: Any, eta: jax.Array, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``log q(x | eta)`` and the gradient of the summed nll in eta (for the checks to compile)."""
    return expfam.log_prob(family, eta, x), jax.grad(lambda e: jnp.sum(expfam.nll(family, e, x)))(eta)


@functools.partial(jax.jit, static_argnums=(0, 3))
def _nll_derivatives(family: Any, eta: jax.Array, x: jax.Array, hessian: bool) -> tuple[jax.Array, ...]:
    def loss(e: jax.Array) -> jax.Array:
        return jnp.sum(expfam.nll(family, e, x))

    return (*jax.value_and_grad(loss)(eta), *((jax.hessian(loss)(eta),) if hessian else ()))


def assert_finite_loss_and_derivatives(family: Any, eta: jax.Array, x: jax.Array, hessian: bool = False) -> None:
    """The summed nll of x at eta and its gradient (and Hessian) in eta are finite; compiled once
    per family, dtype and shape (the hypothesis tests run many examples through it)."""
    for value in _nll_derivatives(family, eta, x, hessian):
        assert np.all(np.isfinite(np.asarray(value))), (family, eta, x, value)
