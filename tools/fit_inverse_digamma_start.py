"""Fit the correction of ``expfam._numerics.special.approximate_inverse_digamma`` (run once; prints tuples).

Minka's start ``s = exp(y) + 1/2`` (``y >= -2.22``) or ``s = -1 / (y + gamma)`` (below) misses
``x = digamma^{-1}(y)`` by up to 35%; ``log(x / s) = w^2 p(w)`` with ``w = 1/s`` above and
``w = s`` below (both forms are exact to O(w^2)). ``p`` is fitted by least squares on 60,000
log-spaced x in [1e-6, 1e7], y = scipy's digamma(x); printed highest power first.
"""

from __future__ import annotations

import numpy as np
from scipy.special import digamma

EULER_GAMMA = 0.5772156649015329

x = np.exp(np.linspace(np.log(1e-6), np.log(1e7), 60_000))
y = digamma(x)
above = y >= -2.22
start = np.where(above, np.exp(np.minimum(y, 700.0)) + 0.5, -1.0 / (np.minimum(y, -2.22) + EULER_GAMMA))
log_ratio = np.log(x / start)
for name, rows, w, degree in (("ABOVE", above, 1.0 / start, 7), ("BELOW", ~above, start, 5)):
    basis = np.stack([w[rows] ** (k + 2) for k in range(degree + 1)], axis=1)
    p, *_ = np.linalg.lstsq(basis, log_ratio[rows], rcond=None)
    error = np.max(np.abs(basis @ p - log_ratio[rows]))
    print(f"# max error {error:.1e}")
    print(f"_START_CORRECTION_{name} = (" + ", ".join(repr(float(c)) for c in p[::-1]) + ")")
