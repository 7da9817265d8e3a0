"""Gamma regression with a small MLP: Gauss-Newton natural gradient (CG) against Adam.

The network maps x in R^2 to the Gamma's natural parameters (-rate, shape) through the
family's link. Both optimizers minimize the mean negative log-likelihood on the same data,
full batch, from the same initialization. The natural-gradient step solves
``(J^T F J / N + damping I) d = grad`` with a few conjugate-gradient iterations, where F is the
closed-form Gamma Fisher at the network's outputs (``expfam.gauss_newton_descent``).

    PYTHONPATH=. python examples/natural_gradient_regression.py [--fast] [--plot out.png]

It prints both loss curves and the number of steps each method needs to come within
``--gap`` nats of the loss of the true generating distribution on the same data.
"""

from __future__ import annotations

import argparse
import importlib.util
from typing import Any

import jax
import jax.numpy as jnp
import optax

import expfam

FAMILY = expfam.Gamma()


def make_data(key: jax.Array, n: int) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Inputs, Gamma targets, and the true natural parameters: shape and mean vary with x."""
    kx, ky = jax.random.split(key)
    x = jax.random.uniform(kx, (n, 2), minval=-2.0, maxval=2.0)
    shape = 1.0 + 4.0 * jax.nn.sigmoid(2.0 * x[:, 0])
    mean = jnp.exp(jnp.sin(1.5 * x[:, 1]) + 0.5 * x[:, 0])
    eta = FAMILY.natural_from_source(shape=shape, rate=shape / mean)
    return x, FAMILY.sample(ky, eta), eta


def init_mlp(key: jax.Array, sizes: tuple[int, ...]) -> list[dict[str, jax.Array]]:
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        {"w": jax.random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)}
        for k, m, n in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def mlp(params: list[dict[str, jax.Array]], x: jax.Array) -> jax.Array:
    for layer in params[:-1]:
        x = jnp.tanh(x @ layer["w"] + layer["b"][None])
    return x @ params[-1]["w"] + params[-1]["b"][None]


def train(optimizer: optax.GradientTransformationExtraArgs, params: Any, x: jax.Array, y: jax.Array, steps: int):
    chi, elc = FAMILY.target(y)[:2]

    def predict_on(p: Any) -> jax.Array:
        return FAMILY.link(mlp(p, x))

    def loss(p: Any) -> jax.Array:
        return jnp.mean(expfam.cross_entropy(FAMILY, predict_on(p), (chi, elc)))

    @jax.jit
    def step(p: Any, state: Any) -> tuple[Any, Any, jax.Array]:
        value, grad = jax.value_and_grad(loss)(p)
        updates, state = optimizer.update(grad, state, p, predict=predict_on)
        return optax.apply_updates(p, updates), state, value

    state = optimizer.init(params)
    losses = []
    for _ in range(steps):
        params, state, value = step(params, state)
        losses.append(float(value))
    losses.append(float(loss(params)))
    return losses, params


def steps_to_reach(losses: list[float], level: float) -> int | None:
    return next((i for i, value in enumerate(losses) if value <= level), None)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few steps (used by the tests)")
    parser.add_argument("--gap", type=float, default=0.05, help="target: true-model loss + gap (nats)")
    parser.add_argument("--plot", default="natural_gradient_regression.png", help="where to save the curves")
    args = parser.parse_args(argv)
    n, steps, hidden = (256, 60, 16) if args.fast else (2048, 400, 32)

    x, y, eta_true = make_data(jax.random.key(0), n)
    floor = float(jnp.mean(expfam.nll(FAMILY, eta_true, y)))
    params = init_mlp(jax.random.key(1), (2, hidden, hidden, FAMILY.num_natural))
    optimizers = {
        "natural gradient (GGN-CG)": expfam.gauss_newton_descent(FAMILY, learning_rate=1.0, damping=1e-2, max_steps=10),
        "adam (lr 1e-2)": optax.adam(1e-2),
    }
    results = {name: train(opt, params, x, y, steps) for name, opt in optimizers.items()}
    curves = {name: curve for name, (curve, _) in results.items()}
    x_test, y_test, _ = make_data(jax.random.key(2), n)
    held_out = {
        name: float(jnp.mean(expfam.nll(FAMILY, FAMILY.link(mlp(p, x_test)), y_test)))
        for name, (_, p) in results.items()
    }

    level = floor + args.gap
    print(f"Gamma regression, n={n}, MLP 2-{hidden}-{hidden}-2, full batch, {steps} steps")
    print(f"true-model loss {floor:.4f}; target loss {level:.4f}")
    print(f"{'step':>6} " + " ".join(f"{name:>26}" for name in curves))
    for i in sorted({0, 1, 2, 5, 10, 20, 50, 100, 200, steps} & set(range(steps + 1))):
        print(f"{i:>6} " + " ".join(f"{curve[i]:>26.4f}" for curve in curves.values()))
    reached = {name: steps_to_reach(curve, level) for name, curve in curves.items()}
    for name, count in reached.items():
        print(f"{name}: {'not reached' if count is None else f'{count} steps'} to reach {level:.4f}")
    print("held-out loss after training: " + ", ".join(f"{name} {value:.4f}" for name, value in held_out.items()))

    if importlib.util.find_spec("matplotlib") is not None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        fig, ax = plt.subplots(figsize=(6, 4))
        for name, curve in curves.items():
            ax.plot(curve, label=name)
        ax.axhline(floor, color="gray", linestyle=":", label="true model")
        ax.set(xlabel="step", ylabel="mean NLL", yscale="log", title="Gamma regression")
        ax.legend()
        fig.savefig(args.plot, dpi=120, bbox_inches="tight")
        print(f"plot saved to {args.plot}")
    return {"curves": curves, "floor": floor, "reached": reached, "held_out": held_out}


if __name__ == "__main__":
    main()
