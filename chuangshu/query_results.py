"""Ad-hoc query results held in the dashboard's memory: bounded in bytes, released with the tab.

A result shown on the 即席查询 page lives in the dashboard process for as long as the page
shows it. Left alone, that is long after anyone looks at it: Streamlit keeps a closed tab's
session (and its ``st.session_state``) for ``server.disconnectedSessionTTL`` (120 s) and
drops it only when another session disconnects later. So every result is registered here,
with its size (:attr:`chuangshu.query_runner.QueryResult.nbytes`), under the browser tab
(:class:`Tab`) and the user it belongs to, and:

* a tab holds one result: a new one releases the previous one;
* one user's results together stay within ``USER_MAX_BYTES``, everybody's within
  ``TOTAL_MAX_BYTES`` (one result is already cut at ``DEFAULT_MAX_BYTES`` by the runner):
  the oldest results of that user (then of anyone) are released first;
* when the tab goes (the page's session-scoped resource is released by Streamlit when its
  websocket disconnects, see :mod:`chuangshu.query_session`), its result is released at once,
  and a result that arrives for a tab that has already gone is released on arrival;
* releasing a result drops its rows (:meth:`QueryResult.release`, which keeps the counts
  and says why), and shortly afterwards the freed memory is handed back to the operating
  system (glibc ``malloc_trim``, Arrow's memory pool), so the server's RSS falls back.

No Streamlit here; :data:`STORE` is the process-wide store.
"""
from __future__ import annotations

import itertools
import logging
import threading
from dataclasses import dataclass, field
from typing import Any

from chuangshu import query_runner
from chuangshu.memtrim import trim_memory
from chuangshu.query_runner import QueryResult

log = logging.getLogger(__name__)

MSG_NEWER = "这个结果已被本页的新查询替换"
MSG_TAB_CLOSED = "页面已关闭，结果已释放"


def msg_user_full(limit: int) -> str:
    """Why a user's older result was let go: their results together passed their share."""
    return (f"您在其他页面的查询结果合计超过每人 {limit / query_runner.MB:g} MB 的上限，"
            "这个较早的结果已释放。需要时请重新运行查询")


def msg_total_full(limit: int) -> str:
    """Why an older result was let go: everybody's results together passed the server's limit."""
    return (f"服务器上保存的查询结果合计超过 {limit / query_runner.MB:g} MB 的上限，"
            "这个较早的结果已释放。需要时请重新运行查询")


_tab_ids = itertools.count(1)


@dataclass(eq=False)
class Tab:
    """One browser tab (Streamlit session) of the 即席查询 page; ``closed`` once it has gone."""

    id: int = field(default_factory=lambda: next(_tab_ids))
    closed: bool = False


@dataclass(eq=False)
class _Held:
    tab: Tab
    owner: str | None
    result: QueryResult
    nbytes: int
    seq: int


class ResultStore:
    """The results the dashboard holds, their owners and sizes (thread-safe)."""

    def __init__(self, user_max_bytes: int | None = None, total_max_bytes: int | None = None,
                 trim_delay_s: float = 1.0) -> None:
        self.user_max_bytes = query_runner.USER_MAX_BYTES if user_max_bytes is None else user_max_bytes
        self.total_max_bytes = query_runner.TOTAL_MAX_BYTES if total_max_bytes is None else total_max_bytes
        self.trim_delay_s = trim_delay_s
        self._lock = threading.Lock()
        self._held: dict[int, _Held] = {}  # tab id -> its result
        self._seq = itertools.count()
        self._trim_timer: threading.Timer | None = None

    def open_tab(self) -> Tab:
        """A new tab (one per page session)."""
        return Tab()

    def hold(self, tab: Tab, owner: str | None, result: QueryResult) -> QueryResult:
        """Keep ``result`` as ``tab``'s result, within the byte limits; returns ``result``
        (already released if the tab has gone meanwhile)."""
        released: list[tuple[QueryResult, str]] = []
        with self._lock:
            old = self._held.pop(tab.id, None)
            if old is not None and old.result is not result:
                released.append((old.result, MSG_NEWER))
            if tab.closed:
                released.append((result, MSG_TAB_CLOSED))
            elif result.ok and result.released is None:
                self._held[tab.id] = _Held(tab, owner, result, max(0, int(result.nbytes)), next(self._seq))
                released += self._evict(tab, owner)
        self._release(released)
        self._schedule_trim()  # the transient copies of receiving and drawing it go back to the system too
        return result

    def close_tab(self, tab: Tab) -> None:
        """The tab has gone: release its result now, and any that arrives for it later."""
        with self._lock:
            tab.closed = True
            held = self._held.pop(tab.id, None)
        if held is not None:
            self._release([(held.result, MSG_TAB_CLOSED)])

    def held_bytes(self, owner: Any = ...) -> int:
        """Bytes held in all, or for one ``owner``."""
        with self._lock:
            return sum(h.nbytes for h in self._held.values() if owner is ... or h.owner == owner)

    def held_count(self) -> int:
        """How many results are held."""
        with self._lock:
            return len(self._held)

    def clear(self) -> None:
        """Release everything (tests; shutting down)."""
        with self._lock:
            held = list(self._held.values())
            self._held.clear()
        self._release([(h.result, MSG_TAB_CLOSED) for h in held])

    def _evict(self, keep: Tab, owner: str | None) -> list[tuple[QueryResult, str]]:
        """Oldest first: the owner's other results over their share, then anyone's over the total."""
        out: list[tuple[QueryResult, str]] = []
        oldest = sorted(self._held.values(), key=lambda h: h.seq)
        mine = sum(h.nbytes for h in oldest if h.owner == owner)
        for h in oldest:
            if mine <= self.user_max_bytes:
                break
            if h.owner == owner and h.tab is not keep:
                del self._held[h.tab.id]
                mine -= h.nbytes
                out.append((h.result, msg_user_full(self.user_max_bytes)))
        total = sum(h.nbytes for h in self._held.values())
        for h in sorted(self._held.values(), key=lambda h: h.seq):
            if total <= self.total_max_bytes:
                break
            if h.tab is not keep:
                del self._held[h.tab.id]
                total -= h.nbytes
                out.append((h.result, msg_total_full(self.total_max_bytes)))
        return out

    def _release(self, items: list[tuple[QueryResult, str]]) -> None:
        if not items:
            return
        for result, reason in items:
            result.release(reason)
        self._schedule_trim()

    def _schedule_trim(self) -> None:
        """Hand freed memory back to the system soon (once for a burst of releases)."""
        with self._lock:
            if self._trim_timer is not None:
                return
            timer = threading.Timer(self.trim_delay_s, self._trim)
            timer.daemon = True
            self._trim_timer = timer
        timer.start()

    def _trim(self) -> None:
        with self._lock:
            self._trim_timer = None
        trim_memory()


STORE = ResultStore()
