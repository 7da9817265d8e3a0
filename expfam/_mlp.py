"""A small MLP and an optax training loop: the network behind ``expfam fit`` and the examples.

Nothing here is specific to expfam: any network whose last layer has the link's number of
outputs works with ``expfam.loss``. The MLP is ``x -> silu(W_1 x + b_1) -> ... -> W_L h + b_L``
with weights drawn ``N(0, 1 / fan_in)``; the last layer is scaled by ``output_scale`` so the
head starts close to its bias.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import optax

Array = jax.Array
Params = list[tuple[Array, Array]]


def init_mlp(key: Array, sizes: Sequence[int], output_scale: float = 0.1) -> Params:
    """Weights and biases for layer sizes ``(inputs, hidden..., outputs)``."""
    keys = jax.random.split(key, len(sizes) - 1)
    params = []
    for i, (k, fan_in, fan_out) in enumerate(zip(keys, sizes[:-1], sizes[1:], strict=True)):
        scale = (output_scale if i == len(sizes) - 2 else 1.0) / fan_in**0.5
        params.append((scale * jax.random.normal(k, (fan_in, fan_out)), jnp.zeros(fan_out)))
    return params


def apply_mlp(params: Params, x: Array) -> Array:
    """The network's outputs for inputs x of shape (batch, inputs)."""
    for w, b in params[:-1]:
        x = jax.nn.silu(x @ w + b)
    w, b = params[-1]
    return x @ w + b


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

    @jax.jit
    def epoch(params: Any, state: Any, key: Array) -> tuple[Any, Any, Array]:
        order = jax.random.permutation(key, n)[: steps_per_epoch * batch]
        batches = jax.tree.map(lambda a: a[order].reshape((steps_per_epoch, batch) + a.shape[1:]), data)
        (params, state), values = jax.lax.scan(step, (params, state), batches)
        return params, state, jnp.mean(values)

    state = optimizer.init(params)
    for i, k in enumerate(jax.random.split(key, epochs)):
        params, state, value = epoch(params, state, k)
        if on_epoch is not None:
            on_epoch(i, params, float(value))
    return params
