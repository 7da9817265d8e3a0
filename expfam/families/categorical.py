"""Categorical over ``num_classes`` classes: a class label.

``q(k) = softmax(eta)_k``. Natural parameters are the K logits (an over-complete
parametrization: adding a constant to every logit changes nothing), ``T(x)`` is the
one-hot vector, ``g(eta) = logsumexp(eta)``, ``h = 1``. Expectation ``softmax(eta)``;
Fisher ``diag(p) - p p^T`` (singular along ``(1, ..., 1)``). ``natural_from_expectation``
returns the log-probabilities, the representative with ``g = 0``.

Targets: integer arrays are class labels (shape ``batch``); floating arrays are one-hot
or probability vectors (shape ``batch + (K,)``), which must be non-negative and sum to 1
(to within ``sqrt(eps)``; they are not renormalized). A probability vector is the
distribution target of soft labels.
"""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, as_float
from expfam._core.target import Target


def _logsumexp(eta: Array) -> Array:
    """``log sum_k exp(eta_k)`` over the last axis, kept (a max shift; -inf where every logit is)."""
    shift = jax.lax.stop_gradient(jnp.max(eta, axis=-1, keepdims=True))
    shift = jnp.where(jnp.isfinite(shift), shift, 0.0)
    return shift + jnp.log(jnp.sum(jnp.exp(eta - shift), axis=-1, keepdims=True))


@jax.custom_jvp
def log_normalizer_minus_inner(eta: Array, chi: Array) -> Array:
    """``g(eta) - chi . eta`` for a probability vector chi, as ``-sum_k chi_k (eta_k - g(eta))``.

    The two agree wherever ``sum_k chi_k = 1`` (every expectation parameter); the second is one
    reduction over the classes after ``g`` rather than the two of ``g - chi . eta`` (timings in
    bench/results/losses_cpu.md). Derivatives
    are those of ``g(eta) - chi . eta`` (custom JVP): ``softmax(eta) - chi`` in eta, ``-eta`` in chi.
    """
    return -jnp.sum(chi * (eta - _logsumexp(eta)), axis=-1)


@log_normalizer_minus_inner.defjvp
def _log_normalizer_minus_inner_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple:
    (eta, chi), (eta_dot, chi_dot) = primals, tangents
    g = _logsumexp(eta)
    value = -jnp.sum(chi * (eta - g), axis=-1)
    return value, jnp.sum((jnp.exp(eta - g) - chi) * eta_dot - eta * chi_dot, axis=-1)


@dataclasses.dataclass(frozen=True)
class LabelsOrProbabilities(supports.Support):
    """Probability vectors of length ``num_classes`` (non-negative, summing to 1 within ``sqrt(eps)``);
    ``Categorical.target`` also takes integer labels."""

    num_classes: int

    def __post_init__(self) -> None:
        description = (
            f"integer labels 0..{self.num_classes - 1}, or one-hot / probability vectors of length {self.num_classes}"
        )
        object.__setattr__(self, "description", description)

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.num_classes,)

    @property
    def point(self) -> np.ndarray:
        return np.full((self.num_classes,), 1.0 / self.num_classes)

    def contains(self, x: Array) -> Array:
        tolerance = jnp.sqrt(jnp.finfo(x.dtype).eps)
        return jnp.all(x >= 0, axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tolerance)


