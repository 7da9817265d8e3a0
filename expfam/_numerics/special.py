"""Special functions in forms that stay accurate in float32 and float64.

Each function states the identity it evaluates and where it switches formula. The public
functions are jitted (inlined inside a caller's jit), so that eager calls stay cheap. ``lgamma``,
``digamma`` and ``trigamma`` (positive arguments) come from ``_gamma_functions``; use them
rather than ``jax.scipy.special``'s, which are slower and, in float32, inaccurate near the
zeros of lgamma (1 and 2) and of digamma (1.4616...).
"""

from __future__ import annotations

import functools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from expfam._numerics import iterate
from expfam._numerics.gamma_functions import (
    HALF_LOG_TWO_PI,
    digamma,
    horner,
    lgamma,
    lgamma1p,
    stirling_correction,
    trigamma,
    trigamma_difference,
)

__all__ = [
    "EULER_GAMMA",
    "HALF_LOG_TWO_PI",
    "approximate_inverse_digamma",
    "digamma",
    "expm1mx",
    "inverse_digamma",
    "large_argument",
    "lbeta",
    "lgamma",
    "lgamma1p",
    "log1mexp",
    "log1p",
    "log1pexp",
    "log1pmx",
    "log_binomial",
    "log_binomial_table",
    "log_factorial_of",
    "log_factorial_table",
    "log_minus_digamma",
    "log_ratio_excess",
    "multivariate_digamma",
    "multivariate_lgamma",
    "poisson_count_term",
    "poisson_entropy",
    "poisson_expected_log_factorial",
    "poisson_log_pmf",
    "stirling_correction",
    "stirling_remainder",
    "trigamma",
    "trigamma_difference",
    "trigamma_minus_reciprocal",
]

Array = jax.Array


def _is_f64(x: Array) -> bool:
    return x.dtype == jnp.float64


def large_argument(x: Array) -> float:
    """Where the Stirling series of ``_gamma_functions`` takes over (6 in float32, 10 in float64)."""
    return 10.0 if _is_f64(x) else 6.0


@jax.jit
def log1p(x: Array) -> Array:
    """``log(1 + x)`` to 1 ulp. XLA's float64 ``log1p`` is off by up to ~110 ulps on (-0.5, -0.1);
    in float64 this uses Kahan's ``log(u) - ((u - 1) - x) / u`` with ``u = 1 + x`` (the quotient
    corrects the rounding of u); float32 keeps ``jnp.log1p``, which is accurate."""
    if not _is_f64(x):
        return jnp.log1p(x)
    # The barrier keeps XLA's simplifier from folding (1 + x) - 1 into x.
    u = jax.lax.optimization_barrier(1.0 + x)
    finite = (u > 0) & (u < jnp.inf)
    correction = ((u - 1.0) - x) / jnp.where(finite, u, 1.0)
    return jnp.log(u) - jnp.where(finite, correction, 0.0)


@jax.jit
def log1pexp(x: Array) -> Array:
    """``log(1 + e^x)`` (softplus) as ``max(x, 0) + log1p(e^(-|x|))``: no overflow, exact tails."""
    return jnp.maximum(x, 0.0) + log1p(jnp.exp(-jnp.abs(x)))


@jax.jit
def log1mexp(x: Array) -> Array:
    """``log(1 - e^x)`` for ``x <= 0`` (Maechler 2012): ``log(-expm1(x))`` for ``x > -log 2``,
    ``log1p(-e^x)`` below. ``-inf`` at 0, NaN for ``x > 0``."""
    near = x > -math.log(2.0)
    far = jnp.where(near, -math.log(2.0), x)  # not minimum: its derivative halves at x = -log 2
    return jnp.where(near, jnp.log(-jnp.expm1(jnp.minimum(x, 0.0))), log1p(-jnp.exp(far)))


def _w_minus_log1p_series(w: Array) -> Array:
    """``w - log1p(w)`` for ``w in [-1/2, 1]``: with ``v = w / (2 + w)`` (``|v| <= 1/3``),
    ``v w + 2 v^3 sum_j v^(2j) / (2j + 3)`` (from ``log1p(w) = 2 atanh v``; 7 terms in float32,
    16 in float64: truncation below 0.1 ulp)."""
    v = w / (2.0 + w)
    v2 = v * v
    terms = 16 if _is_f64(w) else 7
    tail = jnp.full_like(v, 1.0 / (2 * terms + 1))
    for j in range(terms - 2, -1, -1):
        tail = tail * v2 + 1.0 / (2 * j + 3)
    return v * w - 2.0 * v * v2 * tail


