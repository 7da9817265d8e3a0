"""Strict test configuration shared by every test module.

* rank promotion raises, so no implicit broadcasting hides a shape bug;
* the ``dtype`` fixture runs a test in float32 and in float64 (``jax_enable_x64``);
* tolerances come from ``helpers.tolerance``;
* ``--family NAME`` (repeatable) keeps the tests of those family classes only (and the tests
  that run on no particular family);
* the ``slow`` marker: the high-precision, Monte Carlo, quadrature, example and sharding modules
  and the modules about non-quick families (``SLOW_MODULES``), the command-line tests that train,
  and every test of a family that is not one of ``helpers.QUICK`` (Gamma and Categorical: a scalar
  family with special functions and a label family); ``pytest -m "not slow"`` leaves them out (a
  quick loop: the family-independent tests and the quick families in every check; ``--family NAME``
  runs every check of one family; every mode of every ``helpers.REPRESENTATIVES`` runs in full);
* compiled programs go through JAX's persistent compilation cache in ``.jax-test-cache/``
  (git-ignored, never evicted): the two xdist workers compile a program once between them, programs
  freed by ``jax.clear_caches`` below come back from disk, and a second run reads what the first
  compiled.
  Compilation is most of the suite's time; a fresh clone starts with an empty cache.
"""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterator

import jax
import pytest
from helpers import quick

import expfam

jax.config.update("jax_numpy_rank_promotion", "raise")

#: The persistent compilation cache: every program, however quick to compile, without eviction (the
#: suite writes ~100 MB; delete the folder to reclaim it). A size limit would make JAX lock the folder
#: and list and stat every file in it on each write: quadratic in the number of programs, it kept the
#: two workers waiting on each other (3,000 programs in: ~0.2-2 s a write).
jax.config.update("jax_compilation_cache_dir", str(pathlib.Path(__file__).resolve().parent.parent / ".jax-test-cache"))
jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
jax.config.update("jax_compilation_cache_max_size", -1)


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


#: Modules whose tests are marked ``slow``: high precision, Monte Carlo, examples, sharding, and the
#: modules about families that are not ``helpers.QUICK`` (Bessel functions and the directional
#: families; the multivariate normals, Wishart and Multinomial).
SLOW_MODULES = {
    "test_accuracy",
    "test_examples",
    "test_sharding",
    "test_calibration",
    "test_bessel",
    "test_directional",
    "test_multivariate",
}


_last_family: list[type] = []

#: A worker frees JAX's compiled programs when it moves on to another family once its process has
#: this many memory mappings: every executable maps its own code, and a worker that kept every
#: program of the suite approached the kernel's limit (vm.max_map_count, 65530 by default) and
#: aborted inside XLA's compiler. Below it, programs shared by families (eager primitives) stay.
MAX_MAPPINGS = 25_000


def _mappings() -> int:
    try:
        with open(f"/proc/{os.getpid()}/maps") as maps:
            return sum(1 for _ in maps)
    except OSError:  # not Linux
        return 0


def pytest_runtest_setup(item: pytest.Item) -> None:
    family = _family_of(item)
    if family is None:
        return
    if _last_family and _last_family[0] is not type(family) and _mappings() > MAX_MAPPINGS:
        jax.clear_caches()
    _last_family[:] = [type(family)]


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--family", action="append", default=[], help="only the tests of this family class (repeatable)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "slow: high-precision, Monte Carlo, example, CLI and sharding tests")


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark the slow modules, keep ``--family`` selections, and group each family's tests on one xdist
    worker (``--dist loadgroup``): what a family compiles is then compiled once, not once per worker.
    (First among the hooks: xdist's worker reads the ``xdist_group`` marks in its own hook.)"""
    wanted = set(config.getoption("family"))
    kept, dropped = [], []
    for item in items:
        family = _family_of(item)
        if item.module.__name__ in SLOW_MODULES or (family is not None and not quick(family)):
            item.add_marker(pytest.mark.slow)
        if wanted and family is not None and type(family).__name__ not in wanted:
            dropped.append(item)
            continue
        kept.append(item)
        if family is not None:
            item.add_marker(pytest.mark.xdist_group(type(family).__name__))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept
