"""Accuracy of the nine basic families against mpmath at 40 digits, at typical and extreme points.

For each family the reference is written independently in mpmath from the natural parameters:
the log-normalizer ``g``, the expectation ``chi``, the entropy ``H`` (closed form or an exact
sum), ``T(x)`` and ``log h(x)``; log-prob, KL and the distribution cross-entropy follow from them
at 40 digits. Targets:

* float64: relative error <= 1e-12 (relative to ``max(|value|, 1)``, i.e. absolute near zero);
* float32: error <= max(10 x floor, 2e-6 x max(|value|, 1)), where ``floor`` is what rounding the
  inputs (natural parameters and samples) to float32 alone changes in the exact value.

``ERRORS`` collects the worst ratio per family and dtype (printed with ``-s``).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest

import expfam
from expfam import families

mp.mp.dps = 40
MP = Any


def mpf(v: Any) -> MP:
    return mp.mpf(float(v))


def lse(values: list[MP]) -> MP:
    top = max(values)
    return top + mp.log(mp.fsum(mp.exp(v - top) for v in values))


@functools.cache
def poisson_entropy(rate: MP) -> MP:
    """``-sum_k p(k) log p(k)`` over ``|k - rate| < 13 sqrt(rate) + 40`` (the rest is below 1e-35)."""
    width = 13 * mp.sqrt(rate) + 40
    total = mp.mpf(0)
    for k in range(max(0, int(rate - width)), int(rate + width)):
        log_p = k * mp.log(rate) - rate - mp.loggamma(k + 1)
        total -= mp.exp(log_p) * log_p
    return total


@dataclasses.dataclass
class Reference:
    """One family in mpmath: each callable takes the natural parameters as a list of mpf."""

    family: Any
    g: Callable[[list[MP]], MP]
    chi: Callable[[list[MP]], list[MP]]
    entropy: Callable[[list[MP]], MP]
    stats: Callable[[Any], list[MP]]  # T(x)
    log_h: Callable[[Any], MP]
    points: list[tuple[list[float], Any]]  # (eta, x)
    near: Callable[[list[float]], list[float]]  # a second distribution for KL / cross-entropy


def _normal_source(e: list[MP]) -> tuple[MP, MP]:
    v = -1 / (2 * e[1])
    return e[0] * v, v


def _normal_eta(loc: float, scale: float) -> list[float]:
    return [loc / scale**2, -0.5 / scale**2]


def _gamma_entropy(e: list[MP]) -> MP:
    r, k = -e[0], e[1]
    return k - mp.log(r) + mp.loggamma(k) + (1 - k) * mp.digamma(k)


REFERENCES = {
    "Bernoulli": Reference(
        families.Bernoulli(),
        g=lambda e: mp.log1p(mp.exp(e[0])),
        chi=lambda e: [1 / (1 + mp.exp(-e[0]))],
        entropy=lambda e: mp.log1p(mp.exp(e[0])) - e[0] / (1 + mp.exp(-e[0])),
        stats=lambda x: [mpf(x)],
        log_h=lambda x: mp.mpf(0),
        points=[([t], x) for t in (-100.0, -20.0, -3.0, 0.4, 5.0, 30.0, 100.0) for x in (0.0, 1.0)],
        near=lambda e: [e[0] * 0.7 + 0.5],
    ),
    "Categorical": Reference(
        families.Categorical(4),
        g=lse,
        chi=lambda e: [mp.exp(v - lse(e)) for v in e],
        entropy=lambda e: -mp.fsum(mp.exp(v - lse(e)) * (v - lse(e)) for v in e),
        stats=lambda x: [mp.mpf(int(i == x)) for i in range(4)],
        log_h=lambda x: mp.mpf(0),
        points=[
            (e, x)
            for e in ([0.1, 2.0, -1.0, 0.5], [100.0, -100.0, 0.0, 3.0], [-30.0, -30.0, -30.0, 40.0])
            for x in (0, 3)
        ],
        near=lambda e: [v * 0.8 + 0.3 * i for i, v in enumerate(e)],
    ),
    "Normal": Reference(
        families.Normal(),
        g=lambda e: -(e[0] ** 2) / (4 * e[1]) - mp.log(-2 * e[1]) / 2,
        chi=lambda e: [_normal_source(e)[0], _normal_source(e)[0] ** 2 + _normal_source(e)[1]],
        entropy=lambda e: mp.log(2 * mp.pi * mp.e * _normal_source(e)[1]) / 2,
        stats=lambda x: [mpf(x), mpf(x) ** 2],
        log_h=lambda x: -mp.log(2 * mp.pi) / 2,
        points=[
            (_normal_eta(m, s), m + 0.7 * s)
            for m, s in ((0.5, 2.0), (-3.0, 0.1), (100.0, 0.1), (1e3, 1e-3), (-3.0, 1e6), (0.0, 1e-6))
        ],
        near=lambda e: [e[0] * 0.9, e[1] * 1.3],
    ),
    "NormalKnownVariance": Reference(
        families.NormalKnownVariance(0.25),
        g=lambda e: mp.mpf(0.25) * e[0] ** 2 / 2,
        chi=lambda e: [mp.mpf(0.25) * e[0]],
        entropy=lambda e: mp.log(2 * mp.pi * mp.e * mp.mpf(0.25)) / 2,
        stats=lambda x: [mpf(x)],
        log_h=lambda x: -(mpf(x) ** 2) / (2 * mp.mpf(0.25)) - mp.log(2 * mp.pi * mp.mpf(0.25)) / 2,
        points=[([loc / 0.25], loc + 0.3) for loc in (0.5, -3.0, 1e4)],
        near=lambda e: [e[0] * 1.01 + 1.0],
    ),
    "Gamma": Reference(
        families.Gamma(),
        g=lambda e: mp.loggamma(e[1]) - e[1] * mp.log(-e[0]),
        chi=lambda e: [e[1] / -e[0], mp.digamma(e[1]) - mp.log(-e[0])],
        entropy=_gamma_entropy,
        stats=lambda x: [mpf(x), mp.log(mpf(x))],
        log_h=lambda x: -mp.log(mpf(x)),
        points=[
            ([-r, k], k / r * (1 + 0.5 / np.sqrt(k)))
            for k, r in ((2.0, 3.0), (0.05, 1.0), (1e-4, 1.0), (50.0, 0.5), (1e5, 1e5), (1e6, 10.0))
        ],
        near=lambda e: [e[0] * 1.2, e[1] * 1.1],
    ),
    "Exponential": Reference(
        families.Exponential(),
        g=lambda e: -mp.log(-e[0]),
        chi=lambda e: [-1 / e[0]],
        entropy=lambda e: 1 - mp.log(-e[0]),
        stats=lambda x: [mpf(x)],
        log_h=lambda x: mp.mpf(0),
        points=[([-r], 1.3 / r) for r in (0.5, 20.0, 1e-6, 1e6)],
        near=lambda e: [e[0] * 1.1],
    ),
    "Poisson": Reference(
        families.Poisson(),
        g=lambda e: mp.exp(e[0]),
        chi=lambda e: [mp.exp(e[0])],
        entropy=lambda e: poisson_entropy(mp.exp(e[0])),
        stats=lambda x: [mpf(x)],
        log_h=lambda x: -mp.loggamma(mpf(x) + 1),
        points=[([np.log(r)], x) for r, x in ((1e-8, 0.0), (1e-8, 1.0), (3.5, 2.0), (150.0, 160.0), (1e6, 1001000.0))],
        near=lambda e: [e[0] + 0.05],
    ),
    "Pareto": Reference(
        families.Pareto(minimum=3.0),
        g=lambda e: -mp.log(-e[0]) + e[0] * mp.log(3),
        chi=lambda e: [mp.log(3) - 1 / e[0]],
        entropy=lambda e: 1 - 1 / e[0] - mp.log(-e[0]) + mp.log(3),
        stats=lambda x: [mp.log(mpf(x))],
        log_h=lambda x: -mp.log(mpf(x)),
        points=[([-a], 3.0 * 1.5) for a in (2.5, 0.01, 4.0, 1e4)],
        near=lambda e: [e[0] * 1.2],
    ),
    "LogNormal": Reference(
        families.LogNormal(),
        g=lambda e: -(e[0] ** 2) / (4 * e[1]) - mp.log(-2 * e[1]) / 2,
        chi=lambda e: [_normal_source(e)[0], _normal_source(e)[0] ** 2 + _normal_source(e)[1]],
        entropy=lambda e: mp.log(2 * mp.pi * mp.e * _normal_source(e)[1]) / 2 + _normal_source(e)[0],
        stats=lambda x: [mp.log(mpf(x)), mp.log(mpf(x)) ** 2],
        log_h=lambda x: -mp.log(mpf(x)) - mp.log(2 * mp.pi) / 2,
        points=[(_normal_eta(m, s), float(np.exp(m + 0.4 * s))) for m, s in ((0.0, 1.0), (1.5, 0.3), (5.0, 1e-2))],
        near=lambda e: [e[0] * 0.9, e[1] * 1.3],
    ),
}


def exact_values(ref: Reference, eta: list[float], eta_q: list[float], x: Any) -> dict[str, MP]:
    """log-prob, entropy, KL to ``eta_q``, cross-entropy to ``eta_q``, expectation (40 digits)."""
    e = [mpf(v) for v in eta]
    q = [mpf(v) for v in eta_q]
    chi_p = ref.chi(e)
    dot = lambda a, b: mp.fsum(u * v for u, v in zip(a, b, strict=True))  # noqa: E731
    kl = ref.g(q) - ref.g(e) - dot([b - a for a, b in zip(e, q, strict=True)], chi_p)
    return {
        "log_prob": dot(e, ref.stats(x)) - ref.g(e) + ref.log_h(x),
        "entropy": ref.entropy(e),
        "kl": kl,
        "cross_entropy": ref.entropy(e) + kl,
        "expectation": chi_p,
    }


def computed_values(ref: Reference, eta: np.ndarray, eta_q: np.ndarray, x: Any) -> dict[str, np.ndarray]:
    family = ref.family
    eta, eta_q = jnp.asarray(eta), jnp.asarray(eta_q)
    return {
        "log_prob": expfam.log_prob(family, eta, x),
        "entropy": expfam.entropy(family, eta),
        "kl": expfam.kl_divergence(family, eta, eta_q),
        "cross_entropy": expfam.distribution_cross_entropy(family, eta, eta_q),
        "expectation": family.expectation(eta),
    }


ERRORS: dict[tuple[str, str, str], float] = {}


def _as_floats(value: Any) -> np.ndarray:
    return np.array([float(v) for v in value] if isinstance(value, list) else [float(value)])


@pytest.mark.parametrize("name", sorted(REFERENCES))
def test_accuracy_against_mpmath(dtype, name):
    ref = REFERENCES[name]
    integer_x = isinstance(ref.family, families.Categorical)
    failures = []
    for eta, x in ref.points:
        eta64, near64 = np.asarray(eta, np.float64), np.asarray(ref.near(eta), np.float64)
        exact = exact_values(ref, list(eta64), list(near64), x)
        eta_in, near_in = eta64.astype(dtype), near64.astype(dtype)
        x_in = jnp.asarray(x) if integer_x else jnp.asarray(x, dtype)
        x_rounded = x if integer_x else float(np.asarray(x, dtype))
        rounded = exact_values(ref, list(eta_in.astype(np.float64)), list(near_in.astype(np.float64)), x_rounded)
        ours = computed_values(ref, eta_in, near_in, x_in)
        for quantity, value in ours.items():
            expected, floor_value = _as_floats(exact[quantity]), _as_floats(rounded[quantity])
            got = np.asarray(value, np.float64).reshape(expected.shape)
            scale = np.maximum(np.abs(expected), 1.0)
            if dtype == "float64":
                tol = 1e-12 * scale
            else:
                tol = np.maximum(10 * np.abs(floor_value - expected), 2e-6 * scale)
            ratio = float(np.max(np.abs(got - expected) / tol))
            key = (name, dtype, quantity)
            ERRORS[key] = max(ERRORS.get(key, 0.0), float(np.max(np.abs(got - expected) / scale)))
            if not ratio <= 1.0:
                failures.append(f"{quantity} at eta={eta}, x={x}: got {got}, exact {expected}, ratio {ratio:.2g}")
    assert not failures, "\n".join(failures)


def _assert_same(actual: jax.Array, desired: jax.Array, dtype: str, scale: float = 0.0) -> None:
    """Equal up to evaluation-order rounding: 64 ulps of the largest entry, or of ``scale`` (the
    size of terms that cancel inside the derivative)."""
    eps = float(np.finfo(dtype).eps)
    desired = np.asarray(desired, np.float64)
    atol = 64 * eps * max(float(np.max(np.abs(desired))), scale)
    np.testing.assert_allclose(actual, desired, rtol=64 * eps, atol=atol)


@functools.partial(jax.jit, static_argnums=0)
def _derivatives(family: Any, eta: jax.Array, eta_q: jax.Array, x: jax.Array) -> dict[str, tuple[jax.Array, ...]]:
    """Derivatives through nll / entropy / KL and through the generic formulas, for one point."""
    chi, _ = family.target(x)

    def nll(e: jax.Array) -> jax.Array:
        return expfam.nll(family, e, x)

    def generic_nll(e: jax.Array) -> jax.Array:
        return family.log_normalizer(e) - jnp.dot(chi, e)

    def generic_entropy(e: jax.Array) -> jax.Array:
        return expfam.cross_entropy(family, e, *family.distribution_target(e))

    def generic_kl(e: jax.Array) -> jax.Array:
        return family.log_normalizer(eta_q) - family.log_normalizer(e) - jnp.dot(eta_q - e, family.expectation(e))

    return {
        "grad nll": (jax.grad(nll)(eta), jax.grad(generic_nll)(eta), family.expectation(eta) - chi),
        "hessian nll": (jax.hessian(nll)(eta), jax.hessian(generic_nll)(eta), family.fisher(eta)),
        "grad entropy": (jax.grad(lambda e: expfam.entropy(family, e))(eta), jax.grad(generic_entropy)(eta)),
        "grad kl": (jax.grad(lambda e: expfam.kl_divergence(family, e, eta_q))(eta), jax.grad(generic_kl)(eta)),
    }


@pytest.mark.parametrize("name", ["Gamma", "Poisson", "Normal", "Bernoulli", "Pareto", "LogNormal"])
def test_stable_values_keep_the_generic_derivatives(dtype, name):
    """The stable forms change values only: grad nll = g'(eta) - T(x), hessian = Fisher, and the
    entropy / KL gradients are those of the generic formulas."""
    ref = REFERENCES[name]
    for eta, x in ref.points:
        eta_in = jnp.asarray(eta, dtype)
        eta_q = jnp.asarray(ref.near(list(np.asarray(eta_in, np.float64))), dtype)
        scale = float(np.max(np.abs(ref.family.expectation(eta_in))))
        for ours, *generic in _derivatives(ref.family, eta_in, eta_q, jnp.asarray(x, dtype)).values():
            for other in generic:
                _assert_same(ours, other, dtype, scale)
