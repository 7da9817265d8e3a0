"""Continuous Bernoulli (Loaiza-Ganem and Cunningham, 2019): a target x in [0, 1].

``q(x) = C(lam) lam^x (1 - lam)^(1 - x)``. Natural parameter ``eta = logit(lam)``, ``T(x) = x``,
``h = 1``, ``g(eta) = log((e^eta - 1) / eta)``, evaluated as
``max(eta, 0) + log(1 - e^-|eta|) - log|eta|``. Expectation
``E[x] = 1 / (1 - e^-eta) - 1 / eta``; Fisher ``Var[x] = 1 / eta^2 - 1 / (4 sinh^2(eta / 2))``.
All three cancel catastrophically near ``eta = 0`` (``lam = 1/2``), where the uniform
distribution sits; below ``|eta| = 1`` they are taken from the Bernoulli-number series
``E[x] = 1/2 + sum_n B_2n eta^(2n-1) / (2n)!`` (and its integral and derivative), with
``SERIES_TERMS`` terms (truncation below 1e-18 relative at ``|eta| = 1``).

At ``|eta| >= 1`` the log-probability, entropy and KL take their values from forms in
``|eta|`` and the distance from the favoured end (``stable_nll`` and friends), where
``eta x - g(eta)`` would cancel terms of size |eta|.

Inverse: with ``u = 2 E[x] - 1``, ``E[x] = 1/2 + L(eta / 2) / 2`` where L is the Langevin
function, so Cohen's approximation of its inverse gives ``eta0 = 2 u (3 - u^2) / (1 - u^2)``
(``1 - u^2 = 4 m (1 - m)`` without cancellation), within a few percent everywhere and
exact to first order at ``u = 0``; then ``NEWTON_STEPS`` Newton steps. Documented range:
``eta`` in ``[-1e4, 1e4]``; in float32 the mean loses relative accuracy as it nears 1.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws, iterative
from expfam._numerics import iterate

SERIES_TERMS = 14
NEWTON_STEPS = 4
_SERIES_BELOW = 1.0


def _bernoulli_over_factorial(count: int) -> list[float]:
    """``B_2n / (2n)!`` for n = 1..count (Akiyama-Tanigawa, in exact rationals)."""
    numbers: list[Fraction] = []
    row: list[Fraction] = []
    for m in range(2 * count + 1):
        row.append(Fraction(1, m + 1))
        for j in range(m, 0, -1):
            row[j - 1] = j * (row[j - 1] - row[j])
        numbers.append(row[0])
    return [float(numbers[2 * n] / math.factorial(2 * n)) for n in range(1, count + 1)]


_COEFFICIENTS = _bernoulli_over_factorial(SERIES_TERMS)


def _series(eta: Array, derivative: int) -> Array:
    """``d^derivative/d eta^derivative`` of ``g(eta) = eta/2 + sum_n c_n eta^(2n) / (2n)`` for small eta."""
    square = eta * eta
    total = jnp.zeros_like(eta)
    for n in reversed(range(1, SERIES_TERMS + 1)):  # Horner in eta^2 over constant coefficients
        c = _COEFFICIENTS[n - 1]
        coefficient = (c / (2 * n), c, c * (2 * n - 1))[derivative]
        total = total * square + coefficient
    if derivative == 0:
        return 0.5 * eta + square * total
    if derivative == 1:
        return 0.5 + eta * total
    return total


def _split(eta: Array) -> tuple[Array, Array, Array]:
    small = jnp.abs(eta) < _SERIES_BELOW
    return small, jnp.where(small, eta, 0.0), jnp.where(small, _SERIES_BELOW, eta)


def log_normalizer(eta: Array) -> Array:
    small, near, far = _split(eta)
    direct = jnp.maximum(far, 0.0) + jnp.log(-jnp.expm1(-jnp.abs(far))) - jnp.log(jnp.abs(far))
    return jnp.where(small, _series(near, 0), direct)


def mean(eta: Array) -> Array:
    """``1 / (1 - e^-eta) - 1 / eta``; the first term as ``-1 / expm1(-eta)`` for eta > 0 and
    ``e^eta / expm1(eta)`` for eta < 0, so that neither it nor its derivative overflows."""
    small, near, far = _split(eta)
    positive = far > 0
    upper = -1.0 / jnp.expm1(-jnp.where(positive, far, 1.0))
    lower = jnp.exp(jnp.where(positive, -1.0, far)) / jnp.expm1(jnp.where(positive, -1.0, far))
    return jnp.where(small, _series(near, 1), jnp.where(positive, upper, lower) - 1.0 / far)


def variance(eta: Array) -> Array:
    small, near, far = _split(eta)
    half_sinh = 2.0 * jnp.sinh(0.5 * jnp.minimum(jnp.abs(far), 80.0))
    direct = 1.0 / (far * far) - 1.0 / (half_sinh * half_sinh)
    return jnp.where(small, _series(near, 2), direct)


def _large(eta: Array) -> tuple[Array, Array]:
    """``|eta| >= 1`` and ``|eta|`` replaced by 1 below (the stable forms' domain)."""
    size = jnp.abs(eta)
    return size >= _SERIES_BELOW, jnp.maximum(size, _SERIES_BELOW)


def _excess(a: Array) -> Array:
    """``g(a) - a = log(1 - e^-a) - log a`` for ``a >= 1``."""
    return jnp.log(-jnp.expm1(-a)) - jnp.log(a)


def stable_nll(eta: Array, x: Array) -> Array:
    """``-log q(x) = a d + log(1 - e^-a) - log a`` with ``a = |eta|`` and ``d`` the distance of x from
    the end the density favours (``1 - x`` for eta > 0, x for eta < 0): no ``eta x`` against
    ``g ~ eta`` at large |eta|. The plain form below ``|eta| = 1``."""
    large, a = _large(eta)
    distance = jnp.where(eta > 0, 1.0 - x, x)
    return jnp.where(large, a * distance + _excess(a), log_normalizer(eta) - eta * x)


def stable_entropy(eta: Array) -> Array:
    """``H = 1 - a / expm1(a) + log(1 - e^-a) - log a`` for ``a = |eta| >= 1`` (the entropy is even
    in eta), from ``eta (1 - E[x]) = 1 - eta / expm1(eta)``; the plain ``g - eta E[x]`` below."""
    large, a = _large(eta)
    return jnp.where(large, 1.0 - a / jnp.expm1(a) + _excess(a), log_normalizer(eta) - eta * mean(eta))


def stable_kl(eta_p: Array, eta_q: Array) -> Array:
    """``KL = G(s q) - G(a) + (s q - a)(1 - E_a[x])`` with ``a = |eta_p| >= 1``, ``s = sign(eta_p)``
    (the KL is invariant under ``x -> 1 - x``, which flips both signs) and ``G(eta) = g(eta) - eta``;
    ``1 - E_a[x] = 1/a - 1/expm1(a)``. The plain Bregman form below ``|eta_p| = 1``."""
    large, a = _large(eta_p)
    q = jnp.where(eta_p > 0, eta_q, -eta_q)
    q_large, q_size = _large(q)
    excess_q = jnp.where(q_large & (q > 0), _excess(q_size), log_normalizer(q) - q)
    scaled = excess_q - _excess(a) + (q - a) * (1.0 / a - 1.0 / jnp.expm1(a))
    plain = log_normalizer(eta_q) - log_normalizer(eta_p) - (eta_q - eta_p) * mean(eta_p)
    return jnp.where(large, scaled, plain)


@dataclasses.dataclass(frozen=True)
class ContinuousBernoulli(ExponentialFamily):
    """Continuous Bernoulli (Loaiza-Ganem and Cunningham, 2019): a target ``0 <= x <= 1``.

    * density: ``q(x) = C(lam) lam^x (1 - lam)^(1 - x)`` with ``C(lam) = eta / (2 lam - 1)`` (2 at lam = 1/2);
      support ``0 <= x <= 1``
    * natural parameter (M = 1): ``eta = log(lam / (1 - lam))``, the logit of lam
    * sufficient statistic ``T(x) = x``; carrier ``h = 1``
    * log-normalizer ``g(eta) = log((e^eta - 1) / eta)`` (0 at ``eta = 0``, the uniform distribution)
    * expectation parameter ``E[x] = 1 / (1 - e^-eta) - 1 / eta``
    * source parameter: ``lam``, in (0, 1) (not the mean, except at 1/2)
    * scipy: none (scipy.stats has no continuous Bernoulli)
    * TFP: ``tfd.ContinuousBernoulli(probs=lam)``
    * canonical link ``link(raw)``: the logit itself, ``eta = raw``
    * source head ``source_link(ContinuousBernoulli())``: ``lam = sigmoid(raw)``
    """

    catalogue = (({}, ({"lam": 0.3}, {"lam": 0.5}, {"lam": 0.5 + 0.0001}, {"lam": 0.0001}, {"lam": 0.9999})),)

    @property
    def support(self) -> supports.Support:
        return supports.UnitInterval(closed=True)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("lam", constraints.probability, from_logits=constraints.logit),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, lam: Array) -> Array:
        lam = jnp.asarray(lam)
        return (jnp.log(lam) - jnp.log1p(-lam))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"lam": jax.nn.sigmoid(eta[..., 0])}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return log_normalizer(eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return mean(eta)

    def fisher(self, eta: Array) -> Array:
        return variance(eta)[..., None]

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        u = 2.0 * chi - 1.0
        eta0 = 2.0 * u * (3.0 - u * u) / (4.0 * chi * (1.0 - chi))

        def newton_step(eta: Array) -> Array:
            return eta - (mean(eta) - chi) / variance(eta)

        return iterate.newton(newton_step, eta0, NEWTON_STEPS)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        return stable_nll(eta[..., 0], x)

    def stable_entropy(self, eta: Array) -> Array:
        return stable_entropy(eta[..., 0])

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return stable_kl(eta_p[..., 0], eta_q[..., 0])

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.isfinite(eta[..., 0])

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def link(self, raw: Array) -> Array:
        """The logit itself: eta = raw."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Inverse CDF ``x = log1p(u expm1(eta)) / eta``, as ``1 + log(u + (1 - u) e^-eta) / eta`` for eta > 0."""
        (logit,) = broadcast_to_draws(shape, eta[..., 0])
        u = jax.random.uniform(key, logit.shape, eta.dtype)
        safe = jnp.where(logit == 0, 1.0, logit)
        negative = jnp.log1p(u * jnp.expm1(jnp.minimum(safe, 0.0))) / safe
        positive = 1.0 + jnp.log(u + (1.0 - u) * jnp.exp(-jnp.maximum(safe, 0.0))) / safe
        return jnp.where(logit == 0, u, jnp.where(logit > 0, positive, negative))

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return self.expectation(eta)[..., 0]

    def var(self, eta: Array) -> Array:
        return self.fisher(eta)[..., 0, 0]

    def mode(self, eta: Array) -> Array:
        """1 for ``eta > 0``, 0 for ``eta < 0``; 1/2 for the uniform ``eta = 0`` (any point is a mode)."""
        return jnp.where(eta[..., 0] > 0, 1.0, jnp.where(eta[..., 0] < 0, 0.0, 0.5)).astype(eta.dtype)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``expm1(eta x) / expm1(eta)`` on [0, 1], as ``e^(eta (x - 1)) expm1(-eta x) / expm1(-eta)``
        for ``eta > 0`` (no overflow); x itself at ``eta = 0``."""
        return _cdf(eta[..., 0], jnp.clip(x, 0.0, 1.0))

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x; eta) = P(X <= 1 - x; -eta)`` (``1 - X`` has natural parameter ``-eta``)."""
        return _cdf(-eta[..., 0], 1.0 - jnp.clip(x, 0.0, 1.0))

    def quantile(self, eta: Array, p: Array) -> Array:
        """``log1p(p expm1(eta)) / eta``, except for ``eta < 0`` above ``p = 1/2``, where
        ``log((1 - p) + p e^eta) / eta`` keeps the upper tail (the sum is small there); for
        ``eta > 50`` (``e^eta`` would overflow float32) ``1 + log(p + (1 - p) e^-eta) / eta``; p at
        ``eta = 0``. Clipped to [0, 1] against rounding."""
        logit = eta[..., 0]
        safe = jnp.where(logit == 0, 1.0, logit)
        moderate = jnp.minimum(safe, _QUANTILE_SWITCH)
        direct = jnp.log1p(p * jnp.expm1(moderate))
        upper = jnp.log((1.0 - p) + p * jnp.exp(moderate))
        small = jnp.where((logit < 0) & (p > 0.5), upper, direct) / moderate
        large = 1.0 + jnp.log(p + (1.0 - p) * jnp.exp(-jnp.maximum(safe, _QUANTILE_SWITCH))) / safe
        return jnp.clip(jnp.where(logit == 0, p, jnp.where(logit > _QUANTILE_SWITCH, large, small)), 0.0, 1.0)


_QUANTILE_SWITCH = 50.0


def _cdf(logit: Array, x: Array) -> Array:
    """The cdf at x in [0, 1] (see ``ContinuousBernoulli.cdf``)."""
    safe = jnp.where(logit == 0, 1.0, logit)
    negative = jnp.minimum(safe, 0.0)
    positive = jnp.maximum(safe, 0.0)
    below = jnp.expm1(negative * x) / jnp.expm1(jnp.where(logit < 0, negative, -1.0))
    above = jnp.exp(positive * (x - 1.0)) * jnp.expm1(-positive * x) / jnp.expm1(-jnp.where(logit > 0, positive, 1.0))
    return jnp.where(logit == 0, x, jnp.where(logit < 0, below, above))
