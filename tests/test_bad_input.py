"""The bad-input policy: clear errors, -inf outside the support, never NaN."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import jax.test_util
import numpy as np
import optax
import pytest
from helpers import assert_close, draws, first_examples, log_prob_and_gradient, quick_marks, representative
from registry import ENTRY_CASES, Case, case_ids

import expfam


def natural(case: Case) -> jax.Array:
    return case.family.natural_from_source(**{k: jnp.asarray(v) for k, v in case.source.items()})


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_wrong_natural_shape_names_family_and_shapes(case: Case) -> None:
    family, valid = case.family, natural(case)
    eta = jnp.zeros((3, family.num_natural + 1))
    x = draws(family, valid, 3)
    expected = f"{family.name}: natural parameters must have shape (..., {family.num_natural}), got shape (3, "
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        expfam.nll(family, eta, x)
    with pytest.raises(ValueError, match=type(family).__name__):  # at trace time under jit
        jax.jit(expfam.nll)(family, eta, x)
    with pytest.raises(ValueError, match="expectation parameters must have shape"):
        expfam.cross_entropy(family, valid, (jnp.zeros(family.num_natural + 2), 0.0))
    with pytest.raises(TypeError, match=r"a target is an expfam\.Target or a"):  # never guessed from a bare array
        expfam.cross_entropy(family, valid, jnp.zeros(family.num_natural))


@pytest.mark.parametrize("case", [c for c in ENTRY_CASES if c.family.event_shape], ids=lambda c: c.id)
def test_wrong_event_shape_names_family_and_shapes(case: Case) -> None:
    family = case.family
    x = jnp.zeros((3, family.event_shape[-1] + 1))
    if isinstance(family, expfam.Categorical):  # vectors enter through their own door
        with pytest.raises(ValueError, match=r"Categorical.*probability vectors must have shape"):
            family.probabilities_target(x)
        return
    with pytest.raises(ValueError, match=rf"{type(family).__name__}.*samples must have shape"):
        expfam.nll(family, natural(case), x)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_outside_support_is_minus_infinity_without_nan(case: Case, dtype: str) -> None:
    family, eta = case.family, natural(case)
    for value in case.reference.outside:
        x = jnp.asarray(value)
        if representative(family):  # eagerly too (op by op: slow to compile)
            log_p = expfam.log_prob(family, eta, x)
            assert float(log_p) == -np.inf, (value, log_p)
        jitted, gradient = _log_prob_and_gradient(family, eta, x)
        assert float(jitted) == -np.inf
        assert not np.any(np.isnan(np.asarray(gradient))), (value, gradient)


_log_prob_and_gradient = jax.jit(log_prob_and_gradient, static_argnums=0)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_invalid_natural_parameters(case: Case) -> None:
    family, valid = case.family, natural(case)
    x = draws(family, valid, 1)[0]
    invalid = [jnp.asarray(value, jnp.result_type(float)) for value in case.reference.invalid]
    for eta in invalid:
        with pytest.raises(ValueError, match=rf"{type(family).__name__}.*outside the natural domain"):
            expfam.nll(family, eta, x)
    # under jit: every invalid value and the valid one, as one batch
    assert np.array_equal(
        np.asarray(_is_natural_valid(family, jnp.stack([*invalid, valid]))), [False] * len(invalid) + [True]
    )


_is_natural_valid = jax.jit(lambda family, eta: family.is_natural_valid(eta), static_argnums=0)


def test_fit_rejects_samples_outside_the_support() -> None:
    with pytest.raises(ValueError, match=r"Gamma\(\): fit received samples outside the support"):
        expfam.fit(expfam.Gamma(), jnp.array([1.0, -2.0]))


def test_half_precision_is_computed_in_float32() -> None:
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=jnp.array(2.0), rate=jnp.array(3.0))
    for half in (jnp.bfloat16, jnp.float16):
        loss = expfam.nll(family, eta.astype(half), jnp.asarray(0.5, half))
        assert loss.dtype == jnp.float32
        assert np.isclose(float(loss), float(expfam.nll(family, eta.astype(half).astype(jnp.float32), 0.5)))


def test_integer_samples_are_accepted_where_the_support_is_discrete() -> None:
    family = expfam.Poisson()
    eta = family.natural_from_source(rate=jnp.array(3.0))
    assert np.isclose(float(expfam.nll(family, eta, jnp.array(2))), float(expfam.nll(family, eta, jnp.array(2.0))))


# -- inputs are never guessed (issue 13) ---------------------------------------------------------

FIRST = first_examples()
SCALAR_EVENT = [(f, s) for f, s in FIRST if f.event_shape == ()]


def _eta(family: expfam.ExponentialFamily, source: dict) -> jax.Array:
    return family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})


@pytest.mark.parametrize(("family", "source"), SCALAR_EVENT, ids=[f.name for f, _ in SCALAR_EVENT])
def test_sample_with_a_trailing_one_is_not_an_outer_product(family, source) -> None:
    """x of shape batch + (1,) against eta of batch ``batch``: an error naming both shapes, never
    a (N, N) loss; eagerly, under jit, through loss() and kl_divergence."""
    n = 3
    eta = jnp.broadcast_to(_eta(family, source), (n, family.num_natural))
    x = jnp.full((n,), family.support.point)
    expected = rf"{type(family).__name__}.*batch shape \(3,\).*batch shape \(3, 1\).*outer product \(3, 3\)"
    with pytest.raises(ValueError, match=expected):
        expfam.nll(family, eta, x[:, None])
    with pytest.raises(ValueError, match=expected):
        jax.jit(expfam.nll, static_argnums=0)(family, eta, x[:, None])
    with pytest.raises(ValueError, match="outer product"):
        expfam.loss(family, lambda raw: raw)(eta, x[:, None])
    with pytest.raises(ValueError, match="outer product"):
        expfam.kl_divergence(family, eta, eta[:, None, :])


def test_broadcasts_the_user_asks_for_still_work() -> None:
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=jnp.array([1.0, 2.0, 3.0]), rate=jnp.array([1.0, 2.0, 0.5]))
    x = family.sample(jax.random.key(0), eta, 4)  # shape + batch: (4, 3)
    assert expfam.nll(family, eta, x).shape == (4, 3)  # draws against their distributions
    assert expfam.nll(family, eta[0], x).shape == (4, 3)  # one distribution, many samples
    assert expfam.nll(family, eta, x[0, 0]).shape == (3,)  # one sample, many distributions
    outer = expfam.nll(family, eta[:, None, :], x[None, :, 0])  # size-1 axes written out: asked for
    assert outer.shape == (3, 4)
    assert np.isclose(float(outer[1, 2]), float(expfam.nll(family, eta[1], x[2, 0])), rtol=1e-6)


def test_class_labels_with_a_trailing_one_are_an_error() -> None:
    family = expfam.Categorical(3)
    with pytest.raises(ValueError, match=r"batch shape \(3,\).*batch shape \(3, 1\).*class labels"):
        expfam.nll(family, jnp.zeros((3, 3)), jnp.array([[0], [1], [2]]))


@pytest.mark.parametrize("name", ["Gamma", "Poisson", "Dirichlet", "Categorical", "VonMisesFisher"])
def test_sample_accepts_an_int_shape(name: str) -> None:
    family, source = next((f, s) for f, s in FIRST if type(f).__name__ == name)
    eta, key = _eta(family, source), jax.random.key(3)
    x = family.sample(key, eta, 5)
    labels = isinstance(family, expfam.Categorical)
    assert x.shape == (5,) + (() if labels else family.event_shape)
    assert np.array_equal(np.asarray(x), np.asarray(family.sample(key, eta, (5,))))
    with pytest.raises(TypeError, match="sample shape"):
        family.sample(key, eta, 2.5)
    with pytest.raises(ValueError, match="non-negative"):
        family.sample(key, eta, -1)


# Categorical: labels and probability vectors enter through different doors.


@pytest.mark.parametrize("n", [3, 4])  # n == K: a (K, K) array is never read as probability vectors
def test_categorical_float_labels_are_not_guessed(n: int) -> None:
    family = expfam.Categorical(3)
    logits = jnp.zeros((n, 3))
    floats = jnp.asarray(np.arange(n) % 3, jnp.float32)
    for x in (floats, jnp.eye(3)[np.arange(n) % 3]):
        for call in (expfam.nll, jax.jit(expfam.nll, static_argnums=0)):
            with pytest.raises(TypeError, match=r"Categorical\(num_classes=3\): samples are integer class labels"):
                call(family, logits, x)
        with pytest.raises(TypeError, match="probabilities_target"):
            expfam.loss(family)(logits, x)
    with pytest.raises(TypeError, match=r"integer class labels go through family\.target"):
        family.probabilities_target(jnp.arange(n) % 3)
    with pytest.raises(ValueError, match=r"probability vectors must have shape \(\.\.\., 3\), got shape \(3, 4\)"):
        family.probabilities_target(jnp.full((3, 4), 0.25))
    with pytest.raises(TypeError, match="class labels must be integers"):
        expfam.fused_linear_cross_entropy(jnp.ones((n, 2)), jnp.ones((2, 3)), floats)


def test_categorical_doors_match_optax(dtype: str) -> None:
    """Labels: optax's integer-label cross-entropy; probability vectors: optax's softmax
    cross-entropy; eagerly and under jit, value and gradient."""
    family, rng = expfam.Categorical(4), np.random.default_rng(1)
    logits = jnp.asarray(rng.normal(0.0, 4.0, (6, 4)), dtype)
    labels = jnp.asarray(rng.integers(0, 4, 6))
    soft = jax.nn.softmax(jnp.asarray(rng.normal(size=(6, 4)), dtype))

    def ours(z, p):
        return jnp.sum(expfam.nll(family, z, labels)) + jnp.sum(
            expfam.cross_entropy(family, z, family.probabilities_target(p))
        )

    def reference(z, p):
        return jnp.sum(optax.softmax_cross_entropy_with_integer_labels(z, labels)) + jnp.sum(
            optax.softmax_cross_entropy(z, p)
        )

    expected = jax.value_and_grad(reference)(logits, soft)
    for fn in (ours, jax.jit(ours)):
        value, grad = jax.value_and_grad(fn)(logits, soft)
        assert_close(value, expected[0], dtype)
        assert_close(grad, expected[1], dtype)


# Precision: data on the simplex or the sphere is judged at the precision it is given in.


@pytest.mark.parametrize("given", ["bfloat16", "float16", "float32"])
def test_soft_labels_judged_at_their_own_precision(dtype: str, given: str) -> None:
    """A bf16 / f16 teacher, or float32 probabilities under x64: optax's value and gradient, not +inf."""
    family, rng = expfam.Categorical(5), np.random.default_rng(2)
    logits = jnp.asarray(rng.normal(0.0, 3.0, (16, 5)), dtype)
    teacher = jax.nn.softmax(jnp.asarray(rng.normal(0.0, 2.0, (16, 5)))).astype(given)
    assert float(jnp.max(jnp.abs(jnp.sum(teacher.astype(jnp.float32), axis=-1) - 1))) > 0 or given == "float32"

    def ours(z):
        return jnp.sum(expfam.loss(family)(z, family.probabilities_target(teacher)))

    def reference(z):
        return jnp.sum(optax.softmax_cross_entropy(z, teacher.astype(z.dtype)))

    value, grad = jax.jit(jax.value_and_grad(ours))(logits)
    expected, expected_grad = jax.value_and_grad(reference)(logits)
    assert_close(value, expected, dtype)
    assert_close(grad, expected_grad, dtype, floor=1.0)


