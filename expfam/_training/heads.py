"""Network heads in a family's usual parameters.

``source_link(family)`` maps unconstrained outputs to natural parameters through the family's
source parameters, each through the constraint its ``source_parameters`` declare
(``constraints``: softplus for scales, shapes and rates, sigmoid or softmax for probabilities,
the identity for locations, ``positive_definite_from_raw`` for covariance and scale matrices).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import jax

from expfam._core.family import ExponentialFamily, SourceParameter, check_family

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class SourceLink:
    """A head in a family's usual parameters: ``eta = natural_from_source(**{name_i: f_i(raw_i)})``.

    Attributes:
        family: the family whose natural parameters are produced.
        transforms: the source parameters (``SourceParameter(name, constraint, width)``), in output order.
    """

    family: ExponentialFamily
    transforms: tuple[SourceParameter, ...]
    factored: bool = False

    @property
    def num_outputs(self) -> int:
        """Number of unconstrained outputs the head reads (the last axis of ``raw``)."""
        return sum(1 if piece.width is None else piece.width for piece in self.transforms)

    def __call__(self, raw: Array) -> Array:
        self._check(raw)
        from_logits = self.transforms[0].from_logits if len(self.transforms) == 1 else None
        if from_logits is not None:  # a probability head, built on its logits
            return from_logits(raw if self.transforms[0].width is not None else raw[..., 0])
        return self.family.natural_from_source(**self.source(raw))

    def source(self, raw: Array) -> dict[str, Array]:
        """The source parameters ``{name_i: f_i(raw_i)}`` the head reads from ``raw`` (..., K)."""
        self._check(raw)
        source, start = {}, 0
        for name, fn, width, _ in self.transforms:
            if width is None:
                source[name], start = fn(raw[..., start]), start + 1
            else:
                source[name], start = fn(raw[..., start : start + width]), start + width
        return source

    def _check(self, raw: Array) -> None:
        if raw.ndim == 0 or raw.shape[-1] != self.num_outputs:
            names = ", ".join(piece.name for piece in self.transforms)
            raise ValueError(
                f"{self.family.name}: a source head on ({names}) needs outputs of shape (..., {self.num_outputs}), "
                f"got shape {raw.shape}"
            )


def source_link(
    family: ExponentialFamily, *, factored: bool = False, **transforms: Callable[[Array], Array]
) -> SourceLink:
    """A link from unconstrained outputs to natural parameters through the source parameters.

    With no keywords, the family's default head from ``family.source_parameters``, with
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

    * a probability head (a family whose only parameter is a probability or a probability vector:
      Bernoulli, Binomial, ContinuousBernoulli, NegativeBinomial, Geometric, Logarithmic,
      Categorical, Multinomial) is built on its logits (``SourceParameter.from_logits``): the logit
      itself, ``log p = -softplus(-raw)`` or ``log_softmax(raw)``, never ``log(sigmoid(raw))``, so no
      finite raw value gives an infinite natural parameter or a NaN loss (``sigmoid`` rounds to 1
      above raw = 17 in float32);
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

    ``factored=True``: the family's factored head (``family.factored_source_parameters``; for
    ``MultivariateNormal(d)``: ``loc = raw_1`` (d outputs) and the Cholesky factor of the
    precision, ``precision_cholesky = lower_cholesky_from_raw(raw_2)`` (d (d + 1) / 2 outputs)).
    Called, it returns natural parameters like any head; in ``loss(family, head)`` on samples the
    loss reads the factor itself (``family.factored_nll``: a triangular product per row, no factorization, the
    exact gradient) and has ``nll``'s value on the same distribution.
    """
    family = check_family(family)
    if factored:
        if transforms:
            raise TypeError(f"{family.name}: source_link(factored=True) takes no transforms")
        if not family.provides("factored_source_parameters"):
            raise TypeError(f"{family.name}: this family has no factored head")
        return SourceLink(family, family.factored_source_parameters, factored=True)
    if transforms:
        return SourceLink(family, tuple(SourceParameter(name, fn) for name, fn in transforms.items()))
    return SourceLink(family, family.source_parameters)
