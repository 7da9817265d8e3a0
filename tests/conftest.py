"""Strict test configuration shared by every test module.

* rank promotion raises, so no implicit broadcasting hides a shape bug;
* the ``dtype`` fixture runs a test in float32 and in float64 (``jax_enable_x64``);
* tolerances come from ``helpers.tolerance``.
"""

from __future__ import annotations

from collections.abc import Iterator

import jax
import pytest

import expfam

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


def _family_of(item: pytest.Item) -> object | None:
    """The family a parametrized test runs on (a ``Case``/``Entry`` parameter or a family itself)."""
    callspec = getattr(item, "callspec", None)
    for value in callspec.params.values() if callspec else ():
        family = getattr(value, "family", value)
        if isinstance(family, expfam.ExponentialFamily):
            return family
    return None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Group each family's tests on one xdist worker (``--dist loadgroup``): what a family compiles
    is then compiled once, not once per worker."""
    for item in items:
        family = _family_of(item)
        if family is not None:
            item.add_marker(pytest.mark.xdist_group(type(family).__name__))