@pytest.mark.parametrize("name", [pytest.param(n, marks=quick_marks(n)) for n in ("Dirichlet", "VonMisesFisher")])
@pytest.mark.parametrize("given", ["bfloat16", "float32"])
def test_simplex_and_sphere_data_judged_at_their_own_precision(dtype: str, name: str, given: str) -> None:
    """Dirichlet / von Mises-Fisher data rounded to bf16, or float32 data under x64: inside the
    support, with the value of the (T(x), log h(x)) route and a finite gradient."""
    family, source = next((f, s) for f, s in FIRST if type(f).__name__ == name)
    with jax.enable_x64(True):
        x64 = np.asarray(draws(family, _eta(family, source).astype(jnp.float64), 64, seed=4))
    x = jnp.asarray(x64, given)
    eta = _eta(family, source).astype(dtype)
    promoted = x.astype(jnp.float32)

    @jax.jit
    def losses(e):
        direct = expfam.nll(family, e, x)
        pair = expfam.cross_entropy(family, e, (family.sufficient_statistics(promoted), family.log_carrier(promoted)))
        return direct, pair, jax.grad(lambda e: jnp.sum(expfam.nll(family, e, x)))(e)

    direct, pair, grad = losses(eta)
    assert np.all(np.isfinite(np.asarray(direct)))
    assert_close(direct, pair, "float32", loose=10)  # the data has float32 precision at best
    assert np.all(np.isfinite(np.asarray(grad)))
    assert np.any(np.asarray(grad) != 0)


