"""Command-line arguments: one-line errors and option types checked when the line is parsed.

Every user error of the command line is reported as one line on stderr and a non-zero exit
status, before any work starts: ``UsageError`` (exit status 2) for what ``argparse`` rejects,
including the types below, and ``InputError`` (exit status 1) for what only the files reveal.
"""

from __future__ import annotations

import argparse
import math
from typing import NoReturn

#: Seeds feed numpy's generator and ``jax.random.key``; both take the unsigned 32-bit range.
MAX_SEED = 2**32 - 1


class InputError(ValueError):
    """Bad input found in the files or the settings: one clear line, exit status 1."""


class UsageError(Exception):
    """A command line that ``argparse`` rejects: one clear line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ``ArgumentParser`` whose errors raise ``UsageError`` (one line) instead of printing usage."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{self.prog}: error: {message}")


def _int(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None


def positive_int(text: str) -> int:
    """An integer >= 1."""
    value = _int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive integer")
    return value


def seed(text: str) -> int:
    """An integer in ``[0, MAX_SEED]``."""
    value = _int(text)
    if not 0 <= value <= MAX_SEED:
        raise argparse.ArgumentTypeError(f"{text!r}: give an integer from 0 to {MAX_SEED}")
    return value


def _float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"{text!r}: give a finite number")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0 (NaN and infinities are refused)."""
    value = _float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r}: give a positive number")
    return value


def fraction(text: str) -> float:
    """A number strictly between 0 and 1."""
    value = _float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give a number strictly between 0 and 1")
    return value


def layer_sizes(text: str) -> tuple[int, ...]:
    """Comma-separated positive integers; an empty string is no hidden layer (a linear model)."""
    if not text.strip():
        return ()
    sizes = []
    for item in text.split(","):
        try:
            sizes.append(positive_int(item.strip()))
        except argparse.ArgumentTypeError:
            raise argparse.ArgumentTypeError(f"{text!r}: give positive layer sizes like 32,32 ('' for none)") from None
    return tuple(sizes)


def names(text: str) -> tuple[str, ...]:
    """Comma-separated column names: none empty, none twice."""
    items = tuple(item.strip() for item in text.split(","))
    if "" in items:
        raise argparse.ArgumentTypeError(f"{text!r}: a column name is empty")
    repeated = sorted({item for item in items if items.count(item) > 1})
    if repeated:
        raise argparse.ArgumentTypeError(f"{text!r}: {', '.join(map(repr, repeated))} listed twice")
    return items


def levels(text: str) -> tuple[float, ...]:
    """Comma-separated probabilities strictly between 0 and 1 (quantile levels), none twice."""
    values = tuple(fraction(item.strip()) for item in text.split(","))
    if len(set(values)) != len(values):
        raise argparse.ArgumentTypeError(f"{text!r}: a level is listed twice")
    return values
