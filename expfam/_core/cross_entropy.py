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

import math
from typing import Any

import jax
import jax.numpy as jnp

from expfam._core.family import ExponentialFamily, as_float, check_family, checks_inputs, inner, is_concrete, with_value
from expfam._core.target import Target

Array = jax.Array


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


def broadcast_batch(family: ExponentialFamily, **batches: tuple[int, ...]) -> tuple[int, ...]:
    """The broadcast of the named batch shapes; an outer product nobody asked for is an error.

    Two batches of different lengths broadcast by prepending size-1 axes to the shorter one (rank
    promotion). When each then brings an axis of size > 1 that the other lacks, the result is the
    outer product of the two batches: a sample of shape ``batch + (1,)`` for a scalar-event family
    against natural parameters of batch ``batch`` would give ``batch + batch`` losses. Batches of
    equal length broadcast as numpy does (size-1 axes written out ask for the outer product), and
    an empty batch (one distribution, or one target) broadcasts against anything.

    Raises:
        ValueError: naming the family, both arguments and their batch shapes.
    """
    named = list(batches.items())
    for i, (name_a, a) in enumerate(named):
        for name_b, b in named[i + 1 :]:
            if len(a) == len(b) or not a or not b:
                continue
            n = max(len(a), len(b))
            wide_a, wide_b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
            a_brings = any(p > 1 and q == 1 for p, q in zip(wide_a, wide_b, strict=True))
            b_brings = any(q > 1 and p == 1 for p, q in zip(wide_a, wide_b, strict=True))
            if a_brings and b_brings:
                hint = (
                    " (samples of a scalar-event family, and class labels, have shape batch, not batch + (1,))"
                    if 1 in (a[-1], b[-1])
                    else ""
                )
                raise ValueError(
                    f"{family.name}: {name_a} of batch shape {tuple(a)} and {name_b} of batch shape {tuple(b)} "
                    f"would broadcast to their outer product {jnp.broadcast_shapes(a, b)}; give both the same "
                    f"number of batch axes (with size-1 axes where an outer product is meant){hint}"
                )
    return jnp.broadcast_shapes(*batches.values())


