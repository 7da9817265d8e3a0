"""Variational inference by natural gradients, for a posterior q from any family of the catalogue.

The posterior approximation is ``q(theta | lam) = h(theta) exp(lam . T(theta) - g(lam))``; the
evidence lower bound of a model ``p(data, theta) = p(data | theta) p0(theta)`` is

    ``ELBO(lam) = E_q[log p(data | theta)] + E_q[log p0(theta)] + H(q)``.

The natural gradient of the ELBO in the natural parameters lam is its ordinary gradient in the
expectation parameters ``mu = g'(lam)`` (``F(lam)^{-1} d/dlam = d/dmu``), and since
``H(q) = g(lam) - lam . mu - E_q[log h]`` has ``d H / d mu = -lam - d E_q[log h] / d mu``,

    ``natural gradient = lam_hat - lam``,   ``lam_hat = d/dmu E_q[log p(data, theta) - log h(theta)]``.

The step ``lam <- lam + rho (lam_hat - lam) = (1 - rho) lam + rho lam_hat`` is the Bayesian
learning rule (conjugate-computation VI). Where the prior is a member ``lam_0`` of q's own family,
``lam_hat = lam_0 + d/dmu E_q[log p(data | theta)]`` (the carriers cancel), and a likelihood whose
log is linear in ``T(theta)`` (a conjugate-exponential part) gives a constant gradient in mu: one
step with ``rho = 1`` from any start lands on the exact posterior.

Each part of the model enters in one of two forms:

* ``expected_log_likelihood(mu)``: ``E_q[log p(data | theta)]`` written as a function of q's
  expectation parameters (exact; linear in mu for a conjugate part), differentiated by autodiff;
* ``log_likelihood(theta)`` (and a prior that is a log-density or a member of another family):
  a Monte Carlo term, whose gradient in mu comes from ``expectation_gradient``.

``expectation_gradient`` estimates ``d/dmu E_q[f]`` from S draws of q:

* reparameterization (pathwise): autodiff of ``mean_s f(theta_s(lam))`` through the family's
  sampler, then ``F(lam)^{-1}`` applied as the forward derivative of ``natural_from_expectation``.
  The samplers of Gamma, Beta, Dirichlet and the families built on them draw through
  ``jax.random.gamma`` / ``loggamma`` / ``beta`` / ``dirichlet``, rejection samplers whose draws
  carry implicit reparameterization gradients (the derivative of the inverse CDF at fixed
  uniform level), so autodiff through ``family.sample`` is exact per draw;
* score function (any family, discrete or with a sampler without pathwise derivatives, such as
  the von Mises rejection sampler): ``d/dlam E_q[f] = E_q[f (T - mu)]``, with the leave-one-out
  mean of f as control variate (``sum_s (f_s - mean f) (T_s - mu) / (S - 1)``, unbiased), then
  ``F^{-1}``;
* Hessian (a Gaussian q, ``MultivariateNormal``, by choice: ``f`` must be twice differentiable):
  Bonnet's and Price's theorems, ``d/dm E[f] = E[grad f]``, ``d/dSigma E[f] = E[hess f] / 2``,
  mapped to mu (``_gaussian_hessian_gradient``): the variational online Newton step. Exact for
  a quadratic f whatever the draws, and of far lower variance than the pathwise estimate for the
  covariance part.

Steps stay inside the natural domain by backtracking: the step size ``rho`` is halved (up to
``max_halvings`` times) until ``is_natural_valid`` holds and the new parameters are finite; if no
halving is valid the parameters are kept for that step (``VariationalResult.accepted`` says how
often every step was accepted). ``rho <= 1`` with a valid ``lam_hat`` never needs it: the
natural domain is convex.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

import jax
import jax.numpy as jnp

from expfam._core.family import Array, ExponentialFamily, fails_eagerly, inputs_checked
from expfam._geometry.fisher import inverse_fisher_vector_product
from expfam._geometry.natural_gradient import Families, map_families
from expfam._numerics import packing
from expfam.families.beta import Beta
from expfam.families.beta_prime import BetaPrime
from expfam.families.chi_square import ChiSquare
from expfam.families.continuous_bernoulli import ContinuousBernoulli
from expfam.families.dirichlet import Dirichlet
from expfam.families.exponential import Exponential
from expfam.families.gamma import Gamma
from expfam.families.inverse_gamma import InverseGamma
from expfam.families.laplace import Laplace
from expfam.families.lognormal import LogNormal
from expfam.families.multivariate_normal import MultivariateNormal
from expfam.families.multivariate_normal_diag import MultivariateNormalDiag
from expfam.families.multivariate_normal_unit import MultivariateNormalUnit
from expfam.families.normal import Normal, NormalKnownVariance
from expfam.families.pareto import Pareto
from expfam.families.rayleigh import Rayleigh
from expfam.families.weibull import Weibull
from expfam.families.wishart import Wishart

if TYPE_CHECKING:
    import optax

Estimator = Literal["auto", "reparameterization", "score", "hessian"]
Schedule = Callable[[Array], Array] | float

#: Families whose ``sample`` is differentiable in eta with the exact pathwise derivative (location-
#: scale transforms, inverse CDFs, and Gamma-based draws with implicit gradients). Every other
#: family (discrete ones, the von Mises and von Mises-Fisher rejection samplers, the inverse
#: Gaussian's root selection) takes the score-function estimator under ``estimator="auto"``.
PATHWISE_SAMPLERS: frozenset[type[ExponentialFamily]] = frozenset(
    {
        Beta,
        BetaPrime,
        ChiSquare,
        ContinuousBernoulli,
        Dirichlet,
        Exponential,
        Gamma,
        InverseGamma,
        Laplace,
        LogNormal,
        MultivariateNormal,
        MultivariateNormalDiag,
        MultivariateNormalUnit,
        Normal,
        NormalKnownVariance,
        Pareto,
        Rayleigh,
        Weibull,
        Wishart,
    }
)

#: A prior: a member ``(family, eta_0)`` of some family, a log-density ``theta -> scalar``, or None
#: (a flat prior: ``p0 = 1`` on the support, in the support's own measure).
Prior = tuple[ExponentialFamily, Any] | Callable[[Array], Array] | None


def _check_single(family: ExponentialFamily, eta: Any) -> Array:
    eta = family.check_natural(eta)
    if eta.ndim != 1:
        raise ValueError(
            f"{family.name}: variational inference takes one distribution, eta of shape (M,); got {eta.shape}"
        )
    return eta


def _resolve_estimator(family: ExponentialFamily, estimator: Estimator) -> str:
    if estimator == "auto":
        return "reparameterization" if type(family) in PATHWISE_SAMPLERS else "score"
    if estimator not in ("reparameterization", "score", "hessian"):
        raise ValueError(f"estimator must be 'auto', 'reparameterization', 'score' or 'hessian', got {estimator!r}")
    if estimator == "hessian" and not isinstance(family, MultivariateNormal):
        raise ValueError(f"the 'hessian' estimator is for MultivariateNormal q; got {family.name}")
    return estimator


def expectation_gradient(
    family: ExponentialFamily,
    eta: Any,
    fn: Callable[[Array], Array],
    key: Array,
    num_samples: int = 16,
    estimator: Estimator = "auto",
) -> Array:
    """Monte Carlo estimate of ``d/dmu E_q[fn(theta)]``, ``q = q(. | eta)``, ``mu = g'(eta)``.

    It is the natural gradient of ``E_q[fn]`` in eta, ``F(eta)^{-1} d/deta E_q[fn]`` (see the
    module docstring for the estimators). Unbiased for each.

    Args:
        family: q's family.
        eta: q's natural parameters, shape (M,).
        fn: a function of one draw theta (shape ``family.event_shape``) returning a scalar.
        key: a PRNG key.
        num_samples: S, the number of draws (at least 2 for the score-function estimator).
        estimator: "reparameterization", "score", "hessian" (``MultivariateNormal`` q and a
            twice-differentiable fn), or "auto" (pathwise where the family's sampler allows it,
            ``PATHWISE_SAMPLERS``; the score function otherwise).

    Returns:
        The estimate, shape (M,).
    """
    eta = _check_single(family, eta)
    return _expectation_gradient(family, eta, fn, key, num_samples, _resolve_estimator(family, estimator))


def _expectation_gradient(
    family: ExponentialFamily, eta: Array, fn: Callable[[Array], Array], key: Array, num_samples: int, estimator: str
) -> Array:
    if estimator == "reparameterization":

        def mean_value(e: Array) -> Array:
            return jnp.mean(jax.vmap(fn)(family.sample(key, e, (num_samples,))))

        return inverse_fisher_vector_product(family, eta, jax.grad(mean_value)(eta))
    if estimator == "hessian":
        return _gaussian_hessian_gradient(family, eta, fn, key, num_samples)
    if num_samples < 2:
        raise ValueError(f"the score-function estimator needs num_samples >= 2, got {num_samples}")
    draws = jax.lax.stop_gradient(family.sample(key, eta, (num_samples,)))
    values = jax.vmap(fn)(draws)
    scores = family.sufficient_statistics(draws).astype(eta.dtype) - family.expectation(eta)[None, :]
    centred = (values - jnp.mean(values)).astype(eta.dtype)
    return inverse_fisher_vector_product(family, eta, centred @ scores / (num_samples - 1))


def _gaussian_hessian_gradient(
    family: ExponentialFamily, eta: Array, fn: Callable[[Array], Array], key: Array, num_samples: int
) -> Array:
    """Bonnet's and Price's theorems for a Gaussian q, mapped to its expectation parameters.

    With ``d/dm E[f] = E[grad f]`` and ``d/dSigma E[f] = 1/2 E[hess f]``, and ``mu = (m, pack(S))``,
    ``S = Sigma + m m^T``: ``d/dmu_1 = E[grad f] - E[hess f] m`` and ``d/dmu_2 = pack(1/2 E[hess f])``
    (the packing is an isometry, so the packed gradient is the packed matrix gradient).
    """
    draws = jax.lax.stop_gradient(family.sample(key, eta, (num_samples,)))
    gradient = jnp.mean(jax.vmap(jax.grad(fn))(draws), axis=0)
    hessian = jnp.mean(jax.vmap(jax.hessian(fn))(draws), axis=0)
    hessian = 0.5 * (hessian + hessian.T)
    mean = family.expectation(eta)[: gradient.shape[0]]
    return jnp.concatenate([gradient - hessian @ mean, packing.pack(0.5 * hessian)])


class _Model(NamedTuple):
    """The ELBO's parts, sorted into exact and Monte Carlo terms."""

    prior_natural: Array | None  # a prior of q's own family: its natural parameters
    exact: Callable[[Array], Array] | None  # mu -> E_q[...] in closed form
    monte_carlo: Callable[[Array], Array] | None  # theta -> log-density term, averaged over draws


