"""``python -m expfam fit``: distributional regression of one CSV column on others.

An MLP maps the standardized features to unconstrained outputs, the family's canonical
link turns them into natural parameters, and the mean cross-entropy (negative
log-likelihood) is minimized with Adam. The head's bias starts at the unconditional
maximum-likelihood fit, so training starts from the baseline it is compared with. The
report gives the validation NLL of the model and of that baseline (``expfam.fit`` on the
training targets), and the calibration of the predictive distributions on the validation
set: the PIT histogram and the coverage of the central 50% and 90% intervals.

With no ``--data`` it fits a Gamma to ``claim_amount`` in the shipped ``claims.csv``
(see ``expfam/cli/data/make_default_data.py``).
"""

from __future__ import annotations

import argparse
import csv
import dataclasses
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam
from expfam.cli.mlp import Params, apply_mlp, init_mlp, train

DEFAULT_DATA = "claims.csv"
DEFAULT_TARGET = "claim_amount"
DEFAULT_FAMILY = "Gamma"
LEVELS = (0.5, 0.9)


class InputError(ValueError):
    """Bad input: reported as one clear message and exit status 1."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help=f"CSV file with a header row (default: the shipped {DEFAULT_DATA})")
    parser.add_argument(
        "--target", help=f"target column(s), comma-separated (default with the shipped data: {DEFAULT_TARGET})"
    )
    parser.add_argument("--features", help="feature columns, comma-separated (default: every other column)")
    parser.add_argument(
        "--family",
        choices=[cls.__name__ for cls in expfam.family_classes()],
        help=f"target distribution (default: {DEFAULT_FAMILY})",
    )
    parser.add_argument(
        "--family-arg", action="append", default=[], metavar="NAME=VALUE", help="family setting, e.g. minimum=1"
    )
    parser.add_argument("--hidden", default="32,32", help="hidden layer sizes, comma-separated (default: 32,32)")
    parser.add_argument("--epochs", type=int, default=50, help="passes over the training set (default: 50)")
    parser.add_argument("--batch-size", type=int, default=128, help="examples per Adam step (default: 128)")
    parser.add_argument("--learning-rate", type=float, default=3e-3, help="initial Adam step size (default: 3e-3)")
    parser.add_argument("--validation", type=float, default=0.2, help="validation fraction (default: 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split, the initialization and the shuffles")
    parser.add_argument(
        "--out", type=Path, default=Path("expfam_fit.npz"), help="saved parameters (default: %(default)s)"
    )


def main(args: argparse.Namespace) -> int:
    try:
        run(args)
    except InputError as error:
        print(f"expfam fit: error: {error}", file=sys.stderr)
        return 1
    return 0


# -- input ---------------------------------------------------------------------------------
def read_table(path: Path | None) -> tuple[str, list[str], list[list[str]]]:
    """The CSV's name, header and rows (the shipped dataset if path is None)."""
    if path is None:
        text = resources.files("expfam.cli").joinpath("data", DEFAULT_DATA).read_text()
        name = f"shipped {DEFAULT_DATA}"
    else:
        try:
            text = path.read_text()
        except OSError as error:
            raise InputError(f"cannot read {path}: {error.strerror}") from None
        name = str(path)
    lines = list(csv.reader(text.splitlines()))
    lines = [line for line in lines if line]
    if len(lines) < 2:
        raise InputError(f"{name}: needs a header row and at least one data row")
    return name, [h.strip() for h in lines[0]], lines[1:]


def columns(name: str, header: list[str], rows: list[list[str]], wanted: list[str]) -> np.ndarray:
    """The wanted columns as float64, shape (rows, len(wanted)); CSV line numbers in errors."""
    missing = [w for w in wanted if w not in header]
    if missing:
        raise InputError(f"{name}: no column {', '.join(map(repr, missing))}; the columns are {', '.join(header)}")
    index = [header.index(w) for w in wanted]
    values = np.empty((len(rows), len(wanted)))
    bad = []
    for r, row in enumerate(rows):
        for c, i in enumerate(index):
            cell = row[i].strip() if i < len(row) else ""
            try:
                values[r, c] = float(cell)
            except ValueError:
                values[r, c] = np.nan
            if not np.isfinite(values[r, c]):
                bad.append(f"line {r + 2} column {wanted[c]!r}: {cell!r}")
    if bad:
        raise InputError(f"{name}: {len(bad)} values are not finite numbers: {'; '.join(bad[:10])}")
    return values


