"""Maximum errors of the nine basic families against mpmath (40 digits), as a markdown table.

Usage: ``PYTHONPATH=.:tests python bench/accuracy_table.py``. Uses the reference points and
mpmath formulas of ``tests/test_accuracy.py``. Errors are ``|computed - exact| / max(|exact|, 1)``,
maximized over the points and over log-prob, entropy, KL, distribution cross-entropy and the
expectation parameters; "generic" is the same quantity through the plain formulas
(``-chi . eta + g(eta) - elc`` and the Bregman KL) without the families' stable forms; the
"floor" is the largest change of the exact values when the inputs are rounded to float32.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import test_accuracy as ta

import expfam


def generic_values(ref: ta.Reference, eta: np.ndarray, eta_q: np.ndarray, x) -> dict[str, jax.Array]:
    family = ref.family
    eta, eta_q = jnp.asarray(eta), jnp.asarray(eta_q)
    chi_p, elc_p = family.distribution_target(eta)
    kl = family.log_normalizer(eta_q) - family.log_normalizer(eta) - jnp.sum((eta_q - eta) * chi_p, -1)
    return {
        "log_prob": -expfam.cross_entropy(family, eta, *family.target(x)),
        "entropy": expfam.cross_entropy(family, eta, chi_p, elc_p),
        "kl": kl,
        "cross_entropy": expfam.cross_entropy(family, eta_q, chi_p, elc_p),
        "expectation": family.expectation(eta),
    }


def main() -> None:
    rows = []
    for name, ref in sorted(ta.REFERENCES.items()):
        row = [name]
        for dtype in ("float32", "float64"):
            with jax.enable_x64(dtype == "float64"):
                worst = {"ours": 0.0, "generic": 0.0, "floor": 0.0}
                for eta, x in ref.points:
                    eta64, near64 = np.asarray(eta, np.float64), np.asarray(ref.near(eta), np.float64)
                    exact = ta.exact_values(ref, list(eta64), list(near64), x)
                    integer_x = name == "Categorical"
                    x_in = jnp.asarray(x) if integer_x else jnp.asarray(x, dtype)
                    args = (eta64.astype(dtype), near64.astype(dtype), x_in)
                    x_rounded = x if integer_x else float(np.asarray(x, dtype))
                    rounded = ta.exact_values(
                        ref, list(args[0].astype(np.float64)), list(args[1].astype(np.float64)), x_rounded
                    )
                    for quantity, value in rounded.items():
                        expected = ta._as_floats(exact[quantity])
                        floor = np.abs(ta._as_floats(value) - expected) / np.maximum(np.abs(expected), 1.0)
                        worst["floor"] = max(worst["floor"], float(np.max(floor)))
                    for label, values in (
                        ("ours", ta.computed_values(ref, *args)),
                        ("generic", generic_values(ref, *args)),
                    ):
                        for quantity, value in values.items():
                            expected = ta._as_floats(exact[quantity])
                            got = np.asarray(value, np.float64).reshape(expected.shape)
                            error = float(np.max(np.abs(got - expected) / np.maximum(np.abs(expected), 1.0)))
                            worst[label] = max(worst[label], error)
                row += [f"{worst['ours']:.1e}", f"{worst['generic']:.1e}"]
                if dtype == "float32":
                    row.insert(-1, f"{worst['floor']:.1e}")
        rows.append(row)
    header = ["family", "float32", "float32 input-rounding floor", "float32, generic formulas", "float64"]
    print("| " + " | ".join([*header, "float64, generic formulas"]) + " |")
    print("|---|---|---|---|---|---|")
    for row in rows:
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
