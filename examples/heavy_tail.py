"""A heavy-tailed target: a LogNormal head against an MSE fit on the same data (tail calibration).

``y | x ~ LogNormal(loc(x), scale(x))`` with ``loc = 1 + x``, ``scale = 0.5 + 0.7 x`` for x
uniform on [0, 1]: right-skewed, with a tail that grows with x. Two MLPs see the same data:

* expfam: a LogNormal head (canonical link ``eta = (raw_1, -softplus(raw_2))``) trained on the
  LogNormal negative log-likelihood;
* MSE: the usual regression, ``optax.l2_loss``, with a Gaussian predictive distribution
  ``N(f(x), s^2)`` where ``s`` is the residual standard deviation on the training set.

Both are judged on held-out data by how often y exceeds the predicted upper quantiles
(90%, 99%, 99.9%), which should happen 10%, 1% and 0.1% of the time, and how often y falls
below the predicted 5% quantile.

Run: ``PYTHONPATH=. python examples/heavy_tail.py [--fast]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.scipy.special import ndtri

import expfam
from expfam.cli.mlp import apply_mlp, init_mlp, train

UPPER = (0.9, 0.99, 0.999)


def simulate(seed: int, n: int) -> tuple[jax.Array, jax.Array]:
    """n inputs and LogNormal targets with ``loc = 1 + x``, ``scale = 0.5 + 0.7 x``, drawn by numpy."""
    rng = np.random.default_rng(seed)
    x = rng.uniform(size=(n, 1))
    y = np.exp(1.0 + x[:, 0] + (0.5 + 0.7 * x[:, 0]) * rng.standard_normal(n))
    return jnp.asarray(x, jnp.float32), jnp.asarray(y, jnp.float32)


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (3000, 40) if args.fast else (10000, 100)

    family = expfam.LogNormal()
    x, y = simulate(0, n)
    test_x, test_y = simulate(1, 50000)
    loss = expfam.loss(family)
    common = {"epochs": epochs, "batch_size": 128, "learning_rate": 1e-2}

    def nll(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        return jnp.mean(loss(apply_mlp(params, batch[0]), batch[1]))

    def mse(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
        return jnp.mean(optax.l2_loss(apply_mlp(params, batch[0])[:, 0], batch[1]))

    dist_params = train(nll, init_mlp(4, [1, 32, 32, 2]), (x, family.target(y)), key=jax.random.key(5), **common)
    mse_params = train(mse, init_mlp(4, [1, 32, 32, 1]), (x, y), key=jax.random.key(5), **common)

    source = family.source_from_natural(family.link(apply_mlp(dist_params, test_x)))
    mean = apply_mlp(mse_params, test_x)[:, 0]
    spread = jnp.std(y - apply_mlp(mse_params, x)[:, 0])

    def lognormal_quantile(p: float) -> jax.Array:
        return jnp.exp(source["loc"] + source["scale"] * ndtri(p))

    results = {}
    for p in UPPER:
        results[f"P(y > q{p:g}) lognormal"] = float(jnp.mean(test_y > lognormal_quantile(p)))
        results[f"P(y > q{p:g}) mse"] = float(jnp.mean(test_y > mean + spread * ndtri(p)))
    results["P(y < q0.05) lognormal"] = float(jnp.mean(test_y < lognormal_quantile(0.05)))
    results["P(y < q0.05) mse"] = float(jnp.mean(test_y < mean + spread * ndtri(0.05)))
    results["P(q0.05 < 0) mse"] = float(jnp.mean(mean + spread * ndtri(0.05) < 0))
    results["test nll lognormal"] = float(jnp.mean(loss(apply_mlp(dist_params, test_x), test_y)))
    gaussian = expfam.Normal().natural_from_source(loc=mean, scale=jnp.broadcast_to(spread, mean.shape))
    results["test nll mse (gaussian)"] = float(jnp.mean(expfam.nll(expfam.Normal(), gaussian, test_y)))

    print(f"LogNormal target, {n} training points; held-out exceedance frequencies (ideal in brackets)")
    print(f"{'':<22} {'lognormal':>10} {'mse':>10}")
    for p in UPPER:
        row = f"P(y > q{p:g}) [{1 - p:.3g}]"
        print(f"{row:<22} {results[f'P(y > q{p:g}) lognormal']:>10.4f} {results[f'P(y > q{p:g}) mse']:>10.4f}")
    print(
        f"{'P(y < q0.05) [0.05]':<22} {results['P(y < q0.05) lognormal']:>10.4f} {results['P(y < q0.05) mse']:>10.4f}"
    )
    print(f"MSE model's 5% quantile is negative (impossible) for {results['P(q0.05 < 0) mse']:.1%} of inputs")
    print(f"test nll: lognormal {results['test nll lognormal']:.4f}, ", end="")
    print(f"mse gaussian {results['test nll mse (gaussian)']:.4f}")
    return results


if __name__ == "__main__":
    main()
