"""Cross-entropy and the quantities built on it; every one checks its inputs once.

``H(p, q) = -chi . eta + g(eta) - E_p[log h(x)]`` with ``chi = E_p[T(x)]``. Because ``g``
carries the custom JVP of ``ExponentialFamily.log_normalizer``, the reverse-mode gradient
is exactly ``g'(eta) - chi`` in eta, ``-eta`` in chi and ``-1`` in the expected log carrier,
and ``jax.hessian`` in eta is the Fisher information ``g''(eta)``.

One quantity, one value: ``nll(family, eta, x)``, ``cross_entropy(family, eta, family.target(x))``
and ``loss()`` evaluate the same template, ``family.cross_entropy_of``, on the same target, so
they agree to the last bit; ``distribution_cross_entropy`` is ``cross_entropy`` of
``family.distribution_target``.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from expfam._core.family import ExponentialFamily, as_float, checks_inputs, inner, is_concrete, with_value
from expfam._core.target import Target

Array = jax.Array


def check_family(family: Any) -> ExponentialFamily:
    """``family`` itself, or a TypeError that says what was passed instead of a family."""
    if isinstance(family, ExponentialFamily):
        return family
    if isinstance(family, type) and issubclass(family, ExponentialFamily):
        raise TypeError(f"expected a family instance such as {family.__name__}(...), got the class itself")
    raise TypeError(f"expected an expfam family (e.g. expfam.Gamma()), got {family!r}")


def as_target(family: ExponentialFamily, target: Any) -> Target:
    """A ``Target`` (or a ``(chi, elc)`` pair) with float arrays and chi's trailing axis checked."""
    if not isinstance(target, tuple):
        raise TypeError(
            f"{family.name}: a target is an expfam.Target or a (chi, elc) pair, got {type(target).__name__}; "
            "for samples use family.target(x) or expfam.nll(family, eta, x)"
        )
    if not isinstance(target, Target):
        if len(target) != 2:
            raise ValueError(f"{family.name}: a prepared target is a (chi, elc) pair, got a tuple of {len(target)}")
        target = Target(*target)
    return target._replace(chi=family.check_expectation(target.chi), elc=as_float(target.elc))


def broadcast_target(eta: Array, target: Target, *extra_batch: tuple[int, ...]) -> tuple[Array, Target]:
    """Broadcast eta (..., M) and every field of the target to one batch, explicitly."""
    fields = [target.elc.shape, target.chi.shape[:-1], *extra_batch]
    batch = jnp.broadcast_shapes(eta.shape[:-1], *fields)

    def widen(a: Any, event: int) -> Any:
        return None if a is None else jnp.broadcast_to(a, batch + a.shape[a.ndim - event :])

    m = eta.shape[-1]
    event_ndim = target.sample.ndim - target.chi.ndim + 1 if target.sample is not None else 0
    return jnp.broadcast_to(eta, batch + (m,)), Target(
        widen(target.chi, 1), widen(target.elc, 0), widen(target.sample, event_ndim), widen(target.natural, 1)
    )


@checks_inputs
def cross_entropy(family: ExponentialFamily, eta: Any, target: Any) -> Array:
    """Cross-entropy H(p, q) of a target p against the model q = q(. | eta).

    Args:
        family: the exponential family of the model.
        eta: natural parameters of q, shape (..., M).
        target: ``family.target(x)`` (a sample), ``family.distribution_target(eta_p)``,
            ``Target.from_expectation(family, chi)``, or a ``(chi, elc)`` pair.

    Returns:
        ``-chi . eta + g(eta) - elc`` over the broadcast batch axes; its value from the family's
        cancellation-free form where the target carries what that needs.
    """
    family = check_family(family)
    eta, target = family.check_natural(eta), as_target(family, target)
    return family.cross_entropy_of(*broadcast_target(eta, target))


@checks_inputs
def nll(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """Negative log-likelihood ``-log q(x | eta)``: the cross-entropy of the sample x (+inf outside the support)."""
    family = check_family(family)
    return family.cross_entropy_of(*broadcast_target(family.check_natural(eta), family.target(x)))


def log_prob(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``log q(x | eta)``; -inf outside the support."""
    return -nll(family, eta, x)


@checks_inputs
def entropy(family: ExponentialFamily, eta: Any) -> Array:
    """Entropy H(q) = H(q, q) = -eta . g'(eta) + g(eta) - E_q[log h], its value from ``stable_entropy``
    where the family has one."""
    family = check_family(family)
    eta = family.check_natural(eta)
    generic = family.log_normalizer(eta) - inner(family.expectation(eta), eta) - family.expected_log_carrier(eta)
    return _with_value(family, generic, "stable_entropy", eta)


@checks_inputs
def distribution_cross_entropy(family: ExponentialFamily, eta_p: Any, eta_q: Any) -> Array:
    """H(p, q) between two members: ``cross_entropy(family, eta_q, family.distribution_target(eta_p))``.

    Its value is ``entropy(p) + KL(p || q)``, each from the family's stable form where it has one.
    """
    family = check_family(family)
    return family.cross_entropy_of(*broadcast_target(family.check_natural(eta_q), family.distribution_target(eta_p)))


@checks_inputs
def kl_divergence(family: ExponentialFamily, eta_p: Any, eta_q: Any) -> Array:
    """KL(p || q) as the Bregman divergence of g: ``g(eta_q) - g(eta_p) - (eta_q - eta_p) . chi_p``.

    The carrier measure cancels, so no expected log carrier is needed. Its value comes from
    ``family.stable_kl`` where the family has one.
    """
    family = check_family(family)
    eta_p, eta_q = family.check_natural(eta_p), family.check_natural(eta_q)
    batch = jnp.broadcast_shapes(eta_p.shape, eta_q.shape)
    eta_p, eta_q = jnp.broadcast_to(eta_p, batch), jnp.broadcast_to(eta_q, batch)
    chi_p = family.expectation(eta_p)
    generic = family.log_normalizer(eta_q) - family.log_normalizer(eta_p) - inner(chi_p, eta_q - eta_p)
    return _with_value(family, generic, "stable_kl", eta_p, eta_q)


@checks_inputs
def fit(family: ExponentialFamily, x: Any, weights: Any = None) -> Array:
    """Maximum-likelihood natural parameters of i.i.d. samples x (batch axis 0).

    The MLE matches moments: ``g'(eta) = mean T(x)`` (weighted if weights are given), so
    it is ``natural_from_expectation`` of the mean sufficient statistics.
    """
    family = check_family(family)
    chi, log_h = family.target(x)[:2]
    if is_concrete(log_h) and bool(jnp.any(jnp.isneginf(log_h))):
        raise ValueError(f"{family.name}: fit received samples outside the support ({family.support.description})")
    if weights is None:
        mean_chi = jnp.mean(chi, axis=0)
    else:
        w = as_float(weights)
        mean_chi = jnp.tensordot(w, chi, axes=(0, 0)) / jnp.sum(w)
    return family.natural_from_expectation(mean_chi)


def _with_value(family: ExponentialFamily, generic: Array, method: str, *eta: Array) -> Array:
    """``generic`` with the value of ``family.<method>(*eta)`` where the family provides it."""
    if not family.provides(method):
        return generic
    return with_value(generic, getattr(family, method)(*eta))
