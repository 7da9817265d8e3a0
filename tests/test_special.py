"""Special functions against mpmath at 40 digits, on log grids, in float32 and float64.

Errors are measured against the exact function of the (already rounded) argument, so they are
the function's own error. ``ulps`` are units of the dtype's machine epsilon.
"""

from __future__ import annotations

from fractions import Fraction

import jax
import jax.numpy as jnp
import jax.test_util
import mpmath as mp
import numpy as np
import pytest
from jax.scipy import special as jss

from expfam._numerics import compensated, incomplete_beta, special
from expfam._numerics.incomplete_gamma import regularized_gamma

mp.mp.dps = 40

EPS = {"float32": float(np.finfo(np.float32).eps), "float64": float(np.finfo(np.float64).eps)}
# lgamma / digamma grid: log-spaced over 1e-4 .. 1e6 plus a fine grid around the zeros 1, 1.46, 2.
GRID = np.unique(np.concatenate([np.geomspace(1e-4, 1e6, 700), np.linspace(0.5, 3.0, 301)]))


def reference(fn, x: np.ndarray) -> np.ndarray:
    return np.array([float(fn(mp.mpf(float(v)))) for v in np.ravel(x)]).reshape(np.shape(x))


def relative_error(actual, exact, floor: float = 1e-300) -> np.ndarray:
    actual = np.asarray(actual, np.float64)
    return np.abs(actual - exact) / np.maximum(np.abs(exact), floor)


def grid(dtype: str) -> np.ndarray:
    """GRID rounded to dtype (the reference is taken at the rounded points)."""
    return np.asarray(GRID, dtype)


@pytest.mark.parametrize(
    ("ours", "theirs", "exact", "max_ulps"),
    [
        (special.lgamma, jss.gammaln, mp.loggamma, 4),
        (special.digamma, jss.digamma, mp.digamma, 4),
        (special.trigamma, lambda x: jss.polygamma(1, x), lambda x: mp.psi(1, x), 8),
    ],
    ids=["lgamma", "digamma", "trigamma"],
)
def test_gamma_functions_against_mpmath(dtype, ours, theirs, exact, max_ulps):
    x = grid(dtype)
    ref = reference(exact, x)
    ours_error = relative_error(ours(jnp.asarray(x)), ref)
    assert ours_error.max() <= max_ulps * EPS[dtype], (ours_error.max(), x[ours_error.argmax()])
    if max_ulps == 4:  # lgamma and digamma: at least as accurate as jax.scipy.special (to 1.5 ulps:
        # jax 0.12's float32 gammaln reaches 1.14 ulps on this grid, ours 1.28; jax 0.10's is
        # 4.8e-7 at x = 1, where the value is 0)
        jax_error = relative_error(theirs(jnp.asarray(x)), ref)
        assert ours_error.max() <= max(jax_error.max(), 2 * EPS[dtype])  # no worse than JAX beyond rounding


def test_lgamma_exact_zeros(dtype):
    x = jnp.asarray([1.0, 2.0], dtype)
    # (jax 0.10's float32 gammaln(1) is 4.8e-7; jax 0.12 returns 0)
    np.testing.assert_array_equal(np.asarray(special.lgamma(x)), [0.0, 0.0])


def test_near_zeros_relative_accuracy_float32():
    x = np.asarray([0.999, 0.9999, 1.0001, 1.001, 1.999, 1.9999, 2.0001, 2.001, 1.4616, 1.4617], np.float32)
    pairs = [(special.lgamma, jss.gammaln, mp.loggamma), (special.digamma, jss.digamma, mp.digamma)]
    for ours, theirs, exact in pairs:
        ref = reference(exact, x)
        ours_error = relative_error(ours(jnp.asarray(x)), ref).max()
        jax_error = relative_error(theirs(jnp.asarray(x)), ref).max()
        assert ours_error <= 4 * EPS["float32"]
        assert ours_error <= max(jax_error, 2 * EPS["float32"])


