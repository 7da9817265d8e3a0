"""Poisson: a count x in {0, 1, 2, ...} with rate lambda.

``q(x) = lambda^x e^(-lambda) / x!``. ``eta = log lambda``, ``T(x) = x``,
``log h(x) = -log x!``, ``g(eta) = e^eta``. Expectation and Fisher ``e^eta``; inverse
``log E[x]``. ``E[log h] = -E[log x!]`` has no closed form; see
``special.poisson_expected_log_factorial``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, quantiles, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import special
from expfam._numerics.incomplete_gamma import regularized_gamma


@dataclasses.dataclass(frozen=True)
class Poisson(ExponentialFamily):
    """Poisson: a count ``x in {0, 1, 2, ...}`` with rate lambda (Poisson regression).

    * density: ``q(x) = lambda^x e^(-lambda) / x!``; support ``x in {0, 1, ...}``
    * natural parameter (M = 1): ``eta = log(rate)``
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = 1 / x!``
    * log-normalizer ``g(eta) = e^eta``
    * expectation parameter ``E[x] = e^eta = lambda``
    * source parameter: ``rate = lambda``
    * scipy: ``scipy.stats.poisson(rate)``
    * TFP: ``tfd.Poisson(rate=rate)``
    * canonical link ``link(raw)``: the log-rate itself, ``eta = raw`` (the log link of Poisson regression)
    * source head ``source_link(Poisson())``: ``rate = positive(raw) = softplus(raw) + tiny``
    """

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue = (({}, ({"rate": 3.5}, {"rate": 0.01}, {"rate": 400.0})),)

    @property
    def support(self) -> supports.Support:
        return supports.Counts()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("rate", constraints.positive),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, rate: Array) -> Array:
        return jnp.log(jnp.asarray(rate))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"rate": jnp.exp(eta[..., 0])}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return jnp.exp(eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return jnp.exp(eta)

    def fisher(self, eta: Array) -> Array:
        return jnp.exp(eta)[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi)

    def sample_data(self, x: Array) -> Array:
        """``(x, c(x))`` with the part of ``-log p(x)`` that depends on x alone, computed once per
        prepared target: ``c = 1/2 log(2 pi x) + delta(x)`` (``delta`` the Stirling remainder; 0 at 0)."""
        return jnp.stack([x, special.poisson_count_term(x)], axis=-1)

    def stable_nll(self, eta: Array, data: Array) -> Array:
        """``-log p(x)`` in Loader's saddle-point form (``special.poisson_log_pmf``: no ``x log rate``
        terms), with its x-only term read from ``data``."""
        return -special.poisson_log_pmf(data[..., 0], jnp.exp(eta[..., 0]), data[..., 1])

    def stable_entropy(self, eta: Array) -> Array:
        """``special.poisson_entropy``: a sum of positive terms, or its asymptotic expansion."""
        return special.poisson_entropy(jnp.exp(eta[..., 0]))

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``rate_p (e^d - 1 - d)`` with ``d = eta_q - eta_p``."""
        return jnp.exp(eta_p[..., 0]) * special.expm1mx(eta_q[..., 0] - eta_p[..., 0])

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -special.log_factorial_of(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.isfinite(eta[..., 0])

    def expected_log_carrier(self, eta: Array) -> Array:
        return -special.poisson_expected_log_factorial(jnp.exp(eta[..., 0]))

    def link(self, raw: Array) -> Array:
        """The log-rate itself: eta = raw."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (rate,) = broadcast_to_draws(shape, jnp.exp(eta[..., 0]))
        return jax.random.poisson(key, rate, rate.shape).astype(eta.dtype)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = Q(floor(x) + 1, lambda)``, the regularized upper incomplete gamma function (0 for x < 0)."""
        return self._tail(eta, x, False)

    def _tail(self, eta: Array, x: Array, above: Array | bool) -> Array:
        """``survival`` where ``above``, else ``cdf`` (both from one ``regularized_gamma``)."""
        count = jnp.floor(x)
        lower_tail, upper_tail = regularized_gamma(jnp.maximum(count, 0.0) + 1.0, jnp.exp(eta[..., 0]))
        return jnp.where(count >= 0, jnp.where(above, lower_tail, upper_tail), jnp.where(above, 1.0, 0.0))

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return jnp.exp(eta[..., 0])

    def var(self, eta: Array) -> Array:
        return jnp.exp(eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """``floor(lambda)`` (for an integer lambda, ``lambda - 1`` is a mode as well)."""
        return jnp.floor(jnp.exp(eta[..., 0]))

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x) = P(floor(x) + 1, lambda)``, the regularized lower incomplete gamma function (1 for x < 0)."""
        return self._tail(eta, x, True)

    def quantile(self, eta: Array, p: Array) -> Array:
        """The smallest count k with ``P(X <= k) >= p`` (``quantiles.integer_quantile``)."""
        return quantiles.integer_quantile(
            lambda k, above: self._tail(eta, k, above), p, 0.0, jnp.inf, jnp.floor(self.mean(eta))
        )
