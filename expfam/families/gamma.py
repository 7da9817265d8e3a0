"""Gamma: a positive, skewed target with shape k and rate r.

``q(x) = r^k x^(k-1) e^(-r x) / Gamma(k)``. Natural parameters ``eta = (-r, k)``,
``T(x) = (x, log x)``, ``h(x) = 1/x``, ``g(eta) = lgamma(k) - k log r``.
Expectation ``(k / r, digamma(k) - log r)``; Fisher
``[[k / r^2, 1 / r], [1 / r, trigamma(k)]]``.

Inverse (expectation -> natural): with ``s = log E[x] - E[log x] > 0``, the shape solves
``log k - digamma(k) = s``; then ``r = k / E[x]``. Newton steps on ``1/k`` from the
closed-form initial guess ``k0 = (3 - s + sqrt((s - 3)^2 + 24 s)) / (12 s)`` (within a
few percent everywhere), with both ``log k - digamma(k)`` and its derivative evaluated
without cancellation for large k.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, quantiles, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws, iterative
from expfam._numerics import iterate, special
from expfam._numerics.incomplete_gamma import regularized_gamma

NEWTON_STEPS = 5


def _lgamma_excess(k: Array) -> Array:
    """``lgamma(k) - k log k + k = 1/2 log(2 pi / k) + delta(k)``, without the large terms."""
    return special.HALF_LOG_TWO_PI - 0.5 * jnp.log(k) + special.stirling_remainder(k)


def initial_shape(s: Array) -> Array:
    """Closed-form approximate solution of ``log k - digamma(k) = s`` (exact as s -> 0 and s -> inf)."""
    return (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)


def shape_from_log_gap(s: Array) -> Array:
    """Solve ``log k - digamma(k) = s`` for k > 0 (s > 0)."""
    k0 = initial_shape(s)

    def newton_step(k: Array) -> Array:
        # f(k) = log k - digamma(k) - s, f'(k) = 1/k - trigamma(k) = -(trigamma(k) - 1/k).
        residual = special.log_minus_digamma(k) - s
        slope = -special.trigamma_minus_reciprocal(k)
        return k - residual / slope

    return iterate.newton(newton_step, k0, NEWTON_STEPS)


def _log_tail(shape: Array, z: Array, upper: Array) -> Array:
    """``log P(shape, e^z)`` (the cdf of ``Gamma(shape, 1)`` at ``e^z``), or where ``upper`` ``log Q``."""
    lower_tail, upper_tail = regularized_gamma(shape, jnp.exp(z))
    return jnp.log(jnp.where(upper, upper_tail, lower_tail))


def standard_gamma_quantile(shape: Array, p: Array, upper: bool = False) -> Array:
    """The y with ``P(Y <= y) = p`` (``P(Y > y) = p`` if ``upper``) for ``Y ~ Gamma(shape, 1)``.

    Solved on ``z = log y`` (``quantiles.continuous_quantile``: Newton on the log of the tail on the
    side of p, so both tails keep their relative accuracy), from ``z = log shape`` (inside the bulk)
    and within ``[2 log(tiny), log(max)]`` of the dtype; the upper form solves on ``-z``.
    """
    info = jnp.finfo(p.dtype)
    lo, hi = 2.0 * jnp.log(info.tiny), jnp.log(info.max)
    shape = jnp.asarray(shape, p.dtype)
    if not upper:
        return jnp.exp(quantiles.continuous_quantile(_log_tail, shape, p, (lo, hi), jnp.log(shape)))
    flipped = quantiles.continuous_quantile(
        lambda k, w, side: _log_tail(k, -w, ~side), shape, p, (-hi, -lo), -jnp.log(shape)
    )
    return jnp.exp(-flipped)


@dataclasses.dataclass(frozen=True)
class Gamma(ExponentialFamily):
    """Gamma: a positive, skewed target with shape k and rate r.

    * density: ``q(x) = r^k x^(k - 1) e^(-r x) / Gamma(k)``; support ``x > 0``
    * natural parameters (M = 2): ``eta = (-rate, shape)``, that is ``(-r, k)``
    * sufficient statistics ``T(x) = (x, log x)``; carrier ``h(x) = 1 / x``
    * log-normalizer ``g(eta) = lgamma(k) - k log r``
    * expectation parameters ``E[T(x)] = (k / r, digamma(k) - log r)``
    * source parameters: ``shape = k``, ``rate = r`` (the mean is ``k / r``)
    * scipy: ``scipy.stats.gamma(shape, scale=1 / rate)``
    * TFP: ``tfd.Gamma(concentration=shape, rate=rate)``
    * canonical link ``link(raw)``: ``eta = (-positive(raw_1), positive(raw_2))``, ``positive = softplus + tiny``
      (rate from the first output, shape from the second, in eta's order)
    * source head ``source_link(Gamma())``: ``shape = positive(raw_1)``, ``rate = positive(raw_2)``
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue = (({}, ({"shape": 2.0, "rate": 3.0}, {"shape": 0.05, "rate": 1.0}, {"shape": 50.0, "rate": 0.5})),)

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("shape", constraints.positive), SourceParameter("rate", constraints.positive))

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, shape: Array, rate: Array) -> Array:
        shape, rate = jnp.broadcast_arrays(jnp.asarray(shape), jnp.asarray(rate))
        return jnp.stack([-rate, shape], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"shape": eta[..., 1], "rate": -eta[..., 0]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        return special.lgamma(shape) - shape * jnp.log(rate)

    def expectation(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        # digamma(k) - log r written as log(k / r) - (log k - digamma(k)): no cancellation
        # when k and r are both large.
        # E[log x]'s derivative is that of log k - log r (exactly 1/r in eta_0, the closed-form
        # Fisher): the derivative of log(k / r) rounds k / r and r / k, which the gradients
        # -g''(eta_p) (eta_q - eta_p) multiply by terms that cancel (1.3% at k = 1e6 against
        # rate 1e-30 in float32). ``quotient``: no NaN from a zero cotangent where k / r^2 overflows.
        mean = special.quotient(shape, rate)
        log_mean = jnp.log(shape) - jnp.log(rate)
        log_mean = log_mean + jax.lax.stop_gradient(jnp.log(mean) - log_mean)
        return jnp.stack([mean, log_mean - special.log_minus_digamma(shape)], axis=-1)

    def fisher(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        cross = 1.0 / rate
        rows = [jnp.stack([shape / rate**2, cross], -1), jnp.stack([cross, special.trigamma(shape)], -1)]
        return jnp.stack(rows, axis=-2)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``k E(r x / k) + log x + lgamma(k) - k log k + k``, ``E(z) = z - 1 - log z``.

        Equal to ``r x - k log r - (k - 1) log x + lgamma(k)``, whose terms of size ``k log k``
        cancel for large k; with ``lgamma(k) - k log k + k = 1/2 log(2 pi / k) + delta(k)``
        (``delta`` the Stirling remainder) only terms of the result's size remain.
        """
        rate, shape = -eta[..., 0], eta[..., 1]
        excess = special.log_ratio_excess(rate / shape * x, (rate * x - shape) / shape)
        return shape * excess + jnp.log(x) + _lgamma_excess(shape)

    def stable_entropy(self, eta: Array) -> Array:
        """``k - log r + lgamma(k) + (1 - k) digamma(k)``
        ``= 1/2 log(2 pi k) + delta(k) + (k - 1)(log k - digamma(k)) - log r``."""
        rate, shape = -eta[..., 0], eta[..., 1]
        excess = special.HALF_LOG_TWO_PI + 0.5 * jnp.log(shape) + special.stirling_remainder(shape)
        return excess + (shape - 1.0) * special.log_minus_digamma(shape) - jnp.log(rate)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """With ``a = k_q / k_p``, ``c = (k_p / r_p) / (k_q / r_q)`` (ratio of the means),
        ``KL = k_q E(c) + E(a) / 2 + delta(k_q) - delta(k_p) - (k_p - k_q) m(k_p)``, where
        ``m(k) = log k - digamma(k) - 1/(2k)`` (``O(1/k^2)``): Stirling's form of
        ``(k_p - k_q) digamma(k_p) - lgamma(k_p) + lgamma(k_q) + k_q log(r_p / r_q) + k_p (r_q / r_p - 1)``.
        """
        r_p, k_p, r_q, k_q = -eta_p[..., 0], eta_p[..., 1], -eta_q[..., 0], eta_q[..., 1]
        c = (k_p / r_p) / (k_q / r_q)
        m = special.log_minus_digamma(k_p) - 0.5 / k_p
        return (k_q * special.log_ratio_excess(c) + 0.5 * special.log_ratio_excess(k_q / k_p)
                + special.stirling_remainder(k_q) - special.stirling_remainder(k_p) - (k_p - k_q) * m)  # fmt: skip

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        mean, mean_log = chi[..., 0], chi[..., 1]
        shape = shape_from_log_gap(jnp.log(mean) - mean_log)
        return jnp.stack([-shape / mean, shape], axis=-1)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([x, jnp.log(x)], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return (eta[..., 0] < 0) & (eta[..., 1] > 0)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -self.expectation(eta)[..., 1]

    def link(self, raw: Array) -> Array:
        """``(-positive(raw_1), positive(raw_2))``: rate and shape both softplus."""
        return jnp.stack([constraints.negative(raw[..., 0]), constraints.positive(raw[..., 1])], axis=-1)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        rate, k = broadcast_to_draws(shape, -eta[..., 0], eta[..., 1])
        return jax.random.gamma(key, k, k.shape, eta.dtype) / rate

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = P(k, r x)``, the regularized lower incomplete gamma function (0 for x <= 0;
        ``incomplete_gamma.regularized_gamma``, accurate for large k in float32)."""
        return regularized_gamma(eta[..., 1], -eta[..., 0] * jnp.maximum(x, 0.0))[0]

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``k / r``."""
        return -eta[..., 1] / eta[..., 0]

    def var(self, eta: Array) -> Array:
        """``k / r^2``."""
        return eta[..., 1] / (eta[..., 0] * eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """``(k - 1) / r`` for ``k >= 1``; 0 for ``k < 1``, where the density is unbounded at 0."""
        return jnp.maximum(eta[..., 1] - 1.0, 0.0) / -eta[..., 0]

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x) = Q(k, r x)``, the regularized upper incomplete gamma function (1 for x <= 0)."""
        return regularized_gamma(eta[..., 1], -eta[..., 0] * jnp.maximum(x, 0.0))[1]

    def quantile(self, eta: Array, p: Array) -> Array:
        """``standard_gamma_quantile(k, p) / r``: accurate in both tails."""
        return standard_gamma_quantile(eta[..., 1], p) / -eta[..., 0]
