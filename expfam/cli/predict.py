"""``python -m expfam predict``: a saved fit's predictive distribution for each row of a CSV.

For every row it writes the distribution's source parameters (``family.source_parameters``,
vector and matrix parameters one column per entry: ``probabilities_0``, ``covariance_0_1``),
the mean where it is an expectation parameter, the requested quantiles, and, when the CSV has
the target column(s), the log-probability of the target (-inf outside the support).

The mean is ``E[x]``, read from the expectation parameters ``g'(eta)`` when the sufficient
statistics start with x itself (``T(x)_0 = x``: Normal, Gamma, Poisson, Binomial, ...; the
first components for vector events, e.g. the multivariate normals); other families get no
mean column.
"""

from __future__ import annotations

import argparse
import itertools
import math
from collections.abc import Callable
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

import expfam
from expfam.cli import arguments
from expfam.cli.arguments import InputError
from expfam.cli.files import check_writable, read_table, text_writer, write_atomically
from expfam.cli.fit import targets
from expfam.cli.saved import load_fit

#: The quantile hook: ``quantile(family, eta, level) -> values of shape eta.shape[:-1]``. It is
#: ``expfam.quantile`` where this version of expfam has it; without it ``--quantiles`` is refused.
QUANTILE: Callable[[expfam.ExponentialFamily, jax.Array, float], jax.Array] | None = getattr(expfam, "quantile", None)


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


def mean(family: expfam.ExponentialFamily, eta: jax.Array) -> np.ndarray | None:
    """``E[x]`` per row, of shape (rows,) + event shape, where ``T(x)`` starts with x; else None.

    Whether the statistics start with x is checked on draws from the first rows' distributions
    (class labels fail it: their statistics are one-hot vectors, not the labels).
    """
    size = math.prod(family.event_shape)
    draws = np.asarray(family.sample(jax.random.key(0), eta[:8], (4,)), np.float64)
    if draws.shape != (4,) + eta[:8].shape[:-1] + family.event_shape:
        return None  # class labels drawn for one-hot events
    flat = draws.reshape(draws.shape[: draws.ndim - len(family.event_shape)] + (size,))
    statistics = np.asarray(family.sufficient_statistics(jnp.asarray(draws, eta.dtype)), np.float64)
    if statistics.shape[-1] < size or not np.allclose(statistics[..., :size], flat, rtol=1e-5, atol=0):
        return None
    expectation = np.asarray(family.expectation(eta), np.float64)[..., :size]
    return expectation.reshape(eta.shape[:-1] + family.event_shape)


def run(args: argparse.Namespace) -> int:
    try:
        saved = load_fit(args.fit)
    except ValueError as error:
        raise InputError(str(error)) from None
    if args.quantiles and QUANTILE is None:
        raise InputError("--quantiles: this version of expfam has no quantile function (expfam.quantile)")
    check_writable(args.out, "--out", [args.fit, args.data])
    table = read_table(args.data)
    family = saved.family
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
    expected = mean(family, eta)
    if expected is not None:
        columns.update(flat_columns("mean", expected))
    for level in args.quantiles:
        assert QUANTILE is not None
        columns[f"quantile_{level:g}"] = np.asarray(QUANTILE(family, eta, level), np.float64)
    if y is not None:
        columns["log_prob"] = np.asarray(expfam.log_prob(family, eta, y), np.float64)
    lines = [",".join(columns)]
    lines += [",".join(f"{v:.9g}" for v in row) for row in zip(*columns.values(), strict=True)]
    write_atomically({args.out: text_writer("\n".join(lines) + "\n")})
    print(f"expfam predict: {family.name} for {len(table.rows)} rows of {table.name}: {', '.join(columns)}")
    print(f"saved the predictions to {args.out}")
    return 0
