"""Distillation: train a student on a teacher's distributions instead of on samples from it.

A teacher maps inputs x in [-1, 1]^2 to a distribution ``p(. | x)`` (a fixed random network
followed by the family's link). A student MLP is trained twice for the same number of epochs:

* on samples: one ``y ~ p(. | x)`` per input, target ``(T(y), log h(y))``;
* on the teacher's distributions: ``expfam.Target.from_natural(family, eta_teacher)``, i.e.
  ``(E_p[T], E_p[log h])``, whose cross-entropy ``H(p, q) = H(p) + KL(p || q)`` has gradient
  ``g'(eta) - E_p[T]`` with no sampling noise (for Categorical: soft labels).

Each student is scored by the mean ``KL(p || q)`` on held-out inputs. The same code runs
for a Categorical and for a Gamma teacher.

Run: ``PYTHONPATH=. python examples/distillation.py [--fast]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import expfam
from expfam.cli.mlp import apply_mlp, init_mlp, train


def distill(family: expfam.ExponentialFamily, n: int, epochs: int) -> dict[str, float]:
    teacher = init_mlp(10, [2, 16, family.num_natural], output_scale=2.0)
    x = jax.random.uniform(jax.random.key(0), (n, 2), minval=-1.0, maxval=1.0)
    eta_teacher = family.link(apply_mlp(teacher, x))
    loss = expfam.loss(family)

    def mean_loss(params: expfam.cli.mlp.Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        return jnp.mean(loss(apply_mlp(params, batch[0]), batch[1]))

    targets = {
        "samples": expfam.Target.from_samples(family, family.sample(jax.random.key(1), eta_teacher)),
        "distributions": expfam.Target.from_natural(family, eta_teacher),
    }
    test_x = jax.random.uniform(jax.random.key(2), (5000, 2), minval=-1.0, maxval=1.0)
    test_teacher = family.link(apply_mlp(teacher, test_x))
    results = {}
    for name, target in targets.items():
        student = init_mlp(3, [2, 32, 32, family.num_natural])
        student = train(mean_loss, student, (x, target), epochs=epochs, batch_size=64, key=jax.random.key(4))
        kl = expfam.kl_divergence(family, test_teacher, family.link(apply_mlp(student, test_x)))
        results[f"{type(family).__name__} KL from {name}"] = float(jnp.mean(kl))
    return results


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="small data and few epochs (for the tests)")
    args = parser.parse_args(argv)
    n, epochs = (500, 40) if args.fast else (1000, 100)
    results = {}
    print(f"student trained on {n} inputs for {epochs} epochs; held-out mean KL(teacher || student)")
    for family in (expfam.Categorical(4), expfam.Gamma()):
        scores = distill(family, n, epochs)
        results.update(scores)
        for name, value in scores.items():
            print(f"{name:<38} {value:.5f}")
    return results


if __name__ == "__main__":
    main()
