"""Calibration of predictive distributions: the probability integral transform (PIT).

For a continuous family with CDF F, ``u = F(y | eta)`` is uniform on (0, 1) when y really
follows ``q(. | eta)``. For an integer-valued family (``family.support.discrete``) the randomized PIT
``u = F(y - 1) + v (F(y) - F(y - 1))`` with ``v ~ U(0, 1)`` is uniform in the same case.
The central interval with probability ``l`` covers y exactly when ``|u - 1/2| <= l / 2``,
so interval coverage is read off the PIT.

A family supports this by providing ``cdf(eta, x) = P(X <= x)`` (``family.provides("cdf")``);
families without one (Categorical, whose classes have no order) get ``None``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from expfam._core.family import ExponentialFamily, check_family

Array = jax.Array


def pit(family: ExponentialFamily, eta: Array, y: Array, key: Array) -> Array | None:
    """PIT values of observations y under ``q(. | eta)`` (randomized for discrete families).

    Args:
        family: the predictive family; ``None`` is returned if it has no ``cdf``.
        eta: natural parameters, shape ``batch + (M,)``.
        y: observations, shape ``batch``.
        key: PRNG key for the randomization of discrete families.
    """
    if not check_family(family).provides("cdf"):
        return None
    upper = family.cdf(eta, y)
    if not family.support.discrete:
        return upper
    lower = family.cdf(eta, y - 1)
    return lower + jax.random.uniform(key, upper.shape, upper.dtype) * (upper - lower)


def interval_coverage(pit_values: Array, level: float) -> Array:
    """Fraction of observations inside the central interval of probability ``level``."""
    return jnp.mean(jnp.abs(pit_values - 0.5) <= level / 2)


def pit_histogram(pit_values: Array, bins: int = 10) -> Array:
    """Fraction of PIT values in each of ``bins`` equal bins of [0, 1] (all ``1 / bins`` if calibrated)."""
    counts, _ = jnp.histogram(pit_values, bins=bins, range=(0.0, 1.0))
    return counts / pit_values.size
