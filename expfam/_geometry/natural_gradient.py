"""Optax transformations for parameters that are themselves natural parameters of families.

The parameters are a pytree of arrays ``eta`` (shape (..., M) each) with a matching pytree of
families (or one family for every leaf). For a loss L:

* the natural gradient is ``F(eta)^{-1} dL/deta``, computed without forming F as the JVP of
  ``natural_from_expectation`` (see ``_geometry``); with damping ``lambda > 0`` it is
  ``(F(eta) + lambda I)^{-1} dL/deta``, solved per row with the closed-form Fisher (M x M).
  It is also the ordinary gradient of L in expectation coordinates;
* mirror descent with the log-normalizer as mirror map steps in expectation coordinates,
  ``chi <- chi - lr dL/deta``, then maps back, ``eta <- eta(chi)``. It is natural-gradient
  descent in expectation coordinates. On a cross-entropy ``L = g(eta) - chi_data . eta`` the
  gradient is ``chi - chi_data``, so a step of size 1 lands exactly on the maximum-likelihood
  estimate, and every step of size in (0, 1] stays in the (convex) expectation domain.

The natural-gradient step of size 1 on a cross-entropy is Newton's method (the Hessian of the
cross-entropy in eta is F): exact in one step where g is quadratic (``NormalKnownVariance``),
quadratically convergent near the optimum otherwise; use damping or a smaller step from far away.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp

from expfam._core.family import Array, ExponentialFamily, check_family
from expfam._geometry.fisher import inverse_fisher_vector_product

if TYPE_CHECKING:
    import optax

Families = ExponentialFamily | Any  # one family, or a pytree of families matching the parameters


def _is_family(x: Any) -> bool:
    return isinstance(x, ExponentialFamily)


def map_families(fn: Callable[..., Array], families: Families, *trees: Any) -> Any:
    """``fn(family, *leaves)`` over parameter pytrees, with one family or a matching pytree of them."""
    if _is_family(families):
        return jax.tree.map(lambda *leaves: fn(families, *leaves), *trees)
    return jax.tree.map(fn, families, *trees, is_leaf=_is_family)


def damped_natural_gradient(family: ExponentialFamily, eta: Array, gradient: Array, damping: float = 0.0) -> Array:
    """``(F(eta) + damping I)^{-1} gradient``; matrix-free when ``damping == 0``.

    Args:
        family: the exponential family of eta.
        eta: natural parameters, shape (..., M).
        gradient: the ordinary gradient of a loss in eta, shape (..., M).
        damping: Tikhonov damping ``lambda >= 0`` (Levenberg-Marquardt).

    Returns:
        The (damped) natural gradient, shape (..., M).
    """
    family = check_family(family)
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    if damping == 0:
        return inverse_fisher_vector_product(family, eta, gradient)
    fisher = family.fisher(family.check_natural(eta))
    m = family.num_natural
    damped = fisher + damping * jnp.broadcast_to(jnp.eye(m, dtype=fisher.dtype), fisher.shape)
    gradient = jnp.broadcast_to(gradient, fisher.shape[:-1])
    return jnp.linalg.solve(damped, gradient[..., None])[..., 0]


def scale_by_natural_gradient(families: Families, damping: float = 0.0) -> optax.GradientTransformation:
    """Precondition gradients by the inverse Fisher: ``u = (F(eta) + damping I)^{-1} g``.

    It only preconditions, like ``optax.scale_by_adam``: chain it with a learning rate, or use
    ``natural_gradient_descent``.

    Args:
        families: one family for every parameter leaf, or a pytree of families with the
            structure of the parameters.
        damping: Tikhonov damping ``>= 0``.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")

    def update_fn(updates: Any, state: optax.EmptyState, params: Any = None) -> tuple[Any, optax.EmptyState]:
        if params is None:
            raise ValueError("scale_by_natural_gradient needs the parameters (the natural parameters eta)")
        return map_families(
            lambda f, g, eta: damped_natural_gradient(f, eta, g, damping), families, updates, params
        ), state

    return optax.GradientTransformation(lambda params: optax.EmptyState(), update_fn)


def natural_gradient_descent(
    families: Families, learning_rate: optax.ScalarOrSchedule, damping: float = 0.0
) -> optax.GradientTransformation:
    """Natural-gradient descent: ``eta <- eta - lr (F(eta) + damping I)^{-1} dL/deta``.

    ``scale_by_natural_gradient`` chained with ``optax.scale_by_learning_rate``.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    return optax.chain(scale_by_natural_gradient(families, damping), optax.scale_by_learning_rate(learning_rate))


class MirrorDescentState(NamedTuple):
    step: Array


def mirror_descent(families: Families, learning_rate: optax.ScalarOrSchedule) -> optax.GradientTransformation:
    """Mirror descent with the log-normalizer as mirror map: a step in expectation coordinates.

    ``eta_new = eta(chi - lr dL/deta)`` with ``chi = g'(eta)``; the returned update is
    ``eta_new - eta``. The step must keep ``chi`` in the expectation domain; for a
    cross-entropy loss any ``lr`` in (0, 1] does. ``optax.apply_updates`` then forms
    ``eta + (eta_new - eta)``, which equals ``eta_new`` up to a rounding error of about
    ``eps |eta|``: from a start far out in the natural domain (``|eta| >> |eta_new|``) the landing
    point carries that absolute error.

    Args:
        families: one family, or a pytree of families matching the parameters.
        learning_rate: a float or an optax schedule of the step count.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    def init_fn(params: Any) -> MirrorDescentState:
        return MirrorDescentState(step=jnp.zeros([], jnp.int32))

    def update_fn(updates: Any, state: MirrorDescentState, params: Any = None) -> tuple[Any, MirrorDescentState]:
        if params is None:
            raise ValueError("mirror_descent needs the parameters (the natural parameters eta)")
        lr = learning_rate(state.step) if callable(learning_rate) else learning_rate

        def step(family: ExponentialFamily, g: Array, eta: Array) -> Array:
            chi = family.expectation(family.check_natural(eta))
            return family.natural_from_expectation(chi - lr * g) - eta

        new_updates = map_families(step, families, updates, params)
        return new_updates, MirrorDescentState(step=optax.safe_increment(state.step))

    return optax.GradientTransformation(init_fn, update_fn)
