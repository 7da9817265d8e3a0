"""Benchmark: jitted mean losses and their value_and_grad, expfam against hand-written
formulas, optax and peer libraries (tfp-nightly's JAX substrate, distrax, numpyro, efax).

Run from the repository root (peers come from the optional ``bench`` extra; a missing peer
is skipped)::

    PYTHONPATH=. python bench/losses.py                 # full size, every workload
    PYTHONPATH=. python bench/losses.py --scale 0.01    # quick check at 1% of the sizes

For every implementation: the first call (trace + compile + run), the median of ``--calls``
steady-state calls over two rotating input sets, the relative error of the mean loss
against a float64 reference (scipy), and ratios to the fastest hand-written formula and to
a pass that only reads the inputs. Output: markdown tables on stdout (and ``--out``).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from typing import Any

import jax
import numpy as np

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _harness as H
import workloads as W

AGREE = 1e-4  # relative error of a float32 mean loss against the float64 reference


def run_workload(
    w: W.Workload, scale: float, calls: int, libraries: set[str] | None, grad: bool, clock: str
) -> list[list[Any]]:
    data = [w.make(np.random.default_rng(seed), scale) for seed in (0, 1)]
    reference = w.reference(data[0])
    prepared = []
    for impl in w.impls:
        if libraries and impl.library not in libraries | {"hand", "read-only"}:
            continue
        try:
            inputs = [impl.prepare(d) for d in data]
            value = float(jax.jit(impl.loss)(*inputs[0]))
            if grad and impl.library != "read-only":
                jax.jit(jax.value_and_grad(impl.loss))(*inputs[0])
            prepared.append((impl, inputs, value))
        except Exception as error:  # a peer failing on a workload is reported, not fatal
            print(
                f"  {w.name}: {impl.library} ({impl.variant}) failed: {type(error).__name__}: {error}"[:300], flush=True
            )
    # Losses and value_and_grads are timed in two interleaved rounds (fresh compilations: the
    # first-call column is a real compile time).
    losses = H.time_interleaved([i.loss for i, _, _ in prepared], [a for _, a, _ in prepared], calls, clock=clock)
    graded = [(i, a) for i, a, _ in prepared if grad and i.library != "read-only"]
    vgs = H.time_interleaved(
        [jax.value_and_grad(i.loss) for i, _ in graded], [a for _, a in graded], calls, clock=clock
    )
    vg_of = {id(i): t for (i, _), t in zip(graded, vgs, strict=True)}
    results = [
        (impl, {"value": value, "loss": loss, "vg": vg_of.get(id(impl))})
        for (impl, _, value), loss in zip(prepared, losses, strict=True)
    ]
    for _, r in results:
        r["error"] = abs(r["value"] - reference) / abs(reference)
    hand = [r for i, r in results if i.library == "hand" and r["error"] <= AGREE]
    best_hand = min(r["loss"].median_s for r in hand)
    best_hand_vg = min(r["vg"].median_s for r in hand) if grad else float("nan")
    read_only = next((r["loss"].median_s for i, r in results if i.library == "read-only"), float("nan"))
    rows = []
    for impl, r in results:
        error, vg = r["error"], r["vg"]
        rows.append(
            [
                w.name,
                impl.library,
                impl.variant,
                H.ms(r["loss"].median_s),
                r["loss"].median_s / best_hand,
                r["loss"].median_s / read_only,
                H.ms(vg.median_s) if vg else "",
                vg.median_s / best_hand_vg if vg else "",
                r["loss"].first_s + (vg.first_s if vg else 0.0),
                "" if impl.library == "read-only" else f"{error:.1e}" + ("" if error <= AGREE else " (DISAGREES)"),
            ]
        )
    return rows


HEADER = [
    "workload",
    "library",
    "implementation",
    "loss ms",
    "/ hand",
    "/ read-only",
    "value_and_grad ms",
    "/ hand",
    "first calls s",
    "rel. error vs float64",
]


def summary(rows: list[list[Any]]) -> list[list[Any]]:
    """Per workload and expfam route (in the order the workload lists them, the route users take
    first): its times against the fastest hand formula and the fastest peer."""
    out = []
    for name in dict.fromkeys(r[0] for r in rows):
        mine = [r for r in rows if r[0] == name]
        ours = [r for r in mine if r[1] == "expfam"]
        hand = [r for r in mine if r[1] == "hand"]
        peers = [r for r in mine if r[1] not in ("expfam", "hand", "read-only")]
        if not ours:
            out.append([name, "not in expfam yet", "", "", "", "", "", ""])
            continue
        h, hv = min(r[3] for r in hand), min((r[6] for r in hand if r[6] != ""), default=float("nan"))
        p = min(peers, key=lambda r: r[3]) if peers else None
        pv = min((r[6] for r in peers if r[6] != ""), default=float("nan"))
        for e in ours:
            ev = e[6] if e[6] != "" else float("nan")
            out.append(
                [
                    name,
                    e[2],
                    e[3],
                    e[3] / h,
                    ev / hv,
                    f"{p[1]} {p[3]:.3g}" if p else "no peer",
                    e[3] / p[3] if p else "",
                    ev / pv if peers else "",
                ]
            )
    return out


SUMMARY_HEADER = [
    "workload",
    "expfam route",
    "loss ms",
    "loss / fastest hand",
    "value_and_grad / fastest hand",
    "fastest peer (loss ms)",
    "loss / fastest peer",
    "value_and_grad / fastest peer",
]


def import_times(python: str = sys.executable, repeats: int = 3) -> list[list[Any]]:
    """Seconds each library's import adds after ``import jax`` (median of fresh interpreters)."""
    modules = {
        "expfam": "expfam",
        "optax": "optax",
        "tfp": "tensorflow_probability.substrates.jax",
        "distrax": "distrax",
        "numpyro": "numpyro.distributions",
        "efax": "efax",
    }
    rows = []
    for name, module in modules.items():
        code = f"import time, jax; t = time.perf_counter(); import {module}; print(time.perf_counter() - t)"
        samples = []
        for _ in range(repeats):
            done = subprocess.run([python, "-c", code], capture_output=True, text=True)
            if done.returncode != 0:
                break
            samples.append(float(done.stdout.strip().splitlines()[-1]))
        rows.append([name, float(np.median(samples)) if samples else "not installed"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="fraction of the full sizes")
    parser.add_argument("--calls", type=int, default=20, help="steady-state calls per measurement (median)")
    parser.add_argument("--workload", action="append", help="substring of a workload name (repeatable)")
    parser.add_argument("--library", action="append", help="only these libraries (plus hand and read-only)")
    parser.add_argument("--clock", choices=["wall", "cpu"], default="wall", help="clock of the steady-state calls")
    parser.add_argument("--no-grad", action="store_true", help="skip value_and_grad")
    parser.add_argument("--no-imports", action="store_true", help="skip the import-time table")
    parser.add_argument("--out", help="also write the markdown here")
    args = parser.parse_args()

    lines = [
        f"Machine: {H.machine()}; expfam {H.git_revision()}; scale {args.scale}; "
        f"median of {args.calls} calls ({args.clock} clock)."
    ]
    missing = [p for p in W.PEERS if W.MODULES[p] is None]
    if missing:
        lines.append(f"Not installed (skipped): {', '.join(missing)}.")
    print("\n".join(lines), flush=True)
    rows: list[list[Any]] = []
    for w in W.workloads():
        if args.workload and not any(s.lower() in w.name.lower() for s in args.workload):
            continue
        libraries = set(args.library) if args.library else None
        new = run_workload(w, args.scale, args.calls, libraries, not args.no_grad, args.clock)
        print(H.markdown_table(HEADER, new), flush=True)
        rows += new
    lines += ["", "### Summary", "", H.markdown_table(SUMMARY_HEADER, summary(rows))]
    lines += ["", "### All implementations", "", H.markdown_table(HEADER, rows)]
    if not args.no_imports:
        lines += ["", "### Import time after `import jax` (s)", "", H.markdown_table(["library", "s"], import_times())]
    text = "\n".join(lines)
    print(text)
    if args.out:
        with open(args.out, "w") as f:
            f.write(text + "\n")


if __name__ == "__main__":
    main()
