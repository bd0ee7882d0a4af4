"""Read-only access to the published database that follows the loader's atomic swaps.

The loader publishes by os.replace-ing a new file over the old one. DuckDB caches one
open database per path inside a process, so a reader that simply reconnects would keep
seeing the old file while any older connection lives. Each published version is
therefore opened through its own hard link (``.snapshots/<name>.<version>.duckdb``):
a new path, a new database instance, while cursors on the old one finish undisturbed.

Every connection is read-only and locked down (no file or network access, no extension
loading, fixed memory and thread limits), so the ad-hoc SQL page can share it safely.
"""
from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from chuangshu.paths import db_path

LOCKED_CONFIG = {
    "enable_external_access": False,
    "autoload_known_extensions": False,
    "autoinstall_known_extensions": False,
    "allow_community_extensions": False,
}
MEMORY_LIMIT = os.environ.get("CHUANGSHU_MEMORY_LIMIT", "1GB")
THREADS = int(os.environ.get("CHUANGSHU_THREADS", "2"))


class DatabaseMissing(FileNotFoundError):
    """The published database file does not exist (yet)."""


def file_version(path: Path) -> str:
    """Identity of the file currently at ``path``: changes whenever a new one is swapped in."""
    st = os.stat(path)
    return f"{st.st_ino}-{st.st_mtime_ns}-{st.st_size}"


def connect_locked(path: Path) -> duckdb.DuckDBPyConnection:
    """Open ``path`` read-only with external access off and the configuration locked."""
    con = duckdb.connect(str(path), read_only=True, config=dict(LOCKED_CONFIG))
    if con.execute("SELECT current_setting('lock_configuration')").fetchone()[0]:
        return con  # DuckDB handed out this process's open instance of the file, already set and locked here
    con.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    con.execute(f"SET threads = {THREADS}")
    con.execute("SET lock_configuration = true")
    return con


class PublishedDatabase:
    """Hands out cursors on the newest published version of one database file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()
        self._version: str | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._target: Path | None = None

    def version(self) -> str:
        """Version of the file on disk now (cheap: one stat); raises DatabaseMissing."""
        try:
            return file_version(self.path)
        except FileNotFoundError as exc:
            raise DatabaseMissing(str(self.path)) from exc

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A new cursor (one per script run or thread) on the newest version."""
        with self._lock:
            return self._current().cursor()

    def snapshot_path(self) -> Path:
        """The file the newest version is opened through (for the query worker processes)."""
        with self._lock:
            self._current()
            assert self._target is not None
            return self._target

    def _current(self) -> duckdb.DuckDBPyConnection:
        version = self.version()
        if version != self._version or self._con is None:
            self._open(version)
        assert self._con is not None
        return self._con

    def _open(self, version: str) -> None:
        snapshots = self.path.parent / ".snapshots"
        snapshots.mkdir(exist_ok=True)
        link = snapshots / f"{self.path.stem}.{version}{self.path.suffix}"
        try:
            if not link.exists():
                os.link(self.path, link)
            version = file_version(link)  # the file may have been swapped between stat and link
            target = link
        except OSError:
            target = self.path
        self._con = connect_locked(target)
        self._version = version
        self._target = target
        for old in snapshots.glob(f"{self.path.stem}.*{self.path.suffix}"):
            if old != link:
                try:
                    old.unlink()  # open handles keep the old inode alive until they close
                except OSError:
                    pass


_databases: dict[Path, PublishedDatabase] = {}
_registry_lock = threading.Lock()


def published(path: Path | None = None) -> PublishedDatabase:
    """The process-wide reader for ``path`` (default: the configured database)."""
    key = Path(path or db_path()).resolve()
    with _registry_lock:
        if key not in _databases:
            _databases[key] = PublishedDatabase(key)
        return _databases[key]
