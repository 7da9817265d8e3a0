"""Natural-gradient variational inference (expfam._geometry.variational).

References: the conjugate posteriors of expfam's conjugate-prior module and textbook closed forms
(Bayesian linear regression in numpy), the exact identity ``d/dmu E_q[w . T] = w`` for the
gradient estimators, and optima of the ELBO computed independently by quadrature (scipy) and
deterministic optimization.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import integrate, optimize, stats

import expfam

BERNOULLI = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
COUNTS = np.array([3.0, 0.0, 5.0, 2.0, 7.0, 4.0])
REAL = np.array([0.3, -1.2, 2.5, 0.9, 1.4])
LABELS = np.array([0, 2, 2, 1, 2, 0, 2, 3])


def _random_start(family, key):
    """A start far from the posterior: a random member of the family's natural domain."""
    return family.link(3.0 * jax.random.normal(key, (family.num_natural,), jnp.float64))


def _beta_bernoulli():
    family, x = expfam.Beta(), BERNOULLI
    prior = family.natural_from_source(alpha=2.5, beta=1.5)

    def expected(mu):  # E_q[x log p + (1 - x) log(1 - p)], Beta's T = (log p, log(1 - p))
        return x.sum() * mu[0] + (1 - x).sum() * mu[1]

    module = expfam.BetaBernoulli()
    posterior = module.source_from_natural(module.posterior(module.natural_from_source(alpha=2.5, beta=1.5), x))
    return family, prior, expected, posterior


def _gamma_poisson():
    family, x = expfam.Gamma(), COUNTS
    prior = family.natural_from_source(shape=2.0, rate=0.5)

    def expected(mu):  # E_q[x log r - r] summed, Gamma's T = (r, log r)
        return -x.size * mu[0] + x.sum() * mu[1]

    module = expfam.GammaPoisson()
    posterior = module.source_from_natural(module.posterior(module.natural_from_source(shape=2.0, rate=0.5), x))
    return family, prior, expected, posterior


def _dirichlet_categorical():
    family, counts = expfam.Dirichlet(4), np.bincount(LABELS, minlength=4).astype(float)
    prior = family.natural_from_source(concentration=jnp.array([0.5, 1.0, 2.0, 0.7]))

    def expected(mu):  # E_q[sum_k n_k log p_k], Dirichlet's T = log p
        return counts @ mu

    module = expfam.DirichletCategorical(4)
    labels = jnp.asarray(LABELS)  # integer class labels (the Categorical's labels door)
    zeta = module.posterior(module.natural_from_source(concentration=jnp.array([0.5, 1.0, 2.0, 0.7])), labels)
    return family, prior, expected, module.source_from_natural(zeta)


def _normal_known_variance():
    variance, x = 0.7, REAL
    family = expfam.Normal()  # q over the unknown mean m, T(m) = (m, m^2)
    prior = family.natural_from_source(loc=0.5, scale=2.0)

    def expected(mu):  # E_q[sum -(x - m)^2 / (2 v)] up to a constant
        return x.sum() / variance * mu[0] - x.size / (2 * variance) * mu[1]

    module = expfam.NormalNormal(variance)
    posterior = module.source_from_natural(module.posterior(module.natural_from_source(loc=0.5, scale=2.0), x))
    return family, prior, expected, posterior


