"""Links from unconstrained outputs: valid natural parameters for any finite input, no dead zones."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close

import expfam
from expfam._catalogue import CATALOGUE

FAMILIES = list({entry.family: None for entry in CATALOGUE})
IDS = [f.name for f in FAMILIES]
EXTREMES = [-1e4, -1e3, -88.0, -30.0, -1.0, 0.0, 1.0, 30.0, 88.0, 1e3, 1e4]


def _raw_grid(num: int, dtype: str, values: list[float]) -> jax.Array:
    """Every pair (or single value) of the given values, plus random normals, shape (n, num)."""
    grids = np.meshgrid(*[values] * min(num, 2), indexing="ij")
    pairs = np.stack([g.ravel() for g in grids], axis=-1)
    if num > 2:
        pairs = np.concatenate([pairs, np.repeat(pairs[:, -1:], num - 2, axis=-1)], axis=-1)
    noise = np.random.default_rng(0).normal(0.0, 5.0, (50, num))
    return jnp.asarray(np.concatenate([pairs, noise]), dtype)


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_canonical_link_valid_for_any_finite_input(family, dtype):
    raw = _raw_grid(family.num_natural, dtype, EXTREMES)
    eta = family.link(raw)
    assert eta.shape == raw.shape
    assert eta.dtype == raw.dtype
    assert bool(jnp.all(family.is_natural_valid(eta)))
    assert bool(jnp.all(jnp.isfinite(eta)))


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_canonical_link_gives_finite_losses(family, dtype):
    # Beyond about +-30 some distributions have moments outside the float range (a Normal
    # with precision softplus(-1e4) has an infinite mean in float32), so the loss is checked
    # on the range a network head actually produces, with the model's own distribution as
    # target (samples of such extreme distributions underflow, e.g. Gamma with shape 1e-13).
    raw = _raw_grid(family.num_natural, dtype, [-30.0, -1.0, 0.0, 1.0, 30.0])

    # (targets are made per row inside vmap: the batched Poisson E[log x!] trips rank promotion.)
    def value_and_grad(r: jax.Array) -> tuple[jax.Array, jax.Array]:
        target = expfam.Target.from_natural(family, jax.lax.stop_gradient(family.link(r)))
        return jax.value_and_grad(lambda s: expfam.loss(family)(s, target))(r)

    values, grads = jax.vmap(value_and_grad)(raw)
    assert bool(jnp.all(jnp.isfinite(values)))
    assert bool(jnp.all(jnp.isfinite(grads)))


@pytest.mark.parametrize("family", FAMILIES, ids=IDS)
def test_canonical_link_has_no_dead_zone(family, dtype):
    # A strictly increasing map in every coordinate: the Jacobian diagonal is positive wherever
    # its value is representable (softplus' = sigmoid underflows below about -87 in float32).
    raw = _raw_grid(family.num_natural, dtype, [-50.0, -10.0, -1.0, 0.0, 1.0, 10.0, 50.0])
    jac = jax.vmap(jax.jacfwd(family.link))(raw)
    diagonal = jnp.abs(jnp.diagonal(jac, axis1=-2, axis2=-1))
    assert bool(jnp.all(diagonal > 0))


SOURCE_FAMILIES = [f for f in FAMILIES if type(f).__name__ in expfam._links.SOURCE_TRANSFORMS]
LOCATION_SCALE = ("Normal", "LogNormal")


@pytest.mark.parametrize("family", SOURCE_FAMILIES, ids=[f.name for f in SOURCE_FAMILIES])
def test_source_head_valid(family, dtype):
    head = expfam.source_link(family)
    # Location-scale heads overflow once loc / scale^2 leaves the float range (documented);
    # the others are valid for any finite input.
    values = [-30.0, -1.0, 0.0, 1.0, 30.0] if type(family).__name__ in LOCATION_SCALE else EXTREMES
    raw = _raw_grid(head.num_outputs, dtype, values)
    eta = head(raw)
    assert eta.shape == raw.shape[:-1] + (family.num_natural,)
    assert bool(jnp.all(family.is_natural_valid(eta)))
    assert bool(jnp.all(jnp.isfinite(eta)))


@pytest.mark.parametrize("family", SOURCE_FAMILIES, ids=[f.name for f in SOURCE_FAMILIES])
def test_source_head_gives_the_documented_parameters(family, x64):
    head = expfam.source_link(family)
    raw = np.random.default_rng(1).normal(0.0, 2.0, (20, head.num_outputs))
    source = family.source_from_natural(head(jnp.asarray(raw)))
    for i, (name, _) in enumerate(head.transforms):
        # Positive parameters are softplus(raw) = log1p(exp(raw)); location parameters are raw.
        expected = raw[:, i] if name == "loc" else np.log1p(np.exp(raw[:, i]))
        assert_close(source[name], expected, "float64")


def test_source_head_with_custom_transforms(x64):
    head = expfam.source_link(expfam.Gamma(), shape=jnp.exp, rate=expfam.positive)
    raw = jnp.asarray([[0.5, -2.0]])
    assert_close(head(raw), [[-np.log1p(np.exp(-2.0)), np.exp(0.5)]], "float64")


def test_source_head_errors():
    with pytest.raises(ValueError, match=r"no default source head"):
        expfam.source_link(expfam.Categorical(3))
    with pytest.raises(ValueError, match=r"needs outputs of shape \(\.\.\., 2\), got shape \(4, 3\)"):
        expfam.source_link(expfam.Normal())(jnp.zeros((4, 3)))