def test_special_values(dtype):
    x = jnp.asarray([0.0, np.inf, -1.0, np.nan], dtype)
    lg, dg = np.asarray(special.lgamma(x)), np.asarray(special.digamma(x))
    np.testing.assert_array_equal(lg, [np.inf, np.inf, np.nan, np.nan])
    np.testing.assert_array_equal(dg[1:], [np.inf, np.nan, np.nan])
    # integer input is promoted to the default float
    assert special.lgamma(jnp.asarray(3)).dtype == jnp.result_type(float)


@pytest.mark.parametrize("fn", [special.lgamma, special.digamma, special.trigamma])
def test_gamma_function_derivatives(x64, fn):
    x = jnp.asarray([1e-3, 0.7, 1.0, 1.5, 2.0, 5.5, 9.9, 10.0, 30.0, 1e5])
    chain = {special.lgamma: [special.digamma, special.trigamma], special.digamma: [special.trigamma, None]}
    first = jax.vmap(jax.grad(fn))(x)
    second = jax.vmap(jax.grad(jax.grad(fn)))(x)
    if fn is special.trigamma:
        np.testing.assert_allclose(first, jss.polygamma(2, x), rtol=1e-12)
        return
    np.testing.assert_allclose(first, chain[fn][0](x), rtol=1e-15)
    expected_second = chain[fn][1](x) if chain[fn][1] is not None else jss.polygamma(2, x)
    np.testing.assert_allclose(second, expected_second, rtol=1e-12)
    _, forward = jax.jvp(fn, (x,), (jnp.ones_like(x),))
    np.testing.assert_allclose(forward, first, rtol=1e-15)


def test_lbeta(dtype):
    pairs = [(1e-3, 1e6), (1e6, 1e6), (1e-4, 1e-4), (0.5, 0.5), (1.0, 1.0), (2.0, 3.0), (3.0, 1e5),
             (7.0, 9.0), (20.0, 1e3), (1e6, 1e-3), (5.0, 6.0), (1e-2, 50.0), (1e4, 1e6)]  # fmt: skip
    a, b = (np.asarray(v, dtype) for v in zip(*pairs, strict=True))
    exact = np.array([float(mp.log(mp.beta(mp.mpf(float(p)), mp.mpf(float(q))))) for p, q in zip(a, b, strict=True)])
    error = relative_error(special.lbeta(jnp.asarray(a), jnp.asarray(b)), exact, floor=1.0)
    assert error.max() <= 8 * EPS[dtype], (error, pairs[int(error.argmax())])
    jax_error = relative_error(jss.betaln(jnp.asarray(a), jnp.asarray(b)), exact, floor=1.0)
    assert error.max() <= max(jax_error.max(), 2 * EPS[dtype])


def test_log_factorial_and_binomial(dtype):
    k = np.asarray([0, 1, 2, 3, 7, 20, 170, 1e4, 3e7], dtype)
    exact = reference(lambda v: mp.loggamma(v + 1), k)
    assert relative_error(special.log_factorial_of(jnp.asarray(k)), exact, floor=1.0).max() <= 4 * EPS[dtype]
    assert float(special.log_factorial_of(jnp.asarray(1.0, dtype))) == 0.0
    n = np.asarray([1, 10, 50, 1e6, 1e6, 1e5], dtype)
    kk = np.asarray([0, 3, 25, 1, 5e5, 1e5], dtype)
    exact = np.array([float(mp.log(mp.binomial(int(p), int(q)))) for p, q in zip(n, kk, strict=True)])
    error = relative_error(special.log_binomial(jnp.asarray(n), jnp.asarray(kk)), exact, floor=1.0)
    assert error.max() <= 16 * EPS[dtype], error


def test_log_binomial_and_factorial_tables():
    """The trace-time tables (float64, numpy) within 2 ulps of mpmath."""
    for n in (1, 2, 7, 20, 1000):
        exact = np.array([float(mp.log(mp.binomial(n, k))) for k in range(n + 1)])
        assert relative_error(special.log_binomial_table(n), exact, floor=1.0).max() <= 2 * EPS["float64"], n
        exact = np.array([float(mp.loggamma(k + 1)) for k in range(n + 1)])
        assert relative_error(special.log_factorial_table(n), exact, floor=1.0).max() <= 2 * EPS["float64"], n


