"""Bessel I_v in log form and the ratio A_v = I_{v+1} / I_v against mpmath at 40 digits.

Grid: v in [0, 500] and x in [1e-8, 1e5], with points on both sides of every switch (the
series region ends at x = 36 for v = 0 and x = 168 for v = 500). Targets: relative error
<= 1e-12 in float64; in float32 within 10x of the error that rounding the inputs to float32
alone causes (computed from mpmath at the rounded inputs) or <= 2e-6.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from fractions import Fraction

import jax
import jax.numpy as jnp
import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from expfam._numerics import bessel

ORDERS = (0.0, 0.5, 1.0, 2.5, 10.0, 31.5, 50.0, 100.0, 499.5, 500.0)
POINTS = (1e-8, 1e-4, 0.1, 1.0, 5.7, 10.0, 30.0, 35.9, 36.5, 100.0, 167.0, 170.0, 300.0, 1e3, 1e4, 1e5)
V, X = (a.ravel() for a in np.meshgrid(ORDERS, POINTS, indexing="ij"))


@functools.cache
def _reference(v: float, x: float) -> tuple[float, float, float, float]:
    """(log ive, A_v, log_iv_normalized, log I_v) at 40 digits."""
    with mp.workdps(40):
        v_, x_ = mp.mpf(v), mp.mpf(x)
        i_v = mp.besseli(v_, x_)
        log_iv = mp.log(i_v)
        normalized = log_iv + mp.loggamma(v_ + 1) - v_ * mp.log(x_ / 2)
        return float(log_iv - x_), float(mp.besseli(v_ + 1, x_) / i_v), float(normalized), float(log_iv)


def _references(v: np.ndarray, x: np.ndarray) -> np.ndarray:
    return np.array([_reference(float(a), float(b)) for a, b in zip(v, x, strict=True)])


FUNCTIONS = {"log_ive": bessel.log_ive, "ratio": bessel.bessel_ratio, "normalized": bessel.log_iv_normalized}
COLUMN = {"log_ive": 0, "ratio": 1, "normalized": 2}


def _assert_on_target(
    got: np.ndarray, exact: Callable[[np.ndarray], np.ndarray], x: np.ndarray, x_in: np.ndarray, dtype: str
) -> None:
    """Relative error (to the exact value where positive, else absolute) within 1e-12 in float64, and
    in float32 within 10x the input-rounding floor (``exact`` at the rounded inputs x_in), at least
    32 eps."""
    expected = exact(x)
    scale = np.where(expected > 0, expected, 1.0)
    error = np.abs(got - expected) / scale
    if dtype == "float64":
        tol = np.full_like(error, 1e-12)
    else:
        floor = np.abs(exact(x_in.astype(np.float64)) - expected) / scale
        tol = np.maximum(10 * floor, 32 * float(np.finfo(np.float32).eps))
    assert np.all(error <= tol), (x[np.argmax(error / tol)], np.max(error / tol))


@pytest.mark.parametrize("name", list(FUNCTIONS))
def test_float64_against_mpmath(name: str, x64: None) -> None:
    got = np.asarray(jax.jit(FUNCTIONS[name])(jnp.asarray(V), jnp.asarray(X)))
    expected = _references(V, X)[:, COLUMN[name]]
    error = np.abs(got - expected) / np.abs(expected)
    assert np.max(error) <= 1e-12, (V[np.argmax(error)], X[np.argmax(error)], np.max(error))


@pytest.mark.parametrize("name", ["log_ive", "ratio"])
def test_float32_within_the_input_rounding_floor(name: str) -> None:
    v32, x32 = V.astype(np.float32), X.astype(np.float32)
    got = np.asarray(jax.jit(FUNCTIONS[name])(jnp.asarray(v32), jnp.asarray(x32)), np.float64)
    expected = _references(V, X)[:, COLUMN[name]]
    rounded = _references(v32.astype(np.float64), x32.astype(np.float64))[:, COLUMN[name]]
    floor = np.abs(rounded - expected) / np.abs(expected)
    error = np.abs(got - expected) / np.abs(expected)
    allowed = np.maximum(10 * floor, 2e-6)
    assert np.all(error <= allowed), (V[np.argmax(error / allowed)], X[np.argmax(error / allowed)])


def test_float32_normalized_relative_to_log_iv() -> None:
    """log_iv_normalized = log I_v - v log(x/2) + lgamma(v + 1) is measured relative to the
    largest of |log I_v|, lgamma(v + 1), 1 and itself: outside the series region it is computed
    as that difference, and the von Mises-Fisher log-normalizer adds it to a term of the size
    of lgamma(v + 1) (the log area of the sphere), so this is the accuracy that reaches g."""
    v32, x32 = V.astype(np.float32), X.astype(np.float32)
    got = np.asarray(jax.jit(bessel.log_iv_normalized)(jnp.asarray(v32), jnp.asarray(x32)), np.float64)
    reference = _references(v32.astype(np.float64), x32.astype(np.float64))
    lgamma = np.array([math.lgamma(v + 1.0) for v in V])
    scale = np.maximum.reduce([np.abs(reference[:, 2]), np.abs(reference[:, 3]), lgamma, np.ones(V.size)])
    assert np.max(np.abs(got - reference[:, 2]) / scale) <= 2e-6


def test_values_at_zero(dtype: str) -> None:
    v = jnp.asarray(ORDERS)
    zero = jnp.zeros_like(v)
    assert np.all(np.asarray(bessel.log_iv_normalized(v, zero)) == 0.0)
    assert np.all(np.asarray(bessel.bessel_ratio(v, zero)) == 0.0)
    np.testing.assert_allclose(bessel.bessel_ratio_over_x(v, zero), 0.5 / (v + 1.0), rtol=1e-6)


@pytest.mark.parametrize("x", [1e-6, 0.7, 20.0, 50.0, 400.0, 3e4])
@pytest.mark.parametrize("v", [0.0, 1.5, 40.0])
def test_derivatives_against_mpmath(v: float, x: float, x64: None) -> None:
    with mp.workdps(40):
        v_, x_ = mp.mpf(v), mp.mpf(x)
        i_v, di_v = mp.besseli(v_, x_), mp.besseli(v_, x_, derivative=1)
        a = mp.besseli(v_ + 1, x_) / i_v
        d_log_ive = float(di_v / i_v - 1)
        d_ratio = float(mp.diff(lambda t: mp.besseli(v_ + 1, t) / mp.besseli(v_, t), x_))
        d_normalized = float(a)
    vx = (jnp.asarray(v), jnp.asarray(x))
    for fn, expected in ((bessel.log_ive, d_log_ive), (bessel.bessel_ratio, d_ratio)):
        # d A / dx = 1 - (2v + 1) A / x - A^2 is a difference of O(1) terms: absolute accuracy.
        got = float(jax.grad(fn, argnums=1)(*vx))
        assert abs(got - expected) <= 1e-10 * abs(expected) + 1e-14, (fn.__name__, got, expected)
    assert abs(float(jax.grad(bessel.log_iv_normalized, argnums=1)(*vx)) - d_normalized) <= 1e-12 * d_normalized
    # Second derivative through the custom rules, against mpmath too.
    with mp.workdps(40):
        dd = float(mp.diff(lambda t: mp.besseli(v_ + 1, t) / mp.besseli(v_, t), x_, 2))
    got = float(jax.grad(jax.grad(bessel.bessel_ratio, argnums=1), argnums=1)(*vx))
    assert abs(got - dd) <= 1e-7 * abs(dd) + 1e-13, (got, dd)


def test_debye_polynomials_match_abramowitz_stegun() -> None:
    """A&S 9.3.9: U_1 = (3p - 5p^3) / 24, U_2 = (81p^2 - 462p^4 + 385p^6) / 1152."""
    polys = bessel._debye_polynomials(3)
    assert polys[1][:4] == [0, Fraction(3, 24), 0, Fraction(-5, 24)]
    expected = {2: Fraction(81, 1152), 4: Fraction(-462, 1152), 6: Fraction(385, 1152)}
    assert {i: c for i, c in enumerate(polys[2]) if c} == expected


def test_jit_vmap_and_eager_agree(dtype: str) -> None:
    v, x = jnp.asarray(V[::7]), jnp.asarray(X[::7])
    for fn in FUNCTIONS.values():
        eager = np.asarray(fn(v, x))
        # XLA fuses and reorders differently under jit: agreement to rounding, not bitwise.
        rtol = 1e-5 if dtype == "float32" else 1e-13
        np.testing.assert_allclose(np.asarray(jax.jit(fn)(v, x)), eager, rtol=rtol)
        np.testing.assert_allclose(np.asarray(jax.vmap(fn)(v, x)), eager, rtol=rtol)


# 12 examples per dtype.
@settings(max_examples=12, deadline=None, derandomize=True)
@given(log_x=st.floats(-8.0, 5.0), v=st.floats(0.0, 500.0))
def test_finite_everywhere(log_x: float, v: float) -> None:
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            x = jnp.asarray(10.0**log_x)
            va = jnp.asarray(v)
            ratio = float(bessel.bessel_ratio(va, x))
            assert 0.0 < ratio < 1.0 or (dtype == "float32" and ratio <= 1.0)
            for fn in FUNCTIONS.values():
                value, grad = jax.value_and_grad(fn, argnums=1)(va, x)
                assert np.isfinite(float(value)), (fn, v, log_x)
                assert np.isfinite(float(grad)), (fn, v, log_x)


@pytest.mark.parametrize("v", [0.0, 0.5, 1.0, 24.0])
def test_one_minus_ratio_against_mpmath(dtype: str, v: float) -> None:
    """``1 - A_v`` keeps its relative accuracy where A_v -> 1: 1e-12 in float64, and in float32
    within 10x of the input-rounding floor or 32 eps (x up to 1e5, both sides of the switch)."""
    x = np.array([1e-3, 1.0, 10.0, 19.9, 20.1, 30.0, 31.5, 100.0, 399.0, 450.0, 1e3, 1e4, 1e5])
    x_in = x.astype(dtype)
    got = np.asarray(jax.jit(bessel.one_minus_bessel_ratio, static_argnums=0)(v, jnp.asarray(x_in)), np.float64)

    def exact(points: np.ndarray) -> np.ndarray:
        with mp.workdps(40):
            return np.array([float(1 - mp.besseli(v + 1, mp.mpf(p)) / mp.besseli(v, mp.mpf(p))) for p in points])

    _assert_on_target(got, exact, x, x_in, dtype)


@pytest.mark.parametrize("v", [0.0, 0.5, 1.0, 24.0])
def test_ratio_derivative_against_mpmath(dtype: str, v: float) -> None:
    """``A_v'`` keeps its relative accuracy where ``1 - (2v + 1) A_v / x - A_v^2`` cancels (large
    x), on both sides of the switch to Hankel's expansion (x0 = 12 .. 130 in float32, 20 .. 400
    in float64): 1e-12 in float64, in float32 within 10x of the input-rounding floor or 32 eps."""
    x = np.array(
        [0.0, 1e-3, 1.0, 10.0, 11.9, 12.5, 19.9, 20.1, 30.0, 31.5, 100.0, 129.0, 131.0, 399.0, 450.0, 1e3, 1e5]
    )
    x_in = x.astype(dtype)
    got = np.asarray(jax.jit(bessel.bessel_ratio_derivative, static_argnums=0)(v, jnp.asarray(x_in)), np.float64)

    def exact(points: np.ndarray) -> np.ndarray:
        with mp.workdps(60):
            values = []
            for p in points:
                if p == 0:
                    values.append(1 / (2 * v + 2))
                    continue
                a = mp.besseli(v + 1, mp.mpf(p)) / mp.besseli(v, mp.mpf(p))
                values.append(float(1 - (2 * v + 1) * a / p - a * a))
            return np.array(values)

    _assert_on_target(got, exact, x, x_in, dtype)


#: (x_p, x_q) pairs: close ones (Gauss-Legendre, both sides of the Hankel switch of A_v') and far
#: ones (the difference form), for ``log_iv_normalized_divergence``.
DIVERGENCE_PAIRS = [(1e-8, 0.374), (0.0, 3.0), (2.0, 1.91), (1.0, 4.0), (3.0, 2.4), (50.0, 40.1), (100.0, 80.0)]
DIVERGENCE_PAIRS += [(1e3, 800.0), (1e4, 8e3), (1e5, 8e4), (7.0, 7.0)]
DIVERGENCE_PAIRS += [(10.0, 100.0), (0.5, 30.0), (1e3, 1e5), (40.0, 0.1)]


@pytest.mark.parametrize("v", [0.0, 0.5, 24.0])
def test_divergence_against_mpmath(dtype: str, v: float) -> None:
    """``L(x_q) - L(x_p) - A_v(x_p)(x_q - x_p)``, ``L = log_iv_normalized``, relative to itself (it
    is 1e-4 .. 1 at the close pairs, where the difference form cancels): 1e-12 in float64, and in
    float32 within 10x of the input-rounding floor or 32 eps."""
    pairs = np.array(DIVERGENCE_PAIRS)
    x_in = pairs.astype(dtype)
    divergence = jax.jit(bessel.log_iv_normalized_divergence, static_argnums=0)
    got = np.asarray(divergence(v, jnp.asarray(x_in[:, 0]), jnp.asarray(x_in[:, 1])), np.float64)

    def exact(points: np.ndarray) -> np.ndarray:
        with mp.workdps(50):

            def log_normalized(x: mp.mpf) -> mp.mpf:
                return mp.log(mp.besseli(v, x) * mp.gamma(v + 1) / (x / 2) ** v) if x else mp.mpf(0)

            values = []
            for a, b in points:
                a_, b_ = mp.mpf(a), mp.mpf(b)
                ratio = mp.besseli(v + 1, a_) / mp.besseli(v, a_) if a else mp.mpf(0)
                values.append(float(log_normalized(b_) - log_normalized(a_) - ratio * (b_ - a_)))
            return np.array(values)

    _assert_on_target(got, exact, pairs, x_in, dtype)
