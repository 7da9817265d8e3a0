"""``python -m expfam fit`` end to end on the shipped data, and its errors on bad input."""

from __future__ import annotations

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from expfam.cli import main

ROOT = Path(__file__).resolve().parent.parent
SHIPPED = ROOT / "expfam" / "cli" / "data" / "claims.csv"


def test_shipped_data_is_reproducible(tmp_path):
    spec = importlib.util.spec_from_file_location("make_default_data", SHIPPED.with_name("make_default_data.py"))
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.write(tmp_path / "claims.csv")
    assert (tmp_path / "claims.csv").read_bytes() == SHIPPED.read_bytes()
    assert SHIPPED.stat().st_size < 300_000


def true_validation_nll(seed: int, fraction: float) -> float:
    """NLL of the generating Gamma (formulas of make_default_data.py) on the CLI's validation rows."""
    age, vehicle_age, value, urban, y = np.loadtxt(SHIPPED, delimiter=",", skiprows=1).T
    log_mean = 7.6 + 0.6 * np.exp(-(age - 18) / 8) + 0.35 * np.log(value / 20) - 0.02 * vehicle_age + 0.25 * urban
    shape = 2.5 - 1.2 * urban
    val = np.random.default_rng(seed).permutation(y.size)[: round(fraction * y.size)]
    return float(-np.mean(stats.gamma.logpdf(y[val], shape[val], scale=np.exp(log_mean[val]) / shape[val])))


def test_fit_on_shipped_data(tmp_path, capsys):
    out = tmp_path / "fit.npz"
    assert main(["fit", "--epochs", "40", "--hidden", "16,16", "--learning-rate", "1e-2", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "validation NLL per row" in printed.out
    assert "PIT histogram" in printed.out
    assert "epoch 40/40" in printed.err
    saved = np.load(out)
    assert str(saved["family"]) == "Gamma()"
    assert list(saved["features"]) == ["driver_age", "vehicle_age", "vehicle_value", "urban"]
    assert saved["layer0_w"].shape == (4, 16)
    assert saved["layer2_w"].shape == (16, 2)
    assert saved["history"].shape == (40, 2)
    # Better than the unconditional fit, and close to the generating distribution.
    truth = true_validation_nll(0, 0.2)
    assert float(saved["val_nll"]) < float(saved["baseline_nll"]) - 0.05
    assert float(saved["val_nll"]) < truth + 0.03
    assert abs(float(saved["pit_histogram"].sum()) - 1.0) < 1e-6
    assert abs(float(saved["coverage_50"]) - 0.5) < 0.06
    assert abs(float(saved["coverage_90"]) - 0.9) < 0.04


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


GOOD = "x,z,y\n1,0.5,2.0\n2,0.1,3.5\n3,0.7,1.0\n4,0.2,0.5\n5,0.9,4.0\n"


@pytest.mark.parametrize(
    ("text", "extra", "message"),
    [
        (GOOD, ["--target", "price"], r"no column 'price'; the columns are x, z, y"),
        (GOOD, ["--target", "y", "--features", "x,w"], r"no column 'w'"),
        (
            "x,y\n1,2.0\n2,abc\n3,\n",
            ["--target", "y"],
            r"2 values are not finite numbers: line 3 column 'y': 'abc'; line 4",
        ),
        (
            "x,y\n1,2.0\n2,-1.0\n3,0.0\n4,1.0\n",
            ["--target", "y"],
            r"2 targets outside the support of Gamma\(\) \(x > 0\): line 3 \(-1\), line 4 \(0\)",
        ),
        ("x,y\n", ["--target", "y"], r"needs a header row and at least one data row"),
        (GOOD, ["--target", "y", "--family", "Pareto", "--family-arg", "scale=2"], r"Pareto has no setting 'scale'"),
        (GOOD, ["--target", "y", "--family", "Categorical"], r"Categorical needs --family-arg for num_classes"),
        (
            GOOD,
            ["--target", "y", "--family", "Poisson"],
            r"2 targets outside the support of Poisson\(\) .*: line 3 \(3.5\), line 5 \(0.5\)",
        ),
    ],
    ids=[
        "missing target",
        "missing feature",
        "non-numeric",
        "outside support",
        "empty",
        "bad setting",
        "missing setting",
        "non-integer counts",
    ],
)
def test_bad_input_gives_a_clear_error(tmp_path, capsys, text, extra, message):
    family = [] if "--family" in extra else ["--family", "Gamma"]
    args = ["fit", "--data", str(write_csv(tmp_path / "data.csv", text)), *family, *extra, "--epochs", "1"]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert err.startswith("expfam fit: error: ")
    assert re.search(message, err), err


def test_unknown_family_and_missing_target(tmp_path, capsys):
    data = str(write_csv(tmp_path / "data.csv", GOOD))
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--data", data, "--target", "y", "--family", "Gaussian"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'Gaussian'" in capsys.readouterr().err
    assert main(["fit", "--data", data, "--family", "Gamma"]) == 1
    assert "--target and --family are required with --data" in capsys.readouterr().err


def test_categorical_labels_from_a_csv(tmp_path, capsys):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 2))
    labels = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0).astype(int)
    rows = "\n".join(f"{a:.3f},{b:.3f},{c}" for (a, b), c in zip(x, labels, strict=True))
    data = write_csv(tmp_path / "labels.csv", "a,b,label\n" + rows + "\n")
    args = ["fit", "--data", str(data), "--target", "label", "--family", "Categorical", "--family-arg", "num_classes=3"]
    assert main([*args, "--epochs", "20", "--out", str(tmp_path / "c.npz")]) == 0
    out = capsys.readouterr().out
    assert "Categorical(num_classes=3) has no CDF" in out
    saved = np.load(tmp_path / "c.npz")
    assert float(saved["val_nll"]) < float(saved["baseline_nll"])


