"""Timing and table helpers shared by the benchmark scripts (not part of the package).

Every timed function is jitted; a measurement records the first call (trace + compile +
run) and the median of repeated steady-state calls over rotating inputs, each call
finished with ``block_until_ready``.
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import time
from collections.abc import Callable, Sequence
from typing import Any, NamedTuple

import jax


class Timing(NamedTuple):
    first_s: float  # first call: trace, compile and one run
    median_s: float  # median steady-state call


def _block(tree: Any) -> Any:
    return jax.block_until_ready(tree)


#: The clock of the steady-state timings: wall time, or the process's CPU time (all threads),
#: which is steadier than wall time on a machine shared with other jobs.
CLOCKS = {"wall": time.perf_counter, "cpu": time.process_time}


def time_interleaved(
    functions: Sequence[Callable[..., Any]],
    inputs: Sequence[Sequence[tuple[Any, ...]]],
    calls: int = 20,
    warmup: int = 3,
    clock: str = "wall",
) -> list[Timing]:
    """Time several jitted functions, calls interleaved round-robin so load drift hits all alike.

    Args:
        functions: the functions to time (each jitted here, once).
        inputs: per function, argument tuples used in turn (rotating inputs).
        calls: steady-state calls per function after warm-up (the median is reported).
        warmup: untimed calls after the first.
        clock: ``"wall"`` or ``"cpu"`` for the steady-state calls; the first call is wall time.
    """
    now = CLOCKS[clock]
    jitted = [jax.jit(fn) for fn in functions]
    first = []
    for fn, args in zip(jitted, inputs, strict=True):
        start = time.perf_counter()
        _block(fn(*args[0]))
        first.append(time.perf_counter() - start)
    samples: list[list[float]] = [[] for _ in jitted]
    for i in range(warmup + calls):
        for fn, args, out in zip(jitted, inputs, samples, strict=True):
            start = now()
            _block(fn(*args[(i + 1) % len(args)]))
            if i >= warmup:
                out.append(now() - start)
    return [Timing(f, statistics.median(s)) for f, s in zip(first, samples, strict=True)]


def time_jitted(fn: Callable[..., Any], inputs: Sequence[tuple[Any, ...]], calls: int = 20, warmup: int = 3) -> Timing:
    """Time ``jax.jit(fn)`` alone on a rotation of argument tuples (see ``time_interleaved``)."""
    return time_interleaved([fn], [inputs], calls, warmup)[0]


def machine() -> str:
    """One line naming the machine, the backend and the library versions."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    devices = jax.devices()
    kind = devices[0].device_kind if devices else "?"
    return (
        f"{cpu}, {os.cpu_count()} cores visible, backend {jax.default_backend()} ({kind} x{len(devices)}), "
        f"jax {jax.__version__}, Python {platform.python_version()}"
    )


def git_revision() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=True)
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "?"


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A GitHub markdown table; floats are written with 3 significant digits."""

    def cell(v: Any) -> str:
        if isinstance(v, float):
            return f"{v:.3g}"
        return str(v)

    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return "\n".join(lines)


def ms(seconds: float) -> float:
    return seconds * 1e3
