"""Information geometry of a family: Fisher products, the dual potential, Bregman divergences.

An exponential family has two coordinate systems joined by a Legendre transform:

* natural parameters ``eta`` with the convex log-normalizer ``g(eta)``;
* expectation parameters ``chi = g'(eta)`` with the dual potential
  ``g*(chi) = chi . eta(chi) - g(eta(chi))``, the convex conjugate of g, whose gradient is
  ``eta`` (it is the negative entropy plus ``E[log h]``, so for families with constant
  ``h`` it is the negative entropy up to a constant).

The Fisher information is ``g''(eta)`` in natural coordinates and ``g*''(chi) = g''(eta)^{-1}``
in expectation coordinates. Hence every product here is matrix-free:

* ``F(eta) v`` is the forward-mode derivative of ``expectation`` (closed form or autodiff);
* ``F(eta)^{-1} v`` is the forward-mode derivative of ``natural_from_expectation`` at
  ``chi = g'(eta)``; a closed-form inverse is differentiated directly, an iterative one
  implicitly (``_solve``), so no Newton iteration is ever unrolled.

For an over-complete family (the categorical, whose Fisher is singular along the all-ones
direction) ``F(eta)^{-1} v`` is the Jacobian of ``natural_from_expectation``: it inverts F on
tangents of the simplex (``sum(v) = 0``), which is where gradients of losses live.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, Literal

import jax
import jax.numpy as jnp

from expfam._core.family import Array, ExponentialFamily, checks_inputs

Coordinates = Literal["natural", "expectation"]


@checks_inputs
def fisher_vector_product(family: ExponentialFamily, eta: Any, v: Any) -> Array:
    """``F(eta) v = g''(eta) v`` without forming F: the JVP of ``family.expectation``.

    Args:
        family: the exponential family.
        eta: natural parameters, shape (..., M).
        v: tangent vectors, shape (..., M), broadcast against eta's batch axes.

    Returns:
        ``F(eta) v``, shape (..., M).
    """
    eta = family.check_natural(eta)
    v = family.check_vector(v, "tangent vectors")
    return jvp_expectation(family, *_broadcast(eta, v))


def jvp_expectation(family: ExponentialFamily, eta: Array, v: Array) -> Array:
    """``F(eta) v`` for checked inputs of equal shapes (no domain check: safe inside any trace)."""
    return jax.jvp(family.expectation, (eta,), (v,))[1]


@checks_inputs
def expectation_fisher_vector_product(family: ExponentialFamily, chi: Any, v: Any) -> Array:
    """Fisher information in expectation coordinates times v: ``g*''(chi) v = F(eta(chi))^{-1} v``.

    It is the JVP of ``family.natural_from_expectation`` (the gradient of the dual potential).
    """
    chi = family.check_expectation(chi)
    v = family.check_vector(v, "tangent vectors")
    chi, v = _broadcast(chi, v)
    return jax.jvp(family.natural_from_expectation, (chi,), (v,))[1]


@checks_inputs
def inverse_fisher_vector_product(family: ExponentialFamily, eta: Any, v: Any) -> Array:
    """``F(eta)^{-1} v``: the Fisher in expectation coordinates at ``chi = g'(eta)``, times v.

    This is the natural gradient of a loss whose ordinary gradient in eta is v.
    """
    eta = family.check_natural(eta)
    return expectation_fisher_vector_product(family, family.expectation(eta), v)


def _broadcast(a: Array, b: Array) -> tuple[Array, Array]:
    shape = jnp.broadcast_shapes(a.shape, b.shape)
    return jnp.broadcast_to(a, shape), jnp.broadcast_to(b, shape)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _dual_potential(family: ExponentialFamily, chi: Array) -> Array:
    eta = family.natural_from_expectation(chi)
    return jnp.sum(chi * eta, axis=-1) - family.log_normalizer(eta)


@_dual_potential.defjvp
def _dual_potential_jvp(
    family: ExponentialFamily, primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (chi,), (chi_dot,) = primals, tangents
    eta = family.natural_from_expectation(chi)
    value = jnp.sum(chi * eta, axis=-1) - family.log_normalizer(eta)
    return value, jnp.sum(eta * chi_dot, axis=-1)


@checks_inputs
def dual_potential(family: ExponentialFamily, chi: Any) -> Array:
    """The convex conjugate of the log-normalizer, ``g*(chi) = chi . eta - g(eta)`` at ``eta = eta(chi)``.

    It equals ``-H(q) - E_q[log h]`` for the distribution q with expectation parameters chi
    (the negative entropy when h is constant). Its derivative is exactly ``eta(chi)`` (a custom
    JVP, by the envelope theorem), so its Hessian is the Fisher information in expectation
    coordinates, ``F(eta)^{-1}``.

    Args:
        family: the exponential family.
        chi: expectation parameters, shape (..., M).

    Returns:
        ``g*(chi)``, shape (...).
    """
    return _dual_potential(family, family.check_expectation(chi))


@checks_inputs
def bregman_divergence(family: ExponentialFamily, p: Any, q: Any, coordinates: Coordinates = "natural") -> Array:
    """``KL(p || q)`` as the Bregman divergence of the family's potential, in either coordinates.

    The Bregman divergence of a convex potential f is ``B_f(a, b) = f(a) - f(b) - (a - b) . f'(b)``.
    With ``coordinates="natural"`` p and q are natural parameters and the potential is the
    log-normalizer g: the result is ``B_g(eta_q, eta_p) = g(eta_q) - g(eta_p) - (eta_q - eta_p) . chi_p``.
    With ``coordinates="expectation"`` they are expectation parameters and the potential is the
    dual potential g*: the result is ``B_{g*}(chi_p, chi_q) = g*(chi_p) - g*(chi_q) - (chi_p - chi_q) . eta_q``.
    The two are dual (``B_g(eta_q, eta_p) = B_{g*}(chi_p, chi_q)``), so both equal
    ``KL(p || q)``, like ``kl_divergence(family, eta_p, eta_q)``.

    Args:
        family: the exponential family.
        p: the first distribution's parameters in the chosen coordinates, shape (..., M).
        q: the second distribution's parameters, likewise; the batch axes of p and q broadcast.
        coordinates: ``"natural"`` or ``"expectation"``.

    Returns:
        ``KL(p || q)``, shape (...), non-negative.
    """
    potential: Callable[[Array], Array]
    gradient: Callable[[Array], Array]
    if coordinates == "natural":
        p, q = _broadcast(family.check_natural(p), family.check_natural(q))
        a, b = q, p  # B_g(eta_q, eta_p)
        potential, gradient = family.log_normalizer, family.expectation
    elif coordinates == "expectation":
        p, q = _broadcast(family.check_expectation(p), family.check_expectation(q))
        a, b = p, q  # B_{g*}(chi_p, chi_q)
        potential, gradient = functools.partial(dual_potential, family), family.natural_from_expectation
    else:
        raise ValueError(f"coordinates must be 'natural' or 'expectation', got {coordinates!r}")
    return potential(a) - potential(b) - jnp.sum((a - b) * gradient(b), axis=-1)