def _linear_regression():
    rng = np.random.default_rng(0)
    d, n, noise = 3, 20, 0.3
    inputs = rng.normal(size=(n, d))
    y = inputs @ np.array([1.0, -2.0, 0.5]) + np.sqrt(noise) * rng.normal(size=n)
    prior_mean, prior_cov = np.array([0.1, 0.0, -0.3]), np.diag([2.0, 1.0, 0.5])
    family = expfam.MultivariateNormal(d)
    prior = family.natural_from_source(loc=prior_mean, covariance=prior_cov)
    from expfam._numerics import packing

    xty, xtx = inputs.T @ y / noise, packing.pack(jnp.asarray(inputs.T @ inputs / noise))

    def expected(mu):  # E_q[-(y - w.x)^2 / (2 s2)] = x^T y / s2 . E[w] - 1/2 tr(X^T X / s2 E[w w^T])
        return xty @ mu[:d] - 0.5 * xtx @ mu[d:]

    # Textbook posterior, in numpy.
    precision = np.linalg.inv(prior_cov) + inputs.T @ inputs / noise
    covariance = np.linalg.inv(precision)
    mean = covariance @ (np.linalg.solve(prior_cov, prior_mean) + inputs.T @ y / noise)
    return family, prior, expected, {"loc": mean, "covariance": covariance}


CONJUGATE = {
    "beta-bernoulli": _beta_bernoulli,
    "gamma-poisson": _gamma_poisson,
    "dirichlet-categorical": _dirichlet_categorical,
    "normal-known-variance": _normal_known_variance,
    "linear-regression": _linear_regression,
}


@pytest.mark.parametrize("name", CONJUGATE)
def test_conjugate_one_step_is_exact_posterior(x64, name):
    family, prior, expected, posterior = CONJUGATE[name]()
    key = jax.random.key(0)
    result = expfam.variational_inference(
        family, _random_start(family, key), key, expected_log_likelihood=expected, prior=(family, prior), num_steps=1
    )
    assert float(result.accepted) == 1.0
    landings = [result.natural]
    for seed in (1, 2):  # other starts, through the step's target (no compilation)
        landings.append(
            expfam.natural_target(family, _random_start(family, jax.random.key(seed)), key,
                                  expected_log_likelihood=expected, prior=(family, prior))
        )  # fmt: skip
    for natural in landings:
        found = family.source_from_natural(natural)
        for name, value in posterior.items():
            np.testing.assert_allclose(found[name], value, rtol=1e-10, atol=1e-12)


def test_optax_step_on_negative_elbo_is_exact_posterior(x64):
    family, prior, expected, posterior = _gamma_poisson()
    params = {"rate": _random_start(family, jax.random.key(3))}
    transform = expfam.variational_natural_gradient(family, learning_rate=1.0)

    def loss(p):
        return -expfam.elbo(
            family, p["rate"], jax.random.key(0), expected_log_likelihood=expected, prior=(family, prior)
        )

    updates, _ = jax.jit(transform.update)(jax.jit(jax.grad(loss))(params), transform.init(params), params)
    found = family.source_from_natural(optax.apply_updates(params, updates)["rate"])
    for key, value in posterior.items():
        np.testing.assert_allclose(found[key], value, rtol=1e-10)


# Gradient estimators: d/dmu E_q[w . T(theta)] = w exactly (E_q[T] = mu).
_MVN = (
    expfam.MultivariateNormal(2),
    {"loc": np.array([1.0, -1.0]), "covariance": np.array([[2.0, 0.5], [0.5, 1.0]])},
)
#: Two fast cases (one per estimator); the rest (compilation of rejection samplers' gradients
#: under vmap, several seconds each) in the slow run.
ESTIMATOR_CASES = [
    (expfam.Gamma(), {"shape": 2.0, "rate": 3.0}, "reparameterization"),
    (expfam.Gamma(), {"shape": 3.0, "rate": 1.0}, "score"),
    *(
        pytest.param(*case, marks=pytest.mark.slow)
        for case in [
            (expfam.Beta(), {"alpha": 0.7, "beta": 3.0}, "reparameterization"),
            (expfam.Dirichlet(3), {"concentration": np.array([0.5, 2.0, 4.0])}, "reparameterization"),
            (*_MVN, "reparameterization"),
            (*_MVN, "hessian"),
            (expfam.MultivariateNormalDiag(2), {"loc": np.array([1.0, -1.0]), "scale": np.array([0.5, 2.0])}, "auto"),
            (expfam.VonMises(), {"loc": 0.3, "concentration": 2.0}, "auto"),
            (expfam.Poisson(), {"rate": 3.0}, "auto"),
        ]
    ),
]


