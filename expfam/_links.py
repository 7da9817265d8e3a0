"""Maps from unconstrained network outputs to valid parameters.

Every map is smooth and strictly monotone, with no dead zone (no ReLU, no clipping of the
input). Where a positive output could underflow to zero in floating point (softplus of a
very negative input), the smallest positive normal number of the dtype is added; this is
the only change made to any value, and it keeps the output strictly inside the domain.

Each family's canonical link is its ``link`` method; ``source_link`` builds heads in a
family's usual parameters (mean and scale, shape and rate, ...) from the maps here.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp

Array = jax.Array


def positive(raw: Array) -> Array:
    """``softplus(raw) + tiny``: R -> (0, inf), about ``raw`` for large raw, ``exp(raw)`` for small."""
    return jax.nn.softplus(raw) + jnp.finfo(raw.dtype).tiny


def negative(raw: Array) -> Array:
    """``-positive(raw)``: R -> (-inf, 0)."""
    return -positive(raw)


def identity(raw: Array) -> Array:
    """``raw``: R -> R, for location parameters."""
    return raw


#: Default source-parameter heads, by family class name: each source parameter's name and
#: the map from one unconstrained output to it, in the order of the output coordinates.
#: A new family with real or positive source parameters adds one row here.
SOURCE_TRANSFORMS: dict[str, tuple[tuple[str, Callable[[Array], Array]], ...]] = {
    "NormalKnownVariance": (("loc", identity),),
    "Normal": (("loc", identity), ("scale", positive)),
    "LogNormal": (("loc", identity), ("scale", positive)),
    "Gamma": (("shape", positive), ("rate", positive)),
    "Exponential": (("rate", positive),),
    "Poisson": (("rate", positive),),
    "Pareto": (("alpha", positive),),
}


@dataclasses.dataclass(frozen=True)
class SourceLink:
    """A head in a family's usual parameters: ``eta = natural_from_source(**{name_i: f_i(raw_i)})``.

    Attributes:
        family: the family whose natural parameters are produced.
        transforms: ``(name, f)`` pairs, one per output coordinate, in order.
    """

    family: Any
    transforms: tuple[tuple[str, Callable[[Array], Array]], ...]

    @property
    def num_outputs(self) -> int:
        """Number of unconstrained outputs the head reads (the last axis of ``raw``)."""
        return len(self.transforms)

    def __call__(self, raw: Array) -> Array:
        if raw.ndim == 0 or raw.shape[-1] != self.num_outputs:
            names = ", ".join(name for name, _ in self.transforms)
            raise ValueError(
                f"{self.family.name}: a source head on ({names}) needs outputs of shape (..., {self.num_outputs}), "
                f"got shape {raw.shape}"
            )
        source = {name: fn(raw[..., i]) for i, (name, fn) in enumerate(self.transforms)}
        return self.family.natural_from_source(**source)


def source_link(family: Any, **transforms: Callable[[Array], Array]) -> SourceLink:
    """A link from unconstrained outputs to natural parameters through the source parameters.

    With no keywords, the family's default head from ``SOURCE_TRANSFORMS``:

    * Normal, LogNormal: ``loc = raw_1``, ``scale = positive(raw_2)``, so
      ``eta = (loc / scale^2, -1 / (2 scale^2))``;
    * NormalKnownVariance: ``loc = raw``, ``eta = loc / variance``;
    * Gamma: ``shape = positive(raw_1)``, ``rate = positive(raw_2)``, ``eta = (-rate, shape)``;
    * Exponential: ``rate = positive(raw)``, ``eta = -rate``;
    * Poisson: ``rate = positive(raw)``, ``eta = log rate`` (a softplus rather than an
      exponential rate: linear, not exponential, growth in the output);
    * Pareto: ``alpha = positive(raw)``, ``eta = -alpha``.

    Here ``positive(r) = softplus(r) + tiny``. Bernoulli and Categorical need no source head:
    their canonical links (the logits) already are one.

    With keywords, ``name=f`` pairs in output order, for example
    ``source_link(Gamma(), shape=positive, rate=lambda r: jnp.exp(r))``.

    A location-scale head has valid (finite) natural parameters only while
    ``loc / scale^2`` is representable: ``scale`` far below ``sqrt(tiny)`` overflows. The
    canonical link ``family.link`` has no such limit.

    Raises:
        ValueError: no keywords and no default head for this family.
    """
    if transforms:
        return SourceLink(family, tuple(transforms.items()))
    name = type(family).__name__
    if name not in SOURCE_TRANSFORMS:
        known = ", ".join(SOURCE_TRANSFORMS)
        raise ValueError(
            f"{family.name}: no default source head (defaults exist for {known}); "
            "pass one transform per source parameter, e.g. source_link(family, loc=lambda r: r, scale=expfam.positive)"
        )
    return SourceLink(family, SOURCE_TRANSFORMS[name])
