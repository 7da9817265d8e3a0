"""The floating dtype a computation runs in."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp


def as_float(x: Any) -> jax.Array:
    """Convert to a floating array: half precision and integers are promoted.

    bf16 and f16 are computed in float32; integers and Python numbers take JAX's default
    float (float32, or float64 under ``jax_enable_x64``). Complex input is an error.
    """
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.complexfloating):
        raise TypeError(f"expected real numbers, got an array of dtype {x.dtype}")
    if x.dtype in (jnp.bfloat16, jnp.float16):
        return x.astype(jnp.float32)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return x.astype(jnp.result_type(float))
    return x
