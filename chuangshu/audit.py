"""Append-only audit logs of ad-hoc queries and of changes to saved queries (JSON Lines under the
local state folder).

One line per query: when (ISO time with offset), who (the signed-in user if known, and
the client address if known), where it came from
(``adhoc``, ``saved:<name>``, ``example:<id>``), the SQL and bound parameters, rows
returned, whether truncated, milliseconds and outcome (ok, refused, timeout, memory,
busy, unavailable, error) with the Chinese message shown to the user. Changes to saved
queries (save, overwrite, delete, share, unshare: who, when, which, the SQL) go to a second
file, ``saved_queries.jsonl``, beside it. The files live outside the analytics database, so
reloading the database never loses them.
"""
from __future__ import annotations

import datetime as dt
import json
import os
import threading
from collections import deque
from pathlib import Path
from typing import Any

from chuangshu.paths import local_state_dir

try:  # POSIX: serialise writers in other processes too
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

MAX_SQL_CHARS = 20_000
_lock = threading.Lock()


def log_path() -> Path:
    """Where the audit log is (created on first write)."""
    return local_state_dir() / "audit" / "queries.jsonl"


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set)):
        return [_jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    return str(value)


def record_query(*, sql: str, user: str | None, rows: int, ms: float, outcome: str,
                 params: Any = None, source: str = "adhoc", truncated: bool = False,
                 error: str | None = None, client: str | None = None,
                 when: dt.datetime | None = None, scope: str | None = None) -> dict:
    """Append one entry and return it (``scope``: the community a scoped user's query was limited to)."""
    sql = sql if isinstance(sql, str) else repr(sql)
    entry = {
        "when": (when or dt.datetime.now().astimezone()).isoformat(timespec="milliseconds"),
        "user": None if user is None else str(user),
        "client": None if client is None else str(client),
        "source": source,
        "sql": sql if len(sql) <= MAX_SQL_CHARS else sql[:MAX_SQL_CHARS] + "…",
        "sql_chars": len(sql),
        "params": _jsonable(params) if params else None,
        "rows": int(rows),
        "truncated": bool(truncated),
        "ms": round(float(ms), 1),
        "outcome": outcome,
        "error": error,
    }
    if scope is not None:
        entry["scope"] = scope
    append(entry)
    return entry


def append(entry: dict, path: Path | None = None) -> None:
    """Append ``entry`` as one line (to the query log unless ``path``); safe across threads and processes."""
    line = (json.dumps(entry, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    path = path or log_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    with _lock:
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
        try:
            if fcntl is not None:
                fcntl.flock(fd, fcntl.LOCK_EX)
            view = memoryview(line)
            while view:
                written = os.write(fd, view)
                view = view[written:]
        finally:
            os.close(fd)  # closing releases the flock


def events_path() -> Path:
    """Where changes to saved queries are logged (created on first write), apart from the query log."""
    return local_state_dir() / "audit" / "saved_queries.jsonl"


def record_event(action: str, *, user: str | None, client: str | None = None, name: str,
                 when: dt.datetime | None = None, **details: Any) -> dict:
    """Append one change to a saved query (``save``, ``overwrite``, ``delete``, ``share``, ``unshare``)."""
    entry = {
        "when": (when or dt.datetime.now().astimezone()).isoformat(timespec="milliseconds"),
        "action": action,
        "user": None if user is None else str(user),
        "client": None if client is None else str(client),
        "name": name,
        **{k: _jsonable(v) for k, v in details.items()},
    }
    append(entry, events_path())
    return entry


def read_events(limit: int | None = None) -> list[dict]:
    """The last ``limit`` saved-query changes (all if None), oldest first."""
    return read_entries(limit, events_path())


def read_entries(limit: int | None = None, path: Path | None = None) -> list[dict]:
    """The last ``limit`` entries (all if None), oldest first; unreadable lines skipped."""
    path = path or log_path()
    if not path.exists():
        return []
    kept: deque[dict] = deque(maxlen=limit) if limit else deque()
    with path.open(encoding="utf-8", errors="replace") as fh:
        for line in fh:
            try:
                kept.append(json.loads(line))
            except json.JSONDecodeError:
                continue
    return list(kept)
