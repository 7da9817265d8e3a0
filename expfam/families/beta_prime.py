"""Beta prime (inverted beta): a positive ratio x > 0 with shapes a, b > 0.

``q(x) = x^(a - 1) (1 + x)^(-a - b) / B(a, b)``: the odds ``x = u / (1 - u)`` of ``u ~ Beta(a, b)``,
or the ratio of independent ``Gamma(a)`` and ``Gamma(b)`` variables. Written as
``q(x) = (1 / x) (x / (1 + x))^a (1 / (1 + x))^b / B(a, b)``: natural parameters ``eta = (a, b)``,
``T(x) = (log(x / (1 + x)), -log1p(x))``, ``log h(x) = -log x``, ``g(eta) = lbeta(a, b)``.
These are the Beta family's ``eta``, ``T(u)`` at ``u = x / (1 + x)`` (``log u``, ``log(1 - u)``) and
``g``, so the log-normalizer, expectation
``(digamma(a) - digamma(a + b), digamma(b) - digamma(a + b))``, Fisher
``[[trigamma(a) - t, -t], [-t, trigamma(b) - t]]`` (``t = trigamma(a + b)``), the inverse map
(the Beta's Newton solver, ``expfam.families.beta``) and the KL divergence (invariant under the
change of variable) are the Beta's. Only the carrier differs: ``E[log h] = -E[log x] =
digamma(b) - digamma(a)``, so the entropy is the Beta's minus ``2 E[log(1 - u)]`` (see
``stable_entropy`` for shapes below 1) and
``-log q(x)`` is the Beta's at u plus ``2 log1p(x)`` (the Jacobian ``du / dx = (1 - u)^2``).

Why ``eta = (a, b)`` rather than ``(a, -(a + b))`` with ``T = (log x, log1p(x))``: both give the
same distributions, but in the second ``b = -eta_2 - eta_1`` is lost to rounding once it falls
below the spacing of the floating-point numbers near a, so a link could not guarantee a valid eta.

Documented range: the Beta's, ``1e-4 <= a, b <= 1e6``. A float32 sample that overflows to inf or
underflows to 0 (tiny a or b: a heavy tail at infinity or a spike at 0) is outside the support,
so its log-probability is -inf.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import supports
from expfam._core.family import Array, broadcast_to_draws
from expfam._numerics import special
from expfam._numerics.incomplete_beta import regularized_beta
from expfam.families import beta, dirichlet
from expfam.families.beta import Beta


def _log_odds_parts(x: Array) -> tuple[Array, Array]:
    """``(log(x / (1 + x)), -log1p(x))`` for ``x > 0``: ``log x - log1p(x)`` below 1 (two negative
    terms), ``-log1p(1 / x)`` from 1 on (exact, and no overflow of ``1 / x`` for tiny x)."""
    below = x < 1.0
    small = jnp.where(below, x, 0.5)
    large = jnp.where(below, 1.0, x)
    log_u = jnp.where(below, jnp.log(small) - special.log1p(small), -special.log1p(1.0 / large))
    return log_u, -special.log1p(x)


@dataclasses.dataclass(frozen=True)
class BetaPrime(Beta):
    """Beta prime (inverted beta): a positive ratio ``x > 0``, the odds ``u / (1 - u)`` of ``u ~ Beta(a, b)``.

    Shares the Beta's natural parameters, g, expectation, Fisher, inverse map, natural domain,
    canonical link, source parameters and KL (all inherited); the sample space is what differs.

    * density: ``q(x) = x^(a - 1) (1 + x)^(-a - b) / B(a, b)``; support ``x > 0``
    * natural parameters (M = 2): ``eta = (alpha, beta)``, the shapes ``(a, b)``
    * sufficient statistics ``T(x) = (log(x / (1 + x)), -log(1 + x))``; carrier ``h(x) = 1 / x``
    * log-normalizer ``g(eta) = lbeta(a, b)``
    * expectation parameters ``E[T(x)] = (digamma(a) - digamma(a + b), digamma(b) - digamma(a + b))``
    * source parameters: ``alpha = a``, ``beta = b``
    * scipy: ``scipy.stats.betaprime(alpha, beta)``
    * TFP: none (no beta prime distribution in TFP)
    * canonical link ``link(raw)``: ``eta = (positive(raw_1), positive(raw_2))``, ``positive = softplus + tiny``
    * source head ``source_link(BetaPrime())``: ``alpha = positive(raw_1)``, ``beta = positive(raw_2)``
    """

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py

    catalogue = (
        (
            {},
            (
                {"alpha": 2.0, "beta": 3.0},
                {"alpha": 0.5, "beta": 4.0},
                {"alpha": 50.0, "beta": 20.0},
                {"alpha": 0.6, "beta": 0.9},
            ),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """The Beta's cancellation-free ``nll`` (``dirichlet.nll``) at ``u = x / (1 + x)``, plus
        ``2 log1p(x)``. The offset ``u - a / (a + b) = (b x - a) / ((1 + x)(a + b))`` (below) and the
        logarithms of u and 1 - u are taken from x, without rounding u itself; ``log(u_k / m_k)`` is
        ``log1p`` of the relative offset ``r_k`` where ``r_k > -1/2`` (a difference of two rounded
        logarithms of size ``log m_k`` would carry their rounding, times ``a_k``, into the result)."""
        a, b = eta[..., 0], eta[..., 1]
        total = a + b
        mean = eta / total[..., None]
        # u - m_0 = (x - a / b) / ((1 + x)(1 + a / b)) = (x b / a - 1) / ((1 + x)(1 + b / a)): one
        # rounding in the ratio (at most 1), as in the Beta's x - m_0; x - a / b is exact near a / b.
        lower = a <= b
        ratio = jnp.where(lower, a / b, b / a)
        offset = jnp.where(lower, x - ratio, x * ratio - 1.0) / ((1.0 + x) * (1.0 + ratio))
        relative = jnp.stack([offset, -offset], axis=-1) / mean
        # log(u_k / m_k): log1p of the relative offset (one rounding) unless u_k <= m_k / 2.
        log_ratio = jnp.where(
            relative > -0.5,
            special.log1p(jnp.maximum(relative, -0.5)),
            self.sufficient_statistics(x) - jnp.log(mean),
        )
        beta_nll = dirichlet.nll(eta, relative, log_ratio, jnp.zeros_like(offset))
        return beta_nll + 2.0 * special.log1p(x)

    def stable_entropy(self, eta: Array) -> Array:
        """``H = log B(a, b) + (a + b) digamma(a + b) - (a - 1) digamma(a) - (b + 1) digamma(b)``.

        Unless both shapes are below 1: the Beta's entropy (``dirichlet.entropy``, free of the
        ``a log a`` cancellations) minus ``2 E[log(1 - u)] = 2 (digamma(a + b) - digamma(b)) >= 0``.
        Both below 1, those two cancel terms of size ``1 / a`` (``a = b = 1e-4``: -1e4 + 1e4 to 10.9);
        there ``digamma(x) = digamma(x + 1) - 1 / x`` takes the poles out analytically:
        ``H = log B + (a + b) digamma(a + b + 1) - (a - 1) digamma(a + 1) - (b + 1) digamma(b + 1)
        + 1 + (a - b) / (a b)``, whose digamma terms are O(1).
        """
        a, b = eta[..., 0], eta[..., 1]
        small = (a < 1.0) & (b < 1.0)
        a_s, b_s = jnp.where(small, a, 0.5), jnp.where(small, b, 0.5)
        digamma = special.digamma
        tiny = (special.lbeta(a_s, b_s) + (a_s + b_s) * digamma(a_s + b_s + 1.0) - (a_s - 1.0) * digamma(a_s + 1.0)
                - (b_s + 1.0) * digamma(b_s + 1.0) + 1.0 + (a_s - b_s) / (a_s * b_s))  # fmt: skip
        safe = jnp.where(small[..., None], 1.0, eta)
        general = super().stable_entropy(safe) - 2.0 * self.expectation(safe)[..., 1]
        return jnp.where(small, tiny, general)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack(_log_odds_parts(x), axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def expected_log_carrier(self, eta: Array) -> Array:
        """``-E[log x] = E[log(1 - u)] - E[log u]`` (each from the Beta's stable expectation)."""
        chi = self.expectation(eta)
        return chi[..., 1] - chi[..., 0]

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """``x = G_a / G_b`` for independent ``G_a ~ Gamma(a)``, ``G_b ~ Gamma(b)``, from their
        logarithms (no ``u / (1 - u)`` with u rounded to 1, no underflow of a small gamma draw)."""
        a, b = broadcast_to_draws(shape, eta[..., 0], eta[..., 1])
        a_key, b_key = jax.random.split(key)
        log_a = jax.random.loggamma(a_key, a, a.shape, eta.dtype)
        log_b = jax.random.loggamma(b_key, b, b.shape, eta.dtype)
        return jnp.exp(log_a - log_b)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = I_u(a, b)`` at ``u = x / (1 + x)`` (regularized incomplete beta); above
        ``x = 1`` as ``1 - I_(1 / (1 + x))(b, a)``, which keeps ``1 - u`` exact. 0 for ``x <= 0``, NaN for NaN."""
        a, b, x = jnp.broadcast_arrays(eta[..., 0], eta[..., 1], x)
        positive = x > 0
        below = x <= 1.0
        small = jnp.where(positive & below, x, 0.5)
        large = jnp.where(below, 1.0, x)
        lower = regularized_beta(a, b, small / (1.0 + small), 1.0 / (1.0 + small))
        upper = 1.0 - regularized_beta(b, a, 1.0 / (1.0 + large), large / (1.0 + large))
        return jnp.where(positive, jnp.where(below, lower, upper), jnp.where(x <= 0, 0.0, jnp.nan))

    # -- summaries (``u = x / (1 + x) ~ Beta(a, b)``) -------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``a / (b - 1)`` for ``b > 1``, inf otherwise."""
        a, b = eta[..., 0], eta[..., 1]
        return jnp.where(b > 1, a / jnp.where(b > 1, b - 1.0, 1.0), jnp.inf)

    def var(self, eta: Array) -> Array:
        """``a (a + b - 1) / ((b - 2) (b - 1)^2)`` for ``b > 2``, inf otherwise."""
        a, b = eta[..., 0], eta[..., 1]
        safe = jnp.where(b > 2, b, 3.0)
        return jnp.where(b > 2, a * (a + safe - 1.0) / ((safe - 2.0) * (safe - 1.0) ** 2), jnp.inf)

    def mode(self, eta: Array) -> Array:
        """``(a - 1) / (b + 1)`` for ``a >= 1``; 0 for ``a < 1`` (the density is unbounded at 0)."""
        return jnp.maximum(eta[..., 0] - 1.0, 0.0) / (eta[..., 1] + 1.0)

    def survival(self, eta: Array, x: Array) -> Array:
        """``I_(1 / (1 + x))(b, a)`` (1 for ``x <= 0``)."""
        positive = jnp.maximum(x, 0.0)
        return regularized_beta(eta[..., 1], eta[..., 0], 1.0 / (1.0 + positive), positive / (1.0 + positive))

    def quantile(self, eta: Array, p: Array) -> Array:
        """``exp(logit(u))`` for the Beta quantile u, since ``logit(x / (1 + x)) = log x``."""
        return jnp.exp(beta.logit_quantile(eta[..., 0], eta[..., 1], p))
