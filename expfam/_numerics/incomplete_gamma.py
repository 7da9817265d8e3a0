"""Regularized incomplete gamma functions ``P(a, x)`` and ``Q(a, x) = 1 - P(a, x)``, accurate for
large shapes in float32.

``jax.scipy.special.gammainc`` forms the prefactor ``x^a e^-x / Gamma(a)`` as
``exp(a log x - x - lgamma(a))``, whose terms of size ``a log a`` cancel: in float32 its relative
error is ~4e-5 at ``a = 100``, 5e-4 at 1e3, 3e-3 at 1e4 and O(1) at 1e5. Here, from
``a = LARGE_SHAPE`` on, the prefactor is ``exp(-a E(x / a)) sqrt(a / (2 pi)) e^(-delta(a))`` with
``E(z) = z - 1 - log z`` (``special.log_ratio_excess``) and ``delta`` the Stirling remainder, which
keeps only terms of the result's size; then the power series of P for ``x < a + 1`` and the
continued fraction of Q (modified Lentz) beyond, each run until its terms are below the dtype's
epsilon (``O(sqrt(a))`` steps), and the other function by subtraction from 1 (both are at least
~0.4 there, so nothing is lost). Below ``LARGE_SHAPE`` JAX's functions are accurate (5e-7 at
a = 10) and are used as they are. Derivatives: ``dP/dx`` is the density
``x^(a-1) e^-x / Gamma(a)``, ``dP/da`` JAX's ``igamma_grad_a``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammainc, gammaincc

from expfam._numerics import special
from expfam._numerics.continued_fraction import continued_fraction

Array = jax.Array

LARGE_SHAPE = 10.0
MAX_TERMS = 100_000


def _log_prefactor(a: Array, x: Array) -> Array:
    """``log(x^a e^-x / Gamma(a)) = -a E(x / a) + 1/2 log(a / (2 pi)) - delta(a)``."""
    return (
        -a * special.log_ratio_excess(x / a, (x - a) / a)
        + 0.5 * jnp.log(a / (2.0 * math.pi))
        - (special.stirling_remainder(a))
    )


def _series(a: Array, x: Array) -> Array:
    """``sum_{n >= 0} x^n / ((a + 1) ... (a + n)) / a``, so that ``P = prefactor * sum``."""
    eps = jnp.finfo(x.dtype).eps

    def cond(state: Any) -> Array:
        n, _, _, done = state
        return (n < MAX_TERMS) & ~jnp.all(done)

    def body(state: Any) -> Any:
        n, term, total, done = state
        term = jnp.where(done, term, term * x / (a + n))
        total = jnp.where(done, total, total + term)
        return n + 1.0, term, total, done | (term <= eps * total)

    start = 1.0 / a
    return jax.lax.while_loop(cond, body, (jnp.asarray(1.0, x.dtype), start, start, jnp.zeros(x.shape, bool)))[2]


def _continued_fraction(a: Array, x: Array) -> Array:
    """``1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / (x + 5 - a - ...)))``, so that
    ``Q = prefactor * fraction`` (modified Lentz, started from ``c_0 = 1 / tiny``)."""
    info = jnp.finfo(x.dtype)
    start = x + 1.0 - a

    def terms(i: Array) -> tuple[tuple[Array, Array]]:
        return ((-i * (i - a), start + 2.0 * i),)

    return continued_fraction(terms, start, jnp.full_like(x, info.eps / info.tiny), MAX_TERMS)


def _large_shape(a: Array, x: Array) -> tuple[Array, Array]:
    """``(P, Q)`` for ``a >= LARGE_SHAPE`` and ``x > 0``."""
    series_side = x < a + 1.0
    prefactor = jnp.exp(_log_prefactor(a, x))
    lower = prefactor * _series(a, jnp.where(series_side, x, 0.5 * a))
    upper = prefactor * _continued_fraction(a, jnp.where(series_side, 2.0 * a + 2.0, x))
    return jnp.where(series_side, lower, 1.0 - upper), jnp.where(series_side, 1.0 - lower, upper)


@jax.custom_jvp
def regularized_gamma(a: Array, x: Array) -> tuple[Array, Array]:
    """``(P(a, x), Q(a, x))`` for ``a > 0`` (P = 0, Q = 1 for ``x <= 0``; broadcast)."""
    a, x = jnp.broadcast_arrays(a, x)
    large = a >= LARGE_SHAPE
    positive = x > 0
    a_large = jnp.where(large, a, LARGE_SHAPE)
    x_large = jnp.where(large & positive, x, a_large)
    p_large, q_large = _large_shape(a_large, x_large)
    x_small = jnp.maximum(x, 0.0)
    p = jnp.where(large, jnp.where(positive, p_large, 0.0), gammainc(a, x_small))
    q = jnp.where(large, jnp.where(positive, q_large, 1.0), gammaincc(a, x_small))
    return p, q


@regularized_gamma.defjvp
def _regularized_gamma_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple[Any, Any]:
    a, x = primals
    a_dot, x_dot = tangents
    p, q = regularized_gamma(a, x)
    a, x = jnp.broadcast_arrays(a, x)
    a_dot, x_dot = jnp.broadcast_to(a_dot, a.shape), jnp.broadcast_to(x_dot, x.shape)
    positive = x > 0
    x_safe = jnp.where(positive, x, 1.0)
    density = jnp.where(positive, jnp.exp(_log_prefactor(a, x_safe)) / x_safe, 0.0)
    grad_a = jnp.where(positive, jax.lax.igamma_grad_a(a, x_safe), 0.0)
    dp = grad_a * a_dot + density * x_dot
    return (p, q), (dp, -dp)
