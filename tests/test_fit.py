"""Maximum likelihood: ``expfam.fit`` against scipy, and against a constant head trained by optax."""

from __future__ import annotations

import functools

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


#: The families whose constant head is also started on data scaled by 1e-3 and 1e3.
SCALED = ("Gamma", "Exponential", "LogNormal", "Normal")


@functools.partial(jax.jit, static_argnums=0)
def _probe(family, x: jax.Array, scaled: jax.Array) -> dict:
    """Every quantity the two per-family tests below compare, one compilation per family (evaluated
    eagerly, the fits and the head's start compiled op by op, and the start once per scale).

    For the data x: g' of the canonical link of a constant head trained by Adam on the mean
    cross-entropy (1000 steps of 0.1), g' of ``fit``, and the trained and best mean cross-entropies.
    For each row of the stack ``scaled``: g' of the default head's link at the start of
    ``expfam fit`` and of ``fit``, and the start's output scales.
    """
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
    link, outputs = head.make_link(family, head.default_head(family))

    def start(xs):
        b, output_scale = head.start(family, link, outputs, expfam.Target.from_samples(family, xs))
        return family.expectation(link(b)), family.expectation(expfam.fit(family, xs)), output_scale

    started, fitted, output_scales = jax.vmap(start)(scaled)
    return {
        "trained": family.expectation(family.link(b)),
        "mle": family.expectation(eta_mle),
        "trained_loss": jnp.mean(loss(b, target)),
        "best_loss": jnp.mean(expfam.cross_entropy(family, eta_mle, target)),
        "started": started,
        "fitted": fitted,
        "output_scales": output_scales,
    }


_probed: dict = {}


def _probed_at(family, source) -> dict:
    """``_probe`` on 200 draws (Adam) and 300 draws (the head's start, at each scale) of the
    family at ``source``, in float32, evaluated once per family."""
    if family not in _probed:
        eta_true = family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()})
        x = draws(family, eta_true, 300)
        scales = (1e-3, 1.0, 1e3) if type(family).__name__ in SCALED else (None,)
        scaled = jnp.stack([x if scale is None else x * scale for scale in scales])
        _probed[family] = _probe(family, draws(family, eta_true, 200), scaled)
    return _probed[family]


@pytest.mark.parametrize(("family", "source"), FIRST_EXAMPLE, ids=[f.name for f, _ in FIRST_EXAMPLE])
def test_cross_entropy_minimization_is_maximum_likelihood(family, source):
    """A constant head ``eta = link(b)`` trained by Adam on the mean cross-entropy reaches ``fit``."""
    at = _probed_at(family, source)
    # Compared in expectation coordinates (unique even for the over-complete Categorical).
    assert_close(at["trained"], at["mle"], "float32", loose=50)
    trained, best = at["trained_loss"], at["best_loss"]
    assert float(trained) >= float(best) - 1e-5 * abs(float(best))
    assert float(trained) <= float(best) + 1e-5 * abs(float(best))


@pytest.mark.parametrize(("family", "source"), FIRST_EXAMPLE, ids=[f.name for f, _ in FIRST_EXAMPLE])
def test_constant_head_starts_at_the_fit(family, source):
    """The bias initialization of ``expfam fit``: Gauss-Newton on the default head's raw outputs reaches
    ``fit``; the output scales are positive and finite."""
    at = _probed_at(family, source)
    for started, fitted, output_scale in zip(at["started"], at["fitted"], at["output_scales"], strict=True):
        assert_close(started, fitted, "float32", loose=5)
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


@functools.partial(jax.jit, static_argnums=0)
def _compiled_fits(family, same: jax.Array, masked: jax.Array, weights: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``fit`` of the data ``same`` and of ``masked`` with ``weights``, compiled as one program."""
    return expfam.fit(family, same), expfam.fit(family, masked, weights)


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
    compiled_fits = _compiled_fits(family, same, masked, weights)
    for data, w, compiled in zip((same, masked), (None, weights), compiled_fits, strict=True):
        eager = _fit_or_error(family, data, w)
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