def _model(
    family: ExponentialFamily,
    eta: Array,
    log_likelihood: Callable[[Array], Array] | None,
    expected_log_likelihood: Callable[[Array], Array] | None,
    prior: Prior,
) -> _Model:
    if log_likelihood is None and expected_log_likelihood is None:
        raise ValueError("give log_likelihood(theta), expected_log_likelihood(mu), or both")
    prior_natural = None
    prior_density: Callable[[Array], Array] | None = None
    if isinstance(prior, tuple):
        prior_family, prior_eta = prior
        if not isinstance(prior_family, ExponentialFamily):
            raise TypeError(f"a prior tuple is (family, natural parameters); got {type(prior_family).__name__}")
        given, prior_eta = prior_eta, prior_family.check_vector(prior_eta, "prior natural parameters").astype(eta.dtype)
        if fails_eagerly(given, prior_family.is_natural_valid):
            raise ValueError(
                f"{prior_family.name}: prior natural parameters outside the natural domain; got {prior_eta}"
            )
        if prior_family == family:
            prior_natural = jnp.broadcast_to(prior_eta, eta.shape)
        else:

            def prior_density(theta: Array) -> Array:
                with inputs_checked():  # prior_eta is checked above; theta is q's draw
                    return -prior_family.cross_entropy_of(prior_eta, prior_family.target(theta))

    elif prior is not None:
        if not callable(prior):
            raise TypeError(f"prior must be (family, eta), a log-density or None; got {type(prior).__name__}")
        prior_density = prior
    terms = [f for f in (log_likelihood, prior_density) if f is not None]
    monte_carlo = None
    if terms:

        def monte_carlo(theta: Array) -> Array:
            return sum((f(theta) for f in terms), jnp.zeros((), eta.dtype))

    return _Model(prior_natural, expected_log_likelihood, monte_carlo)


