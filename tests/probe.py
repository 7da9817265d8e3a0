"""One compiled probe per catalogue family and dtype, read by every check of the battery and the routes.

``probe(family, dtype)`` evaluates, in one compiled program, everything the checks of
``test_battery.py`` and ``test_routes.py`` compare, at every example point of the family's
catalogue entry (vmapped over the examples), and returns it as numpy arrays, computed once per
family and dtype and kept for the rest of the session (JAX's own caches may be cleared between
families, see conftest). Compiling one program instead of one per check shares the tracing, the
per-program overhead and the pieces several checks read (expectation, Fisher, cross-entropy).

Per example point ``eta`` (natural parameters in the active precision) it holds:

* ``log_prob``, ``gradient``: ``log q(x | eta)`` and the gradient of the summed nll at ``BATCH``
  draws (seed 1), eta broadcast to them; ``expected_gradient`` = ``g'(eta) - T(x)`` and
  ``inside`` (the draw is in the support);
* ``at``: closed forms against autodiff, the derivatives of the cross-entropy and the round trips
  (``_at_point``);
* ``kl``: ``KL(p_i || p_j)`` for every pair of the entry's examples;
* ``routes``: every route to the cross-entropy (``route_values``) at ``ROUTE_DRAWS`` draws;
* in float32 only: ``sample``, ``family.sample`` at parameters batched to 3, shape (5,) (key 4), and
  whether the draws are in the support (every statistical check reads float64 draws);
* in float64 only: ``mc`` (nll of ``DRAWS`` draws (seed 2) under q = the next example and p, H(p, q),
  KL(p || q)), ``entropy``, ``moments`` (mean statistic of ``DRAWS`` draws (seed 3), g', g'') and
  ``reverse`` (reverse-mode derivatives at the first example and at +-h along a direction).
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from helpers import DRAWS, draws, log_prob_and_gradient

import expfam

#: The batch every per-sample check evaluates.
BATCH = 16
#: The draws per example of the route checks.
ROUTE_DRAWS = 3
#: Steps of the reverse-mode finite differences: ``H`` along eta, ``K`` along the expectation.
H, K = 1e-4, 1e-6
#: One ``(family, dtype)`` per trace of the probe (``test_second_call_does_not_recompile`` reads it).
TRACES: list[tuple[Any, str]] = []


def entry_of(family: expfam.ExponentialFamily) -> Any:
    """The catalogue entry of ``family`` (each configuration has one)."""
    return next(entry for entry in expfam.catalogue() if entry.family == family)


def natural(family: expfam.ExponentialFamily, source: dict[str, Any], dtype: Any = None) -> jax.Array:
    """The natural parameters of ``source``, computed in the active default float precision."""
    return family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in source.items()})


def _stack(arrays: list[Any], axis: int = 0) -> np.ndarray:
    """Stacked in numpy (no program compiled), dtype kept."""
    return np.stack([np.asarray(a) for a in arrays], axis=axis)


def directions(family: expfam.ExponentialFamily) -> np.ndarray:
    """The random directions ``u, v, c, w`` of the reverse-mode check."""
    return np.random.default_rng(0).standard_normal((4, family.num_natural))


def inputs(family: expfam.ExponentialFamily) -> dict[str, Any]:
    """The probe's arguments in the active precision (float64 adds the Monte Carlo draws)."""
    etas = [natural(family, source) for source in entry_of(family).examples]
    arrays = {
        "eta": _stack(etas),
        "x": _stack([draws(family, e, BATCH, seed=1) for e in etas]),
        "x_routes": _stack([draws(family, e, ROUTE_DRAWS) for e in etas], axis=1),
        "key": jax.random.key(4),
    }
    if jnp.result_type(float) == jnp.float64:
        arrays["x_mc"] = _stack([draws(family, e, DRAWS, seed=2) for e in etas])
        arrays["x_moments"] = _stack([draws(family, e, DRAWS, seed=3) for e in etas])
        arrays["x_reverse"] = np.asarray(draws(family, etas[0], BATCH))
        arrays["directions"] = directions(family)
    return arrays


# -- the pieces ---------------------------------------------------------------------------------


