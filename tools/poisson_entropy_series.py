"""Fit the higher coefficients of the Poisson entropy expansion used by ``special.poisson_entropy``.

``H(r) = 1/2 log(2 pi e r) - 1/(12 r) - 1/(24 r^2) - 19/(360 r^3) - c4/r^4 - c5/r^5 - ...``:
the entropy is summed at 60 digits for r = 400 .. 12800, and ``r^4 (H - known terms)`` is
interpolated by a polynomial in 1/r. Prints c4 .. c9 (c4 = 9/80 = 0.1125, c5 = 863/2520).
"""

from __future__ import annotations

import mpmath as mp

mp.mp.dps = 60


def entropy(rate: int) -> mp.mpf:
    r = mp.mpf(rate)
    width = 80 * mp.sqrt(r)
    total = mp.mpf(0)
    for k in range(max(0, int(r - width)), int(r + width)):
        log_p = k * mp.log(r) - r - mp.loggamma(k + 1)
        total -= mp.exp(log_p) * log_p
    return total


if __name__ == "__main__":
    rates = [400, 800, 1600, 3200, 6400, 12800]
    rows = []
    for rate in rates:
        r = mp.mpf(rate)
        known = mp.log(2 * mp.pi * mp.e * r) / 2 - 1 / (12 * r) - 1 / (24 * r**2) - mp.mpf(19) / (360 * r**3)
        rows.append([1 / r**j for j in range(len(rates))] + [(entropy(rate) - known) * r**4])
    matrix = mp.matrix([row[:-1] for row in rows])
    coefficients = mp.lu_solve(matrix, mp.matrix([row[-1] for row in rows]))
    print([mp.nstr(-c, 10) for c in coefficients])
