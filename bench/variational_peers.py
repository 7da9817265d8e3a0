"""Peers for ``bench/variational_logistic.py``: numpyro's SVI, and a long NUTS run for the moments.

Same model and data as ``bench/variational_logistic.py`` (Bayesian logistic regression, d = 10,
n = 200, prior N(0, I)), whose data, quadrature ELBO, optimum and natural-gradient run are
imported from there.

1. numpyro SVI: an ``AutoMultivariateNormal`` guide (full-covariance Gaussian q, started at the
   prior N(0, I) like the other runs: ``init_to_value`` zero mean, ``init_scale=1``),
   ``Trace_ELBO(num_particles=S)`` with Adam, S = 256 draws per step as in the natural-gradient
   run. numpyro's ELBO estimate is its own (Monte Carlo for the entropy too); every iterate
   ``(auto_loc, auto_scale_tril)`` is scored by the same exact quadrature ELBO as the other
   runs. Reported as in the other benchmark: steps until the gap stays below 1e-3 nats for 20
   steps, the mean gap over the last 100 steps, and the wall time of all steps (one compiled
   ``lax.scan`` of ``svi.update``, compilation excluded). The best natural-gradient schedule of
   the other benchmark is rerun here for a same-session timing.
2. blackjax NUTS (window adaptation, then long chains) as context for the posterior moments: the
   exact posterior is not Gaussian, the VI optimum is the best Gaussian in KL(q || p), so the
   differences are reported, not asserted away. Monte Carlo error of the NUTS moments: the spread
   of the per-chain means (covariances) divided by sqrt(chains).

Run: ``PYTHONPATH=. python bench/variational_peers.py [--steps 2000] [--draws 25000]``
(results: ``bench/results/variational_peers_cpu.md``).
"""

from __future__ import annotations

import sys
import time
from typing import Any

import blackjax
import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
import optax
from numpyro.infer import SVI, Trace_ELBO
from numpyro.infer.autoguide import AutoMultivariateNormal
from numpyro.infer.initialization import init_to_value

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import variational_logistic as V

jax.config.update("jax_enable_x64", True)


def model(x: jax.Array, y: jax.Array | None = None) -> None:
    w = numpyro.sample("w", dist.Normal(jnp.zeros(x.shape[1]), 1.0).to_event(1))
    # log sigmoid(y x.w) with y in {-1, 1} is the Bernoulli log-likelihood of (y + 1) / 2
    numpyro.sample("y", dist.Bernoulli(logits=x @ w), obs=None if y is None else (y + 1) / 2)


