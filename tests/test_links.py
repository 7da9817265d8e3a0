"""Links from unconstrained outputs, over the whole catalogue: valid natural parameters for any
finite input, finite losses and gradients at a sample, no dead zones.

"No dead zone" is checked in two ways. (1) The link's Jacobian: every raw coordinate moves the
natural parameters (each Jacobian column has a nonzero entry) on a grid of raw values up to
+-50 (softplus' = sigmoid is representable there, 2e-22 at -50), and the Jacobian has full
rank (smallest singular value > 1e-6 x largest) at typical outputs. (2) The loss: the gradient
of the nll in raw is nonzero at every point of a grid up to +-30, except where the loss is
already at its smallest value over the grid (a Bernoulli logit of 30 for a sample of 1, whose
float32 gradient ``sigmoid(30) - 1`` rounds to 0 at the optimum, not in a plateau).
Beyond +-30 a loss can leave the float range for honest reasons (a Normal of precision
softplus(-1e4) has an infinite variance), so losses are checked up to +-30 and validity up to
+-1e4.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from helpers import assert_close, families, first_examples

import expfam
from expfam._core import constraints

FAMILIES = families()
IDS = [f.name for f in FAMILIES]
FIRST = [family for family, _ in first_examples()]
FIRST_IDS = [f.name for f in FIRST]
EXTREMES = [-1e4, -1e3, -88.0, -30.0, -1.0, 0.0, 1.0, 30.0, 88.0, 1e3, 1e4]


def _raw_grid(num: int, dtype: str, values: list[float], lower=None, upper=None) -> jax.Array:
    """Every pair of the values in the first two coordinates (the rest repeat the second), plus
    50 random normals (scale 5), shape (n, num); then limited to ``[lower, upper]`` per coordinate
    where a head is documented on a smaller range."""
    grids = np.meshgrid(*[values] * min(num, 2), indexing="ij")
    pairs = np.stack([g.ravel() for g in grids], axis=-1)
    if num > 2:
        pairs = np.concatenate([pairs, np.repeat(pairs[:, -1:], num - 2, axis=-1)], axis=-1)
    noise = np.random.default_rng(0).normal(0.0, 5.0, (50, num))
    grid = np.concatenate([pairs, noise])
    grid = np.clip(grid, -np.inf if lower is None else lower, np.inf if upper is None else upper)
    return jnp.asarray(grid, dtype)


def _support_sample(family, dtype):
    """The family's support point where it is a sample (0, 1, the identity matrix...), else a draw
    (a Categorical's samples are integer labels, not its support's probability vectors)."""
    x = jnp.broadcast_to(jnp.asarray(family.support.point, dtype), family.event_shape)
    if bool(family.support.contains(x)) and not isinstance(family, expfam.Categorical):
        return x
    return family.sample(jax.random.key(0), family.link(jnp.zeros(family.num_natural, dtype)))


@functools.cache
def _probe(family) -> Callable[..., dict]:
    """Every quantity the per-family tests of this module compare, as one program per family and
    dtype (one program per test compiled the link and the head again for each test).

    The canonical link at the extreme grid and whether that is valid; the nll and its gradient in
    raw at the loss grid for a sample x; the largest entry of each Jacobian column on the Jacobian
    grid and the Jacobian's singular values at typical outputs; the source head at its grid and
    whether that is valid; in float64 also ``source_from_natural`` of the head at ``documented``.
    """
    loss = expfam.loss(family)
    jacobian = jax.vmap(jax.jacfwd(family.link))
    head = expfam.source_link(family)

    @jax.jit
    def probe(extreme, loss_grid, jac_grid, typical, x, head_grid, documented):
        eta = family.link(extreme)
        values, grads = jax.vmap(jax.value_and_grad(lambda r: loss(r, x)))(loss_grid)
        head_eta = head(head_grid)
        return {
            "eta": eta,
            "valid": family.is_natural_valid(eta),
            "values": values,
            "grads": grads,
            "columns": jnp.max(jnp.abs(jacobian(jac_grid)), axis=-2),
            "singular": jnp.linalg.svd(jacobian(typical), compute_uv=False),
            "head_eta": head_eta,
            "head_valid": family.is_natural_valid(head_eta),
            "documented_source": (
                family.source_from_natural(head(documented)) if documented.dtype == jnp.float64 else {}
            ),
        }

    return probe


_probed: dict = {}


def _probed_at(family, dtype: str) -> dict:
    """``_probe`` of the family on this module's grids in ``dtype``, evaluated once per family and dtype."""
    key = (family, dtype)
    if key not in _probed:
        m, head = family.num_natural, expfam.source_link(family)
        grids = {
            "extreme": _raw_grid(m, dtype, EXTREMES),
            "loss_grid": _raw_grid(m, dtype, [-30.0, -1.0, 0.0, 1.0, 30.0]),
            "jac_grid": _raw_grid(m, dtype, [-50.0, -10.0, -1.0, 0.0, 1.0, 10.0, 50.0]),
            "typical": jnp.asarray(np.random.default_rng(1).normal(0.0, 2.0, (20, m)), dtype),
            "head_grid": _raw_grid(head.num_outputs, dtype, EXTREMES, *_source_limits(head, dtype)),
            "documented": jnp.asarray(np.random.default_rng(1).normal(0.0, 1.0, (20, head.num_outputs)), dtype),
        }
        computed = _probe(family)(x=_support_sample(family, dtype), **grids)
        _probed[key] = jax.tree.map(np.asarray, {**grids, **computed})
    return _probed[key]


