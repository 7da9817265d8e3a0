"""A small MLP and an optax training loop: the network behind ``expfam fit`` and the examples.

Nothing here is specific to expfam: any network whose last layer has the link's number of
outputs works with ``expfam.loss``. The MLP is ``x -> silu(W_1 x + b_1) -> ... -> W_L h + b_L``
with weights drawn ``N(0, 1 / fan_in)``; the last layer is scaled by ``output_scale`` so the
head starts close to its bias.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax

Array = jax.Array
Params = list[tuple[Array, Array]]


def init_mlp(seed: int, sizes: Sequence[int], output_scale: float = 0.1) -> Params:
    """Weights and biases for layer sizes ``(inputs, hidden..., outputs)``, drawn by numpy from ``seed``."""
    rng = np.random.default_rng(seed)
    params = []
    for i, (fan_in, fan_out) in enumerate(itertools.pairwise(sizes)):
        scale = (output_scale if i == len(sizes) - 2 else 1.0) / fan_in**0.5
        weights = jnp.asarray(scale * rng.standard_normal((fan_in, fan_out)), jnp.result_type(float))
        params.append((weights, jnp.zeros(fan_out, weights.dtype)))
    return params


def apply_mlp(params: Params, x: Array) -> Array:
    """The network's outputs, shape (batch, outputs), for inputs x of shape (batch, inputs)."""
    for w, b in params[:-1]:
        x = jax.nn.silu(x @ w + b[None, :])
    w, b = params[-1]
    return x @ w + b[None, :]


def train(
    loss_fn: Callable[[Any, Any], Array],
    params: Any,
    data: Any,
    *,
    epochs: int,
    key: Array,
    batch_size: int | None = None,
    learning_rate: float = 1e-2,
    on_epoch: Callable[[int, Any, float], None] | None = None,
) -> Any:
    """Adam with cosine decay on ``loss_fn(params, batch) -> scalar``; returns the final parameters.

    Args:
        loss_fn: mean loss over a batch, a pytree of arrays sharing the leading axis.
        params: initial parameters (any pytree).
        data: the training set, a pytree of arrays with leading axis n.
        epochs: passes over the data; each shuffles it and drops the last incomplete batch.
        key: PRNG key for the shuffles.
        batch_size: examples per step; None for full-batch steps.
        learning_rate: the initial step size, decayed to 5% of it by the last step.
        on_epoch: called after each epoch with ``(epoch, params, mean training loss)``.
    """
    n = jax.tree.leaves(data)[0].shape[0]
    batch = n if batch_size is None else min(batch_size, n)
    steps_per_epoch = n // batch
    schedule = optax.cosine_decay_schedule(learning_rate, max(epochs * steps_per_epoch, 1), alpha=0.05)
    optimizer = optax.adam(schedule)

    def step(carry: Any, batch_data: Any) -> tuple[Any, Array]:
        params, state = carry
        value, grads = jax.value_and_grad(loss_fn)(params, batch_data)
        updates, state = optimizer.update(grads, state, params)
        return (optax.apply_updates(params, updates), state), value

    def epoch(carry: Any, key: Array) -> tuple[Any, Array]:
        order = jax.random.permutation(key, n)[: steps_per_epoch * batch]
        batches = jax.tree.map(lambda a: a[order].reshape((steps_per_epoch, batch) + a.shape[1:]), data)
        carry, values = jax.lax.scan(step, carry, batches)
        return carry, jnp.mean(values)

    @jax.jit
    def run(carry: Any, keys: Array) -> tuple[Any, Array]:
        return jax.lax.scan(epoch, carry, keys)

    carry = (params, optimizer.init(params))
    keys = jax.random.split(key, epochs)
    if on_epoch is None:  # all epochs in one compiled call
        return run(carry, keys)[0][0]
    for i in range(epochs):
        carry, values = run(carry, keys[i : i + 1])
        on_epoch(i, carry[0], float(values[0]))
    return carry[0]
