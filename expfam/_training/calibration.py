"""Calibration of predictive distributions: the probability integral transform (PIT), central
intervals and their coverage, and the Brier score of class probabilities.

For a continuous family with CDF F, ``u = F(y | eta)`` is uniform on (0, 1) when y really
follows ``q(. | eta)``. For an integer-valued family (``family.support.discrete``) the randomized PIT
``u = F(y - 1) + v (F(y) - F(y - 1))`` with ``v ~ U(0, 1)`` is uniform in the same case.
The central interval with probability ``l`` covers y exactly when ``|u - 1/2| <= l / 2``,
so interval coverage is read off the PIT; ``central_interval`` gives the interval itself from the
quantiles. Every univariate family with a ``cdf`` (``expfam.cdf``) is covered.

Class labels (``Categorical``) have no order, so no PIT: their calibration is measured by a proper
score, the Brier score ``sum_k (p_k - [y = k])^2`` (``brier_score``, also for ``Bernoulli``), whose
expectation is smallest exactly at the true class probabilities.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from expfam._core import summaries
from expfam._core.family import ExponentialFamily, as_float, check_family
from expfam.families.bernoulli import Bernoulli
from expfam.families.categorical import Categorical

Array = jax.Array


def pit(family: ExponentialFamily, eta: Array, y: Array, key: Array) -> Array | None:
    """PIT values of observations y under ``q(. | eta)`` (randomized for discrete families).

    Args:
        family: the predictive family, univariate; ``None`` is returned if it has no ``cdf``
            (class labels: see ``brier_score``).
        eta: natural parameters, shape ``batch + (M,)``.
        y: observations, shape ``batch``.
        key: PRNG key for the randomization of discrete families.
    """
    family = check_family(family)
    if not family.provides("cdf"):
        return None
    upper = summaries.cdf(family, eta, y)
    if not family.support.discrete:
        return upper
    lower = summaries.cdf(family, eta, as_float(y) - 1.0)
    return lower + jax.random.uniform(key, upper.shape, upper.dtype) * (upper - lower)


def central_interval(family: ExponentialFamily, eta: Array, level: float) -> tuple[Array, Array]:
    """The central interval of probability ``level``: the quantiles at ``(1 -+ level) / 2``."""
    if not 0.0 <= level <= 1.0:
        raise ValueError(f"level must lie in [0, 1], got {level}")
    return summaries.quantile(family, eta, 0.5 - level / 2), summaries.quantile(family, eta, 0.5 + level / 2)


def interval_coverage(pit_values: Array, level: float) -> Array:
    """Fraction of observations inside the central interval of probability ``level``."""
    return jnp.mean(jnp.abs(pit_values - 0.5) <= level / 2)


def pit_histogram(pit_values: Array, bins: int = 10) -> Array:
    """Fraction of PIT values in each of ``bins`` equal bins of [0, 1] (all ``1 / bins`` if calibrated)."""
    counts, _ = jnp.histogram(pit_values, bins=bins, range=(0.0, 1.0))
    return counts / pit_values.size


def brier_score(family: ExponentialFamily, eta: Any, y: Any) -> Array:
    """The Brier score ``sum_k (p_k - [y = k])^2`` of class probabilities, per observation.

    A strictly proper score: its expectation under the true class distribution is smallest when
    the predicted probabilities equal the true ones. ``Categorical``: y are labels or one-hot /
    probability vectors (then ``[y = k]`` is ``y_k``); ``Bernoulli``: y in {0, 1}, scored as two
    classes (twice the usual binary ``(p - y)^2``).
    """
    family = check_family(family)
    if not isinstance(family, (Categorical, Bernoulli)):
        raise TypeError(f"{family.name}: the Brier score is for class probabilities (Categorical, Bernoulli)")
    p = summaries.mean(family, eta)
    observed = family.target(y).chi
    if isinstance(family, Bernoulli):
        return 2.0 * (p - observed[..., 0]) ** 2
    return jnp.sum((p - observed) ** 2, axis=-1)
