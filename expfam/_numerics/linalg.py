"""Small linear-algebra pieces shared by the matrix families, all through Cholesky factors.

No explicit inverse of an ill-conditioned matrix is formed where a triangular solve does:
for S = L L^T, ``S^{-1} = L^{-T} L^{-1}`` with ``L^{-1}`` from one triangular solve, and
``log det S = 2 sum_i log L_ii``.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy.linalg import solve_triangular

from expfam._numerics import packing

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


#: Up to this dimension ``packed_lower_transpose_times`` multiplies by constant 0/1 selection
#: matrices (dense products, fast to compile and to run at small d, 4 d^2 (d - 1) flops a row);
#: above it, it forms L (O(d^2) a row).
_SELECTION_UP_TO = 32


@functools.cache
def _selections(dim: int) -> tuple[np.ndarray, np.ndarray]:
    """0/1 matrices ``R`` (d, d (d - 1) / 2) and ``S`` (d (d - 1) / 2, d): strict-lower entry k of a
    ``packing.pack_lower`` vector is ``L[cols[k], rows[k]]``; ``(v @ R)_k = v[cols[k]]`` and
    ``(u @ S)_j = sum over k in column j of u_k``."""
    rows, cols, _ = packing.packed_indices(dim)
    rows, cols = rows[dim:], cols[dim:]
    pick = np.zeros((dim, rows.size))
    pick[cols, np.arange(rows.size)] = 1.0
    gather = np.zeros((rows.size, dim))
    gather[np.arange(rows.size), rows] = 1.0
    return pick, gather


def packed_lower_transpose_times(packed: Array, v: Array) -> Array:
    """``L^T v`` for L lower triangular given by ``packing.pack_lower`` (..., d (d + 1) / 2) and
    vectors v (..., d), without a solve: ``(L^T v)_j = L_jj v_j + sum_(i > j) L_ij v_i``.

    Small d: the strict lower triangle times ``v @ R``, summed per column by ``@ S`` (constant
    selections, ``Precision.HIGHEST`` so that no accelerator rounds the products to a lower
    precision); larger d: the dense L. Plain autodiff gives the exact derivatives.
    """
    dim = v.shape[-1]
    if dim > _SELECTION_UP_TO:
        return jnp.sum(packing.unpack_lower(packed) * v[..., :, None], axis=-2)
    diagonal = packed[..., :dim] * v
    if dim == 1:
        return diagonal
    pick, gather = (jnp.asarray(a, v.dtype) for a in _selections(dim))
    highest = jax.lax.Precision.HIGHEST
    spread = jnp.matmul(v, pick, precision=highest)  # v[cols[k]]
    return diagonal + jnp.matmul(packed[..., dim:] * spread, gather, precision=highest)
