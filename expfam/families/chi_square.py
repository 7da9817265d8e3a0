"""Chi-square with unknown degrees of freedom k > 0: a positive target x > 0.

``q(x) = x^(k/2 - 1) e^(-x/2) / (2^(k/2) Gamma(k/2))``. Parametrisation: ``T(x) = log x``,
``h(x) = e^(-x/2)`` (so ``log h = -x/2``), and the natural parameter ``eta = k/2 - 1 > -1``.
With ``nu = eta + 1 = k/2``: ``g(eta) = lgamma(nu) + nu log 2``; expectation
``E[log x] = digamma(nu) + log 2``; Fisher ``trigamma(nu)``; inverse
``nu = digamma^{-1}(E[log x] - log 2)`` (``special.inverse_digamma``, implicit derivative);
``E[log h] = -E[x]/2 = -nu``. It is the Gamma with shape ``k/2`` and rate ``1/2``, whose
cancellation-free log-probability, entropy and KL it uses.
Documented range: ``2e-4 <= k <= 2e6`` (``nu`` in ``1e-4 .. 1e6``). Near ``k = 2`` eta is
near 0, so eta itself has only absolute accuracy there; k and every expectation keep theirs.
"""

from __future__ import annotations

import dataclasses
import math

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws
from expfam._numerics import special
from expfam._numerics.incomplete_gamma import regularized_gamma
from expfam.families.gamma import Gamma, standard_gamma_quantile

LOG_TWO = math.log(2.0)


def _gamma_natural(eta: Array) -> Array:
    """Natural parameters ``(-1/2, k/2)`` of the same law as a Gamma."""
    return jnp.stack([jnp.full_like(eta[..., 0], -0.5), eta[..., 0] + 1.0], axis=-1)


@dataclasses.dataclass(frozen=True)
class ChiSquare(ExponentialFamily):
    """Chi-square with unknown degrees of freedom ``k > 0``: a positive target ``x > 0``.

    * density: ``q(x) = x^(k/2 - 1) e^(-x/2) / (2^(k/2) Gamma(k/2))``; support ``x > 0``
    * natural parameter (M = 1): ``eta = df / 2 - 1`` (above -1)
    * sufficient statistic ``T(x) = log x``; carrier ``h(x) = e^(-x/2)``
    * log-normalizer ``g(eta) = lgamma(eta + 1) + (eta + 1) log 2``
    * expectation parameter ``E[log x] = digamma(k/2) + log 2``
    * source parameter: ``df = k``; the Gamma with shape ``k/2`` and rate ``1/2``
    * scipy: ``scipy.stats.chi2(df)``
    * TFP: ``tfd.Chi2(df=df)``
    * canonical link ``link(raw)``: ``eta = -1 + softplus(raw) + gap`` (``gap`` the float spacing above -1)
    * source head ``source_link(ChiSquare())``: ``df = positive(raw) = softplus(raw) + tiny``
    """

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue = (({}, ({"df": 3.0}, {"df": 0.2}, {"df": 2.0}, {"df": 2000.0})),)

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("df", constraints.positive),)

    @property
    def num_natural(self) -> int:
        return 1

    def natural_from_source(self, *, df: Array) -> Array:
        return (0.5 * jnp.asarray(df) - 1.0)[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"df": 2.0 * (eta[..., 0] + 1.0)}

    def log_normalizer_formula(self, eta: Array) -> Array:
        nu = eta[..., 0] + 1.0
        return special.lgamma(nu) + nu * LOG_TWO

    def expectation(self, eta: Array) -> Array:
        return special.digamma(eta + 1.0) + LOG_TWO

    def fisher(self, eta: Array) -> Array:
        return special.trigamma(eta + 1.0)[..., None]

    def solve_natural(self, chi: Array) -> Array:
        return special.inverse_digamma(chi - LOG_TWO) - 1.0

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """The Gamma's stable form (no ``lgamma(k/2)`` against ``(k/2 - 1) log x`` for large k)."""
        return Gamma().stable_nll(_gamma_natural(eta), x)

    def stable_entropy(self, eta: Array) -> Array:
        return Gamma().stable_entropy(_gamma_natural(eta))

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return Gamma().stable_kl(_gamma_natural(eta_p), _gamma_natural(eta_q))

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(x)[..., None]

    def log_carrier(self, x: Array) -> Array:
        return -0.5 * x

    def is_natural_valid(self, eta: Array) -> Array:
        return (eta[..., 0] > -1.0) & (eta[..., 0] < jnp.inf)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -(eta[..., 0] + 1.0)

    def link(self, raw: Array) -> Array:
        """``eta = greater_than(raw, -1) = -1 + (softplus(raw) + gap)``: half the degrees of freedom
        ``eta + 1`` is ``softplus(raw)``, floored at the float spacing just above -1 (``gap``,
        ``2^-24`` in float32, ``2^-53`` in float64), so that ``eta > -1`` holds in floating point."""
        return constraints.greater_than(raw, -1.0)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        (nu,) = broadcast_to_draws(shape, eta[..., 0] + 1.0)
        return 2.0 * jnp.exp(jax.random.loggamma(key, nu, nu.shape, eta.dtype))

    # -- summaries (the Gamma with shape ``nu = k / 2`` and rate 1/2) ----------------------------------
    def mean(self, eta: Array) -> Array:
        """``k = 2 nu``."""
        return 2.0 * (eta[..., 0] + 1.0)

    def var(self, eta: Array) -> Array:
        """``2 k = 4 nu``."""
        return 4.0 * (eta[..., 0] + 1.0)

    def mode(self, eta: Array) -> Array:
        """``k - 2`` for ``k >= 2``; 0 below, where the density is unbounded at 0."""
        return jnp.maximum(2.0 * eta[..., 0], 0.0)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(nu, x / 2)`` (0 for x <= 0)."""
        return regularized_gamma(eta[..., 0] + 1.0, 0.5 * jnp.maximum(x, 0.0))[0]

    def survival(self, eta: Array, x: Array) -> Array:
        """``Q(nu, x / 2)``."""
        return regularized_gamma(eta[..., 0] + 1.0, 0.5 * jnp.maximum(x, 0.0))[1]

    def quantile(self, eta: Array, p: Array) -> Array:
        """``2 standard_gamma_quantile(nu, p)``."""
        return 2.0 * standard_gamma_quantile(eta[..., 0] + 1.0, p)
