"""Benchmark: fused linear + cross-entropy against the materialized N x V logits.

Default sizes N = 4096, d = 512, V = 65536 in float32 (the materialized logits alone are
1 GiB). For the loss and for ``value_and_grad`` in (hidden, weight), both ways: XLA's
memory plan (temporary buffers, and the total with arguments and outputs), the first call,
the median steady-state call, and the relative difference of the value and the gradients.

    PYTHONPATH=. python bench/fused_ce.py                  # full size (a few minutes on 2 cores)
    PYTHONPATH=. python bench/fused_ce.py --n 512 --vocab 8192 --calls 3
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

import expfam

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _harness as H


def materialized(hidden: jax.Array, weight: jax.Array, labels: jax.Array) -> jax.Array:
    logits = hidden @ weight
    picked = jnp.take_along_axis(logits, labels[:, None], axis=-1)[:, 0]
    return jnp.mean(jax.nn.logsumexp(logits, axis=-1) - picked)


def fused(hidden: jax.Array, weight: jax.Array, labels: jax.Array) -> jax.Array:
    return expfam.fused_linear_cross_entropy(hidden, weight, labels)


def memory(fn: Any, args: tuple[Any, ...]) -> tuple[float, float]:
    """(temporary, total) bytes of XLA's buffer plan, in MiB."""
    stats = jax.jit(fn).lower(*args).compile().memory_analysis()
    temp = stats.temp_size_in_bytes
    total = temp + stats.argument_size_in_bytes + stats.output_size_in_bytes - stats.alias_size_in_bytes
    return temp / 2**20, total / 2**20


def relative(a: Any, b: Any) -> float:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--dim", type=int, default=512)
    parser.add_argument("--vocab", type=int, default=65536)
    parser.add_argument("--calls", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    hidden = jnp.asarray(rng.normal(size=(args.n, args.dim)) / np.sqrt(args.dim), jnp.float32)
    weight = jnp.asarray(rng.normal(size=(args.dim, args.vocab)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, args.vocab, args.n), jnp.int32)
    inputs = [(hidden, weight, labels), (hidden * 0.5, weight, labels)]

    rows, results = [], {}
    for name, fn in (("materialized", materialized), ("fused", fused)):
        for mode, f in (("loss", fn), ("value_and_grad", jax.value_and_grad(fn, argnums=(0, 1)))):
            temp, total = memory(f, inputs[0])
            timing = H.time_jitted(f, inputs, calls=args.calls, warmup=1)
            results[name, mode] = (temp, total, timing, jax.jit(f)(*inputs[0]))
            print(f"{name} {mode}: temp {temp:.0f} MiB, total {total:.0f} MiB, {timing}", flush=True)
    for mode in ("loss", "value_and_grad"):
        m_temp, m_total, m_time, m_out = results["materialized", mode]
        f_temp, f_total, f_time, f_out = results["fused", mode]
        diffs = jax.tree.map(relative, f_out, m_out)
        rows.append(
            [
                mode,
                f"{m_temp:.0f} / {m_total:.0f}",
                f"{f_temp:.0f} / {f_total:.0f}",
                f_temp / m_temp,
                f_total / m_total,
                m_time.median_s,
                f_time.median_s,
                f_time.median_s / m_time.median_s,
                f"{m_time.first_s:.2f} / {f_time.first_s:.2f}",
                ", ".join(f"{d:.1e}" for d in jax.tree.leaves(diffs)),
            ]
        )
    header = [
        "",
        "materialized MiB (temp / total)",
        "fused MiB (temp / total)",
        "temp ratio",
        "total ratio",
        "materialized s",
        "fused s",
        "time ratio",
        "first call s (mat. / fused)",
        "rel. diff (value[, d hidden, d weight])",
    ]
    print(f"\nN = {args.n}, d = {args.dim}, V = {args.vocab}, float32; {H.machine()}; median of {args.calls} calls\n")
    print(H.markdown_table(header, rows))


if __name__ == "__main__":
    main()
