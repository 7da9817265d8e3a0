"""``python -m expfam verify``: check the exact derivatives on the running backend.

For every family in the catalogue, eagerly, under ``jit`` and under ``vmap``:

* ``grad``: the reverse-mode gradient of the cross-entropy (custom JVP) against autodiff of
  the plain formula ``-chi . eta + g(eta) - log h``, and against ``g'(eta) - chi``;
* ``hessian``: ``jax.hessian`` of the cross-entropy against the closed-form Fisher and
  against the Hessian of the plain formula;
* ``round trip``: natural -> expectation -> natural and natural -> source -> natural,
  compared in expectation coordinates (where the categorical's logits are unique).

Errors are norm-wise relative: ``max|a - b| / max(max|b|, floor)`` per example, maximized
(floor 1 for gradients, which cancel to zero for a sample at the mean; 0 otherwise).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam

#: Largest accepted error per dtype.
TOLERANCE = {"float32": 2e-4, "float64": 1e-10}

CHECKS = ("grad", "hessian", "round trip")

#: Absolute floor of each check's scale: a gradient g'(eta) - chi that cancels to ~0 (a sample
#: at the mean, where both terms are O(1)) is judged against 1, not against its rounding noise.
FLOORS = {"grad": 1.0, "hessian": 0.0, "round trip": 0.0}


def _quantities(family: expfam.ExponentialFamily, eta: jax.Array, chi: jax.Array, elc: jax.Array) -> dict[str, Any]:
    """Pairs (computed, reference) for each check, on one batch of natural parameters."""

    def loss(e: jax.Array) -> jax.Array:
        return jnp.sum(expfam.cross_entropy(family, e, (chi, elc)))

    def plain_loss(e: jax.Array) -> jax.Array:
        return jnp.sum(family.log_normalizer_formula(e) - jnp.sum(chi * e, -1) - elc)

    grad = jax.grad(loss)(eta)
    per_row_hessian = jnp.vectorize(
        lambda e, c, l: jax.hessian(lambda v: expfam.cross_entropy(family, v, (c, l)))(e), signature="(m),(m),()->(m,m)"
    )
    hessian = per_row_hessian(eta, chi, elc)
    expectation = family.expectation(eta)
    via_expectation = family.expectation(family.natural_from_expectation(expectation))
    via_source = family.expectation(family.natural_from_source(**family.source_from_natural(eta)))
    return {
        "grad": [(grad, jax.grad(plain_loss)(eta)), (grad, expectation - chi)],
        "hessian": [(hessian, family.fisher(eta)), (hessian, family.autodiff_fisher(eta))],
        "round trip": [(via_expectation, expectation), (via_source, expectation)],
    }


def _error(pairs: list[tuple[jax.Array, jax.Array]], floor: float) -> float:
    worst = 0.0
    for computed, reference in pairs:
        a = np.asarray(computed, np.float64).reshape(computed.shape[0], -1)
        b = np.asarray(reference, np.float64).reshape(reference.shape[0], -1)
        scale = np.maximum(np.max(np.abs(b), axis=1), max(floor, np.finfo(np.float64).tiny))
        worst = max(worst, float(np.max(np.max(np.abs(a - b), axis=1) / scale)))
    return worst


def _inputs(
    family: expfam.ExponentialFamily, examples: tuple[dict[str, Any], ...], dtype: Any
) -> tuple[jax.Array, ...]:
    eta = jnp.stack(
        [family.natural_from_source(**{k: jnp.asarray(v, dtype) for k, v in ex.items()}) for ex in examples]
    )
    x = family.sample(jax.random.key(0), eta)
    chi, elc = family.target(x)[:2]
    return eta, chi, elc


def verify_family(
    family: expfam.ExponentialFamily, examples: tuple[dict[str, Any], ...], dtype: str
) -> dict[str, float]:
    """Maximum error of each check over eager, jit and vmap evaluation."""
    eta, chi, elc = _inputs(family, examples, jnp.dtype(dtype))
    modes: list[Callable[..., Any]] = [
        _quantities,
        jax.jit(_quantities),
        lambda f, e, c, l: jax.tree.map(
            lambda y: y[:, 0], jax.vmap(_quantities, in_axes=(None, 0, 0, 0))(f, e[:, None], c[:, None], l[:, None])
        ),
    ]
    errors = dict.fromkeys(CHECKS, 0.0)
    for mode in modes:
        results = mode(family, eta, chi, elc)
        for check in CHECKS:
            errors[check] = max(errors[check], _error(results[check], FLOORS[check]))
    return errors


def run(families: list[str] | None, dtypes: list[str]) -> bool:
    """Print the verification table; return whether every check passed."""
    backend = jax.default_backend()
    header = f"{'family':<34} {'M':>3} {'backend':>7} {'dtype':>7} " + " ".join(f"{c:>10}" for c in CHECKS) + "  result"
    print(header)
    print("-" * len(header))
    all_ok = True
    for dtype in dtypes:
        with jax.enable_x64(dtype == "float64"):
            for entry in expfam.catalogue():
                if families and type(entry.family).__name__ not in families:
                    continue
                errors = verify_family(entry.family, entry.examples, dtype)
                ok = all(e <= TOLERANCE[dtype] for e in errors.values())
                all_ok &= ok
                cells = " ".join(f"{errors[c]:>10.1e}" for c in CHECKS)
                row = f"{entry.family.name:<34} {entry.family.num_natural:>3} {backend:>7} {dtype:>7} {cells}"
                print(f"{row}  {'pass' if ok else 'FAIL'}")
    print(f"tolerance: {TOLERANCE}; {'all checks passed' if all_ok else 'SOME CHECKS FAILED'}")
    return all_ok


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--family",
        action="append",
        choices=[cls.__name__ for cls in expfam.family_classes()],
        help="only this family (repeatable)",
    )
    parser.add_argument("--dtype", choices=["float32", "float64"], action="append", help="default: both")


def main(args: argparse.Namespace) -> int:
    return 0 if run(args.family, args.dtype or ["float32", "float64"]) else 1
