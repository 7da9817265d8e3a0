"""Reading CSV tables and writing outputs atomically.

A table is UTF-8 text (a leading byte-order mark is dropped) with a header row of distinct,
non-empty column names and rows of the same length; blank lines are skipped. Anything else is
an ``InputError`` naming the file and the line. Outputs are written to a temporary file in
the destination's directory and renamed onto it (``os.replace``) once every output of the
command is complete, so a failure leaves no partial or new file behind.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import os
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import IO

import numpy as np

from expfam.cli.arguments import InputError


@dataclasses.dataclass(frozen=True)
class Table:
    """A CSV file's header and data rows, with the file line of each row (for messages)."""

    name: str
    header: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]

    def require(self, wanted: Sequence[str]) -> None:
        """Raise unless every wanted column is in the header."""
        missing = [w for w in wanted if w not in self.header]
        if missing:
            raise InputError(
                f"{self.name}: no column {', '.join(map(repr, missing))}; the columns are {', '.join(self.header)}"
            )

    def columns(self, wanted: Sequence[str]) -> np.ndarray:
        """The wanted columns as float64, shape (rows, len(wanted)); every cell a finite number."""
        self.require(wanted)
        index = [self.header.index(w) for w in wanted]
        values = np.empty((len(self.rows), len(wanted)))
        bad = []
        for r, row in enumerate(self.rows):
            for c, i in enumerate(index):
                cell = row[i].strip()
                try:
                    values[r, c] = float(cell)
                except ValueError:
                    values[r, c] = np.nan
                if not np.isfinite(values[r, c]):
                    bad.append(f"line {self.lines[r]} column {wanted[c]!r}: {cell!r}")
        if bad:
            raise InputError(f"{self.name}: {len(bad)} values are not finite numbers: {'; '.join(bad[:10])}")
        return values


def decode(data: bytes, name: str) -> str:
    """UTF-8 text without a leading byte-order mark; other encodings are an error naming the line."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        raise InputError(
            f"{name}: not UTF-8 text (byte 0x{data[error.start]:02x} on line {line}); save the file as UTF-8"
        ) from None


def parse_table(text: str, name: str) -> Table:
    """Header and rows of CSV text, checked: distinct non-empty names, every row as long as the header."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    records, lines, line = [], [], 1
    try:
        for record in reader:
            if any(cell.strip() for cell in record):
                records.append(tuple(record))
                lines.append(line)
            line = reader.line_num + 1
    except csv.Error as error:
        raise InputError(f"{name}: line {reader.line_num}: {error}") from None
    if len(records) < 2:
        raise InputError(f"{name}: needs a header row and at least one data row")
    header = tuple(cell.strip() for cell in records[0])
    unnamed = [str(i + 1) for i, h in enumerate(header) if not h]
    if unnamed:
        raise InputError(f"{name}: header column {', '.join(unnamed)} has no name")
    repeated = sorted({h for h in header if header.count(h) > 1})
    if repeated:
        raise InputError(f"{name}: the header names {', '.join(map(repr, repeated))} more than once")
    ragged = [(n, len(r)) for n, r in zip(lines[1:], records[1:], strict=True) if len(r) != len(header)]
    if ragged:
        shown = "; ".join(f"line {n} has {k}" for n, k in ragged[:10])
        more = f" and {len(ragged) - 10} more" if len(ragged) > 10 else ""
        raise InputError(f"{name}: {len(ragged)} rows do not have the header's {len(header)} fields: {shown}{more}")
    return Table(name, header, tuple(records[1:]), tuple(lines[1:]))


def read_table(path: Path) -> Table:
    """The checked table in the CSV file at ``path``."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise InputError(f"cannot read {path}: {error.strerror}") from None
    return parse_table(decode(data, str(path)), str(path))


def check_writable(path: Path, option: str, inputs: Sequence[Path | None] = ()) -> None:
    """Raise unless a file can be created in ``path``'s directory (by creating and removing one)
    and ``path`` is none of the ``inputs`` (an output never replaces the command's input)."""
    directory = path.parent
    for source in inputs:
        if source is not None and path.resolve() == source.resolve():
            raise InputError(f"{option} {path}: is an input of this command; give another path")
    if not directory.is_dir():
        raise InputError(f"{option} {path}: the directory {directory} does not exist")
    if path.is_dir():
        raise InputError(f"{option} {path}: is a directory")
    try:
        with tempfile.NamedTemporaryFile(dir=directory, prefix=f".{path.name}.", suffix=".tmp"):
            pass
    except OSError as error:
        raise InputError(f"{option} {path}: cannot write in {directory}: {error.strerror}") from None


def write_atomically(writers: dict[Path, Callable[[IO[bytes]], None]]) -> None:
    """Write each ``path`` with ``writers[path](file)``; rename them into place only once all succeed.

    Each writer receives a temporary file in its path's directory; on any error (of the writers
    too) every temporary file is removed and nothing is renamed (an ``OSError`` becomes an ``InputError``).
    """
    temporary: dict[Path, str] = {}
    umask = os.umask(0)
    os.umask(umask)
    try:
        for path, write in writers.items():
            handle, temporary[path] = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
            os.chmod(temporary[path], 0o666 & ~umask)  # the permissions an ordinary open() gives
            with os.fdopen(handle, "wb") as file:
                write(file)
        for path, name in temporary.items():
            os.replace(name, path)
    except OSError as error:
        raise InputError(f"cannot write {error.filename or ', '.join(map(str, writers))}: {error.strerror}") from None
    finally:
        for name in temporary.values():
            with contextlib.suppress(FileNotFoundError):
                os.unlink(name)


def text_writer(text: str) -> Callable[[IO[bytes]], None]:
    """A writer for ``write_atomically`` that writes ``text`` as UTF-8."""

    def write(file: IO[bytes]) -> None:
        file.write(text.encode())

    return write