@pytest.mark.parametrize("route", ["pair", "from_expectation"])
def test_unnormalized_targets_get_the_derivative_of_their_value(x64, route: str) -> None:
    """Probability vectors that do not sum to 1 given as (chi, elc) or Target.from_expectation:
    the value is optax's, and the gradient (in eta and in chi) is the derivative of that value."""
    family, rng = expfam.Categorical(4), np.random.default_rng(5)
    logits = jnp.asarray(rng.normal(0.0, 2.0, (3, 4)))
    p = jnp.asarray(rng.uniform(0.1, 1.0, (3, 4)))  # sums between 0.4 and 4

    def ce(z, chi):
        target = (chi, jnp.zeros(3)) if route == "pair" else expfam.Target.from_expectation(family, chi)
        return jnp.sum(expfam.cross_entropy(family, z, target))

    assert_close(ce(logits, p), jnp.sum(optax.softmax_cross_entropy(logits, p)), "float64")
    grad = jax.grad(ce)(logits, p)
    assert_close(grad, jax.grad(lambda z: jnp.sum(optax.softmax_cross_entropy(z, p)))(logits), "float64")
    jax.test_util.check_grads(ce, (logits, p), order=1, modes=["rev", "fwd"], eps=1e-6)


# Parameters: +-inf, NaN and complex numbers; configuration; what is passed as a family.


