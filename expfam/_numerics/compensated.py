"""Compensated arithmetic: ``a b + c`` with the rounding error of the product recovered.

Where ``a b`` nearly cancels against ``c`` (a normal's ``eta_1 + 2 eta_2 x``, i.e. ``(x - loc) / v``
with ``|loc| >> scale``), the rounded product carries an error of ``eps |c|``, which the difference
magnifies by ``|c| / |a b + c|``. Dekker's two-product recovers that error exactly without a fused
multiply-add (which JAX does not expose): Veltkamp's split writes each factor as ``hi + lo`` with
half the mantissa in each, so the partial products are exact; then ``(p + c) + e`` (``p = fl(a b)``,
``e = a b - p`` exactly) has a relative error of a few eps (``p + c`` is exact by Sterbenz's lemma
where the cancellation is severe).

The split multiplies by ``2^s + 1`` (s = 27 in float64, 12 in float32), so it overflows for factors
above ``max / 2^s``; there the correction is dropped (plain ``a b + c``).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def _split(a: Array) -> tuple[Array, Array]:
    """Veltkamp: ``a = hi + lo`` exactly, each with at most half of the mantissa's bits."""
    factor = float(2 ** ((np.finfo(a.dtype).nmant + 2) // 2) + 1)
    c = factor * a
    hi = c - (c - a)
    return hi, a - hi


def two_product(a: Array, b: Array) -> tuple[Array, Array]:
    """``(p, e)`` with ``p = fl(a b)`` and ``p + e = a b`` exactly (Dekker); ``e = 0`` where the split
    overflows."""
    dtype = jnp.result_type(a, b)
    a, b = (jnp.asarray(t, dtype) for t in jnp.broadcast_arrays(a, b))
    p = a * b
    a_hi, a_lo = _split(a)
    b_hi, b_lo = _split(b)
    e = ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo
    return p, jnp.where(jnp.isfinite(e), e, 0.0)


def multiply_add(a: Array, b: Array, c: Array) -> Array:
    """``a b + c`` with the product's rounding error compensated (accurate where the sum cancels)."""
    p, e = two_product(a, b)
    return (p + c) + e
