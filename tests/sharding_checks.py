"""Sharded evaluation checks, run in a fresh interpreter with 4 simulated CPU devices.

``tests/test_sharding.py`` runs this file as a subprocess, because the device count must
be set before JAX initializes. It prints one JSON object: check name -> "ok" or the error.

For every catalogue family, with the batch axis of eta and the targets sharded over a
4-device mesh, under jit: cross_entropy, nll, log_prob, entropy, kl_divergence, expectation
and the gradient of the summed cross-entropy equal their unsharded values, and each output
stays sharded along the batch (every device holds a quarter of the rows). The fused
cross-entropy is checked with the batch sharded, and with the vocabulary of the weight
sharded.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"

import json
import traceback
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import expfam
from expfam._catalogue import CATALOGUE

# Rank promotion stays at JAX's default here: the strict setting is the main suite's job, and
# this file checks sharding only.
ROWS = 8


def _check(out: Any, expected: Any, rows_axis_sharded: bool = True) -> None:
    for a, e in zip(jax.tree.leaves(out), jax.tree.leaves(expected), strict=True):
        np.testing.assert_allclose(np.asarray(a), np.asarray(e), rtol=1e-5, atol=1e-6)
        if rows_axis_sharded:
            shard_rows = {s.data.shape[0] for s in a.addressable_shards}
            assert len(a.addressable_shards) == 4, a.sharding
            assert shard_rows == {a.shape[0] // 4}, f"output not sharded along the batch: {a.sharding}"


def family_checks(mesh: jax.sharding.Mesh) -> dict[str, Callable[[], None]]:
    checks = {}
    batch = NamedSharding(mesh, P("batch"))
    for entry in CATALOGUE:
        family = entry.family
        eta_rows = [family.natural_from_source(**{k: jnp.asarray(v) for k, v in ex.items()}) for ex in entry.examples]
        eta = jnp.stack([eta_rows[i % len(eta_rows)] for i in range(ROWS)])
        eta_q = eta * 0.9 if type(family).__name__ not in ("Pareto",) else eta + 0.1
        x = family.sample(jax.random.key(0), eta)
        chi, elc = family.target(x)
        functions = {
            "cross_entropy": lambda e, eq, c, l, x, f=family: expfam.cross_entropy(f, e, c, l),
            "nll": lambda e, eq, c, l, x, f=family: expfam.nll(f, e, x),
            "log_prob": lambda e, eq, c, l, x, f=family: expfam.log_prob(f, e, x),
            "entropy": lambda e, eq, c, l, x, f=family: expfam.entropy(f, e),
            "kl_divergence": lambda e, eq, c, l, x, f=family: expfam.kl_divergence(f, e, eq),
            "expectation": lambda e, eq, c, l, x, f=family: f.expectation(e),
            "grad": lambda e, eq, c, l, x, f=family: jax.grad(
                lambda u, c=c, l=l: jnp.sum(expfam.cross_entropy(f, u, c, l))
            )(e),
        }
        args = (eta, eta_q, chi, elc, x)
        for name, fn in functions.items():

            def check(fn: Callable[..., Any] = fn, args: tuple[Any, ...] = args) -> None:
                expected = jax.jit(fn)(*args)
                sharded = [jax.device_put(a, batch) for a in args]
                _check(jax.jit(fn)(*sharded), expected)

            checks[f"{family.name}: {name}"] = check
    return checks


def fused_checks(mesh: jax.sharding.Mesh) -> dict[str, Callable[[], None]]:
    rng = np.random.default_rng(0)
    hidden = jnp.asarray(rng.normal(size=(16, 8)), jnp.float32)
    weight = jnp.asarray(rng.normal(size=(8, 64)), jnp.float32)
    labels = jnp.asarray(rng.integers(0, 64, 16), jnp.int32)

    def step(h: jax.Array, w: jax.Array, y: jax.Array) -> Any:
        loss = lambda h, w: expfam.fused_linear_cross_entropy(h, w, y, chunk_rows=4, label_smoothing=0.1)  # noqa: E731
        return jax.value_and_grad(loss, argnums=(0, 1))(h, w)

    expected = jax.jit(step)(hidden, weight, labels)

    def batch_sharded() -> None:
        batch = NamedSharding(mesh, P("batch"))
        value, (dh, dw) = jax.jit(step)(jax.device_put(hidden, batch), weight, jax.device_put(labels, batch))
        _check(value, expected[0], rows_axis_sharded=False)
        _check(dh, expected[1][0])
        _check(dw, expected[1][1], rows_axis_sharded=False)

    def vocab_sharded() -> None:
        vocab = NamedSharding(mesh, P(None, "batch"))
        value, (dh, dw) = jax.jit(step)(hidden, jax.device_put(weight, vocab), labels)
        _check(value, expected[0], rows_axis_sharded=False)
        _check(dh, expected[1][0], rows_axis_sharded=False)
        _check(dw.T, expected[1][1].T)  # the weight gradient stays sharded along the vocabulary

    return {
        "fused_linear_cross_entropy: batch sharded": batch_sharded,
        "fused_linear_cross_entropy: vocab sharded": vocab_sharded,
    }


def main() -> None:
    assert len(jax.devices()) == 4, jax.devices()
    mesh = jax.make_mesh((4,), ("batch",), axis_types=(jax.sharding.AxisType.Auto,))
    results = {}
    for name, check in {**family_checks(mesh), **fused_checks(mesh)}.items():
        try:
            check()
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc(limit=3)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