@pytest.mark.parametrize(("family", "source"), FIRST, ids=[f.name for f, _ in FIRST])
def test_infinite_natural_parameters_are_outside_the_domain(family, source) -> None:
    eta = np.asarray(_eta(family, source))
    bad = np.stack([eta] * (2 * family.num_natural))
    for i in range(family.num_natural):
        bad[2 * i, i], bad[2 * i + 1, i] = np.inf, -np.inf
    assert not np.any(np.asarray(_is_natural_valid(family, jnp.asarray(bad))))
    with pytest.raises(ValueError, match=rf"{type(family).__name__}.*outside the natural domain"):
        expfam.entropy(family, jnp.asarray(bad[:1]))


def test_natural_parameters_closed_over_by_jit_are_checked_like_eager_ones() -> None:
    """A concrete eta that a jitted function closes over is a constant, not a tracer: it computes
    what eager use computes, and outside the domain it raises the eager ValueError (at trace time);
    a traced eta is left to the masks."""
    family, source = next((f, s) for f, s in FIRST if type(f).__name__ == "Gamma")
    eta = _eta(family, source)
    bad = np.asarray(eta).copy()
    bad[0] = np.inf
    for given in (eta, np.asarray(eta)):
        assert_close(
            jax.jit(lambda given=given: expfam.entropy(family, given))(), expfam.entropy(family, eta), eta.dtype
        )
    for given in (jnp.asarray(bad), bad):
        with pytest.raises(ValueError, match=r"Gamma.*outside the natural domain"):
            jax.jit(lambda given=given: expfam.entropy(family, given))()
    jax.jit(expfam.entropy)(family, jnp.asarray(bad))  # traced: no eager check, no error


@pytest.mark.parametrize("name", ["Gamma", "Poisson", "Dirichlet", "Categorical", "Bernoulli"])
def test_complex_input_is_an_error(name: str) -> None:
    family, source = next((f, s) for f, s in FIRST if type(f).__name__ == name)
    eta = _eta(family, source)
    x = draws(family, eta, 4)
    with pytest.raises(TypeError, match="complex"):
        expfam.nll(family, eta.astype(jnp.complex64), x)
    with pytest.raises(TypeError, match="complex"):
        expfam.nll(family, eta, x.astype(jnp.complex64))
    with pytest.raises(TypeError, match="complex"):
        expfam.fit(family, x.astype(jnp.complex64))
    with pytest.raises(TypeError, match="complex"):
        expfam.loss(family)(jnp.broadcast_to(eta, (4, family.num_natural)).astype(jnp.complex64), x)


