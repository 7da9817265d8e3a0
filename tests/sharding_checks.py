"""Sharded evaluation checks, run in a fresh interpreter with 4 simulated CPU devices.

``tests/test_sharding.py`` runs this file as a subprocess, because the device count must
be set before JAX initializes. It prints one JSON object: check name -> "ok" or the error.

For one family of each parameter layout (``--all``: every catalogue family), with the batch
axis of eta and the targets sharded over a 4-device mesh, under jit: cross_entropy, nll,
log_prob, entropy, kl_divergence, expectation
and the gradient of the summed cross-entropy equal their unsharded values, and each output
stays sharded along the batch (every device holds a quarter of the rows). The fused
cross-entropy is checked with the batch sharded, and with the vocabulary of the weight
sharded.
"""

from __future__ import annotations

import os

os.environ["XLA_FLAGS"] = os.environ.get("XLA_FLAGS", "") + " --xla_force_host_platform_device_count=4"

import json
import sys
import traceback
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding
from jax.sharding import PartitionSpec as P

import expfam

sys.path.insert(0, os.path.dirname(__file__))
from helpers import assert_close

#: Families checked by default, one per kind of parameter layout (scalar, pairs, vectors,
#: packed matrices, Bessel-based); ``--all`` checks every catalogue entry.
DEFAULT = (
    "Bernoulli",
    "Normal",
    "Gamma",
    "Poisson",
    "Categorical",
    "Dirichlet",
    "MultivariateNormal",
    "VonMisesFisher",
)

# Rank promotion stays at JAX's default here: the strict setting is the main suite's job, and
# this file checks sharding only.
ROWS = 8


def _check(out: Any, expected: Any, rows_axis_sharded: bool = True) -> None:
    for a, e in zip(jax.tree.leaves(out), jax.tree.leaves(expected), strict=True):
        # Sharded reductions may add in another order: the suite's float32 tolerance, norm-wise.
        if np.all(np.isfinite(np.asarray(e))):
            assert_close(a, e, "float32")
        else:
            np.testing.assert_array_equal(np.asarray(a), np.asarray(e))
        if rows_axis_sharded:
            shard_rows = {s.data.shape[0] for s in a.addressable_shards}
            assert len(a.addressable_shards) == 4, a.sharding
            assert shard_rows == {a.shape[0] // 4}, f"output not sharded along the batch: {a.sharding}"


def family_checks(mesh: jax.sharding.Mesh, every: bool) -> dict[str, Callable[[], None]]:
    checks = {}
    batch = NamedSharding(mesh, P("batch"))
    seen: set[str] = set()
    for entry in expfam.catalogue():
        family = entry.family
        kind = type(family).__name__
        if not every and (kind not in DEFAULT or kind in seen):
            continue
        seen.add(kind)
        eta_rows = [family.natural_from_source(**{k: jnp.asarray(v) for k, v in ex.items()}) for ex in entry.examples]
        eta = jnp.stack([eta_rows[i % len(eta_rows)] for i in range(ROWS)])
        eta_q = eta * 0.9 if type(family).__name__ not in ("Pareto",) else eta + 0.1
        x = family.sample(jax.random.key(0), eta)
        chi, elc = family.target(x)[:2]

        def evaluate(e: Any, eq: Any, c: Any, l: Any, x: Any, f: Any = family) -> dict[str, Any]:
            return {
                "cross_entropy": expfam.cross_entropy(f, e, (c, l)),
                "nll": expfam.nll(f, e, x),
                "log_prob": expfam.log_prob(f, e, x),
                "entropy": expfam.entropy(f, e),
                "kl_divergence": expfam.kl_divergence(f, e, eq),
                "expectation": f.expectation(e),
                "grad": jax.grad(lambda u: jnp.sum(expfam.cross_entropy(f, u, (c, l))))(e),
            }

        def check(fn: Callable[..., Any] = evaluate, args: tuple[Any, ...] = (eta, eta_q, chi, elc, x)) -> None:
            expected = jax.jit(fn)(*args)
            sharded = jax.jit(fn)(*[jax.device_put(a, batch) for a in args])
            for name in expected:
                try:
                    _check(sharded[name], expected[name])
                except AssertionError as error:
                    raise AssertionError(f"{name}: {error}") from None

        checks[family.name] = check
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
    for name, check in {**family_checks(mesh, "--all" in sys.argv), **fused_checks(mesh)}.items():
        try:
            check()
            results[name] = "ok"
        except Exception:
            results[name] = traceback.format_exc(limit=3)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
