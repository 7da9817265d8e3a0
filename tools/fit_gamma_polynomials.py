"""Fit the polynomials used by ``expfam/_gamma_functions.py`` (run once; prints Python tuples).

Each polynomial is a least-squares Chebyshev fit (``mpmath.chebyfit``, 60 digits) of a smooth
factor of the function on its reduced interval; the factors that vanish (lgamma at 1 and 2,
digamma at its root) are taken out so that the result keeps its relative accuracy there.

    lgamma(2 + t)  = t (t + 1) P(t),        t in [-1, 1]
    digamma(u)     = (u - 1 - c) Q(u - 3/2) + digamma(1 + c),   u in [1, 2]

where ``c`` is ``x0 - 1`` (``x0 = 1.4616...`` the root of digamma) rounded to the dtype, so that
``u - 1 - c`` is exact and ``digamma(1 + c)`` (below one ulp of the slope) is a plain constant:
no two-constant subtraction that XLA's simplifier could fold.
"""

from __future__ import annotations

import mpmath as mp
import numpy as np

mp.mp.dps = 60
ROOT = mp.findroot(mp.digamma, 1.4616)


def lgamma_factor(t):
    if abs(t) < mp.mpf("1e-40"):
        return mp.digamma(2)
    if abs(t + 1) < mp.mpf("1e-40"):
        return -mp.digamma(1)
    return mp.loggamma(2 + t) / (t * (t + 1))


def digamma_factor(c):
    def factor(t):
        y = mp.mpf("0.5") + t
        if abs(y - c) < mp.mpf("1e-40"):
            return mp.psi(1, 1 + c)
        return (mp.digamma(1 + y) - mp.digamma(1 + c)) / (y - c)

    return factor


def fit(name, f, interval, degree):
    coefficients, error = mp.chebyfit(f, interval, degree + 1, error=True)
    scale = min(abs(f(mp.mpf(interval[0]) + (interval[1] - interval[0]) * i / 64)) for i in range(1, 64))
    print(f"# {name}: degree {degree}, max relative error {float(error / scale):.1e}")
    print(f"{name} = (")
    for c in coefficients:
        print(f"    {mp.nstr(c, 20)},")
    print(")")


if __name__ == "__main__":
    for suffix, (dl, dd, dtype) in {"F32": (12, 10, np.float32), "F64": (27, 21, np.float64)}.items():
        fit(f"LGAMMA_{suffix}", lgamma_factor, [-1, 1], dl)
        c = mp.mpf(float(np.asarray(float(ROOT - 1), dtype)))
        fit(f"DIGAMMA_{suffix}", digamma_factor(c), [-0.5, 0.5], dd)
        print(f"DIGAMMA_ROOT_{suffix} = ({mp.nstr(c, 20)}, {mp.nstr(mp.digamma(1 + c), 20)})")
