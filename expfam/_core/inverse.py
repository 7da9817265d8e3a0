"""Jit-safe inverse of the expectation map, chi -> eta, with an implicit derivative.

Families without a closed-form inverse implement ``solve_natural(chi)``: a fixed, small
number of well-initialised Newton steps written with ``lax.fori_loop`` (no Python loop on
traced values). This module differentiates the result implicitly: since
``chi = g'(eta)``, ``d eta = g''(eta)^{-1} d chi``, the inverse Fisher times the tangent.
The iterations are never unrolled by autodiff.
"""

from __future__ import annotations

import functools
from typing import Protocol

import jax
import jax.numpy as jnp

Array = jax.Array


class Invertible(Protocol):
    """What the inverse map needs of a family: its Newton solver and its Fisher information."""

    def solve_natural(self, chi: Array) -> Array: ...

    def fisher(self, eta: Array) -> Array: ...


@functools.partial(jax.jit, static_argnums=0)
def invert_expectation(family: Invertible, chi: Array) -> Array:
    """eta with ``family.expectation(eta) == chi``, from ``family.solve_natural``.

    Compiled once per family, shape and dtype, so that eager calls do not trace the solver's
    loop afresh each time.
    """
    return _invert(family, chi)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _invert(family: Invertible, chi: Array) -> Array:
    return family.solve_natural(chi)


@_invert.defjvp
def _invert_expectation_jvp(family: Invertible, primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (chi,), (chi_dot,) = primals, tangents
    eta = _invert(family, chi)
    eta_dot = jnp.linalg.solve(family.fisher(eta), chi_dot[..., None])[..., 0]
    return eta, eta_dot
