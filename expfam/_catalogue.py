"""Every family expfam ships, each with example points in its source parameters.

``verify`` and the test battery iterate over this list, so adding a family adds a row here.
The points span each family's documented range, extremes included.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from expfam._family import ExponentialFamily
from expfam.families import (
    Bernoulli,
    Beta,
    Binomial,
    Categorical,
    ChiSquare,
    ContinuousBernoulli,
    Dirichlet,
    Exponential,
    Gamma,
    Geometric,
    InverseGamma,
    InverseGaussian,
    Laplace,
    LogNormal,
    Multinomial,
    MultivariateNormal,
    MultivariateNormalDiag,
    MultivariateNormalUnit,
    NegativeBinomial,
    Normal,
    NormalKnownVariance,
    Pareto,
    Poisson,
    Rayleigh,
    VonMises,
    VonMisesFisher,
    Weibull,
    Wishart,
)


class Entry(NamedTuple):
    family: ExponentialFamily
    examples: tuple[dict[str, Any], ...]


CATALOGUE: tuple[Entry, ...] = (
    Entry(Bernoulli(), ({"probability": 0.3}, {"probability": 0.97}, {"probability": 1e-3})),
    Entry(
        Categorical(4),
        (
            {"probabilities": [0.1, 0.2, 0.3, 0.4]},
            {"probabilities": [0.97, 0.01, 0.01, 0.01]},
        ),
    ),
    Entry(NormalKnownVariance(), ({"loc": 0.5}, {"loc": -3.0})),
    Entry(NormalKnownVariance(variance=0.25), ({"loc": 2.0},)),
    Entry(Normal(), ({"loc": 0.5, "scale": 2.0}, {"loc": -3.0, "scale": 0.1}, {"loc": 100.0, "scale": 10.0})),
    Entry(Gamma(), ({"shape": 2.0, "rate": 3.0}, {"shape": 0.05, "rate": 1.0}, {"shape": 50.0, "rate": 0.5})),
    Entry(Exponential(), ({"rate": 0.5}, {"rate": 20.0})),
    Entry(Poisson(), ({"rate": 3.5}, {"rate": 0.01}, {"rate": 400.0})),
    Entry(Pareto(minimum=1.0), ({"alpha": 2.5}, {"alpha": 0.7})),
    Entry(Pareto(minimum=3.0), ({"alpha": 4.0},)),
    Entry(LogNormal(), ({"loc": 0.0, "scale": 1.0}, {"loc": 1.5, "scale": 0.3})),
    Entry(
        Beta(),
        (
            {"alpha": 2.0, "beta": 3.0},
            {"alpha": 0.3, "beta": 2.0},
            {"alpha": 1e3, "beta": 1e3},
            {"alpha": 1e3, "beta": 20.0},
            {"alpha": 0.5, "beta": 40.0},
        ),
    ),
    Entry(
        Dirichlet(3),
        (
            {"concentration": [1.0, 2.0, 3.0]},
            {"concentration": [0.3, 0.3, 0.3]},
            {"concentration": [1e3, 1e3, 1e3]},
            {"concentration": [0.5, 30.0, 1e3]},
        ),
    ),
    Entry(Binomial(1), ({"probability": 0.3},)),
    Entry(Binomial(20), ({"probability": 0.3}, {"probability": 1e-6}, {"probability": 0.999})),
    Entry(Multinomial(10, 3), ({"probabilities": [0.2, 0.3, 0.5]}, {"probabilities": [1e-3, 1e-3, 0.998]})),
    Entry(NegativeBinomial(2.5), ({"probability": 0.4}, {"probability": 1e-6}, {"probability": 0.999})),
    Entry(NegativeBinomial(0.01), ({"probability": 0.3},)),
    Entry(Geometric(), ({"probability": 0.4}, {"probability": 1e-6}, {"probability": 0.999})),
    Entry(ChiSquare(), ({"df": 3.0}, {"df": 0.2}, {"df": 2.0}, {"df": 2e3})),
    Entry(Rayleigh(), ({"scale": 1.5}, {"scale": 1e-6}, {"scale": 1e6})),
    Entry(Weibull(2.5), ({"scale": 1.5}, {"scale": 0.01}, {"scale": 100.0})),
    Entry(Weibull(0.5), ({"scale": 3.0},)),
    Entry(Laplace(), ({"scale": 1.0}, {"scale": 1e-6}, {"scale": 1e6})),
    Entry(Laplace(loc=-2.0), ({"scale": 0.5},)),
    Entry(
        InverseGaussian(), ({"mean": 2.0, "shape": 3.0}, {"mean": 0.1, "shape": 10.0}, {"mean": 100.0, "shape": 0.1})
    ),
    Entry(ContinuousBernoulli(), ({"lam": 0.3}, {"lam": 0.5}, {"lam": 0.5 + 1e-4}, {"lam": 1e-4}, {"lam": 0.9999})),
    Entry(
        InverseGamma(),
        (
            {"shape": 3.0, "scale": 2.0},
            {"shape": 0.3, "scale": 1.0},
            {"shape": 1e3, "scale": 1e3},
            {"shape": 50.0, "scale": 1e-6},
        ),
    ),
    Entry(
        VonMises(),
        (
            {"loc": 0.5, "concentration": 2.0},
            {"loc": -3.0, "concentration": 1e-8},
            {"loc": 1.0, "concentration": 30.0},
            {"loc": 2.0, "concentration": 1e3},
        ),
    ),
    Entry(
        VonMisesFisher(3),
        (
            {"mean_direction": [0.6, 0.0, 0.8], "concentration": 2.0},
            {"mean_direction": [0.0, 1.0, 0.0], "concentration": 1e-8},
            {"mean_direction": [0.0, -0.6, 0.8], "concentration": 1e3},
            {"mean_direction": [0.48, -0.6, 0.64], "concentration": 50.0},
        ),
    ),
    Entry(
        MultivariateNormal(3),
        (
            {"loc": [0.5, -1.0, 2.0], "covariance": [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]},
            {"loc": [0.0, 0.0, 0.0], "covariance": [[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]},
            # condition number 1e3: variances 10 and 1e-2 in a rotated basis
            {"loc": [10.0, -5.0, 1.0], "covariance": [[5.005, -4.995, 0.0], [-4.995, 5.005, 0.0], [0.0, 0.0, 1.0]]},
        ),
    ),
    Entry(
        MultivariateNormalDiag(3),
        (
            {"loc": [0.5, -1.0, 2.0], "scale": [2.0, 0.5, 1.0]},
            {"loc": [3.0, 0.0, -3.0], "scale": [1e-1, 1.0, 10.0]},
        ),
    ),
    Entry(MultivariateNormalUnit(3), ({"loc": [0.5, -1.0, 2.0]}, {"loc": [30.0, 0.0, -30.0]})),
    Entry(
        Wishart(3, df=5.0),
        (
            {"scale": [[2.0, 0.3, 0.1], [0.3, 1.0, -0.2], [0.1, -0.2, 0.5]]},
            {"scale": [[1e2, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1e-1]]},
        ),
    ),
    Entry(Wishart(3, df=20.0), ({"scale": [[1.0, 0.5, 0.0], [0.5, 1.0, 0.0], [0.0, 0.0, 1.0]]},)),
)


def family_names() -> list[str]:
    """Class names of the catalogue's families, without repeats, in catalogue order."""
    return list(dict.fromkeys(type(entry.family).__name__ for entry in CATALOGUE))


def families() -> list[ExponentialFamily]:
    """The catalogue's families, each configuration once, in catalogue order."""
    return list(dict.fromkeys(entry.family for entry in CATALOGUE))


def first_examples() -> list[tuple[ExponentialFamily, dict[str, Any]]]:
    """One ``(family, example)`` per family class: its first configuration and first example point.

    The training-level checks (links at a sample, cross-entropy minimization = maximum
    likelihood) run over these, one per class, to keep their compile time small.
    """
    first: dict[str, tuple[ExponentialFamily, dict[str, Any]]] = {}
    for entry in CATALOGUE:
        first.setdefault(type(entry.family).__name__, (entry.family, entry.examples[0]))
    return list(first.values())