def _natural_target(
    family: ExponentialFamily, eta: Array, model: _Model, key: Array, num_samples: int, estimator: str
) -> Array:
    """``lam_hat = d/dmu E_q[log p(data, theta) - log h(theta)]`` (prior of q's family: ``lam_0 + ...``)."""
    target = jnp.zeros_like(eta)
    if model.exact is not None:
        target = target + jax.grad(model.exact)(family.expectation(eta))
    if model.monte_carlo is not None:
        target = target + _expectation_gradient(family, eta, model.monte_carlo, key, num_samples, estimator)
    if model.prior_natural is not None:
        return target + model.prior_natural
    # No prior of q's family: the entropy brings -d/dmu E_q[log h], exactly.
    carrier = jax.grad(family.expected_log_carrier)(eta)
    return target - inverse_fisher_vector_product(family, eta, carrier)


def natural_target(
    family: ExponentialFamily,
    eta: Any,
    key: Array,
    *,
    log_likelihood: Callable[[Array], Array] | None = None,
    expected_log_likelihood: Callable[[Array], Array] | None = None,
    prior: Prior = None,
    num_samples: int = 16,
    estimator: Estimator = "auto",
) -> Array:
    """``lam_hat``, the point the Bayesian learning rule moves toward: natural gradient = ``lam_hat - eta``.

    ``lam_hat = d/dmu E_q[log p(data | theta) + log p0(theta) - log h(theta)]``, exact for the
    ``expected_log_likelihood`` part and a prior of q's own family, estimated by
    ``expectation_gradient`` for ``log_likelihood`` and any other prior. For a conjugate model
    (exact parts only) it is the exact posterior's natural parameters, whatever eta is.

    Args:
        family: q's family.
        eta: q's natural parameters, shape (M,).
        key: a PRNG key (unused when every part is exact).
        log_likelihood: ``theta -> log p(data | theta)`` (Monte Carlo).
        expected_log_likelihood: ``mu -> E_q[log p(data | theta)]`` in closed form in q's
            expectation parameters (exact).
        prior: ``(family, eta_0)``, a log-density of theta, or None for a flat prior.
        num_samples: draws of q per estimate.
        estimator: see ``expectation_gradient``.
    """
    eta = _check_single(family, eta)
    model = _model(family, eta, log_likelihood, expected_log_likelihood, prior)
    return _natural_target(family, eta, model, key, num_samples, _resolve_estimator(family, estimator))


