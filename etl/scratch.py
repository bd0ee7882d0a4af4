"""One in-memory DuckDB per process for pure column computations (ids, row hashes).

Opening a DuckDB costs more than hashing a few thousand values, so the process keeps one and
lends it under a lock (the dashboard parses uploads on several threads). Nothing is stored in
it: each caller registers its Arrow input, runs one query and unregisters it.
"""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import duckdb
import pyarrow as pa

_con: duckdb.DuckDBPyConnection | None = None
_lock = threading.Lock()
_inherited: list[duckdb.DuckDBPyConnection] = []  # a forked child's copy of its parent's connection


def _after_fork_in_child() -> None:
    """A forked process (a load's parse worker, etl/parse_pool.py) opens its own scratch DuckDB: the
    parent's one came along without its threads, so it is neither used nor closed here (closing would
    wait for those threads); it is only kept referenced until the child exits."""
    global _con, _lock
    if _con is not None:
        _inherited.append(_con)
    _con = None
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_after_fork_in_child)


@contextmanager
def scratch(**tables: pa.Table | object) -> Iterator[duckdb.DuckDBPyConnection]:
    """The process's scratch DuckDB with ``tables`` registered under their names, for one use."""
    global _con
    with _lock:
        if _con is None:
            _con = duckdb.connect()
            _con.execute("SET enable_progress_bar = false")
        for name, table in tables.items():
            _con.register(name, table)
        try:
            yield _con
        finally:
            try:
                for name in tables:
                    _con.unregister(name)
            except duckdb.Error:  # a query that failed half-way: start afresh next time
                _con.close()
                _con = None


def column(sql: str, params: dict | None = None, **tables: pa.Table | object) -> pa.Array:
    """The one column that ``sql`` selects from ``tables``, in row order, as one Arrow array."""
    with scratch(**tables) as con:
        result = con.sql(sql, params=params or None).to_arrow_table().column(0)
    return result.combine_chunks() if result.num_chunks != 1 else result.chunk(0)


def table(sql: str, params: dict | None = None, **tables: pa.Table | object) -> pa.Table:
    """What ``sql`` selects from ``tables``, as an Arrow table."""
    with scratch(**tables) as con:
        return con.sql(sql, params=params or None).to_arrow_table()
