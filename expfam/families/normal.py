"""Normal with unknown mean and variance (heteroscedastic regression).

``q(x) = N(x; loc, scale^2)``, ``v = scale^2``. Natural parameters
``eta = (loc / v, -1 / (2 v))``, ``T(x) = (x, x^2)``,
``g(eta) = -eta_1^2 / (4 eta_2) + 1/2 log(-1 / (2 eta_2)) = loc^2 / (2 v) + 1/2 log v``,
``log h = -1/2 log(2 pi)``. Expectation ``(loc, loc^2 + v)``; Fisher
``[[v, 2 loc v], [2 loc v, 2 v^2 + 4 loc^2 v]]``.

``LogNormal`` reuses all of this on ``log x``.
"""

from __future__ import annotations

import dataclasses
import math
from typing import ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import log_ndtr, ndtr, ndtri

from expfam._core import constraints, supports
from expfam._core.family import Array, CatalogueRow, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import compensated, special


def standard_normal_quantile(p: Array) -> Array:
    """``Phi^{-1}(p)``, as ``-Phi^{-1}(1 - p)`` above 1/2 (where ``1 - p`` is exact), so that the
    upper tail keeps the accuracy of the lower one."""
    return jnp.where(p <= 0.5, ndtri(jnp.minimum(p, 0.5)), -ndtri(jnp.minimum(1.0 - p, 0.5)))


def _loc_variance(eta: Array) -> tuple[Array, Array]:
    variance = -0.5 / eta[..., 1]
    return eta[..., 0] * variance, variance


class NormalTails(ExponentialFamily):
    """The tails and quantile of a normal, shared by ``Normal`` and ``NormalKnownVariance``: a
    subclass gives ``_loc_scale(eta) = (loc, scale)``. With ``z = (x - loc) / scale``
    (``_standardized``, which ``LogNormal`` takes on ``log x``): survival ``Phi(-z)``, ``log_cdf``
    ``log Phi(z)`` and ``log_survival`` ``log Phi(-z)`` (``log_ndtr``: accurate far into either
    tail), quantile ``loc + scale Phi^{-1}(p)`` (``standard_normal_quantile``)."""

    def _loc_scale(self, eta: Array) -> tuple[Array, Array | float]:
        raise NotImplementedError

    def _standardized(self, eta: Array, x: Array) -> Array:
        loc, scale = self._loc_scale(eta)
        return (x - loc) / scale

    def survival(self, eta: Array, x: Array) -> Array:
        return ndtr(-self._standardized(eta, x))

    def log_cdf(self, eta: Array, x: Array) -> Array:
        return log_ndtr(self._standardized(eta, x))

    def log_survival(self, eta: Array, x: Array) -> Array:
        return log_ndtr(-self._standardized(eta, x))

    def quantile(self, eta: Array, p: Array) -> Array:
        loc, scale = self._loc_scale(eta)
        return loc + scale * standard_normal_quantile(p)


