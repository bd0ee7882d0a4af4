"""Load: the only side effect. Apply parsed files to a private copy of the database in one
transaction, then publish it with an atomic rename, so readers never see a half-loaded
database and a crash leaves the previous one intact."""
from __future__ import annotations

import errno
import fcntl
import glob
import hashlib
import logging
import math
import os
import re
import resource
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import marts, migrations
from etl.errors import LoadFailed, Problem
from etl.kinds import BY_NAME, KINDS, LedgerKind
from etl.limits import LIMITS, Limits
from etl.parse_pool import (PARSE_AHEAD_BYTES, ProcessPool, cores, parse_in_order, parse_processes, parse_workers,
                            process_pool)
from etl.pipeline import ParsedFile, content_hash, parse_file
from etl.privacy import PERSON_ID_PARTS
from etl.reference import FILES as REFERENCE_FILES
from etl.reference import Reference, load_reference

SQL_DIR = Path(__file__).parent / "sql"
LINEAGE = tuple(name for name, _, _ in migrations.LINEAGE)  # every record's lineage columns
log = logging.getLogger(__name__)


@dataclass
class FileSummary:
    """What loading one file did, for the per-file summary and load_batches."""

    file: str
    status: str  # 已载入 / 未变化 / 无法读取
    kinds: str = ""
    rows_read: int = 0
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0
    rejected: int = 0
    message: str = ""


@dataclass
class LoadReport:
    """The outcome of one load run."""

    db_path: Path
    files: list[FileSummary] = field(default_factory=list)
    published: bool = False
    db_version: int | None = None
    cleaned: list[str] = field(default_factory=list)  # leftovers of killed loads removed first
    migrated: list[int] = field(default_factory=list)  # schema versions applied by this load

    def totals(self) -> dict[str, int]:
        keys = ("rows_read", "new", "changed", "unchanged", "removed", "rejected")
        return {k: sum(getattr(f, k) for f in self.files) for k in keys}


def create_schema(con: duckdb.DuckDBPyConnection, where: str = "") -> list[int]:
    """Bring the tables to this code's schema version (etl/migrations.py), then (re)create the
    public views; returns the schema versions applied (see migrations.migrate)."""
    applied = migrations.migrate(con, where)
    con.execute((SQL_DIR / "views.sql").read_text(encoding="utf-8"))
    return applied


def reference_hash(ref: Reference) -> str:
    """Hash of all reference CSVs: a change of reference data is a change to publish."""
    digest = hashlib.sha256()
    for name in REFERENCE_FILES:
        digest.update((ref.folder / f"{name}.csv").read_bytes())
    return digest.hexdigest()


def refresh_reference(con: duckdb.DuckDBPyConnection, ref: Reference) -> None:
    """Replace the ref_* tables with the reference CSVs (as Arrow columns: no DataFrames; DuckDB
    casts each column to the table's type on insert, as for any other frame)."""
    t = ref.tables
    flag = lambda v: str(v).strip() in ("1", "true", "True", "是")  # noqa: E731
    pick = lambda rows, keys: {k: [r[k] for r in rows] for k in keys}  # noqa: E731
    tables = {
        "ref_communities": {
            **pick(t["communities"], ("community", "short_name", "kind")),
            "households": [int(r["households"]) for r in t["communities"]],
            "named_in_article": [flag(r["named_in_article"]) for r in t["communities"]]},
        "ref_community_aliases": {"alias": list(ref.communities), "community": list(ref.communities.values())},
        "ref_compounds": {
            **pick(t["compounds"], ("community", "compound", "kind")),
            "households": [int(r["households"] or 0) or None for r in t["compounds"]],
            "buildings": [int(r["buildings"] or 0) or None for r in t["compounds"]],
            "has_building_heads": [flag(r["has_building_heads"]) for r in t["compounds"]],
            "property_managed": [flag(r["property_managed"]) for r in t["compounds"]],
            "named_in_article": [flag(r["named_in_article"]) for r in t["compounds"]]},
        "ref_categories": pick(t["categories"], ("category", "label", "unit", "sla_days", "sort_order")),
        "ref_roles": pick(t["roles"], ("role", "sort_order")),
        "ref_org_kinds": pick(t["org_kinds"], ("kind", "label", "unit", "sort_order")),
        "ref_activity_kinds": pick(t["activity_kinds"], ("kind", "sort_order")),
        "ref_milestones": {"happened_on": [r["date"] for r in t["milestones"]],
                           **pick(t["milestones"], ("precision", "title", "detail"))},
        "ref_mobilisation_2020": pick(t["mobilisation_2020"], ("item", "figure", "unit", "sort_order")),
        "ref_targets": _blank_null(t["targets"], ("metric", "scope_kind", "scope", "period", "target", "direction",
                                                  "source", "note")),
        "ref_assessment_metrics": _blank_null(t["assessment_metrics"], ("metric", "dimension", "weight", "min_base",
                                                                        "sort_order", "note")),
        "ref_assessment_settings": _blank_null(t["assessment_settings"], ("setting", "value", "note")),
        "ref_peer_groups": _blank_null(t["peer_groups"], ("peer_group", "label", "households_from", "households_to",
                                                          "sort_order")),
        "ref_alert_rules": {**{k: [r[k] or None for r in t["alert_rules"]]
                               for k in ("rule", "title", "threshold", "unit", "window_days", "min_base",
                                         "applies_to", "sort_order", "note")},
                            "enabled": [flag(r["enabled"]) for r in t["alert_rules"]]},
    }
    types = migrations.stored_columns(con)
    for table, columns in tables.items():
        con.execute(f"DELETE FROM {table}")
        insert_frame(con, table, pa.table(columns), types.get(table, {}))


def _blank_null(rows: list[dict[str, str]], columns: tuple[str, ...]) -> dict[str, list[str | None]]:
    """Reference columns, a blank cell as NULL (cast to the table's types on insert)."""
    return {k: [(r.get(k) or "").strip() or None for r in rows] for k in columns}


def insert_frame(con: duckdb.DuckDBPyConnection, table: str, frame: pd.DataFrame | pa.Table,
                 types: dict[str, str] | None = None) -> None:
    """INSERT a DataFrame or Arrow table into ``table``, casting each column to the table's type
    (``types``: the table's column types, when the caller has them)."""
    if (frame.num_rows if isinstance(frame, pa.Table) else len(frame.index)) == 0:
        return
    types = types or _table_types(con, table)
    cols = _insertable(table, [str(c) for c in frame.columns] if not isinstance(frame, pa.Table)
                       else frame.column_names, types)
    select = ", ".join(f'CAST("{c}" AS {types[c]}) AS "{c}"' for c in cols)
    con.register("_incoming", frame.select(cols) if isinstance(frame, pa.Table) else frame[cols])
    try:
        con.execute(f'INSERT INTO {table} ({", ".join(cols)}) SELECT {select} FROM _incoming')
    finally:
        con.unregister("_incoming")


def _storage_frame(records: pa.Table, kind: LedgerKind) -> pa.Table:
    """Records with the storage columns (row_hash is added by DuckDB at flush): the parsed records
    already hold the storage types (etl.transform.record_schema)."""
    return records.select([*kind.columns, "source_sheet", "source_row"])


def _hash_sql(columns: Iterable[str], dates: Iterable[str] = ()) -> str:
    """DuckDB expression of the row hash (migrations.hash_sql: a migration recomputes stored ones)."""
    return migrations.hash_sql(list(columns), list(dates))


def row_hashes(frame: pd.DataFrame, columns: Iterable[str], dates: Iterable[str] = ()) -> np.ndarray:
    """A 16-hex-digit hash of each row's stored values (lineage excluded), computed by DuckDB.

    Only compared between loads of the same installation, to tell changed rows from
    unchanged ones; DuckDB hashes a million rows in a fraction of what pandas needs.
    """
    global _hasher
    columns = list(columns)
    if frame.empty:
        return np.array([], dtype=object)
    with _hasher_lock:  # one in-memory DuckDB for the process: opening one costs more than hashing
        if _hasher is None:
            _hasher = duckdb.connect()
        _hasher.register("_rows", frame[columns])
        try:
            hashed = _hasher.execute(f"SELECT {_hash_sql(columns, dates)} AS h FROM _rows").fetchnumpy()["h"]
        finally:
            _hasher.unregister("_rows")
    return np.asarray(hashed, dtype=object)


_hasher: duckdb.DuckDBPyConnection | None = None
_hasher_lock = threading.Lock()


def _key_condition(kind: LedgerKind, left: str, right: str) -> str:
    return " AND ".join(f"{left}.{k} = {right}.{k}" for k in kind.key)


@dataclass
class Staged:
    """What the files of one load will write, applied to the database in one pass by flush()."""

    frames: dict[str, list[pa.Table]] = field(default_factory=dict)  # per kind, rows without row_hash
    replaced: list[str] = field(default_factory=list)  # files whose earlier rows are replaced
    processed: list[str] = field(default_factory=list)  # every file tried (their rejects are replaced)
    rejects: list[tuple] = field(default_factory=list)  # REJECT_COLUMNS: one tuple per reject (one Arrow table at flush)
    log: list[tuple[int, ParsedFile, FileSummary, datetime]] = field(default_factory=list)
    ahead: InsertAhead | None = None  # kinds whose rows went into their tables as their files were staged


def apply_file(con: duckdb.DuckDBPyConnection, parsed: ParsedFile, batch_id: int,
               loaded_at: datetime, staged: Staged) -> FileSummary:
    """Stage one file: its rows replace the rows its earlier version gave (counted at flush).

    Everything that can fail (turning records into Arrow tables) happens before ``staged`` is
    touched, so a file that fails here leaves nothing half-staged.
    """
    name = parsed.name
    summary = FileSummary(name, "已载入", kinds="、".join(BY_NAME[k].title for k in parsed.kinds),
                          rows_read=parsed.rows_read, rejected=len(parsed.rejects))
    if parsed.error is not None:  # the earlier version's rows stay; the failure is recorded
        summary.status, summary.message, summary.rejected = "无法读取", parsed.error.message(), 0
        staged.processed.append(name)
        staged.log.append((batch_id, parsed, summary, loaded_at))
        staged.rejects.append((batch_id, name, None, None, None, summary.message))
        return summary
    frames: list[tuple[str, pa.Table]] = []
    for kind_name, records in parsed.records.items():
        if not records.num_rows:
            continue
        frame = _storage_frame(records, BY_NAME[kind_name])
        frame = frame.append_column("source_file", pa.array([name] * frame.num_rows, pa.large_string()))
        frame = frame.append_column("batch_id", pa.array(np.full(frame.num_rows, batch_id, dtype=np.int64)))
        frames.append((kind_name, frame))
    rejects = [(batch_id, name, r.sheet, r.row_number, r.kind, r.reason()) for r in parsed.rejects]
    staged.processed.append(name)
    staged.log.append((batch_id, parsed, summary, loaded_at))
    staged.replaced.append(name)
    for kind_name, frame in frames:
        staged.frames.setdefault(kind_name, []).append(frame)
    staged.rejects.extend(rejects)
    return summary


@dataclass
class InsertAhead:
    """Kinds whose rows go into their table as each file is staged, while the next files parse.

    That is only right where every row a kind brings is new: its table held no row when the load
    began, or held none of the communities its rows name (the key names the community: a group of
    new communities). flush then has little left to do for such a kind: the later file's row of a
    key in two files wins, and rows are counted per file. A file that breaks the rule takes its kind
    back to the staged path: the rows inserted ahead are deleted again (this load's batches) and
    flush applies every staged file as usual. At 100× the inserts then overlap the parsing instead
    of following it.
    """

    first_batch: int  # this load's first batch_id: rows at or above it were inserted by this load
    types: dict[str, dict[str, str]]  # the record tables' column types (migrations.stored_columns)
    empty: set[str]  # kinds whose table held no row when the load began
    stored: dict[str, set[str] | None]  # the other kinds keyed by community: the communities their table
    # held (None until a file of that kind is offered: one scan of the column, only for the kinds a load has)
    inserted: dict[str, int] = field(default_factory=dict)  # kind -> files inserted ahead
    pending: dict[str, list[pa.Table]] = field(default_factory=dict)  # kind -> staged rows not inserted yet
    off: set[str] = field(default_factory=set)  # kinds taken back to the staged path
    threads: int = 1  # DuckDB threads for an insert of SMALL_LOAD rows or more (else one)
    stored_rows: int = 0  # record rows the tables held when the load began (_size_threads)

    @classmethod
    def open(cls, con: duckdb.DuckDBPyConnection, first_batch: int) -> InsertAhead:
        """What the tables held when the load began (inside its transaction)."""
        empty, stored, rows = set(), {}, 0
        for kind in KINDS:
            count = con.execute(f"SELECT count(*) FROM {kind.table}").fetchall()[0][0]
            rows += count
            if not count:
                empty.add(kind.name)
            elif key_names_community(kind):
                stored[kind.name] = None
        return cls(first_batch, migrations.stored_columns(con), empty, stored, threads=os.cpu_count() or 1,
                   stored_rows=rows)

    def offer(self, con: duckdb.DuckDBPyConnection, kind: LedgerKind, frame: pa.Table) -> None:
        """Take one staged file's rows of ``kind``, if every row is new (else take the kind back);
        inserted once AHEAD_ROWS of them wait (a statement per small file would cost more than it saves:
        the sample's two hundred ledgers go in at flush, one insert per kind, as on the staged path)."""
        if kind.name in self.off:
            return
        if kind.name not in self.empty:
            if kind.name not in self.stored:  # the key does not name the community: no way to tell
                self.take_back(con, kind)
                return
            known = self.stored[kind.name]
            if known is None:  # (this load's own rows are not in the table yet: nothing went in ahead)
                known = self.stored[kind.name] = {r[0] for r in con.execute(
                    f"SELECT DISTINCT community FROM {kind.table}").fetchall()}
            if not known.isdisjoint(pc.unique(frame.column("community")).to_pylist()):
                self.take_back(con, kind)
                return
        waiting = self.pending.setdefault(kind.name, [])
        waiting.append(frame)
        if sum(t.num_rows for t in waiting) >= AHEAD_ROWS:
            self._insert(con, kind)

    def finish(self, con: duckdb.DuckDBPyConnection) -> None:
        """Insert the rows still waiting (flush, before it finishes the kinds inserted ahead)."""
        for name in list(self.pending):
            if name not in self.off:
                self._insert(con, BY_NAME[name])

    def _insert(self, con: duckdb.DuckDBPyConnection, kind: LedgerKind) -> None:
        frames = self.pending.pop(kind.name, [])
        if not frames:
            return
        rows = pa.concat_tables(frames).combine_chunks() if len(frames) > 1 else frames[0].combine_chunks()
        threads = con.execute("SELECT current_setting('threads')").fetchall()[0][0]
        big = rows.num_rows >= SMALL_LOAD and self.threads > threads
        if big:  # (1000×: a group's 1.2 million cases in 0.7 of one thread's time, the parsing beside it)
            con.execute(f"SET threads = {self.threads}")
        con.register("_ahead", rows)
        try:
            _insert_from(con, kind.table, "_ahead", self.types[kind.table], {"row_hash": _row_hash(kind)})
        finally:
            con.unregister("_ahead")
            if big:
                con.execute(f"SET threads = {threads}")
        self.inserted[kind.name] = self.inserted.get(kind.name, 0) + len(frames)

    def take_back(self, con: duckdb.DuckDBPyConnection, kind: LedgerKind) -> None:
        """Stop inserting ``kind`` ahead and delete what was (flush applies its staged files instead)."""
        self.off.add(kind.name)
        self.pending.pop(kind.name, None)
        if self.inserted.pop(kind.name, 0):
            con.execute(f"DELETE FROM {kind.table} WHERE batch_id >= ?", [self.first_batch])

    def holds(self, kind: LedgerKind) -> bool:
        """True when every staged file of ``kind`` was taken to be inserted ahead (after finish: was)."""
        return kind.name not in self.off and bool(self.inserted.get(kind.name) or self.pending.get(kind.name))


