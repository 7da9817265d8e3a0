"""Pareto with a known minimum m: a heavy-tailed target x >= m with tail index alpha.

``q(x) = alpha m^alpha / x^(alpha + 1)``. ``eta = -alpha``, ``T(x) = log x``,
``h(x) = 1/x`` on ``x >= m``, ``g(eta) = -log(-eta) + eta log m``.
Expectation ``E[log x] = log m + 1/alpha``; Fisher ``1 / alpha^2``;
inverse ``eta = -1 / (E[log x] - log m)``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import special


@dataclasses.dataclass(frozen=True)
class Pareto(ExponentialFamily):
    """Pareto with a known ``minimum = m``: a heavy-tailed target ``x >= m`` with tail index alpha.

    * density: ``q(x) = alpha m^alpha / x^(alpha + 1)``; support ``x >= m``
    * natural parameter (M = 1): ``eta = -alpha``
    * sufficient statistic ``T(x) = log x``; carrier ``h(x) = 1 / x`` on ``x >= m``
    * log-normalizer ``g(eta) = -log(-eta) + eta log m``
    * expectation parameter ``E[log x] = log m + 1 / alpha``
    * source parameter: ``alpha``; ``minimum`` is a field of the family (default 1), not learned
    * scipy: ``scipy.stats.pareto(alpha, scale=minimum)``
    * TFP: ``tfd.Pareto(concentration=alpha, scale=minimum)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Pareto())``: ``alpha = positive(raw)`` (the same map)
    """

    minimum: float = 1.0
    catalogue = (
        ({"minimum": 1.0}, ({"alpha": 2.5}, {"alpha": 0.7})),
        ({"minimum": 3.0}, ({"alpha": 4.0},)),
    )

    def __post_init__(self) -> None:
        if not self.minimum > 0:
            raise ValueError(f"Pareto: minimum must be > 0, got {self.minimum}")

    @property
    def support(self) -> supports.Support:
        return supports.AtLeast(self.minimum)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("alpha", constraints.positive),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, alpha: Array) -> Array:
        return -jnp.asarray(alpha)[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"alpha": -eta[..., 0]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return -jnp.log(-eta[..., 0]) + eta[..., 0] * math.log(self.minimum)

    def expectation(self, eta: Array) -> Array:
        return math.log(self.minimum) - 1.0 / eta

    def fisher(self, eta: Array) -> Array:
        return (1.0 / eta**2)[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return -1.0 / (chi - math.log(self.minimum))

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``alpha log(x / m) - log alpha + log x`` (no ``alpha log x`` against ``alpha log m``)."""
        alpha = -eta[..., 0]
        return alpha * jnp.log(x / self.minimum) - jnp.log(alpha) + jnp.log(x)

    def stable_entropy(self, eta: Array) -> Array:
        """``1 + 1/alpha - log alpha + log m``."""
        alpha = -eta[..., 0]
        return 1.0 + 1.0 / alpha - jnp.log(alpha) + math.log(self.minimum)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``E(alpha_q / alpha_p)`` with ``E(z) = z - 1 - log z``."""
        return special.log_ratio_excess(eta_q[..., 0] / eta_p[..., 0])

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(x)[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return eta[..., 0] < 0

    def expected_log_carrier(self, eta: Array) -> Array:
        return -self.expectation(eta)[..., 0]

    def link(self, raw: Array) -> Array:
        """``eta = -positive(raw)``: the tail index is softplus(raw)."""
        return constraints.negative(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (alpha,) = broadcast_to_draws(shape, -eta[..., 0])
        return self.minimum * jnp.exp(jax.random.exponential(key, alpha.shape, eta.dtype) / alpha)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = 1 - (m / x)^alpha`` as ``-expm1(alpha (log m - log x))`` (0 below m)."""
        log_ratio = math.log(self.minimum) - jnp.log(jnp.maximum(x, self.minimum))
        return -jnp.expm1(-eta[..., 0] * log_ratio)

    # -- summaries (``alpha = -eta``) ---------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``alpha m / (alpha - 1)`` for ``alpha > 1``, inf otherwise."""
        alpha = -eta[..., 0]
        return jnp.where(alpha > 1, alpha * self.minimum / jnp.where(alpha > 1, alpha - 1.0, 1.0), jnp.inf)

    def var(self, eta: Array) -> Array:
        """``m^2 alpha / ((alpha - 1)^2 (alpha - 2))`` for ``alpha > 2``, inf otherwise."""
        alpha = -eta[..., 0]
        safe = jnp.where(alpha > 2, alpha, 3.0)
        return jnp.where(alpha > 2, self.minimum**2 * safe / ((safe - 1.0) ** 2 * (safe - 2.0)), jnp.inf)

    def mode(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], self.minimum)

    def log_survival(self, eta: Array, x: Array) -> Array:
        """``alpha (log m - log x)`` (0 below m)."""
        return -eta[..., 0] * (math.log(self.minimum) - jnp.log(jnp.maximum(x, self.minimum)))

    def survival(self, eta: Array, x: Array) -> Array:
        return jnp.exp(self.log_survival(eta, x))

    def log_cdf(self, eta: Array, x: Array) -> Array:
        """``log1mexp(alpha (log m - log x))``."""
        return special.log1mexp(self.log_survival(eta, x))

    def quantile(self, eta: Array, p: Array) -> Array:
        """``m exp(-log1p(-p) / alpha)``."""
        return self.minimum * jnp.exp(jnp.log1p(-p) / eta[..., 0])
