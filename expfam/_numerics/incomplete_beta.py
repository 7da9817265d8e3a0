"""The regularized incomplete beta function ``I_x(a, b)``, accurate for large parameters in float32.

One continued fraction per element, for every ``a + b``. With ``p, q`` the parameters of the side
it is taken on (``(a, b)`` at ``y = x`` for ``x < (a + 1) / (a + b + 2)``, where it converges fast,
else ``(b, a)`` at ``y = 1 - x`` and ``I = 1 - I_(1 - x)(b, a)``; the swap is made with ``where``
before the fraction), ``I_y(p, q) = prefactor * fraction / p``:

* the prefactor ``y^p (1 - y)^q / B(p, q)`` is taken as
  ``exp(-p E(y / m) - q E((1 - y) / (1 - m))) sqrt(p q / (2 pi (p + q))) e^(delta(p + q) - delta(p) - delta(q))``
  with ``m = p / (p + q)``, ``1 - m = q / (p + q)``, ``E(z) = z - 1 - log z`` (from the gap
  ``y - m = (y q - p (1 - y)) / (p + q)``, formed from both y and 1 - y) and ``delta`` the Stirling
  remainder. It is the plain ``p log y + q log(1 - y) - lbeta(p, q)`` rearranged (the terms
  ``(p + q) log(p + q)`` of lbeta cancel analytically against ``p log m + q log(1 - m)``, and the
  linear terms of the two ``E`` add to ``(p + q)(y + (1 - y)) - p - q = 0``), so it holds for
  every total and has only terms of the result's size: no cancellation at large ``p + q``
  (where JAX's ``betainc`` loses float32 accuracy);
* the fraction is the classical one (modified Lentz, until its factors are 1 to the dtype's
  epsilon, ``O(sqrt(p + q))`` steps), its first denominator ``1 - (p + q) y / (p + 1)`` formed
  from the smaller of y and 1 - y.

``regularized_beta(a, b, x, one_minus_x)`` takes both x and ``1 - x`` (each accurate, e.g. from a
logit), so that neither is formed by subtraction; ``regularized_incomplete_beta(a, b, x)`` is it
with ``1 - x`` rounded once. Derivative: in x, the density ``x^(a-1) (1-x)^(b-1) / B(a, b)`` (from
the same prefactor); in a and b none (as JAX's ``betainc``): asking for one raises.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp

from expfam._numerics import special
from expfam._numerics.continued_fraction import continued_fraction

Array = jax.Array

MAX_TERMS = 100_000


def _log_prefactor(p: Array, q: Array, y: Array, one_minus_y: Array) -> Array:
    """``log(y^p (1 - y)^q / B(p, q))`` without cancellation (see the module docstring)."""
    total = p + q
    m, one_minus_m = p / total, q / total  # 1 - m without a subtraction
    gap = (y * q - p * one_minus_y) / total  # y - m, without rounding m first
    # One call on the three arguments stacked: one copy of its program (an lgamma inside), not three.
    delta_total, delta_p, delta_q = special.stirling_remainder(jnp.stack([total, p, q]))
    remainders = delta_total - delta_p - delta_q
    excess = p * special.log_ratio_excess(y / m, gap / m) + q * special.log_ratio_excess(
        one_minus_y / one_minus_m, -gap / one_minus_m
    )
    return -excess + 0.5 * jnp.log(p * q / (2.0 * math.pi * total)) + remainders


def _continued_fraction(p: Array, q: Array, y: Array, first: Array) -> Array:
    """The continued fraction with ``I_y(p, q) = prefactor * fraction / p`` (for y below the mean side);
    ``first = 1 - (p + q) y / (p + 1)``, its first denominator, passed in without cancellation.
    Each step applies the even and the odd coefficient of step ``m`` (all partial denominators 1)."""

    def terms(m: Array) -> tuple[tuple[Array, float], ...]:
        m2 = 2.0 * m
        even = m * (q - m) * y / ((p - 1.0 + m2) * (p + m2))
        odd = -(p + m) * (p + q + m) * y / ((p + m2) * (p + 1.0 + m2))
        return (even, 1.0), (odd, 1.0)

    return continued_fraction(terms, first, jnp.ones_like(y), MAX_TERMS)


def _evaluate(a: Array, b: Array, x: Array, one_minus_x: Array) -> tuple[Array, Array, Array]:
    """``(I_x(a, b), log(x^a (1 - x)^b / B(a, b)), direct)`` for ``0 < x < 1``: one fraction, on the
    side where it converges fast (``direct``: x's side, else 1 - x's)."""
    direct = x < (a + 1.0) / (a + b + 2.0)
    p, q = jnp.where(direct, a, b), jnp.where(direct, b, a)
    y, one_minus_y = jnp.where(direct, x, one_minus_x), jnp.where(direct, one_minus_x, x)
    log_prefactor = _log_prefactor(p, q, y, one_minus_y)
    total = p + q
    # (p + 1) (1 - (p + q) y / (p + 1)) = p + 1 - (p + q) y = 1 - q + (p + q)(1 - y).
    first = jnp.where(y <= one_minus_y, p + 1.0 - total * y, 1.0 - q + total * one_minus_y) / (p + 1.0)
    tail = jnp.exp(log_prefactor) * _continued_fraction(p, q, y, first) / p
    return jnp.where(direct, tail, 1.0 - tail), log_prefactor, direct


def _prepare(a: Array, b: Array, x: Array, one_minus_x: Array) -> tuple[Array, ...]:
    """Broadcast arrays, the mask ``0 < x < 1`` and x, 1 - x replaced by 1/2 outside it."""
    a, b, x, one_minus_x = jnp.broadcast_arrays(a, b, x, one_minus_x)
    inside = (x > 0) & (one_minus_x > 0)
    return a, b, x, one_minus_x, inside, jnp.where(inside, x, 0.5), jnp.where(inside, one_minus_x, 0.5)


def _outside(x: Array, one_minus_x: Array) -> Array:
    """0 where ``x <= 0``, 1 where ``1 - x <= 0``, NaN where either is NaN."""
    return jnp.where(x <= 0, 0.0, jnp.where(one_minus_x <= 0, 1.0, jnp.nan))


@jax.custom_jvp
def regularized_beta(a: Array, b: Array, x: Array, one_minus_x: Array) -> Array:
    """``I_x(a, b)`` for ``a, b > 0``, given both ``x`` and ``1 - x`` accurately (from a logit, say).

    The side ``x >= (a + 1) / (a + b + 2)`` is taken as ``1 - I_(1 - x)(b, a)`` with the given
    ``1 - x``, so that no subtraction rounds it. 0 where ``x <= 0``, 1 where ``1 - x <= 0``
    (broadcast). Derivative: the density times the tangent of x on the direct side, of ``-(1 - x)``
    on the other (the two agree when the tangents do).
    """
    a, b, x, one_minus_x, inside, x_safe, one_minus_safe = _prepare(a, b, x, one_minus_x)
    value, _, _ = _evaluate(a, b, x_safe, one_minus_safe)
    return jnp.where(inside, value, _outside(x, one_minus_x))


def _regularized_beta_jvp(primals: tuple[Array, ...], tangents: tuple[Any, ...]) -> tuple[Array, Array]:
    zero = jax.custom_derivatives.SymbolicZero
    a_dot, b_dot, x_dot, one_minus_x_dot = tangents
    if not (isinstance(a_dot, zero) and isinstance(b_dot, zero)):
        raise NotImplementedError("the derivative of the incomplete beta function in its parameters is not provided")
    a, b, x, one_minus_x, inside, x_safe, one_minus_safe = _prepare(*primals)
    value, log_prefactor, direct = _evaluate(a, b, x_safe, one_minus_safe)
    value = jnp.where(inside, value, _outside(x, one_minus_x))
    density = jnp.where(inside, jnp.exp(log_prefactor) / (x_safe * one_minus_safe), 0.0)
    x_dot = jnp.zeros_like(x) if isinstance(x_dot, zero) else jnp.broadcast_to(x_dot, x.shape)
    one_minus_x_dot = (
        jnp.zeros_like(x) if isinstance(one_minus_x_dot, zero) else jnp.broadcast_to(one_minus_x_dot, x.shape)
    )
    return value, density * jnp.where(direct, x_dot, -one_minus_x_dot)


regularized_beta.defjvp(_regularized_beta_jvp, symbolic_zeros=True)


def regularized_incomplete_beta(a: Array, b: Array, x: Array) -> Array:
    """``I_x(a, b)`` for ``a, b > 0`` (0 for ``x <= 0``, 1 for ``x >= 1``; broadcast):
    ``regularized_beta`` with ``1 - x`` rounded once (exact for ``x >= 1/2``)."""
    clipped = jnp.clip(x, 0.0, 1.0)
    return regularized_beta(a, b, clipped, 1.0 - clipped)