@dataclasses.dataclass(frozen=True)
class Normal(NormalTails):
    """Normal with unknown mean and variance (heteroscedastic regression).

    * density: ``q(x) = N(x; loc, scale^2)``; support: x real
    * natural parameters (M = 2): ``eta = (loc / scale**2, -1 / (2 * scale**2))``, that is ``(loc / v, -1 / (2 v))``
      with ``v = scale^2``
    * sufficient statistics ``T(x) = (x, x^2)``; carrier ``h = 1 / sqrt(2 pi)``
    * log-normalizer ``g(eta) = -eta_1^2 / (4 eta_2) + 1/2 log(-1 / (2 eta_2)) = loc^2 / (2 v) + 1/2 log v``
    * expectation parameters ``E[T(x)] = (loc, loc^2 + v)``
    * source parameters: ``loc`` (the mean) and ``scale`` (the standard deviation)
    * scipy: ``scipy.stats.norm(loc, scale)``
    * TFP: ``tfd.Normal(loc=loc, scale=scale)``
    * canonical link ``link(raw)``: ``eta = (raw_1, -positive(raw_2))``, ``positive = softplus + tiny``
    * source head ``source_link(Normal())``: ``loc = raw_1``, ``scale = positive(raw_2)``
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue: ClassVar[tuple[CatalogueRow, ...]] = (
        ({}, ({"loc": 0.5, "scale": 2.0}, {"loc": -3.0, "scale": 0.1}, {"loc": 100.0, "scale": 10.0})),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Real()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("loc", constraints.identity), SourceParameter("scale", constraints.positive))

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, loc: Array, scale: Array) -> Array:
        loc, scale = jnp.broadcast_arrays(jnp.asarray(loc), jnp.asarray(scale))
        variance = scale * scale
        return jnp.stack([loc / variance, -0.5 / variance], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        loc, variance = _loc_variance(eta)
        return {"loc": loc, "scale": jnp.sqrt(variance)}

    def log_normalizer_formula(self, eta: Array) -> Array:
        eta1, eta2 = eta[..., 0], eta[..., 1]
        return -0.25 * eta1 * eta1 / eta2 - 0.5 * jnp.log(-2.0 * eta2)

    def expectation(self, eta: Array) -> Array:
        loc, variance = _loc_variance(eta)
        return jnp.stack([loc, loc * loc + variance], axis=-1)

    def fisher(self, eta: Array) -> Array:
        loc, v = _loc_variance(eta)
        cross = 2 * loc * v
        rows = [jnp.stack([v, cross], -1), jnp.stack([cross, 2 * v * v + 4 * loc * loc * v], -1)]
        return jnp.stack(rows, axis=-2)

    def solve_natural(self, chi: Array) -> Array:
        loc = chi[..., 0]
        variance = chi[..., 1] - loc * loc
        return jnp.stack([loc / variance, -0.5 / variance], axis=-1)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``(x - loc)^2 / (2 v) + 1/2 log(2 pi v)``: no ``x^2 eta_2`` against ``loc^2 / (2 v)``.

        ``(x - loc)^2 / (2 v) = -r^2 / (4 eta_2)`` with the residual ``r = eta_1 + 2 eta_2 x = (x - loc) / v``
        from ``compensated.multiply_add``: the computed ``loc = eta_1 v`` (or a plain ``2 eta_2 x``) is
        off by ``eps |loc|``, which is ``eps |loc| / scale`` relative in ``(x - loc) / scale`` (1e-10 at
        ``|loc| / scale = 1e6``); the compensated residual keeps a few eps.
        """
        eta_1, eta_2 = eta[..., 0], eta[..., 1]
        residual = compensated.multiply_add(2.0 * eta_2, x, eta_1)
        return -(residual * residual) / (4.0 * eta_2) + 0.5 * jnp.log(-0.5 / eta_2) + special.HALF_LOG_TWO_PI

    def stable_entropy(self, eta: Array) -> Array:
        """``1/2 log(2 pi e v)``."""
        return 0.5 * jnp.log(_loc_variance(eta)[1]) + special.HALF_LOG_TWO_PI + 0.5

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``E(v_p / v_q) / 2 + (loc_p - loc_q)^2 / (2 v_q)``, ``E(z) = z - 1 - log z``."""
        (loc_p, _), (loc_q, v_q) = _loc_variance(eta_p), _loc_variance(eta_q)
        ratio = eta_q[..., 1] / eta_p[..., 1]
        return 0.5 * special.log_ratio_excess(ratio) + 0.5 * (loc_p - loc_q) ** 2 / v_q

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([x, x * x], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return jnp.full_like(x, -special.HALF_LOG_TWO_PI)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.isfinite(eta[..., 0]) & (eta[..., 1] < 0)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], -special.HALF_LOG_TWO_PI)

    def link(self, raw: Array) -> Array:
        """``(raw_1, -positive(raw_2))``: canonical coordinates, any real input is valid."""
        return jnp.stack([raw[..., 0], constraints.negative(raw[..., 1])], axis=-1)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        loc, variance = broadcast_to_draws(shape, *_loc_variance(eta))
        noise = jax.random.normal(key, loc.shape, eta.dtype)
        return loc + jnp.sqrt(variance) * noise

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = Phi((x - loc) / scale)``."""
        loc, variance = _loc_variance(eta)
        return ndtr((x - loc) / jnp.sqrt(variance))

    # -- summaries -----------------------------------------------------------------------------
    def _loc_scale(self, eta: Array) -> tuple[Array, Array]:
        loc, variance = _loc_variance(eta)
        return loc, jnp.sqrt(variance)

    def mean(self, eta: Array) -> Array:
        return _loc_variance(eta)[0]

    def var(self, eta: Array) -> Array:
        return _loc_variance(eta)[1]

    def mode(self, eta: Array) -> Array:
        return _loc_variance(eta)[0]


