"""``python -m expfam fit``: distributional regression of one CSV column on others.

An MLP maps the standardized features to unconstrained outputs, the head (``expfam.cli.head``:
the canonical link, or the source link for location-scale families, with outputs scaled by
the Gauss-Newton diagonal) turns them into natural parameters, and the mean cross-entropy
(negative log-likelihood) is minimized with Adam. The head's bias starts at the
unconditional maximum-likelihood fit, so training starts from the baseline it is compared
with. Every check of the input runs before training (``prepare``); the fit and its plot are
written atomically (``expfam.cli.files``) and read back by ``expfam.cli.load_fit``. The
report gives the validation NLL of the model and of that baseline (``expfam.fit`` on the
training targets), and the calibration of the predictive distributions on the validation
set: the PIT histogram and the coverage of the central 50% and 90% intervals.

With no ``--data`` it fits a Gamma to ``claim_amount`` in the shipped ``claims.csv``
(see ``expfam/cli/data/make_default_data.py``).
"""

from __future__ import annotations

import argparse
import dataclasses
import io
import math
import sys
from importlib import resources
from pathlib import Path
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam
from expfam.cli import arguments, head
from expfam.cli.arguments import InputError
from expfam.cli.files import Table, check_writable, parse_table, read_table, write_atomically
from expfam.cli.mlp import Params, apply_mlp, init_mlp, train
from expfam.cli.saved import SavedFit, save_arrays

DEFAULT_DATA = "claims.csv"
DEFAULT_TARGET = "claim_amount"
DEFAULT_FAMILY = "Gamma"
LEVELS = (0.5, 0.9)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", type=Path, help=f"CSV file with a header row (default: the shipped {DEFAULT_DATA})")
    parser.add_argument(
        "--target",
        type=arguments.names,
        help=f"target column(s), comma-separated; required with --data ({DEFAULT_TARGET} in the shipped data)",
    )
    parser.add_argument(
        "--features", type=arguments.names, help="feature columns, comma-separated (default: every other column)"
    )
    parser.add_argument(
        "--family",
        choices=[cls.__name__ for cls in expfam.family_classes()],
        help=f"target distribution; required with --data ({DEFAULT_FAMILY} for the shipped data)",
    )
    parser.add_argument(
        "--family-arg",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="family setting, e.g. num_classes=3 (repeat for several)",
    )
    parser.add_argument(
        "--head",
        choices=head.HEADS,
        help="link from the network's outputs: canonical (natural coordinates) or source (the family's usual "
        "parameters); default: source for location-scale families, canonical otherwise",
    )
    parser.add_argument(
        "--hidden",
        type=arguments.layer_sizes,
        default=(32, 32),
        help="hidden layer sizes, comma-separated; '' for none (default: 32,32)",
    )
    parser.add_argument(
        "--epochs", type=arguments.positive_int, default=50, help="passes over the training set (default: 50)"
    )
    parser.add_argument(
        "--batch-size", type=arguments.positive_int, default=128, help="examples per Adam step (default: 128)"
    )
    parser.add_argument(
        "--learning-rate", type=arguments.positive_float, default=3e-3, help="initial Adam step size (default: 3e-3)"
    )
    parser.add_argument("--validation", type=arguments.fraction, default=0.2, help="validation fraction (default: 0.2)")
    parser.add_argument(
        "--seed",
        type=arguments.seed,
        default=0,
        help=f"seed of the split, the initialization and the shuffles, 0 to {arguments.MAX_SEED} (default: 0)",
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("expfam_fit.npz"),
        help="saved fit, written exactly at this path (default: %(default)s); a PNG beside it with matplotlib",
    )


# -- input ---------------------------------------------------------------------------------
def load_table(path: Path | None) -> Table:
    """The checked table at ``path`` (the shipped dataset if path is None)."""
    if path is None:
        text = resources.files("expfam.cli").joinpath("data", DEFAULT_DATA).read_text()
        return parse_table(text, f"shipped {DEFAULT_DATA}")
    return read_table(path)