@pytest.mark.parametrize("family", FIRST, ids=FIRST_IDS)
def test_canonical_link(family, dtype):
    """Valid for any finite input, finite nll and gradient at a sample, no dead zone."""
    at = _probed_at(family, dtype)
    extreme, loss_grid, jac_grid = at["extreme"], at["loss_grid"], at["jac_grid"]
    eta, valid, values, grads, columns, singular = (
        at[k] for k in ("eta", "valid", "values", "grads", "columns", "singular")
    )
    assert eta.shape == extreme.shape
    assert eta.dtype == extreme.dtype
    assert np.all(np.isfinite(eta))
    assert valid.all(), np.asarray(extreme)[~valid][:4]
    assert np.all(np.isfinite(values))
    assert np.all(np.isfinite(grads))
    moving = np.max(np.abs(grads), axis=-1) > 0
    at_best = values <= np.min(values)
    assert np.all(moving | at_best), np.asarray(loss_grid)[~(moving | at_best)][:4]
    assert np.all(columns > 0), np.asarray(jac_grid)[~np.all(columns > 0, axis=-1)][:4]
    assert np.all(singular[:, -1] > 1e-6 * singular[:, 0])


def test_canonical_link_depends_only_on_the_class():
    """The configurations the link test skips (one per class is tested) have the same link,
    except NormalKnownVariance, whose link divides by the variance."""
    raw = jnp.asarray(np.random.default_rng(3).normal(0.0, 3.0, (8, 1)))
    for family in FAMILIES:
        first = next(f for f in FIRST if type(f) is type(family))
        r = jnp.broadcast_to(raw, (8, family.num_natural)) if family.num_natural > 1 else raw
        if type(family).__name__ == "NormalKnownVariance":
            assert_close(family.link(r) * family.variance, first.link(r) * first.variance, "float32")
        else:
            assert_close(family.link(r), first.link(r), "float32")


# -- source-parameter heads ------------------------------------------------------------------------

#: Outputs a source head is documented and tested on, where narrower than [-1e4, 1e4] (see
#: ``expfam.source_link``): scale-like outputs from -30 up (the natural parameter has the scale
#: squared, or to the power -k, in a denominator), ChiSquare's df above the point where
#: ``0.5 df - 1`` rounds to -1, probabilities below the point where sigmoid rounds to 1, and
#: the matrix heads (which invert the matrix) within +-30; per dtype where it differs.
FROM_MINUS_30 = {
    "Normal": ("scale",),
    "LogNormal": ("scale",),
    "MultivariateNormalDiag": ("scale",),
    "Rayleigh": ("scale",),
    "Weibull": ("scale",),
    "InverseGaussian": ("mean", "shape"),
}
CHI_SQUARE_LOWER = {"float32": -15.0, "float64": -35.0}
PROBABILITY_LIMITS = {"float32": (-80.0, 16.0), "float64": (-700.0, 36.0)}
MATRIX_HEADS = ("MultivariateNormal", "Wishart")


def _source_limits(head, dtype):
    """Per-output lower and upper limits of a head's tested range."""
    name = type(head.family).__name__
    lower, upper = [], []
    for piece in head.transforms:
        lo, hi = -np.inf, np.inf
        if name in MATRIX_HEADS:
            lo, hi = -30.0, 30.0
        elif piece.constraint is constraints.probability:
            lo, hi = PROBABILITY_LIMITS[dtype]
        elif piece.name in FROM_MINUS_30.get(name, ()):
            lo = -30.0
        elif name == "ChiSquare":
            lo = CHI_SQUARE_LOWER[dtype]
        width = 1 if piece.width is None else piece.width
        lower += [lo] * width
        upper += [hi] * width
    return np.array(lower), np.array(upper)


@pytest.mark.parametrize("family", FIRST, ids=FIRST_IDS)
def test_source_head_valid(family, dtype):
    at = _probed_at(family, dtype)
    raw, eta = at["head_grid"], at["head_eta"]
    assert eta.shape == raw.shape[:-1] + (family.num_natural,)
    # (a softmax probability of 0 gives a logit of -inf, which the Categorical domain includes)
    valid = at["head_valid"]
    assert valid.all(), np.asarray(raw)[~valid][:4]