def _expectation_minus_target(
    family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array
) -> tuple[jax.Array, jax.Array]:
    """``g'(eta) - T(x)``, and whether each draw is inside the support."""
    chi, log_h = family.target(x)[:2]
    return family.expectation(eta) - chi, log_h > -jnp.inf


def _at_point(family: expfam.ExponentialFamily, eta: jax.Array) -> dict[str, Any]:
    """Everything the single-point checks compare.

    With ``chi, elc`` = q's own target ``(g'(eta), E[log h])`` and ``H(e) = cross_entropy(e, chi, elc)``:
    closed forms and their autodiff versions; the gradients of H in chi and elc; the Hessian of H
    and its forward derivative along ones; g' after the inverse map and after a trip through the
    source parameters.
    """
    chi, elc = family.distribution_target(eta)[:2]

    def loss(e: jax.Array) -> jax.Array:
        return expfam.cross_entropy(family, e, (chi, elc))

    d_chi, d_elc = jax.grad(lambda c, l: expfam.cross_entropy(family, eta, (c, l)), argnums=(0, 1))(chi, elc)
    source = family.source_from_natural(eta)
    return {
        "expectation": chi,
        "autodiff_expectation": family.autodiff_expectation(eta),
        "fisher": family.fisher(eta),
        "autodiff_fisher": family.autodiff_fisher(eta),
        "d_chi": d_chi,
        "d_elc": d_elc,
        "hessian": jax.hessian(loss)(eta),
        "forward": jax.jvp(loss, (eta,), (jnp.ones_like(eta),))[1],
        "expected_forward": jnp.sum(family.expectation(eta) - chi),
        "from_inverse": family.expectation(family.natural_from_expectation(chi)),
        "from_source": family.expectation(family.natural_from_source(**source)),
        "source": source,
    }


def _reverse_derivatives(
    family: expfam.ExponentialFamily, eta: jax.Array, target: tuple[jax.Array, jax.Array], directions: jax.Array
) -> tuple[jax.Array, ...]:
    """Reverse-mode derivatives at (eta, expectation = directions[3]).

    ``H(e) = sum cross_entropy(family, e, target)``: H, its gradient, and the reverse-over-reverse
    Hessian-vector product along ``u = directions[0]``; the inverse map at the expectation point
    and its vector-Jacobian product with the cotangent ``c = directions[2]`` (reverse mode
    transposes the inverse map's custom JVP, so this checks that rule too).
    """
    u, _, c, expectation = directions

    def loss(e: jax.Array) -> jax.Array:
        return jnp.sum(expfam.cross_entropy(family, e, target))

    value, gradient = jax.value_and_grad(loss)(eta)
    hessian_u = jax.grad(lambda e: jnp.vdot(jax.grad(loss)(e), u))(eta)
    inverse, pullback = jax.vjp(family.natural_from_expectation, expectation)
    return value, gradient, hessian_u, inverse, pullback(c)[0]


def _cross_entropy_and_kl(
    family: expfam.ExponentialFamily, eta_p: jax.Array, eta_q: jax.Array, x: jax.Array
) -> tuple[jax.Array, ...]:
    """nll of the draws x under q and p, H(p, q) from p's prepared target, and KL(p || q)."""
    cross = expfam.cross_entropy(family, eta_q, family.distribution_target(eta_p))
    return expfam.nll(family, eta_q, x), expfam.nll(family, eta_p, x), cross, expfam.kl_divergence(family, eta_p, eta_q)


def _moments(family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array) -> tuple[jax.Array, ...]:
    """Mean sufficient statistics of the draws x, and g'(eta), g''(eta)."""
    return jnp.mean(family.target(x)[0], axis=0), family.expectation(eta), family.fisher(eta)


# -- the routes to one cross-entropy ------------------------------------------------------------