AHEAD_ROWS = 20_000  # staged rows of one kind that InsertAhead inserts together (about 15-30 ms of DuckDB)


def flush(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Apply staged files: count new/changed/unchanged/removed per file, replace rows, log batches."""
    summaries = {s.file: s for _, _, s, _ in staged.log}
    types = migrations.stored_columns(con)  # (one catalogue query for every insert below)
    con.register("_files", pa.table({"source_file": pa.array(staged.replaced, pa.string())}))
    con.register("_tried", pa.table({"source_file": pa.array(staged.processed, pa.string())}))
    try:
        if staged.ahead is not None:
            staged.ahead.finish(con)
        for kind in KINDS:
            if staged.ahead is not None and staged.ahead.holds(kind):
                _finish_ahead(con, kind, summaries, staged.ahead)
            else:
                _flush_kind(con, kind, staged.frames.get(kind.name, []), summaries, types[kind.table])
        con.execute("DELETE FROM reject_records WHERE source_file IN (SELECT source_file FROM _tried)")
    finally:
        con.unregister("_files")
        con.unregister("_tried")
    if staged.rejects:
        insert_frame(con, "reject_records", _columns(REJECT_COLUMNS, staged.rejects), types["reject_records"])
    if staged.log:
        insert_frame(con, "batch_log", _columns(BATCH_COLUMNS, [
            (b, s.file, p.content_hash, ",".join(p.kinds), at, s.status, s.rows_read, s.new, s.changed, s.unchanged,
             s.removed, s.rejected, s.message or None) for b, p, s, at in staged.log]), types["batch_log"])
    record_submissions(con, staged)


REJECT_COLUMNS = ("batch_id", "source_file", "sheet", "row_number", "ledger_kind", "reason")
BATCH_COLUMNS = ("batch_id", "source_file", "content_hash", "ledger_kinds", "loaded_at", "status", "rows_read",
                 "rows_new", "rows_changed", "rows_unchanged", "rows_removed", "rows_rejected", "message")


def _columns(names: tuple[str, ...], rows: list[tuple]) -> pa.Table:
    """Row tuples as an Arrow table of ``names`` (each column's type inferred; cast on insert)."""
    return pa.table(dict(zip(names, map(list, zip(*rows)))))


@contextmanager
def _staged_rows(con: duckdb.DuckDBPyConnection, kind: LedgerKind, frames: list[pa.Table], hashed: bool = True):
    """The staged rows of one kind, registered as ``_new``: (name, Arrow table), with their
    row_hash appended unless ``hashed`` is False (then _insert_from computes it on the way in).

    No copy into a temporary table: DuckDB computes the hashes (one column), which are appended
    to the Arrow table that every later query reads. The same key from two files of one load:
    the later file wins, as if loaded one after the other. The staged keys are unique afterwards
    (checked here, once: a key repeated within one file is an internal error, since parsing keeps
    a file's first row of each key). The table is one chunk: DuckDB inserts a chunked table on
    several threads into row groups that the commit then writes again (100×: 0.4 s more).
    """
    table = pa.concat_tables(frames).combine_chunks() if len(frames) > 1 else frames[0].combine_chunks()
    con.register("_new", table)
    try:
        dupe = _repeated_key(con, kind, "_new")
        if dupe is not None:
            if len(frames) == 1:
                _refuse_duplicate(kind, [dupe])
            table = table.take(_later_wins(con, kind, table))
            con.register("_new", table)
        if hashed:
            hashes = con.sql(f"SELECT {_row_hash(kind)} AS row_hash FROM _new").to_arrow_table().column(0)
            table = table.append_column("row_hash", hashes)
            con.register("_new", table)
        yield "_new", table
    finally:
        con.unregister("_new")


def _row_hash(kind: LedgerKind) -> str:
    """DuckDB expression of a staged row's row_hash (its stored values, lineage excluded)."""
    return _hash_sql(kind.columns, [f.name for f in kind.fields if f.type == "date"])


def _repeated_key(con: duckdb.DuckDBPyConnection, kind: LedgerKind, rows: str) -> tuple | None:
    """A key that occurs more than once in relation ``rows`` (None: every key is unique)."""
    keys = ", ".join(kind.key)
    found = con.execute(f"SELECT {keys} FROM {rows} GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchall()
    return found[0] if found else None


def _later_wins(con: duckdb.DuckDBPyConnection, kind: LedgerKind, table: pa.Table) -> pa.Array:
    """Positions in ``table`` of the last row of each key, in order."""
    keys = table.select(list(kind.key)).append_column("_ord", pa.array(np.arange(table.num_rows, dtype=np.int64)))
    con.register("_keys", keys)
    try:
        return con.sql(f"""SELECT _ord FROM _keys
            QUALIFY row_number() OVER (PARTITION BY {", ".join(kind.key)} ORDER BY _ord DESC) = 1
            ORDER BY _ord""").to_arrow_table().column(0)
    finally:
        con.unregister("_keys")


def _insert_from(con: duckdb.DuckDBPyConnection, table: str, source: str, types: dict[str, str] | None = None,
                 computed: dict[str, str] | None = None) -> None:
    """INSERT the rows of relation ``source`` into ``table``, cast to the table's column types
    (``types``: those types, when the caller has them; ``computed``: more columns, each a SQL
    expression over ``source``'s columns)."""
    types = types or _table_types(con, table)
    computed = computed or {}
    cols = _insertable(table, [r[0] for r in con.execute(f"DESCRIBE {source}").fetchall()] + list(computed), types)
    values = {c: computed.get(c, f'"{c}"') for c in cols}
    select = ", ".join(f'CAST({values[c]} AS {types[c]}) AS "{c}"' for c in cols)
    con.execute(f'INSERT INTO {table} ({", ".join(cols)}) SELECT {select} FROM {source}')


def _table_types(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                            "AND schema_name = 'main'", {"t": table}).fetchall())


def _insertable(table: str, columns: list[str], types: dict[str, str]) -> list[str]:
    """The columns to insert: all of them. A column the table lacks fails the load loudly, never
    silently dropped (migrations.check makes the ledger tables match the catalogue first)."""
    missing = [c for c in columns if c not in types]
    if missing:
        raise migrations.SchemaMismatch(f"数据库表 {table} 缺少列 {'、'.join(map(str, missing))}，"
                                        "这些数据无处存放。本次载入已取消，数据库未改动")
    return columns


def _flush_kind(con: duckdb.DuckDBPyConnection, kind: LedgerKind, frames: list[pa.Table],
                summaries: dict[str, FileSummary], types: dict[str, str] | None = None) -> None:
    """Count, replace and insert one kind's staged rows; then check that the keys they wrote are unique."""
    if not frames:
        _remove_replaced(con, kind, "", summaries)
        return
    empty = _is_empty(con, kind.table)
    all_new = empty or _new_communities(con, kind, frames)
    with _staged_rows(con, kind, frames, hashed=not all_new) as (new, rows):
        if all_new:
            # a first load, or only communities the table does not hold yet (a new group of communities):
            # every staged row is new (their keys are unique: _staged_rows), and the only rows to go are
            # those of earlier versions of these files; the hashes are computed as the rows go in
            files = rows.column("source_file")
            for file, n in zip(*_value_counts(files)):
                summaries[file].new += n
            if not empty:
                _remove_replaced(con, kind, "", summaries)
            _insert_from(con, kind.table, new, types, {"row_hash": _row_hash(kind)})
            return
        _count_changes(con, kind, new, summaries)
        _remove_replaced(con, kind, f"AND NOT EXISTS (SELECT 1 FROM {new} d "
                                    f"WHERE {_key_condition(kind, 'd', 't')})", summaries)
        keys = ", ".join(kind.key)
        if not _is_empty(con, kind.table):
            con.execute(f"DELETE FROM {kind.table} WHERE ({keys}) IN (SELECT ({keys}) FROM {new})")
        _insert_from(con, kind.table, new, types)
        _check_written_keys(con, kind, new)


def _finish_ahead(con: duckdb.DuckDBPyConnection, kind: LedgerKind, summaries: dict[str, FileSummary],
                  ahead: InsertAhead) -> None:
    """Flush for a kind inserted ahead: of a key in two files of this load the later file's row wins
    (as the staged path's later-wins), the rows are counted per file, and the rows of earlier
    versions of these files go (rows this load inserted stay)."""
    first = int(ahead.first_batch)
    mine = f"(SELECT * FROM {kind.table} WHERE batch_id >= {first})"
    keys = ", ".join(kind.key)
    if _repeated_key(con, kind, mine) is not None:
        # parsing keeps a file's first row of each key: a key twice in one batch is an internal error
        _refuse_duplicate(kind, con.execute(f"SELECT {keys} FROM {mine} GROUP BY {keys}, batch_id "
                                            "HAVING count(*) > 1 LIMIT 1").fetchall())
        con.execute(f"""DELETE FROM {kind.table} WHERE rowid IN (
            SELECT rowid FROM {kind.table} WHERE batch_id >= {first}
            QUALIFY row_number() OVER (PARTITION BY {keys} ORDER BY batch_id DESC) > 1)""")
    for file, n in con.execute(f"SELECT source_file, count(*) FROM {mine} GROUP BY 1").fetchall():
        summaries[file].new += n
    if kind.name not in ahead.empty:
        _remove_replaced(con, kind, "", summaries, before=first)


def key_names_community(kind: LedgerKind) -> bool:
    """Whether equal keys imply the same community: the key holds the community itself or an id
    hashed from it (person_id: etl.privacy.PERSON_ID_PARTS; org_id, activity_id: kind.id_parts)."""
    return any(part == "community" or (part == "person_id" and "community" in PERSON_ID_PARTS)
               or "community" in kind.id_parts.get(part, ()) for part in kind.key)


def _new_communities(con: duckdb.DuckDBPyConnection, kind: LedgerKind, frames: list[pa.Table]) -> bool:
    """True when no stored row can share a key with the staged rows: the key names the community and
    the table holds none of the staged rows' communities (one scan of the community column, instead
    of joining every stored key; at 1000× a group of new communities skips a 5-million-row join)."""
    if not key_names_community(kind):
        return False
    staged = pc.unique(pa.concat_tables([f.select(["community"]) for f in frames]).column(0))
    con.register("_staged_communities", pa.table({"community": staged}))
    try:
        return not con.execute(f"SELECT 1 FROM {kind.table} WHERE community IN "
                               "(SELECT community FROM _staged_communities) LIMIT 1").fetchall()
    finally:
        con.unregister("_staged_communities")


def _check_written_keys(con: duckdb.DuckDBPyConnection, kind: LedgerKind, new: str) -> None:
    """Every key this load wrote is unique in the table (keys it did not touch were checked by the
    load that wrote them): the rows sharing a staged key, grouped, instead of grouping the whole table."""
    keys = ", ".join(f"t.{k}" for k in kind.key)
    _refuse_duplicate(kind, con.execute(
        f"SELECT {keys} FROM {kind.table} t SEMI JOIN {new} d ON {_key_condition(kind, 'd', 't')} "
        "GROUP BY ALL HAVING count(*) > 1 LIMIT 1").fetchall())


def _refuse_duplicate(kind: LedgerKind, dupe: list[tuple]) -> None:
    if dupe:
        raise RuntimeError(f"内部错误：{kind.title}中键 {dupe[0]} 重复，本次载入已取消，数据库未改动")


def _is_empty(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    """True when ``table`` has no rows (without counting them)."""
    return not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {table} LIMIT 1)").fetchall()[0][0]


def _value_counts(column: pa.ChunkedArray) -> tuple[list[str], list[int]]:
    """Distinct values of a column and how often each occurs, in order of first occurrence."""
    counts = pc.value_counts(column)
    return counts.field("values").to_pylist(), counts.field("counts").to_pylist()


def _count_changes(con: duckdb.DuckDBPyConnection, kind: LedgerKind, new: str,
                   summaries: dict[str, FileSummary]) -> None:
    """New, changed and unchanged rows per file: the staged rows against the stored ones by key."""
    counts = con.execute(f"""
        SELECT d.source_file, count(*) FILTER (WHERE t.row_hash IS NULL),
               count(*) FILTER (WHERE t.row_hash IS NOT NULL AND t.row_hash <> d.row_hash),
               count(*) FILTER (WHERE t.row_hash = d.row_hash)
        FROM {new} d LEFT JOIN {kind.table} t ON {_key_condition(kind, 'd', 't')}
        GROUP BY d.source_file""").fetchall()
    for file, n_new, n_changed, n_unchanged in counts:
        summaries[file].new += n_new
        summaries[file].changed += n_changed
        summaries[file].unchanged += n_unchanged


def _remove_replaced(con: duckdb.DuckDBPyConnection, kind: LedgerKind, gone: str,
                     summaries: dict[str, FileSummary], before: int | None = None) -> None:
    """Count the rows of replaced files that the new files no longer have, then delete those files' rows
    (``before``: only rows of batches before it, so not the rows this load inserted ahead)."""
    earlier = f"AND t.batch_id < {int(before)}" if before is not None else ""
    removed = con.execute(f"""SELECT t.source_file, count(*) FROM {kind.table} t
        WHERE t.source_file IN (SELECT source_file FROM _files) {gone} {earlier} GROUP BY 1""").fetchall()
    for file, n in removed:
        summaries[file].removed += n
    con.execute(f"DELETE FROM {kind.table} t WHERE t.source_file IN (SELECT source_file FROM _files) {earlier}")


def check_keys(con: duckdb.DuckDBPyConnection) -> None:
    """Every record table's key is unique (the tables carry no PRIMARY KEY index: see schema.sql).

    A load checks the keys it writes as it writes them (_flush_kind); this checks whole tables."""
    for kind in KINDS:
        keys = ", ".join(kind.key)
        _refuse_duplicate(kind, con.execute(f"SELECT {keys} FROM {kind.table} GROUP BY ALL HAVING count(*) > 1 "
                                            "LIMIT 1").fetchall())


@contextmanager
def _writer_lock(db_path: Path):
    """One loader at a time per database (a second one waits)."""
    lock_path = db_path.with_name(db_path.name + ".lock")
    lock_path.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def _known_hashes(db_path: Path) -> dict[str, str]:
    """File name -> content hash of its latest successful load in the published database."""
    if not db_path.exists():
        return {}
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute("""SELECT source_file, arg_max(content_hash, batch_id) FROM batch_log
                              WHERE status = '已载入' GROUP BY source_file""").fetchall()
        failed = {r[0] for r in con.execute("""SELECT source_file FROM batch_log GROUP BY source_file
                              HAVING arg_max(status, batch_id) <> '已载入'""").fetchall()}
        stored = con.execute("SELECT value FROM meta WHERE key = 'reference_hash'").fetchall()[0]
    except duckdb.Error:
        return {}
    finally:
        con.close()
    known = {f: h for f, h in rows if f not in failed}
    known["\0reference"] = stored[0] if stored else ""
    return known


def _split_unchanged(paths: list[Path], db_path: Path, report: LoadReport, contents: dict[Path, bytes] | None,
                     ) -> tuple[dict[str, str], list[tuple[Path, bytes | None, str | None]]]:
    """Refuse duplicate names; report files whose bytes are already loaded; return the rest to load
    (path, bytes and their content hash, so that parse_file does not hash them again)."""
    names = [Path(p).name for p in paths]  # all of them: an unchanged one counts too
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise ValueError(f"同一批次中有重名文件：{'、'.join(dupes)}（系统按文件名识别台账，请改名后再载入）")
    known = _known_hashes(db_path)
    work: list[tuple[Path, bytes | None, str | None]] = []
    for path, read in zip(paths, _read_all(paths, contents)):
        if read is None:  # parse_file tries again and reports why, for this file alone
            work.append((Path(path), None, None))
            continue
        data, digest = read
        if known.get(Path(path).name) == digest:
            report.files.append(FileSummary(Path(path).name, "未变化", message="与已载入的版本相同"))
        else:
            work.append((Path(path), data, digest))
    unchanged = [f for f in report.files if f.status == "未变化" and not f.kinds]
    if unchanged:  # the kinds its loaded version held, so the report's 台账 column is not blank
        kinds = _loaded_kinds(db_path, [f.file for f in unchanged])
        for f in unchanged:
            f.kinds = kinds.get(f.file, "")
    return known, work


def _read_all(paths: list[Path], contents: dict[Path, bytes] | None) -> list[tuple[bytes, str] | None]:
    """Each file's bytes and content hash, in order (None: it cannot be read). A big load reads and
    hashes on every core, largest files first: reading and SHA-256 release the GIL (a 1000× group,
    360 MB in five files: 0.3 s instead of 0.55 s on one thread)."""
    def read(path: Path) -> tuple[bytes, str] | None:
        try:
            data = contents[path] if contents and path in contents else Path(path).read_bytes()
        except OSError:
            return None
        return data, content_hash(data)

    sizes = [_size(p, contents) for p in paths]
    threads = min(cores(), len(paths))
    if threads < 2 or sum(sizes) < PARSE_AHEAD_BYTES:
        return [read(p) for p in paths]
    order = sorted(range(len(paths)), key=lambda i: -sizes[i])
    out: list[tuple[bytes, str] | None] = [None] * len(paths)
    with ThreadPoolExecutor(threads, thread_name_prefix="read") as pool:  # (joined before any fork)
        for i, result in zip(order, pool.map(read, [paths[i] for i in order])):
            out[i] = result
    return out


def _size(path: Path, contents: dict[Path, bytes] | None) -> int:
    """A file's size in bytes (0 where it cannot be read: read() then says so)."""
    if contents and path in contents:
        return len(contents[path])
    try:
        return Path(path).stat().st_size
    except OSError:
        return 0


def _loaded_kinds(db_path: Path, names: list[str]) -> dict[str, str]:
    """File name -> the ledger kinds (Chinese titles, 、-joined) of its latest successful load."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute("""SELECT source_file, arg_max(ledger_kinds, batch_id) FROM batch_log
                              WHERE status = '已载入' AND list_contains($names, source_file)
                              GROUP BY source_file""", {"names": names}).fetchall()
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return {f: "、".join(BY_NAME[k].title for k in (kinds or "").split(",") if k in BY_NAME) for f, kinds in rows}


def _stage(con: duckdb.DuckDBPyConnection, ref: Reference, work: Iterable[tuple[Path, bytes | None, str | None]],
           report: LoadReport, today: date | None, limits: Limits | None,
           where: str = "", workers: int = 0, pool: ProcessPool | None = None,
           ahead: bool = False, progress: Callable[[Iterable], Iterable] | None = None) -> tuple[Staged, datetime]:
    """Open the load transaction, migrate the schema, refresh reference data, parse and stage every
    file, each on its own (``workers``/``pool``: threads or processes that parse them, etl/parse_pool.py;
    ``ahead``: insert the rows of kinds that only gain new rows as their files are staged, InsertAhead;
    ``progress``: wraps the parsed files, as they are staged)."""
    con.execute("BEGIN")
    report.migrated = create_schema(con, where)
    refresh_reference(con, ref)
    next_batch = con.execute("SELECT coalesce(max(batch_id), 0) + 1 FROM batch_log").fetchall()[0][0]
    loaded_at = datetime.now().replace(microsecond=0)
    staged = Staged(ahead=InsertAhead.open(con, next_batch) if ahead else None)

    def parse(path: Path, data: bytes | None, digest: str | None) -> ParsedFile:
        return parse_file(path, ref, today=today, data=data, digest=digest, limits=limits)

    results: Iterable[ParsedFile] = parse_in_order(work, parse, workers, pool)
    if progress is not None:  # a file counts when it is staged (several are parsed ahead of that)
        results = progress(_Sized(iter(results), len(work)))
    for offset, parsed in enumerate(results):
        try:
            summary = apply_file(con, parsed, next_batch + offset, loaded_at, staged)
        except Exception:  # noqa: BLE001 - staging one file failed: that file alone is unreadable
            log.exception("staging %s failed", parsed.name)
            failed = ParsedFile(parsed.path, parsed.content_hash,
                                error=Problem("file_failed", {"detail": "文件内容无法转换为数据库格式"}))
            summary = apply_file(con, failed, next_batch + offset, loaded_at, staged)
        else:
            if staged.ahead is not None:
                for kind_name in parsed.kinds:
                    if parsed.records[kind_name].num_rows:
                        staged.ahead.offer(con, BY_NAME[kind_name], staged.frames[kind_name][-1])
        report.files.append(summary)
    return staged, loaded_at


class _Sized:
    """An iterator that says how many items it will give (a progress bar's total)."""

    def __init__(self, items: Iterator, total: int) -> None:
        self.items, self.total = items, total

    def __iter__(self) -> Iterator:
        return self.items

    def __len__(self) -> int:
        return self.total


def load_files(paths: Iterable[Path], db_path: Path, *, ref: Reference | None = None,
               dataset: str | None = None, today: date | None = None,
               progress: Callable[[Iterable], Iterable] | None = None,
               contents: dict[Path, bytes] | None = None, limits: Limits | None = LIMITS,
               processes: int | None = None) -> LoadReport:
    """Load ledger files into ``db_path`` (created if missing) and publish atomically.

    Each file is checked against ``limits`` (None: the office's ``--no-limits``) and parsed on its
    own: a file that is refused or cannot be read is reported with its reason and the others
    load. ``processes``: worker processes that parse the files (None: parse_processes decides;
    0: none). Leftovers of killed loads are removed first. A fault that stops the whole load (disk
    full, no permission) raises LoadFailed with a Chinese message; the database is then
    unchanged and no partial file remains.
    """
    ref = ref or load_reference()
    db_path = Path(db_path)
    paths = list(paths)
    report = LoadReport(db_path)
    clock = cpu_clock()  # what other jobs use meanwhile sizes the database work's threads
    try:
        with _writer_lock(db_path):
            report.cleaned = [p.name for p in remove_leftovers(db_path)]
            schema = migrations.check_version(db_path)  # a newer database is refused before anything
            known, work = _split_unchanged(paths, db_path, report, contents)
            ref_hash = reference_hash(ref)
            if not work and known.get("\0reference") == ref_hash and db_path.exists() \
                    and (dataset is None or stored_meta(db_path, "dataset") == dataset) \
                    and stored_meta(db_path, "marts_version") == marts.VERSION \
                    and schema == migrations.SCHEMA_VERSION:
                return report
            building = building_path(db_path, os.getpid())
            forks = parse_processes(work) if processes is None else processes
            try:
                with process_pool(forks, ref, today, limits) as pool:  # forked before the database opens
                    if pool:
                        pool.start(work)
                    if db_path.exists():
                        copy_database(db_path, building)
                    con = duckdb.connect(str(building))
                    try:
                        version = _build(con, ref, work, report, today, limits, ref_hash, dataset, db_path.name,
                                         0 if pool else parse_workers(work), pool, clock, progress)
                    finally:
                        con.close()
                _fsync(building)
                os.replace(building, db_path)
            except BaseException:  # also SystemExit from SIGTERM (the CLI's handler): no partial file
                _remove_building(building)
                raise
            _fsync(db_path.parent)
            report.published = True
            report.db_version = version
    except FAULTS as exc:
        log.warning("load into %s failed: %r", db_path, exc)
        raise load_failure(exc, "本次载入已取消，数据库未改动") from exc
    return report


SMALL_LOAD = 250_000  # record rows (stored and staged): below, DuckDB works on one thread


@dataclass(frozen=True)
class CpuClock:
    """A reading of the machine's busy CPU time and of this load's own, to tell how much of the
    machine other jobs used while the load parsed (others_busy)."""

    wall: float  # time.monotonic()
    busy: float  # CPU seconds every core spent on anything but idle and I/O wait, since boot
    own: float  # this process's CPU seconds (all its threads) and its ended children's (parse workers)


def cpu_clock() -> CpuClock | None:
    """Read the clock now (Linux /proc/stat); None where the machine does not say."""
    try:
        with open("/proc/stat", encoding="ascii") as fh:
            fields = fh.readline().split()
        ticks = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError):
        return None
    if len(fields) < 5 or fields[0] != "cpu":
        return None
    values = [int(v) for v in fields[1:9]]  # user nice system idle iowait irq softirq steal
    busy = (sum(values) - values[3] - values[4]) / ticks
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return CpuClock(time.monotonic(), busy, time.process_time() + children.ru_utime + children.ru_stime)


def others_busy(start: CpuClock | None, now: CpuClock | None) -> float | None:
    """Cores that other jobs kept busy on average between two readings (None: under a second
    apart, or unknown: too little to tell)."""
    if start is None or now is None or now.wall - start.wall < 1.0:
        return None
    return max(0.0, (now.busy - start.busy - (now.own - start.own)) / (now.wall - start.wall))


def load_threads(rows: int, cores: int | None = None, load: float | None = None,
                 others: float | None = None) -> int:
    """DuckDB threads for a load's database work: one for a small database (on a few thousand rows,
    handing work between threads costs more than the work: an insert of the sample's cases takes
    three times the CPU on two threads); else the cores that other jobs left free while this load
    parsed its files (``others``: cores they kept busy, see others_busy), or, where that is unknown,
    the cores the 1-minute load average leaves free counting this load itself (as ``make -l``).

    On a machine whose cores other jobs keep busy, parallel operators only add coordination (100×,
    load average 6–8 on 2 cores: 14 s of CPU on one thread against 17 s on two, and no faster); on
    a free one, two threads take a 1000× group load 0.7–0.8 of one thread's time. The load average
    alone misjudged the second case: it lags by a minute, so a big load's own parsing, or the load
    before it, counted as another job and left the database work on one thread."""
    if rows < SMALL_LOAD:
        return 1
    cores = cores or os.cpu_count() or 1
    if others is not None:
        return max(1, min(cores, math.floor(cores - others + 0.5)))
    load = os.getloadavg()[0] if load is None else load
    return max(1, min(cores, round(cores + 1 - load)))


def _size_threads(con: duckdb.DuckDBPyConnection, staged: Staged, clock: CpuClock | None = None) -> int:
    """Set DuckDB's threads for this load (load_threads of the stored and staged record rows, and of
    what other jobs used since ``clock`` was read at the load's start); the number set."""
    rows = sum(t.num_rows for frames in staged.frames.values() for t in frames)
    if staged.ahead is not None:  # the tables as the load found them (staged rows may be in them already)
        rows += staged.ahead.stored_rows
    else:
        rows += sum(con.execute(f"SELECT count(*) FROM {kind.table}").fetchall()[0][0] for kind in KINDS)
    threads = load_threads(rows, others=others_busy(clock, cpu_clock()) if rows >= SMALL_LOAD else None)
    con.execute(f"SET threads = {threads}")
    return threads


def _build(con: duckdb.DuckDBPyConnection, ref: Reference, work: Iterable[tuple[Path, bytes | None, str | None]],
           report: LoadReport, today: date | None, limits: Limits | None, ref_hash: str,
           dataset: str | None, where: str, workers: int = 0, pool: ProcessPool | None = None,
           clock: CpuClock | None = None, progress: Callable[[Iterable], Iterable] | None = None) -> int:
    """Everything a load writes, in one transaction on the private copy; returns the new version."""
    con.execute("SET enable_progress_bar = false")  # the loader reports its own progress
    con.execute("SET threads = 1")  # the schema and reference tables: a few hundred rows (see load_threads)
    staged, loaded_at = _stage(con, ref, work, report, today, limits, where, workers, pool, ahead=True,
                               progress=progress)
    if pool is not None:
        pool.close()  # every file is parsed: the workers' CPU now counts as this load's (cpu_clock)
    _size_threads(con, staged, clock)
    flush(con, staged)  # (checks the keys it writes)
    marts.build(con, full=bool(report.migrated))  # the pre-aggregated tables the dashboard reads
    version = int(con.execute("SELECT coalesce(max(CAST(value AS INTEGER)), 0) + 1 FROM meta "
                              "WHERE key = 'db_version'").fetchall()[0][0])
    settings = {"db_version": str(version), "published_at": loaded_at.isoformat(sep=" "),
                "reference_hash": ref_hash, "marts_version": marts.VERSION}
    if dataset:
        settings["dataset"] = dataset
    con.execute("INSERT OR REPLACE INTO meta VALUES " + ", ".join(["(?, ?)"] * len(settings)),
                [x for item in settings.items() for x in item])
    # the commit checkpoints at once (a threshold of zero): the new data goes to the file once, not
    # first to the write-ahead log and again at the checkpoint (the private copy has no other user)
    con.execute("SET checkpoint_threshold = '0b'")
    con.execute("COMMIT")
    con.execute("CHECKPOINT")  # (nothing left to do when the commit did it)
    return version


# ------------------------------------------------------------------ the private copy

FICLONE = 0x40049409  # Linux ioctl: make dst share src's blocks (copy on write)


def copy_database(src: Path, dst: Path) -> str:
    """Copy the published database to the private file a load builds: "reflink" where the filesystem
    clones files (btrfs, XFS, bcachefs: no data copied, whatever the size), else "copy" (bytes).

    Why a load copies at all (docs/etl.md, "Publishing"): readers open each published version
    through a hard link to its inode, so the file must never change in place; the copy is what
    the load changes, and os.replace publishes it. Measured at 1000× (480 MiB): 0.1–0.15 s of a
    40–75 s load with the file in the page cache (docs/benchmarks.md)."""
    with open(src, "rb") as source, open(dst, "wb") as target:
        try:
            fcntl.ioctl(target.fileno(), FICLONE, source.fileno())
            return "reflink"
        except OSError:  # ext4, tmpfs, another filesystem or device: copy the bytes
            pass
    shutil.copyfile(src, dst)
    return "copy"


# ------------------------------------------------------------------ leftovers and faults

def building_path(db_path: Path, pid: int) -> Path:
    """The private copy a loader process builds before publishing it over ``db_path``."""
    return db_path.with_name(f".{db_path.name}.building-{pid}")


def _remove_building(building: Path) -> None:
    for path in (building, building.with_name(building.name + ".wal")):
        path.unlink(missing_ok=True)


def remove_leftovers(db_path: Path) -> list[Path]:
    """Remove the building files (and their .wal) of loads whose process is gone; return them.

    A load that was killed (SIGKILL, power cut) leaves its private copy next to the database.
    Called under the writer lock, so no other live loader of this database is building; a file
    whose process still runs is left alone all the same (only the dead are cleaned up).
    """
    prefix = f".{db_path.name}.building-"
    pattern = re.compile(re.escape(prefix) + r"(\d+)(?:\.wal)?")
    removed: list[Path] = []
    for path in sorted(db_path.parent.glob(glob.escape(prefix) + "*")):
        match = pattern.fullmatch(path.name)
        if match is None:
            continue
        pid = int(match[1])
        if pid != os.getpid() and process_alive(pid):
            continue
        path.unlink(missing_ok=True)
        removed.append(path)
    if removed:
        log.warning("removed leftovers of killed loads: %s", ", ".join(p.name for p in removed))
    return removed


def process_alive(pid: int) -> bool:
    """True while process ``pid`` exists and is not a zombie (a killed child nobody reaped yet)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # exists, belongs to someone else
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as fh:
            return fh.read().rsplit(b")", 1)[-1].split()[0] != b"Z"
    except (OSError, IndexError):
        return True


# What a load or preview turns into LoadFailed (Chinese message, nothing published). DuckDB reports a
# full disk at checkpoint time as a FatalException ("Failed to create checkpoint ... No space left
# on device"; seen on a tmpfs with room for the copy only), not as an IOException.
FAULTS = (OSError, MemoryError, duckdb.IOException, duckdb.OutOfMemoryException, duckdb.FatalException)
DISK_FULL = (errno.ENOSPC, errno.EDQUOT)
NO_WRITE = (errno.EACCES, errno.EPERM, errno.EROFS)


def load_failure(exc: BaseException, outcome: str) -> LoadFailed:
    """A Chinese LoadFailed for an OS, DuckDB or memory fault (``outcome``: what it means for the data)."""
    text = str(exc)
    code = getattr(exc, "errno", None)
    if code in DISK_FULL or "No space left" in text or "Disk quota" in text:
        why = "磁盘空间不足"
        hint = "请清理数据目录所在的磁盘后重试"
    elif code in NO_WRITE or "Permission denied" in text or "Read-only file system" in text:
        why = "没有写入数据目录的权限（或磁盘为只读）"
        hint = "请检查数据目录的权限后重试"
    elif isinstance(exc, (MemoryError, duckdb.OutOfMemoryException)):
        why = "内存不足"
        hint = "请减少一次载入的文件后重试"
    elif isinstance(exc, OSError):
        why = f"读写数据目录时出错（系统错误 {errno.errorcode.get(code or 0, code)}）"
        hint = "请检查磁盘后重试"
    else:
        why = "写入数据库文件时出错"
        hint = "请检查磁盘后重试"
    return LoadFailed(f"{why}，{outcome}；{hint}")


def stored_meta(db_path: Path, key: str) -> str | None:
    """One value of a database file's meta table (None if missing or unreadable)."""
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        rows = con.execute("SELECT value FROM meta WHERE key = ?", [key]).fetchall()
        return rows[0][0] if rows else None
    except duckdb.Error:
        return None
    finally:
        con.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def print_summary(report: LoadReport, out=None) -> None:
    """Per-file summary table in Chinese, then totals."""
    out = out or sys.stdout  # looked up per call, so redirected output is honoured
    header = f"{'文件':<40} {'状态':<6} {'读取':>6} {'新增':>6} {'变更':>6} {'未变':>6} {'移除':>6} {'退回':>6}"
    print(header, file=out)
    for f in report.files:
        print(f"{f.file[:40]:<40} {f.status:<6} {f.rows_read:>6} {f.new:>6} {f.changed:>6} "
              f"{f.unchanged:>6} {f.removed:>6} {f.rejected:>6}" + (f"  {f.message}" if f.message else ""), file=out)
    t = report.totals()
    print(f"合计 {len(report.files)} 个文件：读取 {t['rows_read']} 行，新增 {t['new']}，变更 {t['changed']}，"
          f"未变 {t['unchanged']}，移除 {t['removed']}，退回 {t['rejected']}。", file=out)
    if report.cleaned:
        print(f"已清理 {len(report.cleaned)} 个中断的载入留下的临时文件。", file=out)
    if report.published:
        print(f"已发布数据库 {report.db_path}（版本 {report.db_version}）", file=out)
    else:
        print("没有变化，数据库未改动。", file=out)


# ------------------------------------------------------------------ submissions (who sent what for when)

# The date that places a row in time, per kind: its first required date field (LedgerKind.main_date:
# cases: 登记日期, volunteers: 任职日期, organizations: 成立日期, micro-projects: 申报日期, activities: 活动日期).
MAIN_DATE = {k.name: k.main_date for k in KINDS}
SUBMISSION_COLUMNS = ("batch_id", "source_file", "ledger_kind", "community", "rows", "community_rows",
                      "month_from", "month_to", "loaded_at")


def submission_rows(staged: Staged) -> pd.DataFrame:
    """One row per staged file and ledger kind: dominant community, months covered, rows."""
    return pd.DataFrame(_submission_dicts(staged), columns=list(SUBMISSION_COLUMNS))


def _submission_dicts(staged: Staged) -> list[dict]:
    rows = []
    for batch_id, parsed, _, loaded_at in staged.log:
        if parsed.error is not None:
            continue
        for kind_name, records in sorted(parsed.records.items()):
            if not records.num_rows:
                continue
            counts = pc.value_counts(records.column("community"))
            values, numbers = counts.field("values").to_pylist(), counts.field("counts").to_pylist()
            top = max(numbers)
            span = pc.min_max(records.column(MAIN_DATE[kind_name]))
            first, last = span["min"].as_py(), span["max"].as_py()
            rows.append({"batch_id": batch_id, "source_file": parsed.name, "ledger_kind": kind_name,
                         "community": min(v for v, c in zip(values, numbers) if c == top), "rows": records.num_rows,
                         "community_rows": top, "month_from": first.replace(day=1),
                         "month_to": last.replace(day=1), "loaded_at": loaded_at})
    return rows


def file_submissions(parsed: ParsedFile, loaded_at: datetime | None = None) -> pd.DataFrame:
    """The submissions rows one parsed file gives (batch_id 0): community, kinds, months, rows."""
    summary = FileSummary(parsed.name, "已载入")
    return submission_rows(Staged(log=[(0, parsed, summary, loaded_at or datetime.now().replace(microsecond=0))]))


def record_submissions(con: duckdb.DuckDBPyConnection, staged: Staged) -> None:
    """Append this load's submissions; the first load after an upgrade first fills in the earlier files."""
    first = min((b for b, _, _, _ in staged.log), default=None)  # this load's batches: from here on
    if not con.execute("SELECT count(*) FROM submission_log").fetchall()[0][0] and con.execute(
            "SELECT count(*) FROM batch_log WHERE batch_id < coalesce(?, 2147483647)", [first]).fetchall()[0][0]:
        _backfill_submissions(con, [p.name for _, p, _, _ in staged.log])  # (nothing to fill in for a new database)
    rows = _submission_dicts(staged)
    if rows:
        insert_frame(con, "submission_log", pa.Table.from_pylist(rows).select(list(SUBMISSION_COLUMNS)))


def _backfill_submissions(con: duckdb.DuckDBPyConnection, skip: list[str]) -> None:
    """Submissions of files loaded before submission_log existed, from the rows they left."""
    con.register("_skip", pd.DataFrame({"source_file": pd.Series(skip, dtype=object)}))
    try:
        for kind in KINDS:
            day = MAIN_DATE[kind.name]
            con.execute(f"""
                INSERT INTO submission_log ({", ".join(SUBMISSION_COLUMNS)})
                WITH rows AS (SELECT * FROM {kind.table} WHERE source_file NOT IN (SELECT source_file FROM _skip)),
                per AS (SELECT source_file, community, count(*) AS n FROM rows GROUP BY ALL),
                top AS (SELECT *, sum(n) OVER (PARTITION BY source_file) AS total, row_number() OVER
                        (PARTITION BY source_file ORDER BY n DESC, community) AS rk FROM per),
                span AS (SELECT source_file, max(batch_id) AS batch_id, min({day}) AS lo, max({day}) AS hi
                         FROM rows GROUP BY source_file)
                SELECT s.batch_id, s.source_file, '{kind.name}', t.community, t.total, t.n,
                       date_trunc('month', s.lo)::DATE, date_trunc('month', s.hi)::DATE,
                       coalesce((SELECT max(b.loaded_at) FROM batch_log b WHERE b.batch_id = s.batch_id),
                                current_localtimestamp()::TIMESTAMP)
                FROM span s JOIN top t ON t.source_file = s.source_file AND t.rk = 1""")
    finally:
        con.unregister("_skip")


# ------------------------------------------------------------------ dry run (preview before publishing)

@dataclass
class SheetSummary:
    """What one sheet of a file would do: the FileSummary counts, per sheet (preview only)."""

    file: str
    sheet: str | None
    kind: str | None  # ledger kind name, None for a sheet without a recognisable header
    new: int = 0
    changed: int = 0
    unchanged: int = 0
    removed: int = 0  # rows of the earlier version of this sheet that the new file no longer has
    rejected: int = 0
    note: str = ""  # 空工作表 / 未识别 / 已删除的工作表


@dataclass
class PreviewReport(LoadReport):
    """A dry run: what load_files would do, file by file and sheet by sheet; nothing was published."""

    sheets: list[SheetSummary] = field(default_factory=list)
    parsed: dict[str, ParsedFile] = field(default_factory=dict)  # file name -> parse result (changed files)
    submissions: pd.DataFrame = field(default_factory=lambda: pd.DataFrame(columns=list(SUBMISSION_COLUMNS)))


def preview_files(paths: Iterable[Path], db_path: Path, *, ref: Reference | None = None,
                  today: date | None = None, contents: dict[Path, bytes] | None = None,
                  limits: Limits | None = LIMITS) -> PreviewReport:
    """Dry run of load_files: the same checks, parsing, staging and flush counting, on a throwaway
    copy of the published database inside a transaction that is rolled back. Never publishes,
    never writes next to ``db_path`` and takes no writer lock."""
    ref = ref or load_reference()
    db_path = Path(db_path)
    paths = list(paths)
    report = PreviewReport(db_path)
    try:
        migrations.check_version(db_path)
        _, work = _split_unchanged(paths, db_path, report, contents)
        if not work:
            return report
        remove_leftover_previews()
        with tempfile.TemporaryDirectory(prefix=f"{PREVIEW_PREFIX}{os.getpid()}-") as scratch_dir:
            scratch = Path(scratch_dir) / "preview.duckdb"
            if db_path.exists():
                shutil.copyfile(db_path, scratch)
            con = duckdb.connect(str(scratch))
            try:
                staged, _ = _stage(con, ref, work, report, today, limits, db_path.name)
                report.parsed = {parsed.name: parsed for _, parsed, _, _ in staged.log}
                report.sheets = _sheet_counts(con, staged)
                flush(con, staged)
                report.submissions = submission_rows(staged)
                con.execute("ROLLBACK")
            finally:
                con.close()
    except FAULTS as exc:
        log.warning("preview against %s failed: %r", db_path, exc)
        raise load_failure(exc, "预览未完成，数据库未改动") from exc
    return report


PREVIEW_PREFIX = "chuangshu-preview-"


def remove_leftover_previews() -> list[Path]:
    """Remove the scratch folders of previews whose process is gone (a killed dashboard server)."""
    removed: list[Path] = []
    pattern = re.compile(re.escape(PREVIEW_PREFIX) + r"(\d+)-.+")
    for path in Path(tempfile.gettempdir()).glob(PREVIEW_PREFIX + "*"):
        match = pattern.fullmatch(path.name)
        if match is None or process_alive(int(match[1])):
            continue
        shutil.rmtree(path, ignore_errors=True)
        removed.append(path)
    return removed


def _sheet_counts(con: duckdb.DuckDBPyConnection, staged: Staged) -> list[SheetSummary]:
    """Per-sheet new/changed/unchanged/removed/rejected, counted as _flush_kind counts per file."""
    out: dict[tuple[str, str | None, str | None], SheetSummary] = {}
    for _, parsed, _, _ in staged.log:
        for sheet, what in parsed.sheets:
            kind = what if what in BY_NAME else None
            note = "" if kind else what
            out[(parsed.name, sheet, kind)] = SheetSummary(parsed.name, sheet, kind, note=note)
        for r in parsed.rejects:
            key = (parsed.name, r.sheet, r.kind)
            out.setdefault(key, SheetSummary(parsed.name, r.sheet, r.kind)).rejected += 1
    con.register("_files", pd.DataFrame({"source_file": pd.Series(staged.replaced, dtype=object)}))
    try:
        for kind in KINDS:
            frames = staged.frames.get(kind.name, [])
            with _staged_rows(con, kind, frames) if frames else nullcontext((None, None)) as (new, _):
                if new is not None:
                    for file, sheet, n_new, n_changed, n_unchanged in con.execute(f"""
                            SELECT d.source_file, d.source_sheet, count(*) FILTER (WHERE t.row_hash IS NULL),
                                   count(*) FILTER (WHERE t.row_hash IS NOT NULL AND t.row_hash <> d.row_hash),
                                   count(*) FILTER (WHERE t.row_hash = d.row_hash)
                            FROM {new} d LEFT JOIN {kind.table} t ON {_key_condition(kind, 'd', 't')}
                            GROUP BY ALL""").fetchall():
                        s = out.setdefault((file, sheet, kind.name), SheetSummary(file, sheet, kind.name))
                        s.new, s.changed, s.unchanged = s.new + n_new, s.changed + n_changed, s.unchanged + n_unchanged
                gone = f"AND NOT EXISTS (SELECT 1 FROM {new} d WHERE {_key_condition(kind, 'd', 't')})" \
                    if new is not None else ""
                for file, sheet, n in con.execute(f"""
                        SELECT t.source_file, t.source_sheet, count(*) FROM {kind.table} t
                        WHERE t.source_file IN (SELECT source_file FROM _files) {gone} GROUP BY ALL""").fetchall():
                    s = out.get((file, sheet, kind.name))
                    if s is None:
                        s = out[(file, sheet, kind.name)] = SheetSummary(file, sheet, kind.name, note="已删除的工作表")
                    s.removed += n
    finally:
        con.unregister("_files")
    return list(out.values())