BAD_SETTINGS = [
    (lambda: expfam.Binomial(2.5), TypeError, r"Binomial: num_trials must be an integer"),
    (lambda: expfam.Binomial(0), ValueError, r"Binomial: num_trials must be >= 1"),
    (lambda: expfam.Binomial(True), TypeError, r"Binomial: num_trials must be an integer"),
    (lambda: expfam.NormalKnownVariance(0), ValueError, r"NormalKnownVariance: variance must be > 0"),
    (lambda: expfam.NormalKnownVariance(-1.0), ValueError, r"NormalKnownVariance: variance must be > 0"),
    (lambda: expfam.NormalKnownVariance(float("nan")), ValueError, r"NormalKnownVariance: variance must be finite"),
    (lambda: expfam.Pareto(minimum=0), ValueError, r"Pareto: minimum must be > 0"),
    (lambda: expfam.Pareto(minimum=float("inf")), ValueError, r"Pareto: minimum must be finite"),
    (lambda: expfam.Categorical("4"), TypeError, r"Categorical: num_classes must be an integer, got '4'"),
    (lambda: expfam.Categorical(4.0), TypeError, r"Categorical: num_classes must be an integer"),
    (lambda: expfam.Categorical(0), ValueError, r"Categorical: num_classes must be >= 2"),
    (lambda: expfam.NegativeBinomial(r=-2), ValueError, r"NegativeBinomial: r must be > 0"),
    (lambda: expfam.NegativeBinomial(r="2"), TypeError, r"NegativeBinomial: r must be a real number"),
    (lambda: expfam.Multinomial(2.5, 3), TypeError, r"Multinomial: num_trials must be an integer"),
    (lambda: expfam.Dirichlet(1), ValueError, r"Dirichlet: num_classes must be >= 2"),
    (lambda: expfam.Laplace(loc=float("nan")), ValueError, r"Laplace: loc must be finite"),
    (lambda: expfam.Weibull(shape=0.0), ValueError, r"Weibull: shape must be > 0"),
]


@pytest.mark.parametrize(("make", "error", "message"), BAD_SETTINGS, ids=[m for _, _, m in BAD_SETTINGS])
def test_configuration_is_validated_at_construction(make, error, message) -> None:
    with pytest.raises(error, match=message):
        make()


@pytest.mark.parametrize(("family", "source"), FIRST, ids=[f.name for f, _ in FIRST])
def test_every_setting_rejects_a_string(family, source) -> None:
    for field in dataclasses.fields(family):
        with pytest.raises(TypeError, match=rf"{type(family).__name__}: {field.name} must be"):
            dataclasses.replace(family, **{field.name: "2"})


def _family_users() -> list:
    eta, x = jnp.array([-1.0, 1.0]), jnp.array([1.0, 2.0])
    return [
        lambda f: expfam.nll(f, eta, x),
        lambda f: expfam.log_prob(f, eta, x),
        lambda f: expfam.entropy(f, eta),
        lambda f: expfam.kl_divergence(f, eta, eta),
        lambda f: expfam.distribution_cross_entropy(f, eta, eta),
        lambda f: expfam.cross_entropy(f, eta, (eta, 0.0)),
        lambda f: expfam.fit(f, x),
        lambda f: expfam.loss(f),
        lambda f: expfam.source_link(f),
        lambda f: expfam.fisher_vector_product(f, eta, eta),
        lambda f: expfam.damped_natural_gradient(f, eta, eta, 0.1),
    ]


@pytest.mark.parametrize("use", range(len(_family_users())))
def test_a_class_or_a_string_is_not_a_family(use: int) -> None:
    call = _family_users()[use]
    with pytest.raises(TypeError, match=r"family instance such as Gamma\(\.\.\.\), got the class itself"):
        call(expfam.Gamma)
    with pytest.raises(TypeError, match="got the string 'Gamma'"):
        call("Gamma")


# fit: no plausible number from bad data, eagerly or under jit.

_jit_fit = jax.jit(expfam.fit, static_argnums=0)


FIT_QUICK = [(f, s) for f, s in FIRST if type(f).__name__ in ("Gamma", "Poisson", "Categorical", "Dirichlet")]
FIT_CASES = [pytest.param(f, s, id=f.name, marks=() if (f, s) in FIT_QUICK else pytest.mark.slow) for f, s in FIRST]