@pytest.mark.parametrize(("family", "source", "estimator"), ESTIMATOR_CASES, ids=lambda v: getattr(v, "name", None))
def test_expectation_gradient_of_statistics_is_the_weights(x64, family, source, estimator):
    eta = family.natural_from_source(**source)
    weights = jnp.linspace(1.0, 2.0, family.num_natural)

    def fn(theta):
        return family.sufficient_statistics(theta) @ weights

    keys = jax.random.split(jax.random.key(1), 16)
    estimate = jax.vmap(lambda e, k: expfam.expectation_gradient(family, e, fn, k, 5_000, estimator), (None, 0))
    estimates = jax.jit(estimate)(eta, keys)
    error = np.abs(np.mean(estimates, axis=0) - weights)
    standard_error = np.std(estimates, axis=0) / np.sqrt(len(keys))
    assert np.all(error < 4 * standard_error + 1e-9), (error, standard_error)
    assert np.all(standard_error < 0.1 * weights)  # and the estimate is informative


def test_score_estimator_is_chosen_for_rejection_and_discrete_samplers():
    from expfam._geometry.variational import PATHWISE_SAMPLERS

    assert expfam.Gamma in PATHWISE_SAMPLERS
    assert expfam.MultivariateNormal in PATHWISE_SAMPLERS
    assert expfam.VonMises not in PATHWISE_SAMPLERS
    assert expfam.Poisson not in PATHWISE_SAMPLERS


def test_backtracking_keeps_the_step_inside_the_domain(x64):
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=2.0, rate=1.0)
    target = family.natural_from_source(shape=-3.0, rate=1.0)  # outside: shape < 0
    new, accepted = expfam.backtrack(family, eta, target - eta, jnp.asarray(1.0), 20)
    assert bool(family.is_natural_valid(new))
    assert not bool(accepted)
    # The largest halving that is valid: shape 2 - 5 rho > 0, so rho = 1/4 (shape 0.75).
    np.testing.assert_allclose(family.source_from_natural(new)["shape"], 0.75)


def test_bad_input():
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=2.0, rate=1.0)
    with pytest.raises(ValueError, match="log_likelihood"):
        expfam.variational_inference(family, eta, jax.random.key(0))
    with pytest.raises(ValueError, match="shape"):
        expfam.natural_target(family, jnp.stack([eta, eta]), jax.random.key(0), log_likelihood=jnp.log)
    with pytest.raises(ValueError, match="natural domain"):
        expfam.natural_target(family, -eta, jax.random.key(0), log_likelihood=jnp.log)
    with pytest.raises(ValueError, match="prior natural parameters outside"):
        expfam.natural_target(family, eta, jax.random.key(0), log_likelihood=jnp.log, prior=(family, -eta))
    with pytest.raises(ValueError, match="estimator"):
        expfam.expectation_gradient(family, eta, jnp.log, jax.random.key(0), estimator="pathwise")  # type: ignore[arg-type]


# A Gamma posterior on a Poisson rate under a log-normal prior (not conjugate).
LOGNORMAL_PRIOR = (0.5, 0.8)  # location and scale of log r


def _gamma_lognormal_elbo_by_quadrature(shape: float, rate: float) -> float:
    """ELBO(q = Gamma(shape, rate)) by scipy quadrature (independent of expfam)."""
    m, s = LOGNORMAL_PRIOR
    q = stats.gamma(shape, scale=1 / rate)

    def integrand(r):
        log_joint = np.sum(stats.poisson.logpmf(COUNTS, r)) + stats.lognorm.logpdf(r, s, scale=np.exp(m))
        return q.pdf(r) * (log_joint - q.logpdf(r))

    lo, hi = q.ppf(1e-12), q.ppf(1 - 1e-12)
    return integrate.quad(integrand, lo, hi, epsabs=0, epsrel=1e-11, limit=200)[0]