@jax.jit
def log1pmx(w: Array) -> Array:
    """``log(1 + w) - w`` for ``w > -1``: the series of ``_w_minus_log1p_series`` on ``[-1/2, 1]``
    (no cancellation next to the double zero at 0), ``log1p(w) - w`` elsewhere."""
    near = (w >= -0.5) & (w <= 1.0)
    return jnp.where(near, -_w_minus_log1p_series(jnp.where(near, w, 0.0)), log1p(w) - w)


@jax.jit
def log_ratio_excess(z: Array, z_minus_one: Array | None = None) -> Array:
    """``E(z) = z - 1 - log z >= 0`` for ``z > 0``, accurate next to its double zero at ``z = 1``.

    For ``z in [1/2, 2]``, ``-log1pmx(z - 1)`` by its series (``z - 1`` exact, or passed in as
    ``z_minus_one`` when the caller has it with fewer roundings than z); elsewhere the plain
    ``z - 1 - log z`` (which cancels by a factor 4 at most there). It is the Bregman divergence
    of ``-log`` and the core of the stable Gamma / Poisson / Normal formulas.
    """
    near = (z >= 0.5) & (z <= 2.0)
    w = z - 1.0 if z_minus_one is None else z_minus_one
    return jnp.where(near, _w_minus_log1p_series(jnp.where(near, w, 0.0)), z - 1.0 - jnp.log(z))


@jax.jit
def expm1mx(d: Array) -> Array:
    """``e^d - 1 - d``: the Taylor series ``sum_{n>=2} d^n / n!`` for ``|d| < 1/2`` (10 terms in
    float32, 16 in float64), ``expm1(d) - d`` beyond."""
    near = jnp.abs(d) < 0.5
    x = jnp.where(near, d, 0.0)
    terms = 16 if _is_f64(d) else 10
    series = jnp.full_like(x, 1.0 / math.factorial(terms + 1))
    for n in range(terms, 1, -1):
        series = series * x + 1.0 / math.factorial(n)
    return jnp.where(near, x * x * series, jnp.expm1(d) - d)


@jax.jit
def stirling_remainder(x: Array) -> Array:
    """``delta(x) = lgamma(x) - (x - 1/2) log x + x - 1/2 log(2 pi)`` for ``x > 0``.

    The Stirling series ``1/(12x) - 1/(360x^3) + ...`` from the switch point ``L`` of
    ``_gamma_functions`` (6 / 10) on; below, the direct difference (absolute error a few ulps of
    ``lgamma(L)``). With it, ``lgamma`` of a large argument combines analytically with other
    large terms (see the Gamma and Poisson families).
    """
    large = x >= large_argument(x)
    big = jnp.where(large, x, large_argument(x))
    small = jnp.where(large, 1.0, x)
    direct = lgamma(small) - (small - 0.5) * jnp.log(small) + small - HALF_LOG_TWO_PI
    return jnp.where(large, stirling_correction(1.0 / big), direct)


