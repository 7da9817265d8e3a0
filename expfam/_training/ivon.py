"""Variational online Newton for network weights: a diagonal Gaussian posterior trained with optax.

The posterior over the weights is ``q(theta) = N(m, diag(sigma^2))`` with
``sigma^2 = 1 / (lambda (h + delta))``: ``lambda`` is the effective sample size (the number of
training examples the per-example loss averages), ``delta`` the weight decay (the prior
``N(0, 1 / (lambda delta))``, prior precision ``lambda delta``), and h the running estimate of the
diagonal of the loss Hessian. Each step (natural-gradient VI on
``lambda E_q[mean loss] + KL(q || prior)``, improved variational online Newton):

1. draw ``theta = m + sigma * eps`` (``ivon_sample``) and evaluate the gradient ``g_hat`` of the
   mean loss at theta;
2. the reparameterization trick gives a Hessian estimate without second derivatives,
   ``h_hat = g_hat * eps / sigma`` (Stein's identity: ``E[g(m + sigma eps) eps] = sigma E[hess]``);
3. ``g <- beta1 g + (1 - beta1) g_hat`` (momentum),
   ``h <- beta2 h + (1 - beta2) h_hat + (1 - beta2)^2 (h - h_hat)^2 / (2 (h + delta))``
   (the last term keeps h positive: it is the Riemannian correction of the update of a positive
   variable);
4. ``m <- m - lr (g / (1 - beta1^t) + delta m) / (h + delta)``, the Newton-like step, clipped
   elementwise to ``[-clip_radius, clip_radius]`` before the learning rate when a radius is given.

Predictions average the network over posterior draws (``bayesian_model_average``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, NamedTuple

import jax
import jax.numpy as jnp

if TYPE_CHECKING:
    import optax

Array = jax.Array


class IVONState(NamedTuple):
    """The optimizer's state: momentum, Hessian estimate, the last draw's noise, and the prior.

    ``noise`` holds ``theta - m`` of the last ``ivon_sample`` (zeros before the first draw).
    """

    step: Array
    momentum: Any
    hessian: Any
    noise: Any
    ess: Array
    weight_decay: Array


def ivon(
    learning_rate: optax.ScalarOrSchedule,
    ess: float,
    hess_init: float = 1.0,
    beta1: float = 0.9,
    beta2: float = 0.99999,
    weight_decay: float = 1e-4,
    clip_radius: float | None = None,
) -> optax.GradientTransformation:
    """The variational online Newton optimizer (see the module docstring).

    Use: ``theta, state = ivon_sample(key, params, state)``; ``grads = grad(mean_loss)(theta)``;
    ``updates, state = opt.update(grads, state, params)``; ``params = optax.apply_updates(params,
    updates)``. The gradients must be those at the draw of the same step.

    Args:
        learning_rate: a float or an optax schedule.
        ess: the effective sample size lambda (usually the training-set size).
        hess_init: the initial Hessian estimate h_0 > 0 (sets the initial posterior scale).
        beta1: momentum of the gradient.
        beta2: averaging of the Hessian estimate (close to 1).
        weight_decay: delta >= 0, the prior precision divided by lambda.
        clip_radius: elementwise clip of the preconditioned step, or None.
    """
    import optax  # imported on use: it costs 0.15 s of `import expfam`

    if ess <= 0 or hess_init <= 0 or weight_decay < 0:
        raise ValueError(
            f"ivon needs ess > 0, hess_init > 0, weight_decay >= 0; got {ess}, {hess_init}, {weight_decay}"
        )
    if not (0 <= beta1 < 1 and 0 <= beta2 < 1):
        raise ValueError(f"ivon needs beta1, beta2 in [0, 1); got {beta1}, {beta2}")

    def init_fn(params: Any) -> IVONState:
        zeros = jax.tree.map(jnp.zeros_like, params)
        hessian = jax.tree.map(lambda p: jnp.full_like(p, hess_init), params)
        dtype = jax.tree.leaves(params)[0].dtype if jax.tree.leaves(params) else jnp.float32
        return IVONState(
            jnp.zeros([], jnp.int32), zeros, hessian, zeros, jnp.asarray(ess, dtype), jnp.asarray(weight_decay, dtype)
        )

    def update_fn(updates: Any, state: IVONState, params: Any = None) -> tuple[Any, IVONState]:
        if params is None:
            raise ValueError("ivon needs the parameters (the posterior means)")
        step = optax.safe_increment(state.step)
        lr = learning_rate(state.step) if callable(learning_rate) else learning_rate
        delta = state.weight_decay

        def hessian_estimate(g: Array, noise: Array, h: Array) -> Array:
            # noise = sigma eps, so g eps / sigma = g noise / sigma^2 = g noise lambda (h + delta).
            return g * noise * state.ess * (h + delta)

        h_hat = jax.tree.map(hessian_estimate, updates, state.noise, state.hessian)
        momentum = jax.tree.map(lambda m, g: beta1 * m + (1 - beta1) * g, state.momentum, updates)
        hessian = jax.tree.map(
            lambda h, e: beta2 * h + (1 - beta2) * e + 0.5 * (1 - beta2) ** 2 * (h - e) ** 2 / (h + delta),
            state.hessian,
            h_hat,
        )
        correction = 1 - beta1 ** step.astype(delta.dtype)

        def leaf_step(m: Array, h: Array, p: Array) -> Array:
            direction = (m / correction + delta * p) / (h + delta)
            if clip_radius is not None:
                direction = jnp.clip(direction, -clip_radius, clip_radius)
            return -lr * direction

        new_updates = jax.tree.map(leaf_step, momentum, hessian, params)
        return new_updates, state._replace(step=step, momentum=momentum, hessian=hessian)

    return optax.GradientTransformation(init_fn, update_fn)


def ivon_scale(state: IVONState) -> Any:
    """The posterior standard deviations ``sigma = 1 / sqrt(lambda (h + delta))`` (a pytree)."""
    return jax.tree.map(lambda h: jax.lax.rsqrt(state.ess * (h + state.weight_decay)), state.hessian)


def _draw(key: Array, params: Any, state: IVONState) -> Any:
    """``sigma * eps`` for every leaf, eps standard normal."""
    leaves, treedef = jax.tree.flatten(params)
    keys = jax.tree.unflatten(treedef, list(jax.random.split(key, len(leaves))))
    return jax.tree.map(lambda k, p, s: s * jax.random.normal(k, p.shape, p.dtype), keys, params, ivon_scale(state))


def ivon_sample(key: Array, params: Any, state: IVONState) -> tuple[Any, IVONState]:
    """A draw ``theta = m + sigma eps`` of the posterior, and the state remembering its noise.

    Evaluate the gradient of the mean loss at theta and pass it to ``update`` with this state.
    """
    noise = _draw(key, params, state)
    return jax.tree.map(jnp.add, params, noise), state._replace(noise=noise)


def bayesian_model_average(
    key: Array, predict: Callable[[Any], Array], params: Any, state: IVONState, num_samples: int = 10
) -> Array:
    """``mean_s predict(theta_s)`` over ``num_samples`` posterior draws (e.g. class probabilities).

    Average probabilities, not logits: that is the posterior predictive of the draws.
    """
    if num_samples < 1:
        raise ValueError(f"num_samples must be >= 1, got {num_samples}")

    def one(k: Array) -> Array:
        return predict(jax.tree.map(jnp.add, params, _draw(k, params, state)))

    return jnp.mean(jax.lax.map(one, jax.random.split(key, num_samples)), axis=0)
