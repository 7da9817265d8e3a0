"""Fused linear + cross-entropy against the materialized formula (values and gradients)."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_close
from scipy import special

import expfam

N, D, V = 37, 6, 50  # N is not a multiple of the chunk sizes below: padding is exercised


def _inputs(dtype: str, soft: bool) -> tuple[jax.Array, jax.Array, jax.Array, jax.Array]:
    rng = np.random.default_rng(0)
    hidden = jnp.asarray(rng.normal(size=(N, D)), dtype)
    weight = jnp.asarray(rng.normal(size=(D, V)), dtype)
    if soft:
        targets = jnp.asarray(special.softmax(rng.normal(size=(N, V)), axis=-1), dtype)
    else:
        targets = jnp.asarray(rng.integers(0, V, N))
    row_weights = jnp.asarray(rng.uniform(0.0, 2.0, N), dtype)
    return hidden, weight, targets, row_weights


def _materialized(hidden, weight, targets, row_weights, smoothing, z_coef, reduction):
    """The N x V logits written out, differentiated by plain autodiff."""
    logits = hidden @ weight
    t = targets if jnp.issubdtype(targets.dtype, jnp.floating) else jax.nn.one_hot(targets, V, dtype=logits.dtype)
    t = (1 - smoothing) * t + smoothing / V
    lse = jax.nn.logsumexp(logits, axis=-1)
    loss = lse - jnp.sum(t * logits, axis=-1) + z_coef * lse**2
    total = jnp.sum(row_weights * loss)
    return total / jnp.sum(row_weights) if reduction == "mean" else total


@pytest.mark.parametrize(
    ("soft", "smoothing", "z_coef", "reduction", "chunk_rows"),
    [
        (False, 0.0, 0.0, "mean", None),
        (False, 0.1, 1e-3, "sum", 5),
        (True, 0.0, 0.0, "sum", 8),
        (True, 0.2, 1e-2, "mean", 5),
    ],
)
def test_matches_materialized(dtype, soft, smoothing, z_coef, reduction, chunk_rows):
    hidden, weight, targets, row_weights = _inputs(dtype, soft)

    def fused(h, w):
        return expfam.fused_linear_cross_entropy(
            h,
            w,
            targets,
            weights=row_weights,
            label_smoothing=smoothing,
            z_loss=z_coef,
            reduction=reduction,
            chunk_rows=chunk_rows,
        )

    def plain(h, w):
        return _materialized(h, w, targets, row_weights, smoothing, z_coef, reduction)

    value, grads = jax.jit(jax.value_and_grad(fused, argnums=(0, 1)))(hidden, weight)
    ref_value, ref_grads = jax.value_and_grad(plain, argnums=(0, 1))(hidden, weight)
    assert_close(value, ref_value, dtype)
    assert_close(fused(hidden, weight), ref_value, dtype)  # the primal (loss-only) path
    for g, ref in zip(grads, ref_grads, strict=True):
        assert_close(g, ref, dtype)


def test_plain_labels_against_optax(dtype):
    hidden, weight, labels, _ = _inputs(dtype, soft=False)
    expected = jnp.mean(optax.softmax_cross_entropy_with_integer_labels(hidden @ weight, labels))
    assert_close(expfam.fused_linear_cross_entropy(hidden, weight, labels, chunk_rows=8), expected, dtype)


def test_value_against_float64_numpy(x64):
    hidden, weight, labels, _ = _inputs("float64", soft=False)
    logits = np.asarray(hidden) @ np.asarray(weight)
    expected = np.mean(special.logsumexp(logits, axis=-1) - logits[np.arange(N), np.asarray(labels)])
    assert_close(expfam.fused_linear_cross_entropy(hidden, weight, labels, chunk_rows=4), expected, "float64")


def test_targets_and_weights_get_zero_gradient():
    hidden, weight, targets, row_weights = _inputs("float32", soft=True)
    grads = jax.grad(lambda t, w: expfam.fused_linear_cross_entropy(hidden, weight, t, weights=w), argnums=(0, 1))(
        targets, row_weights
    )
    assert all(not np.any(np.asarray(g)) for g in grads)


def test_bad_input_raises():
    hidden, weight, labels, _ = _inputs("float32", soft=False)
    with pytest.raises(ValueError, match="weight"):
        expfam.fused_linear_cross_entropy(hidden, weight[:-1], labels)
    with pytest.raises(ValueError, match="targets"):
        expfam.fused_linear_cross_entropy(hidden, weight, labels[:-1])
    with pytest.raises(ValueError, match="label_smoothing"):
        expfam.fused_linear_cross_entropy(hidden, weight, labels, label_smoothing=1.0)
    with pytest.raises(ValueError, match="weights"):
        expfam.fused_linear_cross_entropy(hidden, weight, labels, weights=jnp.ones(3))
