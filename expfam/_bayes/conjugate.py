"""Conjugate priors: posteriors by adding sufficient statistics, marginal likelihoods, predictives.

A likelihood ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))`` has the conjugate prior

    ``pi(eta | zeta) = exp(tau . eta - nu g(eta) - A(zeta))``,  ``zeta = (tau, nu)``,

itself an exponential family in eta with natural parameters zeta, statistics ``(eta, -g(eta))``
and log-normalizer A (w.r.t. a fixed base measure on eta, chosen per prior so that its usual
parameters come out). Everything then follows from A:

* posterior: ``zeta' = zeta + sum_i U(x_i)`` with ``U(x) = (T(x), 1)``: adding sufficient statistics;
* log marginal likelihood: ``log p(x_1..n) = A(zeta') - A(zeta) + sum_i log h(x_i)``;
* posterior predictive (a compound distribution, not an exponential family):
  ``log p(x | zeta) = A(zeta + U(x)) - A(zeta) + log h(x)``, usable as a loss.

Where g splits into parts with separate counts (the Normal's mean and variance parts), U ends
with one 1 per count (``NormalGamma``, ``NormalWishart`` in ``_normal_priors``). The Dirichlet
needs no count: its total count is the sum of its concentrations.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, ClassVar

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from expfam._core.family import Array, ExponentialFamily, as_float, fails_eagerly
from expfam._numerics import special
from expfam.families.bernoulli import Bernoulli
from expfam.families.categorical import Categorical
from expfam.families.exponential import Exponential
from expfam.families.normal import NormalKnownVariance
from expfam.families.poisson import Poisson


class ConjugatePrior:
    """Base of the conjugate priors; a subclass gives A, its source parameters and the likelihood."""

    #: How many count coordinates end ``zeta`` (each increases by one per observation).
    num_counts: ClassVar[int] = 1

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_static(cls)

    @property
    def likelihood(self) -> ExponentialFamily:
        raise NotImplementedError

    def log_normalizer(self, zeta: Array) -> Array:
        """A(zeta), the log-normalizer of the prior."""
        raise NotImplementedError

    def is_natural_valid(self, zeta: Array) -> Array:
        raise NotImplementedError

    natural_from_source: Any  # (**usual prior parameters) -> zeta

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        raise NotImplementedError

    # -- generic -------------------------------------------------------------------------
    def statistics(self, x: Any) -> tuple[Array, Array]:
        """``(U(x), log h(x))`` with ``U(x) = (T(x), 1, ..., 1)``; log h is -inf outside the support."""
        chi, log_h = self.likelihood.target(x)[:2]
        ones = jnp.ones(chi.shape[:-1] + (self.num_counts,), chi.dtype)
        return jnp.concatenate([chi, ones], axis=-1), log_h

    def check_natural(self, zeta: Any) -> Array:
        given, zeta = zeta, as_float(zeta)
        if fails_eagerly(given, self.is_natural_valid):
            raise ValueError(f"{type(self).__name__}: prior parameters outside the domain; got {zeta}")
        return zeta

    def posterior(self, zeta: Any, x: Any) -> Array:
        """``zeta + sum_i U(x_i)`` over the samples' leading axis."""
        u, log_h = self.statistics(x)
        _reject_outside(self, log_h)
        return self.check_natural(zeta) + jnp.sum(u, axis=0)

    def log_marginal_likelihood(self, zeta: Any, x: Any) -> Array:
        """``log p(x_1..n | zeta) = A(zeta + sum U) - A(zeta) + sum log h``; -inf if any x is outside."""
        zeta = self.check_natural(zeta)
        u, log_h = self.statistics(x)
        posterior = zeta + jnp.sum(u, axis=0)
        return self.log_normalizer(posterior) - self.log_normalizer(zeta) + jnp.sum(log_h, axis=0)

    def predictive_log_prob(self, zeta: Any, x: Any) -> Array:
        """Posterior-predictive ``log p(x | zeta) = A(zeta + U(x)) - A(zeta) + log h(x)``, over x's batch."""
        zeta = self.check_natural(zeta)
        u, log_h = self.statistics(x)
        shape = jnp.broadcast_shapes(zeta.shape, u.shape)
        zeta, u = jnp.broadcast_to(zeta, shape), jnp.broadcast_to(u, shape)
        value = self.log_normalizer(zeta + u) - self.log_normalizer(zeta) + log_h
        return jnp.where(jnp.isneginf(log_h), -jnp.inf, value)


def _reject_outside(prior: ConjugatePrior, log_h: Array) -> None:
    if not isinstance(log_h, jax.core.Tracer) and bool(jnp.any(jnp.isneginf(log_h))):
        raise ValueError(f"{type(prior).__name__}: samples outside the likelihood's support")


def _pair(zeta: Array) -> tuple[Array, Array]:
    return zeta[..., 0], zeta[..., 1]


