"""Maximum errors of every catalogue family against mpmath (40 digits), as a markdown table.

Usage: ``PYTHONPATH=.:tests python bench/accuracy_table.py [--detail] [FamilyClass ...]``. Uses the reference
points and mpmath formulas of ``tests/test_accuracy.py``. Errors are
``|computed - exact| / max(|exact|, 1)``, maximized over the points and over log-prob,
entropy, KL, distribution cross-entropy and the expectation parameters; "generic" is the same
quantity through the plain formulas (``-chi . eta + g(eta) - elc`` and the Bregman KL) without
the families' stable forms; the "floor" is the largest change of the exact values when the
inputs are rounded to float32. Rows with the same family class (``NegativeBinomial``,
``NegativeBinomial(r=0.01)``, ...) are merged. ``--detail`` adds, per reference and quantity,
the worst ratio of the error to the test's tolerance.
"""

from __future__ import annotations

import functools
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import test_accuracy as ta

import expfam


@functools.partial(jax.jit, static_argnums=0)
def generic_values(family: Any, eta: jax.Array, eta_q: jax.Array, x: jax.Array) -> dict[str, jax.Array]:
    chi_p, elc_p = family.distribution_target(eta)[:2]
    kl = family.log_normalizer(eta_q) - family.log_normalizer(eta) - jnp.sum((eta_q - eta) * chi_p, -1)
    return {
        "log_prob": -expfam.cross_entropy(family, eta, family.target(x)),
        "entropy": expfam.cross_entropy(family, eta, (chi_p, elc_p)),
        "kl": kl,
        "cross_entropy": expfam.cross_entropy(family, eta_q, (chi_p, elc_p)),
        "expectation": family.expectation(eta),
    }


def _worst(errors: dict[str, np.ndarray]) -> float:
    return max(float(np.max(e)) for e in errors.values())


def main() -> None:
    detail = "--detail" in sys.argv
    only = [a for a in sys.argv[1:] if not a.startswith("--")]
    rows: dict[str, dict[str, float]] = {}
    for name, ref in ta.REFERENCES.items():
        if only and type(ref.family).__name__ not in only:
            continue
        row = rows.setdefault(type(ref.family).__name__, {})
        for dtype in ("float32", "float64"):
            with jax.enable_x64(dtype == "float64"):
                values = ta.evaluations(name, dtype)
                inputs = ta.batched(values)
                ours = ta.relative_errors(values, ta.computed_values(ref.family, *inputs))
                generic = ta.relative_errors(values, generic_values(ref.family, *inputs))
                floor = ta.floors(values)
            for label, value in ((dtype, _worst(ours)), (f"{dtype} generic", _worst(generic))):
                row[label] = max(row.get(label, 0.0), value)
            if dtype == "float32":
                row["floor"] = max(row.get("floor", 0.0), _worst(floor))
            if detail:
                for quantity, error in ours.items():
                    tol = np.full_like(error, 1e-12) if dtype == "float64" else np.maximum(10 * floor[quantity], 2e-6)
                    print(
                        f"{name:28s} {dtype} {quantity:14s} error {np.max(error):8.1e} ratio {np.max(error / tol):8.2g}"
                    )
    columns = ["float32", "floor", "float32 generic", "float64", "float64 generic"]
    header = ["family", "float32", "float32 input-rounding floor", "float32, generic formulas", "float64"]
    print("| " + " | ".join([*header, "float64, generic formulas"]) + " |")
    print("|---|---|---|---|---|---|")
    for family, row in rows.items():
        print("| " + " | ".join([family] + [f"{row[c]:.1e}" for c in columns]) + " |")


if __name__ == "__main__":
    main()
