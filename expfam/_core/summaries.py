"""Summaries of a distribution ``q(. | eta)``: moments, mode, cdf, survival function and quantile.

Each free function checks its inputs once and calls the family's method of the same name (an
optional method of ``ExponentialFamily``; ``family.provides(name)`` tells which a family has),
except ``variance``, whose method is ``var`` (scipy's name: ``variance`` is a configuration field of
``NormalKnownVariance``); a family without it raises ``NotImplementedError`` naming the family and
the summary.

* ``mean``, ``variance`` (per coordinate of the event), ``stddev`` (``sqrt(variance)``),
  ``covariance`` (vector families: ``batch + (d, d)``), ``mode``: shape ``batch + event_shape``.
  A vector family gives ``covariance`` and its diagonal is the ``variance``.
* Univariate families: ``cdf`` ``P(X <= x)``, ``survival`` ``P(X > x)`` (computed directly, so the
  upper tail keeps its relative accuracy), ``log_cdf`` and ``log_survival`` (the family's own
  forms where it has them, else the logarithms of the above), and ``quantile``: the smallest x
  with ``P(X <= x) >= p`` (the integer one for count families); at ``p = 0`` and ``p = 1`` the
  ends of the support. Eta and x (or p) broadcast against each other.

A p outside [0, 1] is a ValueError in eager use; under jit its quantile is NaN.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core.cross_entropy import check_family
from expfam._core.family import ExponentialFamily, as_float, checks_inputs, is_concrete

Array = jax.Array


def _method(family: Any, name: str, what: str) -> Any:
    family = check_family(family)
    if not family.provides(name):
        raise NotImplementedError(f"{family.name} does not provide the {what} (family.provides({name!r}) is False)")
    return getattr(family, name)


def _univariate(family: ExponentialFamily, eta: Any, x: Any, what: str) -> tuple[Array, Array]:
    """Checked eta and a scalar-event argument, broadcast to one batch."""
    if family.event_shape != ():
        raise ValueError(f"{family.name}: the {what} is defined for univariate families only")
    eta, x = family.check_natural(eta), as_float(x)
    batch = jnp.broadcast_shapes(eta.shape[:-1], x.shape)
    return jnp.broadcast_to(eta, batch + eta.shape[-1:]), jnp.broadcast_to(x, batch).astype(eta.dtype)


@checks_inputs
def mean(family: ExponentialFamily, eta: Any) -> Array:
    """``E[x]`` under ``q(. | eta)``, shape ``batch + event_shape`` (inf where it diverges)."""
    method = _method(family, "mean", "mean")
    return method(family.check_natural(eta))


@checks_inputs
def covariance(family: ExponentialFamily, eta: Any) -> Array:
    """``Cov[x]`` of a vector family, shape ``batch + (d, d)``."""
    method = _method(family, "covariance", "covariance (a vector family's; univariate families have variance)")
    return method(family.check_natural(eta))


@checks_inputs
def variance(family: ExponentialFamily, eta: Any) -> Array:
    """``Var[x]`` per coordinate of the event (the diagonal of the covariance for a vector family),
    shape ``batch + event_shape`` (inf where it diverges)."""
    family = check_family(family)
    eta = family.check_natural(eta)
    if family.provides("var"):
        return family.var(eta)
    return jnp.diagonal(_method(family, "covariance", "variance")(eta), axis1=-2, axis2=-1)


def stddev(family: ExponentialFamily, eta: Any) -> Array:
    """The standard deviation ``sqrt(variance)``."""
    return jnp.sqrt(variance(family, eta))


@checks_inputs
def mode(family: ExponentialFamily, eta: Any) -> Array:
    """The point of highest density (mass); each family documents its convention where the density
    is unbounded or the mode is not unique."""
    method = _method(family, "mode", "mode")
    return method(family.check_natural(eta))


@checks_inputs
def cdf(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``P(X <= x)`` of a univariate family."""
    method = _method(family, "cdf", "cdf")
    return method(*_univariate(family, eta, x, "cdf"))


@checks_inputs
def survival(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``P(X > x) = 1 - cdf``, computed without the subtraction."""
    method = _method(family, "survival", "survival function")
    return method(*_univariate(family, eta, x, "survival function"))


def _log_tail(family: Any, eta: Any, x: Any, name: str, what: str, tail: Any) -> Array:
    """The family's ``name`` method (``log_cdf`` or ``log_survival``) where it has one, else
    ``log(tail(family, eta, x))``."""
    family = check_family(family)
    if family.provides(name):
        return getattr(family, name)(*_univariate(family, eta, x, what))
    return jnp.log(tail(family, eta, x))


@checks_inputs
def log_cdf(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``log P(X <= x)``."""
    return _log_tail(family, eta, x, "log_cdf", "cdf", cdf)


@checks_inputs
def log_survival(family: ExponentialFamily, eta: Any, x: Any) -> Array:
    """``log P(X > x)``."""
    return _log_tail(family, eta, x, "log_survival", "survival function", survival)


@checks_inputs
def quantile(family: ExponentialFamily, eta: Any, p: Any) -> Array:
    """The smallest x with ``P(X <= x) >= p`` (an integer for count families), p in [0, 1].

    Continuous families keep the relative accuracy of both tails; the derivative in eta and p is
    the implicit one (``1 / density`` in p). A count family's quantile is piecewise constant (zero
    derivative).

    Raises:
        ValueError: (eagerly) a p outside [0, 1]; under jit such a p gives NaN.
    """
    method = _method(family, "quantile", "quantile")
    eta, p = _univariate(family, eta, p, "quantile")
    if is_concrete(p) and not np.all((np.asarray(p) >= 0) & (np.asarray(p) <= 1)):
        raise ValueError(f"{family.name}: quantile probabilities must lie in [0, 1], got {p}")
    valid = (p >= 0) & (p <= 1)
    return jnp.where(valid, method(eta, jnp.where(valid, p, 0.5)), jnp.nan)