def make_family(name: str, settings: list[str]) -> expfam.ExponentialFamily:
    """The catalogue family class ``name``, configured by ``NAME=VALUE`` settings."""
    cls = {cls.__name__: cls for cls in expfam.family_classes()}[name]
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    kwargs: dict[str, Any] = {}
    for setting in settings:
        key, equals, value = (part.strip() for part in setting.partition("="))
        if not equals or not key:
            raise InputError(f"--family-arg {setting!r}: give NAME=VALUE, e.g. {next(iter(fields), 'name')}=1")
        if key not in fields:
            raise InputError(f"{name} has no setting {key!r}; its settings are {', '.join(fields) or 'none'}")
        if key in kwargs:
            raise InputError(f"--family-arg: {key} is given twice")
        integer = fields[key].type in ("int", int)
        try:
            number = int(value) if integer else float(value)
        except ValueError:
            raise InputError(
                f"{name} setting {key}: {value!r} is not {'an integer' if integer else 'a number'}"
            ) from None
        if not math.isfinite(number):
            raise InputError(f"{name} setting {key}: {value!r} is not a finite number")
        kwargs[key] = number
    needed = [f for f, spec in fields.items() if f not in kwargs and spec.default is dataclasses.MISSING]
    if needed:
        raise InputError(f"{name} needs --family-arg for {', '.join(needed)}")
    try:
        return cls(**kwargs)  # type: ignore[no-any-return]
    except (ValueError, TypeError) as error:
        raise InputError(f"{name}({', '.join(f'{k}={v!r}' for k, v in kwargs.items())}): {error}") from None


