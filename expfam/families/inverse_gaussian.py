"""Inverse Gaussian (Wald) with mean mu and shape lam: a positive first-passage time x > 0.

``q(x) = sqrt(lam / (2 pi x^3)) exp(-lam (x - mu)^2 / (2 mu^2 x))``. Natural parameters
``eta = (-lam / (2 mu^2), -lam / 2)``, ``T(x) = (x, 1/x)``, ``log h(x) = -1/2 log(2 pi x^3)``,
``g(eta) = -2 sqrt(eta_1 eta_2) - 1/2 log(-2 eta_2) = -lam / mu - 1/2 log lam``.
Expectation ``(mu, 1/mu + 1/lam)``; Fisher (the covariance of ``(x, 1/x)``)
``[[mu^3 / lam, -mu / lam], [-mu / lam, 1 / (mu lam) + 2 / lam^2]]``;
inverse ``mu = E[x]``, ``1 / lam = E[1/x] - 1 / E[x]``.

``E[log h] = -1/2 log(2 pi) - 3/2 E[log x]`` with
``E[log x] = log mu - e^(2 phi) E1(2 phi)``, ``phi = lam / mu`` (the generalized inverse
Gaussian's ``d/dp log K_p`` at ``p = -1/2``); ``e^z E1(z)`` is evaluated directly below
``z = 50`` and by its asymptotic series ``sum_{n < 20} (-1)^n n! / z^(n+1)`` above
(truncation error below ``20! / 50^21 < 3e-18`` relative).
Documented range: ``mu`` and ``lam`` in ``1e-3 .. 1e3``.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
from jax.scipy.special import erfcx, exp1, log_ndtr

from expfam._core import constraints, quantiles, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import special

_SERIES_FROM = 50.0
_SERIES_TERMS = 20


def scaled_exp1(z: Array) -> Array:
    """``e^z E1(z)`` for z > 0, without overflow for large z."""
    small = jnp.minimum(z, _SERIES_FROM)
    return jnp.where(z < _SERIES_FROM, jnp.exp(small) * exp1(small), _asymptotic(jnp.maximum(z, _SERIES_FROM)))


def _asymptotic(z: Array) -> Array:
    inverse = 1.0 / z
    total = jnp.zeros_like(z)
    term = inverse
    for n in range(_SERIES_TERMS):
        total = total + term
        term = -term * (n + 1) * inverse
    return total


def _mean_shape(eta: Array) -> tuple[Array, Array]:
    shape = -2.0 * eta[..., 1]
    return jnp.sqrt(eta[..., 1] / eta[..., 0]), shape


@dataclasses.dataclass(frozen=True)
class InverseGaussian(ExponentialFamily):
    """Inverse Gaussian (Wald) with mean mu and shape lam: a positive first-passage time ``x > 0``.

    * density: ``q(x) = sqrt(lam / (2 pi x^3)) exp(-lam (x - mu)^2 / (2 mu^2 x))``; support ``x > 0``
    * natural parameters (M = 2): ``eta = (-shape / (2 * mean**2), -shape / 2)``,
      that is ``(-lam / (2 mu^2), -lam / 2)``
    * sufficient statistics ``T(x) = (x, 1 / x)``; carrier ``h(x) = (2 pi x^3)^(-1/2)``
    * log-normalizer ``g(eta) = -2 sqrt(eta_1 eta_2) - 1/2 log(-2 eta_2) = -lam / mu - 1/2 log lam``
    * expectation parameters ``E[T(x)] = (mu, 1 / mu + 1 / lam)``
    * source parameters: ``mean = mu``, ``shape = lam``
    * scipy: ``scipy.stats.invgauss(mean / shape, scale=shape)`` (scipy's shape parameter is ``mu / lam``)
    * TFP: ``tfd.InverseGaussian(loc=mean, concentration=shape)``
    * canonical link ``link(raw)``: ``eta = (-positive(raw_1), -positive(raw_2))``, ``positive = softplus + tiny``
    * source head ``source_link(InverseGaussian())``: ``mean = positive(raw_1)``, ``shape = positive(raw_2)``
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue = (({}, ({"mean": 2.0, "shape": 3.0}, {"mean": 0.1, "shape": 10.0}, {"mean": 100.0, "shape": 0.1})),)

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("mean", constraints.positive), SourceParameter("shape", constraints.positive))

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, mean: Array, shape: Array) -> Array:
        mean, shape = jnp.broadcast_arrays(jnp.asarray(mean), jnp.asarray(shape))
        return jnp.stack([-0.5 * shape / (mean * mean), -0.5 * shape], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        mean, shape = _mean_shape(eta)
        return {"mean": mean, "shape": shape}

    def log_normalizer_formula(self, eta: Array) -> Array:
        eta1, eta2 = eta[..., 0], eta[..., 1]
        return -2.0 * jnp.sqrt(eta1 * eta2) - 0.5 * jnp.log(-2.0 * eta2)

    def expectation(self, eta: Array) -> Array:
        mean, shape = _mean_shape(eta)
        return jnp.stack([mean, 1.0 / mean + 1.0 / shape], axis=-1)

    def fisher(self, eta: Array) -> Array:
        mean, shape = _mean_shape(eta)
        cross = -mean / shape
        rows = [
            jnp.stack([mean**3 / shape, cross], -1),
            jnp.stack([cross, 1.0 / (mean * shape) + 2.0 / (shape * shape)], -1),
        ]
        return jnp.stack(rows, axis=-2)

    def solve_natural(self, chi: Array) -> Array:
        mean = chi[..., 0]
        shape = mean / (mean * chi[..., 1] - 1.0)
        return self.natural_from_source(mean=mean, shape=shape)

    def stable_entropy(self, eta: Array) -> Array:
        """``H = 1/2 log(2 pi e / lam) + 3/2 E[log x]``, since ``E[lam (x - mu)^2 / (mu^2 x)] = 1``
        (no ``g(eta)`` against ``eta . chi``)."""
        mean, shape = _mean_shape(eta)
        mean_log = jnp.log(mean) - scaled_exp1(2.0 * shape / mean)
        return 0.5 * (math.log(2 * math.pi) + 1.0 - jnp.log(shape)) + 1.5 * mean_log

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``lam (x - mu)^2 / (2 mu^2 x) + 1/2 log(2 pi x^3 / lam)``: no ``eta . T(x)`` against ``g``
        (terms of size ``lam / mu`` that cancel to the squared offset)."""
        mean, shape = _mean_shape(eta)
        offset = (x - mean) / mean
        return 0.5 * shape * offset * offset / x + 0.5 * (math.log(2 * math.pi) + 3.0 * jnp.log(x) - jnp.log(shape))

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([x, 1.0 / x], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -0.5 * math.log(2 * math.pi) - 1.5 * jnp.log(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(eta < 0, axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        mean, shape = _mean_shape(eta)
        mean_log = jnp.log(mean) - scaled_exp1(2.0 * shape / mean)
        return -0.5 * math.log(2 * math.pi) - 1.5 * mean_log

    def link(self, raw: Array) -> Array:
        """``(-positive(raw_1), -positive(raw_2))``."""
        return constraints.negative(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Michael, Schucany and Haas (1976): a root of the chi-square transform, chosen by a uniform."""
        mean, lam = broadcast_to_draws(shape, *_mean_shape(eta))
        normal_key, uniform_key = jax.random.split(key)
        size = mean.shape
        y = jax.random.normal(normal_key, size, eta.dtype) ** 2
        # The smaller root mu + mu^2 y / (2 lam) - mu / (2 lam) sqrt(4 mu lam y + mu^2 y^2),
        # rationalised to 2 lam mu / (2 lam + mu y + sqrt(...)) (no cancellation).
        root = jnp.sqrt(4.0 * mean * lam * y + (mean * y) ** 2)
        smaller = mean * 2.0 * lam / (2.0 * lam + mean * y + root)
        uniform = jax.random.uniform(uniform_key, size, eta.dtype)
        return jnp.where(uniform <= mean / (mean + smaller), smaller, mean * mean / smaller)

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return _mean_shape(eta)[0]

    def var(self, eta: Array) -> Array:
        """``mu^3 / lam``."""
        mean, shape = _mean_shape(eta)
        return mean**3 / shape

    def mode(self, eta: Array) -> Array:
        """``mu (sqrt(1 + t^2) - t)`` with ``t = 3 mu / (2 lam)``, as ``mu / (sqrt(1 + t^2) + t)``."""
        mean, shape = _mean_shape(eta)
        t = 1.5 * mean / shape
        return mean / (jnp.sqrt(1.0 + t * t) + t)

    def _log_tail(self, eta: Array, x: Array, upper: Array | bool) -> Array:
        """``log S(x)`` where ``upper``, else ``log F(x)`` (``-inf`` / 0 for x <= 0), from
        ``a = sqrt(lam / x) (x / mu - 1)`` and ``b = sqrt(lam / x) (x / mu + 1)``:
        ``F = Phi(a) + e^(2 lam / mu) Phi(-b)`` and ``S = Phi(-a) - e^(2 lam / mu) Phi(-b)``. With Mills'
        ratio ``R(t) = Phi(-t) / phi(t)`` and ``(b^2 - a^2) / 2 = 2 lam / mu``, the reflected term is
        ``log phi(a) + log R(b)`` (no large exponent). ``log F`` is ``logaddexp(log Phi(a), reflected)``;
        ``log S`` below the mean (``a <= 0``) is ``log Phi(-a) + log(1 - e^(reflected - log Phi(-a)))``
        and above it, where both terms are small and nearly equal, ``log phi(a) + log(R(a) - R(b))``.
        Each row evaluates one ``log Phi`` (of ``a`` or ``-a``, the side it needs)."""
        mean, shape = _mean_shape(eta)
        positive = x > 0
        safe = jnp.where(positive, x, mean)
        root = jnp.sqrt(shape / safe)
        a, b = root * (safe / mean - 1.0), root * (safe / mean + 1.0)
        log_phi_a = -0.5 * a * a - special.HALF_LOG_TWO_PI
        reflected = log_phi_a + jnp.log(_mills(b))
        main = log_ndtr(jnp.where(upper, -a, a))  # log Phi(-a) where upper, else log Phi(a)
        if upper is False:  # (a static side computes that side only)
            return jnp.where(positive, jnp.logaddexp(main, reflected), -jnp.inf)
        above_mean = a > 0
        # (on the lower side, main is log Phi(a): a gap that keeps log1mexp and its derivative finite)
        gap = jnp.where(upper, jnp.minimum(reflected - main, 0.0), -1.0)
        below = main + special.log1mexp(gap)
        a_pos, b_pos = jnp.where(above_mean, a, 1.0), jnp.where(above_mean, b, 2.0)
        above = log_phi_a + jnp.log(jnp.maximum(_mills(a_pos) - _mills(b_pos), 0.0))
        upper_tail = jnp.where(above_mean, above, below)
        if upper is True:
            return jnp.where(positive, upper_tail, 0.0)
        lower_tail = jnp.logaddexp(main, reflected)
        return jnp.where(positive, jnp.where(upper, upper_tail, lower_tail), jnp.where(upper, 0.0, -jnp.inf))

    def log_cdf(self, eta: Array, x: Array) -> Array:
        return self._log_tail(eta, x, False)

    def log_survival(self, eta: Array, x: Array) -> Array:
        return self._log_tail(eta, x, True)

    def cdf(self, eta: Array, x: Array) -> Array:
        return jnp.exp(self.log_cdf(eta, x))

    def survival(self, eta: Array, x: Array) -> Array:
        return jnp.exp(self.log_survival(eta, x))

    def quantile(self, eta: Array, p: Array) -> Array:
        """Solved on ``log x`` (``quantiles.continuous_quantile``) from ``log mu``."""
        info = jnp.finfo(p.dtype)
        bracket = (2.0 * jnp.log(info.tiny), jnp.log(info.max))
        z = quantiles.continuous_quantile(
            lambda e, u, upper: self._log_tail(e, jnp.exp(u), upper),
            eta,
            p,
            bracket,
            jnp.log(_mean_shape(eta)[0]),
        )
        return jnp.exp(z)


def _mills(t: Array) -> Array:
    """Mills' ratio ``Phi(-t) / phi(t) = sqrt(pi / 2) erfcx(t / sqrt 2)``."""
    return math.sqrt(0.5 * math.pi) * erfcx(t / math.sqrt(2.0))
