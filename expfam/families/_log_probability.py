"""Base of the one-parameter families whose natural parameter is the logarithm of a probability."""

from __future__ import annotations

import jax.numpy as jnp

from expfam._core import constraints
from expfam._core.family import Array, ExponentialFamily, SourceParameter


class LogProbability(ExponentialFamily):
    """``eta = log p`` for a probability ``p`` in (0, 1): the source parameter ``probability``
    (a sigmoid head), the canonical link ``eta = -positive(raw)``, the domain ``-inf < eta < 0``."""

    @property
    def num_natural(self) -> int:
        return 1

    @property
    def source_parameters(self) -> tuple[SourceParameter, ...]:
        return (SourceParameter("probability", constraints.probability, from_logits=constraints.log_probability),)

    def natural_from_source(self, *, probability: Array) -> Array:
        return jnp.log(jnp.asarray(probability))[..., None]

    def source_from_natural(self, eta: Array) -> dict[str, Array]:
        return {"probability": jnp.exp(eta[..., 0])}

    def is_natural_valid(self, eta: Array) -> Array:
        return (eta[..., 0] < 0) & (eta[..., 0] > -jnp.inf)

    def link(self, raw: Array) -> Array:
        """``eta = -positive(raw)``: the log probability, below 0."""
        return constraints.negative(raw)
