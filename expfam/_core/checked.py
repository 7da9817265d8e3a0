"""Whether the running expfam call has checked its inputs already (one check per call)."""

from __future__ import annotations

import contextlib
import contextvars
from collections.abc import Iterator

#: Set while an expfam call whose inputs are checked runs: the methods it calls do not check again.
INPUTS_CHECKED: contextvars.ContextVar[bool] = contextvars.ContextVar("expfam_inputs_checked", default=False)


@contextlib.contextmanager
def inputs_checked() -> Iterator[None]:
    """Run the body as a call whose inputs are already checked."""
    token = INPUTS_CHECKED.set(True)
    try:
        yield
    finally:
        INPUTS_CHECKED.reset(token)
