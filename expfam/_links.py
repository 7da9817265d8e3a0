"""Maps from unconstrained network outputs to valid parameters.

Every map is smooth and strictly monotone, with no dead zone (no ReLU, no clipping of the
input). Where a positive output could underflow to zero in floating point (softplus of a
very negative input), the smallest positive normal number of the dtype is added; this is
the only change made to any value, and it keeps the output strictly inside the domain.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

Array = jax.Array


def positive(raw: Array) -> Array:
    """``softplus(raw) + tiny``: R -> (0, inf), about ``raw`` for large raw, ``exp(raw)`` for small."""
    return jax.nn.softplus(raw) + jnp.finfo(raw.dtype).tiny


def negative(raw: Array) -> Array:
    """``-positive(raw)``: R -> (-inf, 0)."""
    return -positive(raw)
