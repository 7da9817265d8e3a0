"""Compound (posterior-predictive) distributions: heavy-tailed and overdispersed losses.

These are not exponential families: each is an exponential family whose parameters are
integrated against their conjugate prior. Their log-probabilities are differentiable in every
parameter and usable as losses (``-log_prob``). Each returns -inf outside the support.

* Beta-Binomial: ``B(x + a, n - x + b) / B(a, b) * C(n, x)``;
* Dirichlet-Multinomial: ``n! Gamma(A) / Gamma(n + A) * prod_k Gamma(x_k + a_k) / (x_k! Gamma(a_k))``,
  ``A = sum a``;
* Negative-Binomial as a Gamma(shape a, rate b) mixture of Poissons:
  ``Gamma(x + a) / (x! Gamma(a)) * (b / (1 + b))^a (1 / (1 + b))^x``;
* Student-t: ``Gamma((v+1)/2) / (Gamma(v/2) sqrt(v pi) s) (1 + z^2 / v)^(-(v+1)/2)``, ``z = (x - m) / s``;
* multivariate Student-t with shape matrix S (d dims):
  ``Gamma((v+d)/2) / (Gamma(v/2) (v pi)^(d/2) |S|^(1/2)) (1 + r^T S^{-1} r / v)^(-(v+d)/2)``.
"""

from __future__ import annotations

import math
from typing import Any

import jax
import jax.numpy as jnp
from jax.scipy.special import gammaln

from expfam._core.family import Array, as_float
from expfam._numerics import special


def _is_count(x: Array, upper: Array | None = None) -> Array:
    inside = (x >= 0) & (x == jnp.floor(x)) & (x < jnp.inf)
    return inside if upper is None else inside & (x <= upper)


def beta_binomial_log_prob(x: Any, total_count: Any, alpha: Any, beta: Any) -> Array:
    """log P(x) for x successes in ``total_count`` trials with a Beta(alpha, beta) success probability."""
    x, n, a, b = jnp.broadcast_arrays(*map(as_float, (x, total_count, alpha, beta)))
    inside = _is_count(x, n)
    x = jnp.where(inside, x, 0.0)
    value = special.log_binomial(n, x) + special.lbeta(x + a, n - x + b) - special.lbeta(a, b)
    return jnp.where(inside, value, -jnp.inf)


def dirichlet_multinomial_log_prob(counts: Any, concentration: Any) -> Array:
    """log P(counts) for a Multinomial with a Dirichlet(concentration) probability vector (last axis)."""
    counts, a = as_float(counts), as_float(concentration)
    shape = jnp.broadcast_shapes(counts.shape, a.shape)
    counts, a = jnp.broadcast_to(counts, shape), jnp.broadcast_to(a, shape)
    inside = jnp.all(_is_count(counts), axis=-1)
    counts = jnp.where(inside[..., None], counts, 0.0)
    n, total = jnp.sum(counts, axis=-1), jnp.sum(a, axis=-1)
    per_class = gammaln(counts + a) - gammaln(counts + 1) - gammaln(a)
    value = gammaln(n + 1) + gammaln(total) - gammaln(n + total) + jnp.sum(per_class, axis=-1)
    return jnp.where(inside, value, -jnp.inf)


def negative_binomial_log_prob(x: Any, shape: Any, rate: Any) -> Array:
    """log P(x) for a Poisson count whose rate is Gamma(shape, rate): NB(r = shape, p = rate / (1 + rate)).

    Mean ``shape / rate``, variance ``mean (1 + 1 / rate)``: overdispersed for every finite rate.
    """
    x, a, b = jnp.broadcast_arrays(*map(as_float, (x, shape, rate)))
    inside = _is_count(x)
    x = jnp.where(inside, x, 0.0)
    # log(b / (1 + b)) = -log1p(1/b), log(1 / (1 + b)) = -log1p(b).
    value = gammaln(x + a) - gammaln(x + 1) - gammaln(a) - a * jnp.log1p(1 / b) - x * jnp.log1p(b)
    return jnp.where(inside, value, -jnp.inf)


def student_t_log_prob(x: Any, df: Any, loc: Any = 0.0, scale: Any = 1.0) -> Array:
    """log density of the Student-t with ``df`` degrees of freedom, location and scale."""
    x, v, m, s = jnp.broadcast_arrays(*map(as_float, (x, df, loc, scale)))
    z = (x - m) / s
    log_norm = gammaln(0.5 * (v + 1)) - gammaln(0.5 * v) - 0.5 * jnp.log(v * math.pi) - jnp.log(s)
    value = log_norm - 0.5 * (v + 1) * jnp.log1p(z * z / v)
    return jnp.where(jnp.isfinite(x), value, -jnp.inf)


def multivariate_student_t_log_prob(x: Any, df: Any, loc: Any, shape_matrix: Any) -> Array:
    """log density of the d-dimensional Student-t; x and loc (..., d), shape_matrix (..., d, d) SPD."""
    x, m, s, v = as_float(x), as_float(loc), as_float(shape_matrix), as_float(df)
    d = x.shape[-1]
    batch = jnp.broadcast_shapes(x.shape[:-1], m.shape[:-1], s.shape[:-2], v.shape)
    x, m = jnp.broadcast_to(x, batch + (d,)), jnp.broadcast_to(m, batch + (d,))
    s, v = jnp.broadcast_to(s, batch + (d, d)), jnp.broadcast_to(v, batch)
    chol = jnp.linalg.cholesky(s)
    white = jax.scipy.linalg.solve_triangular(chol, (x - m)[..., None], lower=True)[..., 0]
    log_det = 2 * jnp.sum(jnp.log(jnp.diagonal(chol, axis1=-2, axis2=-1)), axis=-1)
    log_norm = gammaln(0.5 * (v + d)) - gammaln(0.5 * v) - 0.5 * d * jnp.log(v * math.pi) - 0.5 * log_det
    value = log_norm - 0.5 * (v + d) * jnp.log1p(jnp.sum(white * white, axis=-1) / v)
    return jnp.where(jnp.all(jnp.isfinite(x), axis=-1), value, -jnp.inf)