def broadcast_target(
    family: ExponentialFamily, eta: Array, target: Target, **extra_batch: tuple[int, ...]
) -> tuple[Array, Target]:
    """Broadcast eta (..., M) and every field of the target to one batch, explicitly (``broadcast_batch``)."""
    batch = broadcast_batch(
        family,
        **{
            "natural parameters": eta.shape[:-1],
            "targets": target.elc.shape,
            "target statistics": target.chi.shape[:-1],
        },
        **extra_batch,
    )

    def widen(a: Any, event: int) -> Any:
        return None if a is None else jnp.broadcast_to(a, batch + a.shape[a.ndim - event :])

    m = eta.shape[-1]
    event_ndim = target.sample.ndim - target.chi.ndim + 1 if target.sample is not None else 0
    return jnp.broadcast_to(eta, batch + (m,)), Target(
        widen(target.chi, 1),
        widen(target.elc, 0),
        widen(target.sample, event_ndim),
        widen(target.natural, 1),
        widen(target.inside, 0),
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
    return family.cross_entropy_of(*broadcast_target(family, eta, target))


@checks_inputs
def nll(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """Negative log-likelihood ``-log q(x | eta)``: the cross-entropy of the sample x (+inf outside the support)."""
    family = check_family(family)
    return family.cross_entropy_of(*broadcast_target(family, family.check_natural(eta), family.target(x)))


def log_prob(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``log q(x | eta)``; -inf outside the support."""
    return -nll(family, eta, x)


@checks_inputs
def entropy(family: ExponentialFamily, eta: Any) -> Array:
    """Entropy H(q) = H(q, q) = -eta . g'(eta) + g(eta) - E_q[log h].

    Its value comes from ``stable_entropy`` where the family has one. Its derivatives are the
    generic ones, except where the family sets ``differentiate_stable_entropy``: there they are
    ``stable_entropy``'s, because the generic gradient ``-g''(eta) eta - d E[log h] / d eta``
    subtracts two large terms at the extremes (float32 Poisson at rate 1e6: 1.0 or 0 instead of
    0.5; Gamma at rate 1e-30: NaN), while the derivative of the cancellation-free value stays
    accurate (tests/test_extremes.py).
    """
    family = check_family(family)
    eta = family.check_natural(eta)
    if family.differentiate_stable_entropy:
        return family.stable_entropy(eta)
    generic = family.log_normalizer(eta) - inner(family.expectation(eta), eta) - family.expected_log_carrier(eta)
    return with_value(generic, family.stable_entropy(eta)) if family.provides("stable_entropy") else generic


@checks_inputs
def distribution_cross_entropy(family: ExponentialFamily, eta_p: Any, eta_q: Any) -> Array:
    """H(p, q) between two members: ``cross_entropy(family, eta_q, family.distribution_target(eta_p))``.

    Its value is ``entropy(p) + KL(p || q)``, each from the family's stable form where it has one.
    """
    family = check_family(family)
    eta_q, target = family.check_natural(eta_q), family.distribution_target(eta_p)
    return family.cross_entropy_of(*broadcast_target(family, eta_q, target))


@checks_inputs
def kl_divergence(family: ExponentialFamily, eta_p: Any, eta_q: Any) -> Array:
    """KL(p || q) as the Bregman divergence of g: ``g(eta_q) - g(eta_p) - (eta_q - eta_p) . chi_p``.

    The carrier measure cancels, so no expected log carrier is needed. Its value comes from
    ``family.stable_kl`` where the family has one; its derivatives are the generic ones
    (``g'(eta_q) - g'(eta_p)`` in eta_q, ``-g''(eta_p) (eta_q - eta_p)`` in eta_p): the stable
    forms' own derivatives are worse at some extremes (Poisson rates 1e-8 against 1e8).
    """
    family = check_family(family)
    eta_p, eta_q = family.check_natural(eta_p), family.check_natural(eta_q)
    batch = broadcast_batch(family, eta_p=eta_p.shape[:-1], eta_q=eta_q.shape[:-1]) + eta_p.shape[-1:]
    eta_p, eta_q = jnp.broadcast_to(eta_p, batch), jnp.broadcast_to(eta_q, batch)
    chi_p = family.expectation(eta_p)
    generic = family.log_normalizer(eta_q) - family.log_normalizer(eta_p) - inner(chi_p, eta_q - eta_p)
    return with_value(generic, family.stable_kl(eta_p, eta_q)) if family.provides("stable_kl") else generic


@checks_inputs
def fit(family: ExponentialFamily, x: Any, weights: Any = None) -> Array:
    """Maximum-likelihood natural parameters of i.i.d. samples x (batch axis 0).

    The MLE matches moments: ``g'(eta) = mean T(x)`` (weighted if weights are given), so
    it is ``natural_from_expectation`` of the mean sufficient statistics.

    It does not exist for every data set: no samples, weights that are negative, non-finite or
    all zero, a sample outside the support (NaN included) with a non-zero weight, or degenerate
    data whose mean statistics lie on the boundary of the expectation domain (all samples equal for
    a Gamma or a Normal, all zeros for a Poisson or a Bernoulli), where the estimate would be at
    infinity. Eagerly each is a ValueError that says which; under ``jit`` the result is NaN (test
    it with ``jnp.isnan``). Otherwise eager and jit agree.

    Args:
        family: the family to fit.
        x: samples, shape ``(N,) + sample shape`` (N >= 1).
        weights: optional non-negative weights, shape ``(N,)``, not all zero (a row of weight 0
            is left out, even if it is outside the support).
    """
    family = check_family(family)
    target = family.target(x)
    chi, log_h = target.chi, target.elc
    if log_h.ndim == 0:
        raise ValueError(f"{family.name}: fit needs samples along axis 0, got a single sample of shape {jnp.shape(x)}")
    n = log_h.shape[0]
    w = jnp.ones(n, chi.dtype) if weights is None else as_float(weights)
    if w.shape != (n,):
        raise ValueError(f"{family.name}: fit weights must have shape ({n},) like the samples, got {w.shape}")
    rows = math.prod(log_h.shape[1:])  # a fit over extra batch axes fits each of them
    inside = ~jnp.isneginf(log_h).reshape(n, rows).any(axis=1)
    weights_ok = jnp.all(jnp.isfinite(w) & (w >= 0)) & (jnp.sum(w) > 0)
    samples_ok = jnp.all(inside | (w == 0))
    kept = jnp.where(inside, w, 0.0).astype(chi.dtype)
    mean_chi, spread = _centred_mean(kept, chi.reshape(n, rows, chi.shape[-1]))
    eta = family.natural_from_expectation(mean_chi.reshape(chi.shape[1:]))
    exists = jnp.all(family.is_natural_valid(eta))
    if family.repeated_sample_has_no_fit:
        exists = exists & jnp.all(spread)
    if is_concrete(eta):
        problems = (
            (n == 0, "fit received no samples"),
            (not bool(weights_ok), "fit weights must be finite, non-negative and not all zero"),
            (not bool(samples_ok), f"fit received samples outside the support ({family.support.description})"),
            (
                not bool(exists),
                "the maximum-likelihood estimate does not exist for these samples: their mean sufficient "
                "statistics lie on the boundary of the expectation domain (degenerate data, such as all "
                "samples equal or all at an end of the support)",
            ),
        )
        for failed, message in problems:
            if failed:
                raise ValueError(f"{family.name}: {message}")
    return jnp.where(weights_ok & samples_ok & exists & (n > 0), eta, jnp.nan)


def _centred_mean(w: Array, chi: Array) -> tuple[Array, Array]:
    """``sum_i w_i chi_i / sum_i w_i`` over axis 0 (shape (N, rows, M)) as
    ``chi_r + sum_i w_i (chi_i - chi_r) / sum_i w_i``, ``chi_r`` the row of the largest weight, and
    per row whether any kept sample differs from ``chi_r``. The mean is exactly ``chi_r`` when every
    kept sample equals it (a plain weighted mean rounds a repeated Normal sample's ``E[x^2]`` to
    just above ``E[x]^2``: a huge but finite natural parameter), and more accurate than the plain
    mean for samples close together. Rows of weight 0 (outside the support included) take no part."""
    if chi.shape[0] == 0:
        return jnp.full(chi.shape[1:], jnp.nan, chi.dtype), jnp.zeros(chi.shape[1], bool)
    reference = chi[jnp.argmax(w)]
    offsets = jnp.where((w > 0)[:, None, None], chi - reference[None], 0.0)
    spread = jnp.any(offsets != 0, axis=(0, 2))
    return reference + jnp.tensordot(w, offsets, axes=(0, 0)) / jnp.sum(w), spread
