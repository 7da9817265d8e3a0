"""Natural-gradient and mirror-descent transformations, Gauss-Newton products, Fisher scoring.

References: dense linear algebra on the closed-form Fisher, ``expfam.fit`` (moment matching)
for the maximum-likelihood estimate, dense Jacobians, and an IRLS written here in numpy.
The catalogue-wide identities run in float64 (one compilation per family; the small
transformation tests run in both dtypes).
"""

from __future__ import annotations

import functools
import importlib.util
import os
import pathlib

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from helpers import assert_close, draws

import expfam

ENTRIES = [pytest.param(entry, id=entry.family.name) for entry in expfam.catalogue()]


_draws: dict = {}


def _start_and_data(entry, dtype, n=2000):
    """Samples from the first example as data, and the second example (or 0.8 times the first) as a start.

    The draws are made once per family and dtype and shared by the tests.
    """
    family = entry.family
    etas = [family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in ex.items()}) for ex in entry.examples]
    key = (family, jnp.dtype(dtype).name, n)
    if key not in _draws:
        _draws[key] = draws(family, etas[0], n)
    return (etas[1] if len(etas) > 1 else 0.8 * etas[0]), _draws[key]


def _nearby_start(family, x):
    """The MLE of the first half of the data: a start within the sampling error (~ n^-1/2) of the MLE.

    Half, not less, so that rare outcomes occur in it (NegativeBinomial(0.01) draws 99% zeros,
    and a subsample of zeros alone has its MLE on the boundary, eta = -inf).

    From there Newton's method (the natural-gradient step of size 1) converges; from a far start
    (a catalogue extreme) a full step can leave the natural domain, and ``eta + (eta_new - eta)``
    carries a rounding error of eps |eta|, which at eta ~ 1e11 is not the MLE's precision.
    """
    return expfam.fit(family, x[: x.shape[0] // 2])


def _mean_cross_entropy(family, x):
    chi, elc = family.target(x)[:2]
    return lambda eta: jnp.mean(expfam.cross_entropy(family, eta, (chi, elc)))


def _steps(family, loss, eta, optimizer_name, steps):
    """eta after ``steps`` optimizer steps of size 1 on ``loss`` (a loop, not unrolled: each step
    would be traced and compiled anew)."""
    optimizer = getattr(expfam, optimizer_name)(family, learning_rate=1.0)

    def step(_, carry):
        eta, state = carry
        updates, state = optimizer.update(jax.grad(loss)(eta), state, eta)
        return optax.apply_updates(eta, updates), state

    return jax.lax.fori_loop(0, steps, step, (eta, optimizer.init(eta)))[0]


@functools.partial(jax.jit, static_argnums=0)
def _probe(family, eta, x) -> dict:
    """Every quantity the catalogue-wide tests below compare, for the data x: one compilation per
    family (evaluated eagerly, every family's first call compiled each primitive on its own; one
    program per test compiled the shared fits and gradients once per test).

    At the start eta: the natural gradient, dL/dchi, F dL/dchi and dL/deta of the mean
    cross-entropy L. From ``_nearby_start``: g' after one mirror-descent step and after six
    natural-gradient steps of size 1; and g' at the MLE.
    """
    loss = _mean_cross_entropy(family, x)
    grad_eta = jax.grad(loss)(eta)
    grad_chi = jax.grad(lambda chi: loss(family.natural_from_expectation(chi)))(family.expectation(eta))
    start = _nearby_start(family, x)
    return {
        "natural_gradient": expfam.damped_natural_gradient(family, eta, grad_eta),
        "grad_chi": grad_chi,
        "fisher_grad_chi": family.fisher(eta) @ grad_chi,
        "grad_eta": grad_eta,
        "mirror_descent": family.expectation(_steps(family, loss, start, "mirror_descent", 1)),
        "natural_gradient_descent": family.expectation(_steps(family, loss, start, "natural_gradient_descent", 6)),
        "mle": family.expectation(expfam.fit(family, x)),
    }


_probed: dict = {}


def _probed_at(entry) -> dict:
    """``_probe`` at the entry's start and data in float64, evaluated once per family."""
    if entry.family not in _probed:
        with jax.enable_x64(True):
            _probed[entry.family] = _probe(entry.family, *_start_and_data(entry, "float64"))
    return _probed[entry.family]


@pytest.mark.parametrize("entry", ENTRIES)
def test_natural_gradient_is_gradient_in_expectation_coordinates(entry, x64):
    at = _probed_at(entry)
    # F^{-1} dL/deta = dL/dchi, and dually F_chi^{-1} dL/dchi = F dL/dchi = dL/deta.
    assert_close(at["natural_gradient"], at["grad_chi"], "float64", loose=50)
    assert_close(at["fisher_grad_chi"], at["grad_eta"], "float64", loose=50)


@pytest.mark.parametrize("entry", ENTRIES)
def test_mirror_descent_step_of_one_lands_on_the_mle(entry, x64):
    at = _probed_at(entry)
    assert_close(at["mirror_descent"], at["mle"], "float64", loose=20)


@pytest.mark.parametrize("entry", ENTRIES)
def test_natural_gradient_descent_converges_to_the_mle_in_a_few_steps(entry, x64):
    # Newton's method converges from near the optimum
    at = _probed_at(entry)
    assert_close(at["natural_gradient_descent"], at["mle"], "float64", loose=1e3)


def test_natural_gradient_step_of_one_is_exact_for_quadratic_log_normalizer(dtype):
    family = expfam.NormalKnownVariance(variance=0.25)
    eta = family.natural_from_source(loc=jnp.asarray(3.0, dtype))
    x = family.sample(jax.random.key(0), family.natural_from_source(loc=jnp.asarray(-1.0, dtype)), (100,))
    optimizer = expfam.natural_gradient_descent(family, learning_rate=1.0)
    updates, _ = optimizer.update(jax.grad(_mean_cross_entropy(family, x))(eta), optimizer.init(eta), eta)
    assert_close(optax.apply_updates(eta, updates), expfam.fit(family, x), dtype)


def test_damping_solves_the_damped_system(dtype):
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=jnp.asarray([0.5, 4.0], dtype), rate=jnp.asarray([2.0, 0.3], dtype))
    g = jnp.asarray([[1.0, -0.5], [0.25, 2.0]], dtype)
    u = expfam.damped_natural_gradient(family, eta, g, damping=0.1)
    damped = family.fisher(eta) + 0.1 * jnp.eye(2, dtype=dtype)[None]
    assert_close(jnp.einsum("bij,bj->bi", damped, u), g, dtype, loose=10)
    with pytest.raises(ValueError, match="damping"):
        expfam.scale_by_natural_gradient(family, damping=-1.0)


def test_pytree_of_families_under_jit():
    families = {"rate": expfam.Gamma(), "size": expfam.Normal()}
    params = {
        "rate": expfam.Gamma().natural_from_source(shape=2.0, rate=1.0),
        "size": expfam.Normal().natural_from_source(loc=0.0, scale=1.0),
    }
    data = {"rate": jnp.asarray([0.5, 1.5, 3.0]), "size": jnp.asarray([-1.0, 0.5, 1.2])}

    def loss(p):
        return sum(jnp.mean(expfam.nll(families[k], p[k], data[k])) for k in p)

    for optimizer in (
        expfam.natural_gradient_descent(families, 0.2, damping=1e-3),
        expfam.mirror_descent(families, 0.5),
    ):
        state = optimizer.init(params)

        @jax.jit
        def step(p, s, optimizer=optimizer):
            updates, s = optimizer.update(jax.grad(loss)(p), s, p)
            return optax.apply_updates(p, updates), s

        p, s = step(params, state)
        p, s = step(p, s)
        assert float(loss(p)) < float(loss(params))
    with pytest.raises(ValueError, match="needs the parameters"):
        expfam.scale_by_natural_gradient(families).update(params, optax.EmptyState())


def _mlp(params, x):
    hidden = jnp.tanh(x @ params["w1"] + params["b1"][None])
    return hidden @ params["w2"] + params["b2"][None]


def test_gauss_newton_vector_product_matches_dense_jacobian(x64):
    family = expfam.Gamma()
    keys = jax.random.split(jax.random.key(0), 5)
    params = {
        "w1": jax.random.normal(keys[0], (3, 4)),
        "b1": jnp.zeros(4),
        "w2": 0.5 * jax.random.normal(keys[1], (4, 2)),
        "b2": jnp.zeros(2),
    }
    x = jax.random.normal(keys[2], (6, 3))
    v = jax.tree.map(lambda p: jax.random.normal(keys[3], p.shape), params)

    def predict(p):
        return family.link(_mlp(p, x))

    flat, unravel = jax.flatten_util.ravel_pytree(params)
    jacobian = jax.jacobian(lambda f: predict(unravel(f)))(flat).reshape(12, flat.size)  # (N M, P)
    fisher = jax.scipy.linalg.block_diag(*family.fisher(predict(params)))  # (N M, N M)
    dense = jacobian.T @ fisher @ jacobian / 6
    product = expfam.gauss_newton_vector_product(family, predict, params, v)
    assert_close(jax.flatten_util.ravel_pytree(product)[0], dense @ jax.flatten_util.ravel_pytree(v)[0], "float64")


def _irls(x, y, kind, steps=30):
    """Textbook IRLS for a canonical-link GLM (Poisson: log link; Bernoulli: logit link)."""
    beta = np.zeros(x.shape[1])
    for _ in range(steps):
        eta = x @ beta
        mu = np.exp(eta) if kind == "poisson" else 1 / (1 + np.exp(-eta))
        weight = mu if kind == "poisson" else mu * (1 - mu)
        z = eta + (y - mu) / weight
        beta = np.linalg.solve(x.T @ (weight[:, None] * x), x.T @ (weight * z))
    return beta


@pytest.mark.parametrize(("family", "kind"), [(expfam.Poisson(), "poisson"), (expfam.Bernoulli(), "bernoulli")])
def test_fisher_scoring_on_linear_model_matches_irls(family, kind, x64):
    rng = np.random.default_rng(0)
    x = np.concatenate([np.ones((300, 1)), rng.normal(size=(300, 2))], axis=1)
    true_beta = np.array([0.3, 0.8, -0.5])
    eta_true = x @ true_beta
    y = rng.poisson(np.exp(eta_true)) if kind == "poisson" else rng.binomial(1, 1 / (1 + np.exp(-eta_true)))
    y = y.astype(np.float64)
    chi, elc = family.target(jnp.asarray(y))[:2]

    def predict(beta):
        return (jnp.asarray(x) @ beta)[:, None]

    def loss(beta):
        return jnp.mean(expfam.cross_entropy(family, predict(beta), (chi, elc)))

    optimizer = expfam.gauss_newton_descent(family, learning_rate=1.0, damping=0.0, max_steps=3)
    beta = jnp.zeros(3)
    state = optimizer.init(beta)
    for _ in range(12):
        updates, state = optimizer.update(jax.grad(loss)(beta), state, beta, predict=predict)
        beta = optax.apply_updates(beta, updates)
    np.testing.assert_allclose(np.asarray(beta), _irls(x, y, kind), rtol=1e-8, atol=1e-10)


@pytest.mark.slow  # runs an example script, like tests/test_examples.py
def test_example_runs_fast_and_natural_gradient_beats_adam():
    path = pathlib.Path(__file__).parent.parent / "examples" / "natural_gradient_regression.py"
    spec = importlib.util.spec_from_file_location("natural_gradient_regression", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    result = module.main(["--fast", "--plot", os.devnull])
    natural, adam = result["reached"].values()
    assert natural is not None
    assert adam is None or natural < adam
    assert all(np.isfinite(curve).all() for curve in result["curves"].values())
