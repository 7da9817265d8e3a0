"""Loss workloads for ``bench/losses.py``: data, a float64 reference, and implementations.

Each implementation has an untimed ``prepare(data) -> (params, *rest)`` that builds its own
inputs from the shared float64 data (its parametrization, prepared targets), and a timed
``loss(params, *rest) -> mean loss``; ``value_and_grad`` is taken in ``params``. Peer
libraries are imported lazily and skipped, with a note, when they are not installed.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from scipy import special, stats

import expfam

Data = dict[str, np.ndarray]
F32 = np.float32


class Impl(NamedTuple):
    library: str  # "expfam", "hand", "read-only", "optax" or a peer library's name
    variant: str  # what the implementation reads or computes, for the table
    prepare: Callable[[Data], tuple[Any, ...]]
    loss: Callable[..., jax.Array]


class Workload(NamedTuple):
    name: str
    size: str
    make: Callable[[np.random.Generator, float], Data]  # (rng, scale) -> float64 data
    reference: Callable[[Data], float]  # float64 mean loss
    impls: list[Impl]


def f32(*arrays: np.ndarray) -> tuple[jax.Array, ...]:
    return tuple(jnp.asarray(a, F32) for a in arrays)


def _mean(x: jax.Array) -> jax.Array:
    return jnp.mean(x)


# -- optional libraries -------------------------------------------------------------------
def _try_import(name: str) -> Any:
    try:
        if name == "tfp":
            import tensorflow_probability.substrates.jax as tfp

            return tfp.distributions
        if name == "distrax":
            import distrax

            return distrax
        if name == "numpyro":
            import numpyro.distributions

            return numpyro.distributions
        if name == "efax":
            import efax

            return efax
        if name == "optax":
            import optax

            return optax
    except Exception:  # a missing or broken peer is skipped, never fatal
        return None
    raise ValueError(name)


PEERS = ("optax", "tfp", "distrax", "numpyro", "efax")
MODULES = {name: _try_import(name) for name in PEERS}


def _peer(name: str, variant: str, prepare: Callable[[Data], tuple[Any, ...]], loss: Callable[..., Any]) -> list[Impl]:
    return [Impl(name, variant, prepare, loss)] if MODULES[name] is not None else []


def _expfam(
    family: expfam.ExponentialFamily, source: Callable[[Data], dict[str, np.ndarray]], x_key: str
) -> list[Impl]:
    """expfam with targets prepared once (``family.target(x)`` untimed), and from raw samples."""

    def prepared(d: Data) -> tuple[Any, ...]:
        with jax.enable_x64(True):  # natural parameters computed in float64, then rounded once
            eta64 = np.asarray(family.natural_from_source(**{k: jnp.asarray(v) for k, v in source(d).items()}))
        eta = jnp.asarray(eta64, F32)
        x = jnp.asarray(d[x_key]) if d[x_key].dtype.kind == "i" else jnp.asarray(d[x_key], F32)
        return eta, family.target(x)

    def raw(d: Data) -> tuple[Any, ...]:
        eta = prepared(d)[0]
        return eta, jnp.asarray(d[x_key]) if d[x_key].dtype.kind == "i" else jnp.asarray(d[x_key], F32)

    def masked(d: Data) -> tuple[Any, ...]:
        eta, x = raw(d)
        n = eta.shape[0]
        return eta, x, jnp.ones(n, F32), jnp.ones(n, bool)

    per_example = expfam.loss(family, lambda r: r)
    # The route users take first (samples), then loss() with weights and where, then the prepared target.
    return [
        Impl("expfam", "nll(x)", raw, lambda e, x: _mean(expfam.nll(family, e, x))),
        Impl(
            "expfam",
            "loss()(eta, x, weights, where)",
            masked,
            lambda e, x, w, m: _mean(per_example(e, x, weights=w, where=m)),
        ),
        Impl(
            "expfam",
            "cross_entropy, prepared target",
            prepared,
            lambda e, t: _mean(expfam.cross_entropy(family, e, t)),
        ),
    ]


def _hand_select(prepare: Callable[[Data], tuple[Any, ...]], g: Callable[[jax.Array], jax.Array]) -> Impl:
    """A hand-written log-normalizer on expfam's prepared inputs (eta, chi, elc), written out
    with the same out-of-support select as expfam: on XLA:CPU the select keeps the
    elementwise math in one vectorized loop, apart from the reduction (often faster)."""

    def loss(eta: jax.Array, chi: jax.Array, elc: jax.Array) -> jax.Array:
        inner = sum(chi[:, i] * eta[:, i] for i in range(eta.shape[-1]))
        return _mean(jnp.where(jnp.isneginf(elc), jnp.inf, g(eta) - inner - elc))

    def inputs(d: Data) -> tuple[Any, ...]:
        eta, *rest = prepare(d)
        return (eta, rest[0].chi, rest[0].elc) if isinstance(rest[0], expfam.Target) else (eta, *rest)

    return Impl("hand", "g(eta) - chi . eta - elc, support select", inputs, loss)


def _read_only(prepare: Callable[[Data], tuple[Any, ...]]) -> Impl:
    """A pass that only reads the inputs: the sum of every input array."""
    return Impl("read-only", "sum of the inputs", prepare, lambda *a: sum(jnp.sum(x) for x in jax.tree.leaves(a)))


# -- Bernoulli ----------------------------------------------------------------------------
def _bernoulli_data(rng: np.random.Generator, scale: float) -> Data:
    n = int(4_000_000 * scale)
    z = rng.normal(0.0, 3.0, n)
    return {"logit": z, "y": (rng.random(n) < special.expit(z)).astype(np.float64)}


def _bernoulli() -> Workload:
    fam = expfam.Bernoulli()
    zy = lambda d: f32(d["logit"], d["y"])  # noqa: E731
    tfd, dx, npd, ef, ox = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax", "optax"))
    impls = [
        *_expfam(fam, lambda d: {"probability": special.expit(d["logit"])}, "y"),
        _hand_select(
            _expfam(fam, lambda d: {"probability": special.expit(d["logit"])}, "y")[-1].prepare,
            lambda e: jnp.maximum(e[:, 0], 0) + jnp.log1p(jnp.exp(-jnp.abs(e[:, 0]))),
        ),
        Impl("hand", "softplus(z) - y z", zy, lambda z, y: _mean(jax.nn.softplus(z) - y * z)),
        Impl(
            "hand",
            "max(z,0) - y z + log1p(exp(-|z|))",
            zy,
            lambda z, y: _mean(jnp.maximum(z, 0) - y * z + jnp.log1p(jnp.exp(-jnp.abs(z)))),
        ),
        _read_only(zy),
        *_peer("optax", "sigmoid_binary_cross_entropy", zy, lambda z, y: _mean(ox.sigmoid_binary_cross_entropy(z, y))),
        *_peer("tfp", "Bernoulli(logits).log_prob", zy, lambda z, y: -_mean(tfd.Bernoulli(logits=z).log_prob(y))),
        *_peer("distrax", "Bernoulli(logits).log_prob", zy, lambda z, y: -_mean(dx.Bernoulli(logits=z).log_prob(y))),
        *_peer("numpyro", "Bernoulli(logits).log_prob", zy, lambda z, y: -_mean(npd.Bernoulli(logits=z).log_prob(y))),
        *_peer(
            "efax",
            "BernoulliNP.log_pdf",
            lambda d: (jnp.asarray(d["logit"], F32), jnp.asarray(d["y"] > 0.5)),
            lambda z, y: -_mean(ef.BernoulliNP(log_odds=z).log_pdf(y)),
        ),
    ]
    ref = lambda d: float(np.mean(np.logaddexp(0.0, d["logit"]) - d["y"] * d["logit"]))  # noqa: E731
    return Workload("Bernoulli", "N = 4M", _bernoulli_data, ref, impls)


# -- heteroscedastic Normal ---------------------------------------------------------------
HALF_LOG_2PI = 0.5 * math.log(2 * math.pi)


def _normal_data(rng: np.random.Generator, scale: float) -> Data:
    n = int(4_000_000 * scale)
    loc, sd = rng.normal(0.0, 1.0, n), np.exp(rng.normal(0.0, 0.5, n))
    return {"loc": loc, "scale": sd, "x": rng.normal(loc, sd)}


def _normal() -> Workload:
    fam = expfam.Normal()
    tfd, dx, npd, ef = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax"))

    def natural(d: Data) -> tuple[Any, ...]:
        v = d["scale"] ** 2
        return f32(np.stack([d["loc"] / v, -0.5 / v], -1), d["x"])

    def prepared(d: Data) -> tuple[Any, ...]:
        eta, x = natural(d)
        return eta, jnp.stack([x, x * x], -1)

    def hand_natural(eta: jax.Array, x: jax.Array) -> jax.Array:
        e1, e2 = eta[:, 0], eta[:, 1]
        return _mean(-0.25 * e1 * e1 / e2 - 0.5 * jnp.log(-2.0 * e2) - e1 * x - e2 * x * x + HALF_LOG_2PI)

    def hand_prepared(eta: jax.Array, t: jax.Array) -> jax.Array:
        e1, e2 = eta[:, 0], eta[:, 1]
        return _mean(-0.25 * e1 * e1 / e2 - 0.5 * jnp.log(-2.0 * e2) - e1 * t[:, 0] - e2 * t[:, 1] + HALF_LOG_2PI)

    def hand_loc_scale(p: tuple[jax.Array, jax.Array], x: jax.Array) -> jax.Array:
        loc, sd = p
        r = (x - loc) / sd
        return _mean(0.5 * r * r + jnp.log(sd) + HALF_LOG_2PI)

    loc_scale = lambda d: ((jnp.asarray(d["loc"], F32), jnp.asarray(d["scale"], F32)), jnp.asarray(d["x"], F32))  # noqa: E731
    # A head's one (N, 2) output array, as a network gives it: the layout expfam's eta has.
    stacked = lambda d: (jnp.asarray(np.stack([d["loc"], d["scale"]], -1), F32), jnp.asarray(d["x"], F32))  # noqa: E731
    impls = [
        *_expfam(fam, lambda d: {"loc": d["loc"], "scale": d["scale"]}, "x"),
        Impl("hand", "natural eta, x", natural, hand_natural),
        _hand_select(
            _expfam(fam, lambda d: {"loc": d["loc"], "scale": d["scale"]}, "x")[-1].prepare,
            lambda e: -0.25 * e[:, 0] * e[:, 0] / e[:, 1] - 0.5 * jnp.log(-2.0 * e[:, 1]),
        ),
        Impl("hand", "natural eta, (x, x^2)", prepared, hand_prepared),
        Impl("hand", "loc, scale, x", loc_scale, hand_loc_scale),
        _read_only(lambda d: _expfam(fam, lambda d: {"loc": d["loc"], "scale": d["scale"]}, "x")[-1].prepare(d)),
        *_peer("tfp", "Normal(loc, scale).log_prob", loc_scale, lambda p, x: -_mean(tfd.Normal(*p).log_prob(x))),
        *_peer("distrax", "Normal(loc, scale).log_prob", loc_scale, lambda p, x: -_mean(dx.Normal(*p).log_prob(x))),
        *_peer("numpyro", "Normal(loc, scale).log_prob", loc_scale, lambda p, x: -_mean(npd.Normal(*p).log_prob(x))),
        *_peer(
            "numpyro",
            "Normal(out[:, 0], out[:, 1]).log_prob, one (N, 2) output",
            stacked,
            lambda out, x: -_mean(npd.Normal(out[:, 0], out[:, 1]).log_prob(x)),
        ),
        *_peer(
            "tfp",
            "Normal(out[:, 0], out[:, 1]).log_prob, one (N, 2) output",
            stacked,
            lambda out, x: -_mean(tfd.Normal(out[:, 0], out[:, 1]).log_prob(x)),
        ),
        *_peer(
            "efax", "NormalNP.log_pdf", natural, lambda eta, x: -_mean(ef.NormalNP(eta[:, 0], eta[:, 1]).log_pdf(x))
        ),
    ]
    ref = lambda d: float(-np.mean(stats.norm.logpdf(d["x"], d["loc"], d["scale"])))  # noqa: E731
    return Workload("Normal (heteroscedastic)", "N = 4M", _normal_data, ref, impls)


# -- Gamma ----------------------------------------------------------------------------------
def _gamma_data(rng: np.random.Generator, scale: float) -> Data:
    n = int(4_000_000 * scale)
    k, r = np.exp(rng.uniform(np.log(0.5), np.log(20.0), n)), np.exp(rng.normal(0.0, 1.0, n))
    return {"shape": k, "rate": r, "x": rng.gamma(k, 1.0 / r)}


def _gamma() -> Workload:
    fam = expfam.Gamma()
    tfd, dx, npd, ef = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax"))
    natural = lambda d: f32(np.stack([-d["rate"], d["shape"]], -1), d["x"])  # noqa: E731
    shape_rate = lambda d: ((jnp.asarray(d["shape"], F32), jnp.asarray(d["rate"], F32)), jnp.asarray(d["x"], F32))  # noqa: E731

    def prepared(d: Data) -> tuple[Any, ...]:
        eta, x = natural(d)
        return eta, jnp.stack([x, jnp.log(x)], -1), -jnp.log(x)

    def hand_raw(eta: jax.Array, x: jax.Array) -> jax.Array:
        # Written with -eta_1 x: the form "+ r x" with r = -eta_1 is miscompiled by XLA:CPU in jax 0.12.
        k = eta[:, 1]
        return _mean(jax.lax.lgamma(k) - k * jnp.log(-eta[:, 0]) - eta[:, 0] * x - (k - 1.0) * jnp.log(x))

    def hand_prepared(eta: jax.Array, t: jax.Array, elc: jax.Array) -> jax.Array:
        r, k = -eta[:, 0], eta[:, 1]
        return _mean(jax.lax.lgamma(k) - k * jnp.log(r) + r * t[:, 0] - k * t[:, 1] - elc)

    impls = [
        *_expfam(fam, lambda d: {"shape": d["shape"], "rate": d["rate"]}, "x"),
        Impl("hand", "natural eta, x", natural, hand_raw),
        _hand_select(prepared, lambda e: jax.lax.lgamma(e[:, 1]) - e[:, 1] * jnp.log(-e[:, 0])),
        Impl("hand", "natural eta, (x, log x), -log x", prepared, hand_prepared),
        _read_only(prepared),
        *_peer("tfp", "Gamma(k, r).log_prob", shape_rate, lambda p, x: -_mean(tfd.Gamma(*p).log_prob(x))),
        *_peer("distrax", "Gamma(k, r).log_prob", shape_rate, lambda p, x: -_mean(dx.Gamma(*p).log_prob(x))),
        *_peer("numpyro", "Gamma(k, r).log_prob", shape_rate, lambda p, x: -_mean(npd.Gamma(*p).log_prob(x))),
        *_peer(
            "efax", "GammaNP.log_pdf", natural, lambda eta, x: -_mean(ef.GammaNP(eta[:, 0], eta[:, 1] - 1.0).log_pdf(x))
        ),
    ]
    ref = lambda d: float(-np.mean(stats.gamma.logpdf(d["x"], d["shape"], scale=1.0 / d["rate"])))  # noqa: E731
    return Workload("Gamma", "N = 4M", _gamma_data, ref, impls)


# -- Poisson --------------------------------------------------------------------------------
def _poisson_data(rng: np.random.Generator, scale: float) -> Data:
    n = int(4_000_000 * scale)
    log_rate = rng.uniform(-2.0, 4.0, n)
    return {"log_rate": log_rate, "x": rng.poisson(np.exp(log_rate)).astype(np.float64)}


def _poisson() -> Workload:
    fam = expfam.Poisson()
    tfd, npd, ef = (MODULES[k] for k in ("tfp", "numpyro", "efax"))
    raw = lambda d: f32(d["log_rate"], d["x"])  # noqa: E731

    def prepared(d: Data) -> tuple[Any, ...]:
        eta, x = raw(d)
        return eta, x, -jax.lax.lgamma(x + 1.0)

    impls = [
        *_expfam(fam, lambda d: {"rate": np.exp(d["log_rate"])}, "x"),
        Impl("hand", "log-rate, x", raw, lambda e, x: _mean(jnp.exp(e) - x * e + jax.lax.lgamma(x + 1.0))),
        _hand_select(lambda d: (lambda e, x, l: (e[:, None], x[:, None], l))(*prepared(d)), lambda e: jnp.exp(e[:, 0])),
        Impl("hand", "log-rate, x, -log x!", prepared, lambda e, x, elc: _mean(jnp.exp(e) - x * e - elc)),
        _read_only(prepared),
        *_peer("tfp", "Poisson(log_rate).log_prob", raw, lambda e, x: -_mean(tfd.Poisson(log_rate=e).log_prob(x))),
        *_peer("numpyro", "Poisson(exp(eta)).log_prob", raw, lambda e, x: -_mean(npd.Poisson(jnp.exp(e)).log_prob(x))),
        *_peer("efax", "PoissonNP.log_pdf", raw, lambda e, x: -_mean(ef.PoissonNP(e).log_pdf(x))),
    ]
    ref = lambda d: float(-np.mean(stats.poisson.logpmf(d["x"], np.exp(d["log_rate"]))))  # noqa: E731
    return Workload("Poisson", "N = 4M", _poisson_data, ref, impls)


# -- Categorical ------------------------------------------------------------------------------
def _categorical_data(rng: np.random.Generator, scale: float) -> Data:
    n, k = int(16384 * scale), 1000
    z = rng.normal(0.0, 2.0, (n, k))
    p = special.softmax(z, axis=-1)
    labels = (p.cumsum(-1) > rng.random((n, 1))).argmax(-1)
    soft = special.softmax(rng.normal(0.0, 2.0, (n, k)), axis=-1)
    return {"logits": z, "labels": labels.astype(np.int32), "soft": soft}


def _categorical_labels() -> Workload:
    fam = expfam.Categorical(1000)
    tfd, dx, npd, ef, ox = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax", "optax"))
    zl = lambda d: (jnp.asarray(d["logits"], F32), jnp.asarray(d["labels"]))  # noqa: E731
    take = lambda z, y: jnp.take_along_axis(z, y[:, None], axis=-1)[:, 0]  # noqa: E731

    def efax_inputs(d: Data) -> tuple[Any, ...]:
        z = d["logits"]
        onehot = np.eye(z.shape[1], dtype=F32)[d["labels"]]
        return jnp.asarray(z[:, 1:] - z[:, :1], F32), jnp.asarray(onehot[:, 1:])

    impls = [
        *_expfam(fam, lambda d: {"probabilities": special.softmax(d["logits"], -1)}, "labels"),
        Impl("hand", "logsumexp(z) - z[y]", zl, lambda z, y: _mean(jax.nn.logsumexp(z, -1) - take(z, y))),
        Impl("hand", "-log_softmax(z)[y]", zl, lambda z, y: -_mean(take(jax.nn.log_softmax(z), y))),
        _read_only(zl),
        *_peer(
            "optax",
            "softmax_cross_entropy_with_integer_labels",
            zl,
            lambda z, y: _mean(ox.softmax_cross_entropy_with_integer_labels(z, y)),
        ),
        *_peer("tfp", "Categorical(logits).log_prob", zl, lambda z, y: -_mean(tfd.Categorical(logits=z).log_prob(y))),
        *_peer(
            "distrax", "Categorical(logits).log_prob", zl, lambda z, y: -_mean(dx.Categorical(logits=z).log_prob(y))
        ),
        *_peer(
            "numpyro", "Categorical(logits).log_prob", zl, lambda z, y: -_mean(npd.Categorical(logits=z).log_prob(y))
        ),
        *_peer(
            "efax",
            "CategoricalNP.log_pdf (K-1 log-odds, one-hot)",
            efax_inputs,
            lambda q, x: -_mean(ef.CategoricalNP(q).log_pdf(x)),
        ),
    ]

    def ref(d: Data) -> float:
        z = d["logits"]
        return float(np.mean(special.logsumexp(z, -1) - np.take_along_axis(z, d["labels"][:, None], -1)[:, 0]))

    return Workload("Categorical, integer labels", "16384 x 1000", _categorical_data, ref, impls)


def _categorical_soft() -> Workload:
    fam = expfam.Categorical(1000)
    per_example = expfam.loss(fam)
    tfd, dx, ox = (MODULES[k] for k in ("tfp", "distrax", "optax"))
    zt = lambda d: f32(d["logits"], d["soft"])  # noqa: E731
    impls = [
        # The route users take first: the probability vectors through loss() (checked, every call).
        Impl(
            "expfam",
            "loss()(logits, probabilities_target(p))",
            zt,
            lambda z, t: _mean(per_example(z, fam.probabilities_target(t))),
        ),
        Impl(
            "expfam",
            "loss()(logits, probabilities_target(p), weights, where)",
            lambda d: (*zt(d), jnp.ones(d["logits"].shape[0], F32), jnp.ones(d["logits"].shape[0], bool)),
            lambda z, t, w, m: _mean(per_example(z, fam.probabilities_target(t), weights=w, where=m)),
        ),
        Impl(
            "expfam",
            "cross_entropy, prepared target",
            lambda d: (jnp.asarray(d["logits"], F32), fam.probabilities_target(jnp.asarray(d["soft"], F32))),
            lambda z, t: _mean(expfam.cross_entropy(fam, z, t)),
        ),
        Impl("hand", "logsumexp(z) - t . z", zt, lambda z, t: _mean(jax.nn.logsumexp(z, -1) - jnp.sum(t * z, -1))),
        Impl("hand", "-t . log_softmax(z)", zt, lambda z, t: -_mean(jnp.sum(t * jax.nn.log_softmax(z), -1))),
        _read_only(zt),
        *_peer("optax", "softmax_cross_entropy", zt, lambda z, t: _mean(ox.softmax_cross_entropy(z, t))),
        *_peer(
            "tfp",
            "Categorical(probs=t).cross_entropy",
            zt,
            lambda z, t: _mean(tfd.Categorical(probs=t).cross_entropy(tfd.Categorical(logits=z))),
        ),
        *_peer(
            "distrax",
            "Categorical(probs=t).cross_entropy",
            zt,
            lambda z, t: _mean(dx.Categorical(probs=t).cross_entropy(dx.Categorical(logits=z))),
        ),
    ]

    def ref(d: Data) -> float:
        z = d["logits"]
        return float(np.mean(special.logsumexp(z, -1) - np.sum(d["soft"] * z, -1)))

    return Workload("Categorical, soft targets", "16384 x 1000", _categorical_data, ref, impls)


# -- Dirichlet ----------------------------------------------------------------------------------
def _dirichlet_data(rng: np.random.Generator, scale: float) -> Data:
    n, k = int(262_144 * scale), 16
    alpha = np.exp(rng.uniform(-1.0, 2.0, (n, k)))
    return {"concentration": alpha, "x": _dirichlet_sample(rng, alpha)}


def _dirichlet_sample(rng: np.random.Generator, alpha: np.ndarray) -> np.ndarray:
    g = rng.gamma(alpha)
    x = g / g.sum(-1, keepdims=True)
    return np.maximum(x, np.finfo(F32).tiny)  # keep every coordinate a positive float32


def _dirichlet() -> Workload:
    tfd, dx, npd, ef = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax"))
    ax = lambda d: f32(d["concentration"], d["x"])  # noqa: E731
    alx = lambda d: f32(d["concentration"], np.log(d["x"]))  # noqa: E731

    def hand(a: jax.Array, log_x: jax.Array) -> jax.Array:
        lg = jax.lax.lgamma
        return _mean(jnp.sum(lg(a) - (a - 1.0) * log_x, -1) - lg(jnp.sum(a, -1)))

    impls = [
        *_expfam(expfam.Dirichlet(16), lambda d: {"concentration": d["concentration"]}, "x"),
        Impl("hand", "alpha, x", ax, lambda a, x: hand(a, jnp.log(x))),
        Impl("hand", "alpha, log x", alx, hand),
        _read_only(alx),
        *_peer("tfp", "Dirichlet(alpha).log_prob", ax, lambda a, x: -_mean(tfd.Dirichlet(a).log_prob(x))),
        *_peer("distrax", "Dirichlet(alpha).log_prob", ax, lambda a, x: -_mean(dx.Dirichlet(a).log_prob(x))),
        *_peer("numpyro", "Dirichlet(alpha).log_prob", ax, lambda a, x: -_mean(npd.Dirichlet(a).log_prob(x))),
        *_peer(
            "efax",
            "DirichletNP.log_pdf (x without its last coordinate)",
            lambda d: f32(d["concentration"], d["x"][:, :-1]),
            lambda a, x: -_mean(ef.DirichletNP(a - 1.0).log_pdf(x)),
        ),
    ]

    def ref(d: Data) -> float:
        a, x = d["concentration"], d["x"]
        lg = special.gammaln
        return float(np.mean(np.sum(lg(a) - (a - 1.0) * np.log(x), -1) - lg(a.sum(-1))))

    return Workload("Dirichlet", "262144 x 16", _dirichlet_data, ref, impls)


# -- multivariate normal, full covariance -----------------------------------------------------
def _mvn_data(rng: np.random.Generator, scale: float) -> Data:
    n, d = int(65_536 * scale), 16
    tril = np.tril(rng.normal(0.0, 0.3, (n, d, d)), -1) + np.eye(d) * np.exp(rng.uniform(-0.5, 0.5, (n, 1, d)))
    loc = rng.normal(0.0, 1.0, (n, d))
    return {"loc": loc, "scale_tril": tril, "x": loc + np.einsum("nij,nj->ni", tril, rng.normal(size=(n, d)))}


def _mvn() -> Workload:
    tfd, dx, npd, ef = (MODULES[k] for k in ("tfp", "distrax", "numpyro", "efax"))
    lx = lambda d: ((jnp.asarray(d["loc"], F32), jnp.asarray(d["scale_tril"], F32)), jnp.asarray(d["x"], F32))  # noqa: E731

    def hand(p: tuple[jax.Array, jax.Array], x: jax.Array) -> jax.Array:
        loc, tril = p
        r = jax.scipy.linalg.solve_triangular(tril, (x - loc)[..., None], lower=True)[..., 0]
        log_det = jnp.sum(jnp.log(jnp.diagonal(tril, axis1=-2, axis2=-1)), -1)
        return _mean(0.5 * jnp.sum(r * r, -1) + log_det + x.shape[-1] * HALF_LOG_2PI)

    def natural(d: Data) -> tuple[Any, ...]:
        precision = np.linalg.inv(d["scale_tril"] @ np.swapaxes(d["scale_tril"], -1, -2))
        return (
            jnp.asarray(np.einsum("nij,nj->ni", precision, d["loc"]), F32),
            jnp.asarray(-0.5 * precision, F32),
        ), jnp.asarray(d["x"], F32)

    family = expfam.MultivariateNormal(16)
    head = expfam.source_link(family, factored=True)

    def factored(d: Data) -> tuple[Any, ...]:
        """The factored head's outputs for the same distributions: loc, and the precision's
        Cholesky factor L (P = L L^T) with its diagonal through the inverse softplus."""
        inv = np.linalg.inv(d["scale_tril"])
        lower = np.linalg.cholesky(np.swapaxes(inv, -1, -2) @ inv)
        diagonal = np.diagonal(lower, axis1=-2, axis2=-1)
        packed = np.concatenate([np.log(np.expm1(diagonal)), expfam_pack_lower(lower)[..., 16:]], -1)
        return jnp.asarray(np.concatenate([d["loc"], packed], -1), F32), jnp.asarray(d["x"], F32)

    mvn_loss = expfam.loss(family, head)
    impls = [
        Impl("expfam", "loss(source_link(factored=True)) on raw outputs", factored, lambda r, x: _mean(mvn_loss(r, x))),
        *_expfam(
            family,
            lambda d: {"loc": d["loc"], "covariance": d["scale_tril"] @ np.swapaxes(d["scale_tril"], -1, -2)},
            "x",
        ),
        Impl("hand", "loc, scale_tril, x (triangular solve)", lx, hand),
        _read_only(lx),
        *_peer(
            "tfp",
            "MultivariateNormalTriL.log_prob",
            lx,
            lambda p, x: -_mean(tfd.MultivariateNormalTriL(*p).log_prob(x)),
        ),
        *_peer(
            "distrax",
            "MultivariateNormalTri.log_prob",
            lx,
            lambda p, x: -_mean(dx.MultivariateNormalTri(*p).log_prob(x)),
        ),
        *_peer(
            "numpyro",
            "MultivariateNormal(scale_tril).log_prob",
            lx,
            lambda p, x: -_mean(npd.MultivariateNormal(p[0], scale_tril=p[1]).log_prob(x)),
        ),
        *_peer(
            "efax", "MultivariateNormalNP.log_pdf", natural, lambda p, x: -_mean(ef.MultivariateNormalNP(*p).log_pdf(x))
        ),
    ]

    def ref(d: Data) -> float:
        r = np.linalg.solve(d["scale_tril"], (d["x"] - d["loc"])[..., None])[..., 0]
        log_det = np.sum(np.log(np.diagonal(d["scale_tril"], axis1=-2, axis2=-1)), -1)
        return float(np.mean(0.5 * np.sum(r * r, -1) + log_det + d["x"].shape[-1] * HALF_LOG_2PI))

    return Workload("MultivariateNormal, full covariance", "d = 16, N = 65536", _mvn_data, ref, impls)


def expfam_pack_lower(lower: np.ndarray) -> np.ndarray:
    """``packing.pack_lower`` in float64 numpy (the factored head's layout of a lower triangle)."""
    rows, cols = np.triu_indices(lower.shape[-1], 1)
    return np.concatenate([np.diagonal(lower, axis1=-2, axis2=-1), lower[..., cols, rows]], -1)


def workloads() -> list[Workload]:
    return [
        _categorical_labels(),
        _categorical_soft(),
        _bernoulli(),
        _normal(),
        _gamma(),
        _poisson(),
        _dirichlet(),
        _mvn(),
    ]