@dataclasses.dataclass(frozen=True)
class NormalKnownVariance(NormalTails):
    """Normal with a fixed ``variance``: its negative log-likelihood is the scaled MSE.

    * density: ``q(x) = N(x; loc, variance)``; support: x real
    * natural parameter (M = 1): ``eta = loc / variance``
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = exp(-x^2 / (2 variance)) / sqrt(2 pi variance)``
    * log-normalizer ``g(eta) = variance eta^2 / 2``
    * expectation parameter ``E[x] = loc``; ``-log q(y) = (y - loc)^2 / (2 variance) + 1/2 log(2 pi variance)``
    * source parameter: ``loc``; ``variance`` is a field of the family (default 1), not learned
    * scipy: ``scipy.stats.norm(loc, sqrt(variance))``
    * TFP: ``tfd.Normal(loc=loc, scale=sqrt(variance))``
    * canonical link ``link(raw)``: the network outputs the mean, ``eta = raw / variance``
    * source head ``source_link(NormalKnownVariance())``: ``loc = raw`` (the same map)
    """

    variance: float = 1.0
    catalogue = (
        ({}, ({"loc": 0.5}, {"loc": -3.0})),
        ({"variance": 0.25}, ({"loc": 2.0},)),
    )

    def __post_init__(self) -> None:
        if not self.variance > 0:
            raise ValueError(f"NormalKnownVariance: variance must be > 0, got {self.variance}")

    @property
    def support(self) -> supports.Support:
        return supports.Real()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("loc", constraints.identity),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, loc: Array) -> Array:
        return (jnp.asarray(loc) / self.variance)[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"loc": eta[..., 0] * self.variance}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return 0.5 * self.variance * eta[..., 0] ** 2

    def expectation(self, eta: Array) -> Array:
        return self.variance * eta

    def fisher(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., None], self.variance)

    def solve_natural(self, chi: Array) -> Array:
        return chi / self.variance

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``(x - loc)^2 / (2 variance) + 1/2 log(2 pi variance)``, ``x - loc = x - eta variance`` with
        the product's rounding compensated (``compensated.multiply_add``; it cancels where ``|loc| >> scale``)."""
        difference = compensated.multiply_add(eta[..., 0], jnp.asarray(-self.variance, eta.dtype), x)
        return 0.5 * difference**2 / self.variance + 0.5 * math.log(2 * math.pi * self.variance)

    def stable_entropy(self, eta: Array) -> Array:
        """``1/2 log(2 pi e variance)``."""
        return jnp.full_like(eta[..., 0], 0.5 * math.log(2 * math.pi * math.e * self.variance))

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``variance (eta_q - eta_p)^2 / 2``."""
        return 0.5 * self.variance * (eta_q[..., 0] - eta_p[..., 0]) ** 2

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -0.5 * x * x / self.variance - 0.5 * math.log(2 * math.pi * self.variance)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.isfinite(eta[..., 0])

    def expected_log_carrier(self, eta: Array) -> Array:
        loc = eta[..., 0] * self.variance
        return self.log_carrier(loc) - 0.5

    def link(self, raw: Array) -> Array:
        """The network outputs the mean: ``eta = raw / variance``."""
        return raw / self.variance

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (loc,) = broadcast_to_draws(shape, eta[..., 0] * self.variance)
        noise = jax.random.normal(key, loc.shape, eta.dtype)
        return loc + math.sqrt(self.variance) * noise

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = Phi((x - loc) / sqrt(variance))``."""
        return ndtr((x - eta[..., 0] * self.variance) / math.sqrt(self.variance))

    # -- summaries -----------------------------------------------------------------------------
    def _loc_scale(self, eta: Array) -> tuple[Array, float]:
        return eta[..., 0] * self.variance, math.sqrt(self.variance)

    def mean(self, eta: Array) -> Array:
        return eta[..., 0] * self.variance

    def var(self, eta: Array) -> Array:
        return jnp.full_like(eta[..., 0], self.variance)

    def mode(self, eta: Array) -> Array:
        return eta[..., 0] * self.variance
