"""Fixed-step iterations: jit-safe loops with no Python control flow on traced values."""

from __future__ import annotations

from collections.abc import Callable

import jax

Array = jax.Array


def newton(step: Callable[[Array], Array], x0: Array, num_steps: int) -> Array:
    """Run ``x <- step(x)`` a fixed number of times inside a ``fori_loop``."""
    return jax.lax.fori_loop(0, num_steps, lambda _, x: step(x), x0)
