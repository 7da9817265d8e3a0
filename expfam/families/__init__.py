"""The family catalogue: one family per module."""

from expfam.families.bernoulli import Bernoulli
from expfam.families.beta import Beta
from expfam.families.binomial import Binomial
from expfam.families.categorical import Categorical
from expfam.families.chi_square import ChiSquare
from expfam.families.continuous_bernoulli import ContinuousBernoulli
from expfam.families.dirichlet import Dirichlet
from expfam.families.exponential import Exponential
from expfam.families.gamma import Gamma
from expfam.families.geometric import Geometric
from expfam.families.inverse_gamma import InverseGamma
from expfam.families.inverse_gaussian import InverseGaussian
from expfam.families.laplace import Laplace
from expfam.families.lognormal import LogNormal
from expfam.families.multinomial import Multinomial
from expfam.families.multivariate_normal import MultivariateNormal
from expfam.families.multivariate_normal_diag import MultivariateNormalDiag
from expfam.families.multivariate_normal_unit import MultivariateNormalUnit
from expfam.families.negative_binomial import NegativeBinomial
from expfam.families.normal import Normal, NormalKnownVariance
from expfam.families.pareto import Pareto
from expfam.families.poisson import Poisson
from expfam.families.rayleigh import Rayleigh
from expfam.families.von_mises import VonMises
from expfam.families.von_mises_fisher import VonMisesFisher
from expfam.families.weibull import Weibull
from expfam.families.wishart import Wishart

__all__ = [
    "Bernoulli",
    "Beta",
    "Binomial",
    "Categorical",
    "ChiSquare",
    "ContinuousBernoulli",
    "Dirichlet",
    "Exponential",
    "Gamma",
    "Geometric",
    "InverseGamma",
    "InverseGaussian",
    "Laplace",
    "LogNormal",
    "Multinomial",
    "MultivariateNormal",
    "MultivariateNormalDiag",
    "MultivariateNormalUnit",
    "NegativeBinomial",
    "Normal",
    "NormalKnownVariance",
    "Pareto",
    "Poisson",
    "Rayleigh",
    "VonMises",
    "VonMisesFisher",
    "Weibull",
    "Wishart",
]
