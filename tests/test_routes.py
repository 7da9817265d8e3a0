"""One quantity, one value: every route to a cross-entropy gives the same value and gradient.

For each catalogue family, at its example points (extremes included) and draws from them, in
float32 and float64: ``nll``, ``-log_prob``, ``loss()`` on raw samples with and without
``weights`` / ``where``, ``loss()`` and ``cross_entropy`` on a prepared ``family.target(x)``
(and ``Target.from_samples``), and for distributions ``distribution_cross_entropy``,
``cross_entropy`` on ``family.distribution_target`` and ``loss()`` on ``Target.from_natural``.
One compiled function per family and dtype evaluates every route.
"""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import draws

import expfam

ENTRIES = [pytest.param(entry, id=entry.family.name) for entry in expfam.catalogue()]
DRAWS = 3


def _sample_routes(family, eta, x):
    loss = expfam.loss(family, lambda raw: raw)
    keep = jnp.ones(jnp.broadcast_shapes(eta.shape[:-1], expfam.nll(family, eta, x).shape), bool)
    return {
        "nll": lambda e: expfam.nll(family, e, x),
        "-log_prob": lambda e: -expfam.log_prob(family, e, x),
        "loss(x)": lambda e: loss(e, x),
        "loss(x, weights)": lambda e: loss(e, x, weights=jnp.ones(keep.shape)),
        "loss(x, where)": lambda e: loss(e, x, where=keep),
        "loss(target)": lambda e: loss(e, family.target(x)),
        "loss(target, where)": lambda e: loss(e, family.target(x), where=keep),
        "cross_entropy(target)": lambda e: expfam.cross_entropy(family, e, family.target(x)),
        "cross_entropy(Target.from_samples)": lambda e: expfam.cross_entropy(
            family, e, expfam.Target.from_samples(family, x)
        ),
    }


def _distribution_routes(family, eta_p):
    loss = expfam.loss(family, lambda raw: raw)
    return {
        "distribution_cross_entropy": lambda e: expfam.distribution_cross_entropy(family, eta_p, e),
        "cross_entropy(distribution_target)": lambda e: expfam.cross_entropy(
            family, e, family.distribution_target(eta_p)
        ),
        "loss(Target.from_natural)": lambda e: loss(e, expfam.Target.from_natural(family, eta_p)),
        "loss(Target.from_natural, where)": lambda e: loss(
            e, expfam.Target.from_natural(family, eta_p), where=jnp.ones(e.shape[:-1], bool)
        ),
    }


#: The routes whose gradients are compared too (every route's value is): one per mechanism, since the
#: others only rearrange the same target before the one template.
GRADIENT_ROUTES = (
    "nll",
    "loss(target, where)",
    "cross_entropy(target)",
    "distribution_cross_entropy",
    "loss(Target.from_natural, where)",
)


def _evaluate(routes, eta):
    return {
        name: (f(eta), jax.grad(lambda e, f=f: jnp.sum(f(e)))(eta) if name in GRADIENT_ROUTES else None)
        for name, f in routes.items()
    }


@functools.partial(jax.jit, static_argnums=0)
def _every_route(family, eta, x, eta_q):
    return _evaluate(_sample_routes(family, eta, x), eta), _evaluate(_distribution_routes(family, eta), eta_q)


def _assert_one_value(results, reference_name, dtype):
    eps = float(jnp.finfo(dtype).eps)
    value, grad = results[reference_name]
    others = [(name, result) for name, result in results.items() if name != reference_name]
    value, grad = np.asarray(value, np.float64), np.asarray(grad, np.float64)
    for name, (other_value, other_grad) in others:
        other_value = np.asarray(other_value, np.float64)
        other_grad = None if other_grad is None else np.asarray(other_grad, np.float64)
        assert np.array_equal(np.isinf(value), np.isinf(other_value)), (name, value, other_value)
        finite = np.isfinite(value)
        scale = np.maximum(np.abs(value[finite]), 1.0)
        assert np.all(np.abs(other_value[finite] - value[finite]) <= 8 * eps * scale), (
            name,
            reference_name,
            value,
            other_value,
        )
        if other_grad is not None:
            grad_scale = max(float(np.max(np.abs(grad), initial=0.0)), 1.0)
            assert np.max(np.abs(other_grad - grad), initial=0.0) <= 8 * eps * grad_scale, (name, grad, other_grad)


@pytest.mark.parametrize("entry", ENTRIES)
def test_every_route_gives_one_value(entry, dtype):
    family = entry.family
    eta = jnp.stack(
        [family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in ex.items()}) for ex in entry.examples]
    )
    x = jnp.stack([draws(family, e, DRAWS) for e in eta], axis=1)  # (DRAWS, examples) + event
    eta_q = jnp.roll(eta, 1, axis=0) if eta.shape[0] > 1 else eta
    samples, distributions = _every_route(family, eta, x, eta_q)
    _assert_one_value(samples, "nll", dtype)
    _assert_one_value(distributions, "distribution_cross_entropy", dtype)
