"""Weibull with a known shape k > 0 and unknown scale lam: a positive lifetime x > 0.

``q(x) = (k / lam) (x / lam)^(k - 1) exp(-(x / lam)^k)``. ``eta = -lam^(-k)``, ``T(x) = x^k``,
``log h(x) = log k + (k - 1) log x``, ``g(eta) = -log(-eta) = k log lam``. Expectation
``E[x^k] = lam^k``; Fisher ``1 / eta^2``; inverse ``eta = -1 / E[x^k]``.
``E[log h] = log k + (k - 1) E[log x]`` with ``E[log x] = log lam - gamma_E / k``.
Shape 1 is the exponential distribution; shape 2 with ``lam = sqrt(2) sigma`` the Rayleigh.
Documented range: ``0.1 <= k <= 10``, scales with ``lam^k`` in ``1e-6 .. 1e6``.
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
class Weibull(NegativeLogNormalizer):
    """Weibull with a known ``shape = k`` and unknown scale lam: a positive lifetime ``x > 0``.

    * density: ``q(x) = (k / lam) (x / lam)^(k - 1) exp(-(x / lam)^k)``; support ``x > 0``
    * natural parameter (M = 1): ``eta = -scale**(-shape)``, that is ``-lam^(-k)``
    * sufficient statistic ``T(x) = x^k``; carrier ``h(x) = k x^(k - 1)``
    * log-normalizer ``g(eta) = -log(-eta) = k log lam``
    * expectation parameter ``E[x^k] = lam^k``
    * source parameter: ``scale = lam``; ``shape`` is a field of the family, not learned
    * scipy: ``scipy.stats.weibull_min(shape, scale=scale)``
    * TFP: ``tfd.Weibull(concentration=shape, scale=scale)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Weibull(k))``: ``scale = positive(raw)``
    """

    shape: float
    catalogue = (
        ({"shape": 2.5}, ({"scale": 1.5}, {"scale": 0.01}, {"scale": 100.0})),
        ({"shape": 0.5}, ({"scale": 3.0},)),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("scale", constraints.positive),)

    def __post_init__(self) -> None:
        if not self.shape > 0:
            raise ValueError(f"Weibull: shape must be > 0, got {self.shape}")

    def natural_from_source(self, *, scale: Array) -> Array:
        return -jnp.power(jnp.asarray(scale), -self.shape)[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"scale": jnp.power(-eta[..., 0], -1.0 / self.shape)}

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.power(x, self.shape)[..., None]

    def log_carrier(self, x: Array) -> Array:
        return math.log(self.shape) + (self.shape - 1.0) * jnp.log(x)

    def expected_log_carrier(self, eta: Array) -> Array:
        mean_log = -(jnp.log(-eta[..., 0]) + special.EULER_GAMMA) / self.shape
        return math.log(self.shape) + (self.shape - 1.0) * mean_log

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jnp.power(self.exponential_statistic(key, eta, shape), 1.0 / self.shape)

    # -- summaries (``lam = (-eta)^(-1/k)``) ----------------------------------------------------------
    def _scale(self, eta: Array) -> Array:
        return jnp.power(-eta[..., 0], -1.0 / self.shape)

    def mean(self, eta: Array) -> Array:
        """``lam Gamma(1 + 1/k)``."""
        return self._scale(eta) * math.gamma(1.0 + 1.0 / self.shape)

    def var(self, eta: Array) -> Array:
        """``lam^2 (Gamma(1 + 2/k) - Gamma(1 + 1/k)^2) = lam^2 Gamma(1 + 1/k)^2 expm1(c)`` with
        ``c = lgamma(1 + 2/k) - 2 lgamma(1 + 1/k)`` (a Python constant: no cancellation at run time
        beyond that of c in float64)."""
        one, two = math.lgamma(1.0 + 1.0 / self.shape), math.lgamma(1.0 + 2.0 / self.shape)
        return self._scale(eta) ** 2 * (math.exp(2.0 * one) * math.expm1(two - 2.0 * one))

    def mode(self, eta: Array) -> Array:
        """``lam ((k - 1) / k)^(1/k)`` for ``k > 1``; 0 for ``k <= 1`` (the density is largest, or
        unbounded, at 0)."""
        factor = ((self.shape - 1.0) / self.shape) ** (1.0 / self.shape) if self.shape > 1 else 0.0
        return self._scale(eta) * factor

    def statistic(self, x: Array) -> Array:
        return jnp.power(x, self.shape)

    def statistic_inverse(self, s: Array) -> Array:
        return jnp.power(s, 1.0 / self.shape)
