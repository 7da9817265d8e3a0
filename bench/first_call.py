"""Benchmark: start-up. ``import expfam`` after ``import jax``, and the first call (trace + compile)
of each loss against optax's for the families optax has.

* import: process CPU time of ``import expfam`` in a fresh interpreter after ``import jax``, with
  the bytecode cache (what an installed package has) and without it (``PYTHONDONTWRITEBYTECODE``
  and an empty ``pycache_prefix``: every module compiled from source); median of ``--runs``.
* first call: process CPU time of ``jax.jit(f).lower(...)`` (trace) and ``.compile()`` for the loss
  and for ``value_and_grad``, each in a fresh interpreter in which jax has already compiled an
  unrelated small function (so jax's own one-time costs are not charged to the first workload).
  Shapes only (``jax.ShapeDtypeStruct``): nothing is run. CPU time rather than wall time: the
  compiler is single-threaded and CPU time is steadier on a shared machine.

    PYTHONPATH=. python bench/first_call.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys

sys.path.insert(0, __file__.rsplit("/", 1)[0])
import _harness as H

IMPORT = "import time, jax; t = time.process_time(); import expfam; print(time.process_time() - t)"

#: name -> (shapes, expression of the per-example loss in z and y); ``cat`` and ``ber`` are the families.
WORKLOADS = {
    "Categorical soft, expfam loss(family)(z, probabilities_target(t))": (
        "(n, k), (n, k)",
        "expfam.loss(cat)(z, cat.probabilities_target(y))",
    ),
    "Categorical soft, optax softmax_cross_entropy": ("(n, k), (n, k)", "optax.softmax_cross_entropy(z, y)"),
    "Categorical labels, expfam loss(family)(z, labels)": ("(n, k), (n,)", "expfam.loss(cat)(z, y)"),
    "Categorical labels, optax softmax_cross_entropy_with_integer_labels": (
        "(n, k), (n,)",
        "optax.softmax_cross_entropy_with_integer_labels(z, y)",
    ),
    "Bernoulli, expfam loss(family)(z, y)": ("(m, 1), (m,)", "expfam.loss(ber)(z, y)"),
    "Bernoulli, optax sigmoid_binary_cross_entropy": ("(m, 1), (m,)", "optax.sigmoid_binary_cross_entropy(z[:, 0], y)"),
}

FIRST_CALL = """
import time, jax, jax.numpy as jnp, expfam, optax
S = jax.ShapeDtypeStruct
n, k, m = 16384, 1000, 1 << 20
cat, ber = expfam.Categorical(k), expfam.Bernoulli()
jax.jit(lambda a: jnp.mean(jax.nn.logsumexp(a, -1))).lower(S((8, 4), jnp.float32)).compile()
zs, ys = {shapes}
z = S(zs, jnp.float32)
y = S(ys, jnp.int32 if len(ys) == 1 and ys[0] == n else jnp.float32)
f = lambda z, y: jnp.mean({expression})
for g in (f, jax.value_and_grad(f)):
    c0 = time.process_time(); lowered = jax.jit(g).lower(z, y); c1 = time.process_time()
    lowered.compile(); c2 = time.process_time()
    print(c1 - c0, c2 - c1)
"""


def _run(code: str, env: dict[str, str], *flags: str) -> list[float]:
    out = subprocess.run([sys.executable, *flags, "-c", code], capture_output=True, text=True, check=True, env=env)
    return [float(v) for v in out.stdout.split()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    cached = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    _run("import expfam", cached)  # writes the bytecode cache
    uncached = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    empty = "/tmp/expfam-bench-empty-pycache"
    rows = []
    for name, env, flags in (
        ("import expfam (bytecode cached)", cached, ()),
        ("import expfam (no bytecode cache)", uncached, ("-X", f"pycache_prefix={empty}")),
    ):
        rows.append([name, f"{statistics.median(_run(IMPORT, env, *flags)[0] for _ in range(args.runs)):.3f}", "", ""])
        print(rows[-1], flush=True)
    for name, (shapes, expression) in WORKLOADS.items():
        code = FIRST_CALL.format(shapes=shapes, expression=expression)
        runs = [_run(code, cached) for _ in range(args.runs)]
        loss_trace, loss_compile, vg_trace, vg_compile = (statistics.median(r[i] for r in runs) for i in range(4))
        rows.append(
            [
                name,
                f"{loss_trace:.2f} + {loss_compile:.2f}",
                f"{vg_trace:.2f} + {vg_compile:.2f}",
                f"{loss_trace + loss_compile + vg_trace + vg_compile:.2f}",
            ]
        )
        print(rows[-1], flush=True)
    print(f"\n{H.machine()}; median of {args.runs} fresh processes (process CPU time, s)\n")
    print(H.markdown_table(["what", "loss: trace + compile", "value_and_grad: trace + compile", "total"], rows))


if __name__ == "__main__":
    main()
