"""Variational inference by natural gradients, with the posterior q from expfam's catalogue.

Three models, each fitted with ``expfam.variational_inference`` (the Bayesian learning rule
``eta <- (1 - rho) eta + rho lam_hat``, ``lam_hat = d/dmu E_q[log p(data, theta) - log h]``):

1. Beta-Bernoulli, conjugate: the likelihood's expectation under q is linear in q's expectation
   parameters (``E_q[log p] = sum(x) E[log p] + sum(1 - x) E[log(1 - p)]``), so one step with
   rho = 1 lands on the exact posterior; compared with ``expfam.BetaBernoulli``.
2. A Gamma posterior on a Poisson rate under a log-normal prior, not conjugate: the prior enters
   as a member of another family and is averaged over reparameterized Gamma draws (implicit
   gradients through the Gamma sampler). The posterior mean is compared with a direct numerical
   integration on a grid.
3. Bayesian logistic regression with a full-covariance Gaussian q (``estimator="hessian"``: the
   variational online Newton step).

    PYTHONPATH=. python examples/variational_inference.py [--fast]
"""

from __future__ import annotations

import argparse

import jax
import jax.numpy as jnp
import numpy as np

import expfam


def beta_bernoulli() -> float:
    """Largest |difference| between the one-step VI posterior and the conjugate module's, in (alpha, beta)."""
    x = jnp.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0])
    family = expfam.Beta()
    prior = family.natural_from_source(alpha=2.0, beta=2.0)
    result = expfam.variational_inference(
        family,
        family.natural_from_source(alpha=30.0, beta=0.1),  # any start
        jax.random.key(0),
        expected_log_likelihood=lambda mu: jnp.sum(x) * mu[0] + jnp.sum(1 - x) * mu[1],
        prior=(family, prior),
        num_steps=1,
        learning_rate=1.0,
    )
    conjugate = expfam.BetaBernoulli()
    exact = conjugate.source_from_natural(conjugate.posterior(conjugate.natural_from_source(alpha=2.0, beta=2.0), x))
    found = family.source_from_natural(result.natural)
    return max(abs(float(found[k] - exact[k])) for k in ("alpha", "beta"))


def gamma_lognormal(steps: int) -> tuple[float, float]:
    """(VI posterior mean, grid posterior mean) of a Poisson rate under a LogNormal(0.5, 0.8) prior."""
    counts = jnp.array([3.0, 0.0, 5.0, 2.0, 7.0, 4.0])
    family, prior_family = expfam.Gamma(), expfam.LogNormal()
    prior = prior_family.natural_from_source(loc=0.5, scale=0.8)
    result = expfam.variational_inference(
        family,
        family.natural_from_source(shape=1.0, rate=1.0),
        jax.random.key(0),
        expected_log_likelihood=lambda mu: -counts.size * mu[0] + jnp.sum(counts) * mu[1],  # T = (r, log r)
        prior=(prior_family, prior),
        num_steps=steps,
        learning_rate=lambda t: 0.5 / (1.0 + 0.05 * t),
        num_samples=64,
    )
    average = jnp.mean(result.path[steps // 2 :], axis=0)  # average the noisy second half
    source = family.source_from_natural(average)
    vi_mean = float(source["shape"] / source["rate"])
    # The exact posterior on a grid: likelihood x prior, normalized numerically.
    r = np.linspace(1e-4, 15.0, 200_001)
    log_post = float(jnp.sum(counts)) * np.log(r) - counts.size * r - np.log(r) - (np.log(r) - 0.5) ** 2 / (2 * 0.8**2)
    weights = np.exp(log_post - log_post.max())
    return vi_mean, float(np.sum(r * weights) / np.sum(weights))


def logistic_regression(steps: int) -> tuple[float, float]:
    """Test accuracy of the posterior-mean classifier, and of the true weights."""
    rng = np.random.default_rng(0)
    w_true = 3.0 * rng.normal(size=5)
    x = rng.normal(size=(400, 5))
    y = np.where(rng.uniform(size=400) < 1 / (1 + np.exp(-x @ w_true)), 1.0, -1.0)
    x_train, y_train = jnp.asarray(x[:200]), jnp.asarray(y[:200])
    family = expfam.MultivariateNormal(5)
    prior = family.natural_from_source(loc=jnp.zeros(5), covariance=jnp.eye(5))
    result = expfam.variational_inference(
        family,
        prior,
        jax.random.key(1),
        log_likelihood=lambda w: jnp.sum(jax.nn.log_sigmoid(y_train * (x_train @ w))),
        prior=(family, prior),
        num_steps=steps,
        learning_rate=0.3,
        num_samples=32,
        estimator="hessian",
    )
    mean = family.source_from_natural(result.natural)["loc"]
    accuracy = float(np.mean(np.sign(x[200:] @ np.asarray(mean)) == y[200:]))
    return accuracy, float(np.mean(np.sign(x[200:] @ w_true) == y[200:]))


def main(argv: list[str] | None = None) -> dict[str, float]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fast", action="store_true", help="fewer steps (for the tests)")
    args = parser.parse_args(argv)
    steps = 200 if args.fast else 1000
    vi_mean, grid_mean = gamma_lognormal(steps)
    accuracy, true_accuracy = logistic_regression(steps // 4)
    results = {
        "beta-bernoulli one step: max |VI - conjugate|": beta_bernoulli(),
        "gamma-lognormal: VI posterior mean": vi_mean,
        "gamma-lognormal: grid posterior mean": grid_mean,
        "logistic regression: test accuracy": accuracy,
        "logistic regression: test accuracy, true weights": true_accuracy,
    }
    for name, value in results.items():
        print(f"{name:48s} {value:.6g}")
    return results


if __name__ == "__main__":
    main()
