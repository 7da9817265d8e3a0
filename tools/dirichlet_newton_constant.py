"""Measure the quadratic constant of the Dirichlet solver's Newton step (run once; prints a table).

``dirichlet._solve_block`` takes a Newton step of at most ``sqrt(eps) / 2`` in log a as final,
without evaluating the residual after it. That rests on the scaled residual after a step ``s``
(``max_k |r_k| / (1 + |c_k|)``, ``s = max_k |log step_k|``) being at most ``C s^2`` with ``C <= 4``.
Here, in float64: rows ``a`` log-uniform over ranges of the documented 1e-4..1e6, ``c`` their mean
logs, the start ``a`` perturbed by a relative 1e-5..1e-3, one step of the solver's own
``dirichlet.newton_log_step``, and ``C = e_after / s^2`` over the rows whose ``e_after`` is above
rounding (1e-14).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

jax.config.update("jax_enable_x64", True)

from expfam.families import dirichlet  # noqa: E402


@jax.jit
def one_step(a: jax.Array, c: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Largest |log step| and the scaled residual after the solver's step (coordinates on axis 0)."""
    log_step = dirichlet.newton_log_step(a, dirichlet.mean_log(a, 0) - c)
    after = dirichlet.mean_log(a * jnp.exp(-log_step), 0) - c
    return jnp.max(jnp.abs(log_step), 0), jnp.max(jnp.abs(after) / (1 + jnp.abs(c)), 0)


rng = np.random.default_rng(1)
print("| K | concentrations | worst C | median C |\n|---|---|---|---|")
for k in (2, 3, 5, 16, 50):
    for low, high in ((1e-4, 1e6), (1e-4, 1e-1), (1e2, 1e6), (1e-2, 1e3), (1e-4, 10.0)):
        a_true = np.exp(rng.uniform(np.log(low), np.log(high), (k, 20_000)))
        c = dirichlet.mean_log(jnp.asarray(a_true), 0)
        ratios = []
        for size in (1e-5, 1e-4, 1e-3):
            a = a_true * np.exp(rng.uniform(-size, size, a_true.shape))
            s, e = (np.asarray(v) for v in one_step(jnp.asarray(a), c))
            above_rounding = e > 1e-14
            ratios.append(e[above_rounding] / s[above_rounding] ** 2)
        ratio = np.concatenate(ratios)
        print(f"| {k} | {low:g}..{high:g} | {ratio.max():.2f} | {np.median(ratio):.3f} |")
