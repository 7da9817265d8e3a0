"""Inverse gamma: a positive target x > 0 with shape a and scale b.

``q(x) = b^a x^(-a-1) e^(-b/x) / Gamma(a)``. Natural parameters ``eta = (-b, -a)``,
``T(x) = (1/x, log x)``, ``h(x) = 1/x``, ``g(eta) = lgamma(a) - a log b``.
Expectation ``(a / b, log b - digamma(a))``, the second written as
``log(b / a) + (log a - digamma(a))`` (no cancellation for large a); Fisher
``[[a / b^2, -1 / b], [-1 / b, trigamma(a)]]``.

Inverse: ``log E[1/x] + E[log x] = log a - digamma(a)``, the Gamma family's shape equation
(same Newton solver), then ``b = a / E[1/x]``. x ~ InverseGamma(a, b) iff 1/x ~ Gamma(a, rate b).
Documented range: ``1e-4 <= a <= 1e6``, ``1e-6 <= b <= 1e6``.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, broadcast_to_draws, iterative
from expfam._numerics import special
from expfam._numerics.incomplete_gamma import regularized_gamma
from expfam.families.gamma import Gamma, shape_from_log_gap, standard_gamma_quantile


def _gamma_natural(eta: Array) -> Array:
    """Natural parameters ``(-b, a)`` of the Gamma law of ``1/x``."""
    return jnp.stack([eta[..., 0], -eta[..., 1]], axis=-1)


@dataclasses.dataclass(frozen=True)
class InverseGamma(ExponentialFamily):
    """Inverse gamma: a positive target ``x > 0`` with shape a and scale b (``1 / x ~ Gamma(a, rate b)``).

    * density: ``q(x) = b^a x^(-a - 1) e^(-b / x) / Gamma(a)``; support ``x > 0``
    * natural parameters (M = 2): ``eta = (-scale, -shape)``, that is ``(-b, -a)``
    * sufficient statistics ``T(x) = (1 / x, log x)``; carrier ``h(x) = 1 / x``
    * log-normalizer ``g(eta) = lgamma(a) - a log b``
    * expectation parameters ``E[T(x)] = (a / b, log b - digamma(a))``
    * source parameters: ``shape = a``, ``scale = b``
    * scipy: ``scipy.stats.invgamma(shape, scale=scale)``
    * TFP: ``tfd.InverseGamma(concentration=shape, scale=scale)``
    * canonical link ``link(raw)``: ``eta = (-positive(raw_1), -positive(raw_2))``, ``positive = softplus + tiny``
      (scale from the first output, shape from the second, in eta's order)
    * source head ``source_link(InverseGamma())``: ``shape = positive(raw_1)``, ``scale = positive(raw_2)``
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    catalogue = (
        (
            {},
            (
                {"shape": 3.0, "scale": 2.0},
                {"shape": 0.3, "scale": 1.0},
                {"shape": 1000.0, "scale": 1000.0},
                {"shape": 50.0, "scale": 1e-06},
            ),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Positive()

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("shape", constraints.positive), SourceParameter("scale", constraints.positive))

    @property
    def num_natural(self) -> int:
        return 2

    def natural_from_source(self, *, shape: Array, scale: Array) -> Array:
        shape, scale = jnp.broadcast_arrays(jnp.asarray(shape), jnp.asarray(scale))
        return jnp.stack([-scale, -shape], axis=-1)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"shape": -eta[..., 1], "scale": -eta[..., 0]}

    def log_normalizer_formula(self, eta: Array) -> Array:
        scale, shape = -eta[..., 0], -eta[..., 1]
        return special.lgamma(shape) - shape * jnp.log(scale)

    def expectation(self, eta: Array) -> Array:
        scale, shape = -eta[..., 0], -eta[..., 1]
        mean_reciprocal = shape / scale
        mean_log = special.log_minus_digamma(shape) - jnp.log(mean_reciprocal)
        return jnp.stack([mean_reciprocal, mean_log], axis=-1)

    def fisher(self, eta: Array) -> Array:
        scale, shape = -eta[..., 0], -eta[..., 1]
        cross = -1.0 / scale
        rows = [jnp.stack([shape / scale**2, cross], -1), jnp.stack([cross, special.trigamma(shape)], -1)]
        return jnp.stack(rows, axis=-2)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """With ``y = 1/x ~ Gamma(a, rate b)``: ``-log q(x) = -log q_Gamma(1/x) + 2 log x`` (Gamma's stable form)."""
        return Gamma().stable_nll(_gamma_natural(eta), 1.0 / x) + 2.0 * jnp.log(x)

    def stable_entropy(self, eta: Array) -> Array:
        """``H(x) = H_Gamma(y) + 2 E[log x]`` for ``x = 1/y``."""
        return Gamma().stable_entropy(_gamma_natural(eta)) + 2.0 * self.expectation(eta)[..., 1]

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """KL is invariant under ``x -> 1/x``: the Gamma's stable KL."""
        return Gamma().stable_kl(_gamma_natural(eta_p), _gamma_natural(eta_q))

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        mean_reciprocal, mean_log = chi[..., 0], chi[..., 1]
        log_mean_reciprocal = jnp.log(mean_reciprocal)
        # The gap log a - digamma(a) ~ 1/(2a) is a difference of two expectations; below their
        # rounding level (float32, a ~ 1e6) it is taken at that level: the largest shape the
        # expectation parameters can tell apart, which reproduces them to working precision.
        rounding = jnp.finfo(chi.dtype).eps * (jnp.abs(log_mean_reciprocal) + jnp.abs(mean_log))
        shape = shape_from_log_gap(jnp.maximum(log_mean_reciprocal + mean_log, rounding))
        return jnp.stack([-shape / mean_reciprocal, -shape], axis=-1)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.stack([1.0 / x, jnp.log(x)], axis=-1)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.log(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(eta < 0, axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -self.expectation(eta)[..., 1]

    def link(self, raw: Array) -> Array:
        """``(-positive(raw_1), -positive(raw_2))``: scale and shape both softplus."""
        return constraints.negative(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        scale, a = broadcast_to_draws(shape, -eta[..., 0], -eta[..., 1])
        # In log space: a Gamma draw with a tiny shape underflows to 0 in float32, its log does not.
        return jnp.exp(jnp.log(scale) - jax.random.loggamma(key, a, a.shape, eta.dtype))

    # -- summaries (``1 / x ~ Gamma(a, rate b)``) -----------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``b / (a - 1)`` for ``a > 1``, inf otherwise."""
        b, a = -eta[..., 0], -eta[..., 1]
        return jnp.where(a > 1, b / jnp.where(a > 1, a - 1.0, 1.0), jnp.inf)

    def var(self, eta: Array) -> Array:
        """``b^2 / ((a - 1)^2 (a - 2))`` for ``a > 2``, inf otherwise."""
        b, a = -eta[..., 0], -eta[..., 1]
        safe = jnp.where(a > 2, a, 3.0)
        return jnp.where(a > 2, b * b / ((safe - 1.0) ** 2 * (safe - 2.0)), jnp.inf)

    def mode(self, eta: Array) -> Array:
        """``b / (a + 1)``."""
        return eta[..., 0] / (eta[..., 1] - 1.0)

    def _rate_over(self, eta: Array, x: Array) -> Array:
        """``b / x`` (inf for ``x <= 0``)."""
        positive = x > 0
        return jnp.where(positive, -eta[..., 0] / jnp.where(positive, x, 1.0), jnp.inf)

    def cdf(self, eta: Array, x: Array) -> Array:
        """``P(X <= x) = Q(a, b / x)`` (0 for x <= 0)."""
        return regularized_gamma(-eta[..., 1], self._rate_over(eta, x))[1]

    def survival(self, eta: Array, x: Array) -> Array:
        """``P(a, b / x)``."""
        return regularized_gamma(-eta[..., 1], self._rate_over(eta, x))[0]

    def quantile(self, eta: Array, p: Array) -> Array:
        """``b / y`` with ``P(Y > y) = p`` for ``Y ~ Gamma(a, 1)`` (``standard_gamma_quantile``)."""
        return -eta[..., 0] / standard_gamma_quantile(-eta[..., 1], p, upper=True)
