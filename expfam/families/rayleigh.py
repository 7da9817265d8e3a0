"""Rayleigh with scale sigma: a positive magnitude x > 0 (e.g. the norm of a 2-D Gaussian).

``q(x) = x / sigma^2 exp(-x^2 / (2 sigma^2)) = 2x exp(eta x^2 + log(-eta))`` with
``eta = -1 / (2 sigma^2)``: ``T(x) = x^2``, ``log h(x) = log(2x)``, ``g(eta) = -log(-eta)``.
Expectation ``E[x^2] = 2 sigma^2 = -1 / eta``; Fisher ``1 / eta^2``; inverse ``eta = -1 / E[x^2]``.
``E[log h] = log 2 + E[log x] = log 2 + 1/2 (log(-1 / eta) - gamma_E)``.
Documented range: ``1e-6 <= sigma <= 1e6``.
"""

from __future__ import annotations

import dataclasses
import math

import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, SourceParameter
from expfam._numerics import special
from expfam.families._negative_log import NegativeLogNormalizer


@dataclasses.dataclass(frozen=True)
class Rayleigh(NegativeLogNormalizer):
    """Rayleigh with scale sigma: a positive magnitude ``x > 0`` (e.g. the norm of a 2-D Gaussian).

    * density: ``q(x) = x / sigma^2 exp(-x^2 / (2 sigma^2))``; support ``x > 0``
    * natural parameter (M = 1): ``eta = -1 / (2 * scale**2)``
    * sufficient statistic ``T(x) = x^2``; carrier ``h(x) = 2 x``
    * log-normalizer ``g(eta) = -log(-eta) = log(2 sigma^2)``
    * expectation parameter ``E[x^2] = 2 sigma^2``
    * source parameter: ``scale = sigma``
    * scipy: ``scipy.stats.rayleigh(scale=scale)``
    * TFP: ``tfd.Weibull(concentration=2, scale=sqrt(2) * scale)`` (TFP has no Rayleigh)
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Rayleigh())``: ``scale = positive(raw)``
    """

    catalogue = (({}, ({"scale": 1.5}, {"scale": 1e-06}, {"scale": 1000000.0})),)

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("scale", constraints.positive),)

    def natural_from_source(self, *, scale: Array) -> Array:
        scale = jnp.asarray(scale)
        return (-0.5 / (scale * scale))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"scale": jnp.sqrt(-0.5 / eta[..., 0])}

    def sufficient_statistics(self, x: Array) -> Array:
        return (x * x)[..., None]

    def log_carrier(self, x: Array) -> Array:
        return math.log(2.0) + jnp.log(x)

    def expected_log_carrier(self, eta: Array) -> Array:
        return math.log(2.0) + 0.5 * (-jnp.log(-eta[..., 0]) - special.EULER_GAMMA)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jnp.sqrt(self.exponential_statistic(key, eta, shape))

    # -- summaries (``sigma^2 = -1 / (2 eta)``) -------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``sigma sqrt(pi / 2)``."""
        return jnp.sqrt(-0.25 * math.pi / eta[..., 0])

    def var(self, eta: Array) -> Array:
        """``(4 - pi) / 2 sigma^2``."""
        return (4.0 - math.pi) / 2.0 * (-0.5 / eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """``sigma``."""
        return jnp.sqrt(-0.5 / eta[..., 0])

    def statistic(self, x: Array) -> Array:
        return x * x

    def statistic_inverse(self, s: Array) -> Array:
        return jnp.sqrt(s)
