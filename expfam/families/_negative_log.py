"""Shared piece of the one-parameter families with ``g(eta) = -log(-eta)``.

Rayleigh, Weibull with known shape and Laplace with known location all read
``q(x) = h(x) exp(eta s(x) + log(-eta))`` with ``eta < 0`` and a statistic ``s(x) >= 0``
(``x^2``, ``x^k``, ``|x - loc|``): ``s(x)`` is exponentially distributed with rate ``-eta``.
So ``E[s] = -1 / eta``, ``Var[s] = 1 / eta^2``, and the inverse is ``eta = -1 / E[s]``.
The link is ``eta = -positive(raw) = -(softplus(raw) + tiny)``.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from expfam._core import constraints
from expfam._core.family import Array, ExponentialFamily, broadcast_to_draws
from expfam._numerics import special


def exponential_tails(rate: Array, s: Array) -> dict[str, Array]:
    """The cdf, survival and their logs at ``s >= 0`` of the exponential distribution with ``rate``:
    ``-expm1(-rate s)``, ``exp(-rate s)``, ``log1mexp(-rate s)``, ``-rate s``."""
    exponent = -rate * s
    return {
        "cdf": -jnp.expm1(exponent),
        "survival": jnp.exp(exponent),
        "log_cdf": special.log1mexp(exponent),
        "log_survival": exponent,
    }


def exponential_quantile(rate: Array, p: Array) -> Array:
    """``-log1p(-p) / rate`` (``1 - p`` is exact above 1/2, so the upper tail keeps its accuracy)."""
    return -jnp.log1p(-p) / rate


class NegativeLogNormalizer(ExponentialFamily):
    """Base of families whose statistic ``s(x)`` is Exponential(rate ``-eta``); see the module doc."""

    @property
    def num_natural(self) -> int:
        return 1

    def log_normalizer_formula(self, eta: Array) -> Array:
        return -jnp.log(-eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return -1.0 / eta

    def fisher(self, eta: Array) -> Array:
        return (1.0 / (eta * eta))[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return -1.0 / chi

    def is_natural_valid(self, eta: Array) -> Array:
        return eta[..., 0] < 0

    def link(self, raw: Array) -> Array:
        """``eta = -positive(raw) = -(softplus(raw) + tiny)``."""
        return constraints.negative(raw)

    def exponential_statistic(self, key: Array, eta: Array, shape: tuple[int, ...]) -> Array:
        """Draws of ``s(x)``: standard exponentials divided by the rate ``-eta``."""
        (rate,) = broadcast_to_draws(shape, -eta[..., 0])
        return jax.random.exponential(key, rate.shape, eta.dtype) / rate

    # -- summaries: for x >= 0, s(x) is increasing (Laplace, two-sided, overrides these) -----------
    def statistic(self, x: Array) -> Array:
        """``s(x)`` for ``x >= 0``."""
        raise NotImplementedError

    def statistic_inverse(self, s: Array) -> Array:
        """The x >= 0 with ``s(x) = s``."""
        raise NotImplementedError

    def _tail(self, eta: Array, x: Array, name: str) -> Array:
        return exponential_tails(-eta[..., 0], self.statistic(jnp.maximum(x, 0.0)))[name]

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = P(s(X) <= s(x))``, the exponential cdf ``-expm1(eta s(x))`` (0 below 0)."""
        return self._tail(eta, x, "cdf")

    def survival(self, eta: Array, x: Array) -> Array:
        """``exp(eta s(x))``."""
        return self._tail(eta, x, "survival")

    def log_cdf(self, eta: Array, x: Array) -> Array:
        return self._tail(eta, x, "log_cdf")

    def log_survival(self, eta: Array, x: Array) -> Array:
        return self._tail(eta, x, "log_survival")

    def quantile(self, eta: Array, p: Array) -> Array:
        """``s^{-1}(-log1p(-p) / -eta)``."""
        return self.statistic_inverse(exponential_quantile(-eta[..., 0], p))