@pytest.mark.slow
def test_gamma_posterior_under_lognormal_prior_reaches_the_quadrature_optimum(x64):
    family = expfam.Gamma()
    m, s = LOGNORMAL_PRIOR
    prior = (expfam.LogNormal(), expfam.LogNormal().natural_from_source(loc=m, scale=s))

    def expected(mu):
        return -COUNTS.size * mu[0] + COUNTS.sum() * mu[1]

    def schedule(t):
        return 0.5 / (1.0 + 0.05 * t)

    result = expfam.variational_inference(
        family,
        family.natural_from_source(shape=1.0, rate=1.0),
        jax.random.key(0),
        expected_log_likelihood=expected,
        prior=prior,
        num_steps=400,
        learning_rate=schedule,
        num_samples=64,
    )
    averaged = jnp.mean(result.path[-200:], axis=0)  # Polyak average of the noisy iterates
    found = family.source_from_natural(averaged)

    best = optimize.minimize(
        lambda p: -_gamma_lognormal_elbo_by_quadrature(*np.exp(p)), np.log([10.0, 3.0]), method="Nelder-Mead",
        options={"xatol": 1e-7, "fatol": 1e-10},
    )  # fmt: skip
    shape, rate = np.exp(best.x)
    gap = -best.fun - _gamma_lognormal_elbo_by_quadrature(float(found["shape"]), float(found["rate"]))
    assert gap + 1e-8 >= 0
    assert gap < 1e-3
    np.testing.assert_allclose([found["shape"], found["rate"]], [shape, rate], rtol=0.03)


def test_float32_run_stays_finite_and_close():
    family = expfam.Gamma()
    _, prior, _expected, posterior = _gamma_poisson()
    prior32 = jnp.asarray(prior, jnp.float32)
    result = expfam.variational_inference(
        family,
        family.natural_from_source(shape=1.0, rate=1.0).astype(jnp.float32),
        jax.random.key(0),
        log_likelihood=lambda r: jnp.sum(COUNTS) * jnp.log(r) - COUNTS.size * r,
        prior=(family, prior32),
        num_steps=100,
        learning_rate=0.2,
        num_samples=32,
    )
    assert result.natural.dtype == jnp.float32
    assert bool(jnp.all(jnp.isfinite(result.path)))
    found = family.source_from_natural(jnp.mean(result.path[-50:], axis=0))
    np.testing.assert_allclose([found["shape"], found["rate"]], [posterior["shape"], posterior["rate"]], rtol=0.05)


# The deep-network optimizer on a linear-Gaussian model with a diagonal Hessian, where the
# diagonal Gaussian posterior is exact: N(A + delta)^-1 precision-weighted mean, variance
# 1 / (N (A_ii + delta)) with A = X^T X / N.
def test_ivon_recovers_the_exact_diagonal_posterior(x64):
    rng = np.random.default_rng(0)
    n, curvature, delta = 200, np.array([0.5, 2.0, 8.0]), 0.1
    q, _ = np.linalg.qr(rng.normal(size=(n, 3)))
    x = np.sqrt(n) * q * np.sqrt(curvature)  # X^T X / n = diag(curvature)
    y = x @ np.array([1.0, -0.5, 0.2]) + rng.normal(size=n)
    exact_mean = (x.T @ y / n) / (curvature + delta)
    exact_scale = 1 / np.sqrt(n * (curvature + delta))
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def mean_loss(params):
        return 0.5 * jnp.mean((yj - xj @ params["w"]) ** 2)

    optimizer = expfam.ivon(learning_rate=0.2, ess=n, hess_init=1.0, beta2=0.999, weight_decay=delta)
    params = {"w": jnp.zeros(3)}

    def step(carry, key):
        p, state = carry
        theta, state = expfam.ivon_sample(key, p, state)
        updates, state = optimizer.update(jax.grad(mean_loss)(theta), state, p)
        p = optax.apply_updates(p, updates)
        return (p, state), p["w"]

    run = jax.jit(lambda p, keys: jax.lax.scan(step, (p, optimizer.init(p)), keys))
    (params, state), path = run(params, jax.random.split(jax.random.key(0), 4000))
    np.testing.assert_allclose(np.mean(path[-2000:], axis=0), exact_mean, rtol=0.02)  # averaged iterates
    np.testing.assert_allclose(expfam.ivon_scale(state)["w"], exact_scale, rtol=0.05)
    # Model averaging: the mean prediction of the draws is the prediction of the mean (linear model).
    average = expfam.bayesian_model_average(jax.random.key(1), lambda p: xj @ p["w"], params, state, 4000)
    np.testing.assert_allclose(
        average, xj @ params["w"], atol=4 * np.sqrt(3 / 4000) * np.abs(x).max() * exact_scale.max()
    )