def _sample_routes(family, eta, x):
    loss = expfam.loss(family, lambda raw: raw)
    keep = jnp.ones(jnp.broadcast_shapes(eta.shape[:-1], expfam.nll(family, eta, x).shape), bool)
    return {
        "nll": lambda e: expfam.nll(family, e, x),
        "-log_prob": lambda e: -expfam.log_prob(family, e, x),
        "loss(x)": lambda e: loss(e, x),
        "loss(x, weights)": lambda e: loss(e, x, weights=jnp.ones(keep.shape)),
        "loss(x, where)": lambda e: loss(e, x, where=keep),
        "loss(target)": lambda e: loss(e, family.target(x)),
        "loss(target, where)": lambda e: loss(e, family.target(x), where=keep),
        "cross_entropy(target)": lambda e: expfam.cross_entropy(family, e, family.target(x)),
        "cross_entropy(Target.from_samples)": lambda e: expfam.cross_entropy(
            family, e, expfam.Target.from_samples(family, x)
        ),
    }


def _distribution_routes(family, eta_p):
    loss = expfam.loss(family, lambda raw: raw)
    return {
        "distribution_cross_entropy": lambda e: expfam.distribution_cross_entropy(family, eta_p, e),
        "cross_entropy(distribution_target)": lambda e: expfam.cross_entropy(
            family, e, family.distribution_target(eta_p)
        ),
        "loss(Target.from_natural)": lambda e: loss(e, expfam.Target.from_natural(family, eta_p)),
        "loss(Target.from_natural, where)": lambda e: loss(
            e, expfam.Target.from_natural(family, eta_p), where=jnp.ones(e.shape[:-1], bool)
        ),
    }


#: The routes whose gradients are compared too (every route's value is): one per mechanism, since the
#: others only rearrange the same target before the one template.
GRADIENT_ROUTES = (
    "nll",
    "loss(target, where)",
    "cross_entropy(target)",
    "distribution_cross_entropy",
    "loss(Target.from_natural, where)",
)


def _program_key(route, eta):
    """What ``route`` computes at eta: its jaxpr and the values it captures (an outer tracer by
    identity, a constant by its bytes)."""
    closed = jax.make_jaxpr(route)(eta)
    captured = tuple(
        id(c) if isinstance(c, jax.core.Tracer) else (np.shape(c), np.asarray(c).dtype.str, np.asarray(c).tobytes())
        for c in closed.consts
    )
    return str(closed.jaxpr), captured


def _evaluate(routes, eta):
    """Value (and gradient, for ``GRADIENT_ROUTES``) of every route. Routes that trace to the same
    program (same jaxpr, same captured values) give the same value and gradient by construction:
    each such group is evaluated once (most routes only rearrange the target before one template),
    which keeps the compiled program less than half as large."""
    computed, results = {}, {}
    for name, f in routes.items():
        key = _program_key(f, eta)
        value, grad = computed.get(key, (None, None))
        value = f(eta) if value is None else value
        if name in GRADIENT_ROUTES and grad is None:
            grad = jax.grad(lambda e, f=f: jnp.sum(f(e)))(eta)
        computed[key] = (value, grad)
        results[name] = (value, grad if name in GRADIENT_ROUTES else None)
    return results


def route_values(family, eta, x, eta_q):
    """Value (and gradient) of every route: the sample routes at (eta, x) and the distribution
    routes from p = eta at q = eta_q, all examples at once (the families batch natively)."""
    return _evaluate(_sample_routes(family, eta, x), eta), _evaluate(_distribution_routes(family, eta), eta_q)


# -- the probe ----------------------------------------------------------------------------------
#
# The pieces compile separately, each once per family and dtype (the examples of an entry share
# shapes): XLA's compile time grows faster than the size of a program, and one program holding
# every piece compiled slower than the pieces (Gamma, float64: 24.5 s against 17 s, see the note).


@functools.cache
def compiled(fn: Any) -> Any:
    """``jax.jit(fn)`` with the family (argument 0) static, one object per function."""
    return jax.jit(fn, static_argnums=0)


def _per_sample(family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array) -> tuple[jax.Array, ...]:
    """At draws x, eta broadcast to them: ``log q(x | eta)``, the gradient of the summed nll,
    ``g'(eta) - T(x)`` and whether each draw is in the support."""
    TRACES.append((family, jnp.dtype(jnp.result_type(float)).name))
    return (*log_prob_and_gradient(family, eta, x), *_expectation_minus_target(family, eta, x))


