"""Cross-entropy targets: what a target distribution p contributes to ``H(p, q)``."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax

from expfam._core.checked import inputs_checked

Array = jax.Array


class Target(NamedTuple):
    """A target p: ``chi = E_p[T(x)]`` (shape ``(..., M)``) and ``elc = E_p[log h(x)]`` (shape ``(...)``).

    Optionally, per row, what the family's cancellation-free value needs:

    * ``sample``: the observed x itself (``family.target(x)``), for ``stable_nll``;
    * ``natural``: eta_p of a member of the family (``family.distribution_target``), for
      ``stable_entropy + stable_kl``.

    Without them the value is the plain ``-chi . eta + g(eta) - elc``. A sample target also
    carries ``inside``, whether each x lies in the support (the loss is +inf where it does not,
    where ``elc = -inf``): the value reads that mask instead of ``elc``, so that ``log h(x)`` is
    evaluated only when a derivative in x needs it. A NamedTuple, hence a pytree: it passes
    through ``jit``, ``vmap`` and data loaders.
    """

    chi: Array
    elc: Array
    sample: Array | None = None
    natural: Array | None = None
    inside: Array | None = None

    @classmethod
    def from_samples(cls, family: Any, x: Any) -> Target:
        """Samples x as targets: ``family.target(x)``; outside the support ``elc = -inf`` (loss +inf)."""
        return family.target(x)

    @classmethod
    def from_natural(cls, family: Any, eta: Any) -> Target:
        """A teacher distribution ``q(. | eta)`` as a target: ``family.distribution_target(eta)``."""
        return family.distribution_target(eta)

    @classmethod
    def from_expectation(cls, family: Any, chi: Any) -> Target:
        """The distribution with expectation parameters chi (soft labels): ``(chi, E[log h])``.

        ``E[log h]`` is evaluated at ``eta = natural_from_expectation(chi)``; it does not change the
        gradient in the model's eta. For Bernoulli ``chi = p[..., None]``, for Categorical ``chi`` is
        the probability vector.
        """
        chi = family.check_expectation(chi)
        with inputs_checked():  # chi on the boundary (a hard 0/1 soft label) has an infinite eta
            return cls(chi, family.expected_log_carrier(family.natural_from_expectation(chi)))
