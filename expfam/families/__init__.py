"""The family catalogue: one family per module."""

from expfam.families.bernoulli import Bernoulli
from expfam.families.categorical import Categorical
from expfam.families.exponential import Exponential
from expfam.families.gamma import Gamma
from expfam.families.lognormal import LogNormal
from expfam.families.multivariate_normal import MultivariateNormal
from expfam.families.normal import Normal, NormalKnownVariance
from expfam.families.pareto import Pareto
from expfam.families.poisson import Poisson
from expfam.families.von_mises import VonMises
from expfam.families.von_mises_fisher import VonMisesFisher

__all__ = [
    "Bernoulli",
    "Categorical",
    "Exponential",
    "Gamma",
    "LogNormal",
    "MultivariateNormal",
    "Normal",
    "NormalKnownVariance",
    "Pareto",
    "Poisson",
    "VonMises",
    "VonMisesFisher",
]
