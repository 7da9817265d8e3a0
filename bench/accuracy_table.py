"""Maximum errors of every catalogue family against mpmath (40 digits), as markdown tables.

Usage: ``PYTHONPATH=.:tests python bench/accuracy_table.py [--detail] [FamilyClass ...]``. Uses the reference
points and mpmath formulas of ``tests/test_accuracy.py``. Value errors are
``|computed - exact| / max(|exact|, 1)``, maximized over the points and over log-prob,
entropy, KL, distribution cross-entropy and the expectation parameters; Fisher errors are per
entry, relative to ``sqrt(F_ii F_jj)`` (the test's ``scale``). "generic" is the same quantity
through the plain formulas (``-chi . eta + g(eta) - elc``, the Bregman KL and autodiff's Hessian
of ``g``) without the families' stable forms; the "floor" is the largest change of the exact
values when the inputs are rounded to float32. The second table gives, per quantity, the worst
float32 error over the test's tolerance ``max(10 floor, 2e-6)`` (at most 1 where the target is
met). Rows with the same family class (``NegativeBinomial``, ``NegativeBinomial(r=0.01)``, ...)
are merged. ``--detail`` prints, per reference, dtype and quantity, the error and that ratio.
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

VALUES = ("log_prob", "entropy", "kl", "cross_entropy", "expectation")


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
        "fisher": family.autodiff_fisher(eta),
    }


def _worst(errors: dict[str, np.ndarray], quantities: tuple[str, ...]) -> float:
    return max(float(np.max(errors[q])) for q in quantities)


def _merge(row: dict[str, float], label: str, value: float) -> None:
    row[label] = max(row.get(label, 0.0), value)


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
            for group, quantities in (("", VALUES), ("fisher ", ("fisher",))):
                _merge(row, f"{group}{dtype}", _worst(ours, quantities))
                _merge(row, f"{group}{dtype} generic", _worst(generic, quantities))
                if dtype == "float32":
                    _merge(row, f"{group}floor", _worst(floor, quantities))
            for quantity, error in ours.items():
                tol = np.full_like(error, 1e-12) if dtype == "float64" else np.maximum(10 * floor[quantity], 2e-6)
                ratio = float(np.max(error / tol))
                if dtype == "float32":
                    _merge(row, f"ratio {quantity}", ratio)
                if detail:
                    print(f"{name:28s} {dtype} {quantity:14s} error {np.max(error):8.1e} ratio {ratio:8.2g}")
    columns = ["float32", "floor", "float32 generic", "float64", "float64 generic"]
    columns += ["fisher float32", "fisher floor", "fisher float64", "fisher float64 generic"]
    header = ["family", "float32", "float32 input-rounding floor", "float32, generic formulas", "float64"]
    header += ["float64, generic formulas", "Fisher float32", "Fisher floor", "Fisher float64"]
    header += ["Fisher float64, autodiff"]
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for family, row in rows.items():
        print("| " + " | ".join([family] + [f"{row[c]:.1e}" for c in columns]) + " |")
    quantities = [*VALUES, "fisher"]
    print()
    print("| family (float32 error / tolerance) | " + " | ".join(quantities) + " |")
    print("|" + "---|" * (len(quantities) + 1))
    for family, row in rows.items():
        print("| " + " | ".join([family] + [f"{row[f'ratio {q}']:.2g}" for q in quantities]) + " |")


if __name__ == "__main__":
    main()