def elbo(
    family: ExponentialFamily,
    eta: Any,
    key: Array,
    *,
    log_likelihood: Callable[[Array], Array] | None = None,
    expected_log_likelihood: Callable[[Array], Array] | None = None,
    prior: Prior = None,
    num_samples: int = 16,
) -> Array:
    """The ELBO ``E_q[log p(data | theta)] + E_q[log p0(theta)] + H(q)``, its Monte Carlo parts estimated.

    Exact parts: ``expected_log_likelihood(mu)``, the entropy, and a prior of q's own family
    (``E_q[log p0] + H(q) = -KL(q || p0)``). Arguments as in ``natural_target``. Differentiable
    in eta through the family's sampler (reparameterization), where it has pathwise derivatives.
    """
    eta = _check_single(family, eta)
    model = _model(family, eta, log_likelihood, expected_log_likelihood, prior)
    return _elbo(family, eta, model, key, num_samples)


def _elbo(family: ExponentialFamily, eta: Array, model: _Model, key: Array, num_samples: int) -> Array:
    value = jnp.zeros((), eta.dtype)
    if model.exact is not None:
        value = value + model.exact(family.expectation(eta))
    if model.monte_carlo is not None:
        value = value + jnp.mean(jax.vmap(model.monte_carlo)(family.sample(key, eta, (num_samples,))))
    if model.prior_natural is not None:
        return value - family.kl_value(eta, model.prior_natural)
    return value + family.entropy_value(eta)


def backtrack(
    family: ExponentialFamily, eta: Array, direction: Array, rho: Array, max_halvings: int
) -> tuple[Array, Array]:
    """``(eta + rho 2^-k direction, accepted)`` for the smallest k <= max_halvings that stays valid.

    Valid: ``family.is_natural_valid`` and finite. With no valid k the step is dropped
    (``eta`` returned, ``accepted`` False). All candidates are formed at once (jit-friendly).
    """
    scales = rho * 2.0 ** -jnp.arange(max_halvings + 1, dtype=eta.dtype)
    candidates = eta[None, :] + scales[:, None] * direction[None, :]
    valid = family.is_natural_valid(candidates) & jnp.all(jnp.isfinite(candidates), axis=-1)
    first = jnp.argmax(valid)
    accepted = valid[first]
    return jnp.where(accepted, candidates[first], eta), accepted & (first == 0)


class VariationalResult(NamedTuple):
    """What ``variational_inference`` returns.

    Attributes:
        natural: the final natural parameters of q, shape (M,).
        path: q's natural parameters after every step, shape (num_steps, M).
        accepted: the fraction of steps taken at full size (no backtracking).
    """

    natural: Array
    path: Array
    accepted: Array


