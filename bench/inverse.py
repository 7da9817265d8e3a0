"""Benchmark: inverse maps (expectation -> natural) at scale, against the forward map.

For each family without a closed-form inverse (Gamma; Beta, Dirichlet(16) and von Mises
once they exist in expfam), 1,000,000 random natural parameters in float32 and float64:

* time of the jitted forward map ``expectation(eta)`` and of the inverse
  ``natural_from_expectation(chi)`` (first call and median of ``--calls``), and their ratio;
* accuracy of the inverse, per row the norm-wise relative error ``max|a - b| / max|b|``: in
  float32 against the same rounded ``chi`` solved in float64 (the solver is measured, not the
  conditioning of the map), in float64 against the parameters ``chi`` was computed from; the
  backward error, ``expectation(solved)`` evaluated in float64 against the given ``chi`` (same
  per-row measure: what a solver working in the input's precision can guarantee; the forward
  error is at most this times the condition number); and the count of non-finite outputs
  (failures, NaN by design where the solver did not converge);
* efax's ``GammaEP.to_nat`` (its shape against the true shape) on a smaller batch (``--efax-n``), extrapolated per 1e6.

    PYTHONPATH=. python bench/inverse.py [--scale 0.1] [--calls 5]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _harness as H


def _log_uniform(rng: np.random.Generator, low: float, high: float, shape: Any) -> np.ndarray:
    return np.exp(rng.uniform(np.log(low), np.log(high), shape))


#: name -> (family factory, source-parameter sampler); families not yet in expfam are skipped.
CASES: dict[str, tuple[Callable[[], Any], Callable[[np.random.Generator, int], dict[str, np.ndarray]]]] = {
    "Gamma": (
        lambda: expfam.Gamma(),
        lambda rng, n: {"shape": _log_uniform(rng, 1e-3, 1e5, n), "rate": _log_uniform(rng, 1e-2, 1e2, n)},
    ),
    "Beta": (
        lambda: expfam.Beta(),
        lambda rng, n: {"alpha": _log_uniform(rng, 1e-2, 1e3, n), "beta": _log_uniform(rng, 1e-2, 1e3, n)},
    ),
    "Dirichlet(16)": (
        lambda: expfam.Dirichlet(16),
        lambda rng, n: {"concentration": _log_uniform(rng, 1e-2, 1e3, (n, 16))},
    ),
    "VonMises": (
        lambda: expfam.VonMises(),
        lambda rng, n: {"loc": rng.uniform(-np.pi, np.pi, n), "concentration": _log_uniform(rng, 1e-3, 1e4, n)},
    ),
}


def _relative_error(a: np.ndarray, b: np.ndarray) -> str:
    """Norm-wise relative error per row, ``max|a - b| / max|b|``: median / 99.9% / max over rows."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    finite = np.isfinite(a).all(axis=-1) & np.isfinite(b).all(axis=-1)
    a, b = a[finite], b[finite]
    per_row = np.max(np.abs(a - b), axis=-1) / np.maximum(np.max(np.abs(b), axis=-1), np.finfo(np.float64).tiny)
    return " / ".join(f"{q:.1e}" for q in np.quantile(per_row, [0.5, 0.999, 1.0]))


