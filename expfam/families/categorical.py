"""Categorical over ``num_classes`` classes: a class label.

``q(k) = softmax(eta)_k``. Natural parameters are the K logits (an over-complete
parametrization: adding a constant to every logit changes nothing), ``T(x)`` is the
one-hot vector, ``g(eta) = logsumexp(eta)``, ``h = 1``. Expectation ``softmax(eta)``;
Fisher ``diag(p) - p p^T`` (singular along ``(1, ..., 1)``), each entry from
``log_softmax`` (``softmax_fisher``). ``natural_from_expectation``
returns the log-probabilities, the representative with ``g = 0``.

Targets enter through two named doors, never told apart by dtype or shape:

* class labels: ``family.target(labels)``, ``nll(family, logits, labels)``, ``loss(family)(logits,
  labels)``: an INTEGER array of shape ``batch``; a label outside ``0..K-1`` has loss +inf. A
  floating array is a TypeError (cast integer-valued labels with ``.astype(int)``).
* one-hot or probability vectors (soft labels, a teacher's probabilities):
  ``family.probabilities_target(p)``, shape ``batch + (K,)``, non-negative and summing to 1 within
  ``sqrt(eps)`` of the dtype p is given in (a bf16 teacher is judged at bf16's precision; p is not
  renormalized); a vector off the simplex has loss +inf. ``Target.from_expectation(family, p)``
  takes p as it is, unchecked: its value is ``-sum_k p_k log softmax(eta)_k`` (optax's
  ``softmax_cross_entropy``) and its gradient the derivative of that value, normalized or not.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, as_float
from expfam._core.target import Target
from expfam._numerics import special


def _logsumexp(eta: Array) -> Array:
    """``log sum_k exp(eta_k)`` over the last axis, kept (a max shift; -inf where every logit is).

    The shift is kept finite by a maximum with the lowest float, not by a select on ``isfinite``:
    XLA:CPU then evaluates the max, the sum of exponentials and what reads them in one fusion,
    one pass over the logits fewer (a +inf logit, outside the domain, gives NaN)."""
    shift = jax.lax.stop_gradient(jnp.max(eta, axis=-1, keepdims=True))
    shift = jnp.maximum(shift, jnp.finfo(eta.dtype).min)
    return shift + jnp.log(jnp.sum(jnp.exp(eta - shift), axis=-1, keepdims=True))


def softmax_fisher(eta: Array) -> Array:
    """``diag(p) - p p^T`` for ``p = softmax(eta)``, shape (..., K, K), without ``p - p^2`` (which
    loses every digit as ``p_k -> 1``): the diagonal is ``p_k (1 - p_k)`` with ``1 - p_k`` the sum of
    the other probabilities, the off-diagonal ``-exp(log p_i + log p_j)`` from ``log_softmax``."""
    k = eta.shape[-1]
    eye = jnp.eye(k, dtype=bool)
    log_p = jax.nn.log_softmax(eta, axis=-1)
    p = jnp.exp(log_p)
    complement = jnp.sum(jnp.where(eye, 0.0, p[..., None, :]), axis=-1)
    off_diagonal = -jnp.exp(log_p[..., :, None] + log_p[..., None, :])
    return jnp.where(eye, (p * complement)[..., None, :], off_diagonal)


def softmax_kl(eta_p: Array, eta_q: Array) -> Array:
    """``sum_k p_k (log p_k - log q_k) = sum_k p_k E(q_k / p_k)`` with ``E(z) = z - 1 - log z >= 0``:
    non-negative terms (also ``Multinomial``'s KL, times n).

    The log-ratios ``l_k = log p_k - log q_k`` are taken as ``d_k - D`` with ``d = eta_p - eta_q``
    and ``D = logsumexp(log q + d)`` (``= lse(eta_p) - lse(eta_q)``), not as a difference of
    two log-softmaxes (each off by ulps of ``|log p_k|``, which a KL far below one cannot afford).
    An error in D moves the value only at second order (``sum_k p_k e^-l_k = 1``). ``p E(e^-l)`` is
    ``p expm1mx(-l)`` for ``|l| < 1/2`` and ``e^(log p - l) - p + p l`` (cancelling by a few at
    most) beyond.
    """
    log_p = jax.nn.log_softmax(eta_p, axis=-1)
    d = eta_p - eta_q
    ratio = d - jax.nn.logsumexp(jax.nn.log_softmax(eta_q, axis=-1) + d, axis=-1, keepdims=True)
    p = jnp.exp(log_p)
    near = jnp.abs(ratio) < 0.5
    terms = jnp.where(near, p * special.expm1mx(-jnp.where(near, ratio, 0.0)), jnp.exp(log_p - ratio) - p + p * ratio)
    return jnp.sum(jnp.where(log_p > -jnp.inf, terms, 0.0), axis=-1)


@jax.custom_jvp
def log_normalizer_minus_inner(eta: Array, chi: Array) -> Array:
    """``-sum_k chi_k (eta_k - g(eta))``: ``g(eta) - chi . eta`` for a probability vector chi.

    The two agree wherever ``sum_k chi_k = 1`` (every expectation parameter); the first is one
    reduction over the classes after ``g`` rather than the two of ``g - chi . eta`` (timings in
    bench/results/losses_cpu.md), and it is optax's ``softmax_cross_entropy``. The derivatives
    (custom JVP, no autodiff through the max shift) are those of this value for every chi,
    normalized or not: ``sum(chi) softmax(eta) - chi`` in eta (``softmax(eta) - chi`` on the
    simplex) and ``g(eta) - eta`` in chi.
    """
    return -jnp.sum(chi * (eta - _logsumexp(eta)), axis=-1)


@log_normalizer_minus_inner.defjvp
def _log_normalizer_minus_inner_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple:
    (eta, chi), (eta_dot, chi_dot) = primals, tangents
    g = _logsumexp(eta)
    log_q = eta - g
    value = -jnp.sum(chi * log_q, axis=-1)
    total = jnp.sum(chi, axis=-1, keepdims=True, dtype=log_q.dtype)
    return value, jnp.sum((total * jnp.exp(log_q) - chi) * eta_dot - log_q * chi_dot, axis=-1)


@jax.custom_jvp
def log_normalizer_minus_label(eta: Array, labels: Array) -> Array:
    """``g(eta) - eta_y`` for integer labels y (inside ``0..K-1``), the label's logit gathered.

    Its derivative ``softmax(eta) - onehot(y)`` (custom JVP) reuses the value's ``exp(eta - max)``:
    one pass of exponentials over the N x K logits for value and gradient, where the log-normalizer's
    own derivative would evaluate the softmax again.
    """
    return _logsumexp(eta)[..., 0] - jnp.take_along_axis(eta, labels[..., None], axis=-1)[..., 0]


@log_normalizer_minus_label.defjvp
def _log_normalizer_minus_label_jvp(primals: tuple[Array, Array], tangents: tuple[Array, Array]) -> tuple:
    (eta, labels), (eta_dot, _) = primals, tangents
    shift = jnp.max(eta, axis=-1, keepdims=True)
    shift = jnp.where(jnp.isfinite(shift), shift, 0.0)
    e = jnp.exp(eta - shift)
    total = jnp.sum(e, axis=-1, keepdims=True)
    gathered = jnp.take_along_axis(eta, labels[..., None], axis=-1)[..., 0]
    value = (shift + jnp.log(total))[..., 0] - gathered
    label_dot = jnp.take_along_axis(eta_dot, labels[..., None], axis=-1)[..., 0]
    return value, jnp.sum(e * eta_dot, axis=-1) / total[..., 0] - label_dot


@dataclasses.dataclass(frozen=True)
class LabelsOrProbabilities(supports.Support):
    """Probability vectors of length ``num_classes`` (non-negative, summing to 1 within ``sqrt(eps)``
    of their precision), the one-hot vectors among them standing for labels; ``Categorical.target``
    takes integer labels, ``Categorical.probabilities_target`` the vectors."""

    num_classes: int

    def __post_init__(self) -> None:
        description = (
            f"integer labels 0..{self.num_classes - 1} (family.target), or one-hot / probability vectors of "
            f"length {self.num_classes} (family.probabilities_target)"
        )
        object.__setattr__(self, "description", description)

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.num_classes,)

    @property
    def point(self) -> np.ndarray:
        return np.full((self.num_classes,), 1.0 / self.num_classes)

    def contains(self, x: Array, precision: object = None) -> Array:
        tolerance = jnp.sqrt(jnp.finfo(x.dtype if precision is None else precision).eps)
        # min(x) >= 0 rather than all(x >= 0) (the same for NaN, which min propagates): a float
        # reduction that XLA:CPU fuses into the loss, and compiles in half the time of the boolean one
        # (bench/results/first_call.md).
        return (jnp.min(x, axis=-1) >= 0) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tolerance)


@dataclasses.dataclass(frozen=True)
class Categorical(ExponentialFamily):
    """Categorical over ``num_classes = K`` classes: a class label (the softmax cross-entropy).

    * density: ``q(k) = softmax(eta)_k = p_k``; support: integer labels ``0 .. K - 1``, or one-hot /
      probability vectors of length K (soft labels, a distribution target)
    * natural parameters (M = K): ``eta = log(probabilities)``, the logits (over-complete: adding a
      constant to every logit changes nothing; ``log p`` is the representative with ``g = 0``)
    * sufficient statistics ``T(x) = one_hot(x)``; carrier ``h = 1``
    * log-normalizer ``g(eta) = logsumexp(eta)``
    * expectation parameters ``E[T(x)] = softmax(eta) = p``
    * source parameters: ``probabilities = p``, a vector of K probabilities summing to 1
    * scipy: ``scipy.stats.multinomial(1, probabilities)`` at the one-hot vector of the label
    * TFP: ``tfd.Categorical(probs=probabilities)``
    * canonical link ``link(raw)``: the logits themselves, ``eta = raw``
    * source head ``source_link(Categorical(K))``: ``probabilities = softmax(raw)``
    """

    num_classes: int
    catalogue = (
        ({"num_classes": 4}, ({"probabilities": [0.1, 0.2, 0.3, 0.4]}, {"probabilities": [0.97, 0.01, 0.01, 0.01]})),
    )

    def __post_init__(self) -> None:
        if not self.num_classes >= 2:
            raise ValueError(f"Categorical: num_classes must be >= 2, got {self.num_classes}")

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (
            SourceParameter(
                "probabilities", constraints.probabilities, self.num_classes, from_logits=constraints.log_probabilities
            ),
        )

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
        return softmax_fisher(eta)

    def solve_natural(self, chi: Array) -> Array:
        return jnp.log(chi)

    def stable_entropy(self, eta: Array) -> Array:
        """``-sum_k p_k log p_k`` with ``log p = log_softmax(eta)``: non-negative terms."""
        log_p = jax.nn.log_softmax(eta, axis=-1)
        return -jnp.sum(jnp.where(log_p > -jnp.inf, jnp.exp(log_p) * log_p, 0.0), axis=-1)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return softmax_kl(eta_p, eta_q)

    @property
    def support(self) -> supports.Support:
        return LabelsOrProbabilities(self.num_classes)

    def check_sample(self, x: Any) -> Array:
        """Class labels: an integer array of shape ``batch`` (never read from a floating array)."""
        x = jnp.asarray(x)
        if jnp.issubdtype(x.dtype, jnp.complexfloating):
            raise TypeError(f"expected real numbers, got an array of dtype {x.dtype}")
        if not jnp.issubdtype(x.dtype, jnp.integer):
            raise TypeError(
                f"{self.name}: samples are integer class labels of shape batch, got a {x.dtype} array of shape "
                f"{x.shape}; cast integer-valued labels with .astype(int), and give one-hot or probability "
                f"vectors of shape batch + ({self.num_classes},) through family.probabilities_target(p)"
            )
        return x

    def probabilities_target(self, p: Any) -> Target:
        """One-hot or probability vectors p (shape ``batch + (K,)``) as targets: ``Target(p, 0)``.

        The loss is ``-sum_k p_k log softmax(eta)_k`` (optax's ``softmax_cross_entropy``). p must be
        non-negative and sum to 1 within ``sqrt(eps)`` of the dtype it is given in (bf16 soft labels
        at bf16's precision); elsewhere the loss is +inf. p is not renormalized.

        Raises:
            TypeError: integer p (labels go through ``family.target``); ValueError: a trailing size
                other than K.
        """
        p = jnp.asarray(p)
        if jnp.issubdtype(p.dtype, jnp.integer) or p.dtype == bool:
            raise TypeError(
                f"{self.name}: probability vectors are floating, got a {p.dtype} array of shape {p.shape}; "
                "integer class labels go through family.target(labels) or expfam.nll(family, logits, labels)"
            )
        precision = p.dtype if jnp.issubdtype(p.dtype, jnp.floating) else None
        p = as_float(p)
        if p.ndim == 0 or p.shape[-1] != self.num_classes:
            raise ValueError(
                f"{self.name}: probability vectors must have shape (..., {self.num_classes}), got shape {p.shape}"
            )
        # p is kept as given (no safe point substituted: that select would write a copy of p); a row
        # outside the support has loss +inf through elc, and loss(where=...) neutralizes padding.
        inside = self.support.contains(p, precision)
        return Target(p, jnp.where(inside, 0.0, -jnp.inf).astype(p.dtype))

    def target(self, x: Any) -> Target:
        """Integer class labels (shape ``batch``) as one-hot targets (+inf loss outside ``0..K-1``)."""
        x = self.check_sample(x)
        inside = (x >= 0) & (x < self.num_classes)
        chi = jax.nn.one_hot(x, self.num_classes, dtype=as_float(0.0).dtype)
        return Target(chi, jnp.where(inside, 0.0, -jnp.inf).astype(chi.dtype), sample=jnp.where(inside, x, 0))

    def cross_entropy_of(self, eta: Array, target: Target) -> Array:
        """Speed paths, exact in value and derivative: a label's logit gathered (no one-hot product:
        see bench/results/losses_cpu.md) and, for probability vectors, ``-chi . (eta - g)``
        in one reduction; the base template for distribution targets."""
        if target.natural is not None:
            return super().cross_entropy_of(eta, target)
        if target.sample is not None:
            value = log_normalizer_minus_label(eta, target.sample)
        else:
            value = log_normalizer_minus_inner(eta, target.chi)
        return jnp.where(jnp.isneginf(target.elc), jnp.inf, value - target.elc)

    def sufficient_statistics(self, x: Array) -> Array:
        return x

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x[..., 0])

    def is_natural_valid(self, eta: Array) -> Array:
        """Every finite logit vector (the base class rules out +-inf and NaN)."""
        return jnp.ones(eta.shape[:-1], bool)

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
