"""Strict test configuration shared by every test module.

* rank promotion raises, so no implicit broadcasting hides a shape bug;
* the ``dtype`` fixture runs a test in float32 and in float64 (``jax_enable_x64``);
* tolerances come from ``helpers.tolerance``.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import pytest

jax.config.update("jax_numpy_rank_promotion", "raise")


@pytest.fixture(params=["float32", "float64"])
def dtype(request: pytest.FixtureRequest) -> Iterator[str]:
    """Run the test in float32 and, with ``jax_enable_x64``, in float64."""
    with jax.enable_x64(request.param == "float64"):
        yield request.param


@pytest.fixture
def x64() -> Iterator[None]:
    """Run the test in float64 only (for comparisons against high-precision references)."""
    with jax.enable_x64(True):
        yield
