"""Maps from unconstrained network outputs to valid parameters.

Every map is smooth and strictly monotone, with no dead zone (no ReLU, no clipping of the
input). Where a positive output could underflow to zero in floating point (softplus of a
very negative input), the smallest positive normal number of the dtype is added; this is
the only change made to any value, and it keeps the output strictly inside the domain.

Each family's canonical link is its ``link`` method; ``source_link`` builds heads in a
family's usual parameters (mean and scale, shape and rate, ...) from the maps here and from
``positive_definite_from_raw`` (covariance and scale matrices).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from expfam._numerics import packing

Array = jax.Array


def positive(raw: Array) -> Array:
    """``softplus(raw) + tiny``: R -> (0, inf), about ``raw`` for large raw, ``exp(raw)`` for small."""
    return jax.nn.softplus(raw) + jnp.finfo(raw.dtype).tiny


def negative(raw: Array) -> Array:
    """``-positive(raw)``: R -> (-inf, 0)."""
    return -positive(raw)


def greater_than(raw: Array, bound: float) -> Array:
    """``bound + (softplus(raw) + gap)``: R -> (bound, inf), for a parameter with a lower bound.

    ``gap = max(nextafter(bound, inf) - bound, tiny)`` is the spacing of the floating-point
    numbers just above ``bound`` (``2^-24`` above -1 in float32). A plain ``bound + softplus(raw)``
    rounds to ``bound`` itself, outside the domain, once ``softplus(raw)`` is below half that
    spacing (raw below about -17 for bound -1 in float32); with the gap the smallest output is
    the first float above ``bound``. Rounding is monotone, so the map stays non-decreasing in
    floating point and strictly increasing in exact arithmetic.
    """
    lower = jnp.asarray(bound, raw.dtype)
    gap = jnp.maximum(jnp.nextafter(lower, jnp.asarray(jnp.inf, raw.dtype)) - lower, jnp.finfo(raw.dtype).tiny)
    return lower + (jax.nn.softplus(raw) + gap)


def identity(raw: Array) -> Array:
    """``raw``: R -> R, for location parameters."""
    return raw


def probability(raw: Array) -> Array:
    """``sigmoid(raw)``: R -> (0, 1) in exact arithmetic; in floating point it rounds to 1 above
    about 17 (float32) / 37 (float64), and below about -87 / -708 it is subnormal or 0."""
    return jax.nn.sigmoid(raw)


def probabilities(raw: Array) -> Array:
    """``softmax(raw)`` over the last axis: R^K -> the probability simplex."""
    return jax.nn.softmax(raw, axis=-1)


# Natural parameters of a probability head straight from its logits (``SourceParameter.from_logits``):
# the same maps as ``natural_from_source`` of ``probability(raw)`` / ``probabilities(raw)`` in exact
# arithmetic, finite and inside the domain for every finite raw.


def logit(raw: Array) -> Array:
    """``log(p / (1 - p))`` of ``p = sigmoid(raw)``: raw itself, as ``(..., 1)``."""
    return raw[..., None]


def log_probability(raw: Array) -> Array:
    """``log p`` of ``p = sigmoid(raw)``: ``-softplus(-raw)``, kept below 0 (``negative(-raw)``), as ``(..., 1)``."""
    return negative(-raw)[..., None]


def log_probabilities(raw: Array) -> Array:
    """``log p`` of ``p = softmax(raw)``: ``log_softmax(raw)``, finite for finite raw."""
    return jax.nn.log_softmax(raw, axis=-1)


def unit_vector(raw: Array) -> Array:
    """``raw / |raw|`` over the last axis: R^d minus 0 -> the unit sphere; 0 at ``raw = 0``.

    The norm is taken of ``raw / max_k |raw_k|`` so that ``|raw|^2`` cannot overflow; at the
    origin, where the direction is undefined, the result is the zero vector (with a von
    Mises-Fisher concentration: the uniform distribution) and its derivative is 0.
    """
    largest = jax.lax.stop_gradient(jnp.max(jnp.abs(raw), axis=-1, keepdims=True))
    safe = jnp.where(largest > 0, largest, 1.0)
    scaled = raw / safe
    squared = jnp.sum(scaled * scaled, axis=-1, keepdims=True)
    norm = jnp.sqrt(jnp.where(squared > 0, squared, 1.0))
    return jnp.where(squared > 0, scaled / norm, 0.0)


#: Smallest eigenvalue of the correlation matrix C of ``positive_definite_from_raw``: correlations
#: up to 0.999 in magnitude between two coordinates (``1 - CORRELATION_FLOOR``), and a margin
#: far above the rounding of a float32 Cholesky factorization (about ``d eps``, 1.2e-5 at d = 100).
CORRELATION_FLOOR = 1e-3


def positive_definite_from_raw(raw: Array) -> Array:
    """``A = E^{1/2} C E^{1/2}`` (..., d, d) from d (d + 1) / 2 unconstrained outputs (..., M), for
    precisions (the canonical links), covariances and scale matrices (the source heads):
    positive definite in floating point for every finite input.

    * ``E = diag(e)``, ``e_i = softplus(raw_i) + tiny / eps`` from the first d outputs: A's
      diagonal is exactly e;
    * ``C = (1 - r) I + r U U^T`` with ``r = 1 - CORRELATION_FLOOR``: a correlation matrix (unit
      diagonal) with eigenvalues in ``[1 - r, 1 + (d - 1) r]``, from U lower triangular whose row i
      is ``v_i / |v_i|``, ``v_i = (raw_{i1}, ..., raw_{i,i-1}, 1)`` (the remaining outputs in
      ``packing.unpack_lower``'s order: L_ji for each i < j in the row order of the upper triangle).

    Every correlation matrix is ``U U^T`` for such a U, so A ranges over all the positive-definite
    matrices whose correlation matrix has smallest eigenvalue at least ``1 - r``. Why not ``L L^T``
    for an arbitrary Cholesky factor: its condition number is unbounded, and once it passes about
    ``1 / eps`` (off-diagonal outputs of 1e4 against diagonal outputs of -10 in float32) the
    rounded product is no longer positive definite. Here the Cholesky factorization of A is
    ``E^{1/2}`` times that of C, whose pivots are at least ``1 - r``, whatever the scales ``e``;
    the floor ``tiny / eps`` keeps those pivots (``>= e_i (1 - r)``) clear of the denormals that
    XLA flushes to zero. (The rows are normalized by ``unit_vector``, so ``|v_i|^2`` cannot overflow.)
    """
    dim = packing.dim_from_packed(raw.shape[-1])
    info = jnp.finfo(raw.dtype)
    scales = jax.nn.softplus(raw[..., :dim]) + info.tiny / info.eps
    rows = packing.unpack_lower(jnp.concatenate([jnp.ones_like(raw[..., :dim]), raw[..., dim:]], axis=-1))
    unit = unit_vector(rows)
    r = 1.0 - CORRELATION_FLOOR
    root = jnp.sqrt(scales)
    off_diagonal = r * (unit @ jnp.swapaxes(unit, -1, -2)) * (root[..., :, None] * root[..., None, :])
    eye = jnp.broadcast_to(jnp.eye(dim, dtype=bool), off_diagonal.shape)
    return jnp.where(eye, scales[..., :, None], off_diagonal)


def cholesky_from_raw(raw: Array) -> Array:
    """A Cholesky factor L (lower triangular, positive diagonal) in ``packing.pack_lower``'s layout
    (..., d (d + 1) / 2) from as many outputs: ``L_ii = positive(raw_i)`` for the first d outputs,
    the strict lower triangle as the rest (``L_ji`` for each i < j in the row order of the upper
    triangle: column by column). ``L L^T`` is positive definite in exact arithmetic; a head that
    carries L (``MultivariateNormal``'s factored head) never forms the product, so its rounding
    cannot leave the domain."""
    dim = packing.dim_from_packed(raw.shape[-1])
    return jnp.concatenate([positive(raw[..., :dim]), raw[..., dim:]], axis=-1)