#: ``(a, b, x)``: small totals, a or b tiny, x next to 0 and 1, large totals around the mean.
INCOMPLETE_BETA_CASES = [
    (2.0, 3.0, 0.3), (0.5, 0.5, 0.01), (12.0, 6.5, 0.9), (2.5, 1.0, 1e-6), (7.0, 9.0, 0.45), (3.0, 4.0, 1e-8),
    (3.0, 4.0, 0.999), (1e-3, 1.0, 0.5), (1e-3, 5.0, 1e-6), (2.0, 1e-3, 0.999), (1e-3, 1e-3, 0.3),
    (1e-3, 30.0, 0.2), (0.01, 2.5, 0.7), (1000.0, 1000.0, 0.48), (1000.0, 1000.0, 0.55), (12866.0, 2.5, 0.9997),
    (20.0, 1000.0, 0.01), (0.5, 40.0, 0.05), (1000.0, 20.0, 0.97), (25.0, 20.0, 0.5),
]  # fmt: skip


@pytest.mark.slow
def test_incomplete_beta_against_mpmath(dtype):
    """``I_x(a, b)`` and, given ``1 - x`` and x, ``I_(1 - x)(b, a) = 1 - I_x(a, b)``: both tails to
    a relative 2e-3 in float32 (one parameter tiny or huge next to an end, ~1e-5 elsewhere) and 1e-11
    in float64, against 40-digit values; x-derivative the density."""
    a, b, x = (np.asarray(v, dtype) for v in zip(*INCOMPLETE_BETA_CASES, strict=True))
    one_minus_x = np.asarray([float(1 - mp.mpf(float(v))) for v in x], dtype)
    lower = [mp.betainc(mp.mpf(float(p)), mp.mpf(float(q)), 0, mp.mpf(float(v)), regularized=True)
             for p, q, v in zip(a, b, x, strict=True)]  # fmt: skip
    upper = np.array([float(1 - v) for v in lower])
    value = incomplete_beta.regularized_incomplete_beta(jnp.asarray(a), jnp.asarray(b), jnp.asarray(x))
    complement = incomplete_beta.regularized_beta(*(jnp.asarray(v) for v in (b, a, one_minus_x, x)))
    tolerance = 2e-3 if dtype == "float32" else 1e-11
    assert relative_error(value, np.array([float(v) for v in lower])).max() <= tolerance
    assert relative_error(complement, upper).max() <= tolerance
    density = jax.vmap(jax.grad(incomplete_beta.regularized_incomplete_beta, argnums=2))(*map(jnp.asarray, (a, b, x)))
    exact = []
    for p, q, v in (map(mp.mpf, map(float, row)) for row in zip(a, b, x, strict=True)):
        exact.append(float(mp.exp((p - 1) * mp.log(v) + (q - 1) * mp.log1p(-v) - mp.log(mp.beta(p, q)))))
    assert relative_error(density, np.array(exact)).max() <= (1e-4 if dtype == "float32" else 1e-12)


def test_log1pexp_log1mexp(dtype):
    x = np.asarray(np.concatenate([-np.geomspace(1e3, 1e-6, 60), np.geomspace(1e-6, 1e3, 60)]), dtype)
    exact = reference(lambda v: mp.log1p(mp.exp(v)), x)
    tiny = float(np.finfo(dtype).tiny / np.finfo(dtype).eps)  # subnormal results lose digits, as they must
    assert relative_error(special.log1pexp(jnp.asarray(x)), exact, floor=tiny).max() <= 4 * EPS[dtype]
    neg = np.asarray(-np.geomspace(1e-6, 1e3, 120), dtype)
    exact = reference(lambda v: mp.log1p(-mp.exp(v)) if v < -1 else mp.log(-mp.expm1(v)), neg)
    assert relative_error(special.log1mexp(jnp.asarray(neg)), exact, floor=tiny).max() <= 4 * EPS[dtype]
    assert float(special.log1mexp(jnp.asarray(0.0, dtype))) == -np.inf