def _logistic_elbo_by_quadrature(mean, lower, x, y, nodes=40):
    """ELBO of q = N(mean, L L^T) under a N(0, I) prior by a 2-D Gauss-Hermite grid (numpy, independent)."""
    z, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    grid = np.stack(np.meshgrid(z, z, indexing="ij"), -1).reshape(-1, 2)
    weights = np.outer(w, w).reshape(-1)
    draws = mean + grid @ lower.T
    log_joint = -np.logaddexp(0, -y[None, :] * (draws @ x.T)).sum(1) - 0.5 * (draws**2).sum(1) - np.log(2 * np.pi)
    entropy = np.log(2 * np.pi * np.e) + np.log(np.abs(np.diag(lower))).sum()
    return weights @ log_joint + entropy


@pytest.mark.slow
def test_logistic_regression_reaches_the_quadrature_optimum(x64):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(30, 2))
    y = np.where(rng.uniform(size=30) < 1 / (1 + np.exp(-x @ np.array([1.5, -1.0]))), 1.0, -1.0)
    family = expfam.MultivariateNormal(2)
    prior = family.natural_from_source(loc=jnp.zeros(2), covariance=jnp.eye(2))
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def log_likelihood(w):
        return jnp.sum(jax.nn.log_sigmoid(yj * (xj @ w)))

    result = expfam.variational_inference(
        family, prior, jax.random.key(0), log_likelihood=log_likelihood, prior=(family, prior),
        num_steps=300, learning_rate=0.2, num_samples=256, estimator="hessian",
    )  # fmt: skip
    found = family.source_from_natural(jnp.mean(result.path[-200:], axis=0))
    mean, lower = np.asarray(found["loc"]), np.linalg.cholesky(np.asarray(found["covariance"]))

    def negative(p):
        return -_logistic_elbo_by_quadrature(p[:2], np.array([[np.exp(p[2]), 0.0], [p[3], np.exp(p[4])]]), x, y)

    best = optimize.minimize(negative, np.zeros(5), method="BFGS", options={"gtol": 1e-9})
    gap = -best.fun - _logistic_elbo_by_quadrature(mean, lower, x, y)
    assert gap > -1e-8
    assert gap < 1e-3
    np.testing.assert_allclose(mean, best.x[:2], atol=0.03)


def test_ivon_bad_input():
    with pytest.raises(ValueError, match="ess"):
        expfam.ivon(learning_rate=0.1, ess=0.0)
    with pytest.raises(ValueError, match="beta1"):
        expfam.ivon(learning_rate=0.1, ess=10.0, beta2=1.0)
    optimizer = expfam.ivon(learning_rate=0.1, ess=10.0)
    params = {"w": jnp.zeros(2)}
    with pytest.raises(ValueError, match="parameters"):
        optimizer.update(params, optimizer.init(params))
