"""Geometric: the number of events x in {0, 1, 2, ...} before the first non-event.

``q(x) = (1 - p) p^x``: the negative binomial with ``r = 1`` (``eta = log p < 0``,
``T(x) = x``, ``g(eta) = -log(1 - e^eta)``, expectation ``p / (1 - p)``), whose carrier is
``h = 1``, so ``E[log h] = 0`` exactly. scipy's ``geom(1 - p, loc=-1)`` is the same
distribution. Documented range: ``eta`` in ``[-30, -1e-8]`` (means ``1e-13 .. 1e8``).
"""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import jax.numpy as jnp

from expfam._core import supports
from expfam._core.family import Array
from expfam.families.negative_binomial import NegativeBinomialBase


@dataclasses.dataclass(frozen=True)
class Geometric(NegativeBinomialBase):
    """Geometric: the number of events ``x in {0, 1, 2, ...}`` before the first non-event.

    * density: ``q(x) = (1 - p) p^x``; support ``x in {0, 1, ...}``
    * natural parameter (M = 1): ``eta = log(probability)``, below 0
    * sufficient statistic ``T(x) = x``; carrier ``h = 1``
    * log-normalizer ``g(eta) = -log(1 - e^eta)``
    * expectation parameter ``E[x] = p / (1 - p)``
    * source parameter: ``probability = p``, the probability of an event (a counted trial); scipy's and
      TFP's success probability is ``1 - p``. ``NegativeBinomial(1)`` is the same distribution.
    * scipy: ``scipy.stats.geom(1 - probability, loc=-1)``
    * TFP: ``tfd.Geometric(probs=1 - probability)``
    * canonical link ``link(raw)``: ``eta = -positive(raw) = -(softplus(raw) + tiny)``
    * source head ``source_link(Geometric())``: ``probability = sigmoid(raw)``
    """

    r: ClassVar[float] = 1.0  # type: ignore[misc]  # a constant here, a field of NegativeBinomial
    catalogue = (({}, ({"probability": 0.4}, {"probability": 1e-06}, {"probability": 0.999})),)

    @property
    def support(self) -> supports.Support:
        return supports.Counts()

    def log_carrier(self, x: Array) -> Array:
        return jnp.zeros_like(x)

    def expected_log_carrier(self, eta: Array) -> Array:
        return jnp.zeros_like(eta[..., 0])
