"""Keep the garbage collector's full passes short in the server: ``enable()``, ``freeze_after_run()``.

Python's cyclic collector walks every tracked object on a full (generation 2) pass. The dashboard
server holds the objects of everything it imported (Streamlit, pandas, pyarrow, plotly's figure
classes, DuckDB, our modules): measured in a server after a crowd, single full passes of 0.2–1.2 s
on a busy 2-core machine, with the interpreter lock held, so every reader of the briefing and
every session waited for them together (bench/crowd.py; docs/benchmarks.md, "A hall of phone
readers"). Those objects live as long as the process, so walking them finds nothing.

``gc.freeze()`` moves every object alive at that moment into a permanent generation that the
collector never walks; objects made later (sessions, query results, figures) are collected as
before. The server (:mod:`chuangshu.serve`) calls :func:`enable` at start, which freezes what
the server's start-up imported; :func:`freeze_after_run`, called by ``dashboard.py`` at the end of
every script run, freezes once more after the first run has imported the pages' modules, and
then does nothing. The price: a frozen object that later becomes cyclic garbage is never reclaimed —
bounded here by what one first page run leaves (its session's objects), paid once per server.
Outside the server (tests, AppTest) both are no-ops: a test process keeps its
collector as it is.
"""
from __future__ import annotations

import gc
import threading

_state = {"enabled": False, "after_run": False}
_lock = threading.Lock()


def _collect_and_freeze() -> int:
    """Collect what is garbage now (so it is not frozen), then freeze the rest; the frozen count."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def enable() -> int:
    """Server start: freeze what start-up imported and let :func:`freeze_after_run` work once."""
    with _lock:
        _state["enabled"] = True
        return _collect_and_freeze()


def freeze_after_run() -> bool:
    """After the first script run in the server: freeze the pages' modules too. True when it froze now."""
    if not _state["enabled"] or _state["after_run"]:
        return False
    with _lock:
        if _state["after_run"]:
            return False
        _state["after_run"] = True
        _collect_and_freeze()
        return True


def reset_for_tests() -> None:
    """Back to the state of a fresh process (and unfreeze), for tests of this module."""
    with _lock:
        _state.update(enabled=False, after_run=False)
        gc.unfreeze()
