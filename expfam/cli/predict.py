"""``python -m expfam predict``: a saved fit's predictive distribution for each row of a CSV.

For every row it writes the distribution's source parameters (``family.source_parameters``,
vector and matrix parameters one column per entry: ``probabilities_0``, ``covariance_0_1``),
the mean ``expfam.mean`` (one column per entry for vector events), the requested quantiles
``expfam.quantile`` (univariate families), and, when the CSV has the target column(s), the
log-probability of the target (-inf outside the support).
"""

from __future__ import annotations

import argparse
import itertools
from pathlib import Path

import numpy as np

import expfam
from expfam.cli import arguments
from expfam.cli.arguments import InputError
from expfam.cli.files import check_writable, read_table, text_writer, write_atomically
from expfam.cli.fit import targets
from expfam.cli.saved import load_fit


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("fit", type=Path, help="a fit saved by python -m expfam fit (its --out)")
    parser.add_argument(
        "data", type=Path, help="CSV file with the fit's feature columns (the target's too for log-probabilities)"
    )
    parser.add_argument(
        "--out",
        type=Path,
        default=Path("expfam_predictions.csv"),
        help="predictions CSV, one row per data row (default: %(default)s)",
    )
    parser.add_argument(
        "--quantiles", type=arguments.levels, default=(), help="quantile levels, comma-separated, e.g. 0.05,0.5,0.95"
    )


def flat_columns(name: str, values: np.ndarray) -> dict[str, np.ndarray]:
    """``values`` of shape (rows, ...) as columns: ``name``, or ``name_i``, ``name_i_j`` per entry."""
    if values.ndim == 1:
        return {name: values}
    rows = values.reshape(values.shape[0], -1)
    return {
        "_".join([name, *map(str, index)]): rows[:, i]
        for i, index in enumerate(itertools.product(*map(range, values.shape[1:])))
    }


def run(args: argparse.Namespace) -> int:
    try:
        saved = load_fit(args.fit)
    except ValueError as error:
        raise InputError(str(error)) from None
    check_writable(args.out, "--out", [args.fit, args.data])
    table = read_table(args.data)
    family = saved.family
    if args.quantiles and not family.provides("quantile"):
        raise InputError(f"--quantiles: {family.name} has no quantile function (univariate families have one)")
    x = table.columns(saved.features)
    present = [t for t in saved.target if t in table.header]
    if present and len(present) < len(saved.target):
        missing = [t for t in saved.target if t not in table.header]
        raise InputError(f"{table.name}: has target column(s) {', '.join(present)} but not {', '.join(missing)}")
    y = targets(family, table.columns(list(saved.target)), table, outside_ok=True) if present else None
    eta = saved.natural_parameters(x)
    columns: dict[str, np.ndarray] = {}
    for name, value in family.source_from_natural(eta).items():
        columns.update(flat_columns(name, np.asarray(value, np.float64)))
    if family.provides("mean"):
        columns.update(flat_columns("mean", np.asarray(expfam.mean(family, eta), np.float64)))
    for level in args.quantiles:
        columns[f"quantile_{level:g}"] = np.asarray(expfam.quantile(family, eta, level), np.float64)
    if y is not None:
        columns["log_prob"] = np.asarray(expfam.log_prob(family, eta, y), np.float64)
    lines = [",".join(columns)]
    lines += [",".join(f"{v:.9g}" for v in row) for row in zip(*columns.values(), strict=True)]
    write_atomically({args.out: text_writer("\n".join(lines) + "\n")})
    print(f"expfam predict: {family.name} for {len(table.rows)} rows of {table.name}: {', '.join(columns)}")
    print(f"saved the predictions to {args.out}")
    return 0
