"""Output-space Fisher for networks: Gauss-Newton products and a conjugate-gradient natural step.

A model ``predict(params) -> eta`` (a network followed by a family's link) gives natural
parameters of shape (N..., M). For the mean cross-entropy
``L(params) = mean_n H(target_n, q(. | eta_n(params)))`` the Hessian in eta is the Fisher
``F(eta_n)`` whatever the targets, so the generalized Gauss-Newton matrix is the Fisher of the
model in parameter space:

    ``G = (1/N) J^T F(eta) J``,    J = d eta / d params.

``gauss_newton_vector_product`` applies G matrix-free: a JVP through the model, a Fisher-vector
product per row (closed-form or autodiff ``expectation``), a VJP back. ``gauss_newton_direction``
solves ``(G + lambda I) d = grad`` by conjugate gradients, the damped natural-gradient (Fisher
scoring) direction. For a linear model with the canonical link it is Newton's method, i.e.
IRLS.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax

from expfam._core.family import Array, ExponentialFamily, check_family
from expfam._geometry.fisher import jvp_expectation

if TYPE_CHECKING:
    import optax

Predict = Callable[[Any], Array]


def _tree_axpy(a: float, x: Any, y: Any) -> Any:
    return jax.tree.map(lambda xi, yi: a * xi + yi, x, y)


def gauss_newton_operator(family: ExponentialFamily, predict: Predict, params: Any) -> Callable[[Any], Any]:
    """The linear map ``v -> (1/N) J^T F(eta) J v`` at ``params``, linearized once for repeated use.

    Args:
        family: the family whose natural parameters the model outputs.
        predict: ``params -> eta``, shape (N..., M); N is the product of the batch axes.
        params: the model parameters (any pytree).
    """
    family = check_family(family)
    eta, jvp = jax.linearize(predict, params)
    eta = family.check_natural(eta)
    vjp = jax.linear_transpose(jvp, params)
    count = math.prod(eta.shape[:-1])

    def operator(v: Any) -> Any:
        (out,) = vjp(jvp_expectation(family, eta, jvp(v)) / count)
        return out

    return operator


def gauss_newton_vector_product(family: ExponentialFamily, predict: Predict, params: Any, v: Any) -> Any:
    """``(1/N) J^T F(eta) J v``: the Gauss-Newton (= Fisher) matrix of the mean cross-entropy times v."""
    return gauss_newton_operator(family, predict, params)(v)


def gauss_newton_direction(
    family: ExponentialFamily,
    predict: Predict,
    params: Any,
    gradient: Any,
    damping: float = 1e-3,
    max_steps: int = 20,
    tolerance: float = 1e-6,
) -> Any:
    """The damped natural-gradient direction ``(G + damping I)^{-1} gradient`` by conjugate gradients.

    Args:
        family: as for ``gauss_newton_operator``.
        predict: as for ``gauss_newton_operator``.
        params: as for ``gauss_newton_operator``.
        gradient: the gradient of the mean cross-entropy in params (same pytree).
        damping: Tikhonov damping ``>= 0``; 0 is plain Fisher scoring (G must then be
            non-singular on the gradient's span).
        max_steps: conjugate-gradient iterations (exact after as many as there are parameters).
        tolerance: relative residual at which conjugate gradients stops.
    """
    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")
    operator = gauss_newton_operator(family, predict, params)
    direction, _ = jax.scipy.sparse.linalg.cg(
        lambda v: _tree_axpy(damping, v, operator(v)), gradient, tol=tolerance, maxiter=max_steps
    )
    return direction


class GaussNewtonState(NamedTuple):
    """Empty: the transformation keeps no state (the model is passed at each update)."""


def scale_by_gauss_newton(
    family: ExponentialFamily, damping: float = 1e-3, max_steps: int = 20
) -> optax.GradientTransformationExtraArgs:
    """Precondition gradients by the damped output-space Fisher, solved by conjugate gradients.

    It only preconditions, like ``optax.scale_by_adam``: ``u = (G + damping I)^{-1} g``. Chain it
    with a learning rate, or use ``gauss_newton_descent``.

    ``update(grads, state, params, predict=...)`` needs ``predict: params -> eta`` (the model on
    the current batch, including the link) as an extra keyword argument.

    Args:
        family: the family whose natural parameters the model outputs.
        damping: as for ``gauss_newton_direction``.
        max_steps: as for ``gauss_newton_direction``.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    if damping < 0:
        raise ValueError(f"damping must be >= 0, got {damping}")

    def update_fn(
        updates: Any, state: GaussNewtonState, params: Any = None, *, predict: Predict | None = None, **extra: Any
    ) -> tuple[Any, GaussNewtonState]:
        if params is None or predict is None:
            raise ValueError("scale_by_gauss_newton needs params and predict=(params -> eta)")
        return gauss_newton_direction(family, predict, params, updates, damping, max_steps), state

    return optax.GradientTransformationExtraArgs(lambda params: GaussNewtonState(), update_fn)


def gauss_newton_descent(
    family: ExponentialFamily, learning_rate: optax.ScalarOrSchedule, damping: float = 1e-3, max_steps: int = 20
) -> optax.GradientTransformationExtraArgs:
    """Gauss-Newton natural-gradient descent: ``params <- params - lr (G + damping I)^{-1} grad``.

    ``scale_by_gauss_newton`` chained with ``optax.scale_by_learning_rate``; its ``update`` needs
    ``params`` and ``predict=(params -> eta)`` likewise.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    return optax.chain(scale_by_gauss_newton(family, damping, max_steps), optax.scale_by_learning_rate(learning_rate))
