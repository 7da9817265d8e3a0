"""Property tests at extreme parameters: finite losses and finite gradients for valid inputs.

For each of the nine basic families, hypothesis draws batches of 8 valid parameter sets (log-
uniform over the ranges below) with samples inside the support, and checks that the negative
log-likelihood, the entropy and the KL divergence to a second draw are finite, and so are their
gradients in the natural parameters, under ``jit`` in float32 and float64 and, for the
representative families of ``helpers.REPRESENTATIVES``, eagerly.

Each family runs ``EXAMPLES["jit"]`` = 10 derandomized examples of 8 points under jit in
float32 and in float64; the representatives also ``EXAMPLES["eager"]`` = 2 eagerly in float32
(eager execution compiles every operation for the first shape it sees, which costs seconds per
family, and runs the same math as the compiled function).

Ranges: Bernoulli / Categorical logits in [-100, 100]; Gamma shape in [1e-4, 1e6] and rate in
[1e-3, 1e3]; Poisson rate in [1e-8, 1e8]; Normal / LogNormal / NormalKnownVariance scale in
[1e-6, 1e6] (LogNormal: location in [-10, 10], scale up to 5 so that samples stay finite);
Exponential rate in [1e-6, 1e6]; Pareto tail index in [1e-3, 1e4].
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import REPRESENTATIVES
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import expfam
from expfam import families

EXAMPLES = {"jit": 10, "eager": 2}
BATCH = 8

Draw = Callable[[np.random.Generator], tuple[dict[str, np.ndarray], np.ndarray]]


def log_uniform(rng: np.random.Generator, low: float, high: float) -> np.ndarray:
    return 10 ** rng.uniform(np.log10(low), np.log10(high), BATCH)


# Each entry: family, and a function drawing (source parameters, samples in the support).
CASES: dict[str, tuple[Any, Draw]] = {
    "Bernoulli": (
        families.Bernoulli(),
        lambda g: ({"logits": g.uniform(-100, 100, (BATCH, 1))}, g.integers(0, 2, BATCH) * 1.0),
    ),
    "Categorical": (
        families.Categorical(4),
        lambda g: ({"logits": g.uniform(-100, 100, (BATCH, 4))}, g.integers(0, 4, BATCH)),
    ),
    "Normal": (
        families.Normal(),
        lambda g: (
            {"loc": g.uniform(-1e3, 1e3, BATCH), "scale": (s := log_uniform(g, 1e-6, 1e6))},
            g.uniform(-5, 5, BATCH) * s,
        ),
    ),
    "NormalKnownVariance": (
        families.NormalKnownVariance(1e-4),
        lambda g: ({"loc": g.uniform(-1e3, 1e3, BATCH)}, g.uniform(-1e3, 1e3, BATCH)),
    ),
    "Gamma": (
        families.Gamma(),
        lambda g: (
            {"shape": (k := log_uniform(g, 1e-4, 1e6)), "rate": (r := log_uniform(g, 1e-3, 1e3))},
            k / r * log_uniform(g, 1e-2, 1e2),
        ),
    ),
    "Exponential": (
        families.Exponential(),
        lambda g: ({"rate": (r := log_uniform(g, 1e-6, 1e6))}, log_uniform(g, 1e-3, 1e3) / r),
    ),
    "Poisson": (
        families.Poisson(),
        lambda g: ({"rate": (r := log_uniform(g, 1e-8, 1e8))}, np.floor(r * g.uniform(0, 3, BATCH))),
    ),
    "Pareto": (
        families.Pareto(minimum=2.0),
        lambda g: ({"alpha": log_uniform(g, 1e-3, 1e4)}, 2.0 * log_uniform(g, 1.0, 1e6)),
    ),
    "LogNormal": (
        families.LogNormal(),
        lambda g: (
            {"loc": (m := g.uniform(-10, 10, BATCH)), "scale": (s := log_uniform(g, 1e-6, 5.0))},
            np.exp(m + g.uniform(-5, 5, BATCH) * s),
        ),
    ),
}


def natural(family: Any, source: dict[str, np.ndarray], dtype: str) -> jax.Array:
    if "logits" in source:  # Bernoulli / Categorical: the logits are the natural parameters
        return jnp.asarray(source["logits"], dtype)
    with jax.enable_x64(True):
        eta = np.asarray(family.natural_from_source(**{k: jnp.asarray(v) for k, v in source.items()}))
    return jnp.asarray(eta, dtype)


def losses(family: Any, eta: jax.Array, eta_q: jax.Array, x: jax.Array) -> dict[str, tuple[jax.Array, jax.Array]]:
    """Each quantity and its gradient in eta (summed over the batch)."""

    def nll(e: jax.Array) -> jax.Array:
        return expfam.nll(family, e, x)

    def entropy(e: jax.Array) -> jax.Array:
        return expfam.entropy(family, e)

    def kl(e: jax.Array) -> jax.Array:
        return expfam.kl_divergence(family, e, eta_q) + expfam.kl_divergence(family, eta_q, e)

    return {name: jax.value_and_grad(lambda e, f=f: jnp.sum(f(e)))(eta) for name, f in
            (("nll", nll), ("entropy", entropy), ("kl", kl))}  # fmt: skip


@pytest.mark.parametrize(
    ("name", "mode", "dtype"),
    [(name, "jit", dtype) for name in sorted(CASES) for dtype in ("float32", "float64")]
    + [(name, "eager", "float32") for name in sorted(CASES) if name in REPRESENTATIVES],
)
def test_finite_losses_and_gradients(name, mode, dtype):
    with jax.enable_x64(dtype == "float64"):
        _check_family(mode, dtype, name)


def _check_family(mode: str, dtype: str, name: str) -> None:
    family, draw = CASES[name]
    evaluate = jax.jit(losses, static_argnums=0) if mode == "jit" else losses

    @settings(
        max_examples=EXAMPLES[mode], deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
    )
    @given(st.integers(0, 2**32 - 1))
    def check(seed: int) -> None:
        rng = np.random.default_rng(seed)
        source, x = draw(rng)
        source_q, _ = draw(rng)
        eta, eta_q = natural(family, source, dtype), natural(family, source_q, dtype)
        x = jnp.asarray(x) if name == "Categorical" else jnp.asarray(x, dtype)
        assert bool(jnp.all(family.support.contains(x) if name != "Categorical" else x >= 0))
        for quantity, (value, grad) in evaluate(family, eta, eta_q, x).items():
            assert bool(jnp.isfinite(value)), (quantity, source, x)
            assert bool(jnp.all(jnp.isfinite(grad))), (quantity, source, x, grad)

    check()