@functools.partial(jax.jit, static_argnums=0)
def _fits(family, x: jax.Array, bad: jax.Array, weights: jax.Array, eager: jax.Array) -> dict:
    """The compiled side of the test below, one program per family: g' of the fit of x and g' at
    the eager fit of x, the fit of the bad samples (alone and with weights) and of x without its
    first row."""
    return {
        "fitted": family.expectation(expfam.fit(family, x)),
        "eager": family.expectation(eager),
        "bad": expfam.fit(family, bad),
        "bad_weighted": expfam.fit(family, bad, weights),
        "rest": expfam.fit(family, x[1:]),
    }


@pytest.mark.parametrize(("family", "source"), FIT_CASES)
def test_fit_of_bad_samples_raises_eagerly_and_is_nan_under_jit(family, source) -> None:
    x = draws(family, _eta(family, source), 50, seed=6)
    labels = isinstance(family, expfam.Categorical)
    bad = x.at[0].set(-1) if labels else x.at[(0,) * x.ndim].set(jnp.nan)
    weights = jnp.ones(50).at[0].set(0.0)
    at = _fits(family, x, bad, weights, expfam.fit(family, x))
    assert_close(at["fitted"], at["eager"], "float32", loose=10)
    with pytest.raises(ValueError, match=rf"{type(family).__name__}.*outside the support"):
        expfam.fit(family, bad)
    assert np.all(np.isnan(np.asarray(at["bad"])))
    # A row of weight 0 is left out, even outside the support.
    assert_close(at["bad_weighted"], at["rest"], "float32", loose=10, floor=1.0)


FIT_FAILURES = [
    ("Gamma", np.zeros((0,)), None, "no samples"),
    ("Gamma", np.ones(5), None, "does not exist"),
    ("Poisson", np.zeros(5), None, "does not exist"),
    ("Bernoulli", np.ones(5), None, "does not exist"),
    ("Gamma", np.array([1.0, 2.0]), np.zeros(2), "not all zero"),
    ("Gamma", np.array([1.0, 2.0]), np.array([1.0, -1.0]), "non-negative"),
    ("Gamma", np.array([1.0, 2.0]), np.array([1.0, np.nan]), "finite"),
]


@pytest.mark.parametrize(
    ("name", "x", "weights", "message"), FIT_FAILURES, ids=[f"{f[0]}-{f[3]}" for f in FIT_FAILURES]
)
def test_fit_without_a_maximum_likelihood_estimate(name, x, weights, message) -> None:
    family = next(f for f, _ in FIRST if type(f).__name__ == name)
    x = jnp.asarray(x, jnp.float32)
    w = None if weights is None else jnp.asarray(weights, jnp.float32)
    with pytest.raises(ValueError, match=rf"{type(family).__name__}.*{message}"):
        expfam.fit(family, x, w)
    assert np.all(np.isnan(np.asarray(_jit_fit(family, x, w))))


# Fused cross-entropy: out-of-range labels as nll; weight 0 masks; nothing to average gives 0.


def _fused_value_and_grads(hidden, weight, labels, weights=None):
    def loss(h, w):
        return expfam.fused_linear_cross_entropy(h, w, labels, weights=weights, chunk_rows=4)

    return jax.value_and_grad(loss, argnums=(0, 1))(hidden, weight)


_jit_fused = jax.jit(_fused_value_and_grads)


