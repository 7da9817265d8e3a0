"""Beta: a proportion x in (0, 1) with concentrations a, b > 0.

``q(x) = x^(a - 1) (1 - x)^(b - 1) / B(a, b)``. Natural parameters ``eta = (a, b)``,
``T(x) = (log x, log1p(-x))``, ``log h(x) = -log x - log1p(-x)``, ``g(eta) = lbeta(a, b)``. Expectation
``(digamma(a) - digamma(a + b), digamma(b) - digamma(a + b))``; Fisher
``[[trigamma(a) - t, -t], [-t, trigamma(b) - t]]`` with ``t = trigamma(a + b)``.
This is the two-coordinate Dirichlet, and the inverse map is the Dirichlet's Newton solver
(see ``expfam.families.dirichlet``).

Documented range: ``1e-4 <= a, b <= 1e6``. A float32 sample that rounds to exactly 0 or 1
(tiny a or b) is outside the open interval, so its log-probability is -inf.
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax
import jax.numpy as jnp

from expfam._core import constraints, quantiles, supports
from expfam._core.family import Array, CatalogueRow, ExponentialFamily, SourceParameter, iterative
from expfam._numerics.incomplete_beta import regularized_beta
from expfam.families import dirichlet


@dataclasses.dataclass(frozen=True)
class Beta(ExponentialFamily):
    """Beta: a proportion ``0 < x < 1`` with concentrations ``a, b > 0``.

    * density: ``q(x) = x^(a - 1) (1 - x)^(b - 1) / B(a, b)``; support ``0 < x < 1``
    * natural parameters (M = 2): ``eta = (alpha, beta)``, the concentrations ``(a, b)``
    * sufficient statistics ``T(x) = (log x, log(1 - x))``; carrier ``h(x) = 1 / (x (1 - x))``
    * log-normalizer ``g(eta) = lbeta(a, b) = lgamma(a) + lgamma(b) - lgamma(a + b)``
    * expectation parameters ``E[T(x)] = (digamma(a) - digamma(a + b), digamma(b) - digamma(a + b))``
    * source parameters: ``alpha = a`` (the exponent of x), ``beta = b`` (the exponent of 1 - x)
    * scipy: ``scipy.stats.beta(alpha, beta)``
    * TFP: ``tfd.Beta(concentration1=alpha, concentration0=beta)``
    * canonical link ``link(raw)``: ``eta = (positive(raw_1), positive(raw_2))``, ``positive = softplus + tiny``
    * source head ``source_link(Beta())``: ``alpha = positive(raw_1)``, ``beta = positive(raw_2)`` (the same map)
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue: ClassVar[tuple[CatalogueRow, ...]] = (
        (
            {},
            (
                {"alpha": 2.0, "beta": 3.0},
                {"alpha": 0.3, "beta": 2.0},
                {"alpha": 1000.0, "beta": 1000.0},
                {"alpha": 1000.0, "beta": 20.0},
                {"alpha": 0.5, "beta": 40.0},
            ),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.UnitInterval()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("alpha", constraints.positive), SourceParameter("beta", constraints.positive))

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, alpha: Array, beta: Array) -> Array:
        alpha, beta = jnp.broadcast_arrays(jnp.asarray(alpha), jnp.asarray(beta))
        return jnp.stack([alpha, beta], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"alpha": eta[..., 0], "beta": eta[..., 1]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return dirichlet.log_normalizer(eta)

    def expectation(self, eta: Array) -> Array:
        return dirichlet.mean_log(eta)

    def fisher(self, eta: Array) -> Array:
        return dirichlet.fisher(eta)

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        return dirichlet.concentration_from_mean_log(chi)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """The Dirichlet's cancellation-free ``nll`` on ``(x, 1 - x)``: the offset from the mean is
        taken on the smaller of x and 1 - x (exact for ``x >= 1/2``), the other is its negative."""
        mean = eta / jnp.sum(eta, axis=-1, keepdims=True)
        lower = x < 0.5
        offset = jnp.where(lower, x - mean[..., 0], mean[..., 1] - (1.0 - x))
        offsets = jnp.stack([offset, -offset], axis=-1)
        log_ratio = self.sufficient_statistics(x) - jnp.log(mean)
        return dirichlet.nll(eta, offsets / mean, log_ratio, jnp.zeros_like(x))

    def stable_entropy(self, eta: Array) -> Array:
        """The Dirichlet's cancellation-free entropy (see ``dirichlet.entropy``)."""
        return dirichlet.entropy(eta)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """The Dirichlet's cancellation-free KL (see ``dirichlet.kl_divergence``)."""
        return dirichlet.kl_divergence(eta_p, eta_q)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([jnp.log(x), jnp.log1p(-x)], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x) - jnp.log1p(-x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all((eta > 0) & (eta < jnp.inf), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -jnp.sum(dirichlet.mean_log(eta), axis=-1)

    def link(self, raw: Array) -> Array:
        """``(positive(raw_1), positive(raw_2))``: both concentrations softplus + tiny."""
        return constraints.positive(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        a, b = eta[..., 0], eta[..., 1]
        return jax.random.beta(key, a, b, shape + a.shape, eta.dtype)

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``a / (a + b)``."""
        return eta[..., 0] / (eta[..., 0] + eta[..., 1])

    def var(self, eta: Array) -> Array:
        """``a b / ((a + b)^2 (a + b + 1))``."""
        a, b = eta[..., 0], eta[..., 1]
        total = a + b
        return a * b / (total * total * (total + 1.0))

    def mode(self, eta: Array) -> Array:
        """``(a - 1) / (a + b - 2)`` for ``a, b > 1``. Otherwise the density is largest (or unbounded)
        at an end: 0 if ``a <= 1 < b``, 1 if ``b <= 1 < a``; with both at most 1, the end where it
        diverges faster, 0 if ``a <= b`` else 1 (the uniform ``a = b = 1`` gives 0)."""
        a, b = eta[..., 0], eta[..., 1]
        interior = (a > 1) & (b > 1)
        inner = (a - 1.0) / jnp.where(interior, a + b - 2.0, 1.0)
        end = jnp.where((a <= 1) & (b > 1), 0.0, jnp.where((b <= 1) & (a > 1), 1.0, jnp.where(a <= b, 0.0, 1.0)))
        return jnp.where(interior, inner, end)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``I_x(a, b)`` (``incomplete_beta.regularized_beta`` with ``1 - x``); 0 below 0, 1 above 1."""
        inside = jnp.clip(x, 0.0, 1.0)
        return regularized_beta(eta[..., 0], eta[..., 1], inside, 1.0 - inside)

    def survival(self, eta: Array, x: Array) -> Array:
        """``I_(1 - x)(b, a)``."""
        inside = jnp.clip(x, 0.0, 1.0)
        return regularized_beta(eta[..., 1], eta[..., 0], 1.0 - inside, inside)

    def quantile(self, eta: Array, p: Array) -> Array:
        """``sigmoid(z)`` with z the logit of the quantile (``logit_quantile``)."""
        return jax.nn.sigmoid(logit_quantile(eta[..., 0], eta[..., 1], p))


def _log_tail(ab: tuple[Array, Array], z: Array, upper: Array) -> Array:
    """``log I_u(a, b)`` at ``u = sigmoid(z)``, or where ``upper`` ``log I_(1 - u)(b, a)`` (the
    survival function); ``1 - u = sigmoid(-z)``: both ends exact."""
    a, b = ab
    first, second = jnp.where(upper, b, a), jnp.where(upper, a, b)
    return jnp.log(
        regularized_beta(
            first, second, jax.nn.sigmoid(jnp.where(upper, -z, z)), jax.nn.sigmoid(jnp.where(upper, z, -z))
        )
    )


def logit_quantile(a: Array, b: Array, p: Array) -> Array:
    """``logit(u)`` for the ``Beta(a, b)`` quantile u: solved on the logit (``quantiles.continuous_quantile``,
    both tails accurate) from ``log(a / b)`` within ``+-2 log(tiny)``. (The derivative in a and b
    needs that of the incomplete beta function, which JAX does not provide; the one in p is exact.)"""
    bound = -2.0 * jnp.log(jnp.finfo(p.dtype).tiny)
    return quantiles.continuous_quantile(_log_tail, (a, b), p, (-bound, bound), jnp.log(a) - jnp.log(b))