def variational_inference(
    family: ExponentialFamily,
    eta: Any,
    key: Array,
    *,
    log_likelihood: Callable[[Array], Array] | None = None,
    expected_log_likelihood: Callable[[Array], Array] | None = None,
    prior: Prior = None,
    num_steps: int = 100,
    learning_rate: Schedule = 1.0,
    num_samples: int = 16,
    estimator: Estimator = "auto",
    max_halvings: int = 20,
) -> VariationalResult:
    """Fit q by natural-gradient steps on the ELBO: ``eta <- (1 - rho_t) eta + rho_t lam_hat``.

    One compiled ``lax.scan`` over the steps (the model's functions are closed over: a new model
    compiles anew). Each step draws fresh samples (``key`` split per step), forms ``lam_hat``
    (``natural_target``) and moves toward it, halving ``rho_t`` until the result is inside the
    natural domain (``backtrack``; a step with no valid halving is skipped). Works in the dtype of
    eta (float32 or float64).

    Args:
        family: q's family.
        eta: the starting natural parameters, shape (M,).
        key: a PRNG key.
        log_likelihood: as in ``natural_target``.
        expected_log_likelihood: as in ``natural_target``.
        prior: as in ``natural_target``.
        num_samples: as in ``natural_target``.
        estimator: as in ``natural_target``.
        num_steps: number of steps.
        learning_rate: rho, a float in (0, 1] or a schedule ``step -> rho``.
        max_halvings: the most halvings of rho tried per step.
    """
    eta = _check_single(family, eta)
    model = _model(family, eta, log_likelihood, expected_log_likelihood, prior)
    method = _resolve_estimator(family, estimator)

    def step(eta_t: Array, inputs: tuple[Array, Array]) -> tuple[Array, tuple[Array, Array]]:
        t, step_key = inputs
        rho = jnp.asarray(learning_rate(t) if callable(learning_rate) else learning_rate, eta.dtype)
        direction = _natural_target(family, eta_t, model, step_key, num_samples, method) - eta_t
        new, accepted = backtrack(family, eta_t, direction, rho, max_halvings)
        return new, (new, accepted)

    @jax.jit
    def run(eta_0: Array, keys: Array) -> tuple[Array, Array, Array]:
        final, (path, accepted) = jax.lax.scan(step, eta_0, (jnp.arange(num_steps), keys))
        return final, path, jnp.mean(accepted.astype(eta_0.dtype))

    return VariationalResult(*run(eta, jax.random.split(key, num_steps)))


class VariationalState(NamedTuple):
    step: Array
    accepted: Array  # whether the last step was taken at full size


def variational_natural_gradient(
    families: Families, learning_rate: optax.ScalarOrSchedule, max_halvings: int = 20
) -> optax.GradientTransformation:
    """Natural-gradient descent on a loss of natural parameters (e.g. ``-ELBO``), kept in the domain.

    The update for gradient ``g = dL/deta`` is ``-rho F(eta)^{-1} g`` (the ordinary gradient of L in
    expectation coordinates, times ``-rho``), with rho halved up to ``max_halvings`` times until
    ``eta + update`` is inside the natural domain (``backtrack``; the update is zero if no halving
    is valid). On ``L = -ELBO`` with the prior of q's family and a conjugate likelihood, rho = 1 is
    the exact posterior in one step. The parameters must be passed to ``update``.

    Args:
        families: one family for every parameter leaf (each of shape (M,)), or a matching pytree.
        learning_rate: rho, a float or an optax schedule of the step count.
        max_halvings: the most halvings of rho tried.
    """
    import optax  # imported on use, as in natural_gradient

    def init_fn(params: Any) -> VariationalState:
        return VariationalState(step=jnp.zeros([], jnp.int32), accepted=jnp.ones([], bool))

    def update_fn(updates: Any, state: VariationalState, params: Any = None) -> tuple[Any, VariationalState]:
        if params is None:
            raise ValueError("variational_natural_gradient needs the parameters (the natural parameters eta)")
        rho = learning_rate(state.step) if callable(learning_rate) else learning_rate
        flags = []

        def leaf(family: ExponentialFamily, g: Array, eta: Array) -> Array:
            direction = -inverse_fisher_vector_product(family, eta, g)
            new, accepted = backtrack(family, eta, direction, jnp.asarray(rho, eta.dtype), max_halvings)
            flags.append(accepted)
            return new - eta

        new_updates = map_families(leaf, families, updates, params)
        accepted = jnp.all(jnp.stack(flags)) if flags else jnp.ones([], bool)
        return new_updates, VariationalState(step=optax.safe_increment(state.step), accepted=accepted)

    return optax.GradientTransformation(init_fn, update_fn)


__all__ = [
    "PATHWISE_SAMPLERS",
    "VariationalResult",
    "backtrack",
    "elbo",
    "expectation_gradient",
    "natural_target",
    "variational_inference",
    "variational_natural_gradient",
]