@dataclasses.dataclass(frozen=True)
class Categorical(ExponentialFamily):
    num_classes: int
    catalogue = (
        ({"num_classes": 4}, ({"probabilities": [0.1, 0.2, 0.3, 0.4]}, {"probabilities": [0.97, 0.01, 0.01, 0.01]})),
    )

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("probabilities", constraints.probabilities, self.num_classes),)

    @property
    def num_natural(self) -> int:
        return self.num_classes

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.num_classes,)

    def natural_from_source(self, *, probabilities: Array) -> Array:
        return jnp.log(jnp.asarray(probabilities))

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"probabilities": jax.nn.softmax(eta, axis=-1)}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return jax.nn.logsumexp(eta, axis=-1)

    def expectation(self, eta: Array) -> Array:
        return jax.nn.softmax(eta, axis=-1)

    def fisher(self, eta: Array) -> Array:
        p = jax.nn.softmax(eta, axis=-1)
        return jnp.vectorize(jnp.diag, signature="(k)->(k,k)")(p) - p[..., :, None] * p[..., None, :]

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi)

    def stable_entropy(self, eta: Array) -> Array:
        """``-sum_k p_k log p_k`` with ``log p = log_softmax(eta)``: non-negative terms."""
        log_p = jax.nn.log_softmax(eta, axis=-1)
        return -jnp.sum(jnp.where(log_p > -jnp.inf, jnp.exp(log_p) * log_p, 0.0), axis=-1)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        """``sum_k p_k (log p_k - log q_k)`` from log-softmaxes (no ``logsumexp`` differences)."""
        log_p = jax.nn.log_softmax(eta_p, axis=-1)
        terms = jnp.exp(log_p) * (log_p - jax.nn.log_softmax(eta_q, axis=-1))
        return jnp.sum(jnp.where(log_p > -jnp.inf, terms, 0.0), axis=-1)

    @property
    def support(self) -> supports.Support:
        return LabelsOrProbabilities(self.num_classes)

    def check_sample(self, x: Array) -> Array:
        x = jnp.asarray(x)
        if jnp.issubdtype(x.dtype, jnp.integer):
            return x
        return super().check_sample(x)

    def target(self, x: Array) -> Target:
        """Integer labels (shape ``batch``) as one-hot targets; vectors as in the base class."""
        x = self.check_sample(x)
        if not jnp.issubdtype(x.dtype, jnp.integer):
            return super().target(x)
        inside = (x >= 0) & (x < self.num_classes)
        chi = jax.nn.one_hot(x, self.num_classes, dtype=as_float(0.0).dtype)
        return Target(chi, jnp.where(inside, 0.0, -jnp.inf).astype(chi.dtype), sample=jnp.where(inside, x, 0))

    def cross_entropy_of(self, eta: Array, target: Target) -> Array:
        """Speed paths, exact in value and derivative: a label's logit gathered (no one-hot product:
        see bench/results/losses_cpu.md) and, for probability vectors, ``-chi . (eta - g)``
        in one reduction; the base template for distribution targets."""
        if target.natural is not None:
            return super().cross_entropy_of(eta, target)
        if target.sample is not None and jnp.issubdtype(target.sample.dtype, jnp.integer):
            value = self.log_normalizer(eta) - jnp.take_along_axis(eta, target.sample[..., None], axis=-1)[..., 0]
        else:
            value = log_normalizer_minus_inner(eta, target.chi)
        return jnp.where(jnp.isneginf(target.elc), jnp.inf, value - target.elc)

    def sufficient_statistics(self, x: Array) -> Array:
        return x

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x[..., 0])

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all(~jnp.isnan(eta), axis=-1) & jnp.any(eta > -jnp.inf, axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])

    def link(self, raw: Array) -> Array:
        """The logits themselves: eta = raw."""
        return raw

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        """Integer labels of shape ``shape + batch_shape``."""
        return jax.random.categorical(key, eta, axis=-1, shape=shape + eta.shape[:-1])

    # -- summaries (on the one-hot vector) ----------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """The class probabilities ``softmax(eta)`` (the mean of the one-hot vector)."""
        return jax.nn.softmax(eta, axis=-1)

    def covariance(self, eta: Array) -> Array:
        """``diag(p) - p p^T``."""
        return self.fisher(eta)

    def mode(self, eta: Array) -> Array:
        """The one-hot vector of the most probable class (the first on ties); its argmax is the label."""
        return jax.nn.one_hot(jnp.argmax(eta, axis=-1), self.num_classes, dtype=eta.dtype)
