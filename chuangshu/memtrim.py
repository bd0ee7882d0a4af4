"""Give freed memory back to the operating system: ``trim_memory()``.

CPython and glibc keep freed heap memory for reuse instead of returning it, so a process
that held a big result shows the same RSS long after the result is gone. After a result is
released, the dashboard (:mod:`chuangshu.query_results`) and the query workers
(:mod:`chuangshu.query_worker`) call :func:`trim_memory`: glibc's ``malloc_trim(0)`` returns
free pages of every arena, and Arrow's memory pool (pandas 3 keeps text columns in Arrow
buffers) releases what it has cached. Both are no-ops where unavailable (not glibc).
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
from typing import Any

log = logging.getLogger(__name__)


def _load_libc() -> Any:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        libc.malloc_trim.argtypes = [ctypes.c_size_t]
        libc.malloc_trim.restype = ctypes.c_int
        return libc
    except (OSError, AttributeError):  # not glibc: nothing to trim
        return None


_libc = _load_libc()


def trim_memory() -> bool:
    """Return freed heap memory to the system; True if glibc's ``malloc_trim`` ran."""
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except Exception:  # noqa: BLE001 - best effort
        pass
    if _libc is None:
        return False
    try:
        _libc.malloc_trim(0)
    except Exception:  # noqa: BLE001
        log.debug("malloc_trim failed", exc_info=True)
        return False
    return True
