"""Community scope enforced by the engine: one community's rows in a private read-only database.

A community-scoped user's metrics, chart downloads, slides and ad-hoc SQL all run on a
:class:`ScopedDatabase` instead of the published one. It is a fresh, private DuckDB
database holding, as plain tables with the public views' names,

* only that community's rows of the views with a ``community`` column
  (:data:`COMMUNITY_VIEWS`),
* the whole of the reference views without one (:data:`SHARED_VIEWS`: categories,
  milestones, the 2020 mobilisation figures),
* three harmless ``meta`` entries (version, publication time, sample flag),
* the pre-aggregated tables (:data:`etl.marts.TABLES`) rebuilt from those rows alone,

and nothing else: no storage tables (``case_records``...), no ``rejects``,
``load_batches`` or ``submissions``. Rows are copied out of the published database through
its locked read-only cursor (Arrow) into a new database file in a private temporary
folder (mode 0700); that file is then opened **read-only** and locked like the published
one (no file or network access, no extensions, no spill directory, memory and thread
limits, configuration locked) and deleted from the folder at once — the open handle keeps
it readable, nothing is left on disk, and no path leads to it. (An in-memory database
cannot be opened read-only, and a writable one would let a data-modifying CTE such as
``WITH x AS (DELETE FROM cases RETURNING *) SELECT ...`` — which parses as a SELECT —
empty the shared copy.) The ad-hoc SQL worker processes (:mod:`chuangshu.query_worker`)
get a descriptor of the deleted file (:attr:`ScopedDatabase.fd`, closed with the cached
object) and open their own private copy the same way (:func:`open_copy`). Other
communities' rows are therefore not *hidden* by a WHERE clause that SQL could get around —
they are not in the database the query runs on.

Built once per (database version, community) and kept in a small LRU cache.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
import weakref
from collections import OrderedDict
from pathlib import Path

import duckdb

from chuangshu import db as dbmod
from etl import catalogue, marts

# From the catalogue (etl/catalogue.py): every non-admin view with a community column is narrowed.
COMMUNITY_VIEWS = catalogue.COMMUNITY_VIEWS
SHARED_VIEWS = catalogue.SHARED_VIEWS
VISIBLE_VIEWS = COMMUNITY_VIEWS + SHARED_VIEWS
HIDDEN_VIEWS = catalogue.ADMIN_VIEWS  # whole-sub-district administration
META_KEYS = ("db_version", "published_at", "dataset")
CACHE_SIZE = max(1, int(os.environ.get("CHUANGSHU_SCOPE_CACHE", "8")))
MEMORY_LIMIT = os.environ.get("CHUANGSHU_SCOPE_MEMORY_LIMIT", "512MB")


class ScopeError(PermissionError):
    """A community-scoped user asked for something outside their community (Chinese message)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ScopedDatabase:
    """One community's rows of one published version; same interface as PublishedDatabase."""

    def __init__(self, source: dbmod.PublishedDatabase, community: str) -> None:
        self.source = source
        self.community = community
        self.path = source.path
        self._version = source.version()
        self._con, self.fd = _build(source, community)  # fd: the deleted file, for the query workers
        weakref.finalize(self, os.close, self.fd)
        self._lock = threading.Lock()

    def key(self) -> tuple[str, str, str]:
        """Identifies this copy (published path, version, community) to the query workers."""
        return (str(self.path), self._version, self.community)

    def version(self) -> str:
        """The published version these rows were copied from."""
        return self._version

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor (its own context) on the scoped database."""
        with self._lock:
            return self._con.cursor()


def _build(source: dbmod.PublishedDatabase, community: str) -> tuple[duckdb.DuckDBPyConnection, int]:
    cur = source.cursor()
    try:
        known = cur.execute("SELECT count(*) FROM communities WHERE community = $c", {"c": community}).fetchall()
        if not known or not known[0][0]:
            raise ScopeError(f"账号所属社区“{community}”不在社区名单中，无法显示数据。请联系街道办管理员核对账号设置")
        tables = {}
        for view in COMMUNITY_VIEWS:
            tables[view] = cur.sql(f"SELECT * FROM {view} WHERE community = $c",  # noqa: S608 - fixed names
                                   params={"c": community}).to_arrow_table()
        for view in SHARED_VIEWS:
            tables[view] = cur.sql(f"SELECT * FROM {view}").to_arrow_table()  # noqa: S608
        tables["meta"] = cur.sql("SELECT key, value FROM meta WHERE list_contains($keys, key)",
                                 params={"keys": list(META_KEYS)}).to_arrow_table()
    finally:
        cur.close()
    folder = Path(tempfile.mkdtemp(prefix="chuangshu-scope-"))  # mode 0700
    path = folder / "scoped.duckdb"
    try:
        writer = duckdb.connect(str(path), config=_CONFIG)
        try:
            for name, table in tables.items():
                writer.register("_rows", table)
                writer.execute(f'CREATE TABLE "{name}" AS SELECT * FROM _rows')
                writer.unregister("_rows")
            marts.build(writer)  # the metric layer reads the marts: rebuilt from this community's rows only
            writer.execute("CHECKPOINT")
        finally:
            writer.close()
        fd = os.open(path, os.O_RDONLY)  # for the query worker processes (open_copy)
        try:
            return _open_locked(path), fd
        except BaseException:
            os.close(fd)
            raise
    finally:
        shutil.rmtree(folder, ignore_errors=True)  # the open read-only handles keep the data readable


_CONFIG = {**dbmod.LOCKED_CONFIG, "temp_directory": ""}  # no spill folder either


def _open_locked(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(path), read_only=True, config=_CONFIG)
    try:
        con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
        con.execute(f"SET threads = {dbmod.THREADS}")
        con.execute("SET lock_configuration = true")
    except BaseException:
        con.close()
        raise
    return con


def open_copy(fd: int) -> duckdb.DuckDBPyConnection:
    """Open, in another process (the query worker), the scoped database whose file descriptor
    :attr:`ScopedDatabase.fd` was handed over: copied into a private temporary folder,
    opened read-only and locked exactly like the original, and deleted at once."""
    folder = Path(tempfile.mkdtemp(prefix="chuangshu-scope-"))  # mode 0700
    path = folder / "scoped.duckdb"
    try:
        with open(path, "wb") as out:
            offset = 0
            while chunk := os.pread(fd, 1 << 20, offset):
                out.write(chunk)
                offset += len(chunk)
        return _open_locked(path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_cache: OrderedDict[tuple[Path, str, str], ScopedDatabase] = OrderedDict()
_cache_lock = threading.Lock()
_build_lock = threading.Lock()


def scoped(community: str, path: Path | str | dbmod.PublishedDatabase | None = None) -> ScopedDatabase:
    """The scoped database of ``community`` for the newest published version (built on first use).

    Raises :class:`chuangshu.db.DatabaseMissing` when there is no database and
    :class:`ScopeError` when the community is unknown.
    """
    if not isinstance(community, str) or not community:
        raise ScopeError("账号没有设置所属社区")
    source = path if isinstance(path, dbmod.PublishedDatabase) else dbmod.published(
        Path(path) if path is not None else None)
    key = (source.path, source.version(), community)
    with _cache_lock:
        hit = _cache.get(key)
        if hit is not None:
            _cache.move_to_end(key)
            return hit
    with _build_lock:  # one build at a time; another thread may have built it meanwhile
        with _cache_lock:
            hit = _cache.get(key)
            if hit is not None:
                return hit
        built = ScopedDatabase(source, community)
        with _cache_lock:
            # Older versions of this database are never asked for again: drop them now.
            for old in [k for k in _cache if k[0] == key[0] and k[1] != built.version()]:
                del _cache[old]
            _cache[(source.path, built.version(), community)] = built
            while len(_cache) > CACHE_SIZE:
                _cache.popitem(last=False)  # running queries keep their own cursor alive
        return built


def clear_cache() -> None:
    """Forget every scoped database (tests)."""
    with _cache_lock:
        _cache.clear()
