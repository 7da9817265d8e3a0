"""LogNormal: a positive, right-skewed target whose logarithm is Normal(loc, scale^2).

The natural parameters, log-normalizer, expectation, Fisher and inverse are the Normal's,
applied to ``log x``: ``T(x) = (log x, (log x)^2)``, ``log h(x) = -log x - 1/2 log(2 pi)``.
``E[log h] = -loc - 1/2 log(2 pi)``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, SourceParameter
from expfam._numerics import special
from expfam.families.normal import Normal, _loc_variance


@dataclasses.dataclass(frozen=True)
class LogNormal(Normal):
    """LogNormal: a positive, right-skewed target whose logarithm is ``Normal(loc, scale^2)``.

    * density: ``q(x) = exp(-(log x - loc)^2 / (2 scale^2)) / (x scale sqrt(2 pi))``; support ``x > 0``
    * natural parameters (M = 2): ``eta = (loc / scale**2, -1 / (2 * scale**2))``, the Normal's on ``log x``
    * sufficient statistics ``T(x) = (log x, (log x)^2)``; carrier ``h(x) = 1 / (x sqrt(2 pi))``
    * log-normalizer ``g(eta) = loc^2 / (2 v) + 1/2 log v`` with ``v = scale^2``
    * expectation parameters ``E[T(x)] = (loc, loc^2 + v)``
    * source parameters: ``loc`` and ``scale`` of ``log x`` (the median of x is ``e^loc``)
    * scipy: ``scipy.stats.lognorm(scale, scale=exp(loc))`` (scipy's shape ``s`` is our scale)
    * TFP: ``tfd.LogNormal(loc=loc, scale=scale)``
    * canonical link ``link(raw)``: ``eta = (raw_1, -positive(raw_2))``, ``positive = softplus + tiny``
    * source head ``source_link(LogNormal())``: ``loc = raw_1``, ``scale = positive(raw_2)``
    """

    catalogue = (({}, ({"loc": 0.0, "scale": 1.0}, {"loc": 1.5, "scale": 0.3})),)

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("loc", constraints.identity), SourceParameter("scale", constraints.positive))

    def sufficient_statistics(self, x: Array) -> Array:
        return super().sufficient_statistics(jnp.log(x))

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """The Normal's on ``log x``, plus ``log x``."""
        log_x = jnp.log(x)
        return super().stable_nll(eta, log_x) + log_x

    def stable_entropy(self, eta: Array) -> Array:
        """``loc + 1/2 log(2 pi e v)``."""
        return super().stable_entropy(eta) + self.expectation(eta)[..., 0]

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x) - special.HALF_LOG_TWO_PI

    def expected_log_carrier(self, eta: Array) -> Array:
        return -self.expectation(eta)[..., 0] - special.HALF_LOG_TWO_PI

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jnp.exp(super().sample(key, eta, shape))

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = Phi((log x - loc) / scale)`` for x > 0, 0 below."""
        positive = x > 0
        return jnp.where(positive, super().cdf(eta, jnp.log(jnp.where(positive, x, 1.0))), 0.0)

    # -- summaries -----------------------------------------------------------------------------
    def _standardized(self, eta: Array, x: Array) -> Array:
        """``(log x - loc) / scale``, -inf for ``x <= 0`` (the Normal's survival and log tails use it)."""
        return super()._standardized(eta, jnp.log(jnp.maximum(x, 0.0)))

    def mean(self, eta: Array) -> Array:
        """``exp(loc + v / 2)``."""
        loc, variance = _loc_variance(eta)
        return jnp.exp(loc + 0.5 * variance)

    def var(self, eta: Array) -> Array:
        """``expm1(v) exp(2 loc + v)``."""
        loc, variance = _loc_variance(eta)
        return jnp.expm1(variance) * jnp.exp(2.0 * loc + variance)

    def mode(self, eta: Array) -> Array:
        """``exp(loc - v)``."""
        loc, variance = _loc_variance(eta)
        return jnp.exp(loc - variance)

    def quantile(self, eta: Array, p: Array) -> Array:
        """``exp`` of the Normal's quantile."""
        return jnp.exp(super().quantile(eta, p))