def test_log_ratio_excess_and_expm1mx(dtype):
    z = np.asarray(np.concatenate([np.geomspace(1e-30, 1e30, 80), 1 + np.geomspace(1e-6, 0.9, 40),
                                   1 - np.geomspace(1e-6, 0.6, 40)]), dtype)  # fmt: skip
    exact = reference(lambda v: v - 1 - mp.log(v), z)
    assert relative_error(special.log_ratio_excess(jnp.asarray(z)), exact).max() <= 6 * EPS[dtype]
    d = np.asarray(np.concatenate([np.geomspace(1e-6, 30, 40), -np.geomspace(1e-6, 30, 40)]), dtype)
    exact = reference(lambda v: mp.expm1(v) - v, d)
    assert relative_error(special.expm1mx(jnp.asarray(d)), exact).max() <= 6 * EPS[dtype]


def test_stirling_remainder(dtype):
    x = np.asarray(np.geomspace(1e-3, 1e6, 60), dtype)
    exact = reference(lambda v: mp.loggamma(v) - (v - 0.5) * mp.log(v) + v - mp.log(2 * mp.pi) / 2, x)
    # absolute error a few ulps of lgamma(6) below the switch, relative above
    error = relative_error(special.stirling_remainder(jnp.asarray(x)), exact, floor=10.0 * 0 + 1.0)
    assert error.max() <= 32 * EPS[dtype], (error.max(), x[error.argmax()])


def _incomplete_gamma_points(dtype: str) -> tuple[np.ndarray, np.ndarray]:
    """Small shapes 1e-3 .. 10 with x near 0, near a and far above a; a few large shapes near a."""
    small = np.geomspace(1e-3, 10.0, 9)
    ratios = [1e-30, 1e-6, 0.01, 0.5, 0.95, 1.0, 1.05, 2.0, 30.0]
    a = [s for s in small for _ in ratios] + [s for s in small for _ in (1, 2)]
    x = [s * r for s in small for r in ratios] + [v for s in small for v in (s + 20.0, s + 200.0)]
    for shape in (30.0, 1e3, 1e5):
        for t in (-3.0, -0.5, 0.0, 0.5, 3.0):
            a.append(shape)
            x.append(shape + t * shape**0.5)
    return np.asarray(a, dtype), np.asarray(x, dtype)


def test_regularized_gamma_against_mpmath(dtype):
    """P and Q against mpmath at 40 digits, each to its relative accuracy: a few ulps times the
    conditioning of the prefactor ``exp(a log x - x - lgamma a)`` (the size of its exponent's terms,
    ``sqrt(a)`` for large a near the bulk), plus the absolute rounding where one is ``1 -`` the other."""
    a, x = _incomplete_gamma_points(dtype)
    p, q = (np.asarray(v, np.float64) for v in jax.jit(regularized_gamma)(jnp.asarray(a), jnp.asarray(x)))
    for i, (shape, point) in enumerate(zip(a.astype(np.float64), x.astype(np.float64), strict=True)):
        sa, sx = mp.mpf(shape), mp.mpf(point)
        exact_p = mp.gammainc(sa, 0, sx, regularized=True) if point < shape else None
        exact_q = mp.gammainc(sa, sx, mp.inf, regularized=True) if exact_p is None else 1 - exact_p
        exact_p = 1 - exact_q if exact_p is None else exact_p
        scale = 1.0 + (abs(shape * np.log(point)) + point if shape < 10 else shape**0.5)
        for got, exact in ((p[i], float(exact_p)), (q[i], float(exact_q))):
            allowed = 16 * EPS[dtype] * (scale * exact + (1.0 - exact))
            assert abs(got - exact) <= allowed, (shape, point, got, exact)
    # The ends: x = 0, x = inf, and NaN for a <= 0.
    ends = regularized_gamma(jnp.asarray([2.0, 2.0, 0.0], dtype), jnp.asarray([0.0, np.inf, 1.0], dtype))
    np.testing.assert_array_equal(np.stack(ends), [[0.0, 1.0, np.nan], [1.0, 0.0, np.nan]])


