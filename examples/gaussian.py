"""Gaussian regression: fixed variance is MSE; a learned variance gives heteroscedastic regression.

1. Fixed variance. ``NormalKnownVariance(v)`` has ``-log q(y) = (y - mu)^2 / (2 v) + 1/2 log(2 pi v)``,
   so its gradient is the MSE gradient divided by ``2 v``: the same training signal, up to a
   constant factor (which Adam ignores). Checked on the parameters of an MLP.
2. Learned variance. ``y = sin(3 x) + sigma(x) e`` with ``sigma(x) = 0.05 + 0.5 x^2``, x uniform
   on [-1, 1], e standard normal. A Normal head in its usual parameters,
   ``loc = raw_1``, ``scale = softplus(raw_2)`` (``expfam.source_link(Normal())``), learns the
   noise level; an MSE fit with one residual variance cannot.

Run: ``PYTHONPATH=. python examples/gaussian.py [--fast]``.
"""

from __future__ import annotations

import argparse
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import ndtri

import expfam
from expfam.cli.mlp import apply_mlp, init_mlp, train


def noise_scale(x: Any) -> Any:
    return 0.05 + 0.5 * x[:, 0] ** 2


def sample(seed: int, n: int) -> tuple[jax.Array, jax.Array]:
    """n inputs and their targets, drawn by numpy."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(-1.0, 1.0, (n, 1))
    y = np.sin(3 * x[:, 0]) + noise_scale(x) * rng.standard_normal(n)
    return jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)


def fixed_variance_is_mse(x: jax.Array, y: jax.Array, variance: float) -> float:
    """Largest relative difference between the NLL gradient and the MSE gradient / (2 v)."""
    family = expfam.NormalKnownVariance(variance)
    params = init_mlp(7, [1, 16, 1], output_scale=1.0)
    nll_grad = jax.grad(lambda p: jnp.mean(expfam.loss(family)(apply_mlp(p, x), y)))(params)
    mse_grad = jax.grad(lambda p: jnp.mean((apply_mlp(p, x)[:, 0] - y) ** 2))(params)
    ratio = jax.tree.map(
        lambda a, b: jnp.max(jnp.abs(a - b / (2 * variance))) / jnp.max(jnp.abs(a)), nll_grad, mse_grad
    )
    return float(max(jax.tree.leaves(ratio)))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (2000, 60) if args.fast else (8000, 150)
    x, y = sample(0, n)
    results = {"fixed variance: max relative |grad nll - grad mse / (2 v)|": fixed_variance_is_mse(x, y, 0.3)}

    family = expfam.Normal()
    head = expfam.source_link(family)
    loss = expfam.loss(family, link=head)
    common = {"epochs": epochs, "batch_size": 128, "learning_rate": 1e-2, "key": jax.random.key(2)}

    def nll(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        return jnp.mean(loss(apply_mlp(params, batch[0]), batch[1]))

    def mse(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        return jnp.mean(optax.l2_loss(apply_mlp(params, batch[0])[:, 0], batch[1]))

    params = train(nll, init_mlp(1, [1, 32, 32, 2]), (x, family.target(y)), **common)
    mse_params = train(mse, init_mlp(1, [1, 32, 32, 1]), (x, y), **common)
    residual_scale = jnp.std(y - apply_mlp(mse_params, x)[:, 0])

    grid = jnp.linspace(-0.95, 0.95, 39)[:, None]
    fitted = family.source_from_natural(head(apply_mlp(params, grid)))
    results["learned scale: mean relative error"] = float(jnp.mean(jnp.abs(fitted["scale"] / noise_scale(grid) - 1)))
    results["learned mean: rms error"] = float(jnp.sqrt(jnp.mean((fitted["loc"] - jnp.sin(3 * grid[:, 0])) ** 2)))

    test_x, test_y = sample(3, 20000)
    test = family.source_from_natural(head(apply_mlp(params, test_x)))
    mse_loc = apply_mlp(mse_params, test_x)[:, 0]
    for level in (0.5, 0.9):
        half_width = ndtri(0.5 + level / 2)
        inside = jnp.abs(test_y - test["loc"]) <= half_width * test["scale"]
        inside_mse = jnp.abs(test_y - mse_loc) <= half_width * residual_scale
        results[f"coverage {level:.0%} heteroscedastic"] = float(jnp.mean(inside))
        results[f"coverage {level:.0%} mse"] = float(jnp.mean(inside_mse))
    # Coverage where the noise is small (|x| < 0.3) shows what one variance for all x does.
    low_noise = jnp.abs(test_x[:, 0]) < 0.3
    inside_mse = jnp.abs(test_y - mse_loc) <= ndtri(0.95) * residual_scale
    results["coverage 90% mse, |x| < 0.3"] = float(jnp.sum(inside_mse & low_noise) / jnp.sum(low_noise))
    results["test nll heteroscedastic"] = float(jnp.mean(loss(apply_mlp(params, test_x), test_y)))
    homoscedastic = family.natural_from_source(loc=mse_loc, scale=jnp.broadcast_to(residual_scale, mse_loc.shape))
    results["test nll mse (one variance)"] = float(jnp.mean(expfam.nll(family, homoscedastic, test_y)))

    print(f"Gaussian regression on {n} examples, {epochs} epochs")
    for name, value in results.items():
        print(f"{name:<58} {value:.4g}")
    return results


if __name__ == "__main__":
    main()
