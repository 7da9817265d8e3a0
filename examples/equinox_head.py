"""A distributional head in equinox: Gamma regression trained with ``expfam.loss`` and optax.

The network is an ``eqx.nn.MLP`` with ``len(head.transforms)`` outputs read by
``expfam.source_link(family)``: a head in the usual parameters (here the Gamma's
``shape = softplus(raw_1)`` and ``rate = softplus(raw_2)``), passed to ``expfam.loss`` as its
link. The training step is the usual ``eqx.filter_value_and_grad`` + ``optax`` update. Predictions
come from the natural parameters: the mean is ``family.expectation(eta)[..., 0]``.

Run ``python examples/equinox_head.py`` (``--fast`` for a few steps on tiny data).
"""

from __future__ import annotations

import argparse

import equinox as eqx
import jax
import jax.numpy as jnp
import optax

import expfam

FAMILY = expfam.Gamma()
HEAD = expfam.source_link(FAMILY)  # (shape, rate) through softplus


def synthetic(key: jax.Array, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Features x in [-1, 1]^2, Gamma targets with mean ``exp(0.5 + x_1 - x_2 / 2)`` and shape 4."""
    feature_key, target_key = jax.random.split(key)
    x = jax.random.uniform(feature_key, (n, 2), minval=-1.0, maxval=1.0)
    mean = jnp.exp(0.5 + x[:, 0] - 0.5 * x[:, 1])
    y = jax.random.gamma(target_key, 4.0, (n,)) * mean / 4.0
    return x, y, mean


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few steps on tiny data (the test)")
    args = parser.parse_args(argv)
    n, steps, width = (64, 30, 8) if args.fast else (4096, 1500, 32)

    x, y, true_mean = synthetic(jax.random.key(0), n)
    loss_fn = expfam.loss(FAMILY, HEAD)
    model = eqx.nn.MLP(2, HEAD.num_outputs, width, depth=1, activation=jnp.tanh, key=jax.random.key(1))
    optimizer = optax.adam(1e-2)
    state = optimizer.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def step(model: eqx.nn.MLP, state: optax.OptState) -> tuple[eqx.nn.MLP, optax.OptState, jax.Array]:
        def mean_loss(model: eqx.nn.MLP) -> jax.Array:
            return jnp.mean(loss_fn(jax.vmap(model)(x), y))

        value, grads = eqx.filter_value_and_grad(mean_loss)(model)
        updates, state = optimizer.update(grads, state, eqx.filter(model, eqx.is_array))
        return eqx.apply_updates(model, updates), state, value

    losses = []
    for _ in range(steps):
        model, state, value = step(model, state)
        losses.append(float(value))
    mean = FAMILY.expectation(HEAD(jax.vmap(model)(x)))[:, 0]
    results = {
        "initial loss": losses[0],
        "final loss": losses[-1],
        "mean relative error of the predicted mean": float(jnp.mean(jnp.abs(mean / true_mean - 1.0))),
    }
    for name, value in results.items():
        print(f"{name}: {value:.4f}")
    return results


if __name__ == "__main__":
    main()