#: The family is an argument without leaves (a static pytree): equal families share the program.
compiled_per_sample = jax.jit(_per_sample)


def _reverse_at_steps(
    family: expfam.ExponentialFamily, eta: jax.Array, x: jax.Array, directions: jax.Array
) -> tuple[jax.Array, ...]:
    """``_reverse_derivatives`` at draws x, at eta and ``eta +- H v`` with the expectation ``+- K w``."""
    target = family.target(x)[:2]
    u, v, c, w = directions
    expectation = family.expectation(eta)
    points = jnp.stack([eta, eta + H * v, eta - H * v])
    shifted = jnp.stack([jnp.stack([u, v, c, e]) for e in (expectation, expectation + K * w, expectation - K * w)])
    return jax.vmap(lambda e, d: _reverse_derivatives(family, e, target, d))(points, shifted)


def _batched_sample(family: expfam.ExponentialFamily, key: jax.Array, eta: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Draws of shape (5,) at eta batched to 3, and whether all are in the support (labels: >= 0)."""
    sample = family.sample(key, jnp.broadcast_to(eta, (3, eta.shape[-1])), (5,))
    labels = family.event_shape and jnp.issubdtype(sample.dtype, jnp.integer)
    return sample, jnp.all(sample >= 0) if labels else jnp.all(family.support.contains(sample))


def _evaluate_probe(family: expfam.ExponentialFamily, arrays: dict[str, jax.Array]) -> dict[str, Any]:
    eta, x = arrays["eta"], arrays["x"]
    examples = range(eta.shape[0])
    per_draw = np.broadcast_to(eta[:, None, :], (eta.shape[0], BATCH, eta.shape[1]))

    def stacked(fn: Any, *args: Any) -> Any:
        """``fn`` at each example (the rows of args), the results stacked in numpy."""
        rows = [fn(*a) for a in zip(*args, strict=True)]
        return jax.tree.map(lambda *values: np.stack([np.asarray(v) for v in values]), *rows)

    log_prob, gradient, expected_gradient, inside = stacked(lambda e, s: compiled_per_sample(family, e, s), per_draw, x)
    kl = compiled(expfam.kl_divergence)
    out = {
        "log_prob": log_prob,
        "gradient": gradient,
        "expected_gradient": expected_gradient,
        "inside": inside,
        "at": stacked(lambda e: compiled(_at_point)(family, e), eta),
        "kl": np.asarray([[np.asarray(kl(family, eta[i], eta[j])) for j in examples] for i in examples]),
        "routes": compiled(route_values)(family, eta, arrays["x_routes"], np.roll(eta, 1, axis=0)),
    }
    if "x_mc" not in arrays:  # float32, the precision users sample in (the checks' draws are float64)
        out["sample"], out["sample_inside"] = compiled(_batched_sample)(family, arrays["key"], eta[0])
    else:
        mc = compiled(_cross_entropy_and_kl)
        out["mc"] = stacked(lambda p, q, s: mc(family, p, q, s), eta, np.roll(eta, -1, axis=0), arrays["x_mc"])
        out["entropy"] = stacked(lambda e: compiled(expfam.entropy)(family, e), eta)
        out["moments"] = stacked(lambda e, s: compiled(_moments)(family, e, s), eta, arrays["x_moments"])
        out["reverse"] = compiled(_reverse_at_steps)(family, eta[0], arrays["x_reverse"], arrays["directions"])
    return out


@functools.cache
def probe(family: expfam.ExponentialFamily, dtype: str) -> dict[str, Any]:
    """Every quantity the checks read at the entry's examples in ``dtype``, with the inputs, as numpy
    arrays (computed once per family and dtype)."""
    with jax.enable_x64(dtype == "float64"):
        arrays = inputs(family)
        out = _evaluate_probe(family, arrays)
        arrays.pop("key")
        return jax.tree.map(np.asarray, {**out, "inputs": arrays})


def row(family: expfam.ExponentialFamily, source: dict[str, Any]) -> int:
    """The index of the example ``source`` in the family's catalogue entry."""
    return list(entry_of(family).examples).index(source)
