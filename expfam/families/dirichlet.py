"""Dirichlet over ``num_classes`` = K coordinates: a probability vector (composition) target.

``q(x) = Gamma(a0) / prod_k Gamma(a_k) prod_k x_k^(a_k - 1)`` on the open simplex, with
concentrations ``a_k > 0`` and ``a0 = sum_k a_k``. Natural parameters ``eta = a`` (the
concentrations), ``T(x) = log x`` (all K coordinates, taken whole), ``log h(x) = -sum_k log x_k``,


    g(a) = sum_k lgamma(a_k) - lgamma(a0),

evaluated with Stirling's form of the large log-gammas combined analytically (``log_normalizer``),
so that huge lgamma values never cancel when the concentrations are large or very unequal. Expectation
``E[log x_k] = digamma(a_k) - digamma(a0)``, evaluated as
``-log1p(others_k / a_k) - (log a_k - digamma(a_k)) + (log a0 - digamma(a0))`` with
``others_k = a0 - a_k`` to a few ulps (``_exclusive_sums``); Fisher
``diag(trigamma(a_k)) - trigamma(a0) 1 1^T``.

Inverse (expectation -> natural): Newton's method on ``u = log a`` for
``digamma(a_k) - digamma(a0) = c_k``, whose Jacobian ``diag(trigamma(a)) - trigamma(a0) 1 1^T``
(diagonal plus rank one) is inverted by the Sherman-Morrison formula in O(K). The
Sherman-Morrison denominator ``1/trigamma(a0) - sum_k 1/trigamma(a_k)`` (a near-cancellation,
``(K - 1)/2`` against terms of size ``a0``) is evaluated as
``sum_k a_k (phi(a0) - phi(a_k))`` with ``phi(a) = 1 / (a trigamma(a))`` (a sum of positive
terms), each difference written in the form that keeps its digits (see ``_phi_and_complement``).
Initialisation (after Minka, *Estimating a Dirichlet distribution*, 2000):
``a_k = psi^{-1}(c_k + digamma(a0))`` with a closed-form approximate inverse digamma (Minka's,
with a fitted correction: within 2e-6), ``a0`` from up to five Newton steps on ``1/a0`` that make these
sum to ``a0``, starting from the bound ``a0 <= (K - s) / (2 (1 - s))``, ``s = sum_k exp(c_k)``
(see ``_initial_concentration``); then Newton until the residual is at rounding level. A
row that does not converge within ``MAX_NEWTON_STEPS`` (none in the documented range; e.g. an
impossible ``c`` with a coordinate ``>= 0``) comes back as NaN, never as a silent wrong answer.

Documented range: concentrations ``1e-4 <= a_k <= 1e6`` (any mixture), K >= 2.
In float32 a Dirichlet sample whose coordinate underflows to 0 (tiny concentrations) is
outside the open simplex, so its log-probability is -inf; this is a limit of representing
x itself, not of the loss.

Targets: floating arrays of shape ``batch + (K,)`` with positive coordinates summing to 1
(to within ``sqrt(eps)``; they are not renormalized).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

import jax
import jax.numpy as jnp

from expfam._core import constraints, supports
from expfam._core.family import Array, ExponentialFamily, SourceParameter, iterative
from expfam._numerics import special

MAX_NEWTON_STEPS = 24
_START_STEPS = 5
_START_TOLERANCE = 1 / 256
_MAX_LOG_STEP = 2.0


def _evaluated(x: Array) -> Array:
    """``x`` as an array of its own (an optimization barrier). Left to fusion, XLA evaluates an
    elementwise producer inside the loop of each reduction over the coordinates that reads it,
    much slower on CPU than one vectorized pass (bench/results/inverse.md, losses_cpu.md); the nll
    and the solvers below evaluate their special-function arrays this way before summing them."""
    return jax.lax.optimization_barrier(x)


def _coordinates_first(x: Array) -> Array:
    """``x`` with its last axis moved first and stored in that order. (A moved axis alone is a
    transposed layout of x: XLA then re-reads x across its rows in every pass over it; the flat
    reshape makes it one copy.)"""
    moved = jnp.moveaxis(x, -1, 0)
    return _evaluated(moved.reshape(-1)).reshape(moved.shape)


#: Up to this many coordinates, the solver's sums and maxima over a leading coordinate axis are
#: written out plane by plane (see ``_coordinate_sums`` and ``_reduced``).
_WRITTEN_OUT = 32
#: The numbers per block of rows the solver works on (``concentration_from_mean_log``).
_BLOCK_ELEMENTS = 2**17


#: The reductions ``_reduced`` writes out, by their elementwise operation.
_REDUCTIONS: dict[Callable[[Array, Array], Array], Callable[..., Array]] = {jnp.add: jnp.sum, jnp.maximum: jnp.max}


def _reduced(op: Callable[[Array, Array], Array], x: Array, axis: int) -> Array:
    """``x`` reduced by ``op`` (a key of ``_REDUCTIONS``: ``jnp.add`` or ``jnp.maximum``) along
    ``axis``, kept.

    Along a leading axis of up to ``_WRITTEN_OUT`` coordinates (the solver's layout) the
    row planes are combined one by one, an elementwise pass over the rows, and the result is
    evaluated as an array of its own (``_evaluated``: otherwise XLA fused the planes' sum into each
    consumer and recomputed it there, which made K = 16 1.5x slower). XLA:CPU hands a reduction
    over the leading axis to a library kernel with a high fixed cost per block. Float64, 1e6 rows
    (bench/results/inverse.md): written out, the solver took 12-17% less time for K = 2..4 than
    with those reductions; kept whole, another 0-12% for K = 2..8, and 15-19% less for K = 16.
    """
    reduction = _REDUCTIONS[op]
    if axis == 0 and x.shape[0] <= _WRITTEN_OUT:
        return _evaluated(functools.reduce(op, [x[i : i + 1] for i in range(x.shape[0])]))
    return reduction(x, axis=axis, keepdims=True)


def _coordinate_sums(terms: Callable[..., tuple[Array, ...]], *xs: Array) -> tuple[Array, ...]:
    """``sum_k terms(x_k, y_k, ...)`` over the leading (coordinate) axis of ``xs = (x, y, ...)``,
    kept, for elementwise ``terms`` returning a tuple of arrays.

    Up to ``_WRITTEN_OUT`` coordinates ``terms`` is applied to each coordinate's row plane and the
    results are added one by one: XLA:CPU then evaluates everything in one elementwise pass over
    the rows. A reduction over the leading axis evaluated ``terms`` inside the reduction's loop,
    2.5-3x slower (bench/results/inverse.md).
    """
    k = xs[0].shape[0]
    if k > _WRITTEN_OUT:
        return tuple(jnp.sum(t, axis=0, keepdims=True) for t in terms(*xs))
    sums = terms(*(x[:1] for x in xs))
    for i in range(1, k):
        sums = tuple(s + t for s, t in zip(sums, terms(*(x[i : i + 1] for x in xs)), strict=True))
    return sums


def _exclusive_sums(a: Array, axis: int = -1) -> Array:
    """``sum_{j != k} a_j`` per coordinate k (along ``axis``), to a few ulps (no cumulative sums).

    ``a0 - a_k`` keeps its digits wherever ``a_k <= a0 / 2`` (the result is then at least
    ``a0 / 2``). Only a coordinate above half the total, necessarily the unique largest, loses
    them; its sum is that of the other coordinates, those below the largest. Both forms have the
    exact derivative (the largest enters the value only through the comparisons).
    """
    largest = _reduced(jnp.maximum, a, axis)
    total = _reduced(jnp.add, a, axis)
    is_largest = a == largest
    rest = _reduced(jnp.add, jnp.where(is_largest, 0.0, a), axis)
    return jnp.where(is_largest & (largest > 0.5 * total), rest, total - a)


def log_normalizer(a: Array) -> Array:
    """``g(a) = sum_k lgamma(a_k) - lgamma(a0)`` with the large terms combined analytically.

    With ``t_k = lgamma(a_k) - a_k log a0 + a_k``, ``g = sum_k t_k + 1/2 log a0 - 1/2 log(2 pi)
    - delta(a0)`` (delta: the Stirling remainder). For ``a_k >= L`` (where the Stirling series
    holds, ``_special``) ``t_k = -a_k log1p(o_k / a_k) - 1/2 log a_k + 1/2 log(2 pi) + delta(a_k)``
    with ``o_k = a0 - a_k`` from ``_exclusive_sums``: every term of size ``a log a`` is negative,
    so nothing cancels at large or very unequal concentrations; below ``L``, ``t_k`` as written
    (its terms are at most ``L log a0``). One logarithm-sized evaluation per coordinate.
    """
    large = special.large_argument(a)
    total = jnp.sum(a, axis=-1)
    is_large = a >= large
    big = jnp.where(is_large, a, large)
    t_large = (
        -big * special.log1p(_exclusive_sums(a) / big)
        - 0.5 * jnp.log(big)
        + special.HALF_LOG_TWO_PI
        + special.stirling_correction(1.0 / big)
    )
    small = jnp.where(is_large, 1.0, a)
    t_small = special.lgamma(small) - small * (jnp.log(total)[..., None] - 1.0)
    return (
        jnp.sum(jnp.where(is_large, t_large, t_small), axis=-1)
        + 0.5 * jnp.log(total)
        - special.HALF_LOG_TWO_PI
        - special.stirling_remainder(total)
    )


def mean_log(a: Array, axis: int = -1) -> Array:
    """``E[log x_k] = digamma(a_k) - digamma(a0)`` (coordinates along ``axis``) without
    cancellation for large concentrations."""
    total = _reduced(jnp.add, a, axis)
    return -jnp.log1p(_exclusive_sums(a, axis) / a) - special.log_minus_digamma(a) + special.log_minus_digamma(total)


def entropy(a: Array) -> Array:
    """``log B(a) + (a0 - K) digamma(a0) - sum_k (a_k - 1) digamma(a_k)`` without cancellation.

    With ``lgamma(x) = (x - 1/2) log x - x + 1/2 log(2 pi) + delta(x)`` (Stirling remainder
    delta) and ``digamma(x) = log x - m(x)`` (``m = log - digamma``), the terms of size
    ``a log a`` cancel analytically:
    ``H = (K - 1)/2 log(2 pi) + 1/2 sum_k log a_k - (K - 1/2) log a0 + sum_k delta(a_k) - delta(a0)
    + sum_k (a_k - 1) m(a_k) - (a0 - K) m(a0)``.
    """
    k = a.shape[-1]
    total = jnp.sum(a, axis=-1)
    per_coordinate = 0.5 * jnp.log(a) + special.stirling_remainder(a) + (a - 1.0) * special.log_minus_digamma(a)
    return (
        0.5 * (k - 1) * math.log(2 * math.pi)
        + jnp.sum(per_coordinate, axis=-1)
        - (k - 0.5) * jnp.log(total)
        - special.stirling_remainder(total)
        - (total - k) * special.log_minus_digamma(total)
    )


def nll(a: Array, relative_offset: Array, log_ratio: Array, deficit: Array) -> Array:
    """``-log q(x) = log B(a) - sum_k (a_k - 1) log x_k`` from ``r_k = x_k / m_k - 1`` (``m = a / a0``,
    the mean), ``log_ratio = log(x_k / m_k)`` (from log x, exact for tiny x_k) and
    ``deficit = sum_k x_k - 1``, without cancellation for large concentrations.

    With Stirling's form of ``lgamma`` (remainder delta) the terms ``a log a`` cancel analytically:
    ``-log q = sum_k [(1 - a_k) log1p(r_k) + 1/2 log a_k + delta(a_k)] - (K - 1/2) log a0
    + (K - 1)/2 log(2 pi) - delta(a0)``. Since ``sum_k a_k r_k = a0 deficit``, each
    ``(1 - a_k) log1p(r_k)`` is taken as ``(1 - a_k) log1pmx(r_k) + r_k`` (minus ``a0 deficit`` once)
    for ``|r_k| < 1/2``, where the large multiplier meets a small ``log1pmx``, and as
    ``(1 - a_k) log(x_k / m_k) + a_k r_k`` otherwise (far from the mean, no cancellation).
    """
    k = a.shape[-1]
    total = jnp.sum(a, axis=-1)
    near = jnp.abs(relative_offset) < 0.5
    close = (1.0 - a) * special.log1pmx(jnp.where(near, relative_offset, 0.0)) + relative_offset
    far = (1.0 - a) * log_ratio + a * relative_offset
    offsets = jnp.sum(_evaluated(jnp.where(near, close, far)), axis=-1) - total * deficit
    per_coordinate = jnp.sum(_evaluated(0.5 * jnp.log(a) + special.stirling_remainder(a)), axis=-1)
    return (
        offsets
        + per_coordinate
        - (k - 0.5) * jnp.log(total)
        + 0.5 * (k - 1) * math.log(2 * math.pi)
        - special.stirling_remainder(total)
    )


def _mean_ratio_offset(a: Array, b: Array, a0: Array) -> Array:
    """``t_k = w_k / v_k - 1`` (means ``v = a / a0``, ``w = b / b0``) without cancellation when b is
    close to a.

    With ``d_k = b_k / a_k - 1 = (b_k - a_k) / a_k`` (the difference is exact where b_k is within a
    factor 2 of a_k) and ``s = sum_j v_j d_j`` (so ``b0 / a0 = 1 + s``),
    ``t_k = (d_k - s) / (1 + s)``: the error is ``eps max|d|`` instead of ``eps``
    (``b a0 / (a b0) - 1`` loses everything when b is a small relative change of a, and the KL
    multiplies t by ``b0``: float32 at a = (1e6, 1e6, 2e6), b within 0.1%: 7e-5 -> 1.5e-7).
    """
    d = (b - a) / a
    s = jnp.sum(a / a0 * d, axis=-1, keepdims=True)
    return (d - s) / (1.0 + s)


def kl_divergence(a: Array, b: Array) -> Array:
    """``KL(Dir(a) || Dir(b)) = log B(b) - log B(a) + sum_k (a_k - b_k)(digamma(a_k) - digamma(a0))``
    without cancellation for large concentrations.

    Stirling's form of lgamma (remainder delta) and ``digamma = log - m`` (``m = log - digamma``)
    cancel the terms ``a log a`` analytically; with the means ``v = a / a0``, ``w = b / b0``,
    ``t_k = w_k / v_k - 1`` and ``rho = b / a``:
    ``KL = b0 sum_k v_k phi(t_k) - 1/2 sum_k log(rho_k / rho_0) - (K - 1)/2 log rho_0
    + sum_k (delta(b_k) - delta(a_k)) - delta(b0) + delta(a0) + sum_k (a_k - b_k)(m(a0) - m(a_k))``,
    where ``phi(t) = (1 + t) log1p(t) - t = (1 + t) log1pmx(t) + t^2 >= 0`` (the discrete KL
    between the means, written as a sum of non-negative terms: ``sum_k (v_k - w_k) = 0``).
    """
    k = a.shape[-1]
    a0, b0 = jnp.sum(a, axis=-1, keepdims=True), jnp.sum(b, axis=-1, keepdims=True)
    t = _mean_ratio_offset(a, b, a0)
    phi = (1.0 + t) * special.log1pmx(t) + t * t
    means = b0[..., 0] * jnp.sum(a / a0 * phi, axis=-1)
    log_rho0 = jnp.log(b0 / a0)
    m_a, m_a0 = special.log_minus_digamma(a), special.log_minus_digamma(a0)
    delta = special.stirling_remainder
    return (
        means
        - 0.5 * jnp.sum(jnp.log(b / a) - log_rho0, axis=-1)
        - 0.5 * (k - 1) * log_rho0[..., 0]
        + jnp.sum(delta(b) - delta(a), axis=-1)
        - delta(b0[..., 0])
        + delta(a0[..., 0])
        + jnp.sum((a - b) * (m_a0 - m_a), axis=-1)
    )


def fisher(a: Array) -> Array:
    """``diag(trigamma(a_k)) - trigamma(a0) 1 1^T``, the diagonal ``trigamma(a_k) - trigamma(a0)``
    as ``trigamma_difference(a_k, sum_{j != k} a_j)`` (no cancellation when ``a_k`` dominates ``a0``)."""
    k = a.shape[-1]
    diagonal = special.trigamma_difference(a, _exclusive_sums(a))
    off_diagonal = -special.trigamma(jnp.sum(a, axis=-1))[..., None, None]
    return jnp.where(jnp.eye(k, dtype=bool), diagonal[..., None, :], off_diagonal)


def _phi_and_complement(x: Array, trigamma_x: Array) -> tuple[Array, Array]:
    """``phi(x) = 1 / (x trigamma(x))``, increasing from 0 to 1, and ``1 - phi(x)`` written as
    ``(trigamma(x) - 1/x) / trigamma(x) ~ 1/(2x)`` (``trigamma_x``: the caller's ``trigamma(x)``).

    ``phi(a0) - phi(a_k)`` keeps its digits as the difference of ``phi`` below ``a0 = 1``
    (``phi(a) ~ a``) and as the difference of the complements above.
    """
    return 1.0 / (x * trigamma_x), special.trigamma_minus_reciprocal(x, trigamma_x) / trigamma_x


def _one_minus_phi_approximation(x: Array) -> Array:
    """``(1 + x) / (1 + 2x + 2x^2)``, within a few percent of ``1 - phi(x)`` (``phi(x) = 1 / (x trigamma(x))``):
    exact to first order at both ends (``1 - x`` as ``x -> 0``, ``1/(2x)`` as ``x -> inf``). Only the
    slope of the start's Newton iteration uses it."""
    return (1.0 + x) / (1.0 + x * (2.0 + 2.0 * x))


def _initial_concentration(c: Array) -> Array:
    """Minka-style start: ``a_k = psi^{-1}(c_k + digamma(a0))`` with ``a0`` solving
    ``sum_k psi^{-1}(c_k + digamma(a0)) = a0``, both with ``special.approximate_inverse_digamma``
    (within 2e-6); ``c`` has its coordinates on axis 0.

    The total is found by Newton's method on the relative excess
    ``e(v) = v sum_k psi^{-1}(c_k + digamma(1/v)) - 1`` in ``v = 1/a0``, which is linear in v where
    every concentration is large (``e ~ s - 1 + (K - s) v / 2``, ``s = sum_k exp(c_k)``) and concave
    increasing where they are small (``e ~ sum_k v / (v + d_k) - 1``, ``d_k = -c_k``). Since
    ``D(a) = a - exp(digamma(a))`` increases from 0 to 1/2 and ``a0 (1 - s) = sum_k D(a_k) - s D(a0)``,
    ``a0 <= (K - s) / (2 (1 - s))`` (the plain bound is
    ``K / (2 (1 - s))``): v starts at that lower bound and never goes below it (measured with
    K = 2..50 and concentrations 1e-4..1e6 in any mixture: no failure, the iterates climb to the
    root). The slope
    ``e'(v) = a0 trigamma(a0) sum_k a_k (phi(a0) - phi(a_k))`` takes ``1 - phi`` from
    ``_one_minus_phi_approximation`` (a few percent: the iteration stays fast, and its fixed point is
    unchanged). At most ``_START_STEPS`` steps (worst row's error in log a0, K = 2: 8.5 -> 0.5;
    K = 16: 3e-2); a row stops once its ``log v`` moved by at most ``_START_TOLERANCE``: the slope
    being a few percent off, the next step would move it by a few percent of that, below what the
    Newton solver's first step corrects anyway (K = 16, concentrations 1e-2..1e3: three steps);
    the Newton solver in ``concentration_from_mean_log`` does the rest. (Where one concentration is
    tiny next to a total of order 10, the error of the approximate inverse digamma on the large
    coordinate outweighs the tiny one and this equation's root is off by up to 0.2 in log; Newton
    corrects it.)
    """
    k = c.shape[0]
    # 1 - s without cancellation: -expm1 of the largest c_k minus the other exp(c_k) (in float32 the
    # plain 1 - s of a total 1e4 with a concentration 1e-4 is 1e-8: lost to rounding).
    largest = _reduced(jnp.maximum, c, 0)
    # exp(c_k + digamma(a0)) as exp(c_k) exp(digamma(a0)): one exponential per row and iterate
    # instead of one per coordinate (c_k < 0: no overflow).
    exp_c = _evaluated(jnp.exp(c))

    def largest_and_others(c_k: Array, exp_c_k: Array) -> tuple[Array, Array]:
        is_largest = c_k == largest
        return is_largest.astype(c.dtype), jnp.where(is_largest, 0.0, exp_c_k)

    copies, others = _coordinate_sums(largest_and_others, c, exp_c)
    deficit = -jnp.expm1(largest) - (copies - 1.0) * jnp.exp(largest) - others
    lowest = 2.0 * deficit / (k - 1.0 + deficit)  # (no solution where deficit <= 0: NaN from here on)
    lowest = jnp.where(deficit > 0, lowest, jnp.nan)

    def concentrations(total: Array) -> Array:
        # (digamma(total) evaluated per row: fused, XLA evaluated it per coordinate)
        shift = _evaluated(special.digamma(total))
        return _evaluated(special.approximate_inverse_digamma(c + shift, exp_c * jnp.exp(shift)))

    def step(v: Array) -> Array:
        total = 1.0 / v
        shift = special.digamma(total)
        exp_shift = jnp.exp(shift)
        one_minus_phi_total = _one_minus_phi_approximation(total)

        def terms(c_k: Array, exp_c_k: Array) -> tuple[Array, Array]:
            a_k = special.approximate_inverse_digamma(c_k + shift, exp_c_k * exp_shift)
            return a_k, a_k * (_one_minus_phi_approximation(a_k) - one_minus_phi_total)

        concentration_sum, gap_sum = _coordinate_sums(terms, c, exp_c)
        excess = v * concentration_sum - 1.0
        slope = total * special.trigamma(total) * gap_sum
        return jnp.maximum(v - excess / slope, lowest)

    def keep_going(state: tuple[Array, Array, Array]) -> Array:
        i, _, done = state
        return (i < _START_STEPS) & ~jnp.all(done)

    def tracked_step(state: tuple[Array, Array, Array]) -> tuple[Array, Array, Array]:
        i, v, done = state
        v_new = jnp.where(done, v, step(v))
        return i + 1, v_new, done | (jnp.abs(jnp.log(v_new / v)) <= _START_TOLERANCE)

    start = (jnp.asarray(0), lowest, jnp.zeros_like(lowest, dtype=bool))
    _, v, _ = jax.lax.while_loop(keep_going, tracked_step, start)
    return concentrations(1.0 / v)


def concentration_from_mean_log(c: Array) -> Array:
    """Solve ``digamma(a_k) - digamma(sum a) = c_k`` for a > 0 (Newton on log a; see module doc
    and ``_solve_block``), over the rows of ``c`` (shape ``batch + (K,)``) in blocks of about
    ``_BLOCK_ELEMENTS`` numbers.

    The solver makes a dozen passes over its arrays: a block's arrays stay in cache, a million
    rows' do not (Dirichlet(16), 1e6 rows: 1.6x less CPU time in float32, 1.4x in float64,
    bench/results/inverse.md), and a block stops iterating when its own rows have converged.
    The last block ends at the last row (it overlaps the one before: those rows are solved twice,
    to the same values, every row's iteration being its own).
    """
    k = c.shape[-1]
    rows = c.reshape(-1, k)
    n, block = rows.shape[0], max(1, _BLOCK_ELEMENTS // k)
    if n <= block:
        return _solve_block(rows).reshape(c.shape)

    def solve(i: Array, solved: Array) -> Array:
        start = jnp.minimum(i * block, n - block)
        rows_of_block = jax.lax.dynamic_slice_in_dim(rows, start, block)
        return jax.lax.dynamic_update_slice_in_dim(solved, _solve_block(rows_of_block), start, 0)

    return jax.lax.fori_loop(0, -(-n // block), solve, jnp.zeros_like(rows)).reshape(c.shape)


def newton_log_step(a: Array, residual: Array) -> Array:
    """The solver's Newton step in ``log a`` for the residual ``mean_log(a) - c`` (coordinates on
    axis 0): ``J^{-1} r / a`` with ``J = diag(trigamma(a)) - trigamma(a0) 1 1^T`` inverted by
    Sherman-Morrison (module docstring), limited to ``_MAX_LOG_STEP``. The caller subtracts it."""
    q = _evaluated(special.trigamma(a))
    total = _reduced(jnp.add, a, 0)
    phi_total, complement_total = _phi_and_complement(total, special.trigamma(total))
    phi, complement = _phi_and_complement(a, q)
    gap = jnp.where(total < 1.0, phi_total - phi, complement - complement_total)
    denominator = _reduced(jnp.add, _evaluated(a * gap), 0)
    # (diag(q) - z 1 1^T)^{-1} r = r / q + (1 / q) sum(r / q) / (1/z - sum 1/q).
    scaled = _evaluated(residual / q)
    step = scaled + _reduced(jnp.add, scaled, 0) / (q * denominator)
    return jnp.clip(step / a, -_MAX_LOG_STEP, _MAX_LOG_STEP)


def _solve_block(c: Array) -> Array:
    """``concentration_from_mean_log`` on rows ``c`` of shape ``(n, K)``.

    Each iteration evaluates the scaled residual ``e = max_k |r_k| / (1 + |c_k|)`` of the iterate,
    then takes a Newton step. A row is done when ``e <= 4 eps`` (``eps`` for the start, which is
    not a Newton iterate: accepted at 4 eps, float32's median forward error was 20x larger), or
    once ``e <= 1024 eps`` when it no longer halves (rounding level: the best iterate is kept), or
    when its step was at most ``sqrt(eps) / 2`` in log: Newton's scaled residual after a step
    ``s`` is at most ``4 s^2`` (measured over K = 2..50 and concentrations 1e-4..1e6 by
    tools/dirichlet_newton_constant.py), so such a step lands within ``eps`` and is taken without
    evaluating the residual again (float64 saves its third residual). After ``MAX_NEWTON_STEPS``
    iterations a row not done returns its best iterate if that has ``e <= 1024 eps``, NaN
    otherwise (none in the documented range). Steps are limited to a factor ``e^2`` per
    coordinate, which only acts far from the root.
    """
    # Solved with the coordinates along axis 0: the per-row work (digamma(a0), the sums over
    # coordinates) is then done once per row on contiguous planes. Along the last axis XLA evaluated
    # it per coordinate and its reductions over a short last axis were slow (measured: Beta 2-4x
    # slower; with the Newton start below, Dirichlet(16) 1.3-1.6x slower).
    axis = 0
    c = _coordinates_first(c)
    eps = jnp.finfo(c.dtype).eps
    inverse_scale = _evaluated(1 / (1 + jnp.abs(c)))
    State = tuple[Array, Array, Array, Array, Array, Array]

    def keep_going(state: State) -> Array:
        return (state[0] < MAX_NEWTON_STEPS) & ~jnp.all(state[-1])

    def iteration(state: State) -> State:
        i, a, previous_error, best_a, best_error, done = state
        residual = _evaluated(mean_log(a, axis) - c)
        error = _reduced(jnp.maximum, _evaluated(jnp.abs(residual) * inverse_scale), axis)
        better = ~done & (error < best_error)
        best_a, best_error = jnp.where(better, a, best_a), jnp.where(better, error, best_error)
        stalled = (error > 0.5 * previous_error) & (previous_error <= 1024 * eps)
        # (The start is accepted only at eps: at 4 eps float32's forward errors were 20x larger.)
        finished = ~done & ((error <= jnp.where(i == 0, 1, 4) * eps) | stalled)
        a, done = jnp.where(finished, best_a, a), done | finished

        def step(a: Array) -> tuple[Array, Array]:
            log_step = newton_log_step(a, residual)
            # A step of at most sqrt(eps) / 2 lands within eps of the root: taken and final.
            final = ~done & (_reduced(jnp.maximum, jnp.abs(log_step), axis) <= 0.5 * jnp.sqrt(eps))
            return _evaluated(jnp.where(done, a, a * jnp.exp(-log_step))), done | final

        a, done = jax.lax.cond(jnp.all(done), lambda a: (a, done), step, a)
        return i + 1, a, error, best_a, best_error, done

    a = _initial_concentration(c)
    unknown = jnp.full_like(a[:1], jnp.inf)
    state = (jnp.asarray(0), a, unknown, a, unknown, jnp.zeros_like(unknown, dtype=bool))
    _, a, _, best_a, best_error, done = jax.lax.while_loop(keep_going, iteration, state)
    solved = jnp.where(done, a, jnp.where(best_error <= 1024 * eps, best_a, jnp.nan))
    return jnp.moveaxis(solved, axis, -1)


def in_simplex(x: Array) -> Array:
    """Positive coordinates summing to 1 within ``sqrt(eps)`` (no renormalization)."""
    tolerance = jnp.sqrt(jnp.finfo(x.dtype).eps)
    return jnp.all((x > 0) & (x < jnp.inf), axis=-1) & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tolerance)


@dataclasses.dataclass(frozen=True)
class Dirichlet(ExponentialFamily):
    """Dirichlet over ``num_classes = K`` coordinates: a probability vector (composition) target.

    * density: ``q(x) = Gamma(a0) / prod_k Gamma(a_k) prod_k x_k^(a_k - 1)``, ``a0 = sum_k a_k``; support:
      the open simplex ``x_k > 0``, ``sum_k x_k = 1``
    * natural parameters (M = K): ``eta = concentration``, the concentrations ``a``
    * sufficient statistics ``T(x) = log x`` (all K coordinates); carrier ``h(x) = 1 / prod_k x_k``
    * log-normalizer ``g(eta) = sum_k lgamma(a_k) - lgamma(a0)``
    * expectation parameters ``E[log x_k] = digamma(a_k) - digamma(a0)``
    * source parameter: ``concentration = a``, K positive numbers
    * scipy: ``scipy.stats.dirichlet(concentration)`` (which takes the coordinates on the first axis)
    * TFP: ``tfd.Dirichlet(concentration=concentration)``
    * canonical link ``link(raw)``: ``a_k = positive(raw_k) = softplus(raw_k) + tiny``
    * source head ``source_link(Dirichlet(K))``: ``concentration = positive(raw)`` (the same map)
    """

    repeated_sample_has_no_fit = True

    differentiate_stable_entropy = True  # measured: tests/test_extremes.py
    num_classes: int
    catalogue = (
        (
            {"num_classes": 3},
            (
                {"concentration": [1.0, 2.0, 3.0]},
                {"concentration": [0.3, 0.3, 0.3]},
                {"concentration": [1000.0, 1000.0, 1000.0]},
                {"concentration": [0.5, 30.0, 1000.0]},
            ),
        ),
    )

    @property
    def support(self) -> supports.Support:
        return supports.Simplex(self.num_classes)

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("concentration", constraints.positive, self.num_classes),)

    def __post_init__(self) -> None:
        if self.num_classes < 2:
            raise ValueError(f"Dirichlet: num_classes must be >= 2, got {self.num_classes}")

    @property
    def num_natural(self) -> int:
        return self.num_classes

    def natural_from_source(self, *, concentration: Array) -> Array:
        return jnp.asarray(concentration)

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"concentration": eta}

    def log_normalizer_formula(self, eta: Array) -> Array:
        return log_normalizer(eta)

    def expectation(self, eta: Array) -> Array:
        return mean_log(eta)

    def fisher(self, eta: Array) -> Array:
        return fisher(eta)

    @iterative
    def solve_natural(self, chi: Array) -> Array:
        return concentration_from_mean_log(chi)

    def stable_nll(self, eta: Array, x: Array) -> Array:
        """``nll`` from ``x_k / m_k - 1`` and ``sum_k x_k - 1`` (see ``nll``)."""
        mean = eta / jnp.sum(eta, axis=-1, keepdims=True)
        return nll(eta, (x - mean) / mean, jnp.log(x) - jnp.log(mean), jnp.sum(x, axis=-1) - 1.0)

    def stable_entropy(self, eta: Array) -> Array:
        return entropy(eta)

    def stable_kl(self, eta_p: Array, eta_q: Array) -> Array:
        return kl_divergence(eta_p, eta_q)

    def sufficient_statistics(self, x: Array) -> Array:
        return jnp.log(x)

    def log_carrier(self, x: Array) -> Array:
        return -jnp.sum(jnp.log(x), axis=-1)

    def is_natural_valid(self, eta: Array) -> Array:
        return jnp.all((eta > 0) & (eta < jnp.inf), axis=-1)

    def expected_log_carrier(self, eta: Array) -> Array:
        return -jnp.sum(mean_log(eta), axis=-1)

    def link(self, raw: Array) -> Array:
        """``a_k = positive(raw_k) = softplus(raw_k) + tiny``, coordinate-wise."""
        return constraints.positive(raw)

    def sample(self, key: Array, eta: Array, shape: tuple[int, ...] = ()) -> Array:
        return jax.random.dirichlet(key, eta, shape + eta.shape[:-1], eta.dtype)

    # -- summaries ---------------------------------------------------------------------------------
    def mean(self, eta: Array) -> Array:
        """``a / a0``."""
        return eta / jnp.sum(eta, axis=-1, keepdims=True)

    def mode(self, eta: Array) -> Array:
        """``w / sum(w)`` with ``w_k = max(a_k - 1, 0)``: ``(a - 1) / (a0 - K)`` when every ``a_k > 1``;
        a coordinate with ``a_k <= 1`` sits at 0 (the density is unbounded, or flat, towards that
        face). With every ``a_k <= 1``, the vertex of the largest ``a_k`` (the last of equal ones), the
        corner where the density diverges fastest (as Beta's convention for ``K = 2``)."""
        excess = jnp.maximum(eta - 1.0, 0.0)
        total = jnp.sum(excess, axis=-1, keepdims=True)
        last_largest = self.num_classes - 1 - jnp.argmax(eta[..., ::-1], axis=-1)
        vertex = jax.nn.one_hot(last_largest, self.num_classes, dtype=eta.dtype)
        return jnp.where(total > 0, excess / jnp.where(total > 0, total, 1.0), vertex)

    def covariance(self, eta: Array) -> Array:
        """``(diag(m) - m m^T) / (a0 + 1)`` with ``m = a / a0``."""
        total = jnp.sum(eta, axis=-1)
        m = eta / total[..., None]
        diagonal = jnp.vectorize(jnp.diag, signature="(k)->(k,k)")(m)
        return (diagonal - m[..., :, None] * m[..., None, :]) / (total + 1.0)[..., None, None]