def targets(
    family: expfam.ExponentialFamily, values: np.ndarray, table: Table, *, outside_ok: bool = False
) -> jax.Array:
    """Targets as the family takes them: scalars, event vectors, or integer class labels.

    Targets outside the support are an error unless ``outside_ok`` (their log-probability is -inf).
    """
    if family.event_shape == ():
        if values.shape[1] != 1:
            raise InputError(f"{family.name} has scalar targets: give one --target column")
        y: jax.Array = jnp.asarray(values[:, 0], jnp.float32)
    elif values.shape[1] == 1:  # one column of integer labels (Categorical)
        if not np.all(values == np.round(values)):
            raise InputError(f"{family.name}: a single target column must hold integer labels")
        y = jnp.asarray(values[:, 0], jnp.int32)
    elif hasattr(family, "probabilities_target"):  # class labels (Categorical): vectors are not read from a CSV
        labels = f"integer class labels 0 to {family.num_natural - 1}"
        raise InputError(f"{family.name} takes one --target column of {labels}, not {values.shape[1]} columns")
    else:
        size = math.prod(family.event_shape)
        if values.shape[1] != size:
            raise InputError(f"{family.name} has targets of shape {family.event_shape}: give {size} target columns")
        y = jnp.asarray(values.reshape((-1,) + family.event_shape), jnp.float32)
    outside = np.flatnonzero(np.isneginf(np.asarray(family.target(y).elc)))
    if outside.size and not outside_ok:
        shown = ", ".join(f"line {table.lines[i]} ({values[i, 0]:g})" for i in outside[:10])
        more = f" and {outside.size - 10} more" if outside.size > 10 else ""
        raise InputError(
            f"{table.name}: {outside.size} targets outside the support of {family.name} "
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


def prepare(args: argparse.Namespace) -> tuple[Table, expfam.ExponentialFamily, list[str], list[str]]:
    """Every check that needs no training: the table, the columns, the family, the output path."""
    if args.data is not None and (args.target is None or args.family is None):
        raise InputError("--target and --family are required with --data")
    family = make_family(args.family or DEFAULT_FAMILY, args.family_arg)
    check_writable(args.out, "--out", [args.data])
    table = load_table(args.data)
    target_names = list(args.target or (DEFAULT_TARGET,))
    if args.features:
        listed = [f for f in args.features if f in target_names]
        if listed:
            raise InputError(f"--features lists the target column {', '.join(map(repr, listed))}")
        feature_names = list(args.features)
    else:
        feature_names = [h for h in table.header if h not in target_names]
    table.require(target_names + feature_names)
    if not feature_names:
        raise InputError(f"{table.name}: no feature columns left besides the target")
    return table, family, target_names, feature_names


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Fit, report, save; returns the reported numbers."""
    table, family, target_names, feature_names = prepare(args)
    y = targets(family, table.columns(target_names), table)
    x = table.columns(feature_names)
    n = x.shape[0]
    order = np.random.default_rng(args.seed).permutation(n)
    n_val = round(args.validation * n)
    if n_val < 1 or n - n_val < 2:
        raise InputError(f"{table.name}: {n} rows are too few for a training/validation split")
    val, tr = order[:n_val], order[n_val:]
    mean, std = x[tr].mean(axis=0), x[tr].std(axis=0)
    std = np.where(std > 0, std, 1.0)
    x_std = jnp.asarray((x - mean) / std, jnp.float32)
    train_target, val_target = expfam.Target.from_samples(family, y[tr]), expfam.Target.from_samples(family, y[val])
    keys = jax.random.split(jax.random.key(args.seed), 3)

    head_name = args.head or head.default_head(family)
    link, outputs = head.make_link(family, head_name)
    try:  # eagerly, fit raises (saying why) where the maximum-likelihood estimate does not exist
        baseline_eta = expfam.fit(family, y[tr])
    except ValueError as error:
        raise InputError(f"{table.name}: no unconditional fit of the training targets: {error}") from None
    bias, scale = head.start(family, link, outputs, train_target)
    start_nll, fit_nll = (
        float(jnp.mean(expfam.cross_entropy(family, e, train_target))) for e in (link(bias), baseline_eta)
    )
    if not start_nll <= fit_nll + 1e-3 * (1 + abs(fit_nll)):
        print(
            f"warning: the head starts at training NLL {start_nll:.4g}, not at the MLE's {fit_nll:.4g} (float32 "
            "conditioning); rescaling the target may help",
            file=sys.stderr,
        )
    # The head is link(bias + scale * z) (see expfam.cli.head): train the layers on outputs / scale.
    params: Params = init_mlp(args.seed, [x.shape[1], *args.hidden, outputs])
    params[-1] = (params[-1][0], bias / scale)
    per_example = expfam.loss(family, link)

    def outputs_of(p: Params, features: jax.Array) -> jax.Array:
        return scale[None, :] * apply_mlp(p, features)

    val_nll = jax.jit(lambda p: jnp.mean(per_example(outputs_of(p, x_std[val]), val_target)))
    history: list[tuple[float, float]] = []
    progress = Progress(args.epochs)

    def on_epoch(epoch: int, p: Params, train_nll: float) -> None:
        history.append((train_nll, float(val_nll(p))))
        progress.update(epoch + 1, *history[-1])

    def mean_loss(p: Params, batch: tuple[jax.Array, expfam.Target]) -> jax.Array:
        return jnp.mean(per_example(outputs_of(p, batch[0]), batch[1]))

    print(f"expfam fit: {family.name} for {', '.join(target_names)} on {', '.join(feature_names)} ({table.name})")
    print(
        f"{n - n_val} training rows, {n_val} validation rows; MLP {[x.shape[1], *args.hidden, outputs]}, "
        f"{head_name} head"
    )
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
    params[-1] = (params[-1][0] * scale[None, :], params[-1][1] * scale)  # the saved MLP includes the scales
    eta_val = link(apply_mlp(params, x_std[val]))
    model = per_example(apply_mlp(params, x_std[val]), val_target)
    if not np.all(np.isfinite(np.asarray(model))):
        raise InputError(
            f"training diverged (validation NLL {float(jnp.mean(model)):.4g}); try a smaller --learning-rate"
        )
    baseline = expfam.cross_entropy(family, baseline_eta, val_target)
    report = summarize(family, eta_val, y[val], model, baseline, keys[2])
    report["history"] = np.asarray(history)
    fitted = SavedFit(family, head_name, tuple(feature_names), tuple(target_names), mean, std, params, report)
    save(args.out, fitted)
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


def save(out: Path, fitted: SavedFit) -> None:
    """Write the fit to ``out`` (.npz) and, with matplotlib, a PNG beside it; atomically, both or neither."""
    arrays = save_arrays(fitted)
    writers = {out: lambda file: np.savez(file, **arrays)}
    png = out.with_suffix(".png") if out.suffix != ".png" else out.with_name(out.name + ".png")
    figure = plot(fitted)
    if figure is not None:
        writers[png] = lambda file: file.write(figure)
    write_atomically(writers)
    print(f"saved the fit to {out}")
    print(f"saved the plot to {png}" if figure is not None else "matplotlib is not installed: no plot")


def plot(fitted: SavedFit) -> bytes | None:
    """The learning curves and the PIT histogram as PNG bytes (None without matplotlib)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    report = fitted.report
    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    axes[0].plot(report["history"][:, 0], label="training")
    axes[0].plot(report["history"][:, 1], label="validation")
    axes[0].axhline(report["baseline_nll"], color="gray", linestyle="--", label="unconditional MLE")
    axes[0].set(xlabel="epoch", ylabel="NLL per row", title=fitted.family.name)
    axes[0].legend()
    if "pit_histogram" in report:
        axes[1].bar(np.arange(10) / 10, report["pit_histogram"], width=0.1, align="edge")
        axes[1].axhline(0.1, color="gray", linestyle="--")
    axes[1].set(xlabel="PIT", ylabel="fraction of validation rows", title="calibration")
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    plt.close(fig)
    return buffer.getvalue()
