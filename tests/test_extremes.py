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

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import REPRESENTATIVES, quick_marks
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
    [
        pytest.param(name, mode, dtype, marks=quick_marks(name))
        for name in sorted(CASES)
        for mode, dtype in [("jit", "float32"), ("jit", "float64")] + [("eager", "float32")] * (name in REPRESENTATIVES)
    ],
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


# -- gradients of entropy, KL and distribution cross-entropy at the extremes -----------------------
#
# Every catalogue example (typical and extreme points): the float32 gradients against the float64
# gradients at the same (float32-rounded) points, whose values test_accuracy checks against mpmath.
# KL and cross-entropy pair each example with the next one of its entry. The named extremes are
# also checked against float64 central differences of the float64 value.


#: The quantities at a pair (p, q); the order reversed ("KL(q||p)", "H(q,p)") is the same function
#: at the pair (q, p), evaluated as extra rows rather than as extra quantities.
PAIR_QUANTITIES: list[Callable[[Any, jax.Array, jax.Array], jax.Array]] = [
    lambda f, p, q: expfam.entropy(f, p),
    lambda f, p, q: expfam.kl_divergence(f, p, q),
    lambda f, p, q: expfam.distribution_cross_entropy(f, p, q),
]


NAMES = ["entropy", "KL(p||q)", "KL(q||p)", "H(p,q)", "H(q,p)"]

#: (family, quantity, argument) whose float32 gradient is still inexact at some extremes: none.
#: (Closed: von Mises / von Mises-Fisher at concentration 1000 through the cancellation-free A'
#: of the Fisher; Gamma at rate 1e-30 against shape 1e6 through an expectation whose derivative is
#: the closed-form Fisher; the NegativeBinomial's expected log carrier at p = 0.999 through its
#: integrand without lgamma(r).)
KNOWN_GAPS: set[tuple[str, str, str]] = set()


def _pair_quantities(family: Any, eta_p: jax.Array, eta_q: jax.Array) -> jax.Array:
    """Per row: entropy(p), KL(p || q), H(p, q)."""
    return jnp.stack([quantity(family, eta_p, eta_q) for quantity in PAIR_QUANTITIES], axis=-1)


def _quantities(family: Any, eta_p: jax.Array, eta_q: jax.Array) -> jax.Array:
    """Per row: entropy(p), KL(p || q), KL(q || p), H(p, q), H(q, p)."""
    return _in_names_order(_pair_quantities(family, *_both_orders(eta_p, eta_q)), eta_p.shape[0])


