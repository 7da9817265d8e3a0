"""Categorical classification with one-hot targets: the loss is optax's softmax cross-entropy.

Three interleaved spirals in the plane; an MLP outputs three logits, the Categorical's
canonical link is the identity (``eta = logits``) and the loss is
``-onehot . eta + logsumexp(eta)``, which is ``optax.softmax_cross_entropy``. The one-hot
targets are prepared once; their gradient is ``softmax(eta) - onehot``.

Run: ``PYTHONPATH=. python examples/classification.py [--fast]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax

import expfam
from expfam.cli.mlp import apply_mlp, init_mlp, train

CLASSES = 3


def spirals(seed: int, n: int) -> tuple[jax.Array, jax.Array]:
    """Points on three noisy spirals and their spiral index, drawn by numpy."""
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, CLASSES, n)
    radius = rng.uniform(0.1, 1.0, n)
    angle = 4.0 * radius + 2 * np.pi * labels / CLASSES
    points = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=-1) + 0.08 * rng.standard_normal((n, 2))
    return jnp.asarray(points, jnp.float32), jnp.asarray(labels)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (1500, 60) if args.fast else (6000, 150)

    family = expfam.Categorical(CLASSES)
    x, labels = spirals(0, n)
    one_hot = jax.nn.one_hot(labels, CLASSES)
    target = family.probabilities_target(one_hot)
    loss = expfam.loss(family)

    def mean_loss(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        inputs, targets = batch
        return jnp.mean(loss(apply_mlp(params, inputs), targets))

    params = init_mlp(1, [2, 64, 64, CLASSES])
    params = train(
        mean_loss, params, (x, target), epochs=epochs, batch_size=128, learning_rate=1e-2, key=jax.random.key(2)
    )

    test_x, test_labels = spirals(3, 3000)
    test_one_hot = jax.nn.one_hot(test_labels, CLASSES)
    logits = apply_mlp(params, test_x)
    test_loss = loss(logits, family.probabilities_target(test_one_hot))
    results = {
        "train loss": float(mean_loss(params, (x, target))),
        "test loss": float(jnp.mean(test_loss)),
        "test accuracy": float(jnp.mean(jnp.argmax(logits, -1) == test_labels)),
        "max |expfam - optax|": float(jnp.max(jnp.abs(test_loss - optax.softmax_cross_entropy(logits, test_one_hot)))),
    }
    print(f"three spirals, {n} training points, {epochs} epochs")
    for name, value in results.items():
        print(f"{name:<22} {value:.4g}")
    return results


if __name__ == "__main__":
    main()
