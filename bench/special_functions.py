"""Time expfam's log-gamma / digamma / trigamma against jax.scipy.special (jitted, CPU by default).

Usage: ``PYTHONPATH=. python bench/special_functions.py [--size 4194304] [--repeats 20]``.
Prints a markdown table of median times per call (value only, and value + gradient).
"""

from __future__ import annotations

import argparse
import time

import jax
import jax.numpy as jnp
import numpy as np
from jax.scipy import special as jss

from expfam import _gamma_functions as gf


def median_time(fn, inputs, repeats: int) -> float:
    jax.block_until_ready(fn(inputs[0]))
    times = []
    for i in range(repeats):
        x = inputs[i % len(inputs)]
        start = time.perf_counter()
        jax.block_until_ready(fn(x))
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--size", type=int, default=4 * 1024 * 1024)
    parser.add_argument("--repeats", type=int, default=20)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    options = parser.parse_args()
    jax.config.update("jax_enable_x64", options.dtype == "float64")
    rng = np.random.default_rng(0)
    # Log-uniform arguments over 1e-4 .. 1e6, three rotating inputs.
    inputs = [jnp.asarray(10 ** rng.uniform(-4, 6, options.size), options.dtype) for _ in range(3)]
    pairs = {
        "lgamma": (gf.lgamma, jss.gammaln),
        "digamma": (gf.digamma, jss.digamma),
        "trigamma": (gf.trigamma, lambda x: jss.polygamma(1, x)),
    }
    print(f"{options.size} {options.dtype} elements on {jax.devices()[0].platform}, median of {options.repeats}")
    print("| function | expfam (ms) | jax.scipy.special (ms) | speed-up |")
    print("|---|---|---|---|")
    for name, (ours, theirs) in pairs.items():
        for label, wrap in (("", lambda f: f), (" + grad", lambda f: jax.grad(lambda x: jnp.sum(f(x))))):
            if label and name == "trigamma":
                continue
            t_ours = median_time(jax.jit(wrap(ours)), inputs, options.repeats)
            t_theirs = median_time(jax.jit(wrap(theirs)), inputs, options.repeats)
            print(f"| {name}{label} | {1e3 * t_ours:.1f} | {1e3 * t_theirs:.1f} | {t_theirs / t_ours:.2f}x |")


if __name__ == "__main__":
    main()
