"""Negative binomial with a known r > 0: an over-dispersed count x in {0, 1, 2, ...}.

``q(x) = Gamma(x + r) / (Gamma(r) x!) (1 - p)^r p^x``: the number of events before the r-th
non-event, each event with probability p (mean ``r p / (1 - p)``, variance ``mean (1 + mean / r)``).
Natural parameter ``eta = log p < 0``, ``T(x) = x``,
``log h(x) = lgamma(x + r) - lgamma(r) - lgamma(x + 1) = -log(x + r) - lbeta(r, x + 1)``,
``g(eta) = -r log(1 - e^eta) = -r log(-expm1(eta))``. Expectation ``r / expm1(-eta)``; Fisher
``mean + mean^2 / r``; inverse ``eta = -log1p(r / mean)``. ``NegativeBinomial(1)`` is the
geometric distribution on {0, 1, ...}. scipy's ``nbinom(r, 1 - p)`` is the same distribution.

The nll of a sample takes Loader's saddle-point form (``NegativeBinomial.stable_nll``): the terms of
size ``x log x`` and ``r log r`` that ``-x eta + g - log h`` subtracts cancel analytically. (Geometric,
r = 1, keeps the generic form, whose two terms are non-negative.)

Expected log carrier. With Malmsten's integral for ``lgamma``,
``lgamma(x + r) - lgamma(x + 1) = int_0^inf [(r - 1) e^-t - e^-t expm1(-(r - 1) t) / expm1(-t) e^(-x t)] dt / t``,
and ``E[e^(-x t)] = P(t) = ((1 - p) / (1 - p e^-t))^r`` (the generating function). The same
integral at x = 0 is ``lgamma(r)``, so ``lgamma(r)`` cancels inside the integrand:
``E[log h] = int D(t) (1 - P(t)) dt / t = int F(e^s) ds`` with
``D(t) = (e^-t - e^(-r t)) / (1 - e^-t)`` and ``F(t) = D(t) (1 - P(t))``, a product without
subtraction (``1 - P = -expm1(-r log1p(p (1 - e^-t) / (1 - p)))``), so neither a large
``lgamma(r)`` nor the float32 rounding of the terms ``(r - 1) e^-t`` and ``P D`` (which cancel as
t -> 0) enters. The integral over s is taken by
the trapezoid rule on ``NODES`` nodes over ``[-log(mean + r + 1) - 39, log(40 / min(r, 1))]``: beyond
these ends ``|F|`` is below ``e^-39`` relative (``F = O(t (r - 1) mean)`` as t -> 0,
``O(r e^(-min(r, 1) t))`` as t -> inf), and the trapezoid rule converges geometrically for this analytic,
rapidly decaying integrand (step at most 0.25 for means up to 1e8; measured against mpmath in
tests/test_accuracy.py).
Documented range: ``1e-3 <= r <= 1e4``, means ``1e-6 .. 1e8`` (``eta`` in ``[-30, -1e-8]``).
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from expfam._core import quantiles, supports
from expfam._core.family import Array, broadcast_to_draws
from expfam._numerics import special
from expfam._numerics.incomplete_beta import regularized_beta
from expfam.families._log_probability import LogProbability

#: Trapezoid nodes of the expected-log-carrier integral (see the module docstring).
NODES = 256
_TAIL_DECADES = 39.0
_T_MAX = 40.0
_GRID_BITS = 10


class NegativeBinomialBase(LogProbability):
    """The negative binomial's math for a subclass that provides ``r`` (a field or a constant)."""

    r: float

    def log_normalizer_formula(self, eta: Array) -> Array:
        return -self.r * special.log1mexp(eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return self.r / jnp.expm1(-eta)

    def fisher(self, eta: Array) -> Array:
        mean = self.expectation(eta)
        return (mean + mean * mean / self.r)[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return -jnp.log1p(self.r / chi)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``r [c expm1mx(d) - log1pmx(-c expm1(d))]`` with ``d = eta_q - eta_p`` and
        ``c = p / (1 - p) = 1 / expm1(-eta_p)``: the Bregman divergence
        ``r log((1 - p) / (1 - p_q)) - d mean`` as a sum of two non-negative terms (their large
        parts ``r log(...)`` and ``d mean`` cancel analytically)."""
        d = eta_q[..., 0] - eta_p[..., 0]
        c = 1.0 / jnp.expm1(-eta_p[..., 0])
        return self.r * (c * special.expm1mx(d) - special.log1pmx(-c * jnp.expm1(d)))

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x + self.r) - special.lbeta(jnp.full_like(x, self.r), x + 1.0)

    def _nodes(self, mean: Array) -> tuple[Array, Array]:
        """Trapezoid nodes ``t = e^s`` of the integrals over s (module docstring) and the step in s.

        The nodes lie on a grid of 2^-GRID_BITS: low and the step are multiples of it, so every node
        low + i step is exact (in float32 a node s ~ -45 would otherwise carry an error of 45 eps,
        a non-uniform step that the trapezoid rule turns into errors of 1e-6).
        """
        r = self.r
        grid = 2.0**_GRID_BITS
        low = jnp.floor((-jnp.log(mean + r + 1.0) - _TAIL_DECADES) * grid) / grid
        high = math.log(_T_MAX / min(r, 1.0))
        step = jnp.ceil((high - low) / (NODES - 1) * grid) / grid
        index = jnp.arange(NODES, dtype=mean.dtype).reshape((1,) * mean.ndim + (NODES,))
        return jnp.exp(jax.lax.stop_gradient(low[..., None] + step[..., None] * index)), step

    def _carrier_kernel(self, t: Array) -> Array:
        """``D(t) = (e^-t - e^(-r t)) / (1 - e^-t)``, without cancellation or overflow."""
        growth = (1.0 - self.r) * t
        # e^-t expm1((1 - r) t) = e^(-r t) - e^-t
        difference = jnp.where(
            growth < 1.0, jnp.exp(-t) * jnp.expm1(jnp.minimum(growth, 1.0)), jnp.exp(-self.r * t) - jnp.exp(-t)
        )
        return difference / jnp.expm1(-t)

    def expected_log_carrier(self, eta: Array) -> Array:
        log_p = eta[..., 0]
        p, q = jnp.exp(log_p), -jnp.expm1(log_p)
        t, step = self._nodes(self.r / jnp.expm1(-log_p))
        log_generating = -self.r * jnp.log1p(p[..., None] * -jnp.expm1(-t) / q[..., None])
        integrand = self._carrier_kernel(t) * -jnp.expm1(log_generating)
        return step * (jnp.sum(integrand, axis=-1) - 0.5 * (integrand[..., 0] + integrand[..., -1]))

    def stable_entropy(self, eta: Array) -> Array:
        """``H = -L - E[R]`` without the terms of size ``r log(1 + mean / r)`` that
        ``g - eta . mean - E[log h]`` subtracts.

        With ``Phi(x) = lgamma(x + r) - lgamma(r) - lgamma(x + 1) = int D(t) (1 - e^(-x t)) dt / t``
        and m the mean, ``log q(x) = Phi(x) + x log p + r log(1 - p)`` splits into
        ``L = Phi(m) + m log p + r log(1 - p)`` and ``R(x) = Phi(x) - Phi(m) - (x - m) Phi'(m)``
        (the linear term has expectation 0). By Stirling's form (remainder delta)
        ``L = 1 - m log1p(1/m) + 1/2 log((1 - p) / (m + 1)) - 1/2 log(2 pi) + delta(m + r)
        - delta(r) - delta(m + 1)``, and
        ``E[R] = int D(t) (e^(-m t) - P(t)) dt / t = -int D(t) e^(-m t) expm1(E(t)) dt / t`` with
        ``E = log P + m t = r [c expm1mx(-t) - log1pmx(c (1 - e^-t))] >= 0``, ``c = p / (1 - p)``:
        only terms of the entropy's size remain. Same trapezoid nodes as ``expected_log_carrier``.
        """
        r = self.r
        log_p = eta[..., 0]
        mean = r / jnp.expm1(-log_p)
        c = mean / r
        t, step = self._nodes(mean)
        cu = c[..., None] * -jnp.expm1(-t)
        growth = r * (c[..., None] * special.expm1mx(-t) - special.log1pmx(cu))
        mean_t = mean[..., None] * t
        # e^(-m t) expm1(E) = P - e^(-m t): the product where E is small, the difference (P from
        # its own logarithm, not from E - m t, which cancels) where it is large.
        gap = jnp.where(
            growth < 1.0,
            jnp.exp(-mean_t) * jnp.expm1(jnp.minimum(growth, 1.0)),
            jnp.exp(-r * jnp.log1p(cu)) - jnp.exp(-mean_t),
        )
        integrand = -self._carrier_kernel(t) * gap
        expected_remainder = step * (jnp.sum(integrand, axis=-1) - 0.5 * (integrand[..., 0] + integrand[..., -1]))
        # One call on the three arguments stacked: one copy of its program (an lgamma inside).
        delta_total, delta_r, delta_count = special.stirling_remainder(
            jnp.stack([mean + r, jnp.full_like(mean, r), mean + 1.0])
        )
        at_mean = (
            1.0
            - mean * jnp.log1p(1.0 / mean)
            + 0.5 * (special.log1mexp(log_p) - jnp.log1p(mean))
            - special.HALF_LOG_TWO_PI
            + delta_total
            - delta_r
            - delta_count
        )
        return -at_mean - expected_remainder

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = I_{1-p}(r, k + 1)`` for ``k = floor(x) >= 0``, the regularized incomplete beta
        function with ``1 - p = -expm1(eta)`` and ``p = exp(eta)`` (no subtraction, see
        ``incomplete_beta.regularized_beta``); 0 for x < 0. ``r = 1`` (Geometric) gives ``1 - p^(k + 1)``."""
        return self._tail(eta, x, False)

    def _tail(self, eta: Array, x: Array, above: Array | bool) -> Array:
        """``survival`` where ``above``, else ``cdf``: one incomplete beta with reflected arguments."""
        count = jnp.floor(x)
        log_p = eta[..., 0]
        r, k = jnp.full_like(count, self.r), jnp.maximum(count, 0.0) + 1.0
        p, q = jnp.exp(log_p), -jnp.expm1(log_p)
        value = regularized_beta(
            jnp.where(above, k, r), jnp.where(above, r, k), jnp.where(above, p, q), jnp.where(above, q, p)
        )
        return jnp.where(count >= 0, value, jnp.where(above, 1.0, 0.0))

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``r p / (1 - p) = r / expm1(-eta)``."""
        return self.r / jnp.expm1(-eta[..., 0])

    def var(self, eta: Array) -> Array:
        """``mean / (1 - p)``."""
        return self.mean(eta) / -jnp.expm1(eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """``floor((r - 1) p / (1 - p))`` for ``r > 1``, else 0 (where that is an integer, one less
        is a mode too)."""
        return jnp.floor(jnp.maximum(self.r - 1.0, 0.0) / jnp.expm1(-eta[..., 0]))

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x) = I_p(k + 1, r)`` for ``k = floor(x) >= 0`` (``regularized_beta``); 1 for x < 0."""
        return self._tail(eta, x, True)

    def quantile(self, eta: Array, p: Array) -> Array:
        """The smallest count k with ``P(X <= k) >= p`` (``quantiles.integer_quantile``)."""
        return quantiles.integer_quantile(
            lambda k, above: self._tail(eta, k, above), p, 0.0, jnp.inf, jnp.floor(self.mean(eta))
        )

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Gamma-Poisson mixture: ``lambda ~ Gamma(r, scale p / (1 - p))``, ``x ~ Poisson(lambda)``."""
        (log_p,) = broadcast_to_draws(shape, eta[..., 0])
        gamma_key, poisson_key = jax.random.split(key)
        odds = 1.0 / jnp.expm1(-log_p)
        rate = jax.random.gamma(gamma_key, jnp.full_like(log_p, self.r), log_p.shape, eta.dtype) * odds
        return jax.random.poisson(poisson_key, rate, log_p.shape).astype(eta.dtype)


@dataclasses.dataclass(frozen=True)
class NegativeBinomial(NegativeBinomialBase):
    """Negative binomial with ``r > 0`` known: an over-dispersed count ``x in {0, 1, 2, ...}``.

    * density: ``q(x) = Gamma(x + r) / (Gamma(r) x!) (1 - p)^r p^x``, the number of events before the r-th
      non-event; support ``x in {0, 1, ...}``
    * natural parameter (M = 1): ``eta = log(probability)``, below 0
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = Gamma(x + r) / (Gamma(r) x!)``
    * log-normalizer ``g(eta) = -r log(1 - e^eta)``
    * expectation parameter ``E[x] = r p / (1 - p)``; the variance is ``mean (1 + mean / r)``
    * source parameter: ``probability = p``, the probability of an event (a counted trial). scipy's ``p``
      is ``1 - probability`` (scipy counts failures before the r-th success); TFP's ``probs`` is ``probability``
    * scipy: ``scipy.stats.nbinom(r, 1 - probability)``
    * TFP: ``tfd.NegativeBinomial(total_count=r, probs=probability)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(NegativeBinomial(r))``: ``probability = sigmoid(raw)``
    """

    r: float
    catalogue = (
        ({"r": 2.5}, ({"probability": 0.4}, {"probability": 1e-06}, {"probability": 0.999})),
        ({"r": 0.01}, ({"probability": 0.3},)),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Counts()

    def __post_init__(self) -> None:
        if not self.r > 0:
            raise ValueError(f"NegativeBinomial: r must be > 0, got {self.r}")

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``-log q(x)`` in Loader's saddle-point form (the terms of size ``x log x`` and ``r log r``
        cancel analytically, as in ``special.poisson_log_pmf``): ``g(eta)`` at ``x = 0``; for ``x >= 1``,
        with ``n = x + r``, ``p = e^eta``, ``1 - p = -expm1(eta)`` and ``D = r p - x (1 - p)``,

            x E(n p / x) + r E(n (1 - p) / r) + 1/2 log(2 pi x) + 1/2 log1p(x / r) + delta(x) + delta(r) - delta(n)

        with ``E = special.log_ratio_excess`` (its arguments minus 1 passed as ``D / x`` and
        ``-D / r``, which its series reads): the Bernoulli divergence ``bd0`` of the fitted ``x / n``
        from p in two non-negative parts; ``delta`` is the Stirling remainder. The generic
        ``-x eta + g - log h`` subtracts terms of ``~1e4`` to ``~6`` at ``r = 1e4``."""
        r, log_p = self.r, eta[..., 0]
        counted = x >= 1
        k = jnp.where(counted, x, 1.0)
        p, one_minus_p = jnp.exp(log_p), -jnp.expm1(log_p)
        deficit = r * p - k * one_minus_p
        divergence = k * special.log_ratio_excess((k + r) * p / k, deficit / k) + r * special.log_ratio_excess(
            (k + r) * one_minus_p / r, -deficit / r
        )
        remainders = special.stirling_remainder(jnp.asarray(r, k.dtype)) - special.stirling_remainder(k + r)
        counted_nll = divergence + special.poisson_count_term(k) + 0.5 * special.log1p(k / r) + remainders
        return jnp.where(counted, counted_nll, -r * special.log1mexp(log_p))
