"""Regularized incomplete gamma functions ``P(a, x)`` and ``Q(a, x) = 1 - P(a, x)``, accurate for
large shapes in float32.

Both are ``prefactor * sum`` with the prefactor ``x^a e^-x / Gamma(a)``:

* the sum is the power series of P for ``x < a + 1`` and the continued fraction of Q (modified
  Lentz) beyond, run in ONE while loop in which each element advances its own expansion until its
  terms are below the dtype's epsilon (``O(sqrt(a))`` steps for large a); the other function
  follows by subtraction from 1, except Q for small shapes below the bulk (``a < SMALL_SHAPE``,
  ``x < a + 1``: Q ~ a E1(x) is small there), which has its own cancellation-free series
  (``_q_small_shape``);
* the prefactor is ``exp(a log x - x - lgamma(a))`` below ``a = LARGE_SHAPE``, where its terms are
  small. From ``LARGE_SHAPE`` on those terms, of size ``a log a``, would cancel (the relative error
  of that form in float32 is ~4e-5 at ``a = 100``, 3e-3 at 1e4 and O(1) at 1e5), so it is
  ``exp(-a E(x / a)) sqrt(a / (2 pi)) e^(-delta(a))`` with ``E(z) = z - 1 - log z``
  (``special.log_ratio_excess``) and ``delta`` the Stirling series (``LARGE_SHAPE`` is at least
  the argument from which the series holds), which keeps only terms of the result's size.

Derivatives (custom JVP): ``dP/dx`` is the density ``x^(a-1) e^-x / Gamma(a)``, ``dP/da`` JAX's
``igamma_grad_a`` (evaluated only when a carries a tangent).
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.custom_derivatives import SymbolicZero

from expfam._numerics import special
from expfam._numerics.continued_fraction import guard_tiny, lentz_step

Array = jax.Array

LARGE_SHAPE = 10.0
MAX_TERMS = 100_000
#: Below this shape (and for ``x < a + 1``) Q takes ``_q_small_shape`` instead of ``1 - P``.
SMALL_SHAPE = 0.2
#: Terms of ``_q_small_shape``'s series: ``x^n / (n! n)`` is below 1e-19 from here on for ``x < 1.2``.
SMALL_SHAPE_TERMS = 24


def _log_prefactor(a: Array, x: Array) -> Array:
    """``log(x^a e^-x / Gamma(a))`` for ``a, x > 0``: plain below ``LARGE_SHAPE``, else
    ``-a E(x / a) + 1/2 log(a / (2 pi)) - delta(a)`` (see the module docstring)."""
    large = a >= LARGE_SHAPE
    a_small = jnp.where(large, 1.0, a)
    plain = a_small * jnp.log(x) - x - special.lgamma(a_small)
    a_large = jnp.where(large, a, LARGE_SHAPE)
    stable = (
        -a_large * special.log_ratio_excess(x / a_large, (x - a_large) / a_large)
        + 0.5 * jnp.log(a_large / (2.0 * math.pi))
        - special.stirling_correction(1.0 / a_large)
    )
    return jnp.where(large, stable, plain)


def _sum(a: Array, x: Array, series: Array) -> Array:
    """Where ``series``: ``sum_{n >= 0} x^n / ((a + 1) ... (a + n)) / a`` (so that P = prefactor * sum);
    elsewhere the continued fraction ``1 / (x + 1 - a - 1 (1 - a) / (x + 3 - a - 2 (2 - a) / ...))``
    (so that Q = prefactor * fraction; modified Lentz from ``c_0 = 1 / tiny``). One loop: both
    recurrences are advanced elementwise and each element keeps its own (``a, x > 0`` finite)."""
    info = jnp.finfo(x.dtype)
    first = x + 1.0 - a  # the fraction's b_0; its b_n = first + 2 n, a_n = -n (n - a)

    def cond(state: Any) -> Array:
        n, *_, done = state
        return (n < MAX_TERMS) & ~jnp.all(done)

    def body(state: Any) -> Any:
        # c: the series' last term, or Lentz's c; h: the series' total, or the fraction so far.
        n, c, d, h, done = state
        term = c * x / (a + n)
        lentz_c, lentz_d, delta = lentz_step(-n * (n - a), first + 2.0 * n, c, d)
        new_c = jnp.where(series, term, lentz_c)
        new_h = jnp.where(series, h + term, h * delta)
        converged = jnp.where(series, term <= info.eps * new_h, jnp.abs(delta - 1.0) <= info.eps)
        return (
            n + 1.0,
            jnp.where(done, c, new_c),
            jnp.where(done | series, d, lentz_d),
            jnp.where(done, h, new_h),
            done | converged,
        )

    d = 1.0 / guard_tiny(first)
    c = jnp.where(series, 1.0 / a, info.eps / info.tiny)
    h = jnp.where(series, 1.0 / a, d)
    state = (jnp.asarray(1.0, x.dtype), c, d, h, jnp.zeros(x.shape, bool))
    return jax.lax.while_loop(cond, body, state)[3]


def _q_small_shape(a: Array, x: Array) -> Array:
    """``Q(a, x)`` for ``a < SMALL_SHAPE`` and ``0 < x < a + 1``, where ``1 - P`` loses ``eps / Q``
    relative (Q is of order ``a E1(x)``, P of order 1): from ``P = x^a / Gamma(1 + a) (1 + a S)``,
    ``S = sum_{n >= 1} (-x)^n / (n! (a + n))``,
    ``Q = -expm1(w) - e^w a S`` with ``w = a log x - lgamma(1 + a)`` (``lgamma1p``: no ``1 + a``
    rounded). The terms are ``~ -a (log x + gamma)`` and ``~ a (E1(x) + log x + gamma)``: of
    opposite signs only for ``x > e^-gamma = 0.56``, where they cancel by at most
    ``(E1 + log x + gamma) / E1 = 5.8`` (at x = 1.2)."""
    w = a * jnp.log(x) - special.lgamma1p(a)

    def add_term(n: Any, carry: tuple[Array, Array]) -> tuple[Array, Array]:
        power, total = carry  # power = (-x)^n / n!
        n = jnp.asarray(n, x.dtype)
        power = -power * x / n
        return power, total + power / (a + n)

    _, series = jax.lax.fori_loop(1, SMALL_SHAPE_TERMS + 1, add_term, (jnp.ones_like(x), jnp.zeros_like(x)))
    return -jnp.expm1(w) - jnp.exp(w) * a * series


def _evaluate(a: Array, x: Array) -> tuple[Array, Array]:
    """``(P, Q)``, broadcast."""
    a, x = jnp.broadcast_arrays(a, x)
    inside = (a > 0) & (x > 0) & (x < jnp.inf)
    a_in, x_in = jnp.where(inside, a, 1.0), jnp.where(inside, x, 1.0)
    series = x_in < a_in + 1.0
    log_prefactor = _log_prefactor(a_in, x_in)
    total = jnp.exp(log_prefactor) * _sum(a_in, x_in, series)
    small = series & (a_in < SMALL_SHAPE)
    p_in = jnp.where(series, total, 1.0 - total)
    q_small = _q_small_shape(jnp.where(small, a_in, 0.1), jnp.where(small, x_in, 1.0))
    q_in = jnp.where(small, q_small, jnp.where(series, 1.0 - total, total))
    valid = (a > 0) & ~jnp.isnan(x)
    p = jnp.where(inside, p_in, jnp.where(valid, jnp.where(x > 0, 1.0, 0.0), jnp.nan))
    q = jnp.where(inside, q_in, jnp.where(valid, jnp.where(x > 0, 0.0, 1.0), jnp.nan))
    return p, q


@jax.custom_jvp
def regularized_gamma(a: Array, x: Array) -> tuple[Array, Array]:
    """``(P(a, x), Q(a, x))`` for ``a > 0`` (P = 0, Q = 1 for ``x <= 0``; P = 1, Q = 0 at ``x = inf``;
    NaN for ``a <= 0``; broadcast)."""
    return _evaluate(a, x)


def _regularized_gamma_jvp(primals: tuple[Array, Array], tangents: tuple[Any, Any]) -> tuple[Any, Any]:
    a, x = primals
    a_dot, x_dot = tangents
    # (the function itself, not _evaluate: a derivative of this rule then uses the rule again
    # rather than differentiating the loop)
    p, q = regularized_gamma(a, x)
    a, x = jnp.broadcast_arrays(a, x)
    dp = jnp.zeros_like(p)
    positive = (x > 0) & (x < jnp.inf)
    x_safe = jnp.where(positive, x, 1.0)
    if not isinstance(x_dot, SymbolicZero):
        density = jnp.where(positive, jnp.exp(_log_prefactor(a, x_safe)) / x_safe, 0.0)
        dp = dp + density * jnp.broadcast_to(x_dot, x.shape)
    if not isinstance(a_dot, SymbolicZero):
        dp = dp + jnp.where(positive, jax.lax.igamma_grad_a(a, x_safe), 0.0) * jnp.broadcast_to(a_dot, a.shape)
    return (p, q), (dp, -dp)


regularized_gamma.defjvp(_regularized_gamma_jvp, symbolic_zeros=True)
