"""A distributional head in flax (nnx): Gamma regression trained with ``expfam.loss`` and optax.

The network is an ordinary ``nnx.Module`` whose last layer has ``family.num_natural`` outputs;
``expfam.loss(family)`` applies the family's canonical link (for the Gamma,
``eta = (-softplus(raw_1), softplus(raw_2))``) and returns the per-example negative
log-likelihood, so the training step is the usual ``nnx.value_and_grad`` + ``nnx.Optimizer``.
Predictions come from the natural parameters: the mean is ``family.expectation(eta)[..., 0]``.

Run ``python examples/flax_head.py`` (``--fast`` for a few steps on tiny data).
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import optax
from flax import nnx

import expfam

FAMILY = expfam.Gamma()


def synthetic(key: jax.Array, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Features x in [-1, 1]^2, Gamma targets with mean ``exp(0.5 + x_1 - x_2 / 2)`` and shape 4."""
    feature_key, target_key = jax.random.split(key)
    x = jax.random.uniform(feature_key, (n, 2), minval=-1.0, maxval=1.0)
    mean = jnp.exp(0.5 + x[:, 0] - 0.5 * x[:, 1])
    y = jax.random.gamma(target_key, 4.0, (n,)) * mean / 4.0
    return x, y, mean


class GammaHead(nnx.Module):
    """A one-hidden-layer MLP whose outputs are the raw inputs of the Gamma's canonical link."""

    def __init__(self, width: int, rngs: nnx.Rngs):
        self.hidden = nnx.Linear(2, width, rngs=rngs)
        self.out = nnx.Linear(width, FAMILY.num_natural, rngs=rngs)

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.out(nnx.tanh(self.hidden(x)))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="a few steps on tiny data (the test)")
    args = parser.parse_args(argv)
    n, steps, width = (64, 30, 8) if args.fast else (4096, 1500, 32)

    x, y, true_mean = synthetic(jax.random.key(0), n)
    loss_fn = expfam.loss(FAMILY)  # canonical link; per-example nll
    model = GammaHead(width, nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adam(1e-2), wrt=nnx.Param)

    @nnx.jit
    def step(model: GammaHead, optimizer: nnx.Optimizer) -> jax.Array:
        def mean_loss(model: GammaHead) -> jax.Array:
            return jnp.mean(loss_fn(model(x), y))

        value, grads = nnx.value_and_grad(mean_loss)(model)
        optimizer.update(model, grads)
        return value

    losses = [float(step(model, optimizer)) for _ in range(steps)]
    mean = FAMILY.expectation(FAMILY.link(model(x)))[:, 0]
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
