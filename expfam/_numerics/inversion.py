"""Inverting monotone functions: the root of an increasing function, the first integer where a
monotone predicate holds. Both are jit- and vmap-safe loops that stop as soon as every row is done.

``solve_increasing``: a safeguarded Newton method. ``G`` is increasing on a bracket ``[lo, hi]``
with ``G(lo) <= 0 <= G(hi)`` (either may be infinite there). Every evaluation shrinks the bracket
to the side of the root; a Newton step that leaves the bracket or is not finite is replaced by
bisection, and so is one that does not at least halve the step before last (Numerical Recipes'
``rtsafe``), so the iteration converges whatever the start, and quadratically once near the root.
It stops when the step is below a few ulps of ``1 + |z|`` or after ``MAX_STEPS``.

``smallest_integer``: doubling from a start until the predicate holds, then bisection on the
integers in between, both phases in one loop.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array

MAX_STEPS = 100


def solve_increasing(
    value_and_slope: Callable[[Array], tuple[Array, Array]], lo: Array | float, hi: Array | float, z0: Array
) -> Array:
    """The root of an increasing ``G`` on ``[lo, hi]`` (finite bounds) from the start ``z0``.

    Args:
        value_and_slope: ``z -> (G(z), G'(z))``, elementwise over a batch.
        lo, hi: the bracket, ``G(lo) <= 0 <= G(hi)``, broadcastable to ``z0``.
        z0: the start (inside the bracket).
    """
    eps = jnp.finfo(z0.dtype).eps
    lo, hi = jnp.broadcast_to(lo, z0.shape).astype(z0.dtype), jnp.broadcast_to(hi, z0.shape).astype(z0.dtype)

    def cond(state: Any) -> Array:
        i, *_, done = state
        return (i < MAX_STEPS) & ~jnp.all(done)

    def body(state: Any) -> Any:
        i, z, lo, hi, previous, done = state
        g, slope = value_and_slope(z)
        lo = jnp.where(g <= 0, z, lo)
        hi = jnp.where(g >= 0, z, hi)
        newton = z - g / slope
        # Newton only inside the bracket and while it at least halves the step before last (so a
        # slow or misled Newton phase falls back on bisection, as in Numerical Recipes' rtsafe).
        use_newton = (newton > lo) & (newton < hi) & jnp.isfinite(newton) & (jnp.abs(newton - z) <= 0.5 * previous)
        new = jnp.where(use_newton, newton, lo + 0.5 * (hi - lo))
        step = jnp.abs(new - z)
        tolerance = 4 * eps * (1.0 + jnp.abs(z))
        converged = (g == 0) | (step <= tolerance) | (hi - lo <= tolerance)
        keep = done | converged
        return i + 1, jnp.where(done, z, new), lo, hi, jnp.where(done, previous, step), keep

    state = (jnp.asarray(0), z0, lo, hi, hi - lo, jnp.zeros(z0.shape, bool))
    return jax.lax.while_loop(cond, body, state)[1]


def smallest_integer(holds: Callable[[Array], Array], lower: Array | float, start: Array) -> Array:
    """The smallest integer ``k >= lower`` with ``holds(k)``, for a predicate that is false below some
    integer and true from it on (and true at some finite k). ``start``: a guess (rounded up to an
    integer at or above ``lower``) from which the bracket grows by doubling.

    One loop (so that ``holds`` is traced once): a row tests its upper end and doubles its distance
    from ``lower`` until the predicate holds there, then bisects the integers of its bracket
    ``(below, above]``; it is done when they are adjacent.
    """
    lower = jnp.broadcast_to(lower, start.shape).astype(start.dtype)
    below = lower - 1.0  # holds(below) is false
    above = jnp.maximum(jnp.ceil(start), lower)

    def cond(state: Any) -> Array:
        i, below, above, growing = state
        return (i < 2 * MAX_STEPS) & jnp.any(growing | (above - below > 1.0))

    def body(state: Any) -> Any:
        i, below, above, growing = state
        gap = above - below > 1.0
        middle = jnp.clip(jnp.floor(below + 0.5 * (above - below)), below + 1.0, above)
        k = jnp.where(growing | ~gap, above, middle)
        ok = holds(k)
        grown = growing & ~ok
        new_below = jnp.where(grown, above, jnp.where(~growing & gap & ~ok, middle, below))
        new_above = jnp.where(grown, above + (above - lower) + 1.0, jnp.where(~growing & gap & ok, middle, above))
        return i + 1, new_below, new_above, grown

    state = (jnp.asarray(0), below, above, jnp.ones(start.shape, bool))
    return jax.lax.while_loop(cond, body, state)[2]
