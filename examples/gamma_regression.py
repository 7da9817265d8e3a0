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
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam
from expfam.cli.mlp import apply_mlp, init_mlp, train


def true_source(x: Any) -> dict[str, Any]:
    shape = 2.0 + 3.0 * x[:, 0]
    mean = np.exp(1.0 + np.sin(3.0 * x[:, 0]))
    return {"shape": shape, "rate": shape / mean}


def simulate(seed: int, n: int) -> tuple[jax.Array, jax.Array]:
    """n inputs and their targets, drawn by numpy."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 1))
    source = true_source(x)
    return jnp.asarray(x, jnp.float32), jnp.asarray(rng.gamma(source["shape"], 1.0 / source["rate"]), jnp.float32)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (2000, 60) if args.fast else (8000, 150)

    family = expfam.Gamma()
    x, y = simulate(0, n)
    target = expfam.Target.from_samples(family, y)
    loss = expfam.loss(family)

    def mean_loss(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        inputs, targets = batch
        return jnp.mean(loss(apply_mlp(params, inputs), targets))

    params = init_mlp(1, [1, 32, 32, 2])
    params = train(
        mean_loss, params, (x, target), epochs=epochs, batch_size=128, learning_rate=1e-2, key=jax.random.key(2)
    )

    grid = np.linspace(0.02, 0.98, 49)[:, None]
    fitted = family.source_from_natural(family.link(apply_mlp(params, grid)))
    truth = true_source(grid)
    results = {f"{name} error": float(jnp.mean(jnp.abs(fitted[name] / truth[name] - 1))) for name in truth}
    mean_error = jnp.abs((fitted["shape"] / fitted["rate"]) / (truth["shape"] / truth["rate"]) - 1)
    results["mean error"] = float(jnp.mean(mean_error))

    test_x, test_y = simulate(1, 4000)
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
