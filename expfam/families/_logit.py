"""Base of the one-parameter families whose natural parameter is the logit of a probability."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from expfam._core import constraints
from expfam._core.family import Array, ExponentialFamily, SourceParameter


class Logit(ExponentialFamily):
    """``eta = log(p / (1 - p))`` for a probability ``p``: the source parameter ``probability`` (a
    sigmoid head) and the canonical link ``eta = raw``."""

    @property
    def num_natural(self) -> int:
        return 1

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("probability", constraints.probability, from_logits=constraints.logit),)

    def natural_from_source(self, *, probability: Array) -> Array:
        p = jnp.asarray(probability)
        return (jnp.log(p) - jnp.log1p(-p))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"probability": jax.nn.sigmoid(eta[..., 0])}

    def link(self, raw: Array) -> Array:
        """The logit itself: eta = raw."""
        return raw
