"""The examples' fast modes run, and their numbers show what each example claims."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run_fast(name: str) -> dict[str, float]:
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None
    assert spec.loader is not None
    module: ModuleType = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.main(["--fast"])


def test_classification():
    results = run_fast("classification")
    assert results["test accuracy"] > 0.9
    assert results["max |expfam - optax|"] < 1e-5


def test_gaussian():
    results = run_fast("gaussian")
    assert results["fixed variance: max relative |grad nll - grad mse / (2 v)|"] < 1e-5
    assert results["learned scale: mean relative error"] < 0.15
    assert abs(results["coverage 90% heteroscedastic"] - 0.9) < 0.02
    assert abs(results["coverage 50% heteroscedastic"] - 0.5) < 0.03
    assert results["coverage 90% mse, |x| < 0.3"] > 0.97  # one variance: far too wide where noise is low
    assert results["test nll heteroscedastic"] < results["test nll mse (one variance)"] - 0.2


def test_gamma_regression():
    results = run_fast("gamma_regression")
    assert results["shape error"] < 0.15
    assert results["rate error"] < 0.15
    assert results["mean error"] < 0.05
    assert results["test nll"] < results["test nll, true parameters"] + 0.02
    assert results["test nll"] < results["test nll, unconditional MLE"] - 0.05


def test_heavy_tail():
    results = run_fast("heavy_tail")
    assert results["P(y > q0.99) lognormal"] == pytest.approx(0.01, abs=0.003)
    assert results["P(y > q0.999) lognormal"] == pytest.approx(0.001, abs=0.001)
    assert results["P(y > q0.999) mse"] > 5 * 0.001  # the Gaussian misses the tail
    assert results["test nll lognormal"] < results["test nll mse (gaussian)"]


def test_ce_is_ml():
    results = run_fast("ce_is_ml")
    assert {name.split("(")[0] for name in results} == {"Categorical", "Normal", "Pareto"}
    assert max(results.values()) < 1e-4


def test_distillation():
    results = run_fast("distillation")
    for family in ("Categorical", "Gamma"):
        assert results[f"{family} KL from distributions"] < 0.2 * results[f"{family} KL from samples"]


def test_flax_head():
    pytest.importorskip("flax")
    results = run_fast("flax_head")
    assert results["final loss"] < results["initial loss"] - 0.3


def test_equinox_head():
    pytest.importorskip("equinox")
    results = run_fast("equinox_head")
    assert results["final loss"] < results["initial loss"] - 0.3


def test_natural_gradient_fit():
    results = run_fast("natural_gradient_fit")
    for name in ("natural gradient", "mirror descent"):  # five Newton / mirror steps reach the MLE
        assert abs(results[name] - results["maximum likelihood"]) < 1e-5
    assert results["gradient descent"] > results["maximum likelihood"] + 0.05
