"""Gamma regression: an MLP recovers the shape and rate functions of a positive, skewed target.

The target is ``y | x ~ Gamma(shape(x), rate(x))`` with ``shape(x) = 2 + 3 x`` and
``mean(x) = exp(1 + sin(3 x))`` (``rate = shape / mean``) for x uniform on [0, 1]. The network
outputs two numbers, the Gamma's canonical link turns them into natural parameters
``eta = (-softplus(raw_1), softplus(raw_2)) = (-rate, shape)``, and the loss is the Gamma
negative log-likelihood. Targets are prepared once as ``(T(y), log h(y))``.

Run: ``PYTHONPATH=. python examples/gamma_regression.py [--fast]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import expfam
from expfam._mlp import apply_mlp, init_mlp, train


def true_source(x: jax.Array) -> dict[str, jax.Array]:
    shape = 2.0 + 3.0 * x[:, 0]
    mean = jnp.exp(1.0 + jnp.sin(3.0 * x[:, 0]))
    return {"shape": shape, "rate": shape / mean}


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (2000, 60) if args.fast else (8000, 150)

    family = expfam.Gamma()
    data_key, init_key, train_key = jax.random.split(jax.random.key(0), 3)
    x = jax.random.uniform(data_key, (n, 1))
    y = family.sample(jax.random.fold_in(data_key, 1), family.natural_from_source(**true_source(x)))
    target = expfam.Target.from_samples(family, y)
    loss = expfam.loss(family)

    def mean_loss(params: expfam._mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        inputs, targets = batch
        return jnp.mean(loss(apply_mlp(params, inputs), targets))

    params = init_mlp(init_key, [1, 32, 32, 2])
    params = train(mean_loss, params, (x, target), epochs=epochs, batch_size=128, learning_rate=1e-2, key=train_key)

    grid = jnp.linspace(0.02, 0.98, 49)[:, None]
    fitted = family.source_from_natural(family.link(apply_mlp(params, grid)))
    truth = true_source(grid)
    results = {f"{name} error": float(jnp.mean(jnp.abs(fitted[name] / truth[name] - 1))) for name in truth}
    mean_error = jnp.abs((fitted["shape"] / fitted["rate"]) / (truth["shape"] / truth["rate"]) - 1)
    results["mean error"] = float(jnp.mean(mean_error))

    test_x = jax.random.uniform(jax.random.key(1), (4000, 1))
    test_y = family.sample(jax.random.key(2), family.natural_from_source(**true_source(test_x)))
    results["test nll"] = float(jnp.mean(loss(apply_mlp(params, test_x), test_y)))
    results["test nll, true parameters"] = float(
        jnp.mean(expfam.nll(family, family.natural_from_source(**true_source(test_x)), test_y))
    )
    results["test nll, unconditional MLE"] = float(jnp.mean(expfam.nll(family, expfam.fit(family, y), test_y)))
    print(f"Gamma regression on {n} examples, {epochs} epochs")
    print("mean relative error over x in [0, 1] of the recovered functions:")
    for name in ("shape", "rate", "mean"):
        print(f"  {name:<5} {results[f'{name} error']:.3f}")
    for name in ("test nll", "test nll, true parameters", "test nll, unconditional MLE"):
        print(f"{name:<28} {results[name]:.4f}")
    return results


if __name__ == "__main__":
    main()
