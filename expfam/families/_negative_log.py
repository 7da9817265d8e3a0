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
