"""Per-example losses for optax training, and the targets they accept.

``loss(family, link)`` returns ``fn(outputs, targets, *, weights=None, where=None)``:
unconstrained network outputs of shape ``(..., K)`` go through the link to natural
parameters ``eta`` of shape ``(..., M)``, and the result is the per-example cross-entropy

    ``H(p, q_eta) = -chi . eta + g(eta) - E_p[log h]``

over the batch axes, as optax losses return (reduce it with ``jnp.mean`` or a sum). A
target ``p`` is given as

* raw samples ``x`` (then ``chi = T(x)``, ``E_p[log h] = log h(x)``: the negative log-likelihood);
* a prepared ``Target(chi, elc)`` (or any ``(chi, elc)`` pair), made once outside the training
  step by ``Target.from_samples``, so the step only reads two arrays;
* a distribution: ``Target.from_natural`` (a teacher's natural parameters, for distillation)
  or ``Target.from_expectation`` (soft labels: probabilities, or any expectation parameters).

The gradient in eta is exactly ``g'(eta) - chi``: the loss is minimized where the model's
expected sufficient statistics match the target's, which is maximum likelihood for samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from expfam._cross_entropy import cross_entropy
from expfam._family import ExponentialFamily, as_float

Array = jax.Array


class Target(NamedTuple):
    """A cross-entropy target: ``chi = E_p[T(x)]`` (shape ``(..., M)``) and ``elc = E_p[log h(x)]``.

    A NamedTuple, hence a pytree: it passes through ``jit``, ``vmap`` and data loaders.
    """

    chi: Array
    elc: Array

    @classmethod
    def from_samples(cls, family: ExponentialFamily, x: Any) -> Target:
        """Samples x as targets: ``(T(x), log h(x))``; outside the support ``elc = -inf`` (loss +inf)."""
        return cls(*family.target(x))

    @classmethod
    def from_natural(cls, family: ExponentialFamily, eta: Any) -> Target:
        """The distribution ``q(. | eta)`` as a target: ``(g'(eta), E_q[log h])``, e.g. a teacher's output."""
        return cls(*family.distribution_target(eta))

    @classmethod
    def from_expectation(cls, family: ExponentialFamily, chi: Any) -> Target:
        """The distribution with expectation parameters chi (soft labels): ``(chi, E[log h])``.

        ``E[log h]`` is evaluated at ``eta = natural_from_expectation(chi)``; it does not
        change the gradient in the model's eta. For Bernoulli ``chi = p[..., None]``, for
        Categorical ``chi`` is the probability vector.
        """
        chi = as_float(chi)
        return cls(chi, family.expected_log_carrier(family.natural_from_expectation(chi)))


def as_target(family: ExponentialFamily, targets: Any) -> Target:
    """A ``Target`` from a ``(chi, elc)`` pair (floats promoted as ``as_float``) or from raw samples."""
    if isinstance(targets, tuple):
        if len(targets) != 2:
            raise ValueError(f"{family.name}: a prepared target is a (chi, elc) pair, got a tuple of {len(targets)}")
        return Target(as_float(targets[0]), as_float(targets[1]))
    return Target.from_samples(family, targets)


def loss(family: ExponentialFamily, link: Callable[[Array], Array] | None = None) -> Callable[..., Array]:
    """A per-example cross-entropy loss in optax's convention.

    Args:
        family: the distribution of the target.
        link: map from network outputs ``(..., K)`` to natural parameters ``(..., M)``;
            default ``family.link`` (the canonical link, K = M). ``source_link(family)``
            gives a head in the usual parameters; ``lambda raw: raw`` takes eta directly.

    Returns:
        ``fn(outputs, targets, *, weights=None, where=None)`` returning the loss over the
        broadcast batch axes, in float32 at least (bf16/f16 outputs and targets are
        promoted before any arithmetic). ``weights`` multiply each example's loss.
        ``where`` (boolean, broadcastable to the batch) keeps the examples where it is
        True; the others get loss 0 and gradient 0 even when their outputs or targets are
        padding (NaN, or outside the support), because they are replaced by a neutral value
        before the loss is evaluated.
    """
    link_fn = family.link if link is None else link

    def fn(outputs: Any, targets: Any, *, weights: Any = None, where: Any = None) -> Array:
        outputs = as_float(outputs)
        chi, elc = as_target(family, targets)
        if outputs.ndim == 0 or (link is None and outputs.shape[-1] != family.num_natural):
            raise ValueError(
                f"{family.name}: outputs for the canonical link must have shape (..., {family.num_natural}), "
                f"got shape {outputs.shape}"
            )
        masks = () if where is None else (jnp.asarray(where).shape,)
        batch = jnp.broadcast_shapes(outputs.shape[:-1], chi.shape[:-1], elc.shape, *masks)
        outputs = jnp.broadcast_to(outputs, batch + outputs.shape[-1:])
        chi, elc = jnp.broadcast_to(chi, batch + chi.shape[-1:]), jnp.broadcast_to(elc, batch)
        if where is not None:
            keep = jnp.broadcast_to(jnp.asarray(where, bool), batch)
            outputs = jnp.where(keep[..., None], outputs, jnp.zeros((), outputs.dtype))
            chi = jnp.where(keep[..., None], chi, jnp.zeros((), chi.dtype))
            elc = jnp.where(keep, elc, jnp.zeros((), elc.dtype))
        value = cross_entropy(family, link_fn(outputs), chi, elc)
        if where is not None:
            value = jnp.where(keep, value, jnp.zeros((), value.dtype))
        if weights is not None:
            value = value * jnp.broadcast_to(as_float(weights), batch)
        return value

    return fn
