"""The bad-input policy: clear errors, -inf outside the support, never NaN."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import draws, log_prob_and_gradient, representative
from registry import ENTRY_CASES, Case, case_ids

import expfam


def natural(case: Case) -> jax.Array:
    return case.family.natural_from_source(**{k: jnp.asarray(v) for k, v in case.source.items()})


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_wrong_natural_shape_names_family_and_shapes(case: Case) -> None:
    family = case.family
    eta = jnp.zeros((3, family.num_natural + 1))
    x = draws(family, natural(case), 3)
    expected = f"{family.name}: natural parameters must have shape (..., {family.num_natural}), got shape (3, "
    with pytest.raises(ValueError, match=expected.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        expfam.nll(family, eta, x)
    with pytest.raises(ValueError, match=type(family).__name__):  # at trace time under jit
        jax.jit(expfam.nll)(family, eta, x)
    with pytest.raises(ValueError, match="expectation parameters must have shape"):
        expfam.cross_entropy(family, natural(case), (jnp.zeros(family.num_natural + 2), 0.0))
    with pytest.raises(TypeError, match=r"a target is an expfam\.Target or a"):  # never guessed from a bare array
        expfam.cross_entropy(family, natural(case), jnp.zeros(family.num_natural))


@pytest.mark.parametrize("case", [c for c in ENTRY_CASES if c.family.event_shape], ids=lambda c: c.id)
def test_wrong_event_shape_names_family_and_shapes(case: Case) -> None:
    family = case.family
    x = jnp.zeros((3, family.event_shape[-1] + 1))
    with pytest.raises(ValueError, match=rf"{type(family).__name__}.*samples must have shape"):
        expfam.nll(family, natural(case), x)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_outside_support_is_minus_infinity_without_nan(case: Case, dtype: str) -> None:
    family, eta = case.family, natural(case)
    for value in case.reference.outside:
        x = jnp.asarray(value)
        if representative(family):  # eagerly too (op by op: slow to compile)
            log_p = expfam.log_prob(family, eta, x)
            assert float(log_p) == -np.inf, (value, log_p)
        jitted, gradient = _log_prob_and_gradient(family, eta, x)
        assert float(jitted) == -np.inf
        assert not np.any(np.isnan(np.asarray(gradient))), (value, gradient)


_log_prob_and_gradient = jax.jit(log_prob_and_gradient, static_argnums=0)


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_invalid_natural_parameters(case: Case) -> None:
    family = case.family
    x = draws(family, natural(case), 1)[0]
    for value in case.reference.invalid:
        eta = jnp.asarray(value, jnp.result_type(float))
        with pytest.raises(ValueError, match=rf"{type(family).__name__}.*outside the natural domain"):
            expfam.nll(family, eta, x)
        assert not bool(jax.jit(family.is_natural_valid)(eta))
    assert bool(jax.jit(family.is_natural_valid)(natural(case)))


def test_fit_rejects_samples_outside_the_support() -> None:
    with pytest.raises(ValueError, match=r"Gamma\(\): fit received samples outside the support"):
        expfam.fit(expfam.Gamma(), jnp.array([1.0, -2.0]))


def test_half_precision_is_computed_in_float32() -> None:
    family = expfam.Gamma()
    eta = family.natural_from_source(shape=jnp.array(2.0), rate=jnp.array(3.0))
    for half in (jnp.bfloat16, jnp.float16):
        loss = expfam.nll(family, eta.astype(half), jnp.asarray(0.5, half))
        assert loss.dtype == jnp.float32
        assert np.isclose(float(loss), float(expfam.nll(family, eta.astype(half).astype(jnp.float32), 0.5)))


def test_integer_samples_are_accepted_where_the_support_is_discrete() -> None:
    family = expfam.Poisson()
    eta = family.natural_from_source(rate=jnp.array(3.0))
    assert np.isclose(float(expfam.nll(family, eta, jnp.array(2))), float(expfam.nll(family, eta, jnp.array(2.0))))
