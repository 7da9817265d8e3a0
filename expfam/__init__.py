"""expfam: exponential-family losses and geometry in JAX.

For a model ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` the cross-entropy of a target
with expectation parameters ``chi`` is ``-chi . eta + g(eta) - E[log h]``, and its gradient
in eta is exactly ``g'(eta) - chi``.
"""

from expfam._cross_entropy import cross_entropy, distribution_cross_entropy, entropy, fit, kl_divergence, log_prob, nll
from expfam._family import ExponentialFamily
from expfam._links import SourceLink, positive, source_link
from expfam._loss import Target, loss
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
    NegativeBinomial,
    Normal,
    NormalKnownVariance,
    Pareto,
    Poisson,
    Rayleigh,
    VonMises,
    VonMisesFisher,
    Weibull,
)

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "ChiSquare",
    "ContinuousBernoulli",
    "Dirichlet",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "Geometric",
    "InverseGamma",
    "InverseGaussian",
    "Laplace",
    "LogNormal",
    "Multinomial",
    "MultivariateNormal",
    "NegativeBinomial",
    "Normal",
    "NormalKnownVariance",
    "Pareto",
    "Poisson",
    "Rayleigh",
    "SourceLink",
    "Target",
    "VonMises",
    "VonMisesFisher",
    "Weibull",
    "__version__",
    "cross_entropy",
    "distribution_cross_entropy",
    "entropy",
    "fit",
    "kl_divergence",
    "log_prob",
    "loss",
    "nll",
    "positive",
    "source_link",
]
