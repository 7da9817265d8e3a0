"""Supports: where a family's samples live.

A support answers, for a batch of samples x of shape ``batch + event_shape``:

* ``contains(x, precision=None)``: a boolean mask of shape ``batch``; ``precision`` is the dtype
  the data was given in (before half precision is promoted to float32), default x's own;
* ``point``: a point inside it (of the event shape), put in place of samples outside it before
  ``T(x)`` and ``log h(x)`` are evaluated, so that those values (later replaced by -inf) never
  produce NaN;
* ``discrete``: integer-valued (the CDF is a step function, calibration uses the randomized PIT);
* ``event_shape`` and ``description`` (for error messages and documentation).

Supports judged within a tolerance (the simplex, the sphere, symmetric matrices) use the
precision of the sample itself, ``sqrt(eps)`` of the dtype it was given in: a bf16 probability
vector or unit vector is judged at bf16's precision, float32 data under ``jax_enable_x64`` at
float32's, never at the compute dtype's.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from expfam._numerics import linalg

Array = jax.Array


@dataclasses.dataclass(frozen=True)
class Support:
    """Base of the supports; a subclass gives ``contains`` and its fields' values."""

    description: str = dataclasses.field(init=False, default="")
    discrete: bool = dataclasses.field(init=False, default=False)

    @property
    def event_shape(self) -> tuple[int, ...]:
        return ()

    @property
    def point(self) -> np.ndarray:
        """A point of the support, shape ``event_shape``."""
        return np.zeros(self.event_shape)

    def contains(self, x: Array, precision: Any = None) -> Array:
        raise NotImplementedError


def _tolerance(x: Array, precision: Any) -> float:
    """``sqrt(eps)`` of the precision the data was given in (``precision``, default x's dtype)."""
    return math.sqrt(jnp.finfo(x.dtype if precision is None else precision).eps)


def _finite(x: Array) -> Array:
    return x < jnp.inf


@dataclasses.dataclass(frozen=True)
class Real(Support):
    """Finite real numbers."""

    description: str = dataclasses.field(init=False, default="x real")

    def contains(self, x: Array, precision: Any = None) -> Array:
        return jnp.isfinite(x)


@dataclasses.dataclass(frozen=True)
class Angle(Real):
    """Finite real numbers read as angles in radians (2 pi-periodic)."""

    description: str = dataclasses.field(init=False, default="x real (an angle in radians, 2 pi-periodic)")


@dataclasses.dataclass(frozen=True)
class Positive(Support):
    """``0 < x < inf``."""

    description: str = dataclasses.field(init=False, default="x > 0")

    @property
    def point(self) -> np.ndarray:
        return np.ones(())

    def contains(self, x: Array, precision: Any = None) -> Array:
        return (x > 0) & _finite(x)


@dataclasses.dataclass(frozen=True)
class AtLeast(Support):
    """``lower <= x < inf`` (``NonNegative`` is ``AtLeast(0)``)."""

    lower: float = 0.0

    @property
    def point(self) -> np.ndarray:
        return np.full((), max(self.lower, 0.0) + 1.0)

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"x >= {self.lower:g}")

    def contains(self, x: Array, precision: Any = None) -> Array:
        return (x >= self.lower) & _finite(x)


@dataclasses.dataclass(frozen=True)
class UnitInterval(Support):
    """``0 < x < 1`` (open) or ``0 <= x <= 1`` (closed)."""

    closed: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", "0 <= x <= 1" if self.closed else "0 < x < 1")

    @property
    def point(self) -> np.ndarray:
        return np.full((), 0.5)

    def contains(self, x: Array, precision: Any = None) -> Array:
        return ((x >= 0) & (x <= 1)) if self.closed else ((x > 0) & (x < 1))


