"""Write ``claims.csv``, the default dataset of ``python -m expfam fit`` (deterministic).

Simulated motor-insurance claim severities, shaped like real ones: one row per claim, with

* ``driver_age`` (years, 18-80), ``vehicle_age`` (years, 0-20), ``vehicle_value`` (thousands
  of dollars, log-normal around 20), ``urban`` (0/1);
* ``claim_amount`` (dollars, the target): Gamma with mean
  ``exp(7.6 + 0.6 exp(-(age - 18) / 8) + 0.35 log(value / 20) - 0.02 vehicle_age + 0.25 urban)``
  (young drivers and dear cars have larger claims) and shape ``2.5 - 1.2 urban`` (urban
  claims are more dispersed): the true conditional distribution is a Gamma whose shape and
  rate both depend on the features, which a distributional regression can recover.

Run from the repository root: ``python expfam/data/make_default_data.py [--out PATH]``.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

ROWS = 3000
SEED = 20240611
COLUMNS = ("driver_age", "vehicle_age", "vehicle_value", "urban", "claim_amount")


def simulate(rows: int = ROWS, seed: int = SEED) -> np.ndarray:
    """The table as an array of shape (rows, 5), in the order of ``COLUMNS``."""
    rng = np.random.default_rng(seed)
    age = rng.integers(18, 81, rows)
    vehicle_age = np.minimum(rng.geometric(0.15, rows) - 1, 20)
    value = np.round(20.0 * np.exp(0.5 * rng.standard_normal(rows)), 1)
    urban = (rng.uniform(size=rows) < 0.6).astype(int)
    log_mean = 7.6 + 0.6 * np.exp(-(age - 18) / 8) + 0.35 * np.log(value / 20) - 0.02 * vehicle_age + 0.25 * urban
    shape = 2.5 - 1.2 * urban
    amount = rng.gamma(shape, np.exp(log_mean) / shape)
    return np.stack([age, vehicle_age, value, urban, np.round(amount, 2)], axis=-1)


def write(path: Path) -> None:
    table = simulate()
    lines = [",".join(COLUMNS)]
    lines += [f"{int(a)},{int(v)},{w:.1f},{int(u)},{c:.2f}" for a, v, w, u, c in table]
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name("claims.csv"))
    write(parser.parse_args().out)