def test_upper_regularized_gamma_is_relative_for_small_shapes(dtype):
    """Q(a, x) for small shapes below the bulk (x < a + 1), where Q ~ a E1(x) is small and P ~ 1:
    to a few ulps relative against mpmath (``1 - P`` would lose ``eps / Q``: ~1e7 ulps at a = 1e-6);
    ``lgamma1p`` next to its zero likewise."""
    shapes = np.geomspace(1e-6, 0.19, 9)
    a = np.repeat(shapes, 12)
    x = np.concatenate([np.geomspace(1e-8, 1.0 + s, 13)[:-1] for s in shapes])
    a, x = a.astype(dtype), x.astype(dtype)
    q = np.asarray(jax.jit(regularized_gamma)(jnp.asarray(a), jnp.asarray(x))[1], np.float64)
    pairs = zip(a.astype(np.float64), x.astype(np.float64), strict=True)
    exact = np.array([float(mp.gammainc(mp.mpf(s), mp.mpf(t), mp.inf, regularized=True)) for s, t in pairs])
    error = relative_error(q, exact)
    assert error.max() <= 32 * EPS[dtype], (error.max(), a[error.argmax()], x[error.argmax()])
    small = np.concatenate([[0.0], np.geomspace(1e-12, 0.5, 40)]).astype(dtype)
    got = np.asarray(special.lgamma1p(jnp.asarray(small)), np.float64)
    assert got[0] == 0.0
    error = relative_error(got[1:], reference(lambda s: mp.loggamma(1 + s), small[1:]))
    assert error.max() <= 8 * EPS[dtype], (error.max(), small[1:][error.argmax()])
    # Above 1/2 (the Bessel functions' orders): lgamma(1 + a), to a few ulps of max(1, |value|)
    # (its zero at a = 1 is that of the rounded 1 + a); NaN below 0.
    large = np.concatenate([np.geomspace(0.5, 500.0, 30), np.arange(1.0, 40.0, 0.5)]).astype(dtype)
    got = np.asarray(special.lgamma1p(jnp.asarray(large)), np.float64)
    exact = reference(lambda s: mp.loggamma(1 + s), large)
    error = np.abs(got - exact) / np.maximum(1.0, np.abs(exact))
    assert error.max() <= 8 * EPS[dtype], (error.max(), large[error.argmax()])
    assert np.isnan(special.lgamma1p(jnp.asarray(-0.25, dtype)))


def test_trigamma_difference(dtype):
    """``trigamma(a) - trigamma(a + d)`` to a few ulps relative where the plain difference
    cancels (``d << a``, both sides of the series switch ``L``), at the rounded arguments."""
    a = np.asarray([1e-4, 0.3, 1.0, 2.0, 5.9, 6.1, 9.9, 10.1, 30.0, 1e3, 1e6, 1e10], dtype)[:, None]
    d = np.asarray([0.0, 1e-8, 1e-4, 0.5, 1.0, 3.0, 1e2, 1e6, 1e12], dtype)[None, :]
    a, d = np.broadcast_arrays(a, d)
    with mp.workdps(60):
        exact = np.array(
            [
                float(mp.psi(1, mp.mpf(float(x))) - mp.psi(1, mp.mpf(float(x)) + mp.mpf(float(y))))
                for x, y in zip(a.ravel(), d.ravel(), strict=True)
            ]
        ).reshape(a.shape)
    got = special.trigamma_difference(jnp.asarray(a), jnp.asarray(d))
    error = relative_error(got, exact)
    assert np.all(np.asarray(got)[d == 0] == 0.0)
    assert error.max() <= 8 * EPS[dtype], (error.max(), a.ravel()[error.argmax()], d.ravel()[error.argmax()])