def _both_orders(eta_p: jax.Array, eta_q: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The rows (p, q) followed by the rows (q, p)."""
    return jnp.concatenate([eta_p, eta_q]), jnp.concatenate([eta_q, eta_p])


def _in_names_order(pairs: jax.Array, rows: int) -> jax.Array:
    """``(2 rows, 3, ...)`` per-pair results of ``_both_orders`` -> ``(rows, 5, ...)`` in ``NAMES`` order."""
    forward, backward = pairs[:rows], pairs[rows:]
    return jnp.stack([forward[:, 0], forward[:, 1], backward[:, 1], forward[:, 2], backward[:, 2]], axis=1)


@functools.partial(jax.jit, static_argnums=0)
def _gradients(family: Any, eta_p: jax.Array, eta_q: jax.Array) -> tuple[jax.Array, jax.Array, jax.Array]:
    """d quantity / d eta_p and d eta_q, each of shape (rows, 5, M), and the quantities (rows, 5), in
    one program; one backward pass per quantity (a shared pass would multiply one quantity's
    infinite partials by the others' zero cotangents). The reversed pairs are rows of the same
    three quantities: d KL(q || p) / d eta_p is the gradient in the second argument at (q, p)."""
    rows = eta_p.shape[0]
    first, second = _both_orders(eta_p, eta_q)
    grads = [
        jax.grad(lambda a, b, fn=fn: jnp.sum(fn(family, a, b)), argnums=(0, 1))(first, second) for fn in PAIR_QUANTITIES
    ]
    by_first = jnp.stack([g[0] for g in grads], axis=1)  # (2 rows, 3, M)
    by_second = jnp.stack([g[1] for g in grads], axis=1)
    # at a reversed row, d/d eta_p is the derivative in the second argument, d/d eta_q in the first
    d_p = _in_names_order(jnp.concatenate([by_first[:rows], by_second[rows:]]), rows)
    d_q = _in_names_order(jnp.concatenate([by_second[:rows], by_first[rows:]]), rows)
    return d_p, d_q, _in_names_order(_pair_quantities(family, first, second), rows)


def _central_differences(family: Any, eta_p: jax.Array, eta_q: jax.Array) -> list[np.ndarray]:
    """The Jacobians of ``_quantities`` in eta_p and eta_q by central differences (float64, eagerly
    per coordinate: a few points only), step ``1e-6 |eta_i|`` (1e-6 at 0)."""
    values = jax.jit(_quantities, static_argnums=0)
    result = []
    for first in (True, False):
        eta, other = (eta_p, eta_q) if first else (eta_q, eta_p)
        columns = []
        for i in range(eta.shape[-1]):
            size = jnp.abs(eta[:, i : i + 1])
            step = 1e-6 * jnp.where(size > 0, size, 1.0)
            shift = jnp.zeros_like(eta).at[:, i].set(1.0) * step
            args = (
                ((eta + shift, other), (eta - shift, other)) if first else ((other, eta + shift), (other, eta - shift))
            )
            columns.append((values(family, *args[0]) - values(family, *args[1])) / (2 * step))
        result.append(np.stack([np.asarray(c) for c in columns], axis=-1))
    return result


def _check_gradients(family: Any, examples: Any, differences: bool = False) -> None:
    """The float32 gradients at the examples (source parameters) against the float64 ones."""
    with jax.enable_x64(True):
        eta_p = np.stack(
            [
                np.asarray(family.natural_from_source(**{k: jnp.asarray(v, jnp.float64) for k, v in ex.items()}))
                for ex in examples
            ]
        )
    eta_q = np.roll(eta_p, 1, axis=0)
    with jax.enable_x64(True):  # the reference: float64 gradients at the float32-rounded points
        p64, q64 = (
            jnp.asarray(eta_p.astype(np.float32), jnp.float64),
            jnp.asarray(eta_q.astype(np.float32), jnp.float64),
        )
        *reference, values = (np.asarray(r) for r in _gradients(family, p64, q64))
        if differences:  # and that reference against central differences of the float64 values
            for r, d in zip(reference, _central_differences(family, p64, q64), strict=True):
                np.testing.assert_allclose(r, d, rtol=1e-5, atol=1e-5 * np.max(np.abs(r)))
    gradients = [np.asarray(g, np.float64) for g in _gradients(family, jnp.float32(eta_p), jnp.float32(eta_q))[:2]]
    for which, (got, expected) in enumerate(zip(gradients, reference, strict=True)):
        for row in range(got.shape[0]):
            for quantity in range(got.shape[1]):
                if (type(family).__name__, NAMES[quantity], "pq"[which]) in KNOWN_GAPS:
                    continue
                a, e = got[row, quantity], expected[row, quantity]
                beyond = np.abs(e) > np.finfo(np.float32).max  # not representable in float32: +-inf
                assert np.array_equal(a[beyond], e[beyond] * np.inf), (which, row, quantity, a, e)
                a, e = np.where(beyond, 0.0, a), np.where(beyond, 0.0, e)
                assert np.all(np.isfinite(a)), (which, row, quantity, a)
                # float32 resolves a gradient to ~eps32 of the terms it is made of: the value and eta
                floor = 1e-3 * (1.0 + abs(values[row, quantity])) / (1.0 + np.max(np.abs(eta_p[row])))
                error = np.max(np.abs(a - e)) / max(np.max(np.abs(e)), floor)
                assert error <= 2e-3, (examples[row], which, quantity, a, e, error)


ENTRIES = [entry for entry in expfam.catalogue() if len(entry.examples) > 1]


@pytest.mark.slow
@pytest.mark.parametrize("entry", ENTRIES, ids=[e.family.name for e in ENTRIES])
def test_gradients_of_entropy_kl_and_cross_entropy_at_the_extremes(entry: Any) -> None:
    _check_gradients(entry.family, entry.examples)


#: The issue's cases: Poisson's entropy gradient 0.5 at rate >= 1e6 (float32 gave 1.0 or 0);
#: Gamma's finite at rate 1e-30 (float32 gave NaN).
NAMED = [
    (families.Poisson(), [{"rate": 1e6}, {"rate": 3e7}, {"rate": 1e8}, {"rate": 1e-8}]),
    (families.Gamma(), [{"shape": 2.0, "rate": 1e-30}, {"shape": 1e-4, "rate": 1e30}, {"shape": 1e6, "rate": 1.0}]),
]


@pytest.mark.parametrize(("family", "points"), NAMED, ids=[f.name for f, _ in NAMED])
def test_entropy_gradient_at_named_extremes(family: Any, points: list[dict[str, float]]) -> None:
    _check_gradients(family, points, differences=True)
