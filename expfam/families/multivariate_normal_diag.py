"""Multivariate normal in ``dim`` dimensions with unknown mean and diagonal covariance.

``q(x) = prod_i N(x_i; loc_i, scale_i^2)``: independent ``Normal`` coordinates, and every formula
is the ``Normal`` family's applied per coordinate (this module reuses it). With ``v = scale^2``,
the natural parameters are ordered as the multivariate normal's (first order, then second):

    eta = (loc_1 / v_1, ..., loc_d / v_d, -1 / (2 v_1), ..., -1 / (2 v_d)),
    T(x) = (x_1, ..., x_d, x_1^2, ..., x_d^2),    log h = -d/2 log(2 pi),
    g(eta) = sum_i (loc_i^2 / (2 v_i) + 1/2 log v_i).

Expectation ``(loc, loc^2 + v)``; Fisher block diagonal per coordinate,
``[[v, 2 loc v], [2 loc v, 2 v^2 + 4 loc^2 v]]`` (in the (first order, second order) layout, four
diagonal d x d blocks). Link: ``(raw_1, -softplus(raw_2))`` per coordinate, as ``Normal``.
"""

from __future__ import annotations

import dataclasses

import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter
from expfam.families.normal import Normal

_NORMAL = Normal()


@dataclasses.dataclass(frozen=True)
class MultivariateNormalDiag(ExponentialFamily):
    """Multivariate normal in ``dim = d`` dimensions with unknown mean and diagonal covariance.

    * density: ``q(x) = prod_i N(x_i; loc_i, scale_i^2)``; support: x in R^d
    * natural parameters (M = 2 d): ``eta = (loc / scale**2, -1 / (2 * scale**2))``: the d first-order
      coordinates, then the d second-order ones
    * sufficient statistics ``T(x) = (x_1, ..., x_d, x_1^2, ..., x_d^2)``; carrier ``h = (2 pi)^(-d/2)``
    * log-normalizer ``g(eta) = sum_i (loc_i^2 / (2 v_i) + 1/2 log v_i)`` with ``v = scale^2``
    * expectation parameters ``E[T(x)] = (loc, loc^2 + v)``
    * source parameters: ``loc`` and ``scale`` (d values each; the standard deviations)
    * scipy: ``scipy.stats.multivariate_normal(loc, diag(scale**2))``
    * TFP: ``tfd.MultivariateNormalDiag(loc=loc, scale_diag=scale)``
    * canonical link ``link(raw)``: ``eta = (raw_1, -positive(raw_2))``, d outputs each, ``positive = softplus + tiny``
    * source head ``source_link(MultivariateNormalDiag(d))``: ``loc = raw_1``, ``scale = positive(raw_2)``
    """

    repeated_sample_has_no_fit = True

    dim: int
    catalogue = (
        (
            {"dim": 3},
            ({"loc": [0.5, -1.0, 2.0], "scale": [2.0, 0.5, 1.0]}, {"loc": [3.0, 0.0, -3.0], "scale": [0.1, 1.0, 10.0]}),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.RealVectors(self.dim)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (
            SourceParameter("loc", constraints.identity, self.dim),
            SourceParameter("scale", constraints.positive, self.dim),
        )

    def __post_init__(self) -> None:
        if self.dim < 1:
            raise ValueError(f"MultivariateNormalDiag: dim must be >= 1, got {self.dim}")

    @property
    def num_natural(self) -> int:
        return 2 * self.dim

    def _pairs(self, v: Array) -> Array:
        """(..., 2d) in this family's layout -> (..., d, 2) per-coordinate ``Normal`` parameters."""
        return jnp.stack([v[..., : self.dim], v[..., self.dim :]], axis=-1)

    @staticmethod
    def _flat(pairs: Array) -> Array:
        return jnp.concatenate([pairs[..., 0], pairs[..., 1]], axis=-1)

    def natural_from_source(self, *, loc: Array, scale: Array) -> Array:
        return self._flat(_NORMAL.natural_from_source(loc=loc, scale=scale))

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return _NORMAL.source_from_natural(self._pairs(eta))

    def log_normalizer_formula(self, eta: Array) -> Array:
        return jnp.sum(_NORMAL.log_normalizer_formula(self._pairs(eta)), axis=-1)

    def expectation(self, eta: Array) -> Array:
        return self._flat(_NORMAL.expectation(self._pairs(eta)))

    def fisher(self, eta: Array) -> Array:
        blocks = _NORMAL.fisher(self._pairs(eta))  # (..., d, 2, 2)
        eye = jnp.broadcast_to(jnp.eye(self.dim, dtype=eta.dtype), eta.shape[:-1] + (self.dim, self.dim))
        rows = [
            jnp.concatenate([blocks[..., :, a, 0, None] * eye, blocks[..., :, a, 1, None] * eye], -1) for a in (0, 1)
        ]
        return jnp.concatenate(rows, axis=-2)

    def solve_natural(self, chi: Array) -> Array:
        return self._flat(_NORMAL.natural_from_expectation(self._pairs(chi)))

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """The sum of the coordinates' stable Normal values (no ``x^2 eta_2`` against ``loc^2 / (2 v)``)."""
        return jnp.sum(_NORMAL.stable_nll(self._pairs(eta), x), axis=-1)

    def stable_entropy(self, eta: Array) -> Array:
        return jnp.sum(_NORMAL.stable_entropy(self._pairs(eta)), axis=-1)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return jnp.sum(_NORMAL.stable_kl(self._pairs(eta_p), self._pairs(eta_q)), axis=-1)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.concatenate([x, x * x], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return jnp.sum(_NORMAL.log_carrier(x), axis=-1)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(_NORMAL.is_natural_valid(self._pairs(eta)), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.sum(_NORMAL.expected_log_carrier(self._pairs(eta)), axis=-1)

    def link(self, raw: Array) -> Array:
        """``(raw_1, -positive(raw_2))``: canonical coordinates, any real input is valid."""
        return self._flat(_NORMAL.link(self._pairs(raw)))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        pairs = self._pairs(eta)
        return _NORMAL.sample(key, jnp.broadcast_to(pairs, shape + pairs.shape), ())

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return self.source_from_natural(eta)["loc"]

    def covariance(self, eta: Array) -> Array:
        """``diag(scale^2)``."""
        scale = self.source_from_natural(eta)["scale"]
        return jnp.vectorize(jnp.diag, signature="(k)->(k,k)")(scale * scale)

    def mode(self, eta: Array) -> Array:
        return self.source_from_natural(eta)["loc"]
