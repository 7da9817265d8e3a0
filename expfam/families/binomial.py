"""Binomial with a known number of trials n: a count x in {0, 1, ..., n}.

``q(x) = C(n, x) p^x (1 - p)^(n - x)``. Natural parameter ``eta = logit(p)``, ``T(x) = x``,
``log h(x) = log C(n, x) = -log(n + 1) - lbeta(x + 1, n - x + 1)`` (no difference of large
``lgamma`` values), ``g(eta) = n softplus(eta)``. Expectation ``n sigmoid(eta)``;
Fisher ``n p (1 - p)``; inverse ``eta = log(m) - log(n - m)`` for the mean m.

``E[log h] = sum_{k=0}^{n} q(k) log C(n, k)`` is the exact finite sum (n + 1 terms), and so is
the entropy's value ``-sum_k q(k) log q(k)``; their ``log C(n, k)`` is a table computed once per n
when tracing (``special.log_binomial_table``), not a computation in the compiled program.
``Binomial(1)`` is the Bernoulli. Documented range: logits in ``[-30, 30]``, any n >= 1
(the expected log carrier costs O(n) per evaluation).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import quantiles, supports
from expfam._core.family import Array, broadcast_to_draws
from expfam._numerics import special
from expfam._numerics.incomplete_beta import regularized_beta
from expfam.families._logit import Logit
from expfam.families.bernoulli import logit_kl


def binomial_log_pmf(n: int, log_p: Array, log_q: Array) -> Array:
    """``log(C(n, k) p^k q^(n-k))`` for k = 0..n on a new last axis (``log C(n, k)`` a trace-time
    table, ``special.log_binomial_table``)."""
    shape = (1,) * log_p.ndim + (n + 1,)
    k = jnp.arange(n + 1, dtype=log_p.dtype).reshape(shape)
    log_binomial = jnp.asarray(special.log_binomial_table(n), log_p.dtype).reshape(shape)
    return log_binomial + k * log_p[..., None] + (n - k) * log_q[..., None]


def binomial_expected(n: int, log_p: Array, log_q: Array, f: Array) -> Array:
    """``sum_{k=0}^{n} C(n, k) p^k q^(n-k) f(k)`` for a table ``f`` of n + 1 values (exact sum)."""
    log_pmf = binomial_log_pmf(n, log_p, log_q)
    return jnp.sum(jnp.exp(log_pmf) * f.reshape((1,) * log_p.ndim + (n + 1,)), axis=-1)


def _is_count(x: Array, n: float) -> Array:
    return (x >= 0) & (x <= n) & (x == jnp.floor(x))


@dataclasses.dataclass(frozen=True)
class Binomial(Logit):
    """Binomial with ``num_trials = n`` known: a count ``x in {0, 1, ..., n}``.

    * density: ``q(x) = C(n, x) p^x (1 - p)^(n - x)``; support ``x in {0, ..., n}``
    * natural parameter (M = 1): ``eta = log(probability / (1 - probability))``, the logit of p
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = C(n, x)``
    * log-normalizer ``g(eta) = n softplus(eta)``
    * expectation parameter ``E[x] = n sigmoid(eta) = n p``
    * source parameter: ``probability = p``, the success probability of one trial
    * scipy: ``scipy.stats.binom(num_trials, probability)``
    * TFP: ``tfd.Binomial(total_count=num_trials, probs=probability)``
    * canonical link ``link(raw)``: the logit itself, ``eta = raw``
    * source head ``source_link(Binomial(n))``: ``probability = sigmoid(raw)``
    """

    num_trials: int
    catalogue = (
        ({"num_trials": 1}, ({"probability": 0.3},)),
        ({"num_trials": 20}, ({"probability": 0.3}, {"probability": 1e-06}, {"probability": 0.999})),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Counts(self.num_trials)

    def __post_init__(self) -> None:
        if not self.num_trials >= 1:
            raise ValueError(f"Binomial: num_trials must be >= 1, got {self.num_trials}")

    def log_normalizer_formula(self, eta: Array) -> Array:
        return self.num_trials * jax.nn.softplus(eta[..., 0])

    def expectation(self, eta: Array) -> Array:
        return self.num_trials * jax.nn.sigmoid(eta)

    def fisher(self, eta: Array) -> Array:
        return (self.num_trials * jax.nn.sigmoid(eta) * jax.nn.sigmoid(-eta))[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi) - jnp.log(self.num_trials - chi)

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return special.log_binomial(jnp.asarray(self.num_trials, x.dtype), x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.isfinite(eta[..., 0])

    def expected_log_carrier(self, eta: Array) -> Array:
        n = self.num_trials
        logits = eta[..., 0]
        table = jnp.asarray(special.log_binomial_table(n), eta.dtype)
        return binomial_expected(n, jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits), table)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``x softplus(-eta) + (n - x) softplus(eta) - log C(n, x)``: non-negative terms from the
        logit, no ``n softplus(eta)`` against ``eta x`` (p near 0 or 1)."""
        logit = eta[..., 0]
        n = self.num_trials
        return x * special.log1pexp(-logit) + (n - x) * special.log1pexp(logit) - self.log_carrier(x)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``n`` times the Bernoulli divergence (``bernoulli.logit_kl``)."""
        return self.num_trials * logit_kl(eta_p[..., 0], eta_q[..., 0])

    def stable_entropy(self, eta: Array) -> Array:
        """``-sum_k q(k) log q(k)``, the exact sum of n + 1 non-negative terms (no ``n softplus(eta)``
        against ``eta E[x]`` at large logits)."""
        logits = eta[..., 0]
        log_pmf = binomial_log_pmf(self.num_trials, jax.nn.log_sigmoid(logits), jax.nn.log_sigmoid(-logits))
        return -jnp.sum(jnp.exp(log_pmf) * log_pmf, axis=-1)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = I_{1-p}(n - k, k + 1)`` for ``k = floor(x)`` in ``0 .. n - 1``, the regularized
        incomplete beta function with ``1 - p = sigmoid(-eta)`` and ``p = sigmoid(eta)`` (no subtraction,
        see ``incomplete_beta.regularized_beta``); 0 for x < 0, 1 for x >= n."""
        return self._tail(eta, x, False)

    def _tail(self, eta: Array, x: Array, above: Array | bool) -> Array:
        """``survival`` where ``above``, else ``cdf``: one incomplete beta with reflected arguments."""
        n = self.num_trials
        count = jnp.floor(x)
        k = jnp.clip(count, 0.0, n - 1.0)
        logits = eta[..., 0]
        successes, failures = k + 1.0, n - k
        p, q = jax.nn.sigmoid(logits), jax.nn.sigmoid(-logits)
        value = regularized_beta(
            jnp.where(above, successes, failures),
            jnp.where(above, failures, successes),
            jnp.where(above, p, q),
            jnp.where(above, q, p),
        )
        below_support = jnp.where(above, 1.0, 0.0)
        return jnp.where(count < 0, below_support, jnp.where(count >= n, 1.0 - below_support, value))

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (p,) = broadcast_to_draws(shape, jax.nn.sigmoid(eta[..., 0]))
        return jax.random.binomial(key, float(self.num_trials), p, p.shape, eta.dtype)

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return self.num_trials * jax.nn.sigmoid(eta[..., 0])

    def var(self, eta: Array) -> Array:
        """``n p (1 - p)``, both from the logit."""
        return self.num_trials * jax.nn.sigmoid(eta[..., 0]) * jax.nn.sigmoid(-eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """``floor((n + 1) p)`` (capped at n; where ``(n + 1) p`` is an integer, one less is a mode too)."""
        return jnp.minimum(jnp.floor((self.num_trials + 1) * jax.nn.sigmoid(eta[..., 0])), self.num_trials)

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x) = I_p(k + 1, n - k)`` for ``k = floor(x)`` in ``0 .. n - 1`` (``regularized_beta``);
        1 for x < 0, 0 for x >= n."""
        return self._tail(eta, x, True)

    def quantile(self, eta: Array, p: Array) -> Array:
        """The smallest count k with ``P(X <= k) >= p`` (``quantiles.integer_quantile``)."""
        return quantiles.integer_quantile(
            lambda k, above: self._tail(eta, k, above),
            p,
            0.0,
            float(self.num_trials),
            jnp.floor(self.mean(eta)),
        )
