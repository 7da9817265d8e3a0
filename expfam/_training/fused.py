"""Fused linear + categorical cross-entropy for large vocabularies.

For hidden states ``h`` (N, d), an output projection ``W`` (d, V) and targets, the loss is

    z_r = h_r W,   l_r = lse(z_r) - t_r . z_r + zeta lse(z_r)^2,   L = sum_r w_r l_r / D,

with ``lse`` the log-sum-exp over the V classes, ``t_r`` the target distribution
(one-hot of an integer label, or a probability vector) mixed with the uniform one by label
smoothing ``epsilon``: ``t_r <- (1 - epsilon) t_r + epsilon / V``, ``zeta`` the z-loss
coefficient, ``w_r`` optional row weights and ``D = sum_r w_r`` (``reduction="mean"``) or 1
(``"sum"``). This is the categorical cross-entropy of the exponential-family view
(``g = lse``, ``chi = t``) on logits that are never stored whole.

The rows are processed in chunks of ``chunk_rows``; only a ``chunk_rows x V`` block of
logits exists at a time, never the N x V matrix. The derivative is custom: the forward
pass of ``value_and_grad`` computes the loss and both gradients in one sweep,

    dL/dz_r = (w_r / D) (softmax(z_r) (1 + 2 zeta lse(z_r)) - t_r),
    dL/dh_r = dL/dz_r W^T,   dL/dW = sum_r h_r^T dL/dz_r,

so a training step costs the same three matrix products as the materialized version.
Chunk ``j`` holds the rows ``j, j + C, j + 2C, ...`` (C chunks): with the batch axis
sharded over devices each device keeps its own rows, and with ``W`` sharded along the
vocabulary the log-sum-exp and ``dL/dh`` become cross-device reductions, placed by XLA.
For the batch sharding to carry through, ``chunk_rows`` must be a multiple of the number of
devices along the batch axis (the default, 128 rows for V = 65536, is for up to 128 devices
in powers of two).
"""

from __future__ import annotations

import functools
from typing import Any, Literal

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core.family import as_float, is_concrete

Array = jax.Array
#: Static options of the fused kernel: (number of chunks, label smoothing, z-loss coefficient).
Options = tuple[int, float, float]

#: Default budget for one chunk of logits, in elements (32 MiB in float32).
CHUNK_ELEMENTS = 1 << 23


