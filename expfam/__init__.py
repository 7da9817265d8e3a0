"""expfam: exponential-family losses and geometry in JAX.

For a model ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` the cross-entropy of a target
with expectation parameters ``chi`` is ``-chi . eta + g(eta) - E[log h]``, and its gradient
in eta is exactly ``g'(eta) - chi``.
"""

from expfam._compound import (
    beta_binomial_log_prob,
    dirichlet_multinomial_log_prob,
    multivariate_student_t_log_prob,
    negative_binomial_log_prob,
    student_t_log_prob,
)
from expfam._conjugate import (
    BetaBernoulli,
    ConjugatePrior,
    DirichletCategorical,
    GammaExponential,
    GammaPoisson,
    NormalNormal,
)
from expfam._cross_entropy import cross_entropy, distribution_cross_entropy, entropy, fit, kl_divergence, log_prob, nll
from expfam._family import ExponentialFamily
from expfam._fused import fused_linear_cross_entropy
from expfam._gauss_newton import (
    gauss_newton_direction,
    gauss_newton_natural_gradient,
    gauss_newton_operator,
    gauss_newton_vector_product,
)
from expfam._geometry import (
    bregman_divergence,
    dual_potential,
    expectation_fisher_vector_product,
    fisher_vector_product,
    inverse_fisher_vector_product,
)
from expfam._links import SourceLink, positive, source_link
from expfam._loss import Target, loss
from expfam._natural_gradient import (
    damped_natural_gradient,
    mirror_descent,
    natural_gradient,
    natural_gradient_descent,
)
from expfam._normal_priors import NormalGamma, NormalWishart
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

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Beta",
    "BetaBernoulli",
    "Binomial",
    "Categorical",
    "ChiSquare",
    "ConjugatePrior",
    "ContinuousBernoulli",
    "Dirichlet",
    "DirichletCategorical",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "GammaExponential",
    "GammaPoisson",
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
    "NormalGamma",
    "NormalKnownVariance",
    "NormalNormal",
    "NormalWishart",
    "Pareto",
    "Poisson",
    "Rayleigh",
    "SourceLink",
    "Target",
    "VonMises",
    "VonMisesFisher",
    "Weibull",
    "Wishart",
    "__version__",
    "beta_binomial_log_prob",
    "bregman_divergence",
    "cross_entropy",
    "damped_natural_gradient",
    "dirichlet_multinomial_log_prob",
    "distribution_cross_entropy",
    "dual_potential",
    "entropy",
    "expectation_fisher_vector_product",
    "fisher_vector_product",
    "fit",
    "fused_linear_cross_entropy",
    "gauss_newton_direction",
    "gauss_newton_natural_gradient",
    "gauss_newton_operator",
    "gauss_newton_vector_product",
    "inverse_fisher_vector_product",
    "kl_divergence",
    "log_prob",
    "loss",
    "mirror_descent",
    "multivariate_student_t_log_prob",
    "natural_gradient",
    "natural_gradient_descent",
    "negative_binomial_log_prob",
    "nll",
    "positive",
    "source_link",
    "student_t_log_prob",
]