@pytest.mark.parametrize("family", FIRST, ids=FIRST_IDS)
def test_source_head_gives_the_documented_parameters(family, x64):
    """``source_from_natural(head(raw))`` returns each piece's map of its outputs, recomputed in numpy."""
    numpy_maps = {
        constraints.identity: lambda r: r,
        constraints.positive: lambda r: np.log1p(np.exp(r)),
        constraints.probability: lambda r: 1.0 / (1.0 + np.exp(-r)),
        constraints.probabilities: lambda r: np.exp(r) / np.sum(np.exp(r), axis=-1, keepdims=True),
        constraints.unit_vector: lambda r: r / np.linalg.norm(r, axis=-1, keepdims=True),
    }
    head = expfam.source_link(family)
    at = _probed_at(family, "float64")
    raw, source = at["documented"], at["documented_source"]
    start = 0
    for piece in head.transforms:
        width = 1 if piece.width is None else piece.width
        block = raw[:, start] if piece.width is None else raw[:, start : start + width]
        start += width
        if piece.constraint is constraints.positive_definite_from_raw:
            expected = _numpy_positive_definite(block)
        else:
            expected = numpy_maps[piece.constraint](block)
        # loose: Beta/Dirichlet/ContinuousBernoulli recover their source through an iterative inverse
        assert_close(source[piece.name], expected, "float64", loose=100)


def _numpy_positive_definite(raw: np.ndarray) -> np.ndarray:
    """``E^{1/2} ((1 - r) I + r U U^T) E^{1/2}`` of ``positive_definite_from_raw``, in numpy."""
    size = raw.shape[-1]
    dim = int((np.sqrt(8 * size + 1) - 1) / 2)
    e = np.log1p(np.exp(raw[:, :dim]))
    rows, cols = np.triu_indices(dim, 1)
    out = []
    for k in range(raw.shape[0]):
        v = np.eye(dim)
        v[cols, rows] = raw[k, dim:]
        u = v / np.linalg.norm(v, axis=-1, keepdims=True)
        r = 1.0 - constraints.CORRELATION_FLOOR
        c = (1.0 - r) * np.eye(dim) + r * u @ u.T
        out.append(np.sqrt(e[k])[:, None] * c * np.sqrt(e[k])[None, :])
    return np.array(out)


def test_positive_definite_from_raw_bounds_the_correlation(x64):
    """The correlation matrix of the output has eigenvalues in [1e-3, d]; in float32 the output
    passes Cholesky for adversarial outputs (all off-diagonals +-1e4: nearly parallel rows) up to d = 30."""
    rng = np.random.default_rng(2)
    build = jax.jit(constraints.positive_definite_from_raw)
    for dim in (3, 30):
        size = dim * (dim + 1) // 2
        raw = np.concatenate([rng.normal(0.0, 3.0, (10, size)), rng.choice([-1e4, 1e4, -30.0, 0.0], (10, size))])
        raw[-1] = 1e4
        a = np.asarray(build(jnp.asarray(raw)))
        scale = np.sqrt(np.diagonal(a, axis1=-2, axis2=-1))
        eig = np.linalg.eigvalsh(a / (scale[:, :, None] * scale[:, None, :]))
        assert np.all(eig[:, 0] >= constraints.CORRELATION_FLOOR * (1 - 1e-9))
        assert np.all(eig[:, -1] <= dim)
        with jax.enable_x64(False):
            a32 = build(jnp.asarray(raw, jnp.float32))
            assert bool(jnp.all(jax.jit(expfam._numerics.linalg.is_positive_definite)(a32)))


def test_source_head_with_custom_transforms(x64):
    head = expfam.source_link(expfam.Gamma(), shape=jnp.exp, rate=expfam.positive)
    raw = jnp.asarray([[0.5, -2.0]])
    assert_close(head(raw), [[-np.log1p(np.exp(-2.0)), np.exp(0.5)]], "float64")


def test_unit_vector_at_the_origin_and_far_out():
    assert_close(constraints.unit_vector(jnp.asarray([3e30, -4e30])), [0.6, -0.8], "float32")
    assert np.all(np.asarray(constraints.unit_vector(jnp.zeros(3))) == 0.0)
    assert np.all(np.isfinite(np.asarray(jax.grad(lambda r: constraints.unit_vector(r)[0])(jnp.zeros(3)))))


def test_greater_than_stays_above_its_bound(dtype):
    raw = jnp.asarray([-1e4, -40.0, -17.0, 0.0, 1e4], dtype)
    out = constraints.greater_than(raw, -1.0)
    assert np.all(np.asarray(out) > -1.0)
    assert np.all(np.diff(np.asarray(out)) >= 0)
    assert_close(out[3] + 1.0, np.log(2.0), dtype, loose=10)


def test_every_catalogue_family_has_a_source_head():
    for family in FAMILIES:
        head = expfam.source_link(family)
        assert {p.name for p in head.transforms} == set(
            family.source_from_natural(family.link(jnp.zeros(family.num_natural)))
        )


def test_source_head_errors():
    with pytest.raises(ValueError, match=r"needs outputs of shape \(\.\.\., 2\), got shape \(4, 3\)"):
        expfam.source_link(expfam.Normal())(jnp.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"needs outputs of shape \(\.\.\., 9\)"):
        expfam.source_link(expfam.MultivariateNormal(3))(jnp.zeros((4, 3)))
