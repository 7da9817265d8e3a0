"""Small linear-algebra pieces shared by the matrix families, all through Cholesky factors.

No explicit inverse of an ill-conditioned matrix is formed where a triangular solve does:
for S = L L^T, ``S^{-1} = L^{-T} L^{-1}`` with ``L^{-1}`` from one triangular solve, and
``log det S = 2 sum_i log L_ii``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.linalg import solve_triangular

Array = jax.Array


def cholesky(matrix: Array) -> Array:
    """Lower Cholesky factor; NaN entries where ``matrix`` is not positive definite."""
    return jnp.linalg.cholesky(matrix)


def inverse_lower(lower: Array) -> Array:
    """``L^{-1}`` for lower-triangular L (..., d, d), by a triangular solve."""
    eye = jnp.broadcast_to(jnp.eye(lower.shape[-1], dtype=lower.dtype), lower.shape)
    return solve_triangular(lower, eye, lower=True)


def inverse_from_cholesky(lower: Array) -> Array:
    """``(L L^T)^{-1} = L^{-T} L^{-1}``, exactly symmetric."""
    inv = inverse_lower(lower)
    return jnp.swapaxes(inv, -1, -2) @ inv


def solve_from_cholesky(lower: Array, b: Array) -> Array:
    """``(L L^T)^{-1} b`` for vectors b (..., d), by two triangular solves."""
    y = solve_triangular(lower, b[..., None], lower=True)
    return solve_triangular(lower, y, lower=True, trans="T")[..., 0]


def log_det_from_cholesky(lower: Array) -> Array:
    """``log det(L L^T) = 2 sum_i log L_ii``."""
    return 2.0 * jnp.sum(jnp.log(jnp.diagonal(lower, axis1=-2, axis2=-1)), axis=-1)


def is_positive_definite(matrix: Array) -> Array:
    """Boolean mask over the batch: does the Cholesky factorization succeed (finite, positive diagonal)?"""
    diagonal = jnp.diagonal(cholesky(matrix), axis1=-2, axis2=-1)
    return jnp.all(jnp.isfinite(diagonal) & (diagonal > 0), axis=-1) & jnp.all(jnp.isfinite(matrix), axis=(-2, -1))
