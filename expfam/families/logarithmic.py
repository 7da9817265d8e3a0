"""Logarithmic (log-series): a count x in {1, 2, 3, ...} with probability p in (0, 1).

``q(x) = -p^x / (x log(1 - p))``. Natural parameter ``eta = log p < 0``, ``T(x) = x``,
``log h(x) = -log x``, ``g(eta) = log L`` with ``L = -log(1 - p) = -log1mexp(eta)``.
scipy's ``logser(p)`` is the same distribution.

Everything is written through the excess ``s = L / p - 1 = sum_{k >= 1} p^k / (k + 1) >= 0``:
``g = eta + log1p(s)``, the mean ``E[x] = p / ((1 - p) L) = 1 / r`` with ``r = (1 - p)(1 + s)``,
and the variance ``Var[x] = s E[x]^2`` (equal to ``p (L - p) / ((1 - p)^2 L^2)``). For ``p <= 1/2``
the excess comes from ``-log(1 - p) = 2 atanh(v)``, ``v = p / (2 - p) <= 1/3``:
``s = (p + 2 v^2 S) / (2 - p)`` with ``S = sum_j v^(2j) / (2j + 3)`` (a sum of positive terms,
8 terms in float32, 18 in float64), so that nothing cancels as p -> 0 (where ``E[x] - 1`` and the
variance are ``O(p)``); above, ``s = L / p - 1`` with ``L = -log(-expm1(eta))`` (no cancellation:
``s > 0.38``). The same holds for the derivatives of these forms, so autodiff of ``g`` and of the
expectation stays accurate. ``D = 1 - r = 1 - 1 / E[x]`` is ``(p - 2 (1 - p) v^2 S) / (2 - p)``
below ``p = 1/2`` and ``1 - r`` above; ``dD / d eta = s``.

Inverse (expectation -> natural): Newton's method on ``log D(eta) = log(1 - 1 / E[x])`` in eta,
which is increasing and convex, so that from the right of the root the iterates decrease
monotonically onto it (each step is also kept at or above half the current eta, so it stays
negative). Start: ``p0 = 2 D (1 - 2 D / 3 + 2 D^2 / 9)`` (the reverted series of
``D = p / 2 + p^2 / 6 + p^3 / 12 + ...``) for ``D < 0.6``; above, ``u = 1 - p`` from
``u log(1 / u) = r`` with ``log(1 / u) = -W_{-1}(-r) ~ l1 + l2 + l2 / l1`` (``l1 = -log r``,
``l2 = log l1``), ``eta0 = log1p(-u)``. Below ``eta`` of about -16 in float32 (-36 in float64)
the mean ``1 + p/2 + ...`` rounds to exactly 1, the boundary of the expectation domain (its
preimage is ``eta = -inf``), and the inverse returns NaN there; above, the mean's rounding limits
the inverse to a relative accuracy of about ``eps / (E[x] - 1)`` in p (its conditioning).

Expected log carrier. With Frullani's ``log x = int_0^inf (e^-t - e^(-x t)) dt / t`` and the
generating function ``E[e^(-x t)] = L(p e^-t) / L(p)``,
``E[log x] = int_0^inf e^-t (s(p) - s(p e^-t)) / (1 + s(p)) dt / t`` (the integrand is
``(E[x] - 1) t + O(t^2)`` at 0 and ``O(e^-t)`` at infinity; ``s(p) / (1 + s(p))`` is taken out of
the integral, so that it does not underflow for tiny p). The integral is taken over
``sigma = log t`` by the trapezoid rule on ``NODES`` nodes over
``[log(1 - p) - 39, log 40]`` (beyond these ends the integrand is below ``e^-39`` of the result);
for this analytic, exponentially decaying integrand the rule converges geometrically (step at most
0.28 for ``eta >= -1e-12``). The CDF uses the same rule on
``P(X > k) L = sum_{j > k} p^j / j = int_0^inf z^(k + 1) / (1 - z) dt`` with ``z = p e^-t``.

Documented range: ``eta`` in ``[-80, -1e-6]`` in float32 (``p`` from ``2e-35`` to ``1 - 1e-6``),
``[-700, -1e-12]`` in float64.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core import quantiles, supports
from expfam._core.family import Array, broadcast_to_draws, iterative
from expfam._numerics import iterate, special
from expfam.families._log_probability import LogProbability

#: Trapezoid nodes of the expected-log-carrier and CDF integrals (see the module docstring).
NODES = 256
NEWTON_STEPS = 6
_TAIL = 39.0
_T_MAX = 40.0
_LOG_HALF = -math.log(2.0)
_SWITCH = 0.6


@dataclasses.dataclass(frozen=True)
class PositiveCounts(supports.Support):
    """Integers ``1, 2, 3, ...``."""

    description: str = dataclasses.field(init=False, default="x in {1, 2, 3, ...}")
    discrete: bool = dataclasses.field(init=False, default=True)

    @property
    def point(self) -> np.ndarray:
        return np.ones(())

    def contains(self, x: Array, precision: object = None) -> Array:
        return (x >= 1) & (x < jnp.inf) & (x == jnp.floor(x))


def _series_sum(v2: Array) -> Array:
    """``S = sum_j v2^j / (2j + 3)`` for ``v2 <= 1/9`` (truncation below 0.1 ulp)."""
    terms = 18 if v2.dtype == jnp.float64 else 8
    total = jnp.full_like(v2, 1.0 / (2 * terms + 1))
    for j in range(terms - 2, -1, -1):
        total = total * v2 + 1.0 / (2 * j + 3)
    return total


def _parts(log_p: Array) -> tuple[Array, Array]:
    """``(s, log D)`` at ``eta = log_p``: the excess ``L / p - 1`` and ``log(1 - 1 / E[x])``."""
    small = log_p <= _LOG_HALF
    # Each branch sees only arguments in its range (where, not minimum: derivatives stay whole).
    eta_small = jnp.where(small, log_p, _LOG_HALF)
    p = jnp.exp(eta_small)
    q = 2.0 - p
    series = _series_sum((p / q) ** 2)
    p_over_q2 = p / (q * q)
    s_small = (p + 2.0 * p * p_over_q2 * series) / q
    log_d_small = eta_small + jnp.log((1.0 - 2.0 * (1.0 - p) * p_over_q2 * series) / q)
    eta_large = jnp.where(small, _LOG_HALF, log_p)
    log_l = -special.log1mexp(eta_large)
    s_large = log_l * jnp.exp(-eta_large) - 1.0
    log_d_large = special.log1p(jnp.expm1(eta_large) * log_l * jnp.exp(-eta_large))
    return jnp.where(small, s_small, s_large), jnp.where(small, log_d_small, log_d_large)


def _excess(log_p: Array) -> Array:
    return _parts(log_p)[0]


def _trapezoid_nodes(low: Array, high: Array) -> tuple[Array, Array]:
    """Nodes ``sigma`` (trailing axis of ``NODES``) on ``[low, high]`` and the step."""
    fraction = jnp.linspace(0.0, 1.0, NODES, dtype=low.dtype).reshape((1,) * low.ndim + (NODES,))
    return low[..., None] + (high - low)[..., None] * fraction, (high - low) / (NODES - 1)


def _trapezoid(values: Array, step: Array) -> Array:
    return step * (jnp.sum(values, axis=-1) - 0.5 * (values[..., 0] + values[..., -1]))


def _initial(chi: Array) -> Array:
    """Start of the Newton iteration (see the module docstring)."""
    d = (chi - 1.0) / chi
    small = d < _SWITCH
    d_small = jnp.where(small, d, 0.5)
    p0 = 2.0 * d_small * (1.0 - 2.0 / 3.0 * d_small + 2.0 / 9.0 * d_small * d_small)
    r = 1.0 / jnp.where(small, 4.0, chi)
    l1 = -jnp.log(r)
    l2 = jnp.log(l1)
    u = r / (l1 + l2 + l2 / l1)
    return jnp.where(small, jnp.log(p0), special.log1p(-u))


@dataclasses.dataclass(frozen=True)
class Logarithmic(LogProbability):
    """Logarithmic (log-series): a count ``x in {1, 2, 3, ...}`` with probability ``0 < p < 1``.

    * density: ``q(x) = -p^x / (x log(1 - p))``; support ``x in {1, 2, ...}``
    * natural parameter (M = 1): ``eta = log(probability)``, below 0
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = 1 / x``
    * log-normalizer ``g(eta) = log(-log(1 - e^eta))``
    * expectation parameter ``E[x] = p / ((1 - p) (-log(1 - p)))``
    * source parameter: ``probability = p``
    * scipy: ``scipy.stats.logser(probability)``
    * TFP: none (no log-series distribution in TFP)
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Logarithmic())``: ``probability = sigmoid(raw)``
    """

    catalogue = (({}, ({"probability": 0.3}, {"probability": 0.9}, {"probability": 1e-3}, {"probability": 0.999})),)

    @property
    def support(self) -> supports.Support:
        return PositiveCounts()

    def log_normalizer_formula(self, eta: Array) -> Array:
        """``log(-log1mexp(eta))``, as ``eta + log1p(s)`` with the series excess for ``p <= 1/2``."""
        log_p = eta[..., 0]
        small = log_p <= _LOG_HALF
        eta_small = jnp.where(small, log_p, _LOG_HALF)
        below = eta_small + jnp.log1p(_excess(eta_small))
        above = jnp.log(-special.log1mexp(jnp.where(small, _LOG_HALF, log_p)))
        return jnp.where(small, below, above)

    def expectation(self, eta: Array) -> Array:
        """``E[x] = 1 / ((1 - p)(1 + s))``."""
        return 1.0 / (-jnp.expm1(eta) * (1.0 + _excess(eta)))

    def fisher(self, eta: Array) -> Array:
        """``Var[x] = s E[x]^2``."""
        s = _excess(eta)
        mean = 1.0 / (-jnp.expm1(eta) * (1.0 + s))
        return (s * mean * mean)[..., None]

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        mean = chi[..., 0]
        # log D* = log(1 - 1 / E[x]): exact (chi - 1) near 1, log1p for large means.
        near = mean < 2.0
        log_d_target = jnp.where(
            near, jnp.log(mean - 1.0) - jnp.log(mean), special.log1p(-1.0 / jnp.where(near, 2.0, mean))
        )

        def newton_step(log_p: Array) -> Array:
            s, log_d = _parts(log_p)
            step = (log_d - log_d_target) * jnp.exp(log_d) / s
            return jnp.minimum(log_p - step, 0.5 * log_p)

        return iterate.newton(newton_step, _initial(mean), NEWTON_STEPS)[..., None]

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``log x + log1p(s) - (x - 1) eta``: three non-negative terms (``-log q(1) = log1p(s)`` is
        ``O(p)``, where ``g - eta`` would cancel)."""
        log_p = eta[..., 0]
        return jnp.log(x) + jnp.log1p(_excess(log_p)) - (x - 1.0) * log_p

    def stable_entropy(self, eta: Array) -> Array:
        """``log1p(s) - eta (E[x] - 1) + E[log x]`` with ``E[x] - 1 = D E[x]``: non-negative terms
        (the generic ``g - eta E[x] - E[log h]`` cancels to ``O(p log p)`` as p -> 0)."""
        log_p = eta[..., 0]
        s, log_d = _parts(log_p)
        mean = self.expectation(eta)[..., 0]
        return jnp.log1p(s) - log_p * jnp.exp(log_d) * mean - self.expected_log_carrier(eta)

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def expected_log_carrier(self, eta: Array) -> Array:
        """``-E[log x]`` by the trapezoid rule of the module docstring."""
        log_p = eta[..., 0]
        low = special.log1mexp(log_p) - _TAIL
        sigma, step = _trapezoid_nodes(low, jnp.full_like(low, math.log(_T_MAX)))
        t = jnp.exp(sigma)
        s = _excess(log_p)
        # s(p) factored out, so that tiny p (s ~ p / 2 near the smallest normal number) does not
        # underflow inside the integral.
        safe = jnp.where(s > 0, s, 1.0)[..., None]
        integrand = jnp.exp(-t) * (1.0 - _excess(log_p[..., None] - t) / safe)
        return -_trapezoid(integrand, step) * (s / (1.0 + s))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Kemp's mixture: ``x = 1 + floor(log V / log q)`` with ``q = 1 - (1 - p)^U``, U, V uniform.

        Given q, x is geometric on {1, 2, ...} with ``P(x > j) = q^j``; q has density
        ``1 / ((1 - q) L)`` on ``(0, p)``, which mixes to ``p^x / (x L)``.
        """
        (log_p,) = broadcast_to_draws(shape, eta[..., 0])
        u_key, v_key = jax.random.split(key)
        u = jax.random.uniform(u_key, log_p.shape, eta.dtype)
        v = 1.0 - jax.random.uniform(v_key, log_p.shape, eta.dtype)  # in (0, 1]
        log_q = special.log1mexp(u * special.log1mexp(log_p))  # log(1 - (1 - p)^U) <= 0
        return 1.0 + jnp.floor(jnp.log(v) / log_q)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = 1 - P(X > x)`` (``survival``); 0 for x < 1, 1 for x = inf."""
        return self._tail(eta, x, False)

    def _tail(self, eta: Array, x: Array, above: Array | bool) -> Array:
        """``survival`` where ``above``, else ``cdf`` (one evaluation of the survival function)."""
        survival = self.survival(eta, x)
        return jnp.where(above, survival, jnp.clip(1.0 - survival, 0.0, 1.0))

    # -- summaries -----------------------------------------------------------------------------
    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > k)`` with ``k = floor(x)``; 1 for x < 1, 0 for x = inf.

        ``P(X > k) = int_0^inf z^(k + 1) / (1 - z) dt / L`` (``z = p e^-t``) by the trapezoid rule
        over ``sigma = log t`` on ``[log min(1 - p, 1 / (k + 1)) - 39, log(45 / (k + 1))]``.
        """
        log_p, count = jnp.broadcast_arrays(eta[..., 0], jnp.floor(x))
        finite = count < jnp.inf
        k1 = jnp.where(finite, jnp.maximum(count, 0.0), 0.0) + 1.0
        log_u = special.log1mexp(log_p)
        low = jnp.minimum(log_u, -jnp.log(k1)) - _TAIL
        high = jnp.log(45.0 / k1)
        sigma, step = _trapezoid_nodes(low, high)
        log_z = log_p[..., None] - jnp.exp(sigma)
        log_integrand = sigma + k1[..., None] * log_z - special.log1mexp(log_z)
        log_l = jnp.log(-log_u)
        tail = _trapezoid(jnp.exp(log_integrand - log_l[..., None]), step)
        return jnp.where(count >= 1, jnp.where(finite, jnp.clip(tail, 0.0, 1.0), 0.0), 1.0)

    def mean(self, eta: Array) -> Array:
        return self.expectation(eta)[..., 0]

    def var(self, eta: Array) -> Array:
        return self.fisher(eta)[..., 0, 0]

    def mode(self, eta: Array) -> Array:
        """1 (the mass ``p^x / x`` decreases in x)."""
        return jnp.ones_like(eta[..., 0])

    def quantile(self, eta: Array, p: Array) -> Array:
        """The smallest count k with ``P(X <= k) >= p`` (``quantiles.integer_quantile``)."""
        return quantiles.integer_quantile(
            lambda k, above: self._tail(eta, k, above), p, 1.0, jnp.inf, jnp.floor(self.mean(eta))
        )
