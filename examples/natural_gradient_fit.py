"""Fit a Gamma by minimising the cross-entropy in natural coordinates: three optimisers, five steps.

Gradient descent, natural-gradient descent (learning rate 1: Newton's method, since the
cross-entropy's Hessian in eta is the Fisher information) and mirror descent (learning rate 1:
one step lands on the data's expectation parameters, the maximum-likelihood estimate), each from
``shape = rate = 1`` on draws of ``Gamma(shape 3, rate 2)``. The docs' natural-gradient tutorial
includes this file.

    python examples/natural_gradient_fit.py [--fast]
"""

from __future__ import annotations

import argparse

import jax
import optax

import expfam

family = expfam.Gamma()


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer draws (the test)")
    n = 1_000 if parser.parse_args(argv).fast else 10_000

    y = jax.random.gamma(jax.random.key(0), 3.0, (n,)) / 2.0
    target = family.target(y)
    chi, elc = target.chi.mean(0), target.elc.mean()  # the data's expectation parameters

    def loss(eta: jax.Array) -> jax.Array:
        return expfam.cross_entropy(family, eta, (chi, elc))

    results = {}
    for name, optimizer in [
        ("gradient descent", optax.sgd(0.5)),
        ("natural gradient", expfam.natural_gradient_descent(family, 1.0)),
        ("mirror descent", expfam.mirror_descent(family, 1.0)),
    ]:
        eta = family.natural_from_source(shape=1.0, rate=1.0)
        state = optimizer.init(eta)
        for _ in range(5):
            updates, state = optimizer.update(jax.grad(loss)(eta), state, eta)
            eta = optax.apply_updates(eta, updates)
        source = family.source_from_natural(eta)
        results[name] = float(loss(eta))
        print(f"{name:18s} loss {results[name]:.6f}  shape {source['shape']:.3f}  rate {source['rate']:.3f}")
    results["maximum likelihood"] = float(loss(expfam.fit(family, y)))
    print(f"{'maximum likelihood':18s} loss {results['maximum likelihood']:.6f}")
    return results


if __name__ == "__main__":
    main()
