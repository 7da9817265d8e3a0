"""One quantity, one value: every route to a cross-entropy gives the same value and gradient.

For each catalogue family, at its example points (extremes included) and draws from them, in
float32 and float64: ``nll``, ``-log_prob``, ``loss()`` on raw samples with and without
``weights`` / ``where``, ``loss()`` and ``cross_entropy`` on a prepared ``family.target(x)``
(and ``Target.from_samples``), and for distributions ``distribution_cross_entropy``,
``cross_entropy`` on ``family.distribution_target`` and ``loss()`` on ``Target.from_natural``.
The routes are evaluated by the battery's probe (``probe.route_values``): one compiled program per
family and dtype for both modules, in which routes that trace to the same program (the same jaxpr
and captured values: most routes only rearrange the target before one template) are evaluated once,
since they agree by construction.
"""

from __future__ import annotations

import numpy as np
import pytest
from probe import probe

import expfam

ENTRIES = [pytest.param(entry, id=entry.family.name) for entry in expfam.catalogue()]


def _assert_one_value(results, reference_name, dtype):
    eps = float(np.finfo(dtype).eps)
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
    """At every example of the entry with ``ROUTE_DRAWS`` draws of each (samples) and, for the
    distribution routes, q = the previous example."""
    samples, distributions = probe(entry.family, dtype)["routes"]
    _assert_one_value(samples, "nll", dtype)
    _assert_one_value(distributions, "distribution_cross_entropy", dtype)
