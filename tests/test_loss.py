"""The optax-style loss: every target form, weights, masks, mixed precision, optax agreement."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_close
from scipy import integrate, stats

import expfam

RNG = np.random.default_rng(0)


def test_categorical_matches_optax(dtype):
    family = expfam.Categorical(5)
    logits = jnp.asarray(RNG.normal(0.0, 3.0, (8, 5)), dtype)
    labels = jnp.asarray(RNG.integers(0, 5, 8))
    one_hot = jax.nn.one_hot(labels, 5, dtype=dtype)
    soft = jax.nn.softmax(jnp.asarray(RNG.normal(size=(8, 5)), dtype))
    fn = expfam.loss(family)
    assert_close(fn(logits, labels), optax.softmax_cross_entropy_with_integer_labels(logits, labels), dtype)
    assert_close(fn(logits, family.probabilities_target(one_hot)), optax.softmax_cross_entropy(logits, one_hot), dtype)
    assert_close(fn(logits, family.probabilities_target(soft)), optax.softmax_cross_entropy(logits, soft), dtype)
    soft_target = expfam.Target.from_expectation(family, soft)
    assert_close(fn(logits, soft_target), optax.softmax_cross_entropy(logits, soft), dtype)
    grad = jax.grad(lambda z: jnp.sum(fn(z, family.probabilities_target(one_hot))))(logits)
    assert_close(grad, jax.grad(lambda z: jnp.sum(optax.softmax_cross_entropy(z, one_hot)))(logits), dtype)


def test_bernoulli_matches_optax(dtype):
    family = expfam.Bernoulli()
    logits = jnp.asarray(np.concatenate([RNG.normal(0.0, 5.0, 8), [-100.0, 100.0]]), dtype)
    labels = jnp.asarray(np.concatenate([RNG.integers(0, 2, 8), [1, 0]]), dtype)
    soft = jnp.asarray(RNG.uniform(size=10), dtype).at[0].set(0.0).at[1].set(1.0)
    fn = expfam.loss(family)
    assert_close(fn(logits[:, None], labels), optax.sigmoid_binary_cross_entropy(logits, labels), dtype)
    soft_target = expfam.Target.from_expectation(family, soft[:, None])
    assert_close(fn(logits[:, None], soft_target), optax.sigmoid_binary_cross_entropy(logits, soft), dtype)


@pytest.mark.parametrize(
    ("family", "reference", "outputs_to_scipy"),
    [
        (expfam.Gamma(), stats.gamma, lambda eta: {"a": eta[:, 1], "scale": -1.0 / eta[:, 0]}),
        (
            expfam.Normal(),
            stats.norm,
            lambda eta: {"loc": eta[:, 0] / (-2 * eta[:, 1]), "scale": (-2 * eta[:, 1]) ** -0.5},
        ),
        (expfam.Poisson(), stats.poisson, lambda eta: {"mu": np.exp(eta[:, 0])}),
    ],
    ids=["Gamma", "Normal", "Poisson"],
)
def test_sample_targets_are_the_negative_log_likelihood(family, reference, outputs_to_scipy, dtype):
    raw = jnp.asarray(RNG.normal(0.0, 1.0, (6, family.num_natural)), dtype)
    eta = np.asarray(family.link(raw), np.float64)
    kwargs = outputs_to_scipy(eta)
    x = reference.rvs(**kwargs, random_state=1)
    logpdf = reference.logpmf if reference is stats.poisson else reference.logpdf
    expected = -logpdf(x, **kwargs)
    fn = expfam.loss(family)
    x = jnp.asarray(x, dtype)
    for targets in (x, expfam.Target.from_samples(family, x), family.target(x)):
        assert_close(fn(raw, targets), expected, dtype, loose=5)


def test_distribution_target_is_the_cross_entropy_integral(x64):
    # H(p, q) = -int p(x) log q(x) dx by quadrature, for a Gamma teacher p and student q.
    family = expfam.Gamma()
    teacher = family.natural_from_source(shape=jnp.asarray(3.0), rate=jnp.asarray(2.0))
    student_raw = jnp.asarray([0.3, 1.2])
    student = np.asarray(family.link(student_raw))
    p, q = stats.gamma(3.0, scale=0.5), stats.gamma(student[1], scale=-1.0 / student[0])
    expected, _ = integrate.quad(lambda x: -p.pdf(x) * q.logpdf(x), 0, np.inf, epsabs=1e-13, epsrel=1e-12)
    value = expfam.loss(family)(student_raw, expfam.Target.from_natural(family, teacher))
    assert_close(value, expected, "float64", loose=10)


def test_distribution_target_gradient_vanishes_at_the_teacher(dtype):
    family = expfam.Normal()
    raw = jnp.asarray([[0.4, -0.3], [2.0, 1.5]], dtype)
    teacher = expfam.Target.from_natural(family, family.link(raw))
    grad = jax.grad(lambda r: jnp.sum(expfam.loss(family)(r, teacher)))(raw)
    assert_close(grad, jnp.zeros_like(grad), dtype, floor=1.0)


def test_source_head_loss(dtype):
    family = expfam.Normal()
    raw = jnp.asarray(RNG.normal(size=(5, 2)), dtype)
    y = jnp.asarray(RNG.normal(size=5), dtype)
    value = expfam.loss(family, link=expfam.source_link(family))(raw, y)
    scale = np.log1p(np.exp(np.asarray(raw[:, 1], np.float64)))
    assert_close(value, -stats.norm.logpdf(np.asarray(y), np.asarray(raw[:, 0]), scale), dtype, loose=5)


def test_weights_and_where(dtype):
    family = expfam.Gamma()
    fn = expfam.loss(family)
    raw = jnp.asarray(RNG.normal(size=(6, 2)), dtype)
    y = jnp.asarray(RNG.gamma(2.0, size=6), dtype)
    base = fn(raw, y)
    weights = jnp.asarray(RNG.uniform(size=6), dtype)
    assert_close(fn(raw, y, weights=weights), base * weights, dtype)
    # Padding rows: NaN outputs and an out-of-support target, masked out.
    keep = jnp.asarray([True, True, False, True, False, True])
    padded_raw = raw.at[2].set(jnp.nan)
    padded_y = y.at[4].set(-1.0)

    def total(r: jax.Array) -> jax.Array:
        return jnp.sum(fn(r, padded_y, where=keep, weights=weights))

    value, grad = jax.value_and_grad(total)(padded_raw)
    assert_close(value, jnp.sum(jnp.where(keep, base * weights, 0.0)), dtype)
    reference_grad = jax.grad(lambda r: jnp.sum(fn(r, y) * weights * keep))(raw)
    assert_close(grad, reference_grad, dtype)
    assert bool(jnp.all(grad[2] == 0))
    assert bool(jnp.all(grad[4] == 0))


def test_out_of_support_sample_gives_infinite_loss():
    family = expfam.Poisson()
    value = expfam.loss(family)(jnp.zeros((3, 1)), jnp.asarray([1.0, 2.5, -1.0]))
    assert np.isfinite(value[0])
    assert np.isposinf(value[1])
    assert np.isposinf(value[2])


@pytest.mark.parametrize("half", [jnp.bfloat16, jnp.float16])
def test_half_precision_is_computed_in_float32(half):
    family = expfam.Gamma()
    fn = expfam.loss(family)
    raw = jnp.asarray(RNG.normal(size=(16, 2)), half)
    y = jnp.asarray(RNG.gamma(2.0, size=16), half)
    value = fn(raw, y)
    assert value.dtype == jnp.float32
    assert_close(value, fn(raw.astype(jnp.float32), y.astype(jnp.float32)), "float32")
    grad = jax.grad(lambda r: jnp.sum(fn(r, y)))(raw)
    assert grad.dtype == half
    assert bool(jnp.all(jnp.isfinite(grad)))
    logits = jnp.asarray(RNG.normal(0.0, 30.0, (4, 3)), half)
    value = expfam.loss(expfam.Categorical(3))(logits, jnp.asarray([0, 1, 2, 0]))
    assert_close(
        value,
        optax.softmax_cross_entropy_with_integer_labels(logits.astype(jnp.float32), jnp.asarray([0, 1, 2, 0])),
        "float32",
    )


def test_jit_and_broadcast_batch(dtype):
    family = expfam.Normal()
    fn = jax.jit(expfam.loss(family))
    raw = jnp.asarray(RNG.normal(size=(1, 2)), dtype)
    y = jnp.asarray(RNG.normal(size=(4,)), dtype)
    value = fn(raw, y)
    assert value.shape == (4,)
    assert_close(value, expfam.nll(family, jnp.broadcast_to(family.link(raw), (4, 2)), y), dtype)


def test_errors():
    fn = expfam.loss(expfam.Gamma())
    with pytest.raises(ValueError, match=r"\(chi, elc\) pair"):
        fn(jnp.zeros((2, 2)), (jnp.ones((2, 2)),))
    with pytest.raises(ValueError, match=r"shape \(\.\.\., 2\)"):
        fn(jnp.zeros((2, 3)), jnp.ones(2))
