"""A per-file time budget: reading and parsing one file stops with a Chinese reason once it is spent.

``parse_file`` opens a budget for each file (``with budget(seconds): ...``); the steps call
``on_time()`` between sheets, chunks and columns. Nothing runs in another thread and nothing
is interrupted mid-call: a step that cannot be split (calamine turning one sheet into a grid)
is bounded by the size limits instead (etl/limits.py), and the budget catches the sum.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from etl.errors import LedgerError

_DEADLINE: ContextVar[tuple[float, float] | None] = ContextVar("etl_file_deadline", default=None)


@contextmanager
def budget(seconds: float | None) -> Iterator[None]:
    """Give the code inside ``seconds`` of wall-clock time (None: no limit); nests, innermost wins."""
    token = _DEADLINE.set(None if seconds is None else (time.monotonic() + seconds, seconds))
    try:
        yield
    finally:
        _DEADLINE.reset(token)


def on_time() -> None:
    """Raise LedgerError('file_too_slow') when the current file's budget is spent."""
    current = _DEADLINE.get()
    if current is not None and time.monotonic() > current[0]:
        raise LedgerError("file_too_slow", seconds=f"{current[1]:g}")
