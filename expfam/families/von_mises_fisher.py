"""Von Mises-Fisher on the unit sphere S^(p-1) in R^p (p = ``dim`` >= 2): a unit direction.

``q(x) = C_p(kappa) exp(kappa mu . x)`` with respect to the surface measure, mean direction
``|mu| = 1``, concentration ``kappa >= 0``. Natural parameter ``eta = kappa mu`` (any vector in
R^p, kappa = |eta|), ``T(x) = x``, ``h = 1``. With ``v = p/2 - 1``:

    g(eta) = log(2 pi^(p/2) / Gamma(p/2)) + log(Gamma(v + 1) I_v(kappa) / (kappa/2)^v),

the log surface area of the sphere plus ``bessel.log_iv_normalized`` (0 at kappa = 0, where
the distribution is uniform). Expectation ``A_v(kappa) mu = R eta`` with the Bessel ratio
``A_v = I_{v+1} / I_v`` and ``R = A_v(kappa) / kappa`` (``1/p`` at kappa = 0). Fisher, with
``u = eta / kappa`` (at kappa = 0, ``I / p``):

    Cov(x) = R (I - u u^T) + A_v' u u^T,   A_v' = 1 - (p - 1) R - A_v^2

(``bessel.bessel_ratio_derivative``, which does not cancel at large kappa).

``expectation`` carries this Fisher as its derivative (custom JVP), so Hessians of every loss
are the closed form, finite at every eta including 0.

Inverse: ``r = |chi| < 1``; the concentration solves ``A_v(kappa) = r`` by 6 Newton steps
(``A_v' = 1 - (p - 1) R - A_v^2 > 0``; in float32, above ``kappa = 10 p``, its asymptotic form,
since the direct one cancels there) from Banerjee et al.'s approximation
``kappa_0 = r (p - r^2) / (1 - r^2)``; then ``eta = kappa chi / r`` (0 for chi = 0). At large
kappa this inverse is ill conditioned: ``1 - r ~ (p - 1) / (2 kappa)``, so rounding r alone
moves kappa by ``2 kappa eps / (p - 1)`` relatively.

Support: vectors whose norm is 1 to within ``sqrt(eps)`` of their dtype (they are not
renormalized); others have log-probability -inf.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, iterative
from expfam._numerics import bessel, iterate

#: Newton steps of the inverse map, per dtype. From Banerjee's start (relative error at most 7e-2,
#: at p = 2 and kappa ~ 4; smaller for larger p) the error squares each step (measured for p = 2 to
#: 200, kappa 1e-4 to 1e5: 7e-2, 5e-3, 3e-5, 8e-10, then the rounding floor), so float32 is at its
#: floor after 3 steps, and float64 after 3 steps and a fourth that takes the residual in the
#: accurate form ``(1 - r) - (1 - A)`` (see ``concentration_from_mean_length``). Each step costs
#: about one forward map (the last float64 one a little more).
NEWTON_STEPS = {"float32": 3, "float64": 3}


def log_sphere_area(p: int) -> float:
    """log of the surface area ``2 pi^(p/2) / Gamma(p/2)`` of S^(p-1)."""
    return math.log(2.0) + 0.5 * p * math.log(math.pi) - math.lgamma(0.5 * p)


def norm(eta: Array) -> Array:
    """The Euclidean norm over the last axis."""
    return jnp.sqrt(jnp.sum(eta * eta, axis=-1))


def _unit(eta: Array, kappa: Array) -> Array:
    """eta / kappa, and 0 where kappa = 0."""
    safe = jnp.where(kappa > 0, kappa, 1.0)
    return jnp.where((kappa > 0)[..., None], eta / safe[..., None], 0.0)


def log_normalizer(eta: Array, p: int) -> Array:
    """The plain formula for g in dimension p."""
    return log_sphere_area(p) + bessel.log_iv_normalized(0.5 * p - 1.0, norm(eta))


def nll(eta: Array, one_minus_cosine: Array, p: int) -> Array:
    """``-log q(x) = g(eta) - kappa mu . x`` from ``1 - mu . x``, without ``g ~ kappa`` against ``kappa mu . x``:
    ``log area + log_ive(v, kappa) + lgamma(v + 1) - v log(kappa / 2) + kappa (1 - mu . x)`` for kappa >= 1
    (``log_ive = log I_v - kappa``), the plain ``g - kappa mu . x`` below."""
    v = 0.5 * p - 1.0
    kappa = norm(eta)
    large = jnp.maximum(kappa, 1.0)
    scaled = bessel.log_ive(v, large) + math.lgamma(v + 1.0) - v * jnp.log(0.5 * large) + large * one_minus_cosine
    plain = bessel.log_iv_normalized(v, kappa) - kappa * (1.0 - one_minus_cosine)
    return log_sphere_area(p) + jnp.where(kappa >= 1.0, scaled, plain)


def entropy(eta: Array, p: int) -> Array:
    """``H = g - kappa A_v(kappa)``: ``nll`` at ``1 - mu . x = 1 - A_v`` (``one_minus_bessel_ratio``)."""
    return nll(eta, bessel.one_minus_bessel_ratio(0.5 * p - 1.0, norm(eta)), p)


def kl_divergence(eta_p: Array, eta_q: Array, p: int) -> Array:
    """``g(eta_q) - g(eta_p) - (eta_q - eta_p) . A_p mu_p`` as two nonnegative parts:
    ``D + kappa_q A_p (1 - mu_p . mu_q)``, where ``D = L(kappa_q) - L(kappa_p) - A_p (kappa_q - kappa_p)``
    is the Bregman divergence of ``L = log_iv_normalized`` (``bessel.log_iv_normalized_divergence``,
    no difference of the log-normalizers, which grow like ``kappa`` and ``v log kappa``) and
    ``1 - mu_p . mu_q = |mu_p - mu_q|^2 / 2``."""
    v = 0.5 * p - 1.0
    kappa_p, kappa_q = norm(eta_p), norm(eta_q)
    direction = _unit(eta_p, kappa_p) - _unit(eta_q, kappa_q)
    a_p = kappa_p * bessel.bessel_ratio_over_x(v, kappa_p)
    turn = kappa_q * a_p * 0.5 * jnp.sum(direction * direction, axis=-1)
    return bessel.log_iv_normalized_divergence(v, kappa_p, kappa_q) + turn


def fisher(eta: Array, p: int) -> Array:
    """``R (I - u u^T) + A' u u^T``, shape (..., p, p), without cancellation at large kappa.

    ``A' = bessel_ratio_derivative`` (``~ (p - 1) / (2 kappa^2)``, where ``1 - p R - A^2 + R``
    cancels), and the diagonal of ``I - u u^T`` as ``sum_{j != i} eta_j^2 / kappa^2`` (not
    ``1 - u_i^2``, which cancels where mu is near a coordinate axis): positive terms on the diagonal.
    """
    v = 0.5 * p - 1.0
    kappa = norm(eta)
    r = bessel.bessel_ratio_over_x(v, kappa)[..., None, None]
    slope = bessel.bessel_ratio_derivative(v, kappa)[..., None, None]
    u = _unit(eta, kappa)
    eye = jnp.eye(p, dtype=bool)
    others = jnp.sum(jnp.where(eye, 0.0, (eta * eta)[..., None, :]), axis=-1)
    safe = jnp.where(kappa > 0, kappa, 1.0)[..., None]
    perpendicular = jnp.where((kappa > 0)[..., None], others / (safe * safe), 1.0)
    outer = u[..., :, None] * u[..., None, :]
    return r * jnp.where(eye, perpendicular[..., None, :], -outer) + slope * outer


@functools.partial(jax.custom_jvp, nondiff_argnums=(1,))
def expectation(eta: Array, p: int) -> Array:
    """``A_v(kappa) mu = R(kappa) eta``; derivative: the closed-form Fisher."""
    return bessel.bessel_ratio_over_x(0.5 * p - 1.0, norm(eta))[..., None] * eta


@expectation.defjvp
def _expectation_jvp(p: int, primals: tuple[Array], tangents: tuple[Array]) -> tuple[Array, Array]:
    (eta,), (eta_dot,) = primals, tangents
    return expectation(eta, p), jnp.sum(fisher(eta, p) * eta_dot[..., None, :], axis=-1)


def concentration_from_mean_length(r: Array, p: int) -> Array:
    """Solve ``A_v(kappa) = r`` for kappa >= 0 (0 <= r < 1), v = p/2 - 1."""
    v = 0.5 * p - 1.0
    kappa_0 = r * (p - r * r) / ((1.0 - r) * (1.0 + r))

    def newton_step(kappa: Array, accurate: bool = False) -> Array:
        ratio = bessel.bessel_ratio_over_x(v, kappa)
        a = kappa * ratio
        # 1 - (p - 1) R - A^2 cancels to ~(p - 1) / (2 kappa^2) for large kappa (every digit of a
        # float32 lost by kappa ~ 1e3, and Newton then walks away); there float32 takes the
        # derivative of A ~ 1 - (p - 1)/(2 kappa) - (p - 1)(p - 3)/(8 kappa^2). Float64 keeps enough
        # digits of the direct form (the asymptotic one would slow convergence to linear).
        large = (kappa > 10.0 * p) & (kappa.dtype != jnp.float64)
        asymptotic = (p - 1.0) / (2.0 * kappa**2) * (1.0 + (p - 3.0) / (2.0 * kappa))
        slope = jnp.where(large, asymptotic, 1.0 - (p - 1.0) * ratio - a * a)
        # The residual A - r of two numbers near 1 has an absolute error of a few eps, i.e. a few
        # times the conditioning floor 2 kappa eps in kappa, and the iterates wander by that much;
        # the accurate form (1 - r) - (1 - A) (1 - r exact for r >= 1/2) lands within the floor.
        # Below r = 1/2 the direct form is the accurate one: there (1 - r) - (1 - A) is a difference
        # of two numbers near 1 with an absolute error of eps, i.e. eps / r relative (125 eps at
        # kappa = 0.012, p = 3).
        residual = a - r
        if accurate:
            residual = jnp.where(r >= 0.5, (1.0 - r) - bessel.one_minus_bessel_ratio(v, kappa), residual)
        # Newton can only overshoot to the left (A_v is concave); never go below half the current value.
        return jnp.maximum(kappa - residual / slope, 0.5 * kappa)

    kappa = iterate.newton(newton_step, kappa_0, NEWTON_STEPS["float64" if r.dtype == jnp.float64 else "float32"])
    return newton_step(kappa, accurate=True) if r.dtype == jnp.float64 else kappa


def solve_natural(chi: Array, p: int) -> Array:
    """``kappa(|chi|) chi / |chi|`` (0 for chi = 0)."""
    r = norm(chi)
    kappa = concentration_from_mean_length(r, p)
    return kappa[..., None] * _unit(chi, r)


@functools.partial(jax.jit, static_argnums=(2, 3))
def sample_unit(key: Array, eta: Array, p: int, shape: tuple[int, ...]) -> Array:
    """Samples of shape ``shape + batch + (p,)`` by Wood's (1994) rejection algorithm.

    The component along mu is ``W = (1 - (1 + b) Z) / (1 - (1 - b) Z)``, Z ~ Beta((p-1)/2, (p-1)/2)
    (``_symmetric_beta``),
    ``b = (p - 1) / (2 kappa + sqrt(4 kappa^2 + (p - 1)^2))``, accepted when
    ``kappa W + (p - 1) log(1 - x0 W) - c >= log U``; the rest is uniform on the orthogonal
    sphere, and a Householder reflection maps e_1 to mu.
    """
    kappa = norm(eta)
    full = shape + kappa.shape
    kappa = jnp.broadcast_to(kappa, full)
    dtype = eta.dtype
    b = (p - 1.0) / (2.0 * kappa + jnp.sqrt(4.0 * kappa * kappa + (p - 1.0) ** 2))
    x0 = (1.0 - b) / (1.0 + b)
    c = kappa * x0 + (p - 1.0) * jnp.log1p(-x0 * x0)

    def draw(k: Array) -> tuple[Array, Array, Array]:
        k_beta, k_uniform = jax.random.split(k)
        z = _symmetric_beta(k_beta, p, full, dtype)
        one_minus_w = 2.0 * b * z / (1.0 - (1.0 - b) * z)
        w = 1.0 - one_minus_w
        log_u = jnp.log(jax.random.uniform(k_uniform, full, dtype))
        accept = kappa * w + (p - 1.0) * jnp.log1p(-x0 * w) - c >= log_u
        return w, one_minus_w, accept

    def cond(state: Any) -> Array:
        return ~jnp.all(state[3])

    def body(state: Any) -> Any:
        i, w, one_minus_w, done = state
        w_new, omw_new, accept = draw(jax.random.fold_in(key, i))
        take = accept & ~done
        return i + 1, jnp.where(take, w_new, w), jnp.where(take, omw_new, one_minus_w), done | accept

    zeros = jnp.zeros(full, dtype)
    _, w, one_minus_w, _ = jax.lax.while_loop(cond, body, (1, zeros, zeros, jnp.zeros(full, bool)))
    tangent = jax.random.normal(jax.random.fold_in(key, 0), full + (p - 1,), dtype)
    tangent = tangent / norm(tangent)[..., None]
    radius = jnp.sqrt(one_minus_w * (2.0 - one_minus_w))
    x = jnp.concatenate([w[..., None], radius[..., None] * tangent], axis=-1)
    return _householder_to(x, jnp.broadcast_to(_unit(eta, norm(eta)), full + (p,)))


def _symmetric_beta(key: Array, p: int, shape: tuple[int, ...], dtype: Any) -> Array:
    """``Z ~ Beta((p - 1)/2, (p - 1)/2)`` as ``(1 + u_1) / 2`` for u uniform on S^(p-1).

    The first coordinate of a uniform direction has density proportional to
    ``(1 - t^2)^((p - 3)/2)``, so ``(1 + t) / 2`` is that Beta. With ``u = n / |n|`` for a
    standard normal n in R^p it costs p normals (no Gamma rejection loop to compile), and for
    ``n_1 < 0`` it is written without cancellation: ``1 + u_1 = sum_{i>1} n_i^2 / (|n| (|n| - n_1))``.
    """
    n = jax.random.normal(key, shape + (p,), dtype)
    r = norm(n)
    n1 = n[..., 0]
    rest = jnp.sum(n[..., 1:] * n[..., 1:], axis=-1)
    return jnp.where(n1 >= 0, (r + n1) / (2.0 * r), rest / (2.0 * r * (r - n1)))


def _householder_to(x: Array, mu: Array) -> Array:
    """Apply the reflection that maps e_1 to mu (identity where mu = 0 or mu = e_1)."""
    e1 = jnp.zeros_like(mu).at[..., 0].set(1.0)
    d = e1 - mu
    dd = jnp.sum(d * d, axis=-1, keepdims=True)
    scale = jnp.where(dd > 0, 2.0 / jnp.where(dd > 0, dd, 1.0), 0.0)
    return x - scale * jnp.sum(d * x, axis=-1, keepdims=True) * d


@dataclasses.dataclass(frozen=True)
class VonMisesFisher(ExponentialFamily):
    """Von Mises-Fisher on the unit sphere in ``R^p`` (``p = dim >= 2``): a unit direction.

    * density: ``q(x) = C_p(kappa) exp(kappa mu . x)`` with respect to the surface measure; support: unit
      vectors in R^p
    * natural parameters (M = p): ``eta = concentration * mean_direction``, that is ``kappa mu``; any vector
      in R^p, with ``kappa = |eta|``
    * sufficient statistics ``T(x) = x``; carrier ``h = 1``
    * log-normalizer ``g(eta) = -log C_p(kappa)``
      ``= log(2 pi^(p/2) / Gamma(p/2)) + log(Gamma(v + 1) I_v(kappa) / (kappa/2)^v)``, ``v = p/2 - 1``
    * expectation parameters ``E[x] = A_v(kappa) mu``, ``A_v = I_(v+1) / I_v``
    * source parameters: ``mean_direction = mu`` (a unit vector) and ``concentration = kappa``
    * scipy: ``scipy.stats.vonmises_fisher(mean_direction, concentration)``
    * TFP: ``tfd.VonMisesFisher(mean_direction=mean_direction, concentration=concentration)``
    * canonical link ``link(raw)``: the identity, ``eta = raw`` (every vector is valid)
    * source head ``source_link(VonMisesFisher(p))``: ``mean_direction = raw_1 / |raw_1|`` (p outputs),
      ``concentration = positive(raw_2)`` (one output)
    """

    repeated_sample_has_no_fit = True

    dim: int
    catalogue = (
        (
            {"dim": 3},
            (
                {"mean_direction": [0.6, 0.0, 0.8], "concentration": 2.0},
                {"mean_direction": [0.0, 1.0, 0.0], "concentration": 1e-08},
                {"mean_direction": [0.0, -0.6, 0.8], "concentration": 1000.0},
                {"mean_direction": [0.48, -0.6, 0.64], "concentration": 50.0},
            ),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.UnitSphere(self.dim)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (
            SourceParameter("mean_direction", constraints.unit_vector, self.dim),
            SourceParameter("concentration", constraints.positive),
        )

    def __post_init__(self) -> None:
        if self.dim < 2:
            raise ValueError(f"VonMisesFisher: dim must be >= 2, got {self.dim}")

    @property
    def num_natural(self) -> int:
        return self.dim

    def natural_from_source(self, *, mean_direction: Array, concentration: Array) -> Array:
        return jnp.asarray(concentration)[..., None] * jnp.asarray(mean_direction)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        """``mean_direction = eta / kappa`` (0 at kappa = 0, where it is undefined) and ``concentration = kappa``."""
        kappa = norm(eta)
        return {"mean_direction": _unit(eta, kappa), "concentration": kappa}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return log_normalizer(eta, self.dim)

    def expectation(self, eta: Array) -> Array:
        return expectation(eta, self.dim)

    def fisher(self, eta: Array) -> Array:
        return fisher(eta, self.dim)

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        return solve_natural(chi, self.dim)

    def stable_entropy(self, eta: Array) -> Array:
        return entropy(eta, self.dim)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return kl_divergence(eta_p, eta_q, self.dim)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``nll`` with ``1 - mu . x = (|x - mu|^2 + 1 - |x|^2) / 2`` (no ``1 - cos`` cancellation)."""
        mu = _unit(eta, norm(eta))
        difference = x - mu
        one_minus_cosine = 0.5 * (jnp.sum(difference * difference, axis=-1) + (1.0 - jnp.sum(x * x, axis=-1)))
        return nll(eta, one_minus_cosine, self.dim)

    def sufficient_statistics(self, x: Array) -> Array:
        return x

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x[..., 0])

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(jnp.isfinite(eta), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def link(self, raw: Array) -> Array:
        """The identity: every vector in R^dim is a valid natural parameter."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return sample_unit(key, eta, self.dim, shape)

    # -- summaries (of x in R^p) -------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``E[x] = A_v(kappa) mu`` (inside the ball: its length is the mean resultant length)."""
        return self.expectation(eta)

    def covariance(self, eta: Array) -> Array:
        return self.fisher(eta)

    def mode(self, eta: Array) -> Array:
        """The mean direction ``eta / kappa``; the first basis vector at ``kappa = 0`` (uniform: every
        point is a mode)."""
        kappa = norm(eta)
        first = jnp.zeros_like(eta).at[..., 0].set(1.0)
        return jnp.where((kappa > 0)[..., None], _unit(eta, kappa), first)
