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
