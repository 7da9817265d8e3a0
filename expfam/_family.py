"""The exponential-family base class.

A family is ``q(x | eta) = h(x) exp(eta . T(x) - g(eta))``. A subclass writes the math:

* ``natural_from_source(**source)`` and ``source_from_natural(eta)``: its usual parameters;
* ``log_normalizer_formula(eta)``: the plain formula for ``g``;
* ``sufficient_statistics(x)`` (``T``) and ``log_carrier(x)`` (``log h``);
* ``in_support(x)``, ``support_point`` and ``is_natural_valid(eta)``: its domains;
* ``natural_from_expectation(chi)`` (closed form) or ``solve_natural(chi)`` (iterative);
* ``expected_log_carrier(eta)``, ``link(raw)`` and ``sample(key, eta, shape)``.

Everything else is derived here. ``log_normalizer`` wraps the formula in a custom JVP whose
tangent is ``expectation(eta) . d_eta``, so every loss built on it differentiates exactly.
``expectation`` and ``fisher`` default to autodiff of the formula; a subclass may override
them with closed forms, while ``autodiff_expectation`` and ``autodiff_fisher`` stay callable.

Families are frozen dataclasses holding only static configuration. Each is registered as a
pytree without leaves, so it passes through ``jit`` and ``vmap`` as an ordinary argument
and a second call with an equal family never recompiles.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any, ClassVar

import jax
import jax.numpy as jnp

from expfam import _solve

Array = jax.Array


def as_float(x: Any) -> Array:
    """Convert to a floating array: half precision and integers are promoted.

    bf16 and f16 are computed in float32; integers and Python numbers take JAX's default
    float (float32, or float64 under ``jax_enable_x64``).
    """
    x = jnp.asarray(x)
    if x.dtype in (jnp.bfloat16, jnp.float16):
        return x.astype(jnp.float32)
    if not jnp.issubdtype(x.dtype, jnp.floating):
        return x.astype(jnp.result_type(float))
    return x


def _is_concrete(x: Array) -> bool:
    return not isinstance(x, jax.core.Tracer)


class ExponentialFamily:
    """Base of every family; see the module docstring for what a subclass provides."""

    #: Short description of the support, used in error messages and docs.
    support: ClassVar[str] = ""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        jax.tree_util.register_static(cls)

    # -- shapes --------------------------------------------------------------------------
    @property
    def num_natural(self) -> int:
        """M, the length of the natural-parameter vector."""
        raise NotImplementedError

    @property
    def event_shape(self) -> tuple[int, ...]:
        """Shape of one sample x."""
        return ()

    @property
    def name(self) -> str:
        fields = ", ".join(f"{f.name}={getattr(self, f.name)!r}" for f in dataclasses.fields(self))  # type: ignore[arg-type]
        return f"{type(self).__name__}({fields})"

    # -- primitives a subclass writes ----------------------------------------------------
    #: ``natural_from_source(*, <source parameters>) -> eta``; the keywords are the family's
    #: usual parameters (for example ``shape`` and ``rate``), as ``source_from_natural`` returns.
    natural_from_source: Callable[..., Array]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        raise NotImplementedError

    def log_normalizer_formula(self, eta: Array) -> Array:
        """The plain formula for g(eta), differentiated by ordinary autodiff."""
        raise NotImplementedError

    def sufficient_statistics(self, x: Array) -> Array:
        raise NotImplementedError

    def log_carrier(self, x: Array) -> Array:
        raise NotImplementedError

    def in_support(self, x: Array) -> Array:
        """Boolean mask over the batch: is x in the support?"""
        raise NotImplementedError

    #: A point of the support (a scalar, or an array of the event shape), substituted for
    #: out-of-support samples before T and log h are evaluated, so that their values (later
    #: replaced by -inf) never produce NaN.
    support_point: ClassVar[Any] = 0.0

    def is_natural_valid(self, eta: Array) -> Array:
        """Boolean mask over the batch: is eta inside the natural domain? Usable in jit."""
        raise NotImplementedError

    def expected_log_carrier(self, eta: Array) -> Array:
        """E_q[log h(x)] under q = q(. | eta)."""
        raise NotImplementedError

    def link(self, raw: Array) -> Array:
        """Map unconstrained network outputs in R^M to valid natural parameters."""
        raise NotImplementedError

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Draw samples of shape ``shape + batch_shape + event_shape``."""
        raise NotImplementedError

    def sample_dot(self, eta: Array, x: Any) -> tuple[Array, Array] | None:
        """Optional fast path of ``nll``: ``(T(x) . eta, log h(x))`` without forming ``T(x)``.

        Both over the broadcast batch axes of eta and x, ``log h = -inf`` outside the support.
        The default, None, makes ``nll`` form the target ``(T(x), log h(x))`` instead.
        """
        return None

    def solve_natural(self, chi: Array) -> Array:
        """Iterative inverse of the expectation map (families without a closed form)."""
        raise NotImplementedError

    # -- optional stable values ---------------------------------------------------------
    # The generic forms below (``-chi . eta + g(eta) - elc``, the Bregman KL) subtract large
    # terms at extreme parameters (a Gamma with shape 1e5, a Poisson count of 1e6). A family
    # may return the same quantity in a form that does not cancel; ``nll``, ``entropy`` and
    # ``kl_divergence`` then take their VALUE from it and keep the generic derivative, so the
    # gradient of the loss stays exactly ``g'(eta) - chi``. ``None`` (the default): generic.
    def stable_nll(self, eta: Array, x: Array) -> Array | None:
        """``-log q(x | eta)`` for x inside the support (eta and x broadcast to one batch)."""
        return None

    def stable_entropy(self, eta: Array) -> Array | None:
        """The entropy of ``q(. | eta)``."""
        return None

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array | None:
        """``KL(q(. | eta_p) || q(. | eta_q))`` (eta_p and eta_q broadcast to one batch)."""
        return None

    def log_normalizer_minus_inner(self, eta: Array, chi: Array) -> Array | None:
        """Optional fast path of ``cross_entropy``: ``g(eta) - chi . eta`` (same batch) in a form
        that evaluates faster, with the derivatives of that expression. None (the default): the
        plain expression."""
        return None

    # -- derived ---------------------------------------------------------------------------
    def log_normalizer(self, eta: Array) -> Array:
        """g(eta), with the exact derivative expectation(eta) . d_eta (custom JVP)."""
        return _log_normalizer(self, eta)

    def expectation(self, eta: Array) -> Array:
        """Expectation parameters g'(eta) = E[T(x)]; closed form where a family has one."""
        return self.autodiff_expectation(eta)

    def autodiff_expectation(self, eta: Array) -> Array:
        """g'(eta) by reverse-mode autodiff of the plain formula (the generic version)."""
        return jax.grad(lambda e: jnp.sum(self.log_normalizer_formula(e)))(eta)

    def fisher(self, eta: Array) -> Array:
        """Fisher information g''(eta) = Cov[T(x)], shape (..., M, M)."""
        return _per_row(jax.jacfwd(self.expectation), eta)

    def autodiff_fisher(self, eta: Array) -> Array:
        """g''(eta) by autodiff of the plain formula (the generic version)."""
        return _per_row(jax.hessian(self.log_normalizer_formula), eta)

    def natural_from_expectation(self, chi: Array) -> Array:
        """The inverse of ``expectation``: solved iteratively, differentiated implicitly."""
        return _solve.invert_expectation(self, chi)

    def target(self, x: Any) -> tuple[Array, Array]:
        """A sample as a cross-entropy target: ``(T(x), log h(x))``.

        Outside the support the target is ``(T(support_point), -inf)``, so the loss is
        +inf (log-probability -inf) and never NaN.
        """
        x = self.check_sample(x)
        inside = self.in_support(x)
        inside_event = inside.reshape(inside.shape + (1,) * len(self.event_shape))
        fallback = jnp.broadcast_to(jnp.asarray(self.support_point, x.dtype), x.shape)
        x_safe = jnp.where(inside_event, x, fallback)
        chi = self.sufficient_statistics(x_safe)
        log_h = jnp.where(inside, self.log_carrier(x_safe), -jnp.inf)
        return chi, log_h

    def distribution_target(self, eta_p: Array) -> tuple[Array, Array]:
        """A distribution p = q(. | eta_p) as a target: ``(g'(eta_p), E_p[log h])``."""
        eta_p = self.check_natural(eta_p)
        return self.expectation(eta_p), self.expected_log_carrier(eta_p)

    # -- checks ------------------------------------------------------------------------
    def check_natural(self, eta: Any) -> Array:
        """Promote eta to float, check its trailing axis, and (eagerly) its domain.

        Raises:
            ValueError: wrong trailing size (also under jit, at trace time), or, outside
                jit, parameters outside the natural domain. Inside jit use
                ``is_natural_valid`` as a mask instead.
        """
        eta = as_float(eta)
        if eta.ndim == 0 or eta.shape[-1] != self.num_natural:
            raise ValueError(
                f"{self.name}: natural parameters must have shape (..., {self.num_natural}), got shape {eta.shape}"
            )
        if _is_concrete(eta) and not bool(jnp.all(self.is_natural_valid(eta))):
            raise ValueError(
                f"{self.name}: natural parameters outside the natural domain "
                f"(check family.is_natural_valid(eta)); got {eta}"
            )
        return eta

    def check_sample(self, x: Any) -> Array:
        """Promote x to float and check that it ends with the event shape."""
        x = as_float(x)
        n = len(self.event_shape)
        if x.shape[x.ndim - n :] != self.event_shape or x.ndim < n:
            raise ValueError(f"{self.name}: samples must have shape (...,) + {self.event_shape}, got shape {x.shape}")
        return x


def broadcast_to_draws(shape: tuple[int, ...], *params: Array) -> tuple[Array, ...]:
    """Broadcast per-distribution parameters to ``shape + batch_shape`` for sampling.

    Explicit, so that ``sample(key, eta, shape)`` never relies on rank promotion.
    """
    return tuple(jnp.broadcast_to(p, shape + p.shape) for p in params)


def _per_row(fn: Any, eta: Array) -> Array:
    """Apply a function of one natural-parameter vector over all batch axes."""
    return jnp.vectorize(fn, signature="(m)->(m,m)")(eta)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0,))
def _log_normalizer(family: ExponentialFamily, eta: Array) -> Array:
    return family.log_normalizer_formula(eta)


@_log_normalizer.defjvp
def _log_normalizer_jvp(
    family: ExponentialFamily, primals: tuple[Array], tangents: tuple[Array]
) -> tuple[Array, Array]:
    (eta,), (eta_dot,) = primals, tangents
    value = family.log_normalizer_formula(eta)
    return value, jnp.sum(family.expectation(eta) * eta_dot, axis=-1)
