"""Gamma: a positive, skewed target with shape k and rate r.

``q(x) = r^k x^(k-1) e^(-r x) / Gamma(k)``. Natural parameters ``eta = (-r, k)``,
``T(x) = (x, log x)``, ``h(x) = 1/x``, ``g(eta) = lgamma(k) - k log r``.
Expectation ``(k / r, digamma(k) - log r)``; Fisher
``[[k / r^2, 1 / r], [1 / r, trigamma(k)]]``.

Inverse (expectation -> natural): with ``s = log E[x] - E[log x] > 0``, the shape solves
``log k - digamma(k) = s``; then ``r = k / E[x]``. Newton steps on ``1/k`` from the
closed-form initial guess ``k0 = (3 - s + sqrt((s - 3)^2 + 24 s)) / (12 s)`` (within a
few percent everywhere), with both ``log k - digamma(k)`` and its derivative evaluated
without cancellation for large k.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from expfam import _links, _solve, _special
from expfam._family import Array, ExponentialFamily

NEWTON_STEPS = 5


def initial_shape(s: Array) -> Array:
    """Closed-form approximate solution of ``log k - digamma(k) = s`` (exact as s -> 0 and s -> inf)."""
    return (3.0 - s + jnp.sqrt((s - 3.0) ** 2 + 24.0 * s)) / (12.0 * s)


def shape_from_log_gap(s: Array) -> Array:
    """Solve ``log k - digamma(k) = s`` for k > 0 (s > 0)."""
    k0 = initial_shape(s)

    def newton_step(k: Array) -> Array:
        # f(k) = log k - digamma(k) - s, f'(k) = 1/k - trigamma(k) = -(trigamma(k) - 1/k).
        residual = _special.log_minus_digamma(k) - s
        slope = -_special.trigamma_minus_reciprocal(k)
        return k - residual / slope

    return _solve.newton(newton_step, k0, NEWTON_STEPS)


@dataclasses.dataclass(frozen=True)
class Gamma(ExponentialFamily):
    support = "x > 0"
    support_point = 1.0

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, shape: Array, rate: Array) -> Array:
        shape, rate = jnp.broadcast_arrays(jnp.asarray(shape), jnp.asarray(rate))
        return jnp.stack([-rate, shape], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"shape": eta[..., 1], "rate": -eta[..., 0]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        return gammaln(shape) - shape * jnp.log(rate)

    def expectation(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        # digamma(k) - log r written as log(k / r) - (log k - digamma(k)): no cancellation
        # when k and r are both large.
        mean = shape / rate
        return jnp.stack([mean, jnp.log(mean) - _special.log_minus_digamma(shape)], axis=-1)

    def fisher(self, eta: Array) -> Array:
        rate, shape = -eta[..., 0], eta[..., 1]
        cross = 1.0 / rate
        rows = [jnp.stack([shape / rate**2, cross], -1), jnp.stack([cross, _special.trigamma(shape)], -1)]
        return jnp.stack(rows, axis=-2)

    def solve_natural(self, chi: Array) -> Array:
        mean, mean_log = chi[..., 0], chi[..., 1]
        shape = shape_from_log_gap(jnp.log(mean) - mean_log)
        return jnp.stack([-shape / mean, shape], axis=-1)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([x, jnp.log(x)], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def in_support(self, x: Array) -> Array:
        return (x > 0) & (x < jnp.inf)

    def is_natural_valid(self, eta: Array) -> Array:
        return (eta[..., 0] < 0) & (eta[..., 1] > 0)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -self.expectation(eta)[..., 1]

    def link(self, raw: Array) -> Array:
        """``(-positive(raw_1), positive(raw_2))``: rate and shape both softplus."""
        return jnp.stack([_links.negative(raw[..., 0]), _links.positive(raw[..., 1])], axis=-1)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        rate, k = -eta[..., 0], eta[..., 1]
        return jax.random.gamma(key, k, shape + k.shape, eta.dtype) / rate
