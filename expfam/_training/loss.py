"""Per-example losses for optax training, and the targets they accept.

``loss(family, link)`` returns ``fn(outputs, targets, *, weights=None, where=None)``:
unconstrained network outputs of shape ``(..., K)`` go through the link to natural
parameters ``eta`` of shape ``(..., M)``, and the result is the per-example cross-entropy

    ``H(p, q_eta) = -chi . eta + g(eta) - E_p[log h]``

over the batch axes, as optax losses return (reduce it with ``jnp.mean`` or a sum). A
target ``p`` is given as

* raw samples ``x`` (then ``chi = T(x)``, ``E_p[log h] = log h(x)``: the negative log-likelihood);
* a prepared ``family.target(x)`` (``Target.from_samples``), made once outside the training step,
  so the step reads ``T(x)``, ``log h(x)`` and x instead of evaluating them (x is kept for the
  family's cancellation-free value: every route gives ``nll``'s value);
* a ``(chi, elc)`` pair: the plain ``-chi . eta + g(eta) - elc``;
* a distribution: ``Target.from_natural`` (a teacher's natural parameters, for distillation)
  or ``Target.from_expectation`` (soft labels: probabilities, or any expectation parameters).

The gradient in eta is exactly ``g'(eta) - chi``: the loss is minimized where the model's
expected sufficient statistics match the target's, which is maximum likelihood for samples.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

from expfam._core.cross_entropy import as_target, broadcast_batch, broadcast_target, check_family
from expfam._core.family import ExponentialFamily, as_float, checks_inputs, outside
from expfam._core.target import Target
from expfam._training.heads import SourceLink

Array = jax.Array


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
        promoted before any arithmetic). ``targets`` are raw samples or a ``Target``
        (or ``(chi, elc)`` pair). ``weights`` multiply each example's loss. ``where``
        (boolean, broadcastable to the batch) keeps the examples where it is True; the others
        get loss 0 and gradient 0 even when their outputs or targets are padding (NaN, or
        outside the support), because they are replaced by neutral values before the loss is
        evaluated. Every combination evaluates ``family.cross_entropy_of`` on the same target,
        so the kept rows have the value ``nll`` gives.
    """
    family = check_family(family)
    link_fn = family.link if link is None else link

    @checks_inputs
    def fn(outputs: Any, targets: Any, *, weights: Any = None, where: Any = None) -> Array:
        outputs = as_float(outputs)
        if outputs.ndim == 0 or (link is None and outputs.shape[-1] != family.num_natural):
            raise ValueError(
                f"{family.name}: outputs for the canonical link must have shape (..., {family.num_natural}), "
                f"got shape {outputs.shape}"
            )
        target = as_target(family, targets) if isinstance(targets, tuple) else family.target(targets)
        if where is None:
            value = _evaluate(family, link_fn, outputs, target)
        else:
            value = _masked(family, link_fn, outputs, target, where)
        if weights is not None:
            value = value * jnp.broadcast_to(as_float(weights), value.shape)
        return value

    return fn


def _masked(
    family: ExponentialFamily, link: Callable[[Array], Array], outputs: Array, target: Target, where: Any
) -> Array:
    """The cross-entropy over the broadcast batch, 0 (with gradient 0) where ``where`` is False.

    Neutral values replace the dropped rows before any arithmetic (0 for the outputs, chi and
    elc, the link of 0 for a distribution's eta; a target's sample enters only the value, whose
    derivative is the generic one, and the final select discards it), so that padding (NaN,
    out-of-support targets) cannot reach the gradient through the masked branch.
    """
    batch_outputs = jnp.zeros(outputs.shape[:-1] + (family.num_natural,), outputs.dtype)
    _, target = broadcast_target(family, batch_outputs, target, where=jnp.shape(where))
    batch = target.elc.shape
    keep = jnp.broadcast_to(jnp.asarray(where, bool), batch)

    def neutral(a: Any, fill: Any) -> Any:
        if a is None:
            return None
        kept = keep.reshape(keep.shape + (1,) * (a.ndim - keep.ndim))
        return jnp.where(kept, a, jnp.asarray(fill, a.dtype))

    outputs = neutral(jnp.broadcast_to(outputs, batch + outputs.shape[-1:]), 0.0)
    target = Target(
        neutral(target.chi, 0.0),
        neutral(target.elc, 0.0),
        target.sample,  # read by the value only where the row is kept and inside the support
        neutral(target.natural, family.link(jnp.zeros(family.num_natural, outputs.dtype))),
        neutral(target.inside, True),
    )
    value = _evaluate(family, link, outputs, target)
    return jnp.where(keep, value, jnp.zeros((), value.dtype))


def _evaluate(family: ExponentialFamily, link: Callable[[Array], Array], outputs: Array, target: Target) -> Array:
    """The cross-entropy of the head's distribution against the target, over the broadcast batch:
    ``family.cross_entropy_of`` on the natural parameters, or, for a factored head
    (``source_link(family, factored=True)``) and a target that carries its sample,
    ``family.factored_nll`` on the head's source parameters (the same value, without forming eta)."""
    if not (isinstance(link, SourceLink) and link.factored and target.sample is not None):
        eta, target = broadcast_target(family, family.check_natural(link(outputs)), target)
        return family.cross_entropy_of(eta, target)
    source = link.source(outputs)
    batch = broadcast_batch(family, outputs=outputs.shape[:-1], targets=target.elc.shape)
    head_ndim = outputs.ndim - 1
    source = {name: jnp.broadcast_to(v, batch + v.shape[head_ndim:]) for name, v in source.items()}
    event = target.sample.shape[target.elc.ndim :]
    off = jnp.broadcast_to(outside(target), batch)
    # Plain autodiff reads the sample: outside the support it is replaced by the safe point.
    sample = jnp.broadcast_to(target.sample, batch + event)
    point = jnp.broadcast_to(jnp.asarray(family.support.point, sample.dtype), sample.shape)
    sample = jnp.where(off.reshape(batch + (1,) * len(event)), point, sample)
    value = family.factored_nll(sample, **source)
    return jnp.where(off, jnp.inf, value)
