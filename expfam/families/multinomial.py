"""Multinomial with a known number of trials n over ``num_classes`` = K classes: a count vector.

``q(x) = n! / prod_k x_k! prod_k p_k^(x_k)`` for counts ``x_k >= 0`` with ``sum_k x_k = n``.
Natural parameters are the K logits (over-complete, as for the Categorical: adding a
constant to every logit changes nothing), ``T(x) = x`` (all K counts, taken whole),
``g(eta) = n logsumexp(eta)``, ``log h(x) = log n! - sum_k log x_k!``, evaluated as the
chain of binomial coefficients ``sum_k log C(n - x_1 - ... - x_{k-1}, x_k)`` (each by
``lbeta``, no difference of large ``lgamma`` values). Expectation ``n softmax(eta)``; Fisher
``n (diag(p) - p p^T)`` (``categorical.softmax_fisher``). ``natural_from_expectation`` returns ``log(chi / n)``, the
representative with ``logsumexp = 0``.

``E[log h] = log n! - sum_k E[log x_k!]`` with ``x_k ~ Binomial(n, p_k)`` marginally: exact
finite sums of n + 1 terms per class. The entropy's value is a sum of Poisson terms in Loader's
form (``stable_entropy``), the KL's a sum of non-negative terms (``stable_kl``): neither cancels
terms of size n log n. ``Multinomial(1, K)`` is the Categorical on one-hot
vectors. Documented range: logits in ``[-30, 30]``, any n >= 1 (O(n K) per expected log carrier).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter
from expfam._numerics import special
from expfam.families.binomial import binomial_expected
from expfam.families.categorical import softmax_fisher, softmax_kl


@dataclasses.dataclass(frozen=True)
class Multinomial(ExponentialFamily):
    """Multinomial with ``num_trials = n`` known over ``num_classes = K`` classes: a count vector.

    * density: ``q(x) = n! / prod_k x_k! prod_k p_k^(x_k)``; support: counts ``x_k >= 0`` with ``sum_k x_k = n``
    * natural parameters (M = K): ``eta = log(probabilities)``, the logits (over-complete, as the Categorical's)
    * sufficient statistics ``T(x) = x`` (all K counts); carrier ``h(x) = n! / prod_k x_k!``
    * log-normalizer ``g(eta) = n logsumexp(eta)``
    * expectation parameters ``E[x] = n softmax(eta) = n p``
    * source parameters: ``probabilities = p``, K probabilities summing to 1
    * scipy: ``scipy.stats.multinomial(num_trials, probabilities)``
    * TFP: ``tfd.Multinomial(total_count=num_trials, probs=probabilities)``
    * canonical link ``link(raw)``: the logits themselves, ``eta = raw``
    * source head ``source_link(Multinomial(n, K))``: ``probabilities = softmax(raw)``
    """

    num_trials: int
    num_classes: int
    catalogue = (
        (
            {"num_trials": 10, "num_classes": 3},
            ({"probabilities": [0.2, 0.3, 0.5]}, {"probabilities": [0.001, 0.001, 0.998]}),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.CountVectors(self.num_trials, self.num_classes)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (
            SourceParameter(
                "probabilities", constraints.probabilities, self.num_classes, from_logits=constraints.log_probabilities
            ),
        )

    def __post_init__(self) -> None:
        if self.num_trials < 1 or self.num_classes < 2:
            raise ValueError(f"Multinomial: need num_trials >= 1 and num_classes >= 2, got {self}")

    @property
    def num_natural(self) -> int:
        return self.num_classes

    def natural_from_source(self, *, probabilities: Array) -> Array:
        return jnp.log(jnp.asarray(probabilities))

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"probabilities": jax.nn.softmax(eta, axis=-1)}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return self.num_trials * jax.nn.logsumexp(eta, axis=-1)

    def expectation(self, eta: Array) -> Array:
        return self.num_trials * jax.nn.softmax(eta, axis=-1)

    def fisher(self, eta: Array) -> Array:
        return self.num_trials * softmax_fisher(eta)

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi / self.num_trials)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``n`` times the Categorical KL (``categorical.softmax_kl``: non-negative terms, no
        difference of log-softmaxes, which n would multiply)."""
        return self.num_trials * softmax_kl(eta_p, eta_q)

    def sufficient_statistics(self, x: Array) -> Array:
        return x

    def log_carrier(self, x: Array) -> Array:
        remaining = self.num_trials - (jnp.cumsum(x, axis=-1) - x)
        return jnp.sum(special.log_binomial(remaining, x), axis=-1)

    def is_natural_valid(self, eta: Array) -> Array:
        """Every finite logit vector (the base class rules out +-inf and NaN)."""
        return jnp.ones(eta.shape[:-1], bool)

    def _class_log_probabilities(self, eta: Array) -> tuple[Array, Array]:
        """``log p_k`` and ``log(1 - p_k)``, the latter as logsumexp over the other classes minus
        logsumexp over all (no ``1 - p_k``)."""
        k = self.num_classes
        diagonal = jnp.eye(k, dtype=bool).reshape((1,) * (eta.ndim - 1) + (k, k))
        others = jnp.where(diagonal, -jnp.inf, eta[..., None, :])
        log_q = jax.nn.logsumexp(others, axis=-1) - jax.nn.logsumexp(eta, axis=-1, keepdims=True)
        return jax.nn.log_softmax(eta, axis=-1), log_q

    def expected_log_carrier(self, eta: Array) -> Array:
        n = self.num_trials
        log_p, log_q = self._class_log_probabilities(eta)
        log_factorials = jnp.asarray(special.log_factorial_table(n), eta.dtype)
        expected = binomial_expected(n, log_p, log_q, log_factorials)
        return log_factorials[n] - jnp.sum(expected, axis=-1)

    def stable_entropy(self, eta: Array) -> Array:
        """``H = sum_k E[A_k(x_k)] - c(n)`` with ``x_k ~ Binomial(n, p_k)`` and ``A_k(j) = -log Pois(j; n p_k)``.

        With ``m_k = n p_k`` summing to n, ``-log q(x) = sum_k -log Pois(x_k; m_k) + log Pois(n; n)``
        exactly (the ``e^-m_k`` multiply to ``e^-n``, the ``n^(x_k)`` to ``n^n``). Every Poisson term
        is in Loader's form: ``-log Pois(j; m) = j E(m / j) + c(j)`` (``m`` at ``j = 0``), ``E =
        log_ratio_excess >= 0`` and the count term ``c(j) = 1/2 log(2 pi j) + delta(j)``
        (``special.poisson_count_term``), so the terms of size ``n log n`` of ``g - eta . chi -
        E[log h]`` cancel analytically. ``-log Pois(n; n) = c(n)`` goes into the most probable
        class's table as ``c(j) - c(n)`` (0 at ``j = n``): where one class holds nearly all the mass,
        nothing of size ``log n`` cancels. The binomial weights come from the same pieces,
        ``log b_k(j) = c(n) - A_k(j) - B_k(n - j)`` with ``B_k(i) = -log Pois(i; n (1 - p_k))``, so
        they too are accurate to a few ulps at any n. Exact sums of ``n + 1`` terms per class.
        """
        n = self.num_trials
        log_p, log_q = self._class_log_probabilities(eta)
        j = jnp.arange(n + 1, dtype=eta.dtype).reshape((1,) * eta.ndim + (n + 1,))
        count = special.poisson_count_term(j)
        count_n = count[..., n:]
        j1 = jnp.maximum(j, 1.0)

        def neg_log_poisson(rate: Array) -> Array:
            """``-log Pois(j; rate)`` for j = 0..n on a new last axis (Loader's form, without ``c(j)``)."""
            rate = rate[..., None]
            return jnp.where(j >= 1, j1 * special.log_ratio_excess(rate / j1, (rate - j1) / j1), rate)

        a = neg_log_poisson(n * jnp.exp(log_p)) + count
        b = jnp.flip(neg_log_poisson(n * jnp.exp(log_q)) + count, axis=-1)
        weights = jnp.exp(count_n - a - b)
        top = jax.nn.one_hot(jnp.argmax(log_p, axis=-1), self.num_classes, dtype=eta.dtype)[..., None]
        # A class whose p_k (or 1 - p_k) underflows to 0 has weight 0 where A (or B) is +inf.
        terms = jnp.where(weights > 0, a - top * count_n, 0.0)
        return jnp.sum(weights * terms, axis=(-2, -1))

    def link(self, raw: Array) -> Array:
        """The logits themselves: eta = raw."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        # Counts of num_trials categorical draws (jax.random.multinomial's shape convention
        # differs between jax releases).
        labels = jax.random.categorical(key, eta, axis=-1, shape=(self.num_trials, *shape, *eta.shape[:-1]))
        return jnp.sum(jax.nn.one_hot(labels, self.num_classes, dtype=eta.dtype), axis=0)

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``n p``."""
        return self.expectation(eta)

    def covariance(self, eta: Array) -> Array:
        """``n (diag(p) - p p^T)``."""
        return self.fisher(eta)

    def mode(self, eta: Array) -> Array:
        """The most probable count vector (ties to the lowest class index).

        ``log q(x)`` is a sum of discretely concave terms ``x_k log p_k - log x_k!`` under
        ``sum_k x_k = n``, so adding one count at a time where the gain ``log p_k - log(x_k + 1)``
        is largest reaches the mode. It starts from ``floor(n p)`` (lowered by a few ulps), which
        lies at or below the mode in every coordinate, so at most K counts are left to place.
        """
        log_p = jax.nn.log_softmax(eta, axis=-1)
        eps = jnp.finfo(eta.dtype).eps
        start = jnp.floor(self.num_trials * jnp.exp(log_p) * (1.0 - 4.0 * eps))

        def place(_: int, x: Array) -> Array:
            left = self.num_trials - jnp.sum(x, axis=-1, keepdims=True)
            best = jnp.argmax(log_p - jnp.log1p(x), axis=-1)
            return x + jnp.where(left > 0, jax.nn.one_hot(best, self.num_classes, dtype=x.dtype), 0.0)

        return jax.lax.fori_loop(0, self.num_classes, place, start)
