"""Wishart on d x d symmetric positive-definite matrices, with known degrees of freedom n > d - 1.

``q(X) = |X|^((n-d-1)/2) exp(-tr(V^{-1} X) / 2) / (2^(n d / 2) |V|^(n/2) Gamma_d(n/2))``, scale V
unknown, ``df = n`` known (a static field). This is the common exponential family: with n
known, ``log |X|`` is part of the carrier. (An unknown n would add ``log |X|`` as a statistic
and ``log Gamma_d(n/2)`` to g; it is not what this family does.)

Natural parameter ``H = -V^{-1} / 2`` packed (``expfam._numerics.packing``: dot products of packed
vectors are trace inner products), ``T(X) = pack(X)``, so ``eta . T = -tr(V^{-1} X) / 2``.
With ``P = -2 H = V^{-1} = L L^T``:

    g(eta) = -n/2 log det P = -n sum_i log L_ii,
    log h(X) = (n - d - 1)/2 log |X| - n d/2 log 2 - log Gamma_d(n/2).

Expectation ``pack(n V)``; Fisher, for packed entries ``p = (i, j)``, ``q = (k, l)`` of weights
``w``: ``w_p w_q n (V_ik V_jl + V_il V_jk)``. Inverse: ``V = unpack(chi) / n``, ``H = -V^{-1} / 2``.
Expected log carrier from ``E[log |X|] = psi_d(n/2) + d log 2 + log |V|``.

Support: symmetric positive-definite matrices (Cholesky succeeds; symmetric to within
``sqrt(eps)`` of the largest entry). Only the upper triangle enters T and log h.
Link: as the multivariate normal's precision, ``H = -E^{1/2} C E^{1/2}`` with softplus scales E
and a correlation matrix C of eigenvalues >= 1e-3 (``constraints.positive_definite_from_raw``): valid in
floating point for every finite raw vector. Sampling: Bartlett's decomposition.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, per_row
from expfam._numerics import linalg, packing, special


@dataclasses.dataclass(frozen=True)
class Wishart(ExponentialFamily):
    """Wishart on ``dim x dim`` symmetric positive-definite matrices with known degrees of freedom ``df = n``.

    * density: ``q(X) = |X|^((n - d - 1)/2) exp(-tr(V^-1 X) / 2) / (2^(n d / 2) |V|^(n/2) Gamma_d(n/2))``;
      support: symmetric positive-definite d x d matrices; ``n > d - 1``
    * natural parameters (M = d (d + 1) / 2): ``eta = pack(-inv(scale) / 2)``, that is ``pack(-V^-1 / 2)``
      (``pack`` as in ``MultivariateNormal``: diagonal, then sqrt(2) times the upper triangle)
    * sufficient statistics ``T(X) = pack(X)``;
      carrier ``h(X) = |X|^((n - d - 1)/2) / (2^(n d / 2) Gamma_d(n/2))``
    * log-normalizer ``g(eta) = n/2 log det V``
    * expectation parameters ``E[T(X)] = pack(n V)``
    * source parameter: ``scale = V`` (d x d, positive definite); ``df`` is a field of the family
    * scipy: ``scipy.stats.wishart(df=df, scale=scale)``
    * TFP: ``tfd.WishartTriL(df=df, scale_tril=cholesky(scale))``
    * canonical link ``link(raw)``: ``eta = pack(-E^(1/2) C E^(1/2))``, E softplus scales and C a correlation
      matrix from the remaining outputs (``constraints.positive_definite_from_raw``)
    * source head ``source_link(Wishart(d, n))``: ``scale = positive_definite_from_raw(raw)``
    """

    dim: int
    df: float
    catalogue = (
        (
            {"dim": 3, "df": 5.0},
            (
                {"scale": [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]},
                {"scale": [[100.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 0.1]]},
            ),
        ),
        ({"dim": 3, "df": 20.0}, ({"scale": [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]},)),
    )

    @property
    def support(self) -> supports.Support:
        return supports.PositiveDefinite(self.dim)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("scale", constraints.positive_definite_from_raw, packing.packed_size(self.dim)),)

    def __post_init__(self) -> None:
        if self.dim < 1 or not self.df > self.dim - 1:
            raise ValueError(f"Wishart: need dim >= 1 and df > dim - 1, got dim={self.dim}, df={self.df}")

    @property
    def num_natural(self) -> int:
        return packing.packed_size(self.dim)

    def _scale(self, eta: Array) -> Array:
        return linalg.inverse_from_cholesky(linalg.cholesky(-2.0 * packing.unpack(eta)))

    def _log_normalizer_constant(self, dtype: jnp.dtype) -> Array:
        """``n d / 2 log 2 + log Gamma_d(n / 2)``."""
        half_df = jnp.asarray(0.5 * self.df, dtype)
        return 0.5 * self.df * self.dim * math.log(2.0) + special.multivariate_lgamma(half_df, self.dim)

    def natural_from_source(self, *, scale: Array) -> Array:
        inverse = linalg.inverse_from_cholesky(linalg.cholesky(jnp.asarray(scale)))
        return packing.pack(-0.5 * inverse)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"scale": self._scale(eta)}

    def log_normalizer_formula(self, eta: Array) -> Array:
        lower = linalg.cholesky(-2.0 * packing.unpack(eta))
        return -0.5 * self.df * linalg.log_det_from_cholesky(lower)

    def expectation(self, eta: Array) -> Array:
        return packing.pack(self.df * self._scale(eta))

    def fisher(self, eta: Array) -> Array:
        return per_row(self._fisher_row, eta)

    def _fisher_row(self, eta: Array) -> Array:
        v = self._scale(eta)
        rows, cols, weights = packing.packed_indices(self.dim)
        i, j, k, l = rows[:, None], cols[:, None], rows[None, :], cols[None, :]
        w = jnp.asarray(weights, eta.dtype)
        return self.df * (v[..., i, k] * v[..., j, l] + v[..., i, l] * v[..., j, k]) * (w[:, None] * w[None, :])

    def solve_natural(self, chi: Array) -> Array:
        return self.natural_from_source(scale=packing.unpack(chi) / self.df)

    def stable_entropy(self, eta: Array) -> Array:
        """``(d + 1)/2 log|V| + d (d + 1)/2 log 2 + [log Gamma_d(a) - (a - (d + 1)/2) psi_d(a) + a d]``
        (``a = n/2``) with the bracket in Stirling form: with ``a_j = a - j/2``, ``delta`` the Stirling
        remainder and ``m = log - digamma``, it is ``d (d - 1)/4 (log pi + 1) + sum_j [(d - j)/2 log a_j
        + 1/2 log(2 pi) + delta(a_j) + (a - (d + 1)/2) m(a_j)]``: no ``log Gamma_d`` against
        ``psi_d`` (terms of size ``n log n`` that cancel at large df)."""
        d, a = self.dim, 0.5 * self.df
        lower = linalg.cholesky(-2.0 * packing.unpack(eta))
        shifted = jnp.asarray(a - 0.5 * np.arange(d), eta.dtype)
        weights = jnp.asarray(0.5 * (d - np.arange(d)), eta.dtype)
        terms = (
            weights * jnp.log(shifted)
            + special.stirling_remainder(shifted)
            + (a - 0.5 * (d + 1)) * special.log_minus_digamma(shifted)
        )
        constant = (
            d * special.HALF_LOG_TWO_PI
            + 0.5 * d * (d + 1) * math.log(2.0)
            + 0.25 * d * (d - 1) * (math.log(math.pi) + 1.0)
        )
        return -0.5 * (d + 1) * linalg.log_det_from_cholesky(lower) + constant + jnp.sum(terms)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``n/2 (tr(P_q V_p) - d - log det(P_q V_p))`` as non-negative terms: with ``P = L L^T`` and
        ``B = L_p^{-1} L_q`` (lower triangular), ``n/2 (sum_i E(B_ii^2) + sum_{i > j} B_ij^2)``,
        ``E(z) = z - 1 - log z`` (``special.log_ratio_excess``). No ``n log det`` differences."""
        lower_p = linalg.cholesky(-2.0 * packing.unpack(eta_p))
        lower_q = linalg.cholesky(-2.0 * packing.unpack(eta_q))
        b = jax.scipy.linalg.solve_triangular(lower_p, lower_q, lower=True)
        diagonal = jnp.diagonal(b, axis1=-2, axis2=-1)
        excess = special.log_ratio_excess(diagonal * diagonal, (diagonal - 1.0) * (diagonal + 1.0))
        below = jnp.tril(b, -1)
        return 0.5 * self.df * (jnp.sum(excess, axis=-1) + jnp.sum(below * below, axis=(-2, -1)))

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``-log q(X)`` from the whitened sample ``Y = L^T X L = C C^T`` (``P = L L^T``), Bartlett's
        variables: ``Y ~ W(n, I)`` and ``log q(X) = log q_I(Y) + (d + 1)/2 log|P|``. With ``a_i = (n - i)/2``
        and ``t_i = C_ii^2 / (2 a_i)`` (i = 0 .. d - 1),

            -log q(X) = sum_i [a_i E(t_i) + (d + 1 - i)/2 log t_i + (d - i)/2 log a_i + delta(a_i)]
                        + 1/2 sum_{i > j} C_ij^2 + d/2 log(2 pi) + d (d + 1)/2 log 2
                        + d (d - 1)/4 log pi - (d + 1)/2 log|P|,

        ``E = log_ratio_excess >= 0`` and ``delta`` the Stirling remainder: ``log Gamma_d(n/2)``,
        ``(n - d - 1)/2 log|X|``, ``n/2 log|P|`` and ``tr(P X)/2`` (terms of size ``n log n`` at large df)
        cancel analytically, what is left is of size ``log n``.
        """
        d, a = self.dim, 0.5 * self.df
        index = np.arange(d)
        lower = linalg.cholesky(-2.0 * packing.unpack(eta))
        y = jnp.swapaxes(lower, -1, -2) @ _symmetric_from_upper(x) @ lower
        c = linalg.cholesky(0.5 * (y + jnp.swapaxes(y, -1, -2)))
        diagonal = jnp.diagonal(c, axis1=-2, axis2=-1)

        def per_index(values: np.ndarray) -> Array:
            return jnp.asarray(values, eta.dtype).reshape((1,) * (diagonal.ndim - 1) + (d,))

        shapes = per_index(a - 0.5 * index)
        half_square = 0.5 * diagonal * diagonal
        t = half_square / shapes
        terms = (
            shapes * special.log_ratio_excess(t, (half_square - shapes) / shapes)
            + per_index(0.5 * (d + 1 - index)) * jnp.log(t)
            + per_index(0.5 * (d - index)) * jnp.log(shapes)
            + special.stirling_remainder(shapes)
        )
        below = jnp.tril(c, -1)
        constant = (
            d * special.HALF_LOG_TWO_PI + 0.5 * d * (d + 1) * math.log(2.0) + 0.25 * d * (d - 1) * math.log(math.pi)
        )
        stable = (
            jnp.sum(terms, axis=-1)
            + 0.5 * jnp.sum(below * below, axis=(-2, -1))
            + constant
            - 0.5 * (d + 1) * linalg.log_det_from_cholesky(lower)
        )
        # Y = L^T X L squares the condition of P: beyond 1/eps the factorization of Y fails in floating
        # point (NaN), and the plain formula g(eta) - <eta, T(x)> - log h(x) is the value there.
        plain = self.log_normalizer(eta) - jnp.sum(eta * self.sufficient_statistics(x), axis=-1) - self.log_carrier(x)
        return jnp.where(jnp.isfinite(stable), stable, plain)

    def sufficient_statistics(self, x: Array) -> Array:
        return packing.pack(x)

    def log_carrier(self, x: Array) -> Array:
        log_det = linalg.log_det_from_cholesky(linalg.cholesky(_symmetric_from_upper(x)))
        return 0.5 * (self.df - self.dim - 1.0) * log_det - self._log_normalizer_constant(x.dtype)

    def is_natural_valid(self, eta: Array) -> Array:
        return linalg.is_positive_definite(-2.0 * packing.unpack(eta))

    def expected_log_carrier(self, eta: Array) -> Array:
        log_det_scale = -linalg.log_det_from_cholesky(linalg.cholesky(-2.0 * packing.unpack(eta)))
        half_df = jnp.asarray(0.5 * self.df, eta.dtype)
        mean_log_det = special.multivariate_digamma(half_df, self.dim) + self.dim * math.log(2.0) + log_det_scale
        return 0.5 * (self.df - self.dim - 1.0) * mean_log_det - self._log_normalizer_constant(eta.dtype)

    def link(self, raw: Array) -> Array:
        """``pack(-E^{1/2} C E^{1/2})``: ``-H``'s diagonal ``e_i = softplus(raw_i) + tiny / eps`` and a
        correlation matrix C with eigenvalues >= 1e-3 from the remaining outputs
        (``constraints.positive_definite_from_raw``): any finite raw vector is valid."""
        return packing.pack(-constraints.positive_definite_from_raw(raw))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Bartlett: ``X = C A A^T C^T`` with ``V = C C^T``, A lower triangular,
        ``A_ii^2 ~ chi^2(n - i + 1)`` (i = 1..d) and standard normal entries below the diagonal."""
        d = self.dim
        scale_lower = linalg.cholesky(self._scale(eta))
        full = shape + eta.shape[:-1]
        key_chi, key_normal = jax.random.split(key)
        half_dof = jnp.asarray(0.5 * (self.df - np.arange(d)), eta.dtype)
        diagonal = jnp.sqrt(2.0 * jax.random.gamma(key_chi, half_dof, full + (d,), eta.dtype))
        below = jnp.tril(jax.random.normal(key_normal, full + (d, d), eta.dtype), -1)
        a = below + diagonal[..., None] * jnp.broadcast_to(jnp.eye(d, dtype=eta.dtype), full + (d, d))
        ca = jnp.broadcast_to(scale_lower, full + (d, d)) @ a
        x = ca @ jnp.swapaxes(ca, -1, -2)
        return 0.5 * (x + jnp.swapaxes(x, -1, -2))

    # -- summaries (of the matrix X) -------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``n V``."""
        return self.df * self._scale(eta)

    def var(self, eta: Array) -> Array:
        """``Var[X_ij] = n (V_ij^2 + V_ii V_jj)`` (the full covariance of X is not provided)."""
        scale = self._scale(eta)
        diagonal = jnp.diagonal(scale, axis1=-2, axis2=-1)
        return self.df * (scale * scale + diagonal[..., :, None] * diagonal[..., None, :])

    def mode(self, eta: Array) -> Array:
        """``(n - d - 1) V`` for ``n >= d + 1``; below, the density is largest at the singular boundary,
        and the zero matrix is returned."""
        return max(self.df - self.dim - 1.0, 0.0) * self._scale(eta)


def _symmetric_from_upper(x: Array) -> Array:
    """The symmetric matrix with the upper triangle of x."""
    upper = jnp.triu(x)
    return upper + jnp.swapaxes(jnp.triu(x, 1), -1, -2)
