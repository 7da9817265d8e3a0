"""The network head of ``expfam fit``: which link, where it starts, and how its outputs are scaled.

Two links map the network's unconstrained outputs to natural parameters:

* ``canonical``: ``family.link``, the canonical link (natural coordinates);
* ``source``: ``expfam.source_link(family)``, the family's usual parameters (location and
  scale, shape and rate, probabilities ...) through their constraints.

The head is ``eta = link(b + s * z)`` with z the MLP's last layer, b the outputs whose link is
the unconditional maximum-likelihood fit (``start``) and ``s_i = 1 / sqrt(G_ii)``, G the
Gauss-Newton matrix ``J^T F J`` of the mean log-likelihood in the outputs at b. One unit of z
then moves the log-likelihood of a row by about one nat in every output, whatever the units of
the target: the scaling a standardised target gives a location-scale family, for every family.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp

import expfam

Array = jax.Array
Link = Callable[[Array], Array]

HEADS = ("canonical", "source")


#: Families whose canonical link trains poorly: a location-scale family's canonical coordinates
#: are ``(loc / v, -1 / (2 v))``, so the mean is ``raw_1 * v`` and every change of the variance
#: moves the mean; in ``(loc, scale)`` the two are separate outputs (measured in the README's
#: command-line section and ``tests/test_fit_cli.py``).
SOURCE_HEAD = frozenset({"Normal", "LogNormal", "MultivariateNormal", "MultivariateNormalDiag"})


def default_head(family: expfam.ExponentialFamily) -> str:
    """``source`` for the location-scale families in ``SOURCE_HEAD``, else ``canonical`` (valid
    natural parameters for every finite output)."""
    return "source" if type(family).__name__ in SOURCE_HEAD else "canonical"


def make_link(family: expfam.ExponentialFamily, head: str) -> tuple[Link, int]:
    """The link of ``head`` (one of ``HEADS``) and its number of outputs."""
    if head == "canonical":
        return family.link, family.num_natural
    link = expfam.source_link(family)
    return link, link.num_outputs


def start(
    family: expfam.ExponentialFamily, link: Link, outputs: int, target: expfam.Target, steps: int = 100
) -> tuple[Array, Array]:
    """Outputs ``b`` whose link is the maximum-likelihood fit, and the output scales ``s`` at b.

    The mean cross-entropy of a constant model is, up to a constant, ``g(link(b)) - chi . link(b)``
    with ``chi`` the mean target; its gradient in b is ``J^T (g'(link(b)) - chi)`` and its
    Gauss-Newton matrix ``G = J^T F J`` (J the link's Jacobian, F the Fisher information). Each
    step solves with G (Jacobi-scaled, plus ``1e-6`` on the scaled diagonal for over-complete
    families such as the Categorical), which makes it independent of the target's units, and
    then takes the best of the step lengths ``1, 1/2, ..., 2^-29`` (or no step), so the
    objective never increases. At the fixed point ``g'(link(b)) = chi``. The scales are
    ``1 / sqrt(G_ii)`` at b (1 where ``G_ii`` is not a positive finite number).
    """
    chi = jnp.mean(target.chi, axis=0)
    eye = jnp.eye(outputs, dtype=chi.dtype)
    fractions = 0.5 ** jnp.arange(30, dtype=chi.dtype)

    def objective(b: Array) -> Array:
        eta = link(b)
        value = family.log_normalizer(eta) - jnp.dot(chi, eta)
        return jnp.where(jnp.isnan(value), jnp.inf, value)

    def gauss_newton(b: Array) -> tuple[Array, Array]:
        eta, jac = link(b), jax.jacfwd(link)(b)
        return jac.T @ (family.expectation(eta) - chi), jac.T @ family.fisher(eta) @ jac

    def step(b: Array) -> Array:
        grad, matrix = gauss_newton(b)
        scale = jnp.sqrt(jnp.diagonal(matrix)) + jnp.finfo(b.dtype).tiny
        scaled = matrix / (scale[:, None] * scale[None, :])
        delta = jnp.linalg.solve(scaled + 1e-6 * eye, grad / scale) / scale
        candidates = jnp.concatenate([b[None, :] - fractions[:, None] * delta[None, :], b[None, :]])
        return candidates[jnp.argmin(jax.vmap(objective)(candidates))]

    @jax.jit
    def solve(b: Array) -> tuple[Array, Array]:
        b = jax.lax.fori_loop(0, steps, lambda _, v: step(v), b)
        diagonal = jnp.diagonal(gauss_newton(b)[1])
        usable = jnp.isfinite(diagonal) & (diagonal > 0)
        return b, jnp.where(usable, jax.lax.rsqrt(jnp.where(usable, diagonal, 1.0)), 1.0)

    return solve(jnp.zeros(outputs, chi.dtype))
