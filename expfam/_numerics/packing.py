"""Symmetric and triangular d x d matrices packed into flat vectors of length d (d + 1) / 2.

The packing of a symmetric matrix S is its diagonal followed by its strict upper triangle,
row by row, each off-diagonal entry multiplied by sqrt(2):

    pack(S) = (S_11, ..., S_dd, sqrt(2) S_12, sqrt(2) S_13, ..., sqrt(2) S_(d-1)d).

Then ``pack(S) . pack(H) = sum_i S_ii H_ii + 2 sum_(i<j) S_ij H_ij = tr(S H)``: the plain dot
product of packed vectors is the trace inner product, so ``eta . T(x) = tr(H X)`` for a matrix
natural parameter H and a matrix statistic X packed alike, and the packing is an isometry
(gradients and Hessians in packed coordinates are those of the matrix entries, with no
extra factors). ``unpack`` is its exact inverse on symmetric matrices.

A lower-triangular matrix L (a Cholesky factor) is packed in the same order, without the
sqrt(2): ``(L_11, ..., L_dd, L_21, L_31, ..., L_d(d-1))`` (entry (i, j) of the upper triangle
read as L_ji).
"""

from __future__ import annotations

import functools
import math

import jax
import jax.numpy as jnp
import numpy as np

Array = jax.Array


def packed_size(dim: int) -> int:
    """d (d + 1) / 2, the length of a packed d x d symmetric matrix."""
    return dim * (dim + 1) // 2


@functools.cache
def packed_indices(dim: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(rows, cols, weights)``: packed entry k is ``weights[k] * S[rows[k], cols[k]]``, rows <= cols."""
    upper_rows, upper_cols = np.triu_indices(dim, 1)
    diagonal = np.arange(dim)
    rows = np.concatenate([diagonal, upper_rows]).astype(np.int32)
    cols = np.concatenate([diagonal, upper_cols]).astype(np.int32)
    weights = np.concatenate([np.ones(dim), np.full(upper_rows.size, math.sqrt(2.0))])
    return rows, cols, weights


def dim_from_packed(size: int) -> int:
    """d such that d (d + 1) / 2 == size; ValueError if there is none."""
    dim = (math.isqrt(8 * size + 1) - 1) // 2
    if packed_size(dim) != size:
        raise ValueError(f"{size} is not the packed size d (d + 1) / 2 of any d x d matrix")
    return dim


def _broadcast_weights(weights: np.ndarray, like: Array) -> Array:
    """The packing weights broadcast explicitly to the shape of ``like`` (..., d (d + 1) / 2)."""
    return jnp.broadcast_to(jnp.asarray(weights, like.dtype), like.shape)


def pack(matrix: Array) -> Array:
    """Pack symmetric matrices (..., d, d) into (..., d (d + 1) / 2); only the upper triangle is read."""
    rows, cols, weights = packed_indices(matrix.shape[-1])
    entries = matrix[..., rows, cols]
    return entries * _broadcast_weights(weights, entries)


def unpack(packed: Array) -> Array:
    """The symmetric matrices (..., d, d) whose packing is ``packed`` (..., d (d + 1) / 2)."""
    dim = dim_from_packed(packed.shape[-1])
    rows, cols, weights = packed_indices(dim)
    values = packed / _broadcast_weights(weights, packed)
    matrix = jnp.zeros(packed.shape[:-1] + (dim, dim), packed.dtype)
    matrix = matrix.at[..., rows, cols].set(values)
    return matrix.at[..., cols, rows].set(values)


def pack_outer(x: Array) -> Array:
    """``pack(x x^T)`` for vectors x (..., d), without forming the matrix."""
    rows, cols, weights = packed_indices(x.shape[-1])
    products = x[..., rows] * x[..., cols]
    return products * _broadcast_weights(weights, products)


def pack_lower(lower: Array) -> Array:
    """Pack lower-triangular matrices (..., d, d) into (..., d (d + 1) / 2), unweighted."""
    rows, cols, _ = packed_indices(lower.shape[-1])
    return lower[..., cols, rows]


def unpack_lower(packed: Array) -> Array:
    """The lower-triangular matrices (..., d, d) packed by ``pack_lower``."""
    dim = dim_from_packed(packed.shape[-1])
    rows, cols, _ = packed_indices(dim)
    matrix = jnp.zeros(packed.shape[:-1] + (dim, dim), packed.dtype)
    return matrix.at[..., cols, rows].set(packed)
