"""Bernoulli: a binary label x in {0, 1}.

``q(x) = p^x (1 - p)^(1 - x)``. Natural parameter ``eta = logit(p)``, ``T(x) = x``,
``g(eta) = softplus(eta) = log(1 + e^eta)``, ``h(x) = 1``.
Expectation ``sigmoid(eta) = p``; Fisher ``p (1 - p)``. The cross-entropy with a label
is the sigmoid binary cross-entropy.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import supports
from expfam._core.family import Array, broadcast_to_draws
from expfam._numerics import special
from expfam.families._logit import Logit


@jax.custom_jvp
def _probability(logit: Array) -> Array:
    """``sigmoid(logit)``, whose derivative is ``sigmoid(logit) sigmoid(-logit)``: autodiff's
    ``s (1 - s)`` rounds ``1 - s`` to 0 for logits above 17 (float32), which made the Hessian
    of the loss 0 there instead of the Fisher information. Written with ``e = exp(-|logit|)`` as
    ``1 / (1 + e)`` or ``e / (1 + e)``: the loss evaluates the same ``e``, so a value and gradient
    evaluate one exponential per row."""
    e = jnp.exp(-jnp.abs(logit))
    return jnp.where(logit >= 0, 1.0, e) / (1.0 + e)


_probability.defjvps(lambda tangent, _, logit: tangent * jax.nn.sigmoid(logit) * jax.nn.sigmoid(-logit))


def _softplus_difference(x: Array, y: Array) -> Array:
    """``softplus(x) - softplus(y)``: ``log1p(sigmoid(y) expm1(x - y))`` for ``|x - y| < 1`` (relative
    accuracy as ``x -> y``), the plain difference beyond (no cancellation by more than e)."""
    near = jnp.abs(x - y) < 1.0
    d = jnp.where(near, x - y, 0.0)
    return jnp.where(near, jnp.log1p(jax.nn.sigmoid(y) * jnp.expm1(d)), special.log1pexp(x) - special.log1pexp(y))


def logit_kl(logit_p: Array, logit_q: Array) -> Array:
    """``KL(Bernoulli(sigmoid(a)) || Bernoulli(sigmoid(b)))`` for logits a, b as two non-negative
    terms, ``p E(q/p) + (1 - p) E((1 - q)/(1 - p))`` with ``E(z) = z - 1 - log z``: with
    ``w = log z`` each is ``expm1mx(w)`` times the probability, the log-ratios ``w`` from
    ``_softplus_difference`` (accurate as ``b -> a``). No ``softplus(b) - softplus(a)`` against
    ``(b - a) p`` (terms of size |a| cancelling to ``e^-|a|``). Logits are mirrored to ``a >= 0``
    (swapping the outcomes changes nothing), so ``log(q/p) <= log 2``; where ``(1 - q)/(1 - p)``
    exceeds ``e^10`` the second term is ``(1 - q) - (1 - p)(1 + w)`` (no overflow of ``e^w``)."""
    flip = logit_p < 0
    a, b = jnp.where(flip, -logit_p, logit_p), jnp.where(flip, -logit_q, logit_q)
    w1, w0 = _softplus_difference(-a, -b), _softplus_difference(a, b)
    moderate = w0 < 10.0
    tail = jax.nn.sigmoid(-b) - jax.nn.sigmoid(-a) * (1.0 + w0)
    second = jnp.where(moderate, jax.nn.sigmoid(-a) * special.expm1mx(jnp.where(moderate, w0, 0.0)), tail)
    return jax.nn.sigmoid(a) * special.expm1mx(w1) + second


@dataclasses.dataclass(frozen=True)
class Bernoulli(Logit):
    """Bernoulli: a binary label ``x in {0, 1}``; its cross-entropy is the sigmoid binary cross-entropy.

    * density: ``q(x) = p^x (1 - p)^(1 - x)``; support ``x in {0, 1}``
    * natural parameter (M = 1): ``eta = log(probability / (1 - probability))``, the logit of p
    * sufficient statistic ``T(x) = x``; carrier ``h(x) = 1``
    * log-normalizer ``g(eta) = softplus(eta) = log(1 + e^eta)``
    * expectation parameter ``g'(eta) = E[x] = sigmoid(eta) = p``
    * source parameter: ``probability = p``, the probability of ``x = 1``
    * scipy: ``scipy.stats.bernoulli(probability)``
    * TFP: ``tfd.Bernoulli(probs=probability)``
    * canonical link ``link(raw)``: the logit itself, ``eta = raw``
    * source head ``source_link(Bernoulli())``: ``probability = sigmoid(raw)``
    """

    catalogue = (({}, ({"probability": 0.3}, {"probability": 0.97}, {"probability": 0.001})),)

    @property
    def support(self) -> supports.Support:
        return supports.Counts(1)

    def log_normalizer_formula(self, eta: Array) -> Array:
        # softplus as max(eta, 0) + log1p(exp(-|eta|)): exact for every eta (inf and nan
        # included) and cheaper on XLA:CPU than jax.nn.softplus's logaddexp (bench/losses.py).
        z = eta[..., 0]
        return jnp.maximum(z, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(z)))

    def expectation(self, eta: Array) -> Array:
        return _probability(eta)

    def fisher(self, eta: Array) -> Array:
        p = jax.nn.sigmoid(eta)
        return (p * jax.nn.sigmoid(-eta))[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi) - jnp.log1p(-chi)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``softplus((1 - 2x) eta)``: ``softplus(-eta)`` for x = 1 without ``softplus(eta) - eta``,
        written as ``max((1 - 2x) eta, 0) + log1p(exp(-|eta|))`` (``|(1 - 2x) eta| = |eta|`` for
        x in {0, 1}): the exponential is the one the gradient's ``sigmoid(eta)`` reads."""
        z = eta[..., 0]
        return jnp.maximum((1.0 - 2.0 * x) * z, 0.0) + jnp.log1p(jnp.exp(-jnp.abs(z)))

    def stable_entropy(self, eta: Array) -> Array:
        """``p softplus(-eta) + (1 - p) softplus(eta)``: two non-negative terms."""
        logit = eta[..., 0]
        return jax.nn.sigmoid(logit) * jax.nn.softplus(-logit) + jax.nn.sigmoid(-logit) * jax.nn.softplus(logit)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``logit_kl``: the small probability times the logit difference, no terms of size |eta|."""
        return logit_kl(eta_p[..., 0], eta_q[..., 0])

    def sufficient_statistics(self, x: Array) -> Array:
        return x[..., None]

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return ~jnp.isnan(eta[..., 0])

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (logits,) = broadcast_to_draws(shape, eta[..., 0])
        draws = jax.random.bernoulli(key, jax.nn.sigmoid(logits), logits.shape)
        return draws.astype(eta.dtype)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x)``: 0 for x < 0, ``1 - p = sigmoid(-eta)`` for 0 <= x < 1, 1 from 1 on."""
        return jnp.where(x < 0, 0.0, jnp.where(x < 1, jax.nn.sigmoid(-eta[..., 0]), 1.0))

    # -- summaries -----------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        return jax.nn.sigmoid(eta[..., 0])

    def var(self, eta: Array) -> Array:
        """``p (1 - p)``, both from the logit."""
        return jax.nn.sigmoid(eta[..., 0]) * jax.nn.sigmoid(-eta[..., 0])

    def mode(self, eta: Array) -> Array:
        """1 if ``p > 1/2``, else 0 (0 at ``p = 1/2``, where both are modes)."""
        return jnp.where(eta[..., 0] > 0, 1.0, 0.0).astype(eta.dtype)

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(X > x)``: 1 for x < 0, ``p = sigmoid(eta)`` for 0 <= x < 1, 0 from 1 on."""
        return jnp.where(x < 0, 1.0, jnp.where(x < 1, jax.nn.sigmoid(eta[..., 0]), 0.0))

    def quantile(self, eta: Array, p: Array) -> Array:
        """0 for ``p <= 1 - prob`` (compared as ``1 - p >= prob`` above 1/2), else 1."""
        zero = jnp.where(p <= 0.5, p <= jax.nn.sigmoid(-eta[..., 0]), 1.0 - p >= jax.nn.sigmoid(eta[..., 0]))
        return jnp.where(jnp.isnan(p), jnp.nan, jnp.where(zero, 0.0, 1.0)).astype(eta.dtype)