def run_case(name: str, n: int, calls: int) -> list[list[Any]]:
    factory, sampler = CASES[name]
    family = factory()
    rows = []
    with jax.enable_x64(True):
        eta64 = family.natural_from_source(
            **{k: jnp.asarray(v) for k, v in sampler(np.random.default_rng(0), n).items()}
        )
        chi64 = family.expectation(eta64)
    for dtype in ("float32", "float64"):
        with jax.enable_x64(dtype == "float64"):
            eta = jnp.asarray(np.asarray(eta64), dtype)
            chi = jnp.asarray(np.asarray(chi64), dtype)
            chi_alt = jnp.asarray(np.asarray(family.expectation(eta * 0.999)), dtype)  # a second input set
            forward, inverse = H.time_interleaved(
                [family.expectation, family.natural_from_expectation],
                [[(eta,), (eta * 0.999,)], [(chi,), (chi_alt,)]],
                calls,
                warmup=1,
                clock="cpu",
            )
            solved = np.asarray(jax.jit(family.natural_from_expectation)(chi))
        if dtype == "float32":  # reference: the same rounded chi solved in float64 (the solver's own error)
            with jax.enable_x64(True):
                reference = np.asarray(
                    jax.jit(family.natural_from_expectation)(jnp.asarray(np.asarray(chi), jnp.float64))
                )
        else:  # reference: the natural parameters chi was computed from (solver and conditioning)
            reference = np.asarray(eta64)
        with jax.enable_x64(True):  # backward error: the solution's expectation against the given chi
            back = np.asarray(family.expectation(jnp.asarray(solved, jnp.float64)))
        failures = int(np.sum(~np.isfinite(solved).all(axis=-1)))
        rows.append(
            [
                name,
                dtype,
                n,
                H.ms(forward.median_s),
                H.ms(inverse.median_s),
                inverse.median_s / forward.median_s,
                f"{forward.first_s:.2f} / {inverse.first_s:.2f}",
                _relative_error(solved, reference),
                _relative_error(back, np.asarray(chi)),
                failures,
            ]
        )
        print(rows[-1], flush=True)
    return rows


def efax_gamma(n: int) -> list[Any] | None:
    """efax's GammaEP.to_nat on n float32 parameters, and the time extrapolated to 1e6."""
    try:
        import efax
    except ImportError:
        return None
    rng = np.random.default_rng(0)
    with jax.enable_x64(True):
        eta = expfam.Gamma().natural_from_source(
            shape=_log_uniform(rng, 1e-3, 1e5, n), rate=_log_uniform(rng, 1e-2, 1e2, n)
        )
        chi = np.asarray(expfam.Gamma().expectation(eta))
    ep = efax.GammaEP(mean=jnp.asarray(chi[:, 0], jnp.float32), mean_log=jnp.asarray(chi[:, 1], jnp.float32))
    start = time.perf_counter()
    jax.block_until_ready(ep.to_nat())
    first = time.perf_counter() - start
    start = time.perf_counter()
    nat = jax.block_until_ready(ep.to_nat())
    steady = time.perf_counter() - start
    shape = np.asarray(nat.shape_minus_one, np.float64) + 1.0
    error = _relative_error(shape[:, None], np.asarray(eta[:, 1:]))
    return [
        "efax GammaEP.to_nat",
        "float32",
        n,
        "",
        H.ms(steady),
        f"{steady * 1e6 / n:.1f} s per 1e6",
        f"{first:.2f}",
        f"{error:.1e}",
        "",
        "",
    ]


HEADER = [
    "family",
    "dtype",
    "N",
    "forward ms",
    "inverse ms",
    "inverse / forward",
    "first calls s",
    "rel. error (median / 99.9% / max)",
    "backward error",
    "failures",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the 1,000,000 parameters")
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--dirichlet-scale", type=float, default=1.0, help="extra factor for Dirichlet(16)")
    parser.add_argument("--family", action="append", help="only these families (repeatable)")
    parser.add_argument("--efax-n", type=int, default=20000, help="batch for efax's Gamma inverse (0: skip)")
    args = parser.parse_args()
    n = int(1_000_000 * args.scale)
    rows = []
    for name in CASES:
        if args.family and name not in args.family:
            continue
        try:
            CASES[name][0]()
        except AttributeError:
            print(f"{name}: not in expfam yet, skipped", flush=True)
            continue
        rows += run_case(name, int(n * args.dirichlet_scale) if name.startswith("Dirichlet") else n, args.calls)
    if args.efax_n and (row := efax_gamma(args.efax_n)):
        rows.append(row)
    print(f"\n{H.machine()}; median of {args.calls} calls (process CPU time, interleaved)\n")
    print(H.markdown_table(HEADER, rows))


if __name__ == "__main__":
    main()
