"""The family catalogue: one family per module."""

from expfam.families.bernoulli import Bernoulli
from expfam.families.categorical import Categorical
from expfam.families.exponential import Exponential
from expfam.families.gamma import Gamma
from expfam.families.lognormal import LogNormal
from expfam.families.multivariate_normal import MultivariateNormal
from expfam.families.multivariate_normal_diag import MultivariateNormalDiag
from expfam.families.multivariate_normal_unit import MultivariateNormalUnit
from expfam.families.normal import Normal, NormalKnownVariance
from expfam.families.pareto import Pareto
from expfam.families.poisson import Poisson
from expfam.families.von_mises import VonMises
from expfam.families.von_mises_fisher import VonMisesFisher
from expfam.families.wishart import Wishart

__all__ = [
    "Bernoulli",
    "Categorical",
    "Exponential",
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
]
