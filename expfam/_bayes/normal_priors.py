"""Conjugate priors of the Normal with unknown mean and precision: Normal-Gamma and Normal-Wishart.

The Normal's log-normalizer splits into a mean part and a precision part,
``g = mu^T L mu / 2 - 1/2 log|L|`` (precision L), each with its own count, so
``zeta = (tau_1, tau_2, kappa, nu)`` and one observation adds ``U(x) = (x, x x^T, 1, 1)``.
On Lebesgue measure in ``(mu, L)`` the prior
``exp(tau_1 . L mu - tr(tau_2 L) / 2 - kappa mu^T L mu / 2 + nu / 2 log|L|)`` is
``mu | L ~ N(m, (kappa L)^{-1})`` with ``m = tau_1 / kappa``, and ``L ~ Wishart(n, S^{-1})`` with
``n = nu + d`` degrees of freedom and ``S = tau_2 - kappa m m^T``. Integrating,

    ``A(zeta) = d/2 log(2 pi / kappa) + n d / 2 log 2 - n / 2 log|S| + log Gamma_d(n / 2)``.

For d = 1 this is the Normal-Gamma: ``L ~ Gamma(alpha = n / 2, rate beta = S / 2)``.
The posterior predictive is a (multivariate) Student-t with ``n - d + 1`` degrees of freedom,
location m and shape matrix ``S (kappa + 1) / (kappa (n - d + 1))``.

``S`` is a difference of accumulated sums: after many observations far from zero it loses
digits in float32, as any sufficient-statistics update does; prefer float64 or centred data.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax.numpy as jnp
from jax.scipy.special import gammaln, multigammaln

from expfam._bayes.conjugate import ConjugatePrior
from expfam._core.family import Array, ExponentialFamily, as_float
from expfam.families.normal import Normal


@dataclasses.dataclass(frozen=True)
class NormalGamma(ConjugatePrior):
    """Normal-Gamma prior ``mu | lambda ~ N(loc, 1 / (kappa lambda))``, ``lambda ~ Gamma(concentration, rate)``.

    ``zeta = (kappa loc, 2 rate + kappa loc^2, kappa, 2 concentration - 1)``,
    ``A = 1/2 log(2 pi / kappa) + lgamma(alpha) - alpha log beta``. Predictive: Student-t with
    ``2 alpha`` degrees of freedom, location ``loc`` and scale ``sqrt(beta (kappa + 1) / (alpha kappa))``.
    """

    num_counts: ClassVar[int] = 2

    @property
    def likelihood(self) -> ExponentialFamily:
        return Normal()

    def natural_from_source(self, *, loc: Any, kappa: Any, concentration: Any, rate: Any) -> Array:
        m, k, a, b = jnp.broadcast_arrays(*map(as_float, (loc, kappa, concentration, rate)))
        return jnp.stack([k * m, 2 * b + k * m * m, k, 2 * a - 1], axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        tau1, tau2, kappa, nu = (zeta[..., i] for i in range(4))
        loc = tau1 / kappa
        return {"loc": loc, "kappa": kappa, "concentration": 0.5 * (nu + 1), "rate": 0.5 * (tau2 - tau1 * loc)}

    def log_normalizer(self, zeta: Array) -> Array:
        source = self.source_from_natural(zeta)
        alpha, beta = source["concentration"], source["rate"]
        return 0.5 * jnp.log(2 * math.pi / source["kappa"]) + gammaln(alpha) - alpha * jnp.log(beta)

    def is_natural_valid(self, zeta: Array) -> Array:
        source = self.source_from_natural(zeta)
        return (source["kappa"] > 0) & (source["concentration"] > 0) & (source["rate"] > 0)

    def predictive_student_t(self, zeta: Array) -> dict[str, Array]:
        """Parameters ``(df, loc, scale)`` of the posterior-predictive Student-t."""
        s = self.source_from_natural(zeta)
        alpha, kappa = s["concentration"], s["kappa"]
        return {"df": 2 * alpha, "loc": s["loc"], "scale": jnp.sqrt(s["rate"] * (kappa + 1) / (alpha * kappa))}


@dataclasses.dataclass(frozen=True)
class NormalWishart(ConjugatePrior):
    """Normal-Wishart prior on ``(mu, L)``: ``mu | L ~ N(loc, (kappa L)^{-1})``, ``L ~ Wishart(dof, scale)``.

    ``zeta = (tau_1 (d), vec tau_2 (d^2, row-major), kappa, nu)`` with ``tau_1 = kappa loc``,
    ``tau_2 = scale^{-1} + kappa loc loc^T`` and ``nu = dof - d``. Samples x have shape (..., d);
    ``U(x) = (x, vec(x x^T), 1, 1)`` and ``log h = -d/2 log(2 pi)``.
    """

    dim: int
    num_counts: ClassVar[int] = 2

    def _split(self, zeta: Array) -> tuple[Array, Array, Array, Array]:
        d = self.dim
        tau2 = zeta[..., d : d + d * d].reshape(zeta.shape[:-1] + (d, d))
        return zeta[..., :d], tau2, zeta[..., d + d * d], zeta[..., d + d * d + 1]

    def statistics(self, x: Any) -> tuple[Array, Array]:
        x = as_float(x)
        if x.ndim == 0 or x.shape[-1] != self.dim:
            raise ValueError(f"NormalWishart(dim={self.dim}): samples must have shape (..., {self.dim}), got {x.shape}")
        outer = (x[..., :, None] * x[..., None, :]).reshape(x.shape[:-1] + (self.dim * self.dim,))
        u = jnp.concatenate([x, outer, jnp.ones(x.shape[:-1] + (2,), x.dtype)], axis=-1)
        log_h = jnp.full(x.shape[:-1], -0.5 * self.dim * math.log(2 * math.pi), x.dtype)
        return u, jnp.where(jnp.all(jnp.isfinite(x), axis=-1), log_h, -jnp.inf)

    def natural_from_source(self, *, loc: Any, kappa: Any, dof: Any, scale: Any) -> Array:
        loc, kappa, dof, scale = map(as_float, (loc, kappa, dof, scale))
        d = self.dim
        tau2 = jnp.linalg.inv(scale) + kappa[..., None, None] * loc[..., :, None] * loc[..., None, :]
        batch = tau2.shape[:-2]
        parts = [kappa[..., None] * loc, tau2.reshape(batch + (d * d,)), kappa[..., None], (dof - d)[..., None]]
        return jnp.concatenate([jnp.broadcast_to(p, batch + p.shape[-1:]) for p in parts], axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        tau1, tau2, kappa, nu = self._split(zeta)
        loc = tau1 / kappa[..., None]
        s = tau2 - kappa[..., None, None] * loc[..., :, None] * loc[..., None, :]
        return {"loc": loc, "kappa": kappa, "dof": nu + self.dim, "scale": jnp.linalg.inv(s)}

    def _scatter(self, zeta: Array) -> tuple[Array, Array, Array]:
        """``(S, kappa, n)``: the Wishart's inverse scale, kappa and degrees of freedom."""
        tau1, tau2, kappa, nu = self._split(zeta)
        s = tau2 - tau1[..., :, None] * tau1[..., None, :] / kappa[..., None, None]
        return s, kappa, nu + self.dim

    def log_normalizer(self, zeta: Array) -> Array:
        s, kappa, n = self._scatter(zeta)
        d = self.dim
        _, log_det = jnp.linalg.slogdet(s)
        return (
            0.5 * d * jnp.log(2 * math.pi / kappa)
            + 0.5 * n * d * math.log(2)
            - 0.5 * n * log_det
            + multigammaln(0.5 * n, d)
        )

    def is_natural_valid(self, zeta: Array) -> Array:
        s, kappa, n = self._scatter(zeta)
        positive_definite = jnp.all(jnp.linalg.eigvalsh(s) > 0, axis=-1)
        return (kappa > 0) & (n > self.dim - 1) & positive_definite

    def predictive_student_t(self, zeta: Array) -> dict[str, Array]:
        """Parameters ``(df, loc, shape_matrix)`` of the posterior-predictive multivariate Student-t."""
        s, kappa, n = self._scatter(zeta)
        df = n - self.dim + 1
        factor = (kappa + 1) / (kappa * df)
        loc = self._split(zeta)[0] / kappa[..., None]
        return {"df": df, "loc": loc, "shape_matrix": s * factor[..., None, None]}
