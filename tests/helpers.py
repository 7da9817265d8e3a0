"""Helpers shared by the tests: one tolerance per dtype, and relative-error measures."""

from __future__ import annotations

import numpy as np

#: Relative tolerance for a quantity computed two ways in floating point.
_RTOL = {"float32": 2e-4, "float64": 1e-10}


def tolerance(dtype: str | np.dtype, loose: float = 1.0) -> float:
    """Relative tolerance for ``dtype``, optionally loosened by a documented factor."""
    return _RTOL[np.dtype(dtype).name] * loose


def assert_close(actual, expected, dtype, loose: float = 1.0, floor: float = 0.0) -> None:
    """Norm-wise relative comparison: ``max|a - e| <= tol * max(max|e|, floor)``."""
    a = np.asarray(actual, np.float64)
    e = np.asarray(expected, np.float64)
    assert a.shape == e.shape, (a.shape, e.shape)
    assert np.all(np.isfinite(a)), a
    scale = max(float(np.max(np.abs(e), initial=0.0)), floor, np.finfo(np.float64).tiny)
    error = float(np.max(np.abs(a - e), initial=0.0)) / scale
    assert error <= tolerance(dtype, loose), f"relative error {error:.2e} > {tolerance(dtype, loose):.1e}\n{a}\n{e}"
