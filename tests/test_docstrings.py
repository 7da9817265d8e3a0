"""Every family's class docstring states its conventions, and the stated mappings are right.

A family's docstring (what ``help(expfam.Gamma)`` shows) carries one bullet per convention. Three
of them are written as expressions in the source parameters and the family's fields, and are
evaluated here against the code: the natural parameters (``eta = ...``) against
``natural_from_source``, and the scipy and TFP distributions (``scipy: ...``, ``TFP: ...``) by
comparing their log-density with ``expfam.log_prob`` on draws at the catalogue's points.
"""

from __future__ import annotations

import dataclasses
import pydoc
import re
import warnings
from typing import Any

import helpers
import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.stats
from registry import ENTRY_CASES, Case, case_ids

import expfam
from expfam._numerics import packing

#: The bullets every family docstring carries, in order.
BULLETS = (
    "density",
    "natural parameter",
    "sufficient statistic",
    "log-normalizer",
    "expectation parameter",
    "source parameter",
    "scipy:",
    "TFP:",
    "canonical link",
    "source head",
)

#: Names the documented expressions may use (numpy semantics).
FUNCTIONS = {
    "np": np,
    "scipy": scipy,
    "log": np.log,
    "exp": np.exp,
    "sqrt": np.sqrt,
    "cos": np.cos,
    "sin": np.sin,
    "inv": np.linalg.inv,
    "cholesky": np.linalg.cholesky,
    "diag": np.diag,
    "eye": np.eye,
    "ones": np.ones,
    "pack": lambda matrix: np.asarray(packing.pack(jnp.asarray(matrix))),
}


def documented(family: type, label: str) -> str | None:
    """The first ``code`` of the bullet ``* label``, or None where the bullet says ``none``."""
    match = re.search(rf"^\s*\* {re.escape(label)}[^`\n]*``(.+?)``", family.__doc__ or "", re.MULTILINE)
    if match is None:
        none = re.search(rf"^\s*\* {re.escape(label)}:? none\b", family.__doc__ or "", re.MULTILINE)
        assert none is not None, f"{family.__name__}: no '* {label}' bullet"
        return None
    return match.group(1)


def evaluate(expression: str, case: Case, **names: Any) -> Any:
    fields = {field.name: getattr(case.family, field.name) for field in dataclasses.fields(case.family)}
    source = {name: np.asarray(value, np.float64) for name, value in case.source.items()}
    source = {name: float(value) if value.ndim == 0 else value for name, value in source.items()}
    return eval(expression, {"__builtins__": {}}, {**FUNCTIONS, **names, **fields, **source})


def natural(case: Case) -> np.ndarray:
    return np.asarray(case.family.natural_from_source(**{k: np.asarray(v) for k, v in case.source.items()}))


@pytest.mark.parametrize("family_class", expfam.family_classes(), ids=lambda c: c.__name__)
def test_docstring_lists_every_convention(family_class):
    doc = family_class.__doc__ or ""
    positions = [doc.find(f"* {bullet}") for bullet in BULLETS]
    assert all(p >= 0 for p in positions), dict(zip(BULLETS, positions, strict=True))
    assert positions == sorted(positions)
    assert doc.splitlines()[0] in pydoc.render_doc(family_class)  # help() shows it


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_documented_natural_parameters(case, x64):
    expression = documented(type(case.family), "natural parameter")
    assert expression is not None
    assert expression.startswith("eta = ")
    value = evaluate(expression.removeprefix("eta = "), case)
    if isinstance(value, tuple):
        value = np.concatenate([np.atleast_1d(part) for part in value])
    helpers.assert_close(np.atleast_1d(value), natural(case), "float64")


def points(case: Case, scipy_expression: str | None, tfd: Any = None) -> np.ndarray:
    """Five draws in the family's sample format: scipy's (no compilation), else TFP's."""
    if scipy_expression is None:
        with warnings.catch_warnings():  # TFP's sampler calls a JAX function deprecated in this JAX
            warnings.simplefilter("ignore", DeprecationWarning)
            draws = evaluate(documented(type(case.family), "TFP"), case, tfd=tfd).sample(5, seed=jax.random.key(0))
        return np.asarray(draws)
    x = np.asarray(evaluate(scipy_expression, case).rvs(size=5, random_state=0), np.float64)
    return np.argmax(x, axis=-1) if isinstance(case.family, expfam.Categorical) else x  # labels, not one-hot


@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_documented_scipy_distribution(case, x64):
    expression = documented(type(case.family), "scipy")
    assert (expression is None) == (case.reference.scipy is None)
    if expression is None:
        return
    x = points(case, expression)
    expected = case.reference.logpdf(evaluate(expression, case), x)
    actual = expfam.log_prob(case.family, natural(case), x)
    helpers.assert_close(actual, expected, "float64", loose=1e3)


@pytest.mark.slow
@pytest.mark.parametrize("case", ENTRY_CASES, ids=case_ids(ENTRY_CASES))
def test_documented_tfp_distribution(case, x64):
    expression = documented(type(case.family), "TFP")
    if expression is None:
        return
    tfd = pytest.importorskip("tensorflow_probability.substrates.jax").distributions
    with jax.numpy_rank_promotion("allow"):  # TFP broadcasts its parameters against the draws' batch
        x = points(case, documented(type(case.family), "scipy"), tfd)
        expected = evaluate(expression, case, tfd=tfd).log_prob(x)
    actual = expfam.log_prob(case.family, natural(case), x)
    # TFP's own accuracy: about 1e-7 relative, 5e-7 absolute (NegativeBinomial(0.01) at x = 0).
    helpers.assert_close(actual, expected, "float64", loose=1e4, floor=1.0)
