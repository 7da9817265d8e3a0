"""Modified Lentz evaluation of a continued fraction, shared by the incomplete gamma and beta functions.

A fraction ``h = d_0 * prod_j (c_j d_j)`` is advanced term by term with
``d_j = 1 / (b_j + a_j d_(j-1))`` and ``c_j = b_j + a_j / c_(j-1)`` (each guarded away from zero by
``tiny = finfo.tiny / finfo.eps``), until a step's last factor ``c_j d_j`` is 1 to the dtype's
epsilon for every element (or ``max_terms`` steps). Converged elements keep their value while the
others go on, so the loop is a ``while_loop`` over the whole batch.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array

Terms = Callable[[Array], Sequence[tuple[Array, Array | float]]]


def guard_tiny(v: Array) -> Array:
    """``v``, with magnitudes below ``finfo.tiny / finfo.eps`` replaced by that number (Lentz's guard)."""
    info = jnp.finfo(v.dtype)
    tiny = info.tiny / info.eps
    return jnp.where(jnp.abs(v) < tiny, tiny, v)


def lentz_step(a_j: Array | float, b_j: Array | float, c: Array, d: Array) -> tuple[Array, Array, Array]:
    """One modified-Lentz step: ``d_j = 1 / (b_j + a_j d)``, ``c_j = b_j + a_j / c`` (guarded), and the
    factor ``c_j d_j`` the fraction is multiplied by. Returns ``(c_j, d_j, c_j d_j)``."""
    d = 1.0 / guard_tiny(b_j + a_j * d)
    c = guard_tiny(b_j + a_j / c)
    return c, d, c * d


def continued_fraction(terms: Terms, first: Array, c: Array, max_terms: int) -> Array:
    """Modified Lentz: the fraction started from ``d_0 = 1 / first`` and ``c_0 = c``.

    Args:
        terms: ``terms(i)`` for the step counter ``i = 1, 2, ...`` gives the ``(a_j, b_j)`` pairs that
            step applies in order (one pair, or several when the coefficients repeat with a period);
            convergence is judged on the last pair's factor.
        first: the first denominator ``b_0``; the fraction starts at ``h = d_0 = 1 / b_0``.
        c: the starting ``c_0`` (broadcast to ``first``'s shape).
        max_terms: the most steps taken.

    Returns:
        ``h``, with ``first``'s shape and dtype.
    """
    eps = jnp.finfo(first.dtype).eps

    def cond(state: Any) -> Array:
        i, *_, done = state
        return (i < max_terms) & ~jnp.all(done)

    def body(state: Any) -> Any:
        i, c, d, h, done = state
        new_h = h
        for a_j, b_j in terms(i):
            c, d, delta = lentz_step(a_j, b_j, c, d)
            new_h = new_h * delta
        h = jnp.where(done, h, new_h)
        return i + 1.0, c, d, h, done | (jnp.abs(delta - 1.0) <= eps)

    d = 1.0 / guard_tiny(first)
    state = (
        jnp.asarray(1.0, first.dtype),
        jnp.broadcast_to(c, first.shape).astype(first.dtype),
        d,
        d,
        jnp.zeros(first.shape, bool),
    )
    return jax.lax.while_loop(cond, body, state)[3]
