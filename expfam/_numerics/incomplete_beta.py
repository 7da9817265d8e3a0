"""The regularized incomplete beta function ``I_x(a, b)``, accurate for large parameters in float32.

``jax.scipy.special.betainc`` forms the prefactor ``x^a (1 - x)^b / B(a, b)`` from logarithms whose
terms of size ``(a + b) log(a + b)`` cancel, so its float32 error grows with the parameters. From
``a + b = LARGE_TOTAL`` on, the prefactor is taken as
``exp(-a E(x / m) - b E((1 - x) / (1 - m))) sqrt(a b / (2 pi (a + b))) e^(delta(a + b) - delta(a) - delta(b))``
with ``m = a / (a + b)``, ``1 - m = b / (a + b)``, ``E(z) = z - 1 - log z`` (evaluated from the gap
``x - m``) and ``delta`` the Stirling remainder: only terms of the result's size. It multiplies the
continued fraction of ``I_x`` (modified Lentz, until its factors are 1 to the dtype's epsilon,
``O(sqrt(a + b))`` steps) for ``x < (a + 1) / (a + b + 2)``, and ``1 - I_(1 - x)(b, a)`` beyond, with
``1 - x`` and the first denominator formed from x. Below ``LARGE_TOTAL`` JAX's function is used as
it is. Derivative: in x, the density ``x^(a-1) (1-x)^(b-1) / B(a, b)``; in a and b none (as JAX's):
asking for one raises.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import betainc

from expfam._numerics import special
from expfam._numerics.continued_fraction import continued_fraction

Array = jax.Array

LARGE_TOTAL = 20.0
MAX_TERMS = 100_000


def _log_prefactor(a: Array, b: Array, x: Array, one_minus_x: Array, gap: Array) -> Array:
    """``log(x^a (1 - x)^b / B(a, b))`` without cancellation, given ``gap = x - a / (a + b)``."""
    total = a + b
    m, one_minus_m = a / total, b / total  # 1 - m without a subtraction
    remainders = special.stirling_remainder(total) - special.stirling_remainder(a) - special.stirling_remainder(b)
    excess = a * special.log_ratio_excess(x / m, gap / m) + b * special.log_ratio_excess(
        one_minus_x / one_minus_m, -gap / one_minus_m
    )
    return -excess + 0.5 * jnp.log(a * b / (2.0 * math.pi * total)) + remainders


def _continued_fraction(a: Array, b: Array, x: Array, first: Array) -> Array:
    """The continued fraction with ``I_x(a, b) = prefactor * fraction / a`` (for x below the mean side);
    ``first = 1 - (a + b) x / (a + 1)``, its first denominator, passed in without cancellation.
    Each step applies the even and the odd coefficient of step ``m`` (all partial denominators 1)."""

    def terms(m: Array) -> tuple[tuple[Array, float], ...]:
        m2 = 2.0 * m
        even = m * (b - m) * x / ((a - 1.0 + m2) * (a + m2))
        odd = -(a + m) * (a + b + m) * x / ((a + m2) * (a + 1.0 + m2))
        return (even, 1.0), (odd, 1.0)

    return continued_fraction(terms, first, jnp.ones_like(x), MAX_TERMS)


def _large(a: Array, b: Array, x: Array) -> Array:
    """``I_x(a, b)`` for ``a + b >= LARGE_TOTAL`` and ``0 < x < 1``."""
    direct = x < (a + 1.0) / (a + b + 2.0)
    # The other side is I_(1 - x)(b, a), with x itself as its "1 - y" and the gap's sign flipped.
    y, one_minus_y = jnp.where(direct, x, 1.0 - x), jnp.where(direct, 1.0 - x, x)
    gap = (x * b - a * (1.0 - x)) / (a + b)  # x - a / (a + b) without rounding a / (a + b) first
    first, second = jnp.where(direct, a, b), jnp.where(direct, b, a)
    log_prefactor = _log_prefactor(first, second, y, one_minus_y, jnp.where(direct, gap, -gap))
    # 1 - (first + second) y / (first + 1), from x rather than from the rounded 1 - x.
    start = jnp.where(direct, a + 1.0 - (a + b) * x, 1.0 - a + (a + b) * x) / (first + 1.0)
    value = jnp.exp(log_prefactor) * _continued_fraction(first, second, y, start) / first
    return jnp.where(direct, value, 1.0 - value)


@jax.custom_jvp
def regularized_incomplete_beta(a: Array, b: Array, x: Array) -> Array:
    """``I_x(a, b)`` for ``a, b > 0`` (0 for ``x <= 0``, 1 for ``x >= 1``; broadcast)."""
    a, b, x = jnp.broadcast_arrays(a, b, x)
    large = a + b >= LARGE_TOTAL
    inside = (x > 0) & (x < 1)
    a_large, b_large = jnp.where(large, a, LARGE_TOTAL / 2), jnp.where(large, b, LARGE_TOTAL / 2)
    value = _large(a_large, b_large, jnp.where(large & inside, x, 0.5))
    clipped = jnp.clip(x, 0.0, 1.0)
    return jnp.where(large, jnp.where(inside, value, clipped), betainc(a, b, clipped))


def _regularized_incomplete_beta_jvp(primals: tuple[Array, ...], tangents: tuple[Any, ...]) -> tuple[Array, Array]:
    a, b, x = primals
    a_dot, b_dot, x_dot = tangents
    zero = jax.custom_derivatives.SymbolicZero
    if not (isinstance(a_dot, zero) and isinstance(b_dot, zero)):
        raise NotImplementedError("the derivative of the incomplete beta function in its parameters is not provided")
    value = regularized_incomplete_beta(a, b, x)
    a, b, x = jnp.broadcast_arrays(a, b, x)
    inside = (x > 0) & (x < 1)
    safe = jnp.where(inside, x, 0.5)
    log_prefactor = _log_prefactor(a, b, safe, 1.0 - safe, safe - a / (a + b))
    density = jnp.where(inside, jnp.exp(log_prefactor) / (safe * (1.0 - safe)), 0.0)
    if isinstance(x_dot, zero):
        return value, jnp.zeros_like(value)
    return value, density * jnp.broadcast_to(x_dot, x.shape)


regularized_incomplete_beta.defjvp(_regularized_incomplete_beta_jvp, symbolic_zeros=True)
