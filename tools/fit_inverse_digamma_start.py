"""Fit the correction of ``expfam._numerics.special.approximate_inverse_digamma`` (run once; prints tuples).

Minka's start ``s = exp(y) + 1/2`` (``y >= -2.22``) or ``s = -1 / (y + gamma)`` (below) misses
``x = digamma^{-1}(y)`` by up to 35%; ``x / s - 1 = w^2 q(w)`` with ``w = 1/s`` above and
``w = s`` below (both forms are exact to O(w^2)). ``q`` (degree 9 above, 7 below) is fitted by
least squares in the relative error of x on 200,000 log-spaced x in [1e-6, 1e7], y = scipy's
digamma(x); printed highest power first, with the largest relative error of the fitted start.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

EULER_GAMMA = 0.5772156649015329

x = np.exp(np.linspace(np.log(1e-6), np.log(1e7), 200_000))
y = digamma(x)
above = y >= -2.22
start = np.where(above, np.exp(np.minimum(y, 700.0)) + 0.5, -1.0 / (np.minimum(y, -2.22) + EULER_GAMMA))
excess = x / start - 1.0
for name, rows, w, degree in (("ABOVE", above, 1.0 / start, 9), ("BELOW", ~above, start, 7)):
    basis = np.stack([w[rows] ** (k + 2) for k in range(degree + 1)], axis=1)
    weight = 1.0 / (1.0 + excess[rows])  # (s (1 + w^2 q) - x) / x = (w^2 q - excess) / (1 + excess)
    q, *_ = np.linalg.lstsq(basis * weight[:, None], excess[rows] * weight, rcond=None)
    error = np.max(np.abs((basis @ q - excess[rows]) * weight))
    print(f"# max relative error {error:.1e}")
    print(f"_START_CORRECTION_{name} = (" + ", ".join(repr(float(c)) for c in q[::-1]) + ")")
