"""expfam: exponential-family losses and geometry in JAX.

For a model ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` the cross-entropy of a target
with expectation parameters ``chi`` is ``-chi . eta + g(eta) - E[log h]``, and its gradient
in eta is exactly ``g'(eta) - chi``.
"""

from expfam._cross_entropy import cross_entropy, entropy, fit, kl_divergence, log_prob, nll
from expfam._family import ExponentialFamily
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
from expfam._natural_gradient import (
    damped_natural_gradient,
    mirror_descent,
    natural_gradient,
    natural_gradient_descent,
)
from expfam.families import (
    Bernoulli,
    Categorical,
    Exponential,
    Gamma,
    LogNormal,
    Normal,
    NormalKnownVariance,
    Pareto,
    Poisson,
)

__version__ = "0.1.0"

__all__ = [
    "Bernoulli",
    "Categorical",
    "Exponential",
    "ExponentialFamily",
    "Gamma",
    "LogNormal",
    "Normal",
    "NormalKnownVariance",
    "Pareto",
    "Poisson",
    "__version__",
    "bregman_divergence",
    "damped_natural_gradient",
    "dual_potential",
    "expectation_fisher_vector_product",
    "fisher_vector_product",
    "gauss_newton_direction",
    "gauss_newton_natural_gradient",
    "gauss_newton_operator",
    "gauss_newton_vector_product",
    "inverse_fisher_vector_product",
    "cross_entropy",
    "entropy",
    "fit",
    "kl_divergence",
    "log_prob",
    "mirror_descent",
    "natural_gradient",
    "natural_gradient_descent",
    "nll",
]