def fused_linear_cross_entropy(
    hidden: Any,
    weight: Any,
    targets: Any,
    *,
    weights: Any = None,
    label_smoothing: float = 0.0,
    z_loss: float = 0.0,
    reduction: Literal["mean", "sum"] = "mean",
    chunk_rows: int | None = None,
) -> Array:
    """Cross-entropy of ``softmax(hidden @ weight)`` against targets, without the N x V logits.

    Args:
        hidden: hidden states, shape (N, d).
        weight: output projection, shape (d, V).
        targets: integer class labels of shape (N,), or probability vectors of shape (N, V)
            (soft targets; they are used as given, not renormalized). A label outside ``0..V-1``
            is outside the support: its row's loss is +inf (as ``nll``'s), with gradient 0.
        weights: optional non-negative row weights, shape (N,). A row of weight 0 is masked out
            completely, value and gradient, whatever its hidden state or label.
        label_smoothing: epsilon in [0, 1): targets become ``(1 - epsilon) t + epsilon / V``.
        z_loss: coefficient of the ``lse(z)^2`` penalty that keeps the log-normalizer near 0.
        reduction: ``"mean"`` divides the weighted sum by the sum of the weights (by N without
            weights); ``"sum"`` returns the weighted sum.
        chunk_rows: rows per chunk; by default as many as keep one chunk of logits within
            ``CHUNK_ELEMENTS`` elements.

    Returns:
        The scalar loss. Gradients flow to ``hidden`` and ``weight``; ``targets`` and
        ``weights`` are data and receive a zero gradient. An empty batch, or one whose weights
        are all 0, has loss 0 and zero gradients.

    Raises:
        ValueError: on inconsistent shapes, an out-of-range option, or (eagerly) negative or
            non-finite weights; TypeError: floating labels of shape (N,).
    """
    hidden, weight = as_float(hidden), as_float(weight)
    if hidden.ndim != 2 or weight.ndim != 2 or hidden.shape[1] != weight.shape[0]:
        raise ValueError(
            f"fused_linear_cross_entropy: need hidden (N, d) and weight (d, V), got {hidden.shape}, {weight.shape}"
        )
    n, v = hidden.shape[0], weight.shape[1]
    targets = jnp.asarray(targets)
    soft = jnp.issubdtype(targets.dtype, jnp.floating)
    if soft and targets.shape == (n,):
        raise TypeError(
            f"fused_linear_cross_entropy: class labels must be integers, got {targets.dtype} of shape {targets.shape}; "
            "cast integer-valued labels with .astype(int), or give probability vectors of shape (N, V)"
        )
    if targets.shape != ((n, v) if soft else (n,)):
        raise ValueError(
            f"fused_linear_cross_entropy: targets must be labels ({n},) or probabilities ({n}, {v}), "
            f"got {targets.shape}"
        )
    if not 0.0 <= label_smoothing < 1.0 or z_loss < 0.0 or reduction not in ("mean", "sum"):
        raise ValueError("fused_linear_cross_entropy: need 0 <= label_smoothing < 1, z_loss >= 0, reduction mean|sum")
    dtype = jnp.result_type(hidden, weight)
    row_weights = jnp.ones((n,), dtype) if weights is None else as_float(weights).astype(dtype)
    if row_weights.shape != (n,):
        raise ValueError(f"fused_linear_cross_entropy: weights must have shape ({n},), got {row_weights.shape}")
    if weights is not None and is_concrete(row_weights) and not _non_negative(np.asarray(row_weights)):
        raise ValueError("fused_linear_cross_entropy: weights must be finite and non-negative")
    if n == 0:  # nothing to average: loss 0, and zero gradients
        return jnp.zeros((), dtype)
    rows = chunk_rows or max(1, min(n, CHUNK_ELEMENTS // v))
    chunks = -(-n // rows)
    pad = chunks * rows - n
    if pad:  # padded rows get weight 0: they add nothing to the loss or the gradients
        hidden = jnp.pad(hidden, ((0, pad), (0, 0)))
        targets = jnp.pad(targets, ((0, pad),) + ((0, 0),) * (targets.ndim - 1))
        row_weights = jnp.pad(row_weights, (0, pad))
    total_weight = jnp.sum(row_weights)
    denominator = jnp.where(total_weight > 0, total_weight, 1.0) if reduction == "mean" else jnp.asarray(1.0, dtype)
    options = (chunks, float(label_smoothing), float(z_loss))  # static and hashable
    return _fused(options, hidden.astype(dtype), weight.astype(dtype), targets, row_weights / denominator)


def _non_negative(w: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(w) & (w >= 0)))


def _strided(x: Array, chunks: int) -> Array:
    """(chunks * rows, ...) -> (chunks, rows, ...), chunk j holding rows j, j + chunks, ..."""
    return jnp.swapaxes(x.reshape((-1, chunks) + x.shape[1:]), 0, 1)


def _unstrided(x: Array) -> Array:
    return jnp.swapaxes(x, 0, 1).reshape((-1,) + x.shape[2:])


def _kept(h: Array, w: Array) -> Array:
    """The hidden states of one chunk with the rows of weight 0 zeroed (masked rows: no NaN leaks)."""
    return jnp.where((w != 0)[:, None], h, jnp.zeros((), h.dtype))


def _in_range(t: Array, v: int) -> Array:
    """Per row: is the target inside the support (always, for probability vectors)?"""
    if jnp.issubdtype(t.dtype, jnp.floating):
        return jnp.ones(t.shape[:1], bool)
    return (t >= 0) & (t < v)


def _chunk_loss(options: Options, h: Array, weight: Array, t: Array) -> tuple[Array, Array, Array]:
    """Logits of one chunk, their log-sum-exp, and the loss of each row (+inf for a label out of range)."""
    _, smoothing, z_coef = options
    z = h @ weight
    lse = jax.nn.logsumexp(z, axis=-1)
    inside = _in_range(t, z.shape[-1])
    if jnp.issubdtype(t.dtype, jnp.floating):
        target_dot = jnp.sum(t * z, axis=-1)
    else:
        target_dot = jnp.take_along_axis(z, jnp.where(inside, t, 0)[:, None], axis=-1)[:, 0]
    if smoothing:
        target_dot = (1.0 - smoothing) * target_dot + smoothing * jnp.mean(z, axis=-1)
    return z, lse, jnp.where(inside, lse - target_dot + z_coef * lse * lse, jnp.inf)


def _weighted_sum(w: Array, loss: Array) -> Array:
    """``sum_r w_r l_r`` with the rows of weight 0 left out (their loss may be +inf or NaN)."""
    return jnp.sum(jnp.where(w != 0, w * loss, jnp.zeros((), loss.dtype)))


def _chunk_grad(options: Options, z: Array, lse: Array, t: Array, w: Array) -> Array:
    """The gradient in the logits of one chunk, per unit upstream cotangent (0 on masked rows and on
    labels out of range, as ``nll``'s)."""
    _, smoothing, z_coef = options
    v = z.shape[-1]
    if jnp.issubdtype(t.dtype, jnp.floating):
        target = t
    else:
        target = (jnp.arange(v, dtype=t.dtype)[None, :] == t[:, None]).astype(z.dtype)
    if smoothing:
        target = (1.0 - smoothing) * target + smoothing / v
    p = jnp.exp(z - lse[:, None])
    scale = jnp.where((w != 0) & _in_range(t, v), w, jnp.zeros((), w.dtype))
    return scale[:, None] * (p * (1.0 + 2.0 * z_coef * lse)[:, None] - target)


@functools.partial(jax.custom_vjp, nondiff_argnums=(0,))
def _fused(options: Options, hidden: Array, weight: Array, targets: Array, w: Array) -> Array:
    def step(total: Array, xs: tuple[Array, Array, Array]) -> tuple[Array, None]:
        h, t, wc = xs
        return total + _weighted_sum(wc, _chunk_loss(options, _kept(h, wc), weight, t)[2]), None

    xs = (_strided(hidden, options[0]), _strided(targets, options[0]), _strided(w, options[0]))
    total, _ = jax.lax.scan(step, jnp.zeros((), hidden.dtype), xs)
    return total


def _fused_fwd(options: Options, hidden: Array, weight: Array, targets: Array, w: Array) -> tuple[Array, Any]:
    def step(carry: tuple[Array, Array], xs: tuple[Array, Array, Array]) -> tuple[tuple[Array, Array], Array]:
        total, grad_weight = carry
        h, t, wc = xs
        h = _kept(h, wc)
        z, lse, loss = _chunk_loss(options, h, weight, t)
        grad_z = _chunk_grad(options, z, lse, t, wc)
        return (total + _weighted_sum(wc, loss), grad_weight + h.T @ grad_z), grad_z @ weight.T

    xs = (_strided(hidden, options[0]), _strided(targets, options[0]), _strided(w, options[0]))
    init = (jnp.zeros((), hidden.dtype), jnp.zeros_like(weight))
    (total, grad_weight), grad_hidden = jax.lax.scan(step, init, xs)
    return total, (_unstrided(grad_hidden), grad_weight, targets, w)


def _fused_bwd(options: Options, residuals: Any, g: Array) -> tuple[Any, ...]:
    grad_hidden, grad_weight, targets, w = residuals
    zero_targets = (
        jnp.zeros_like(targets)
        if jnp.issubdtype(targets.dtype, jnp.floating)
        else np.zeros(targets.shape, jax.dtypes.float0)
    )
    return g * grad_hidden, g * grad_weight, zero_targets, jnp.zeros_like(w)


_fused.defvjp(_fused_fwd, _fused_bwd)
