"""Maximum likelihood: ``expfam.fit`` against scipy, and against a constant head trained by optax."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_close, draws, first_examples
from scipy import stats

import expfam
from expfam.cli import head

#: One configuration and example point per family class of the catalogue.
FIRST_EXAMPLE = first_examples()


def test_fit_gamma_matches_scipy(x64):
    x = stats.gamma.rvs(2.5, scale=1.5, size=400, random_state=0)
    shape, _, scale = stats.gamma.fit(x, floc=0)
    source = expfam.Gamma().source_from_natural(expfam.fit(expfam.Gamma(), jnp.asarray(x)))
    assert_close(source["shape"], shape, "float64", loose=1e5)  # scipy's optimizer stops at ~1e-6
    assert_close(source["rate"], 1.0 / scale, "float64", loose=1e5)


def test_fit_normal_and_poisson_closed_forms(x64):
    x = stats.norm.rvs(1.0, 2.0, size=300, random_state=1)
    source = expfam.Normal().source_from_natural(expfam.fit(expfam.Normal(), jnp.asarray(x)))
    assert_close(source["loc"], np.mean(x), "float64")
    assert_close(source["scale"], np.std(x), "float64")
    counts = stats.poisson.rvs(3.0, size=300, random_state=2).astype(float)
    rate = expfam.Poisson().source_from_natural(expfam.fit(expfam.Poisson(), jnp.asarray(counts)))["rate"]
    assert_close(rate, np.mean(counts), "float64")


def test_fit_weights_are_repetitions(dtype):
    x = jnp.asarray([0.5, 1.5, 2.0, 4.0], dtype)
    weights = jnp.asarray([1.0, 3.0, 0.0, 2.0], dtype)
    repeated = jnp.asarray([0.5, 1.5, 1.5, 1.5, 4.0, 4.0], dtype)
    family = expfam.Gamma()
    assert_close(expfam.fit(family, x, weights), expfam.fit(family, repeated), dtype, loose=10)


@pytest.mark.parametrize(("family", "source"), FIRST_EXAMPLE, ids=[f.name for f, _ in FIRST_EXAMPLE])
def test_cross_entropy_minimization_is_maximum_likelihood(family, source):
    """A constant head ``eta = link(b)`` trained by Adam on the mean cross-entropy reaches ``fit``."""
    eta_true = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
    x = draws(family, eta_true, 200)
    target = expfam.Target.from_samples(family, x)
    loss = expfam.loss(family)
    optimizer = optax.adam(0.1)

    def step(carry, _):
        b, state = carry
        grads = jax.grad(lambda b: jnp.mean(loss(b, target)))(b)
        updates, state = optimizer.update(grads, state)
        return (optax.apply_updates(b, updates), state), None

    b0 = jnp.zeros(family.num_natural)
    (b, _), _ = jax.lax.scan(step, (b0, optimizer.init(b0)), length=1000)
    eta_mle = expfam.fit(family, x)
    # Compared in expectation coordinates (unique even for the over-complete Categorical).
    assert_close(family.expectation(family.link(b)), family.expectation(eta_mle), "float32", loose=50)
    trained, best = jnp.mean(loss(b, target)), jnp.mean(expfam.cross_entropy(family, eta_mle, target))
    assert float(trained) >= float(best) - 1e-5 * abs(float(best))
    assert float(trained) <= float(best) + 1e-5 * abs(float(best))


@pytest.mark.parametrize(("family", "source"), FIRST_EXAMPLE, ids=[f.name for f, _ in FIRST_EXAMPLE])
def test_constant_head_starts_at_the_fit(family, source):
    """The bias initialization of ``expfam fit``: Gauss-Newton on the default head's raw outputs reaches
    ``fit``; the output scales are positive and finite."""
    eta_true = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
    x = draws(family, eta_true, 300)
    scales = (1e-3, 1.0, 1e3) if type(family).__name__ in ("Gamma", "Exponential", "LogNormal", "Normal") else (None,)
    for scale in scales:
        xs = x if scale is None else x * scale
        link, outputs = head.make_link(family, head.default_head(family))
        b, output_scale = head.start(family, link, outputs, expfam.Target.from_samples(family, xs))
        fitted = family.expectation(expfam.fit(family, xs))
        assert_close(family.expectation(link(b)), fitted, "float32", loose=5)
        assert bool(jnp.all(jnp.isfinite(output_scale) & (output_scale > 0)))


#: Families whose members concentrate at any point of the support (a shape, precision or
#: concentration without bound): n copies of one sample have no maximum-likelihood estimate.
NO_FIT_FOR_A_REPEATED_SAMPLE = {
    "Normal", "LogNormal", "Gamma", "InverseGamma", "InverseGaussian", "Beta", "BetaPrime", "Dirichlet",
    "VonMises", "VonMisesFisher", "MultivariateNormal", "MultivariateNormalDiag",
}  # fmt: skip


def _fit_or_error(family, x, weights=None):
    """The eager fit, or None where it raises the estimate-does-not-exist ValueError."""
    try:
        return expfam.fit(family, x, weights)
    except ValueError as error:
        if "does not exist" not in str(error):
            raise
        return None


@pytest.mark.slow  # a compilation of fit per family (~4 s each on a loaded machine)
@pytest.mark.parametrize(("family", "source"), FIRST_EXAMPLE, ids=[f.name for f, _ in FIRST_EXAMPLE])
def test_fit_of_a_repeated_sample(family, source):
    """Copies of one draw (and one draw among others of weight 0): where no estimate exists, a
    ValueError eagerly and NaN under jit (not a huge finite eta from rounding the boundary point);
    elsewhere eager equals jit."""
    eta = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
    x = draws(family, eta, 4)
    same = jnp.stack([x[1]] * 5)
    masked = jnp.concatenate([x[:1], same[:2], x[2:]])
    weights = jnp.asarray([0.0, 2.0, 1.0] + [0.0] * (len(x) - 2))
    fit = jax.jit(expfam.fit, static_argnums=0)
    for data, w in ((same, None), (masked, weights)):
        eager, compiled = _fit_or_error(family, data, w), fit(family, data, w)
        if type(family).__name__ in NO_FIT_FOR_A_REPEATED_SAMPLE:
            assert eager is None
        if eager is None:
            assert bool(jnp.all(jnp.isnan(compiled))), compiled
        else:
            assert_close(compiled, eager, "float32")


@pytest.mark.parametrize("value", [0.1, 1e4 + 0.3, -7.77])
def test_normal_fit_of_equal_samples_is_nan_under_jit(value):
    x = jnp.full(7, value, jnp.float32)
    assert bool(jnp.all(jnp.isnan(jax.jit(expfam.fit, static_argnums=0)(expfam.Normal(), x))))
    with pytest.raises(ValueError, match="does not exist"):
        expfam.fit(expfam.Normal(), x)