def test_approximate_inverse_digamma(x64):
    # the fitted start, on and beyond its fitting range, against mpmath's digamma
    x = np.geomspace(1e-8, 1e12, 400)
    y = reference(mp.digamma, x)
    error = relative_error(special.approximate_inverse_digamma(jnp.asarray(y)), x)
    assert error.max() <= 2e-6, (error.max(), x[error.argmax()])
    # the caller's exp(y) gives the same values
    given = special.approximate_inverse_digamma(jnp.asarray(y), jnp.exp(jnp.minimum(jnp.asarray(y), 709.0)))
    np.testing.assert_array_equal(np.asarray(given), np.asarray(special.approximate_inverse_digamma(jnp.asarray(y))))


def test_inverse_digamma(dtype):
    x = np.asarray(np.geomspace(1e-6, 1e15 if dtype == "float64" else 1e7, 90), dtype)
    y = reference(mp.digamma, x)
    y_in = np.asarray(y, dtype)

    def root(target: float, start: float) -> float:
        bracket = (start / 2, 2 * start)
        return float(mp.findroot(lambda t: mp.digamma(t) - target, bracket, solver="anderson"))

    exact = np.array([root(float(v), float(x0)) for v, x0 in zip(y_in, x, strict=True)])
    error = relative_error(special.inverse_digamma(jnp.asarray(y_in)), exact)
    # digamma evaluated to a few ulps of |y| moves x by |y| / (x trigamma(x)) times that, relative
    # (about |y| for large x: 32 at x = 1e14, where a correctly rounded log is not guaranteed)
    condition = 1.0 + np.abs(y) / np.array([float(v * mp.psi(1, mp.mpf(v))) for v in exact])
    assert np.all(error <= 8 * EPS[dtype] * condition), (np.max(error / condition), x[np.argmax(error / condition)])
    grad = jax.vmap(jax.grad(special.inverse_digamma))(jnp.asarray(y_in))
    expected = 1 / np.asarray(special.trigamma(jnp.asarray(exact, dtype)))
    np.testing.assert_allclose(grad, expected, rtol=1e3 * EPS[dtype])


def test_multivariate_lgamma_digamma(x64):
    a = jnp.asarray([2.6, 3.7, 50.0, 1e4])
    for dim in (1, 3, 5):
        exact = [float(dim * (dim - 1) / 4 * mp.log(mp.pi) + mp.fsum(mp.loggamma(mp.mpf(float(v)) - mp.mpf(j) / 2)
                 for j in range(dim))) for v in a]  # fmt: skip
        np.testing.assert_allclose(special.multivariate_lgamma(a, dim), exact, rtol=4e-16)
        exact = [float(mp.fsum(mp.digamma(mp.mpf(float(v)) - mp.mpf(j) / 2) for j in range(dim))) for v in a]
        np.testing.assert_allclose(special.multivariate_digamma(a, dim), exact, rtol=4e-16)
        grad = jax.vmap(jax.grad(special.multivariate_lgamma), in_axes=(0, None))(a, dim)
        np.testing.assert_allclose(grad, special.multivariate_digamma(a, dim), rtol=1e-15)


@pytest.mark.parametrize("rate", [1e-8, 0.3, 5.0, 150.0, 199.0, 201.0, 1e4, 1e8])
def test_poisson_expectations(dtype, rate):
    r = mp.mpf(rate)
    pmf = lambda k: mp.exp(k * mp.log(r) - r - mp.loggamma(k + 1))  # noqa: E731
    upper = int(rate + 40 * rate**0.5 + 50)
    if rate < 1e4:
        elf = mp.fsum(pmf(k) * mp.loggamma(k + 1) for k in range(upper))
        ent = -mp.fsum(pmf(k) * (k * mp.log(r) - r - mp.loggamma(k + 1)) for k in range(upper))
    else:  # the asymptotic expansion is exact to far below float64 resolution here
        ent = mp.log(2 * mp.pi * mp.e * r) / 2 - 1 / (12 * r) - 1 / (24 * r**2) - mp.mpf(19) / (360 * r**3)
        elf = ent - r + r * mp.log(r)
    x = jnp.asarray(rate, dtype)
    assert relative_error(special.poisson_expected_log_factorial(x), float(elf), 1.0) <= 16 * EPS[dtype]
    assert relative_error(special.poisson_entropy(x), float(ent)) <= 16 * EPS[dtype]


