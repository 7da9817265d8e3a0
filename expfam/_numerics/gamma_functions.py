"""Log-gamma, digamma and trigamma for non-negative arguments, cheaper and more accurate than XLA's.

XLA's ``lgamma`` / ``digamma`` cover the whole real line (a Lanczos sum with eight divisions plus
a reflection formula with a sine or tangent, all evaluated for every element). For ``x >= 0``
``lgamma`` and ``digamma`` here cost one logarithm, one division and one short polynomial:

* ``x < L`` (``L = 6`` in float32, ``10`` in float64): the recurrence moves x into a unit
  interval where a polynomial fitted at 60 digits holds (``tools/fit_gamma_polynomials.py``):

  - ``lgamma(2 + t) = t (t + 1) P(t)`` on ``t in [-1, 1]``, with ``lgamma(x) = lgamma(x + 1) - log x``
    for ``x < 1`` and ``lgamma(x) = lgamma(x - n) + log((x - 1) ... (x - n))`` for ``x >= 3``.
    The factors ``t`` and ``t + 1`` are exact, so ``lgamma(1) = lgamma(2) = 0`` exactly and the
    relative accuracy holds next to both zeros;
  - ``digamma(u) = (u - 1 - c) Q(u - 3/2) + digamma(1 + c)`` on ``u in [1, 2]``, with ``c`` the
    dtype's rounding of ``x0 - 1`` (``x0 = 1.4616...`` its root): ``u - 1 - c`` is exact and the
    last term a tiny constant, so the relative accuracy holds at the root; and
    ``digamma(x) = digamma(x - n) + sum_i 1 / (x - i)``;
  - ``trigamma(x) = sum_{i<n} 1 / (x + i)^2 + trigamma(x + n)`` with ``x + n >= L`` (upward,
    so that no term cancels; this one costs a second division);

  the recurrence's product (or sum of reciprocals, accumulated as one fraction) is unrolled
  statically, ``L`` steps at most.
* ``x >= L``: the Stirling / asymptotic series with ``B_2k`` Bernoulli numbers, ``K = 4`` terms
  in float32 and ``K = 9`` in float64 (truncation error below 1e-9, resp. 1e-17, relative):
  ``lgamma(x) = (x - 1/2)(log x - 1) + (log(2 pi) - 1) / 2 + sum_k B_2k / (2k (2k - 1) x^(2k - 1))``,
  ``digamma(x) = log x - 1/(2x) - sum_k B_2k / (2k x^2k)``,
  ``trigamma(x) = 1/x + 1/(2x^2) + sum_k B_2k / x^(2k + 1)``.

Negative arguments give NaN. Derivatives are exact by custom JVPs: ``lgamma' = digamma``,
``digamma' = trigamma``, ``trigamma' = polygamma(2, .)``, so second derivatives work.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import polygamma

from expfam._numerics import gamma_coefficients as coefficients
from expfam._numerics.dtypes import as_float

Array = jax.Array

HALF_LOG_TWO_PI = 0.5 * math.log(2 * math.pi)
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730, 7 / 6, -3617 / 510, 43867 / 798)


class _Precision(NamedTuple):
    large: float  # the asymptotic series from here on
    terms: int  # Bernoulli terms kept in it
    lgamma: tuple[float, ...]
    digamma: tuple[float, ...]
    root: tuple[float, float]  # (c, digamma(1 + c)), see the module docstring


_F32 = _Precision(6.0, 4, coefficients.LGAMMA_F32, coefficients.DIGAMMA_F32, coefficients.DIGAMMA_ROOT_F32)
_F64 = _Precision(10.0, 9, coefficients.LGAMMA_F64, coefficients.DIGAMMA_F64, coefficients.DIGAMMA_ROOT_F64)


def _precision(x: Array) -> _Precision:
    return _F64 if x.dtype == jnp.float64 else _F32


def horner(coefficients: Sequence[float], t: Array) -> Array:
    """The polynomial with these coefficients (highest power first) at t."""
    if len(coefficients) == 1:
        return jnp.full_like(t, coefficients[0])
    result = coefficients[0] * t + coefficients[1]
    for c in coefficients[2:]:
        result = result * t + c
    return result


def _nan_below_zero(x: Array, value: Array) -> Array:
    return jnp.where(x < 0, jnp.nan, value)


def _even_series(weights: tuple[float, ...], r: Array) -> Array:
    """``sum_k weights[k] r^(2k)`` (k from 0) in Horner form."""
    r2 = r * r
    result = jnp.full_like(r, weights[-1])
    for w in reversed(weights[:-1]):
        result = result * r2 + w
    return result


def _lgamma_weights(terms: int) -> tuple[float, ...]:
    return tuple(_BERNOULLI[k - 1] / (2 * k * (2 * k - 1)) for k in range(1, terms + 1))


def stirling_correction(r: Array) -> Array:
    """``sum_k B_2k / (2k (2k - 1)) r^(2k - 1)``: lgamma(x) minus its Stirling main part at ``r = 1/x``.

    Accurate for ``x >= L`` (see the module docstring); used by the stable family formulas.
    """
    return r * _even_series(_lgamma_weights(_precision(r).terms), r)


def _lgamma(x: Array) -> Array:
    p = _precision(x)
    small = x < p.large
    below_one = x < 1
    whole = jnp.floor(x)
    # x - 1 (x < 1), x - 2 (1 <= x < 3), frac(x) (x >= 3): all exact.
    t = x - jnp.where(below_one, 1.0, jnp.where(x < 3, 2.0, whole))
    reduced = t * jnp.where(below_one, x, t + 1) * horner(p.lgamma, t)
    x_small = jnp.where(small, x, 1.0)
    product = jnp.ones_like(x)
    for i in range(1, int(p.large) - 2):
        product = product * jnp.where(i <= whole - 2, x_small - i, 1.0)
    log_arg = jnp.log(jnp.where(small, jnp.where(below_one, x, product), x))
    shifted = reduced + jnp.where(below_one, -log_arg, log_arg)
    r = 1.0 / jnp.where(small, p.large, x)
    stirling = (x - 0.5) * (log_arg - 1.0) + (HALF_LOG_TWO_PI - 0.5) + stirling_correction(r)
    return _nan_below_zero(x, jnp.where(small, shifted, stirling))


def _reciprocal_sum(x: Array, p: _Precision) -> tuple[Array, Array, Array]:
    """Numerator and denominator of the recurrence sum, and ``u - 1 in [0, 1)``.

    ``x < 1``: ``-1/x`` and ``u = x + 1``; ``x >= 1``: ``sum_{i=1}^{floor(x) - 1} 1/(x - i)`` and
    ``u = x - floor(x) + 1``, so that ``digamma(x) = digamma(u) + numerator / denominator``.
    """
    below_one = x < 1
    whole = jnp.floor(x)
    numerator = jnp.where(below_one, -1.0, 0.0)
    denominator = jnp.where(below_one, x, 1.0)
    x_small = jnp.where(x < p.large, x, 1.0)
    for i in range(1, int(p.large) - 1):
        active = i <= whole - 1
        f = jnp.where(active, x_small - i, 1.0)
        numerator = numerator * f + jnp.where(active, denominator, 0.0)
        denominator = denominator * f
    return numerator, denominator, jnp.where(below_one, x, x - whole)


def _digamma(x: Array) -> Array:
    p = _precision(x)
    small = x < p.large
    numerator, denominator, y = _reciprocal_sum(x, p)
    reduced = (y - p.root[0]) * horner(p.digamma, y - 0.5) + p.root[1]
    # One division serves both branches: the recurrence sum, or 1/x for the series.
    q = jnp.where(small, numerator, 1.0) / jnp.where(small, denominator, x)
    weights = tuple(b / (2 * k) for k, b in enumerate(_BERNOULLI[: p.terms], start=1))
    series = jnp.log(x) - q * (0.5 + q * _even_series(weights, q))
    return _nan_below_zero(x, jnp.where(small, reduced + q, series))


def _trigamma(x: Array) -> Array:
    p = _precision(x)
    # Upward (all terms positive): trigamma(x) = sum_{i<n} 1/(x + i)^2 + trigamma(x + n), x + n >= L.
    steps = jnp.maximum(jnp.ceil(p.large - x), 0.0)
    numerator, denominator = jnp.zeros_like(x), jnp.ones_like(x)
    for i in range(int(p.large)):
        active = i < steps
        f = jnp.where(active, x + i, 1.0)
        f = f * f
        numerator = numerator * f + jnp.where(active, denominator, 0.0)
        denominator = denominator * f
    r = 1.0 / (x + steps)
    series = r * (1.0 + r * (0.5 + r * _even_series(_BERNOULLI[: p.terms], r)))
    return _nan_below_zero(x, numerator / denominator + series)


def _trigamma_difference(a: Array, d: Array) -> Array:
    p = _precision(a)
    # Upward, as trigamma: 1/x^2 - 1/(x + d)^2 = t (2 - t) / x^2 with t = d / (x + d) in [0, 1).
    steps = jnp.maximum(jnp.ceil(p.large - a), 0.0)
    total = jnp.zeros_like(a)
    for i in range(int(p.large)):
        x = a + i
        t = d / (x + d)
        total = total + jnp.where(i < steps, t * (2.0 - t) / (x * x), 0.0)
    # The series: sum_n c_n (r^n - s^n) = (r - s) sum_n c_n h_{n-1}(r, s), with r - s = r t and
    # h_m(r, s) = sum_{i<=m} r^i s^(m-i) (every term positive).
    x = a + steps
    r, s = 1.0 / x, 1.0 / (x + d)
    weights = (1.0, 0.5) + tuple(w for b in _BERNOULLI[: p.terms] for w in (b, 0.0))
    h, s_power = jnp.ones_like(r), jnp.ones_like(r)
    series = jnp.full_like(r, weights[0])
    for weight in weights[1:-1]:
        s_power = s_power * s
        h = r * h + s_power
        series = series + weight * h
    return _nan_below_zero(a, total + r * (d / (x + d)) * series)


@jax.custom_jvp
def _lgamma_jvp(x: Array) -> Array:
    return _lgamma(x)


@jax.custom_jvp
def _digamma_jvp(x: Array) -> Array:
    return _digamma(x)


@jax.custom_jvp
def _trigamma_jvp(x: Array) -> Array:
    return _trigamma(x)


_lgamma_jvp.defjvps(lambda x_dot, _, x: _digamma_jvp(x) * x_dot)
_digamma_jvp.defjvps(lambda x_dot, _, x: _trigamma_jvp(x) * x_dot)
_trigamma_jvp.defjvps(lambda x_dot, _, x: polygamma(2, x) * x_dot)


@jax.jit
def lgamma(x: Any) -> Array:
    """``log Gamma(x)`` for ``x >= 0`` (NaN below); exactly 0 at 1 and 2. See the module docstring."""
    return _lgamma_jvp(as_float(x))


@jax.jit
def lgamma1p(a: Any) -> Array:
    """``log Gamma(1 + a)`` for ``a >= 0`` (NaN below), exactly 0 at ``a = 0`` and to a few ulps
    relative next to that zero: for ``a <= 1/2``, ``lgamma(2 + a) - log1p(a)`` with
    ``lgamma(2 + a) = a (a + 1) P(a)`` (the module docstring's polynomial, exact factors), where
    ``lgamma(1 + a)`` would round ``1 + a`` first and lose ``eps / a`` relative; above,
    ``lgamma(1 + a)`` (``1 + a`` rounded: next to the zero at ``a = 1`` the relative accuracy is
    that of ``1 + a - 2``). Differentiated through these formulas."""
    a = as_float(a)
    small = jnp.minimum(a, 0.5)
    near_zero = small * (small + 1.0) * horner(_precision(a).lgamma, small) - jnp.log1p(small)
    return _nan_below_zero(a, jnp.where(a <= 0.5, near_zero, lgamma(1.0 + a)))


@jax.jit
def digamma(x: Any) -> Array:
    """``digamma(x) = d/dx log Gamma(x)`` for ``x >= 0`` (NaN below). See the module docstring."""
    return _digamma_jvp(as_float(x))


@jax.jit
def trigamma(x: Any) -> Array:
    """``trigamma(x) = d^2/dx^2 log Gamma(x)`` for ``x >= 0`` (NaN below). See the module docstring."""
    return _trigamma_jvp(as_float(x))


@jax.jit
def trigamma_difference(a: Any, d: Any) -> Array:
    """``trigamma(a) - trigamma(a + d)`` for ``a > 0`` and ``d >= 0``, to a few ulps relative.

    The plain difference loses ``trigamma(a) / (d |trigamma'(a)|)`` (about ``a / d``) relative:
    all of it for ``d << a``. Here both arguments take the same upward recurrence,
    ``1/x^2 - 1/(x + d)^2 = t (2 - t) / x^2`` with ``t = d / (x + d)`` (positive terms), to
    ``x >= L``, where the asymptotic series is differenced term by term:
    ``r^n - s^n = (r - s) h_{n-1}(r, s)`` with ``r = 1/x``, ``s = 1/(x + d)``, ``r - s = r t`` and
    ``h_m(r, s) = sum_{i<=m} r^i s^(m-i)`` (positive). Pass ``d`` itself (e.g. the sum of the other
    concentrations), not ``(a + d) - a``. Derivatives by autodiff.
    """
    a, d = jnp.broadcast_arrays(as_float(a), as_float(d))
    return _trigamma_difference(a, d.astype(a.dtype))
