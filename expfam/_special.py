"""Special functions in forms that stay accurate in float32 and float64.

Each function states the identity it evaluates and where it switches formula.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.special import digamma, polygamma

Array = jax.Array

# Asymptotic switch: below it the direct formula loses at most log10(32) digits.
_ASYMPTOTIC_FROM = 8.0


def _asymptotic_arg(x: Array) -> Array:
    return jnp.maximum(x, _ASYMPTOTIC_FROM)


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


def trigamma_minus_reciprocal(x: Array) -> Array:
    """``trigamma(x) - 1/x`` for x > 0, without cancellation for large x.

    For x >= 8 the series ``1/(2x^2) + 1/(6x^3) - 1/(30x^5) + 1/(42x^7) - 1/(30x^9) + 5/(66x^11)``;
    below, the direct difference.
    """
    big = _asymptotic_arg(x)
    r = 1.0 / big
    z = r * r
    series = z * (0.5 + r * (1 / 6 + z * (-1 / 30 + z * (1 / 42 + z * (-1 / 30 + z * 5 / 66)))))
    small = jnp.minimum(x, _ASYMPTOTIC_FROM)
    return jnp.where(x >= _ASYMPTOTIC_FROM, series, polygamma(1, small) - 1.0 / small)


def trigamma(x: Array) -> Array:
    """The trigamma function psi'(x)."""
    return polygamma(1, x)


# Poisson rates below this use the exact (truncated) sum, above it the asymptotic series.
_POISSON_SERIES_FROM = 200.0
# Terms kept in the sum: the mass beyond them is below 1e-30 for every rate below the switch.
_POISSON_TERMS = 450


def poisson_expected_log_factorial(rate: Array) -> Array:
    """``E[log x!]`` for x ~ Poisson(rate).

    Below rate 200, the sum ``sum_k p(k) log k!`` over k < 450 (the omitted tail mass is
    below 1e-30). Above it, from the entropy expansion
    ``H = 1/2 log(2 pi e r) - 1/(12 r) - 1/(24 r^2) - 19/(360 r^3) + O(r^-4)`` and
    ``H = r - r log r + E[log x!]`` (truncation error below 1e-10 absolute at r = 200).
    """
    small = jnp.minimum(rate, _POISSON_SERIES_FROM)
    k = jnp.broadcast_to(jnp.arange(_POISSON_TERMS, dtype=rate.dtype), small.shape + (_POISSON_TERMS,))
    log_factorial = log_factorial_of(k)
    log_pmf = jax.scipy.special.xlogy(k, small[..., None]) - small[..., None] - log_factorial
    exact = jnp.sum(jnp.exp(log_pmf) * log_factorial, axis=-1)

    big = jnp.maximum(rate, _POISSON_SERIES_FROM)
    inv = 1.0 / big
    entropy = 0.5 * jnp.log(2 * jnp.pi * jnp.e * big) - inv * (1 / 12 + inv * (1 / 24 + inv * 19 / 360))
    series = entropy - big + big * jnp.log(big)
    return jnp.where(rate < _POISSON_SERIES_FROM, exact, series)


def log_factorial_of(k: Array) -> Array:
    """``log k!`` for k >= 0, exactly 0 at k = 0 and k = 1 (where float32 lgamma is not)."""
    return jnp.where(k < 2, 0.0, jax.scipy.special.gammaln(jnp.maximum(k, 2.0) + 1)).astype(k.dtype)