@jax.jit
def lbeta(a: Array, b: Array) -> Array:
    """``log B(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)`` for ``a, b > 0``, without cancellation.

    With ``a <= b`` (swapped if needed), ``s = a + b`` and ``delta`` the Stirling remainder
    (``stirling_correction(1 / x)`` for the arguments ``>= L`` below):

    * ``a >= L``: ``1/2 log(2 pi) - 1/2 log s - (a - 1/2) log1p(b/a) - (b - 1/2) log1p(a/b)
      + delta(a) + delta(b) - delta(s)`` (every large term negative: nothing cancels);
    * ``a < L <= b``: ``lgamma(a) - a log s + [a - (b - 1/2) log1p(a/b)] + delta(b) - delta(s)``
      (the bracket is ``O(a^2 / b)``, computed to its absolute accuracy);
    * ``b < L``: the three log-gammas (all below ``lgamma(2L)``).

    ``lgamma(a)`` (``a < L``) is shared by the last two; every argument a branch sees is in its
    range, so the branches not taken stay finite, their derivatives too. The three log-gammas are
    one call on the arguments stacked (a program a third the size of three calls).
    """
    # where (not minimum/maximum): at a tie, min/max would split the derivative in halves.
    a, b = jnp.where(a <= b, a, b), jnp.where(a <= b, b, a)
    large = large_argument(a)
    both, mixed = a >= large, (a < large) & (b >= large)
    a_large = jnp.where(both, a, large)  # >= L
    b_large = jnp.where(both | mixed, b, large)  # >= L
    a_small = jnp.where(both, 1.0, a)  # < L
    b_small = jnp.where(both | mixed, 1.0, b)  # < L
    # Shared by "both" and "mixed" (finite in "direct" too: b_large = L there).
    s_big = a + b_large
    ratio_log = log1p(a / b_large)
    delta_b, delta_s = stirling_correction(1.0 / b_large), stirling_correction(1.0 / s_big)
    # One lgamma over the three small arguments stacked: one copy of its program, not three.
    lgamma_a, lgamma_b, lgamma_s = lgamma(jnp.stack([a_small, b_small, a_small + b_small]))
    big = (HALF_LOG_TWO_PI - 0.5 * jnp.log(s_big) - (a_large - 0.5) * log1p(b_large / a_large)
           - (b_large - 0.5) * ratio_log + stirling_correction(1.0 / a_large) + delta_b - delta_s)  # fmt: skip
    one_big = lgamma_a - a * jnp.log(s_big) + (a - (b_large - 0.5) * ratio_log) + delta_b - delta_s
    direct = lgamma_a + lgamma_b - lgamma_s
    return jnp.where(both, big, jnp.where(mixed, one_big, direct))


@jax.jit
def log_factorial_of(k: Array) -> Array:
    """``log k! = lgamma(k + 1)`` for ``k >= 0``: exactly 0 at 0 and 1; for ``k >= L`` as
    ``(k + 1/2) log k - k + 1/2 log(2 pi) + delta(k)`` (no rounding of ``k + 1`` in float32)."""
    large = k >= large_argument(k)
    big = jnp.where(large, k, large_argument(k))
    stirling = (big + 0.5) * jnp.log(big) - big + HALF_LOG_TWO_PI + stirling_correction(1.0 / big)
    return jnp.where(large, stirling, lgamma(jnp.where(large, 1.0, k) + 1.0))


@jax.jit
def log_binomial(n: Array, k: Array) -> Array:
    """``log C(n, k) = -log(n + 1) - log B(k + 1, n - k + 1)`` for ``0 <= k <= n`` (through ``lbeta``,
    so large ``n`` does not cancel)."""
    return -log1p(n) - lbeta(k + 1.0, n - k + 1.0)


def _compensated_cumsum(terms: list[float]) -> np.ndarray:
    """``[0, t_1, t_1 + t_2, ...]`` in float64 with Neumaier's compensation (error about 1 ulp of
    each partial sum of positive terms, whatever their number)."""
    sums = np.zeros(len(terms) + 1)
    total, compensation = 0.0, 0.0
    for i, term in enumerate(terms, start=1):
        new = total + term
        compensation += (total - new) + term if abs(total) >= abs(term) else (term - new) + total
        total = new
        sums[i] = total + compensation
    return sums


@functools.lru_cache(maxsize=64)
def log_factorial_table(n: int) -> np.ndarray:
    """``log k!`` for ``k = 0..n`` as a float64 numpy table (a trace-time constant for a static n):
    the compensated sums of ``log j``, within about 2 ulps relative."""
    return _compensated_cumsum([math.log(j) for j in range(1, n + 1)])