def test_fused_out_of_range_labels_and_masking(dtype: str) -> None:
    rng = np.random.default_rng(7)
    n, d, v = 7, 3, 5
    hidden = jnp.asarray(rng.normal(size=(n, d)), dtype)
    weight = jnp.asarray(rng.normal(size=(d, v)), dtype)
    labels = jnp.asarray(rng.integers(0, v, n))
    fused = _jit_fused
    for bad in (-1, v, 10 * v):
        value, grads = fused(hidden, weight, labels.at[2].set(bad))
        assert float(value) == np.inf  # as nll: the label is outside the support
        assert all(np.all(np.isfinite(np.asarray(g))) for g in grads)
        assert float(expfam.nll(expfam.Categorical(v), hidden[2] @ weight, jnp.asarray(bad))) == np.inf
    eager_value, eager_grads = _fused_value_and_grads(hidden, weight, labels.at[2].set(-1))
    assert float(eager_value) == np.inf
    assert all(np.all(np.isfinite(np.asarray(g))) for g in eager_grads)
    # weight 0 masks a bad row completely (value and gradient), even with NaN hidden states
    masked = fused(hidden.at[2].set(jnp.nan), weight, labels.at[2].set(-1), jnp.ones(n, dtype).at[2].set(0.0))
    kept = np.r_[0:2, 3:n]
    expected = _jit_fused(hidden[kept], weight, labels[kept], jnp.ones(n - 1, dtype))
    assert_close(masked[0], expected[0], dtype)
    assert_close(masked[1][1], expected[1][1], dtype)
    assert_close(masked[1][0][kept], expected[1][0], dtype)
    assert not np.any(np.asarray(masked[1][0][2]))
    # all weights 0: loss 0 and zero gradients
    value, grads = fused(hidden, weight, labels, jnp.zeros(n, dtype))
    assert float(value) == 0.0
    assert not any(np.any(np.asarray(g)) for g in grads)
    value, grads = _fused_value_and_grads(jnp.zeros((0, d), dtype), weight, jnp.zeros((0,), int))
    assert float(value) == 0.0
    assert grads[0].shape == (0, d)
    assert not np.any(np.asarray(grads[1]))
    with pytest.raises(ValueError, match="non-negative"):
        expfam.fused_linear_cross_entropy(hidden, weight, labels, weights=-jnp.ones(n))


# Probability heads are built on logits: no raw value gives NaN.

PROBABILITY_HEADS = [(f, s) for f, s in FIRST if f.source_parameters[0].from_logits is not None]


@pytest.mark.parametrize(("family", "source"), PROBABILITY_HEADS, ids=[f.name for f, _ in PROBABILITY_HEADS])
def test_probability_heads_never_give_nan(family, source, dtype: str) -> None:
    head = expfam.source_link(family)
    x = draws(family, _eta(family, source), 1, seed=8)[0]
    raws = jnp.asarray([-1e30, -1e4, -100.0, -17.0, 0.0, 17.0, 40.0, 100.0, 1e4, 1e30], dtype)
    raw = jnp.broadcast_to(raws[:, None], (raws.shape[0], head.num_outputs))
    if head.num_outputs > 1:  # one confident class among the rest
        raw = raw * (jnp.arange(head.num_outputs) == 0)[None, :]

    @jax.jit
    def evaluate(r):
        _value, grad = jax.value_and_grad(lambda r: jnp.sum(expfam.loss(family, head)(r, x)))(r)
        return head(r), family.is_natural_valid(head(r)), expfam.loss(family, head)(r, x), grad

    eta, valid, losses, grad = evaluate(raw)
    assert np.all(np.isfinite(np.asarray(eta)))
    assert np.all(np.asarray(valid))
    assert not np.any(np.isnan(np.asarray(losses)))
    assert np.all(np.isfinite(np.asarray(grad)))
    # the same distribution as the probability head in exact arithmetic, where that is representable
    moderate = jnp.broadcast_to(jnp.asarray([[-3.0], [0.5], [4.0]], dtype), (3, head.num_outputs))
    pieces = {p.name: p.constraint(moderate if p.width else moderate[..., 0]) for p in family.source_parameters}
    assert_close(family.expectation(head(moderate)), family.expectation(family.natural_from_source(**pieces)), dtype)


def test_confident_heads_match_optax(dtype: str) -> None:
    raw = jnp.asarray([-200.0, -30.0, 17.0, 30.0, 200.0], dtype)
    y = jnp.asarray([1.0, 0.0, 0.0, 1.0, 0.0], dtype)
    bernoulli = expfam.loss(expfam.Bernoulli(), expfam.source_link(expfam.Bernoulli()))
    assert_close(bernoulli(raw[:, None], y), optax.sigmoid_binary_cross_entropy(raw, y), dtype)
    logits = jnp.stack([raw, -raw, jnp.zeros_like(raw)], axis=-1)
    labels = jnp.asarray([0, 1, 2, 0, 1])
    categorical = expfam.loss(expfam.Categorical(3), expfam.source_link(expfam.Categorical(3)))
    assert_close(categorical(logits, labels), optax.softmax_cross_entropy_with_integer_labels(logits, labels), dtype)
