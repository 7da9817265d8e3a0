"""The one registry of families, keyed by class.

Every ``ExponentialFamily`` subclass registers itself when its module is imported; the
catalogue (each class's ``catalogue`` rows: configurations and example points), the command
line's family list, the tests and the benchmarks all read it from here.
"""

from __future__ import annotations

from typing import Any, NamedTuple

_CLASSES: dict[type, None] = {}


def register(cls: type) -> None:
    """Record a family class (called by ``ExponentialFamily.__init_subclass__``)."""
    _CLASSES[cls] = None


def family_classes() -> tuple[type, ...]:
    """Every registered class that has catalogue rows, in registration order."""
    return tuple(cls for cls in _CLASSES if vars(cls).get("catalogue"))


class Entry(NamedTuple):
    """A configured family and example points in its source parameters."""

    family: Any
    examples: tuple[dict[str, Any], ...]


def catalogue() -> tuple[Entry, ...]:
    """Every catalogue row of every registered family, configured."""
    return tuple(Entry(cls(**config), points) for cls in family_classes() for config, points in vars(cls)["catalogue"])
