"""``python -m expfam fit | predict`` end to end, and every class of bad input.

The error tests run the command line in-process (``main([...])``) and check the contract of a
user error: a non-zero exit status, exactly one line on stderr, no output file, and no training
started (``train`` is replaced by a function that fails the test). The tests that train are
marked slow.
"""

from __future__ import annotations

import dataclasses
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import jax.numpy as jnp
import numpy as np
import pytest
from scipy import stats

import expfam
from expfam.cli import fit, load_fit, main, predict
from expfam.cli.arguments import InputError
from expfam.cli.files import parse_table, write_atomically
from expfam.cli.mlp import init_mlp
from expfam.cli.saved import SavedFit, save_arrays

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


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def read_predictions(path: Path) -> dict[str, np.ndarray]:
    header, *rows = path.read_text().splitlines()
    values = np.array([[float(v) for v in row.split(",")] for row in rows])
    return dict(zip(header.split(","), values.T, strict=True))


@pytest.mark.slow
def test_fit_on_shipped_data_then_predict(tmp_path, capsys):
    out = tmp_path / "fit"  # no suffix: the file is written exactly here, as printed
    assert main(["fit", "--epochs", "40", "--hidden", "16,16", "--learning-rate", "1e-2", "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert "validation NLL per row" in printed.out
    assert "PIT histogram" in printed.out
    assert "epoch 40/40" in printed.err
    assert f"saved the fit to {out}\n" in printed.out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fit", "fit.png"][: 1 + ("saved the plot" in printed.out)]
    saved = load_fit(out)
    assert saved.family == expfam.Gamma()
    assert saved.head == "canonical"
    assert saved.features == ("driver_age", "vehicle_age", "vehicle_value", "urban")
    assert [w.shape for w, _ in saved.params] == [(4, 16), (16, 16), (16, 2)]
    assert saved.report["history"].shape == (40, 2)
    # Better than the unconditional fit, and close to the generating distribution.
    truth = true_validation_nll(0, 0.2)
    assert float(saved.report["val_nll"]) < float(saved.report["baseline_nll"]) - 0.05
    assert float(saved.report["val_nll"]) < truth + 0.03
    assert abs(float(saved.report["pit_histogram"].sum()) - 1.0) < 1e-6
    assert abs(float(saved.report["coverage_50"]) - 0.5) < 0.06
    assert abs(float(saved.report["coverage_90"]) - 0.9) < 0.04

    # predict: the Gamma's parameters, mean and log-density against scipy, for every shipped row.
    predictions = tmp_path / "predictions.csv"
    assert main(["predict", str(out), str(SHIPPED), "--out", str(predictions)]) == 0
    assert f"saved the predictions to {predictions}" in capsys.readouterr().out
    columns = read_predictions(predictions)
    assert list(columns) == ["shape", "rate", "mean", "log_prob"]
    *_, y = np.loadtxt(SHIPPED, delimiter=",", skiprows=1).T
    shape, rate = columns["shape"], columns["rate"]
    np.testing.assert_allclose(columns["mean"], shape / rate, rtol=1e-5)
    np.testing.assert_allclose(columns["log_prob"], stats.gamma.logpdf(y, shape, scale=1 / rate), rtol=1e-5, atol=1e-5)
    val = np.random.default_rng(0).permutation(y.size)[: round(0.2 * y.size)]
    np.testing.assert_allclose(-np.mean(columns["log_prob"][val]), float(saved.report["val_nll"]), rtol=1e-5)


def simple_problem(path: Path, family: str, n: int, offset: float = 0.0, unit: float = 1.0) -> np.ndarray:
    """A CSV of features x1, x2 and a target y from a known family; returns the true log-density of each row."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.uniform(-2, 2, n), rng.uniform(-2, 2, n)
    if family == "Normal":
        loc, scale = offset + unit * (1.0 + np.sin(x1) + 0.5 * x2), unit * np.exp(-0.5 + 0.4 * x2)
        y = rng.normal(loc, scale)
        log_density = stats.norm.logpdf(y, loc, scale)
    else:
        mean, shape = np.exp(1.0 + 0.5 * np.sin(x1) + 0.3 * x2), np.exp(0.7 + 0.3 * x1)
        y = rng.gamma(shape, mean / shape)
        log_density = stats.gamma.logpdf(y, shape, scale=mean / shape)
    np.savetxt(path, np.column_stack([x1, x2, y]), delimiter=",", header="x1,x2,y", comments="", fmt="%.8g")
    return log_density


@pytest.mark.slow
@pytest.mark.parametrize(("family", "offset", "unit"), [("Normal", 100.0, 10.0), ("Gamma", 0.0, 1.0)])
def test_default_head_trains_close_to_the_generator(tmp_path, capsys, family, offset, unit):
    """The default head of a heteroscedastic Normal (source link, scaled outputs) comes within 0.025
    nats per validation row of the true generator, like the Gamma's, whatever the target's offset and
    units (measured 0.013; the unscaled canonical head it replaces ended 0.046 above it here)."""
    log_density = simple_problem(tmp_path / "d.csv", family, 4000, offset, unit)
    out = tmp_path / "f.npz"
    args = ["fit", "--data", str(tmp_path / "d.csv"), "--target", "y", "--family", family, "--out", str(out)]
    assert main(args) == 0
    capsys.readouterr()
    saved = load_fit(out)
    val = np.random.default_rng(0).permutation(log_density.size)[:800]
    assert float(saved.report["val_nll"]) < -np.mean(log_density[val]) + 0.025


@pytest.fixture(scope="module")
def small_fit(tmp_path_factory) -> tuple[Path, Path, np.ndarray]:
    """An untrained Normal fit (MLP 2-4-2, source head) saved as ``fit`` saves it, data from a known
    Normal, and the true log-densities: what ``predict`` reads, without training."""
    folder = tmp_path_factory.mktemp("small")
    log_density = simple_problem(folder / "d.csv", "Normal", 200)
    x = np.loadtxt(folder / "d.csv", delimiter=",", skiprows=1)[:, :2]
    params = init_mlp(0, [2, 4, 2], output_scale=1.0)
    params[-1] = (params[-1][0], params[-1][1] + jnp.asarray([1.0, 0.5]))
    saved = SavedFit(expfam.Normal(), "source", ("x1", "x2"), ("y",), x.mean(0), x.std(0), params, {})
    np.savez(folder / "f.npz", **save_arrays(saved))
    return folder / "f.npz", folder / "d.csv", log_density


def test_predict_and_load_fit(small_fit, tmp_path, capsys):
    saved_path, data, _ = small_fit
    saved = load_fit(saved_path)
    assert (saved.family, saved.head, saved.target) == (expfam.Normal(), "source", ("y",))
    out = tmp_path / "p.csv"
    assert main(["predict", str(saved_path), str(data), "--out", str(out)]) == 0
    assert capsys.readouterr().out.endswith(f"saved the predictions to {out}\n")
    columns = read_predictions(out)
    assert list(columns) == ["loc", "scale", "mean", "log_prob"]
    x1, x2, y = np.loadtxt(data, delimiter=",", skiprows=1).T
    eta = saved.natural_parameters(np.column_stack([x1, x2]))
    source = saved.family.source_from_natural(eta)
    np.testing.assert_allclose(columns["loc"], source["loc"], rtol=1e-6)
    np.testing.assert_allclose(columns["scale"], source["scale"], rtol=1e-6)
    np.testing.assert_array_equal(columns["mean"], columns["loc"])
    np.testing.assert_allclose(columns["log_prob"], stats.norm.logpdf(y, columns["loc"], columns["scale"]), rtol=1e-5)
    # Without the target column: no log_prob; a BOM in front of the header is dropped.
    features_only = write_csv(tmp_path / "x.csv", "\ufeffx2,x1\n0.5,-1\n")
    assert main(["predict", str(saved_path), str(features_only), "--out", str(out)]) == 0
    columns = read_predictions(out)
    assert list(columns) == ["loc", "scale", "mean"]
    expected = saved.family.source_from_natural(saved.natural_parameters(np.array([[-1.0, 0.5]])))
    np.testing.assert_allclose(columns["loc"], expected["loc"], rtol=1e-6)


def test_predict_quantiles_and_refusal_without_a_quantile_function(small_fit, tmp_path, capsys, monkeypatch):
    """``--quantiles`` writes ``expfam.quantile`` per level; a family without one is a clear error."""
    saved_path, data, _ = small_fit
    out = tmp_path / "p.csv"
    assert main(["predict", str(saved_path), str(data), "--out", str(out), "--quantiles", "0.1,0.9"]) == 0
    columns = read_predictions(out)
    assert list(columns)[-3:] == ["quantile_0.1", "quantile_0.9", "log_prob"]
    for level in (0.1, 0.9):
        expected = stats.norm.ppf(level, columns["loc"], columns["scale"])
        np.testing.assert_allclose(columns[f"quantile_{level:g}"], expected, rtol=1e-5, atol=1e-5)
    monkeypatch.setattr(expfam.Normal, "provides", lambda self, name: name != "quantile")
    out.unlink()
    capsys.readouterr()
    assert main(["predict", str(saved_path), str(data), "--out", str(out), "--quantiles", "0.1,0.9"]) == 1
    assert "Normal() has no quantile function" in one_line(capsys)
    assert not out.exists()


def one_line(capsys) -> str:
    """The single line a user error prints on stderr (and nothing on stdout)."""
    printed = capsys.readouterr()
    assert printed.err.count("\n") == 1, printed.err
    assert "Traceback" not in printed.err
    assert printed.out == ""
    return printed.err


@pytest.fixture
def no_training(monkeypatch):
    """Errors must be found before training: training fails the test."""

    def train(*args, **kwargs):
        raise AssertionError("training started before the input was checked")

    monkeypatch.setattr(fit, "train", train)


GOOD = "x,z,y\n1,0.5,2.0\n2,0.1,3.5\n3,0.7,1.0\n4,0.2,0.5\n5,0.9,4.0\n"


@pytest.mark.parametrize(
    ("text", "extra", "status", "message"),
    [
        (GOOD, ["--target", "price"], 1, r"no column 'price'; the columns are x, z, y"),
        (GOOD, ["--target", "y", "--features", "x,w"], 1, r"no column 'w'"),
        ("x,y\n1,2.0\n2,abc\n3,\n", ["--target", "y"], 1, r"2 values are not finite numbers: line 3 column 'y': 'abc'"),
        (
            "x,y\n1,2.0\n\n2,-1.0\n3,0.0\n",
            ["--target", "y"],
            1,
            r"2 targets outside .*\(x > 0\): line 4 \(-1\), line 5",
        ),
        ("x,y\n", ["--target", "y"], 1, r"needs a header row and at least one data row"),
        (b"x,y\n1,2.0\n2,caf\xe9\n", ["--target", "y"], 1, r"not UTF-8 text \(byte 0xe9 on line 3\)"),
        (b"\xff\xfex\x00,\x00y\x00\n\x00", ["--target", "y"], 1, r"not UTF-8 text \(byte 0xff on line 1\)"),
        (
            "x,y\n1,2.0\n2,3.0,4\n3\n",
            ["--target", "y"],
            1,
            r"2 rows do not have the header's 2 fields: line 3 has 3; line 4",
        ),
        ("x,y,x\n1,2,3\n", ["--target", "y"], 1, r"the header names 'x' more than once"),
        ("x,,y\n1,2,3\n", ["--target", "y"], 1, r"header column 2 has no name"),
        ('x,y\n1,"2\n', ["--target", "y"], 1, r"line \d: unexpected end of data"),
        (GOOD, ["--target", "y", "--features", "x,y"], 1, r"--features lists the target column 'y'"),
        (GOOD, ["--target", "y,y"], 2, r"argument --target: 'y,y': 'y' listed twice"),
        (GOOD, ["--target", "y", "--features", "x,"], 2, r"argument --features: 'x,': a column name is empty"),
        (GOOD, ["--target", "y", "--hidden", "0"], 2, r"argument --hidden: '0': give positive layer sizes"),
        (GOOD, ["--target", "y", "--hidden", "8,,8"], 2, r"argument --hidden"),
        (GOOD, ["--target", "y", "--batch-size", "0"], 2, r"argument --batch-size: '0': give a positive integer"),
        (GOOD, ["--target", "y", "--epochs", "-3"], 2, r"argument --epochs"),
        (GOOD, ["--target", "y", "--seed", "-1"], 2, r"argument --seed: '-1': give an integer from 0 to 4294967295"),
        (GOOD, ["--target", "y", "--seed", "1.5"], 2, r"argument --seed: '1.5' is not an integer"),
        (GOOD, ["--target", "y", "--learning-rate", "0"], 2, r"argument --learning-rate: '0': give a positive number"),
        (GOOD, ["--target", "y", "--learning-rate", "-1e-3"], 2, r"argument --learning-rate"),
        (
            GOOD,
            ["--target", "y", "--learning-rate", "nan"],
            2,
            r"argument --learning-rate: 'nan': give a finite number",
        ),
        (GOOD, ["--target", "y", "--learning-rate", "inf"], 2, r"argument --learning-rate"),
        (GOOD, ["--target", "y", "--validation", "1"], 2, r"argument --validation"),
        (GOOD, ["--target", "y", "--family", "Gaussian"], 2, r"argument --family: invalid choice: 'Gaussian'"),
        (GOOD, ["--target", "y", "--family", "Pareto", "--family-arg", "scale=2"], 1, r"Pareto has no setting 'scale'"),
        (GOOD, ["--target", "y", "--family", "Weibull", "--family-arg", "shape"], 1, r"'shape': give NAME=VALUE"),
        (GOOD, ["--target", "y", "--family", "Weibull", "--family-arg", "shape=abc"], 1, r"'abc' is not a number"),
        (GOOD, ["--target", "y", "--family", "Weibull", "--family-arg", "shape=nan"], 1, r"'nan' is not a finite"),
        (
            GOOD,
            ["--target", "y", "--family", "Weibull", "--family-arg", "shape=-1"],
            1,
            r"Weibull\(shape=-1.0\): .*> 0",
        ),
        (
            GOOD,
            ["--target", "y", "--family", "Weibull", "--family-arg", "shape=1", "--family-arg", "shape=2"],
            1,
            r"shape is given twice",
        ),
        (GOOD, ["--target", "y", "--family", "Categorical"], 1, r"Categorical needs --family-arg for num_classes"),
        (
            GOOD,
            ["--target", "y", "--family", "Categorical", "--family-arg", "num_classes=2.5"],
            1,
            r"num_classes: '2.5' is not an integer",
        ),
        (
            GOOD,
            ["--target", "z,y", "--family", "Categorical", "--family-arg", "num_classes=2"],
            1,
            r"takes one --target column of integer class labels 0 to 1, not 2 columns",
        ),
        (GOOD, ["--target", "y", "--family", "Poisson"], 1, r"2 targets outside the support of Poisson\(\) .*line 3"),
        (
            "x,y\n1,2\n2,2\n3,2\n4,2\n5,2\n",
            ["--target", "y"],
            1,
            r"no unconditional fit of the training targets: Gamma\(\): the maximum-likelihood estimate does not exist",
        ),
        (GOOD, [], 1, r"--target and --family are required with --data"),
    ],
    ids=lambda value: value[:40] if isinstance(value, str) and not value.startswith("x") else "",
)
def test_bad_input_is_one_line_before_training(tmp_path, capsys, no_training, text, extra, status, message):
    data = tmp_path / "data.csv"
    data.write_bytes(text if isinstance(text, bytes) else text.encode())
    family = [] if "--family" in extra or not extra else ["--family", "Gamma"]
    out = tmp_path / "out" / "fit.npz"
    out.parent.mkdir()
    assert main(["fit", "--data", str(data), *family, *extra, "--out", str(out)]) == status
    err = one_line(capsys)
    assert err.startswith("expfam fit: error: " if status == 1 else "python -m expfam fit: error: ")
    assert re.search(message, err), err
    assert list(out.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("out", "message"),
    [
        ("missing/fit.npz", r"--out .*missing/fit.npz: the directory .*missing does not exist"),
        ("data.csv/fit.npz", r"the directory .*data.csv does not exist"),
        (".", r"--out .*: is a directory"),
        ("data.csv", r"--out .*data.csv: is an input of this command"),
    ],
)
def test_out_in_a_missing_directory(tmp_path, capsys, no_training, out, message):
    data = write_csv(tmp_path / "data.csv", GOOD)
    assert main(["fit", "--data", str(data), "--target", "y", "--family", "Gamma", "--out", str(tmp_path / out)]) == 1
    assert re.search(message, one_line(capsys))
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]


def test_out_in_an_unwritable_directory(tmp_path, capsys, no_training):
    data = write_csv(tmp_path / "data.csv", GOOD)
    if os.geteuid() == 0:  # root writes anywhere a file system allows: take one that does not
        directory = Path("/proc")
        if not directory.is_dir():
            pytest.skip("running as root without /proc")
    else:
        directory = tmp_path / "locked"
        directory.mkdir(mode=0o500)
    args = ["fit", "--data", str(data), "--target", "y", "--family", "Gamma", "--out", str(directory / "fit.npz")]
    assert main(args) == 1
    assert f"cannot write in {directory}" in one_line(capsys)


def test_predict_errors(small_fit, tmp_path, capsys):
    saved_path, data, _ = small_fit
    out = tmp_path / "p.csv"
    not_a_fit = write_csv(tmp_path / "x.npz", "x\n")
    cases = [
        ([str(tmp_path / "missing.npz"), str(data)], 1, "cannot read a saved fit from .*missing.npz"),
        ([str(not_a_fit), str(data)], 1, r"x.npz: not an .npz file"),
        ([str(saved_path), str(write_csv(tmp_path / "d.csv", "x1,y\n1,2\n"))], 1, r"no column 'x2'"),
        ([str(saved_path), str(data), "--quantiles", "0.5,1.5"], 2, r"argument --quantiles: '1.5'"),
        ([str(saved_path), str(data), "--quantiles", "0.5,0.5"], 2, r"a level is listed twice"),
        ([str(saved_path), str(write_csv(tmp_path / "t.csv", "x1,x2,y\n0,0,inf\n"))], 1, r"line 2 column 'y': 'inf'"),
        ([str(saved_path), str(data), "--out", str(tmp_path / "no" / "p.csv")], 1, r"does not exist"),
        ([str(saved_path), str(data), "--out", str(saved_path)], 1, r"is an input of this command"),
        ([str(saved_path), str(data), "--out", str(data)], 1, r"is an input of this command"),
    ]
    for args, status, message in cases:
        assert main(["predict", *args] + ([] if "--out" in args else ["--out", str(out)])) == status
        assert re.search(message, one_line(capsys))
        assert not out.exists()


def test_predict_log_prob_outside_the_support_is_minus_inf(small_fit, tmp_path, capsys, monkeypatch):
    """Predicting is not fitting: a target outside the support has log-probability -inf, not an error."""
    saved_path, _, _ = small_fit
    gamma = dataclasses.replace(load_fit(saved_path), family=expfam.Gamma(), head="canonical")
    monkeypatch.setattr(predict, "load_fit", lambda path: gamma)
    out = tmp_path / "p.csv"
    assert (
        main(
            [
                "predict",
                str(saved_path),
                str(write_csv(tmp_path / "d.csv", "x1,x2,y\n0,0,-1\n0,0,2\n")),
                "--out",
                str(out),
            ]
        )
        == 0
    )
    columns = read_predictions(out)
    assert columns["log_prob"][0] == -np.inf
    expected = stats.gamma.logpdf(2.0, columns["shape"][1], scale=1 / columns["rate"][1])
    np.testing.assert_allclose(columns["log_prob"][1], expected, rtol=1e-5)


def test_no_command_and_a_fit_saved_before_the_head_was_recorded(small_fit, tmp_path, capsys):
    assert main([]) == 2
    assert "the following arguments are required: command" in one_line(capsys)
    saved_path, _, _ = small_fit
    with np.load(saved_path) as data:
        arrays = {key: data[key] for key in data.files if key != "head"}
    np.savez(tmp_path / "old.npz", **arrays)
    assert load_fit(tmp_path / "old.npz").head == "canonical"  # what every fit used then


def test_write_atomically_leaves_nothing_on_failure(tmp_path):
    first, second = tmp_path / "a.npz", tmp_path / "a.png"

    def fails(file):
        file.write(b"partial")
        raise OSError(28, "No space left on device", str(second))

    with pytest.raises(InputError, match=r"cannot write .*a.png: No space left on device"):
        write_atomically({first: lambda file: file.write(b"complete"), second: fails})
    assert list(tmp_path.iterdir()) == []
    write_atomically({first: lambda file: file.write(b"complete")})
    assert [p.name for p in tmp_path.iterdir()] == ["a.npz"]
    assert first.read_bytes() == b"complete"


def test_parse_table_reads_quoted_fields_and_skips_blank_lines():
    table = parse_table('a,"b, c"\n\n1,"2"\n \n3,4\n', "t.csv")
    assert table.header == ("a", "b, c")
    assert table.lines == (3, 5)
    np.testing.assert_array_equal(table.columns(["b, c"]), [[2.0], [4.0]])


def test_family_help_tells_its_default(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["fit", "--help"])
    assert exit_info.value.code == 0
    help_text = " ".join(capsys.readouterr().out.split())
    assert "required with --data (Gamma for the shipped data)" in help_text


@pytest.mark.slow
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
    saved = load_fit(tmp_path / "c.npz")
    assert float(saved.report["val_nll"]) < float(saved.report["baseline_nll"])
    # predict: probabilities per class, no mean (labels), log-probability of the label.
    assert main(["predict", str(tmp_path / "c.npz"), str(data), "--out", str(tmp_path / "p.csv")]) == 0
    columns = read_predictions(tmp_path / "p.csv")
    assert list(columns) == [*(f"probabilities_{k}" for k in range(3)), *(f"mean_{k}" for k in range(3)), "log_prob"]
    probabilities = np.column_stack([columns[f"probabilities_{k}"] for k in range(3)])
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    chosen = probabilities[np.arange(labels.size), labels]
    np.testing.assert_allclose(columns["log_prob"], np.log(chosen), rtol=1e-4, atol=1e-5)


def test_command_line_entry_point(tmp_path):
    """The one subprocess: ``python -m expfam`` exits with the status and the one-line message."""
    data = write_csv(tmp_path / "data.csv", "x,y\n1,2.0\n2,-1.0\n")
    result = subprocess.run(
        [sys.executable, "-m", "expfam", "fit", "--data", str(data), "--target", "y", "--family", "Exponential"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr == "expfam fit: error: " + (
        f"{data}: 1 targets outside the support of Exponential() (x >= 0): line 3 (-1)\n"
    )


@pytest.mark.slow
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
    saved = load_fit(tmp_path / "f.npz")
    assert float(saved.report["val_nll"]) < float(saved.report["baseline_nll"])
