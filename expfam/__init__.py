"""expfam: exponential-family losses and geometry in JAX.

For a model ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` the cross-entropy of a target
with expectation parameters ``chi`` is ``-chi . eta + g(eta) - E[log h]``, and its gradient
in eta is exactly ``g'(eta) - chi``.
"""

from expfam._cross_entropy import cross_entropy, entropy, fit, kl_divergence, log_prob, nll
from expfam._family import ExponentialFamily
from expfam.families import (
    Bernoulli,
    Categorical,
    Exponential,
    Gamma,
    LogNormal,
    MultivariateNormal,
    MultivariateNormalDiag,
    MultivariateNormalUnit,
    Normal,
    NormalKnownVariance,
    Pareto,
    Poisson,
    VonMises,
    VonMisesFisher,
    Wishart,
)

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Categorical",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "LogNormal",
    "MultivariateNormal",
    "MultivariateNormalDiag",
    "MultivariateNormalUnit",
    "Normal",
    "NormalKnownVariance",
    "Pareto",
    "Poisson",
    "VonMises",
    "VonMisesFisher",
    "Wishart",
    "__version__",
    "cross_entropy",
    "entropy",
    "fit",
    "kl_divergence",
    "log_prob",
    "nll",
]
