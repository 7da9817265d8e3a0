"""Multivariate normal in ``dim`` dimensions with unknown mean and unit (identity) covariance.

``q(x) = N(x; loc, I)``: independent ``NormalKnownVariance(1)`` coordinates (this module
reuses that family). Natural parameter ``eta = loc``, ``T(x) = x``, ``g(eta) = |eta|^2 / 2``,
``log h(x) = -|x|^2 / 2 - d/2 log(2 pi)``. Expectation ``eta``; Fisher the identity; the
negative log-likelihood is half the squared error plus a constant (its value, the entropy
and the KL are taken in that cancellation-free form). Expected log carrier
``-(|loc|^2 + d) / 2 - d/2 log(2 pi)``. Link: the identity.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter
from expfam.families.normal import NormalKnownVariance

_UNIT = NormalKnownVariance(1.0)


@dataclasses.dataclass(frozen=True)
class MultivariateNormalUnit(ExponentialFamily):
    """Multivariate normal in ``dim = d`` dimensions with unknown mean and identity covariance (the MSE).

    * density: ``q(x) = N(x; loc, I)``; support: x in R^d
    * natural parameters (M = d): ``eta = loc``
    * sufficient statistics ``T(x) = x``; carrier ``h(x) = (2 pi)^(-d/2) exp(-|x|^2 / 2)``
    * log-normalizer ``g(eta) = |eta|^2 / 2``
    * expectation parameters ``E[x] = loc``; the negative log-likelihood is ``|x - loc|^2 / 2`` plus a constant
    * source parameter: ``loc`` (d values)
    * scipy: ``scipy.stats.multivariate_normal(loc, eye(dim))``
    * TFP: ``tfd.MultivariateNormalDiag(loc=loc, scale_diag=ones(dim))``
    * canonical link ``link(raw)``: the identity, ``eta = raw``
    * source head ``source_link(MultivariateNormalUnit(d))``: ``loc = raw`` (the same map)
    """

    dim: int
    catalogue = (({"dim": 3}, ({"loc": [0.5, -1.0, 2.0]}, {"loc": [30.0, 0.0, -30.0]})),)

    @property
    def support(self) -> supports.Support:
        return supports.RealVectors(self.dim)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("loc", constraints.identity, self.dim),)

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"MultivariateNormalUnit: dim must be >= 1, got {self.dim}")

    @property
    def num_natural(self) -> int:
        return self.dim

    def natural_from_source(self, *, loc: Array) -> Array:
        return jnp.asarray(loc)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"loc": eta}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return jnp.sum(_UNIT.log_normalizer_formula(eta[..., None]), axis=-1)

    def expectation(self, eta: Array) -> Array:
        return eta

    def fisher(self, eta: Array) -> Array:
        return jnp.broadcast_to(jnp.eye(self.dim, dtype=eta.dtype), eta.shape + (self.dim,))

    def solve_natural(self, chi: Array) -> Array:
        return chi

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``|x - loc|^2 / 2 + d/2 log(2 pi)``: no ``x . eta`` against ``|eta|^2 / 2`` and ``|x|^2 / 2``."""
        return jnp.sum(_UNIT.stable_nll(eta[..., None], x), axis=-1)

    def stable_entropy(self, eta: Array) -> Array:
        """``d/2 log(2 pi e)``."""
        return jnp.sum(_UNIT.stable_entropy(eta[..., None]), axis=-1)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``|loc_p - loc_q|^2 / 2``."""
        return jnp.sum(_UNIT.stable_kl(eta_p[..., None], eta_q[..., None]), axis=-1)

    def sufficient_statistics(self, x: Array) -> Array:
        return x

    def log_carrier(self, x: Array) -> Array:
        return jnp.sum(_UNIT.log_carrier(x), axis=-1)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(jnp.isfinite(eta), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.sum(_UNIT.expected_log_carrier(eta[..., None]), axis=-1)

    def link(self, raw: Array) -> Array:
        """The identity: the network outputs the mean."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jnp.broadcast_to(eta, shape + eta.shape) + jax.random.normal(key, shape + eta.shape, eta.dtype)

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return eta

    def covariance(self, eta: Array) -> Array:
        return self.fisher(eta)

    def mode(self, eta: Array) -> Array:
        return eta