def run_numpyro(
    x: np.ndarray, y: np.ndarray, lr: float, samples: int, steps: int, seed: int, schedule: Any = None
) -> tuple[np.ndarray, float]:
    d = x.shape[1]
    xj, yj = jnp.asarray(x), jnp.asarray(y)
    guide = AutoMultivariateNormal(model, init_loc_fn=init_to_value(values={"w": jnp.zeros(d)}), init_scale=1.0)
    optimizer = numpyro.optim.Adam(lr if schedule is None else schedule)
    svi = SVI(model, guide, optimizer, loss=Trace_ELBO(num_particles=samples))

    def step(state: Any, _: None) -> tuple[Any, tuple[jax.Array, jax.Array]]:
        state, _loss = svi.update(state, xj, yj)
        params = svi.get_params(state)
        lower = params["auto_scale_tril"]
        return state, (params["auto_loc"], lower @ lower.T)

    @jax.jit
    def fit(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.lax.scan(step, svi.init(key, xj, yj), length=steps)[1]

    key = jax.random.key(seed)
    jax.block_until_ready(fit(key))  # compile
    start = time.perf_counter()
    means, covariances = jax.block_until_ready(fit(key))
    seconds = time.perf_counter() - start
    elbos = jax.vmap(V.exact_elbo, (0, 0, None, None))(means, covariances, xj, yj)
    return np.asarray(elbos), seconds


def run_nuts(x: np.ndarray, y: np.ndarray, chains: int, warmup: int, draws: int, seed: int) -> np.ndarray:
    """Draws of shape (chains, draws, d) after ``warmup`` steps of window adaptation per chain."""
    d = x.shape[1]
    xj, yj = jnp.asarray(x), jnp.asarray(y)

    def logdensity(w: jax.Array) -> jax.Array:
        return jnp.sum(jax.nn.log_sigmoid(yj * (xj @ w))) - 0.5 * w @ w

    def chain(key: jax.Array) -> jax.Array:
        warm_key, run_key = jax.random.split(key)
        adaptation = blackjax.window_adaptation(blackjax.nuts, logdensity)
        (state, parameters), _ = adaptation.run(warm_key, jnp.zeros(d), num_steps=warmup)
        kernel = blackjax.nuts(logdensity, **parameters).step

        def one(state: Any, k: jax.Array) -> tuple[Any, jax.Array]:
            state, _info = kernel(k, state)
            return state, state.position

        return jax.lax.scan(one, state, jax.random.split(run_key, draws))[1]

    keys = jax.random.split(jax.random.key(seed), chains)
    return np.asarray(jax.jit(jax.vmap(chain))(keys))


def main(argv: list[str] | None = None) -> None:
    parser = V.arguments()
    parser.add_argument("--chains", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=1000)
    parser.add_argument("--draws", type=int, default=25000)
    args = parser.parse_args(argv)
    x, y = V.make_data(args.dim, args.data)
    best, vi_mean, vi_covariance = V.optimal_q(x, y)
    print(f"d={args.dim} n={args.data} S={args.samples}: optimal ELBO (quadrature) {best:.6f}")
    cosine = optax.cosine_decay_schedule
    decay = optax.exponential_decay(1.0, 1, 0.9, end_value=0.03)
    runs: list[tuple[str, Any, float, Any]] = [("natural gradient, 1 * 0.9^t >= 0.03", V.run_natural, 1.0, decay)]
    runs += [("numpyro SVI, Adam", run_numpyro, lr, None) for lr in (0.03, 0.01, 0.003)]
    runs += [
        ("numpyro SVI, Adam, cosine to 0 over 1000", run_numpyro, 0.03, cosine(0.03, 1000)),
        ("numpyro SVI, Adam, cosine to 0 over 2000", run_numpyro, 0.03, cosine(0.03, 2000)),
    ]
    V.report(runs, x, y, best, args.samples, args.steps, args.seed)

    start = time.perf_counter()
    draws = run_nuts(x, y, args.chains, args.warmup, args.draws, args.seed)
    seconds = time.perf_counter() - start
    flat = draws.reshape(-1, args.dim)
    nuts_mean, nuts_covariance = flat.mean(0), np.cov(flat, rowvar=False)
    standard_error = draws.mean(1).std(0, ddof=1) / np.sqrt(args.chains)
    nuts_sd, vi_sd = np.sqrt(np.diag(nuts_covariance)), np.sqrt(np.diag(vi_covariance))
    scale = np.linalg.norm(nuts_covariance)
    relative_covariance = np.linalg.norm(vi_covariance - nuts_covariance) / scale
    per_chain = np.stack([np.cov(c, rowvar=False) for c in draws])
    covariance_error = np.linalg.norm(per_chain.std(0, ddof=1)) / np.sqrt(args.chains) / scale
    print(
        f"\nNUTS (blackjax): {args.chains} chains x {args.draws} draws after {args.warmup} adaptation steps, "
        f"{seconds:.1f} s with compilation; MC standard error of the mean <= {standard_error.max():.4f}, "
        f"of the covariance (relative, Frobenius) {covariance_error:.4f}"
    )
    print("VI optimum (quadrature) vs NUTS posterior:")
    print(f"  max |mean difference| / NUTS sd            {np.max(np.abs(vi_mean - nuts_mean) / nuts_sd):.4f}")
    print(f"  max |mean difference|                      {np.max(np.abs(vi_mean - nuts_mean)):.4f}")
    ratio = vi_sd / nuts_sd
    print(f"  marginal sd ratio VI / NUTS, min .. max    {ratio.min():.4f} .. {ratio.max():.4f}")
    print(f"  ||cov_VI - cov_NUTS||_F / ||cov_NUTS||_F   {relative_covariance:.4f}")
    log_det = np.linalg.slogdet(vi_covariance)[1] - np.linalg.slogdet(nuts_covariance)[1]
    print(f"  log det cov_VI - log det cov_NUTS          {log_det:.4f}")


if __name__ == "__main__":
    main()
