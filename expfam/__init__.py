"""expfam: exponential-family losses and geometry in JAX.

For a model ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` the cross-entropy of a target
with expectation parameters ``chi`` is ``-chi . eta + g(eta) - E[log h]``, and its gradient
in eta is exactly ``g'(eta) - chi``.
"""

from importlib.metadata import version as _version

from expfam import families
from expfam._bayes.compound import (
    beta_binomial_log_prob,
    dirichlet_multinomial_log_prob,
    multivariate_student_t_log_prob,
    negative_binomial_log_prob,
    student_t_log_prob,
)
from expfam._bayes.conjugate import (
    BetaBernoulli,
    ConjugatePrior,
    DirichletCategorical,
    GammaExponential,
    GammaPoisson,
    NormalNormal,
)
from expfam._bayes.normal_priors import NormalGamma, NormalWishart
from expfam._core.constraints import positive
from expfam._core.cross_entropy import (
    cross_entropy,
    distribution_cross_entropy,
    entropy,
    fit,
    kl_divergence,
    log_prob,
    nll,
)
from expfam._core.family import ExponentialFamily, SourceParameter
from expfam._core.registry import catalogue, family_classes
from expfam._core.summaries import (
    cdf,
    covariance,
    log_cdf,
    log_survival,
    mean,
    mode,
    quantile,
    stddev,
    survival,
    variance,
)
from expfam._core.target import Target
from expfam._geometry.fisher import (
    bregman_divergence,
    dual_potential,
    expectation_fisher_vector_product,
    fisher_vector_product,
    inverse_fisher_vector_product,
)
from expfam._geometry.gauss_newton import (
    gauss_newton_descent,
    gauss_newton_direction,
    gauss_newton_operator,
    gauss_newton_vector_product,
    scale_by_gauss_newton,
)
from expfam._geometry.natural_gradient import (
    damped_natural_gradient,
    mirror_descent,
    natural_gradient_descent,
    scale_by_natural_gradient,
)
from expfam._geometry.variational import (
    PATHWISE_SAMPLERS,
    VariationalResult,
    backtrack,
    elbo,
    expectation_gradient,
    natural_target,
    variational_inference,
    variational_natural_gradient,
)
from expfam._training.calibration import brier_score, central_interval, interval_coverage, pit, pit_histogram
from expfam._training.fused import fused_linear_cross_entropy
from expfam._training.heads import SourceLink, source_link
from expfam._training.ivon import IVONState, bayesian_model_average, ivon, ivon_sample, ivon_scale
from expfam._training.loss import loss
from expfam.families import *  # noqa: F403  (every family class; see expfam/families/__init__.py)

__version__ = _version("expfam")

__all__ = [
    "IVONState",
    "PATHWISE_SAMPLERS",
    "VariationalResult",
    "backtrack",
    "bayesian_model_average",
    "elbo",
    "expectation_gradient",
    "natural_target",
    "variational_inference",
    "variational_natural_gradient",
    "BetaBernoulli",
    "ConjugatePrior",
    "DirichletCategorical",
    "ExponentialFamily",
    "GammaExponential",
    "GammaPoisson",
    "NormalGamma",
    "NormalNormal",
    "NormalWishart",
    "SourceLink",
    "SourceParameter",
    "Target",
    "__version__",
    "beta_binomial_log_prob",
    "bregman_divergence",
    "brier_score",
    "catalogue",
    "cdf",
    "central_interval",
    "covariance",
    "cross_entropy",
    "damped_natural_gradient",
    "dirichlet_multinomial_log_prob",
    "distribution_cross_entropy",
    "dual_potential",
    "entropy",
    "expectation_fisher_vector_product",
    "family_classes",
    "fisher_vector_product",
    "fit",
    "fused_linear_cross_entropy",
    "gauss_newton_descent",
    "gauss_newton_direction",
    "gauss_newton_operator",
    "gauss_newton_vector_product",
    "interval_coverage",
    "inverse_fisher_vector_product",
    "ivon",
    "ivon_sample",
    "ivon_scale",
    "kl_divergence",
    "log_cdf",
    "log_prob",
    "log_survival",
    "loss",
    "mean",
    "mirror_descent",
    "mode",
    "multivariate_student_t_log_prob",
    "natural_gradient_descent",
    "negative_binomial_log_prob",
    "nll",
    "pit",
    "pit_histogram",
    "positive",
    "quantile",
    "scale_by_gauss_newton",
    "scale_by_natural_gradient",
    "source_link",
    "stddev",
    "student_t_log_prob",
    "survival",
    "variance",
    *families.__all__,
]