@functools.lru_cache(maxsize=64)
def log_binomial_table(n: int) -> np.ndarray:
    """``log C(n, k)`` for ``k = 0..n`` as a float64 numpy table (a trace-time constant for a static n).

    ``log C(n, k) = sum_{j=1}^{k} log1p((n - 2j + 1) / j)`` for ``k <= n/2`` (``C(n, j) / C(n, j - 1)
    = (n - j + 1) / j``; every term positive, its quotient rounded once), compensated sums, and
    ``C(n, k) = C(n, n - k)`` above: within about 2 ulps relative (tests/test_special.py).
    """
    half = _compensated_cumsum([math.log1p((n - 2 * j + 1) / j) for j in range(1, n // 2 + 1)])
    return np.concatenate([half, half[: n - n // 2][::-1]])


def _half_steps_down(a: Array, dim: int) -> Array:
    """``a - j/2`` for ``j = 0..dim-1`` along a new trailing axis."""
    a = jnp.asarray(a)
    offsets = jnp.arange(dim, dtype=a.dtype).reshape((1,) * a.ndim + (dim,)) / 2
    return a[..., None] - offsets


@functools.partial(jax.jit, static_argnames="dim")
def multivariate_lgamma(a: Array, dim: int) -> Array:
    """``log Gamma_d(a) = d (d - 1) / 4 log pi + sum_{j=1}^{d} lgamma(a + (1 - j) / 2)`` for ``a > (d - 1) / 2``."""
    return dim * (dim - 1) / 4 * math.log(math.pi) + jnp.sum(lgamma(_half_steps_down(a, dim)), axis=-1)


@functools.partial(jax.jit, static_argnames="dim")
def multivariate_digamma(a: Array, dim: int) -> Array:
    """``d/da log Gamma_d(a) = sum_{j=1}^{d} digamma(a + (1 - j) / 2)`` for ``a > (d - 1) / 2``."""
    return jnp.sum(digamma(_half_steps_down(a, dim)), axis=-1)


# Asymptotic switch: below it the direct formula loses at most log10(32) digits.
_ASYMPTOTIC_FROM = 8.0


def _asymptotic_arg(x: Array) -> Array:
    return jnp.maximum(x, _ASYMPTOTIC_FROM)


@jax.jit
def log_minus_digamma(x: Array) -> Array:
    """``log(x) - digamma(x)`` for x > 0, without cancellation for large x.

    For x >= 8 the asymptotic series
    ``1/(2x) + 1/(12x^2) - 1/(120x^4) + 1/(252x^6) - 1/(240x^8) + 1/(132x^10) - 691/(32760x^12)``
    (error below 1e-13 relative at x = 8); below, the direct difference.
    """
    big = _asymptotic_arg(x)
    z = 1.0 / (big * big)
    series = 0.5 / big + z * (
        1 / 12 + z * (-1 / 120 + z * (1 / 252 + z * (-1 / 240 + z * (1 / 132 - z * 691 / 32760))))
    )
    small = jnp.minimum(x, _ASYMPTOTIC_FROM)
    return jnp.where(x >= _ASYMPTOTIC_FROM, series, jnp.log(small) - digamma(small))


@jax.jit
def trigamma_minus_reciprocal(x: Array, trigamma_x: Array | None = None) -> Array:
    """``trigamma(x) - 1/x`` for x > 0, without cancellation for large x.

    For x >= 8 the series ``1/(2x^2) + 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9) + 5/(66x^11)``;
    below, the direct difference (with ``trigamma_x``, the caller's ``trigamma(x)``, where given:
    the same value, not computed twice).
    """
    big = _asymptotic_arg(x)
    r = 1.0 / big
    z = r * r
    series = z * (0.5 + r * (1 / 6 + z * (-1 / 30 + z * (1 / 42 + z * (-1 / 30 + z * 5 / 66)))))
    small = jnp.minimum(x, _ASYMPTOTIC_FROM)
    direct = trigamma(small) if trigamma_x is None else trigamma_x
    return jnp.where(x >= _ASYMPTOTIC_FROM, series, direct - 1.0 / small)


_INVERSE_DIGAMMA_STEPS = 4
EULER_GAMMA = 0.5772156649015329
# digamma^{-1}(y) / s - 1 for Minka's start s, as w^2 q(w) (the asymptotic forms are exact to
# O(w^2): -w^2/24 above, -(pi^2/6) w^2 below); q from tools/fit_inverse_digamma_start.py (least
# squares in the relative error, highest power first): in w = 1/s where y >= -2.22 (max error
# 1.9e-6), in w = s below (1.7e-6).
_START_CORRECTION_ABOVE = (
    -0.004703068273584195,
    0.035053232441402765,
    -0.11353509675359848,
    0.20681999465905412,
    -0.23137504950219426,
    0.1603129075746428,
    -0.06653140570037537,
    0.011661141878879075,
    -0.023140794222991683,
    -0.041549504143869695,
)
_START_CORRECTION_BELOW = (
    4.16664587651433,
    -6.470147889512057,
    -3.401818951062306,
    15.128112645324292,
    -14.191122030783038,
    5.00090175296085,
    1.1591576400372918,
    -1.643894160242373,
)


def approximate_inverse_digamma(y: Array, exp_y: Array | None = None) -> Array:
    """``digamma^{-1}(y)`` within a relative 2e-6 for every real y, without iteration.

    Minka's start ``s = exp(y) + 1/2`` for ``y >= -2.22`` and ``s = -1 / (y + gamma)`` below (each
    up to 35% off), times ``1 + w^2 q(w)`` with a fitted polynomial q (``w = 1/s`` above, ``s``
    below: the correction vanishes as ``s -> inf`` and ``s -> 0``, where Minka's forms become exact).
    One division and two polynomials; ``exp_y``, the caller's ``exp(y)`` where it has it cheaper
    (a product of exponentials it already holds), saves the one exponential.
    """
    finite_max = 709.0 if _is_f64(y) else 88.0
    above = y >= -2.22
    if exp_y is None:
        exp_y = jnp.exp(jnp.minimum(y, finite_max))
    # 1/w: s above, 1/s = -(y + gamma) below.
    reciprocal_w = jnp.where(above, exp_y + 0.5, -(jnp.minimum(y, -2.22) + EULER_GAMMA))
    w = 1.0 / reciprocal_w
    q = jnp.where(above, horner(_START_CORRECTION_ABOVE, w), horner(_START_CORRECTION_BELOW, w))
    return jnp.where(above, reciprocal_w, w) * (1.0 + w * w * q)


@jax.custom_jvp
def _inverse_digamma(y: Array) -> Array:
    def step(x: Array) -> Array:
        return jnp.maximum(x - (digamma(x) - y) / trigamma(x), 0.5 * x)

    return iterate.newton(step, approximate_inverse_digamma(y), _INVERSE_DIGAMMA_STEPS)


@_inverse_digamma.defjvp
def _inverse_digamma_jvp(primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (y,), (y_dot,) = primals, tangents
    x = _inverse_digamma(y)
    return x, y_dot / trigamma(x)


@jax.jit
def inverse_digamma(y: Any) -> Array:
    """The x > 0 with ``digamma(x) = y``, for any real y (``y`` above ``log`` of the largest float
    overflows to inf).

    ``approximate_inverse_digamma`` (within 2e-6) and four Newton steps
    ``x <- x - (digamma(x) - y) / trigamma(x)`` (never shrinking x by more than half), which reach
    full precision in float32 and float64. Differentiated implicitly:
    ``dx/dy = 1 / trigamma(x)``.
    """
    return _inverse_digamma(jnp.asarray(y, dtype=jnp.result_type(y, float)))


# Poisson rates below this use the exact (truncated) sum, above it the asymptotic series.
_POISSON_SERIES_FROM = 200.0
# Terms kept in the sum: the mass beyond them is below 1e-30 for every rate below the switch.
_POISSON_TERMS = 450
# H(r) = 1/2 log(2 pi e r) - sum_j c_j / r^j: the first four exact (Evans & Boersma), the last
# three fitted to 60-digit sums at r = 400 .. 12800 (tools/, see poisson_entropy).
_POISSON_ENTROPY_SERIES = (1 / 12, 1 / 24, 19 / 360, 9 / 80, 863 / 2520, 1.3640873, 6.73672)


@jax.jit
def poisson_count_term(k: Array) -> Array:
    """``1/2 log(2 pi k) + delta(k)`` for counts ``k >= 1`` (0 at ``k = 0``): the part of the Poisson
    ``-log p(k)`` in Loader's form that depends on k alone."""
    k1 = jnp.where(k >= 1, k, 1.0)
    return jnp.where(k >= 1, 0.5 * jnp.log(2 * math.pi * k1) + stirling_remainder(k1), 0.0)


def poisson_log_pmf(k: Array, rate: Array, count_term: Array | None = None) -> Array:
    """``log p(k) = k log r - r - log k!`` without cancellation (Loader's saddle-point form).

    ``-r`` at ``k = 0``; for ``k >= 1``, ``-k E(r / k) - 1/2 log(2 pi k) - delta(k)`` with
    ``E = log_ratio_excess`` and ``delta = stirling_remainder``: the terms of size ``k log k``
    cancel analytically, so the relative accuracy holds at rates of 1e6 and more in float32.
    ``count_term``: ``poisson_count_term(k)`` where the caller has it already.
    """
    positive = k >= 1
    k1 = jnp.where(positive, k, 1.0)
    excess = log_ratio_excess(rate / k1, (rate - k1) / k1)
    count_term = poisson_count_term(k) if count_term is None else count_term
    return jnp.where(positive, -k1 * excess - count_term, -rate)


def _poisson_sum(rate: Array) -> tuple[Array, Array]:
    """``(sum_k p(k) log k!, -sum_k p(k) log p(k))`` over ``k < 450`` at ``min(rate, 200)``."""
    shape = rate.shape + (_POISSON_TERMS,)
    small = jnp.broadcast_to(jnp.minimum(rate, _POISSON_SERIES_FROM)[..., None], shape)
    k = jnp.broadcast_to(jnp.arange(_POISSON_TERMS, dtype=rate.dtype), shape)
    log_pmf = poisson_log_pmf(k, small)
    pmf = jnp.exp(log_pmf)
    return jnp.sum(pmf * log_factorial_of(k), axis=-1), -jnp.sum(pmf * log_pmf, axis=-1)


def _poisson_entropy_series(rate: Array) -> Array:
    big = jnp.maximum(rate, _POISSON_SERIES_FROM)
    inv = 1.0 / big
    coefficients = _POISSON_ENTROPY_SERIES[::-1]
    series = jnp.full_like(inv, coefficients[0])
    for c in coefficients[1:]:
        series = series * inv + c
    return 0.5 * jnp.log(2 * math.pi * math.e * big) - inv * series


@jax.jit
def poisson_expected_log_factorial(rate: Array) -> Array:
    """``E[log x!]`` for x ~ Poisson(rate).

    Below rate 200, the sum ``sum_k p(k) log k!`` over k < 450 (the omitted tail mass is
    below 1e-30), with ``p(k)`` from ``poisson_log_pmf`` (no cancellation). Above it, from the
    entropy expansion ``H = 1/2 log(2 pi e r) - 1/(12 r) - 1/(24 r^2) - 19/(360 r^3) - 9/(80 r^4)
    - 863/(2520 r^5) - 1.3640873/r^6 - 6.73672/r^7 + O(r^-8)`` and ``H = r - r log r + E[log x!]``
    (truncation error below 1e-16 relative at r = 200).
    """
    big = jnp.maximum(rate, _POISSON_SERIES_FROM)
    series = _poisson_entropy_series(rate) - big + big * jnp.log(big)
    return jnp.where(rate < _POISSON_SERIES_FROM, _poisson_sum(rate)[0], series)


@jax.jit
def poisson_entropy(rate: Array) -> Array:
    """Entropy of Poisson(rate): ``-sum_k p(k) log p(k)`` (positive terms) below rate 200, the
    expansion of ``poisson_expected_log_factorial`` above."""
    return jnp.where(rate < _POISSON_SERIES_FROM, _poisson_sum(rate)[1], _poisson_entropy_series(rate))


@jax.custom_jvp
def quotient(a: Array, b: Array) -> Array:
    """``a / b`` whose derivative ``(da - (a / b) db) / b`` divides by b last: a zero cotangent stays
    zero where ``a / b^2`` overflows (reverse-mode ``a / b`` multiplies the cotangent by
    ``a / b^2``, so ``0 * inf = NaN`` at b = 1e-30 in float32)."""
    return a / b


@quotient.defjvp
def _quotient_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple[Array, Array]:
    (a, b), (a_dot, b_dot) = primals, tangents
    value = a / b
    return value, (a_dot - value * b_dot) / b
