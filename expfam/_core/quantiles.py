"""Quantiles from the tails of a distribution, for the families' ``quantile`` methods.

Continuous (``continuous_quantile``): the quantile solves ``log F(x) = log p`` below the median
side (``p <= 1/2``) and ``log S(x) = log(1 - p)`` above, with ``F`` the cdf and ``S`` the survival
function, so that both tails keep their relative accuracy (the Gamma quantile at ``1e-10`` and at
``1 - 1e-10``). The family passes one function for both log tails, ``log_tail(params, z, upper)``
(``log S`` where ``upper``, else ``log F``), of a working variable z on which they are smooth
(``log x`` for a positive variable, ``logit x`` on (0, 1)), a bracket and a start: each row
evaluates only the tail on its side, so no logarithm of a vanishing tail on the other side ever
meets a derivative, and the tail is traced (and compiled) once per evaluation, not twice.
``_numerics.inversion.solve_increasing`` finds the root without derivatives flowing through its
iterations, and one last Newton step taken with live parameters gives the value its implicit
derivative ``dz = -(dG / d params) / G'(z)`` (in p: ``1 / density``): one ``jax.jvp`` in z gives
G and G' there, G' held fixed. The tail is traced twice in all, once in the solver's loop and once
in that step (compilation time grows with every copy).

Discrete (``integer_quantile``): the smallest integer k of the support with ``F(k) >= p``, tested
as ``S(k) <= 1 - p`` above the median side (one function gives the tail of each row's side), by
``inversion.smallest_integer``, whose one loop traces the tail once; it is piecewise constant, so
its derivative is zero.

Both return the support's ends (given in z) at ``p = 0`` and ``p = 1`` and expect p in [0, 1] (the free
function ``expfam.quantile`` checks it).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from expfam._numerics import inversion

Array = jax.Array

#: ``(params, z, upper) -> log S(z)`` where ``upper``, else ``log F(z)``, at the working variable z.
LogTail = Callable[[Any, Array, Array], Array]


def continuous_quantile(
    log_tail: LogTail,
    params: Any,
    p: Array,
    bracket: tuple[Array | float, Array | float],
    start: Array,
    ends: tuple[Any, Any] = (-jnp.inf, jnp.inf),
) -> Array:
    """The working variable z with ``F = p``; ``ends`` (the support's, in z) at ``p = 0`` and ``p = 1``.

    Args:
        log_tail: the log tails as one function of ``(params, z, upper)``, increasing z.
        params: the distribution's parameters (a pytree of arrays broadcastable to p).
        p: probabilities in [0, 1].
        bracket: ``(lo, hi)``, finite values of z with ``F(lo) = 0`` and ``S(hi) = 0`` in
            floating point (or at least ``F(lo) <= p`` and ``S(hi) <= 1 - p`` for every p).
        start: a value of z inside the distribution's bulk, where both tails are nonzero
            (an approximate median is best).
    """
    p, start = jnp.broadcast_arrays(p, jax.lax.stop_gradient(start))
    interior = (p > 0) & (p < 1)
    upper = p > 0.5
    p_safe = jnp.where(interior, p, 0.5)
    # log p below the median side, -log(1 - p) above: G = log F - log p or log(1 - p) - log S.
    target = jnp.where(upper, -jnp.log1p(-p_safe), jnp.log(p_safe))
    sign = jnp.where(upper, -1.0, 1.0).astype(p.dtype)

    def residual(par: Any, z: Array, shift: Array) -> Array:
        return sign * log_tail(par, z, upper) - shift

    fixed, fixed_target = jax.lax.stop_gradient(params), jax.lax.stop_gradient(target)

    def value_and_slope(z: Array) -> tuple[Array, Array]:
        return jax.jvp(lambda u: residual(fixed, u, fixed_target), (z,), (jnp.ones_like(z),))

    lo, hi = bracket
    z = jax.lax.stop_gradient(inversion.solve_increasing(value_and_slope, lo, hi, start))
    # The last Newton step, with live parameters and p (the tail's second and last copy): its value
    # is the solver's, and through g alone (the slope held fixed) it carries the implicit derivative.
    g, slope = jax.jvp(lambda u: residual(params, u, target), (z,), (jnp.ones_like(z),))
    slope = jax.lax.stop_gradient(slope)
    usable = jnp.isfinite(g) & jnp.isfinite(slope) & (slope > 0)
    z = z - jnp.where(usable, g / jnp.where(usable, slope, 1.0), 0.0)
    first, last = (jnp.broadcast_to(jnp.asarray(end, z.dtype), z.shape) for end in ends)
    return jnp.where(p <= 0, first, jnp.where(p >= 1, last, jnp.where(interior, z, jnp.nan)))


def integer_quantile(
    tail: Callable[[Array, Array], Array],
    p: Array,
    lower: Array | float,
    upper: Array | float,
    start: Array,
) -> Array:
    """The smallest integer k in ``[lower, upper]`` with ``P(X <= k) >= p`` (``lower`` at ``p = 0``,
    ``upper`` at ``p = 1``, which may be infinite); no derivative.

    Args:
        tail: ``(k, above) -> P(X > k)`` where ``above``, else ``P(X <= k)``, over p's batch (one
            function, so that each test of k traces the distribution function once).
        p: probabilities in [0, 1].
        lower, upper: the support's ends.
        start: a guess (the mean, say) from which the search brackets the answer.
    """
    p = jax.lax.stop_gradient(p)
    p, start = jnp.broadcast_arrays(p, jax.lax.stop_gradient(start))
    interior = (p > 0) & (p < 1)
    p_safe = jnp.where(interior, p, 0.5)
    lower_side = p_safe <= 0.5

    def holds(k: Array) -> Array:
        value = tail(jnp.where(jnp.isfinite(k), k, 0.0), ~lower_side)
        return jnp.where(lower_side, value >= p_safe, value <= 1.0 - p_safe) | (k >= upper)

    start = jnp.clip(jnp.where(jnp.isfinite(start), start, lower), lower, jnp.where(jnp.isfinite(upper), upper, start))
    k = inversion.smallest_integer(holds, lower, start)
    lower, upper = jnp.broadcast_to(lower, k.shape), jnp.broadcast_to(upper, k.shape)
    return jnp.where(p <= 0, lower, jnp.where(p >= 1, upper, jnp.where(interior, k, jnp.nan)))
