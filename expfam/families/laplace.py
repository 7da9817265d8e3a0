"""Laplace with a known location: a real target with heavier-than-Gaussian tails (the L1 loss).

``q(x) = exp(-|x - loc| / b) / (2 b)``. ``eta = -1 / b``, ``T(x) = |x - loc|``,
``log h = -log 2``, ``g(eta) = -log(-eta) = log b``. Expectation ``E|x - loc| = b``;
Fisher ``1 / eta^2``; inverse ``eta = -1 / E|x - loc|``. The negative log-likelihood is
``|x - loc| / b + log(2 b)``: the scaled absolute error. Documented range: ``1e-6 <= b <= 1e6``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, SourceParameter
from expfam.families._negative_log import NegativeLogNormalizer


@dataclasses.dataclass(frozen=True)
class Laplace(NegativeLogNormalizer):
    """Laplace with a known location ``loc``: a real target with heavier-than-Gaussian tails (the L1 loss).

    * density: ``q(x) = exp(-|x - loc| / b) / (2 b)``; support: x real
    * natural parameter (M = 1): ``eta = -1 / scale``, that is ``-1 / b``
    * sufficient statistic ``T(x) = |x - loc|``; carrier ``h = 1 / 2``
    * log-normalizer ``g(eta) = -log(-eta) = log b``
    * expectation parameter ``E|x - loc| = b``
    * source parameter: ``scale = b``; ``loc`` is a field of the family (default 0), not learned
    * scipy: ``scipy.stats.laplace(loc, scale)``
    * TFP: ``tfd.Laplace(loc=loc, scale=scale)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Laplace())``: ``scale = positive(raw)``
    """

    loc: float = 0.0
    catalogue = (
        ({}, ({"scale": 1.0}, {"scale": 1e-06}, {"scale": 1000000.0})),
        ({"loc": -2.0}, ({"scale": 0.5},)),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Real()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("scale", constraints.positive),)

    def natural_from_source(self, *, scale: Array) -> Array:
        return (-1.0 / jnp.asarray(scale))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"scale": -1.0 / eta[..., 0]}

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.abs(x - self.loc)[..., None]

    def log_carrier(self, x: Array) -> Array:
        return jnp.full_like(x, -math.log(2.0))

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], -math.log(2.0))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        sign_key, size_key = jax.random.split(key)
        size = self.exponential_statistic(size_key, eta, shape)
        sign = jnp.where(jax.random.bernoulli(sign_key, 0.5, size.shape), 1.0, -1.0).astype(eta.dtype)
        return self.loc + sign * size

    # -- summaries (``b = -1 / eta``; two tails of ``d = x - loc``) -----------------------------------
    def mean(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], self.loc)

    def var(self, eta: Array) -> Array:
        """``2 b^2``."""
        return 2.0 / (eta[..., 0] * eta[..., 0])

    def mode(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], self.loc)

    def _near_tail(self, eta: Array, d: Array) -> Array:
        """``log P(X - loc <= d) = d / b - log 2`` for ``d <= 0``."""
        return eta[..., 0] * -jnp.minimum(d, 0.0) - math.log(2.0)

    def _far_tail(self, eta: Array, d: Array) -> Array:
        """``log P(X - loc <= d) = log1p(-exp(-d / b) / 2)`` for ``d >= 0``."""
        return jnp.log1p(-0.5 * jnp.exp(eta[..., 0] * jnp.maximum(d, 0.0)))

    def log_cdf(self, eta: Array, x: Array) -> Array:
        d = x - self.loc
        return jnp.where(d <= 0, self._near_tail(eta, d), self._far_tail(eta, d))

    def log_survival(self, eta: Array, x: Array) -> Array:
        """The mirror image: ``log P(X - loc > d) = log P(X - loc <= -d)``."""
        d = self.loc - x
        return jnp.where(d <= 0, self._near_tail(eta, d), self._far_tail(eta, d))

    def cdf(self, eta: Array, x: Array) -> Array:
        """``exp(d / b) / 2`` below loc, ``1 - exp(-d / b) / 2`` above."""
        return jnp.exp(self.log_cdf(eta, x))

    def survival(self, eta: Array, x: Array) -> Array:
        return jnp.exp(self.log_survival(eta, x))

    def quantile(self, eta: Array, p: Array) -> Array:
        """``loc + b log(2 p)`` up to 1/2, ``loc - b log(2 (1 - p))`` above."""
        b = -1.0 / eta[..., 0]
        low = jnp.log(2.0 * jnp.minimum(p, 0.5))
        high = jnp.log(2.0 * jnp.minimum(1.0 - p, 0.5))
        return self.loc + b * jnp.where(p <= 0.5, low, -high)