@dataclasses.dataclass(frozen=True)
class BetaBernoulli(ConjugatePrior):
    """Beta(a, b) on the Bernoulli probability: ``zeta = (a, a + b)``, ``A = log B(a, b)``.

    The base measure is Lebesgue on the logit, so ``exp(tau eta - nu softplus(eta)) = p^a (1-p)^b``
    integrates to ``B(a, b)``. Predictive: Bernoulli(a / (a + b)).
    """

    @property
    def likelihood(self) -> ExponentialFamily:
        return Bernoulli()

    def natural_from_source(self, *, alpha: Any, beta: Any) -> Array:
        a, b = jnp.broadcast_arrays(as_float(alpha), as_float(beta))
        return jnp.stack([a, a + b], axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        tau, nu = _pair(zeta)
        return {"alpha": tau, "beta": nu - tau}

    def log_normalizer(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        return special.lbeta(tau, nu - tau)

    def is_natural_valid(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        return (tau > 0) & (nu > tau)


@dataclasses.dataclass(frozen=True)
class DirichletCategorical(ConjugatePrior):
    """Dirichlet(a) on the class probabilities: ``zeta = a``, ``A = sum lgamma(a_k) - lgamma(sum a)``.

    No count coordinate: ``sum(a)`` grows by one per label. Predictive: ``a_k / sum(a)``.
    """

    num_classes: int
    num_counts: ClassVar[int] = 0

    @property
    def likelihood(self) -> ExponentialFamily:
        return Categorical(self.num_classes)

    def natural_from_source(self, *, concentration: Any) -> Array:
        return as_float(concentration)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        return {"concentration": zeta}

    def log_normalizer(self, zeta: Array) -> Array:
        return jnp.sum(gammaln(zeta), axis=-1) - gammaln(jnp.sum(zeta, axis=-1))

    def is_natural_valid(self, zeta: Array) -> Array:
        return jnp.all(zeta > 0, axis=-1)


@dataclasses.dataclass(frozen=True)
class GammaPoisson(ConjugatePrior):
    """Gamma(shape a, rate b) on the Poisson rate: ``zeta = (a, b)``, ``A = lgamma(a) - a log b``.

    Base measure Lebesgue on the log-rate. Predictive: Negative-Binomial(a, b / (1 + b)).
    """

    @property
    def likelihood(self) -> ExponentialFamily:
        return Poisson()

    def natural_from_source(self, *, shape: Any, rate: Any) -> Array:
        return jnp.stack(jnp.broadcast_arrays(as_float(shape), as_float(rate)), axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        return dict(zip(("shape", "rate"), _pair(zeta), strict=True))

    def log_normalizer(self, zeta: Array) -> Array:
        a, b = _pair(zeta)
        return gammaln(a) - a * jnp.log(b)

    def is_natural_valid(self, zeta: Array) -> Array:
        return jnp.all(zeta > 0, axis=-1)


@dataclasses.dataclass(frozen=True)
class GammaExponential(ConjugatePrior):
    """Gamma(shape a, rate b) on the Exponential rate: ``zeta = (b, a - 1)``, ``A = lgamma(a) - a log b``.

    ``exp(-b r + (a - 1) log r)`` on Lebesgue measure in r. Predictive: Lomax (Pareto II),
    ``a b^a / (b + x)^(a + 1)``.
    """

    @property
    def likelihood(self) -> ExponentialFamily:
        return Exponential()

    def natural_from_source(self, *, shape: Any, rate: Any) -> Array:
        a, b = jnp.broadcast_arrays(as_float(shape), as_float(rate))
        return jnp.stack([b, a - 1], axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        tau, nu = _pair(zeta)
        return {"shape": nu + 1, "rate": tau}

    def log_normalizer(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        return gammaln(nu + 1) - (nu + 1) * jnp.log(tau)

    def is_natural_valid(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        return (tau > 0) & (nu > -1)


@dataclasses.dataclass(frozen=True)
class NormalNormal(ConjugatePrior):
    """Normal(m, s^2) on the mean of a Normal with known variance v: ``zeta = (nu m, nu)``, ``nu = v / s^2``.

    On the natural parameter ``eta = mean / v`` the prior is ``N(tau / (nu v), 1 / (nu v))``, so
    ``A = tau^2 / (2 nu v) + 1/2 log(2 pi / (nu v))``. Predictive: ``N(m, v + s^2)``.
    """

    variance: float = 1.0

    @property
    def likelihood(self) -> ExponentialFamily:
        return NormalKnownVariance(self.variance)

    def natural_from_source(self, *, loc: Any, scale: Any) -> Array:
        m, s = jnp.broadcast_arrays(as_float(loc), as_float(scale))
        nu = self.variance / (s * s)
        return jnp.stack([nu * m, nu], axis=-1)

    def source_from_natural(self, zeta: Array) -> dict[str, Array]:
        tau, nu = _pair(zeta)
        return {"loc": tau / nu, "scale": jnp.sqrt(self.variance / nu)}

    def log_normalizer(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        precision = nu * self.variance
        return 0.5 * tau * tau / precision + 0.5 * jnp.log(2 * math.pi / precision)

    def is_natural_valid(self, zeta: Array) -> Array:
        tau, nu = _pair(zeta)
        return jnp.isfinite(tau) & (nu > 0)
