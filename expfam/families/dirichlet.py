"""Dirichlet over ``num_classes`` = K coordinates: a probability vector (composition) target.

``q(x) = Gamma(a0) / prod_k Gamma(a_k) prod_k x_k^(a_k - 1)`` on the open simplex, with
concentrations ``a_k > 0`` and ``a0 = sum_k a_k``. Natural parameters ``eta = a`` (the
concentrations), ``T(x) = log x`` (all K coordinates, taken whole), ``log h(x) = -sum_k log x_k``,
``g(a) = sum_k lgamma(a_k) - lgamma(a0)``. Expectation
``E[log x_k] = digamma(a_k) - digamma(a0)``, evaluated as
``-log1p(others_k / a_k) - (log a_k - digamma(a_k)) + (log a0 - digamma(a0))`` with
``others_k = a0 - a_k`` summed directly (no subtraction); Fisher
``diag(trigamma(a_k)) - trigamma(a0) 1 1^T``.

Inverse (expectation -> natural): Newton's method on ``u = log a`` for
``digamma(a_k) - digamma(a0) = c_k``, whose Jacobian ``diag(trigamma(a)) - trigamma(a0) 1 1^T``
(diagonal plus rank one) is inverted by the Sherman-Morrison formula in O(K). The
Sherman-Morrison denominator ``1/trigamma(a0) - sum_k 1/trigamma(a_k)`` (a near-cancellation,
``(K - 1)/2`` against terms of size ``a0``) is evaluated as
``sum_k a_k (phi(a0) - phi(a_k))`` with ``phi(a) = 1 / (a trigamma(a))`` (a sum of positive
terms), each difference written in the form that keeps its digits (see ``_phi_gap``).
Initialisation (after Minka, *Estimating a Dirichlet distribution*, 2000): with the gap
``s = -log sum_k exp(c_k) > 0``, ``a0 = (K - 1) k0(s)`` where ``k0`` is the Gamma family's
closed-form guess (exact in both limits: ``s ~ (K - 1) / (2 a0)`` for large and
``s ~ (K - 1) / a0`` for small concentrations), then ``a_k = digamma^{-1}(c_k + digamma(a0))``
by Minka's approximation ``exp(y) + 1/2`` (``y >= -2.22``) or ``-1 / (y + digamma(1))``.

Documented range: concentrations ``1e-4 <= a_k <= 1e6`` (any mixture), K >= 2.
In float32 a Dirichlet sample whose coordinate underflows to 0 (tiny concentrations) is
outside the open simplex, so its log-probability is -inf; this is a limit of representing
x itself, not of the loss.

Targets: floating arrays of shape ``batch + (K,)`` with positive coordinates summing to 1
(to within ``sqrt(eps)``; they are not renormalized).
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp

from expfam import _links, _solve, _special
from expfam._family import Array, ExponentialFamily
from expfam._special import digamma, lgamma

NEWTON_STEPS = 8
_EULER_GAMMA = 0.5772156649015329
_INVERSE_DIGAMMA_STEPS = 4
_LOG_TOTAL_BRACKET = (-16.2, 23.1)
_BISECTION_STEPS = 24
_MAX_LOG_STEP = 2.0


def _exclusive_sums(a: Array) -> Array:
    """``sum_{j != k} a_j`` per coordinate, from prefix and suffix sums (no subtraction)."""
    zero = jnp.zeros_like(a[..., :1])
    prefix = jnp.concatenate([zero, jnp.cumsum(a[..., :-1], axis=-1)], axis=-1)
    suffix = jnp.flip(jnp.concatenate([zero, jnp.cumsum(jnp.flip(a[..., 1:], -1), axis=-1)], axis=-1), -1)
    return prefix + suffix


def log_normalizer(a: Array) -> Array:
    """``sum_k lgamma(a_k) - lgamma(sum_k a_k)``.

    The telescoping sum of log-beta functions would avoid the cancellation between large
    ``lgamma`` values, but JAX's ``betaln`` loses 8 digits in float64 for unequal small
    arguments, so the direct sum is used (absolute error about ``eps lgamma(a0)``).
    """
    return jnp.sum(lgamma(a), axis=-1) - lgamma(jnp.sum(a, axis=-1))


def mean_log(a: Array) -> Array:
    """``E[log x_k] = digamma(a_k) - digamma(a0)`` without cancellation for large concentrations."""
    total = jnp.sum(a, axis=-1, keepdims=True)
    return (
        -jnp.log1p(_exclusive_sums(a) / a)
        - _special.log_minus_digamma(a)
        + _special.log_minus_digamma(jnp.broadcast_to(total, a.shape))
    )


def fisher(a: Array) -> Array:
    """``diag(trigamma(a_k)) - trigamma(a0) 1 1^T``."""
    total = jnp.sum(a, axis=-1)
    diagonal = jnp.vectorize(jnp.diag, signature="(k)->(k,k)")(_special.trigamma(a))
    return diagonal - _special.trigamma(total)[..., None, None]


def _phi_gap(a: Array, total: Array) -> Array:
    """``phi(a0) - phi(a_k)`` for ``phi(a) = 1 / (a trigamma(a))``, increasing from 0 to 1.

    Below ``a0 = 1`` the difference of ``phi`` itself (``phi(a) ~ a`` keeps relative digits);
    above, the difference of ``1 - phi(a) = (trigamma(a) - 1/a) / trigamma(a) ~ 1/(2a)``.
    """
    total = jnp.broadcast_to(total, a.shape)

    def phi(x: Array) -> Array:
        return 1.0 / (x * _special.trigamma(x))

    def one_minus_phi(x: Array) -> Array:
        return _special.trigamma_minus_reciprocal(x) / _special.trigamma(x)

    return jnp.where(total < 1.0, phi(total) - phi(a), one_minus_phi(a) - one_minus_phi(total))


def inverse_digamma(y: Array) -> Array:
    """``digamma^{-1}(y)``: Minka's guess ``exp(y) + 1/2`` (``y >= -2.22``) or ``-1 / (y - digamma(1))``,
    then Newton steps on ``log a`` (``digamma(exp(v))`` is increasing and concave in v for small a,
    nearly linear for large a, so the steps converge monotonically after the first)."""
    guess = jnp.where(y >= -2.22, jnp.exp(jnp.minimum(y, 80.0)) + 0.5, -1.0 / (jnp.minimum(y, -2.22) + _EULER_GAMMA))

    def newton_step(v: Array) -> Array:
        a = jnp.exp(v)
        return v - (digamma(a) - y) / (a * _special.trigamma(a))

    return jnp.exp(_solve.newton(newton_step, jnp.log(guess), _INVERSE_DIGAMMA_STEPS))


def _initial_concentration(c: Array) -> Array:
    """Minka-style guess: ``a_k = psi^{-1}(c_k + digamma(a0))`` with the approximate inverse.

    The total ``a0`` solves the scalar equation ``sum_k psi^{-1}(c_k + digamma(a0)) = a0``
    (decreasing in ``log a0`` less increasing, one root), bracketed by ``log a0`` in
    ``[log 1e-7, log 1e10]`` and located by a fixed number of bisection steps.
    """

    def excess(log_total: Array) -> Array:
        total = jnp.exp(log_total)
        return jnp.sum(inverse_digamma(c + digamma(total)), axis=-1, keepdims=True) - total

    def bisect(_: int, bracket: tuple[Array, Array]) -> tuple[Array, Array]:
        low, high = bracket
        middle = 0.5 * (low + high)
        above = excess(middle) > 0
        return jnp.where(above, middle, low), jnp.where(above, high, middle)

    low = jnp.full_like(c[..., :1], _LOG_TOTAL_BRACKET[0])
    high = jnp.full_like(c[..., :1], _LOG_TOTAL_BRACKET[1])
    low, high = jax.lax.fori_loop(0, _BISECTION_STEPS, bisect, (low, high))
    return inverse_digamma(c + digamma(jnp.exp(0.5 * (low + high))))


def concentration_from_mean_log(c: Array) -> Array:
    """Solve ``digamma(a_k) - digamma(sum a) = c_k`` for a > 0 (Newton on log a; see module doc).

    Returns the iterate with the smallest scaled residual ``max_k |r_k| / (|c_k| + 1)``: in float32,
    large concentrations are determined by c only to rounding level, and later Newton steps may
    follow rounding noise along the ill-determined total ``a0``. Steps are limited to a factor
    ``e^2`` per coordinate, which only acts far from the root.
    """
    scale = jnp.abs(c) + 1

    def residual_error(u: Array) -> tuple[Array, Array]:
        residual = mean_log(jnp.exp(u)) - c
        return residual, jnp.max(jnp.abs(residual) / scale, axis=-1, keepdims=True)

    def newton_step(_: int, state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        u, best_u, best_error = state
        a = jnp.exp(u)
        residual, error = residual_error(u)
        better = error < best_error
        best_u, best_error = jnp.where(better, u, best_u), jnp.where(better, error, best_error)
        q = _special.trigamma(a)
        denominator = jnp.sum(a * _phi_gap(a, jnp.sum(a, axis=-1, keepdims=True)), axis=-1, keepdims=True)
        # (diag(q) - z 1 1^T)^{-1} r = r / q + (1 / q) sum(r / q) / (1/z - sum 1/q).
        step = residual / q + jnp.sum(residual / q, axis=-1, keepdims=True) / (q * denominator)
        return u - jnp.clip(step / a, -_MAX_LOG_STEP, _MAX_LOG_STEP), best_u, best_error

    u0 = jnp.log(_initial_concentration(c))
    state = (u0, u0, jnp.full_like(c[..., :1], jnp.inf))
    u, best_u, best_error = jax.lax.fori_loop(0, NEWTON_STEPS, newton_step, state)
    _, error = residual_error(u)
    return jnp.exp(jnp.where(error <= best_error, u, best_u))


def in_simplex(x: Array) -> Array:
    """Positive coordinates summing to 1 within ``sqrt(eps)`` (no renormalization)."""
    tolerance = jnp.sqrt(jnp.finfo(x.dtype).eps)
    return jnp.all((x > 0) & (x < jnp.inf), axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tolerance)


@dataclasses.dataclass(frozen=True)
class Dirichlet(ExponentialFamily):
    num_classes: int
    support = "x_k > 0 with sum_k x_k = 1 (K coordinates, within sqrt(eps))"

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"Dirichlet: num_classes must be >= 2, got {self.num_classes}")

    @property
    def support_point(self) -> float:  # type: ignore[override]
        return 1.0 / self.num_classes

    @property
    def num_natural(self) -> int:
        return self.num_classes

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.num_classes,)

    def natural_from_source(self, *, concentration: Array) -> Array:
        return jnp.asarray(concentration)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"concentration": eta}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return log_normalizer(eta)

    def expectation(self, eta: Array) -> Array:
        return mean_log(eta)

    def fisher(self, eta: Array) -> Array:
        return fisher(eta)

    def solve_natural(self, chi: Array) -> Array:
        return concentration_from_mean_log(chi)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(x)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.sum(jnp.log(x), axis=-1)

    def in_support(self, x: Array) -> Array:
        return in_simplex(x)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all((eta > 0) & (eta < jnp.inf), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -jnp.sum(mean_log(eta), axis=-1)

    def link(self, raw: Array) -> Array:
        """``a_k = positive(raw_k) = softplus(raw_k) + tiny``, coordinate-wise."""
        return _links.positive(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jax.random.dirichlet(key, eta, shape + eta.shape[:-1], eta.dtype)
