"""Cross-entropy minimization is maximum likelihood, family by family.

For samples ``x_i`` the mean cross-entropy of a constant model ``q(. | eta)`` is
``-mean_i T(x_i) . eta + g(eta) - mean_i log h(x_i)``, minimized where ``g'(eta) = mean T(x)``:
exactly ``expfam.fit``. Here a constant head ``eta = link(b)`` (M numbers, no inputs) is
trained by Adam on the per-example loss and compared with ``fit``, in expectation
coordinates (unique even for the over-complete Categorical logits).

Run: ``PYTHONPATH=. python examples/ce_is_ml.py [--fast | --all | --family NAME]``.
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp

import expfam
from expfam.cli.mlp import train

#: The families of the fast mode (tests/test_fit.py checks the same property on every family).
FAST_FAMILIES = ("Categorical", "Normal", "Pareto")
#: The default families (under 60 s): the first nine; ``--all`` runs every family of the catalogue
#: (about 130 s of CPU time), ``--family`` picks some.
DEFAULT_FAMILIES = (
    "Bernoulli",
    "Categorical",
    "Normal",
    "NormalKnownVariance",
    "Gamma",
    "Exponential",
    "Poisson",
    "Pareto",
    "LogNormal",
)


def _first_examples() -> list[tuple[expfam.ExponentialFamily, dict]]:
    """One (family, source point) per family class of the catalogue: its first row's first point."""
    first: dict[type, tuple[expfam.ExponentialFamily, dict]] = {}
    for entry in expfam.catalogue():
        first.setdefault(type(entry.family), (entry.family, entry.examples[0]))
    return list(first.values())


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fast", action="store_true", help="fewer samples and steps (for the tests)")
    parser.add_argument("--family", action="append", help="only this family class (repeatable)")
    parser.add_argument("--all", action="store_true", help="every family of the catalogue, one configuration each")
    args = parser.parse_args(argv)
    n, steps = (500, 600) if args.fast else (2000, 1000)
    everything = [type(f).__name__ for f, _ in _first_examples()]
    names = args.family or (everything if args.all else FAST_FAMILIES if args.fast else DEFAULT_FAMILIES)

    results = {}
    print(f"{'family':<42} {'max rel. diff. E[T]':>20} {'CE trained':>12} {'CE at fit':>12}")
    for family, source in _first_examples():
        if type(family).__name__ not in names:
            continue
        eta_true = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
        x = family.sample(jax.random.key(0), eta_true, (n,))
        target = expfam.Target.from_samples(family, x)
        loss = expfam.loss(family)

        def mean_loss(b: jax.Array, t: expfam.Target, loss=loss) -> jax.Array:
            return jnp.mean(loss(b, t))

        b = train(
            mean_loss, jnp.zeros(family.num_natural), target, epochs=steps, learning_rate=0.1, key=jax.random.key(1)
        )
        eta_fit = expfam.fit(family, x)
        trained, fitted = family.expectation(family.link(b)), family.expectation(eta_fit)
        difference = float(jnp.max(jnp.abs(trained - fitted)) / jnp.max(jnp.abs(fitted)))
        ce_trained = float(mean_loss(b, target))
        ce_fit = float(jnp.mean(expfam.cross_entropy(family, eta_fit, target)))
        results[family.name] = difference
        print(f"{family.name:<42} {difference:>20.2e} {ce_trained:>12.6f} {ce_fit:>12.6f}")
    return results


if __name__ == "__main__":
    main()
