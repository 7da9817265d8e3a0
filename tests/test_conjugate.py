"""Conjugate priors and compound predictive distributions.

References: numerical integration of likelihood x prior (scipy.integrate), textbook posterior
updates, scipy.stats (betabinom, dirichlet_multinomial, nbinom, lomax, t, multivariate_t),
and the chain rule (a marginal likelihood is a product of sequential predictives).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close
from scipy import integrate, stats
from scipy.special import gammaln as sp_gammaln

import expfam

DATA = {
    "bernoulli": np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0]),
    "poisson": np.array([3.0, 0.0, 5.0, 2.0, 7.0]),
    "positive": np.array([0.3, 2.5, 1.1, 0.05, 4.0]),
    "real": np.array([0.3, -1.2, 2.5, 0.9, 1.4]),
}


def _likelihood(log_pdf, x):
    """The likelihood of the data under a scipy log-density (independent of expfam)."""
    return float(np.exp(np.sum(log_pdf(x))))


def test_beta_bernoulli_marginal_by_integration(x64):
    prior, x = expfam.BetaBernoulli(), DATA["bernoulli"]
    zeta = prior.natural_from_source(alpha=2.5, beta=1.5)

    def integrand(p):
        return _likelihood(stats.bernoulli(p).logpmf, x) * stats.beta.pdf(p, 2.5, 1.5)

    reference = np.log(integrate.quad(integrand, 0, 1, epsabs=0, epsrel=1e-12)[0])
    assert_close(prior.log_marginal_likelihood(zeta, x), reference, "float64", loose=100)


def test_gamma_poisson_marginal_by_integration(x64):
    prior, x = expfam.GammaPoisson(), DATA["poisson"]
    zeta = prior.natural_from_source(shape=3.0, rate=0.8)

    def integrand(rate):
        return _likelihood(stats.poisson(rate).logpmf, x) * stats.gamma.pdf(rate, 3.0, scale=1 / 0.8)

    reference = np.log(integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12)[0])
    assert_close(prior.log_marginal_likelihood(zeta, x), reference, "float64", loose=100)


def test_gamma_exponential_marginal_by_integration(x64):
    prior, x = expfam.GammaExponential(), DATA["positive"]
    zeta = prior.natural_from_source(shape=2.0, rate=1.5)

    def integrand(rate):
        return _likelihood(stats.expon(scale=1 / rate).logpdf, x) * stats.gamma.pdf(rate, 2.0, scale=1 / 1.5)

    reference = np.log(integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12)[0])
    assert_close(prior.log_marginal_likelihood(zeta, x), reference, "float64", loose=100)


def test_normal_normal_marginal_by_integration(x64):
    prior, x = expfam.NormalNormal(variance=0.5), DATA["real"]
    zeta = prior.natural_from_source(loc=1.0, scale=2.0)

    def integrand(mean):
        return _likelihood(stats.norm(mean, np.sqrt(0.5)).logpdf, x) * stats.norm.pdf(mean, 1.0, 2.0)

    reference = np.log(integrate.quad(integrand, -np.inf, np.inf, epsabs=0, epsrel=1e-12)[0])
    assert_close(prior.log_marginal_likelihood(zeta, x), reference, "float64", loose=100)
    # The sample-only reference: x ~ N(1 * ones, 0.5 I + 4 ones ones^T).
    covariance = 0.5 * np.eye(5) + 4.0 * np.ones((5, 5))
    exact = stats.multivariate_normal.logpdf(x, np.ones(5), covariance)
    assert_close(prior.log_marginal_likelihood(zeta, x), exact, "float64", loose=100)


def test_normal_gamma_marginal_by_integration(x64):
    prior, x = expfam.NormalGamma(), DATA["real"]
    zeta = prior.natural_from_source(loc=0.5, kappa=2.0, concentration=3.0, rate=2.0)

    def integrand(mean, precision):  # plain numpy: the Normal likelihood times the Normal-Gamma density
        log_likelihood = np.sum(-0.5 * np.log(2 * np.pi / precision) - 0.5 * precision * (x - mean) ** 2)
        log_normal = -0.5 * np.log(2 * np.pi / (2.0 * precision)) - precision * (mean - 0.5) ** 2
        log_gamma = 3.0 * np.log(2.0) - sp_gammaln(3.0) + 2.0 * np.log(precision) - 2.0 * precision
        return np.exp(log_likelihood + log_normal + log_gamma)

    value = integrate.dblquad(integrand, 0, 30, -8, 8, epsabs=0, epsrel=1e-10)[0]
    assert_close(prior.log_marginal_likelihood(zeta, x), np.log(value), "float64", loose=1e4)


def test_normal_gamma_posterior_is_textbook(x64):
    prior, x = expfam.NormalGamma(), DATA["real"]
    m0, k0, a0, b0 = 0.5, 2.0, 3.0, 2.0
    post = prior.source_from_natural(
        prior.posterior(prior.natural_from_source(loc=m0, kappa=k0, concentration=a0, rate=b0), x)
    )
    n, mean = len(x), x.mean()
    kn = k0 + n
    expected = {
        "loc": (k0 * m0 + n * mean) / kn,
        "kappa": kn,
        "concentration": a0 + n / 2,
        "rate": b0 + 0.5 * np.sum((x - mean) ** 2) + k0 * n * (mean - m0) ** 2 / (2 * kn),
    }
    for key, value in expected.items():
        assert_close(post[key], value, "float64", loose=100)


def test_one_parameter_posteriors_are_textbook(x64):
    x = DATA["bernoulli"]
    post = expfam.BetaBernoulli().source_from_natural(
        expfam.BetaBernoulli().posterior(expfam.BetaBernoulli().natural_from_source(alpha=2.0, beta=3.0), x)
    )
    assert_close(jnp.stack([post["alpha"], post["beta"]]), np.array([2 + x.sum(), 3 + len(x) - x.sum()]), "float64")
    x = DATA["positive"]
    prior = expfam.GammaExponential()
    post = prior.source_from_natural(prior.posterior(prior.natural_from_source(shape=2.0, rate=1.5), x))
    assert_close(jnp.stack([post["shape"], post["rate"]]), np.array([2 + len(x), 1.5 + x.sum()]), "float64")
    labels = jnp.array([0, 2, 2, 1, 2])
    prior = expfam.DirichletCategorical(3)
    concentration = prior.posterior(prior.natural_from_source(concentration=[1.0, 0.5, 2.0]), labels)
    assert_close(concentration, np.array([2.0, 1.5, 5.0]), "float64")
    with pytest.raises(ValueError, match="outside"):
        expfam.GammaPoisson().posterior(jnp.array([1.0, 1.0]), jnp.array([1.5]))


def test_dirichlet_categorical_marginal_against_dirichlet_multinomial(x64):
    prior, a = expfam.DirichletCategorical(3), np.array([1.0, 0.5, 2.0])
    labels = np.array([0, 2, 2, 1, 2, 0])
    counts = np.bincount(labels, minlength=3)
    log_coefficient = sp_gammaln(counts.sum() + 1) - sp_gammaln(counts + 1).sum()
    reference = stats.dirichlet_multinomial.logpmf(counts, a, counts.sum()) - log_coefficient
    value = prior.log_marginal_likelihood(prior.natural_from_source(concentration=a), jnp.asarray(labels))
    assert_close(value, reference, "float64", loose=100)


def test_predictives_against_scipy(dtype):
    cases = [
        (expfam.BetaBernoulli(), {"alpha": 2.0, "beta": 3.0}, np.array([0.0, 1.0]), stats.bernoulli(0.4).logpmf),
        (expfam.GammaPoisson(), {"shape": 2.5, "rate": 0.4}, np.arange(30.0), stats.nbinom(2.5, 0.4 / 1.4).logpmf),
        (
            expfam.GammaExponential(),
            {"shape": 3.0, "rate": 2.0},
            np.linspace(0, 20, 9),
            stats.lomax(3.0, scale=2).logpdf,
        ),
        (
            expfam.NormalNormal(0.5),
            {"loc": 1.0, "scale": 2.0},
            np.linspace(-5, 5, 7),
            stats.norm(1, np.sqrt(4.5)).logpdf,
        ),
    ]
    for prior, source, x, reference in cases:
        zeta = prior.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in source.items()})
        assert_close(prior.predictive_log_prob(zeta, jnp.asarray(x, dtype)), reference(x), dtype, loose=20)


def test_normal_gamma_predictive_is_student_t(dtype):
    prior = expfam.NormalGamma()
    zeta = prior.natural_from_source(
        loc=jnp.asarray(0.5, dtype), kappa=jnp.asarray(2.0, dtype), concentration=jnp.asarray(3.0, dtype), rate=2.0
    )
    x = np.linspace(-10, 10, 11)
    reference = stats.t(6.0, loc=0.5, scale=np.sqrt(2.0 * 3.0 / (3.0 * 2.0))).logpdf(x)
    assert_close(prior.predictive_log_prob(zeta, jnp.asarray(x, dtype)), reference, dtype, loose=20)
    t = prior.predictive_student_t(zeta)
    assert_close(expfam.student_t_log_prob(jnp.asarray(x, dtype), **t), reference, dtype, loose=20)


def _wishart_case(dim):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(dim, dim))
    return {"loc": rng.normal(size=dim), "kappa": 1.5, "dof": dim + 2.5, "scale": a @ a.T / dim + np.eye(dim)}


def test_normal_wishart_predictive_and_chain_rule(x64):
    prior = expfam.NormalWishart(dim=2)
    zeta = prior.natural_from_source(**_wishart_case(2))
    x = np.random.default_rng(1).normal(size=(4, 2))
    sequential = 0.0
    for point in x:
        t = prior.predictive_student_t(zeta)
        reference = stats.multivariate_t(np.asarray(t["loc"]), np.asarray(t["shape_matrix"]), df=float(t["df"]))
        assert_close(prior.predictive_log_prob(zeta, point), reference.logpdf(point), "float64", loose=100)
        sequential += reference.logpdf(point)
        zeta = prior.posterior(zeta, point[None])
    start = prior.natural_from_source(**_wishart_case(2))
    assert_close(prior.log_marginal_likelihood(start, x), sequential, "float64", loose=100)


def test_normal_wishart_in_one_dimension_is_normal_gamma(x64):
    case = _wishart_case(1)
    wishart = expfam.NormalWishart(dim=1).natural_from_source(**{k: jnp.asarray(v) for k, v in case.items()})
    gamma = expfam.NormalGamma().natural_from_source(
        loc=case["loc"][0], kappa=case["kappa"], concentration=case["dof"] / 2, rate=0.5 / case["scale"][0, 0]
    )
    x = DATA["real"]
    assert_close(
        expfam.NormalWishart(dim=1).log_marginal_likelihood(wishart, x[:, None]),
        expfam.NormalGamma().log_marginal_likelihood(gamma, x),
        "float64",
        loose=100,
    )


def test_compound_log_probs_against_scipy(dtype):
    x = np.arange(11.0)
    assert_close(
        expfam.beta_binomial_log_prob(jnp.asarray(x, dtype), 10, 0.7, 2.5),
        stats.betabinom(10, 0.7, 2.5).logpmf(x),
        dtype,
        loose=20,
    )
    assert_close(
        expfam.negative_binomial_log_prob(jnp.asarray(x, dtype), 0.3, 0.05),
        stats.nbinom(0.3, 0.05 / 1.05).logpmf(x),
        dtype,
        loose=20,
    )
    counts, a = np.array([[2.0, 0.0, 5.0], [1.0, 1.0, 1.0]]), np.array([0.5, 1.5, 3.0])
    reference = [stats.dirichlet_multinomial.logpmf(c, a, c.sum()) for c in counts]
    assert_close(
        expfam.dirichlet_multinomial_log_prob(jnp.asarray(counts, dtype), jnp.asarray(a, dtype)),
        reference,
        dtype,
        loose=20,
    )
    z = np.linspace(-30, 30, 13)
    assert_close(
        expfam.student_t_log_prob(jnp.asarray(z, dtype), 1.5, 2.0, 3.0),
        stats.t(1.5, 2.0, 3.0).logpdf(z),
        dtype,
        loose=20,
    )
    shape_matrix = np.array([[2.0, 0.3], [0.3, 0.5]])
    points = np.random.default_rng(0).normal(size=(5, 2)) * 4
    reference = stats.multivariate_t([1.0, -1.0], shape_matrix, df=3.5).logpdf(points)
    value = expfam.multivariate_student_t_log_prob(
        jnp.asarray(points, dtype), 3.5, jnp.asarray([1.0, -1.0], dtype), jnp.asarray(shape_matrix, dtype)
    )
    assert_close(value, reference, dtype, loose=20)


def test_compound_outside_support_and_gradients():
    assert float(expfam.beta_binomial_log_prob(11.0, 10, 1.0, 1.0)) == -np.inf
    assert float(expfam.beta_binomial_log_prob(2.5, 10, 1.0, 1.0)) == -np.inf
    assert float(expfam.negative_binomial_log_prob(-1.0, 2.0, 1.0)) == -np.inf
    assert float(expfam.dirichlet_multinomial_log_prob(jnp.array([1.0, -1.0]), jnp.ones(2))) == -np.inf
    assert float(expfam.GammaPoisson().predictive_log_prob(jnp.array([1.0, 1.0]), 0.5)) == -np.inf
    # Usable as losses: finite gradients in every parameter, heavy tails included.
    grads = jax.grad(lambda p: -expfam.student_t_log_prob(1e3, p[0], p[1], p[2]))(jnp.array([2.0, 0.0, 1.0]))
    assert bool(jnp.all(jnp.isfinite(grads)))
    grads = jax.grad(lambda p: -expfam.negative_binomial_log_prob(40.0, p[0], p[1]))(jnp.array([0.5, 0.01]))
    assert bool(jnp.all(jnp.isfinite(grads)))
