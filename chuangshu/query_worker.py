"""The process that runs analysts' SQL for :mod:`chuangshu.query_runner`.

Started as a fresh interpreter (fork + exec, never a bare fork of the dashboard, whose
DuckDB threads a fork would copy in an undefined state). Before DuckDB is imported it
caps its own address space (``RLIMIT_AS``), so a query that builds one huge value
(``repeat('x', 2e9)``...) fails or is killed here, never in the dashboard, and lowers its
own CPU priority (``nice``), so that on a small server the dashboard's page rendering
always comes first and ad-hoc queries get the CPU that is left over. It opens the
database files itself, read-only and locked down exactly like :mod:`chuangshu.db`
(published snapshot) or :mod:`chuangshu.scope` (a community's private copy), with the
thread count the dashboard gives it (``CHUANGSHU_THREADS``, one by default for workers).

Protocol on the pipe (parent -> worker): ``("run", job)`` — then, for a scoped job, the
scoped file's descriptor (``multiprocessing.reduction.send_handle``) —, and
``("interrupt",)``. Worker -> parent: ``("started",)`` once the query runs, then one of
``("ok", columns, types, df, truncated, too_large, nbytes)``, ``("error", exception name, text)``,
``("missing",)`` (the database file is gone) or ``("memory",)``.
"""
from __future__ import annotations

import os
import queue
import resource
import threading
import time
from typing import Any

from chuangshu.memtrim import configure_malloc, trim_memory

MAX_OPEN = 4  # databases a worker keeps open (least recently used closed first)


def main(fd: int, address_space: int, nice: int = 0) -> None:
    """Worker loop on the socket ``fd``: one query at a time; interrupts arrive while it runs."""
    if nice > 0:
        # Before any thread exists: on Linux the nice value is per thread and inherited by the
        # threads created later (DuckDB's, the reader), so the whole worker yields to the dashboard.
        os.setpriority(os.PRIO_PROCESS, 0, min(19, os.getpriority(os.PRIO_PROCESS, 0) + nice))
    if address_space > 0:
        resource.setrlimit(resource.RLIMIT_AS, (address_space, address_space))
    configure_malloc()  # big result buffers in their own mappings, returned when freed
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
        del reply
        trim_memory()  # the result has been sent: give its memory back to the system

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
    """Stream at most ``max_rows`` rows and ``max_bytes`` bytes of DataFrame memory:
    (columns, types, df, truncated, too_large, nbytes).

    The result is fetched one DuckDB vector (2,048 rows) at a time; the chunk that crosses
    ``max_bytes`` is cut to the rows that fit, so a wide result (500 columns: several MB per
    chunk) stays within its limit too. ``nbytes`` is what the DataFrame holds (pandas'
    ``memory_usage(deep=True)``: Arrow string buffers, numpy arrays).
    """
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
        if rows + len(chunk) > max_rows:
            chunk = chunk.iloc[:max_rows - rows]
            truncated = True
        chunk_bytes = _nbytes(chunk)
        if size + chunk_bytes > max_bytes:
            per_row = chunk_bytes / max(len(chunk), 1)
            keep = max(0, min(len(chunk) - 1, int((max_bytes - size) / per_row)))
            while keep > 0 and size + _nbytes(chunk.iloc[:keep]) > max_bytes:
                keep = int(keep * 0.9)  # rows of very different widths: shrink until it fits
            chunk = chunk.iloc[:keep]
            chunk_bytes = _nbytes(chunk)
            truncated = too_large = True
        if len(chunk) or not chunks:
            chunks.append(chunk)
        rows += len(chunk)
        size += chunk_bytes
        if truncated:
            break
        if rows >= max_rows:  # exactly max_rows so far: truncated only if another row exists
            if len(cursor.fetch_df_chunk(1)):
                truncated = True
            break
    df = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0].reset_index(drop=True)
    if len(df.columns) == len(columns):
        columns = [str(c) for c in df.columns]  # DuckDB de-duplicates: a, a_1
    return columns, types, df, truncated, too_large, _nbytes(df)


def _nbytes(df: Any) -> int:
    return int(df.memory_usage(deep=True, index=False).sum())