@dataclasses.dataclass(frozen=True)
class Counts(Support):
    """Integers ``0, 1, ..., upper`` (``upper=None``: no upper bound)."""

    upper: int | None = None
    discrete: bool = dataclasses.field(init=False, default=True)

    def __post_init__(self) -> None:
        tail = "..." if self.upper is None else ("1" if self.upper == 1 else f"..., {self.upper}")
        object.__setattr__(self, "description", f"x in {{0, 1, {tail}}}".replace("{0, 1, 1}", "{0, 1}"))

    def contains(self, x: Array, precision: Any = None) -> Array:
        below = _finite(x) if self.upper is None else (x <= self.upper)
        return (x >= 0) & below & (x == jnp.floor(x))


@dataclasses.dataclass(frozen=True)
class RealVectors(Support):
    """Finite vectors of length ``dim``."""

    dim: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"x in R^{self.dim}")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    def contains(self, x: Array, precision: Any = None) -> Array:
        return jnp.all(jnp.isfinite(x), axis=-1)


@dataclasses.dataclass(frozen=True)
class Simplex(Support):
    """Positive vectors of length ``dim`` summing to 1 within ``sqrt(eps)`` (no renormalization)."""

    dim: int

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "description", f"x_k > 0 with sum_k x_k = 1 ({self.dim} coordinates, within sqrt(eps))"
        )

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    @property
    def point(self) -> np.ndarray:
        return np.full((self.dim,), 1.0 / self.dim)

    def contains(self, x: Array, precision: Any = None) -> Array:
        tolerance = _tolerance(x, precision)
        positive = jnp.all((x > 0) & _finite(x), axis=-1)
        return positive & (jnp.abs(jnp.sum(x, axis=-1) - 1) <= tolerance)


@dataclasses.dataclass(frozen=True)
class CountVectors(Support):
    """Vectors of ``dim`` non-negative integers summing to ``total``."""

    total: int
    dim: int
    discrete: bool = dataclasses.field(init=False, default=True)

    def __post_init__(self) -> None:
        object.__setattr__(
            self, "description", f"count vectors x_k in {{0, ..., {self.total}}} with sum_k x_k = {self.total}"
        )

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    @property
    def point(self) -> np.ndarray:
        return np.eye(self.dim)[0] * self.total

    def contains(self, x: Array, precision: Any = None) -> Array:
        counts = jnp.all((x >= 0) & (x == jnp.floor(x)), axis=-1)
        return counts & (jnp.sum(x, axis=-1) == self.total)


@dataclasses.dataclass(frozen=True)
class UnitSphere(Support):
    """Unit vectors in ``R^dim`` (norm 1 within ``sqrt(eps)``)."""

    dim: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"unit vectors in R^{self.dim} (norm 1 within sqrt(eps))")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim,)

    @property
    def point(self) -> np.ndarray:
        return np.full((self.dim,), 1.0 / math.sqrt(self.dim))

    def contains(self, x: Array, precision: Any = None) -> Array:
        tolerance = _tolerance(x, precision)
        largest = jnp.max(jnp.abs(x), axis=-1, keepdims=True)
        scale = jnp.where(largest > 0, largest, 1.0)
        norm = scale[..., 0] * jnp.sqrt(jnp.sum((x / scale) ** 2, axis=-1))
        return jnp.abs(norm - 1.0) <= tolerance


@dataclasses.dataclass(frozen=True)
class PositiveDefinite(Support):
    """Symmetric (within ``sqrt(eps)`` of the largest entry) positive-definite ``dim x dim`` matrices."""

    dim: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "description", f"symmetric positive-definite {self.dim} x {self.dim} matrices")

    @property
    def event_shape(self) -> tuple[int, ...]:
        return (self.dim, self.dim)

    @property
    def point(self) -> np.ndarray:
        return np.eye(self.dim)

    def contains(self, x: Array, precision: Any = None) -> Array:
        tolerance = _tolerance(x, precision)
        largest = jnp.max(jnp.abs(x), axis=(-2, -1))
        symmetric = jnp.max(jnp.abs(x - jnp.swapaxes(x, -1, -2)), axis=(-2, -1)) <= tolerance * largest
        upper = jnp.triu(x)
        return symmetric & linalg.is_positive_definite(upper + jnp.swapaxes(jnp.triu(x, 1), -1, -2))