def test_poisson_log_pmf(dtype):
    rate = np.asarray([1e-8, 0.5, 30.0, 1e6, 1e6, 1e6, 1e8], dtype)
    k = np.asarray([0, 3, 30, 1e6, 1e6 + 1e3, 3, 1e8 - 2e4], dtype)
    exact = np.array([float(mp.mpf(float(v)) * mp.log(float(r)) - float(r) - mp.loggamma(float(v) + 1))
                      for v, r in zip(k, rate, strict=True)])  # fmt: skip
    # The value is conditioned like (k - rate) * relative change of rate; allow that much rounding.
    conditioning = np.abs(k.astype(np.float64) - rate) * EPS[dtype]
    error = np.abs(np.asarray(special.poisson_log_pmf(jnp.asarray(k), jnp.asarray(rate))) - exact)
    assert np.all(error <= 16 * EPS[dtype] * np.maximum(np.abs(exact), 1.0) + 4 * conditioning), error


def test_log1p_float64(x64):
    x = np.concatenate([-np.geomspace(1e-12, 0.999, 300), np.linspace(-0.5, -0.1, 301), np.geomspace(1e-12, 1e6, 300)])
    exact = reference(mp.log1p, x)
    # (XLA's float64 log1p in jax 0.10 is off by up to ~110 ulps on (-0.5, -0.1); fixed in jax 0.12)
    assert relative_error(special.log1p(jnp.asarray(x)), exact).max() <= 2 * EPS["float64"]


def test_quotient_derivative_where_a_over_b_squared_overflows():
    """``quotient``'s derivative is ``(da - (a / b) db) / b``; a zero cotangent stays zero in float32
    where ``a / b^2`` overflows (plain division gives ``0 * inf = NaN``), and check_grads holds."""
    a, b = jnp.float32(2.0), jnp.float32(1e-30)
    zero = jax.vjp(special.quotient, a, b)[1](jnp.float32(0.0))
    assert [float(g) for g in zero] == [0.0, 0.0]
    grad_a, grad_b = jax.grad(special.quotient, argnums=(0, 1))(jnp.float32(3.0), jnp.float32(4.0))
    assert (float(grad_a), float(grad_b)) == (0.25, -3.0 / 16.0)
    with jax.enable_x64(True):
        jax.test_util.check_grads(special.quotient, (jnp.float64(3.0), jnp.float64(0.7)), order=2)


def test_compensated_multiply_add_against_exact_rationals(dtype: str) -> None:
    """``a b + c`` where the product nearly cancels c (random factors, ``c = -fl(a b) + small``):
    within 4 eps of the exact rational value relative to itself, where the plain sum loses
    ``|c| / |a b + c|``; and finite (the plain sum) where Veltkamp's split overflows."""
    rng = np.random.default_rng(7)
    a = (rng.uniform(1.0, 2.0, 64) * 10.0 ** rng.integers(-8, 9, 64)).astype(dtype)
    b = (rng.uniform(-2.0, 2.0, 64) * 10.0 ** rng.integers(-8, 9, 64)).astype(dtype)
    c = (-(a * b) * (1 + rng.uniform(-1e-3, 1e-3, 64))).astype(dtype)
    got = np.asarray(jax.jit(compensated.multiply_add)(jnp.asarray(a), jnp.asarray(b), jnp.asarray(c)), np.float64)
    exact = np.array(
        [float(Fraction(float(x)) * Fraction(float(y)) + Fraction(float(z))) for x, y, z in zip(a, b, c, strict=True)]
    )
    error = np.abs(got - exact) / np.abs(exact)
    assert np.max(error) <= 4 * float(np.finfo(dtype).eps), np.max(error)
    huge = jnp.asarray(np.finfo(dtype).max / 4, dtype)
    assert np.isfinite(float(compensated.multiply_add(huge, jnp.asarray(2.0, dtype), -huge)))