def make_family(name: str, settings: list[str]) -> expfam.ExponentialFamily:
    """The catalogue family class ``name``, configured by ``NAME=VALUE`` settings."""
    cls = {cls.__name__: cls for cls in expfam.family_classes()}[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for setting in settings:
        key, _, value = setting.partition("=")
        if key not in fields:
            raise InputError(f"{name} has no setting {key!r}; its settings are {', '.join(fields) or 'none'}")
        try:
            kwargs[key] = int(value) if fields[key].type in ("int", int) else float(value)
        except ValueError:
            raise InputError(f"{name} setting {key}: {value!r} is not a number") from None
    needed = [f for f, spec in fields.items() if f not in kwargs and spec.default is dataclasses.MISSING]
    if needed:
        raise InputError(f"{name} needs --family-arg for {', '.join(needed)}")
    return cls(**kwargs)


def targets(family: expfam.ExponentialFamily, values: np.ndarray, name: str) -> jax.Array:
    """Targets as the family takes them: scalars, event vectors, or integer class labels."""
    if family.event_shape == ():
        if values.shape[1] != 1:
            raise InputError(f"{family.name} has scalar targets: give one --target column")
        y: jax.Array = jnp.asarray(values[:, 0], jnp.float32)
    elif values.shape[1] == 1:  # one column of integer labels (Categorical)
        if not np.all(values == np.round(values)):
            raise InputError(f"{family.name}: a single target column must hold integer labels")
        y = jnp.asarray(values[:, 0], jnp.int32)
    else:
        y = jnp.asarray(values.reshape((-1,) + family.event_shape), jnp.float32)
    outside = np.flatnonzero(np.isneginf(np.asarray(family.target(y).elc)))
    if outside.size:
        shown = ", ".join(f"line {i + 2} ({values[i, 0]:g})" for i in outside[:10])
        more = f" and {outside.size - 10} more" if outside.size > 10 else ""
        raise InputError(
            f"{name}: {outside.size} targets outside the support of {family.name} "
            f"({family.support.description}): {shown}{more}"
        )
    return y


# -- training --------------------------------------------------------------------------------
class Progress:
    """A text progress bar on stderr: redrawn in place on a terminal, every 10% otherwise."""

    def __init__(self, total: int, width: int = 30) -> None:
        self.total, self.width = total, width
        self.interactive = sys.stderr.isatty()

    def update(self, done: int, train_nll: float, val_nll: float) -> None:
        filled = self.width * done // self.total
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] epoch {done}/{self.total}"
        line += f"  train nll {train_nll:.4f}  validation nll {val_nll:.4f}"
        if self.interactive:
            sys.stderr.write("\r" + line + ("\n" if done == self.total else ""))
        elif done == self.total or done % max(1, self.total // 10) == 0:
            sys.stderr.write(line + "\n")
        sys.stderr.flush()


def constant_head(family: expfam.ExponentialFamily, target: expfam.Target, steps: int = 100) -> jax.Array:
    """Raw outputs b whose canonical link is the maximum-likelihood fit, by Gauss-Newton steps.

    The mean cross-entropy of a constant model is, up to a constant, ``g(link(b)) - chi . link(b)``
    with ``chi`` the mean target; its gradient in b is ``J^T (g'(link(b)) - chi)`` and its
    Gauss-Newton matrix ``J^T F J`` (J the link's Jacobian, F the Fisher information). Each
    step solves with that matrix (Jacobi-scaled, plus ``1e-6`` on the scaled diagonal for
    over-complete families such as the Categorical), which makes it independent of the
    target's units, and then takes the best of the step lengths ``1, 1/2, ..., 2^-29`` (or
    no step), so the objective never increases. At the fixed point ``g'(link(b)) = chi``.
    """
    chi = jnp.mean(target.chi, axis=0)
    eye = jnp.eye(family.num_natural, dtype=chi.dtype)
    fractions = 0.5 ** jnp.arange(30, dtype=chi.dtype)

    def objective(b: jax.Array) -> jax.Array:
        eta = family.link(b)
        value = family.log_normalizer(eta) - jnp.dot(chi, eta)
        return jnp.where(jnp.isnan(value), jnp.inf, value)

    def step(b: jax.Array) -> jax.Array:
        eta, jac = family.link(b), jax.jacfwd(family.link)(b)
        grad = jac.T @ (family.expectation(eta) - chi)
        gauss_newton = jac.T @ family.fisher(eta) @ jac
        scale = jnp.sqrt(jnp.diagonal(gauss_newton)) + jnp.finfo(b.dtype).tiny
        scaled = gauss_newton / (scale[:, None] * scale[None, :])
        delta = jnp.linalg.solve(scaled + 1e-6 * eye, grad / scale) / scale
        candidates = jnp.concatenate([b[None, :] - fractions[:, None] * delta[None, :], b[None, :]])
        return candidates[jnp.argmin(jax.vmap(objective)(candidates))]

    return jax.jit(lambda b: jax.lax.fori_loop(0, steps, lambda _, v: step(v), b))(
        jnp.zeros(family.num_natural, chi.dtype)
    )


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fit, report, save; returns the reported numbers."""
    if args.data is not None and (args.target is None or args.family is None):
        raise InputError("--target and --family are required with --data")
    name, header, rows = read_table(args.data)
    target_names = (args.target or DEFAULT_TARGET).split(",")
    feature_names = args.features.split(",") if args.features else [h for h in header if h not in target_names]
    if not feature_names:
        raise InputError(f"{name}: no feature columns left besides the target")
    family = make_family(args.family or DEFAULT_FAMILY, args.family_arg)
    try:
        hidden = [int(h) for h in args.hidden.split(",") if h]
    except ValueError:
        raise InputError(f"--hidden {args.hidden!r}: give layer sizes like 32,32") from None
    if args.epochs < 1 or not 0 < args.validation < 1:
        raise InputError("--epochs must be at least 1 and --validation strictly between 0 and 1")
    y = targets(family, columns(name, header, rows, target_names), name)
    x = columns(name, header, rows, feature_names)

    n = x.shape[0]
    order = np.random.default_rng(args.seed).permutation(n)
    n_val = round(args.validation * n)
    if n_val < 1 or n - n_val < 2:
        raise InputError(f"{name}: {n} rows are too few for a training/validation split")
    val, tr = order[:n_val], order[n_val:]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_std = jnp.asarray((x - mean) / std, jnp.float32)
    train_target, val_target = expfam.Target.from_samples(family, y[tr]), expfam.Target.from_samples(family, y[val])
    per_example = expfam.loss(family)
    keys = jax.random.split(jax.random.key(args.seed), 3)

    params: Params = init_mlp(args.seed, [x.shape[1], *hidden, family.num_natural])
    start, baseline_eta = constant_head(family, train_target), expfam.fit(family, y[tr])
    start_nll, fit_nll = (
        float(jnp.mean(expfam.cross_entropy(family, e, train_target))) for e in (family.link(start), baseline_eta)
    )
    if not start_nll <= fit_nll + 1e-3 * (1 + abs(fit_nll)):
        print(
            f"warning: the head starts at training NLL {start_nll:.4g}, not at the MLE's {fit_nll:.4g} (float32 "
            "conditioning); rescaling the target may help",
            file=sys.stderr,
        )
    params[-1] = (params[-1][0], start)
    val_nll = jax.jit(lambda p: jnp.mean(per_example(apply_mlp(p, x_std[val]), val_target)))
    history: list[tuple[float, float]] = []
    progress = Progress(args.epochs)

    def on_epoch(epoch: int, p: Params, train_nll: float) -> None:
        history.append((train_nll, float(val_nll(p))))
        progress.update(epoch + 1, *history[-1])

    def mean_loss(p: Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        return jnp.mean(per_example(apply_mlp(p, batch[0]), batch[1]))

    print(f"expfam fit: {family.name} for {', '.join(target_names)} on {', '.join(feature_names)} ({name})")
    print(f"{n - n_val} training rows, {n_val} validation rows; MLP {[x.shape[1], *hidden, family.num_natural]}")
    params = train(
        mean_loss,
        params,
        (x_std[tr], train_target),
        epochs=args.epochs,
        key=keys[1],
        batch_size=args.batch_size,
        learning_rate=args.learning_rate,
        on_epoch=on_epoch,
    )
    eta_val = family.link(apply_mlp(params, x_std[val]))
    model = per_example(apply_mlp(params, x_std[val]), val_target)
    baseline = expfam.cross_entropy(family, baseline_eta, val_target)
    report = summarize(family, eta_val, y[val], model, baseline, keys[2])
    report["history"] = np.asarray(history)
    save(args.out, params, report, family, feature_names, target_names, mean, std)
    return report


# -- output ----------------------------------------------------------------------------------
def summarize(
    family: expfam.ExponentialFamily,
    eta: jax.Array,
    y: jax.Array,
    model: jax.Array,
    baseline: jax.Array,
    key: jax.Array,
) -> dict[str, Any]:
    """Print the validation NLL against the baseline and the calibration; return the numbers."""
    difference = np.asarray(baseline - model, np.float64)
    report: dict[str, Any] = {
        "val_nll": float(jnp.mean(model)),
        "baseline_nll": float(jnp.mean(baseline)),
        "improvement_se": float(np.std(difference) / np.sqrt(difference.size)),
    }
    print(
        f"validation NLL per row: model {report['val_nll']:.4f}, unconditional MLE {report['baseline_nll']:.4f}", end=""
    )
    print(f" (improvement {np.mean(difference):.4f} +- {report['improvement_se']:.4f})")
    u = expfam.pit(family, eta, y, key) if family.event_shape == () else None
    if u is None:
        print(f"calibration: {family.name} has no CDF; PIT histogram and interval coverage skipped")
        return report
    randomized = " (randomized PIT: discrete family)" if family.support.discrete else ""
    report["pit_histogram"] = np.asarray(expfam.pit_histogram(u))
    print(f"calibration on the validation set{randomized}; PIT histogram, 10% per bin if calibrated:")
    for i, fraction in enumerate(report["pit_histogram"]):
        print(f"  {i / 10:.1f}-{(i + 1) / 10:.1f} {'#' * round(200 * fraction):<40} {fraction:6.1%}")
    for level in LEVELS:
        report[f"coverage_{round(100 * level)}"] = float(expfam.interval_coverage(u, level))
    coverage = ", ".join(f"{level:.0%} interval {report[f'coverage_{round(100 * level)}']:.1%}" for level in LEVELS)
    print(f"coverage of central intervals: {coverage}")
    return report


def save(
    out: Path,
    params: Params,
    report: dict[str, Any],
    family: expfam.ExponentialFamily,
    features: list[str],
    target: list[str],
    mean: np.ndarray,
    std: np.ndarray,
) -> None:
    """Write the parameters and the report to ``out`` (.npz) and, with matplotlib, a PNG beside it."""
    arrays: dict[str, Any] = {
        "family": family.name,
        "features": np.asarray(features),
        "target": np.asarray(target),
        "feature_mean": mean,
        "feature_std": std,
        **report,
    }
    for i, (w, b) in enumerate(params):
        arrays[f"layer{i}_w"], arrays[f"layer{i}_b"] = np.asarray(w), np.asarray(b)
    np.savez(out, **arrays)
    print(f"saved parameters and report to {out}")
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib is not installed: no plot")
        return
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(report["history"][:, 0], label="training")
    axes[0].plot(report["history"][:, 1], label="validation")
    axes[0].axhline(report["baseline_nll"], color="gray", linestyle="--", label="unconditional MLE")
    axes[0].set(xlabel="epoch", ylabel="NLL per row", title=family.name)
    axes[0].legend()
    if "pit_histogram" in report:
        axes[1].bar(np.arange(10) / 10, report["pit_histogram"], width=0.1, align="edge")
        axes[1].axhline(0.1, color="gray", linestyle="--")
    axes[1].set(xlabel="PIT", ylabel="fraction of validation rows", title="calibration")
    png = Path(out).with_suffix(".png")
    fig.savefig(png, dpi=100)
    plt.close(fig)
    print(f"saved plot to {png}")
