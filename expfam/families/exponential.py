"""Exponential: a positive waiting time with rate r.

``q(x) = r e^(-r x)``. ``eta = -r``, ``T(x) = x``, ``h = 1``, ``g(eta) = -log(-eta)``.
Expectation ``1 / r``; Fisher ``1 / r^2``; inverse ``eta = -1 / E[x]``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import special
from expfam.families._negative_log import exponential_quantile, exponential_tails


@dataclasses.dataclass(frozen=True)
class Exponential(ExponentialFamily):
    """Exponential: a non-negative waiting time with rate r.

    * density: ``q(x) = r e^(-r x)``; support ``x >= 0``
    * natural parameter (M = 1): ``eta = -rate``
    * sufficient statistic ``T(x) = x``; carrier ``h = 1``
    * log-normalizer ``g(eta) = -log(-eta) = -log r``
    * expectation parameter ``E[x] = 1 / r``
    * source parameter: ``rate = r`` (the mean is ``1 / r``)
    * scipy: ``scipy.stats.expon(scale=1 / rate)``
    * TFP: ``tfd.Exponential(rate=rate)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Exponential())``: ``rate = positive(raw)`` (the same map)
    """

    catalogue = (({}, ({"rate": 0.5}, {"rate": 20.0})),)

    @property
    def support(self) -> supports.Support:
        return supports.AtLeast(0.0)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("rate", constraints.positive),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, rate: Array) -> Array:
        return -jnp.asarray(rate)[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"rate": -eta[..., 0]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return -jnp.log(-eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return -1.0 / eta

    def fisher(self, eta: Array) -> Array:
        return (1.0 / eta**2)[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return -1.0 / chi

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``E(r_q / r_p)`` with ``E(z) = z - 1 - log z``."""
        return special.log_ratio_excess(eta_q[..., 0] / eta_p[..., 0])

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return eta[..., 0] < 0

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def link(self, raw: Array) -> Array:
        """``eta = -positive(raw)``: the rate is softplus(raw)."""
        return constraints.negative(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (rate,) = broadcast_to_draws(shape, -eta[..., 0])
        return jax.random.exponential(key, rate.shape, eta.dtype) / rate

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = 1 - exp(-r x)`` as ``-expm1(-r x)`` (0 for x <= 0)."""
        return -jnp.expm1(eta[..., 0] * jnp.maximum(x, 0.0))

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``1 / r``."""
        return -1.0 / eta[..., 0]

    def var(self, eta: Array) -> Array:
        """``1 / r^2``."""
        return 1.0 / (eta[..., 0] * eta[..., 0])

    def mode(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def survival(self, eta: Array, x: Array) -> Array:
        return exponential_tails(-eta[..., 0], jnp.maximum(x, 0.0))["survival"]

    def log_cdf(self, eta: Array, x: Array) -> Array:
        return exponential_tails(-eta[..., 0], jnp.maximum(x, 0.0))["log_cdf"]

    def log_survival(self, eta: Array, x: Array) -> Array:
        return exponential_tails(-eta[..., 0], jnp.maximum(x, 0.0))["log_survival"]

    def quantile(self, eta: Array, p: Array) -> Array:
        return exponential_quantile(-eta[..., 0], p)
