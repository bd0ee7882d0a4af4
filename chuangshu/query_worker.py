"""The process that runs analysts' SQL for :mod:`chuangshu.query_runner`.

Started as a fresh interpreter (fork + exec, never a bare fork of the dashboard, whose
DuckDB threads a fork would copy in an undefined state). Before DuckDB is imported it
caps its own address space (``RLIMIT_AS``), so a query that builds one huge value
(``repeat('x', 2e9)``...) fails or is killed here, never in the dashboard. It opens the
database files itself, read-only and locked down exactly like :mod:`chuangshu.db`
(published snapshot) or :mod:`chuangshu.scope` (a community's private copy).

Protocol on the pipe (parent -> worker): ``("run", job)`` — then, for a scoped job, the
scoped file's descriptor (``multiprocessing.reduction.send_handle``) —, and
``("interrupt",)``. Worker -> parent: ``("started",)`` once the query runs, then one of
``("ok", columns, types, df, truncated, too_large)``, ``("error", exception name, text)``,
``("missing",)`` (the database file is gone) or ``("memory",)``.
"""
from __future__ import annotations

import os
import queue
import resource
import threading
import time
from typing import Any

MAX_OPEN = 4  # databases a worker keeps open (least recently used closed first)


def main(fd: int, address_space: int) -> None:
    """Worker loop on the socket ``fd``: one query at a time; interrupts arrive while it runs."""
    if address_space > 0:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    from multiprocessing.connection import Connection

    _Worker(Connection(fd)).serve()  # DuckDB is imported only now, under the limit


class _Worker:
    def __init__(self, conn: Any) -> None:
        import duckdb  # noqa: F401 - after setrlimit

        self.conn = conn
        self.send_lock = threading.Lock()
        self.cursor: Any = None
        self.cursor_lock = threading.Lock()
        # (published path[, community]) -> (snapshot path or version, connection), LRU order
        self.open: dict[tuple, tuple[str, Any]] = {}

    def send(self, message: tuple) -> None:
        with self.send_lock:
            self.conn.send(message)

    def serve(self) -> None:
        """Queries run in this (main) thread; one reader thread takes messages meanwhile."""
        jobs: queue.Queue = queue.Queue()
        threading.Thread(target=self.read, args=(jobs,), name="reader", daemon=True).start()
        while True:
            self.run(*jobs.get())

    def read(self, jobs: queue.Queue) -> None:
        from multiprocessing import reduction

        while True:
            try:
                message = self.conn.recv()
                if message[0] == "run":
                    job = message[1]
                    jobs.put((job, reduction.recv_handle(self.conn) if job.get("scope") else None))
                    continue
            except (EOFError, OSError):
                os._exit(0)  # the dashboard went away
            with self.cursor_lock:  # "interrupt"
                if self.cursor is not None:
                    try:
                        self.cursor.interrupt()
                    except Exception:  # noqa: BLE001 - already closed
                        pass

    def run(self, job: dict, fd: int | None) -> None:
        import duckdb

        try:
            con = self.connection(job, fd)
        except MemoryError:
            self.send(("memory",))
            return
        except (FileNotFoundError, duckdb.IOException):
            self.send(("missing",))
            return
        cursor = None
        try:
            cursor = con.cursor()
            with self.cursor_lock:
                self.cursor = cursor
            self.send(("started",))
            deadline = time.monotonic() + job["timeout_s"]
            cursor.execute(job["sql"], job["params"])
            reply: tuple = ("ok", *fetch(cursor, job["max_rows"], job["max_bytes"], deadline))
        except MemoryError:
            reply = ("memory",)
        except BaseException as exc:  # noqa: BLE001 - reported to the parent
            reply = ("error", type(exc).__name__, str(exc))
        finally:
            with self.cursor_lock:
                self.cursor = None
            if cursor is not None:
                try:
                    cursor.close()
                except Exception:  # noqa: BLE001
                    pass
        try:
            self.send(reply)
        except MemoryError:
            self.send(("memory",))

    def connection(self, job: dict, fd: int | None) -> Any:
        """The open database for ``job``: the published snapshot or a community's copy."""
        from chuangshu import db as dbmod
        from chuangshu import scope as scope_mod

        try:
            if job.get("scope"):
                *source, community = job["scope"]
                key, path = (*source[:1], community), source[1]  # (published path, community), version
            else:
                key, path = (job["source"],), job["path"]
            known = self.open.pop(key, None)
            if known is not None and known[0] == path:
                self.open[key] = known  # most recently used last
                return known[1]
            if known is not None:
                known[1].close()  # an older version: a newer one was published
            con = scope_mod.open_copy(fd) if fd is not None else dbmod.connect_locked(path)
            self.open[key] = (path, con)
            while len(self.open) > MAX_OPEN:
                self.open.pop(next(iter(self.open)))[1].close()
            return con
        finally:
            if fd is not None:
                os.close(fd)


def fetch(cursor: Any, max_rows: int, max_bytes: int, deadline: float) -> tuple:
    """Stream at most ``max_rows`` rows / ``max_bytes`` bytes: (columns, types, df, truncated, too_large)."""
    import duckdb
    import pandas as pd

    description = cursor.description or []
    columns = [d[0] for d in description]
    types = [str(d[1]) for d in description]
    chunks: list[pd.DataFrame] = []
    rows = size = 0
    truncated = too_large = False
    while True:
        if time.monotonic() > deadline:
            raise duckdb.InterruptException("deadline passed while fetching")
        chunk = cursor.fetch_df_chunk(1)
        if len(chunk) == 0:
            if not chunks:
                chunks.append(chunk)
            break
        chunks.append(chunk)
        rows += len(chunk)
        size += int(chunk.memory_usage(deep=True, index=False).sum())
        if rows > max_rows:
            truncated = True
            break
        if size > max_bytes:
            truncated = too_large = True
            break
    df = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    if len(df) > max_rows:
        df = df.iloc[:max_rows].reset_index(drop=True)
    if len(df.columns) == len(columns):
        columns = [str(c) for c in df.columns]  # DuckDB de-duplicates: a, a_1
    return columns, types, df, truncated, too_large