def test_command_line_entry_point(tmp_path):
    data = write_csv(tmp_path / "data.csv", "x,y\n1,2.0\n2,-1.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "expfam", "fit", "--data", str(data), "--target", "y", "--family", "Exponential"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert "outside the support of Exponential() (x >= 0): line 3 (-1)" in result.stderr


@pytest.mark.parametrize(
    ("family", "settings", "draw"),
    [
        # a continuous family with a setting: Weibull(shape 2) with scale exp(x / 2)
        ("Weibull", ["--family-arg", "shape=2"], lambda rng, x: np.exp(x / 2) * rng.weibull(2.0, x.size)),
        # a count family: Geometric with mean exp(x) (p = mean / (1 + mean))
        ("Geometric", [], lambda rng, x: rng.geometric(1.0 / (1.0 + np.exp(x))) - 1.0),
    ],
)
def test_newer_scalar_families_through_the_command_line(tmp_path, capsys, family, settings, draw):
    """Families beyond the first nine fit through ``--family``, with their calibration (every
    univariate family has a CDF); Geometric's PIT is randomized (a discrete support)."""
    rng = np.random.default_rng(1)
    x = rng.normal(size=300)
    y = draw(rng, x)
    data = write_csv(tmp_path / "d.csv", "x,y\n" + "\n".join(f"{a:.4f},{b:.6g}" for a, b in zip(x, y, strict=True)))
    args = ["fit", "--data", str(data), "--target", "y", "--family", family, *settings, "--hidden", "8"]
    assert main([*args, "--epochs", "30", "--learning-rate", "1e-2", "--out", str(tmp_path / "f.npz")]) == 0
    out = capsys.readouterr().out
    assert "has no CDF" not in out
    assert ("randomized PIT" in out) == (family == "Geometric")
    saved = np.load(tmp_path / "f.npz")
    assert float(saved["val_nll"]) < float(saved["baseline_nll"])
