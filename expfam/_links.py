"""Maps from unconstrained network outputs to valid parameters.

Every map is smooth and strictly monotone, with no dead zone (no ReLU, no clipping of the
input). Where a positive output could underflow to zero in floating point (softplus of a
very negative input), the smallest positive normal number of the dtype is added; this is
the only change made to any value, and it keeps the output strictly inside the domain.

Each family's canonical link is its ``link`` method; ``source_link`` builds heads in a
family's usual parameters (mean and scale, shape and rate, ...) from the maps here and from
``positive_definite_from_raw`` (covariance and scale matrices).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from expfam import _packing

Array = jax.Array


def positive(raw: Array) -> Array:
    """``softplus(raw) + tiny``: R -> (0, inf), about ``raw`` for large raw, ``exp(raw)`` for small."""
    return jax.nn.softplus(raw) + jnp.finfo(raw.dtype).tiny


def negative(raw: Array) -> Array:
    """``-positive(raw)``: R -> (-inf, 0)."""
    return -positive(raw)


def greater_than(raw: Array, bound: float) -> Array:
    """``bound + (softplus(raw) + gap)``: R -> (bound, inf), for a parameter with a lower bound.

    ``gap = max(nextafter(bound, inf) - bound, tiny)`` is the spacing of the floating-point
    numbers just above ``bound`` (``2^-24`` above -1 in float32). A plain ``bound + softplus(raw)``
    rounds to ``bound`` itself, outside the domain, once ``softplus(raw)`` is below half that
    spacing (raw below about -17 for bound -1 in float32); with the gap the smallest output is
    the first float above ``bound``. Rounding is monotone, so the map stays non-decreasing in
    floating point and strictly increasing in exact arithmetic.
    """
    lower = jnp.asarray(bound, raw.dtype)
    gap = jnp.maximum(jnp.nextafter(lower, jnp.asarray(jnp.inf, raw.dtype)) - lower, jnp.finfo(raw.dtype).tiny)
    return lower + (jax.nn.softplus(raw) + gap)


def identity(raw: Array) -> Array:
    """``raw``: R -> R, for location parameters."""
    return raw


def probability(raw: Array) -> Array:
    """``sigmoid(raw)``: R -> (0, 1) in exact arithmetic; in floating point it rounds to 1 above
    about 17 (float32) / 37 (float64), and below about -87 / -708 it is subnormal or 0."""
    return jax.nn.sigmoid(raw)


def probabilities(raw: Array) -> Array:
    """``softmax(raw)`` over the last axis: R^K -> the probability simplex."""
    return jax.nn.softmax(raw, axis=-1)


def unit_vector(raw: Array) -> Array:
    """``raw / |raw|`` over the last axis: R^d minus 0 -> the unit sphere; 0 at ``raw = 0``.

    The norm is taken of ``raw / max_k |raw_k|`` so that ``|raw|^2`` cannot overflow; at the
    origin, where the direction is undefined, the result is the zero vector (with a von
    Mises-Fisher concentration: the uniform distribution) and its derivative is 0.
    """
    largest = jax.lax.stop_gradient(jnp.max(jnp.abs(raw), axis=-1, keepdims=True))
    safe = jnp.where(largest > 0, largest, 1.0)
    scaled = raw / safe
    squared = jnp.sum(scaled * scaled, axis=-1, keepdims=True)
    norm = jnp.sqrt(jnp.where(squared > 0, squared, 1.0))
    return jnp.where(squared > 0, scaled / norm, 0.0)


#: Smallest eigenvalue of the correlation matrix C of ``positive_definite_from_raw``: correlations
#: up to 0.999 in magnitude between two coordinates (``1 - CORRELATION_FLOOR``), and a margin
#: far above the rounding of a float32 Cholesky factorization (about ``d eps``, 1.2e-5 at d = 100).
CORRELATION_FLOOR = 1e-3


def positive_definite_from_raw(raw: Array) -> Array:
    """``A = E^{1/2} C E^{1/2}`` (..., d, d) from d (d + 1) / 2 unconstrained outputs (..., M), for
    precisions (the canonical links), covariances and scale matrices (the source heads):
    positive definite in floating point for every finite input.

    * ``E = diag(e)``, ``e_i = softplus(raw_i) + tiny / eps`` from the first d outputs: A's
      diagonal is exactly e;
    * ``C = (1 - r) I + r U U^T`` with ``r = 1 - CORRELATION_FLOOR``: a correlation matrix (unit
      diagonal) with eigenvalues in ``[1 - r, 1 + (d - 1) r]``, from U lower triangular whose row i
      is ``v_i / |v_i|``, ``v_i = (raw_{i1}, ..., raw_{i,i-1}, 1)`` (the remaining outputs in
      ``_packing.unpack_lower``'s order: L_ji for each i < j in the row order of the upper triangle).

    Every correlation matrix is ``U U^T`` for such a U, so A ranges over all the positive-definite
    matrices whose correlation matrix has smallest eigenvalue at least ``1 - r``. Why not ``L L^T``
    for an arbitrary Cholesky factor: its condition number is unbounded, and once it passes about
    ``1 / eps`` (off-diagonal outputs of 1e4 against diagonal outputs of -10 in float32) the
    rounded product is no longer positive definite. Here the Cholesky factorization of A is
    ``E^{1/2}`` times that of C, whose pivots are at least ``1 - r``, whatever the scales ``e``;
    the floor ``tiny / eps`` keeps those pivots (``>= e_i (1 - r)``) clear of the denormals that
    XLA flushes to zero. (The rows are normalized by ``unit_vector``, so ``|v_i|^2`` cannot overflow.)
    """
    dim = _packing.dim_from_packed(raw.shape[-1])
    info = jnp.finfo(raw.dtype)
    scales = jax.nn.softplus(raw[..., :dim]) + info.tiny / info.eps
    rows = _packing.unpack_lower(jnp.concatenate([jnp.ones_like(raw[..., :dim]), raw[..., dim:]], axis=-1))
    unit = unit_vector(rows)
    r = 1.0 - CORRELATION_FLOOR
    root = jnp.sqrt(scales)
    off_diagonal = r * (unit @ jnp.swapaxes(unit, -1, -2)) * (root[..., :, None] * root[..., None, :])
    eye = jnp.broadcast_to(jnp.eye(dim, dtype=bool), off_diagonal.shape)
    return jnp.where(eye, scales[..., :, None], off_diagonal)


class Piece(NamedTuple):
    """One source parameter of a head: its name, its map, and how many outputs it reads.

    ``width=None``: one output, passed to ``transform`` as ``raw[..., i]``; an int: the next
    ``width`` outputs, passed as ``raw[..., i : i + width]``.
    """

    name: str
    transform: Callable[[Array], Array]
    width: int | None = None


def _scalars(*pairs: tuple[str, Callable[[Array], Array]]) -> Callable[[Any], tuple[Piece, ...]]:
    """The head of a family whose source parameters are scalars, one output each."""
    return lambda family: tuple(Piece(name, fn) for name, fn in pairs)


def _packed(family: Any) -> int:
    return _packing.packed_size(family.dim)


#: Default source-parameter heads, by family class name: a function of the family giving its
#: pieces in the order of the output coordinates. A new family adds one row here.
SOURCE_TRANSFORMS: dict[str, Callable[[Any], tuple[Piece, ...]]] = {
    "Bernoulli": _scalars(("probability", probability)),
    "Binomial": _scalars(("probability", probability)),
    "ContinuousBernoulli": _scalars(("lam", probability)),
    "NegativeBinomial": _scalars(("probability", probability)),
    "Geometric": _scalars(("probability", probability)),
    "Categorical": lambda f: (Piece("probabilities", probabilities, f.num_classes),),
    "Multinomial": lambda f: (Piece("probabilities", probabilities, f.num_classes),),
    "NormalKnownVariance": _scalars(("loc", identity)),
    "Normal": _scalars(("loc", identity), ("scale", positive)),
    "LogNormal": _scalars(("loc", identity), ("scale", positive)),
    "Gamma": _scalars(("shape", positive), ("rate", positive)),
    "Exponential": _scalars(("rate", positive)),
    "Poisson": _scalars(("rate", positive)),
    "Pareto": _scalars(("alpha", positive)),
    "Beta": _scalars(("alpha", positive), ("beta", positive)),
    "Dirichlet": lambda f: (Piece("concentration", positive, f.num_classes),),
    "ChiSquare": _scalars(("df", positive)),
    "Rayleigh": _scalars(("scale", positive)),
    "Weibull": _scalars(("scale", positive)),
    "Laplace": _scalars(("scale", positive)),
    "InverseGaussian": _scalars(("mean", positive), ("shape", positive)),
    "InverseGamma": _scalars(("shape", positive), ("scale", positive)),
    "VonMises": _scalars(("loc", identity), ("concentration", positive)),
    "VonMisesFisher": lambda f: (Piece("mean_direction", unit_vector, f.dim), Piece("concentration", positive)),
    "MultivariateNormal": lambda f: (
        Piece("loc", identity, f.dim),
        Piece("covariance", positive_definite_from_raw, _packed(f)),
    ),
    "MultivariateNormalDiag": lambda f: (Piece("loc", identity, f.dim), Piece("scale", positive, f.dim)),
    "MultivariateNormalUnit": lambda f: (Piece("loc", identity, f.dim),),
    "Wishart": lambda f: (Piece("scale", positive_definite_from_raw, _packed(f)),),
}


@dataclasses.dataclass(frozen=True)
class SourceLink:
    """A head in a family's usual parameters: ``eta = natural_from_source(**{name_i: f_i(raw_i)})``.

    Attributes:
        family: the family whose natural parameters are produced.
        transforms: the pieces (``Piece(name, transform, width)``), in output order.
    """

    family: Any
    transforms: tuple[Piece, ...]

    @property
    def num_outputs(self) -> int:
        """Number of unconstrained outputs the head reads (the last axis of ``raw``)."""
        return sum(1 if piece.width is None else piece.width for piece in self.transforms)

    def __call__(self, raw: Array) -> Array:
        if raw.ndim == 0 or raw.shape[-1] != self.num_outputs:
            names = ", ".join(piece.name for piece in self.transforms)
            raise ValueError(
                f"{self.family.name}: a source head on ({names}) needs outputs of shape (..., {self.num_outputs}), "
                f"got shape {raw.shape}"
            )
        source, start = {}, 0
        for name, fn, width in self.transforms:
            if width is None:
                source[name], start = fn(raw[..., start]), start + 1
            else:
                source[name], start = fn(raw[..., start : start + width]), start + width
        return self.family.natural_from_source(**source)


def source_link(family: Any, **transforms: Callable[[Array], Array]) -> SourceLink:
    """A link from unconstrained outputs to natural parameters through the source parameters.

    With no keywords, the family's default head from ``SOURCE_TRANSFORMS``, with
    ``positive(r) = softplus(r) + tiny``, ``probability = sigmoid``, ``probabilities = softmax``:

    * location parameters as they are: ``loc = raw`` (Normal, LogNormal, NormalKnownVariance,
      VonMises, and the vector ``loc`` of the multivariate normals);
    * scales, shapes, rates, concentrations, degrees of freedom, tail indices and means of
      positive families through ``positive``: Normal, LogNormal ``(loc, scale)``; Gamma
      ``(shape, rate)``; Exponential, Poisson ``rate`` (a softplus rather than an exponential
      rate: linear growth in the output); Pareto ``alpha``; Beta ``(alpha, beta)``; Dirichlet
      ``concentration`` (K outputs); ChiSquare ``df``; Rayleigh, Weibull, Laplace ``scale``;
      InverseGaussian ``(mean, shape)``; InverseGamma ``(shape, scale)``; VonMises
      ``(loc, concentration)``; MultivariateNormalDiag ``(loc, scale)`` (d outputs each);
    * probabilities through ``probability`` (Bernoulli, Binomial, NegativeBinomial, Geometric
      ``probability``; ContinuousBernoulli ``lam``) and ``probabilities`` (Categorical,
      Multinomial: K outputs);
    * VonMisesFisher: ``mean_direction = unit_vector(raw_1..d)``, ``concentration =
      positive(raw_{d+1})``;
    * MultivariateNormal ``(loc, covariance)`` and Wishart ``scale``: the matrix
      ``positive_definite_from_raw`` of d (d + 1) / 2 outputs, ``E^{1/2} C E^{1/2}`` with
      softplus variances E and a correlation matrix C of eigenvalues >= 1e-3 (see
      its docstring; a raw Cholesky factor is not positive definite in floating point for
      every input).

    With keywords, ``name=f`` pairs in output order, one output each, for example
    ``source_link(Gamma(), shape=positive, rate=lambda r: jnp.exp(r))``.

    Where the head is valid. The canonical link ``family.link`` gives valid natural parameters
    for every finite input; a source head composes its maps with ``natural_from_source``, and
    the natural parameters of an extreme source value may not be representable:

    * a probability head rounds ``sigmoid(raw)`` to 1 above about 16 in float32 (36 in float64),
      where the logit ``log(p / (1 - p))`` or ``log p`` is infinite or 0, outside the domain:
      tested for ``raw`` in [-80, 16] (float32) and [-700, 36] (float64); the canonical link
      (the logit, or ``log p = -softplus(raw)``) has no such limit;
    * a scale head's natural parameter is ``-1 / (2 scale^2)`` (Normal, LogNormal,
      MultivariateNormalDiag, Rayleigh), ``-scale^-k`` (Weibull) or ``-shape / (2 mean^2)``
      (InverseGaussian): it overflows once the scale is far below ``sqrt(tiny)``, and a
      location-scale head's ``loc / scale^2`` once ``|loc| / scale^2`` leaves the float range;
      tested with the scale (or mean) output in [-30, 1e4] and the others in [-1e4, 1e4] (both
      dtypes); the MultivariateNormal and Wishart heads invert the covariance, tested for
      outputs in [-30, 30];
    * every other default head is tested over [-1e4, 1e4].

    This is a limit of the parametrization, not a clip: a Normal with scale 1e-20 has a
    precision of 1e40, beyond float32.

    Raises:
        ValueError: no keywords and no default head for this family.
    """
    if transforms:
        return SourceLink(family, tuple(Piece(name, fn) for name, fn in transforms.items()))
    name = type(family).__name__
    if name not in SOURCE_TRANSFORMS:
        known = ", ".join(SOURCE_TRANSFORMS)
        raise ValueError(
            f"{family.name}: no default source head (defaults exist for {known}); "
            "pass one transform per source parameter, e.g. source_link(family, loc=lambda r: r, scale=expfam.positive)"
        )
    return SourceLink(family, SOURCE_TRANSFORMS[name](family))
