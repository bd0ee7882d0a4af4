"""Schema versions and migrations: a database records its version; older ones are brought up to
date inside the load's transaction, newer ones are refused.

The ledger storage tables are generated from the catalogue (etl/kinds.py): a field or kind
declares the version that added it (``since``) and, for a field, how the rows stored before it
are backfilled (``backfill``, an SQL expression over the row's stored columns; NULL if none).
The other tables (meta, ref_*, batch_log, reject_records, submission_log, schema_migrations,
the marts the views read) are in sql/schema.sql as ``CREATE TABLE IF NOT EXISTS``, so a new
one of those is created by the next load; a change to one of their columns needs an explicit
step in ``MIGRATIONS``. ``SCHEMA_VERSION`` is the highest version any of these declare.

``migrate`` runs at the start of every load (and dry run), inside its transaction:

* a new, empty database gets every table at ``SCHEMA_VERSION``;
* a database written before versioning (no ``meta.schema_version``) is version 1;
* each version after the stored one is applied in order: new ledger tables; ledger tables
  that gained columns are rebuilt in the catalogue's shape (old rows copied, new columns
  backfilled, row hashes recomputed over the new columns so that unchanged rows stay
  unchanged); then the version's explicit SQL; each applied version is recorded in
  ``schema_migrations``. The caller then rebuilds the views (views.sql) and every mart;
* a database of a newer version than this code is refused (``SchemaTooNew``, in Chinese);
* finally every ledger table must have exactly the catalogue's columns and types: a column the
  catalogue lacks (it would be dropped) or one it has that no migration added fails the load
  loudly (``SchemaMismatch``) — never a silently dropped column.

Because all of it happens in the load's transaction on a private copy, a failed migration
leaves the published database as it was.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb

from etl.kinds import KINDS, LedgerKind

SQL_DIR = Path(__file__).parent / "sql"
BASELINE = 1  # the schema of databases written before versioning (no meta.schema_version)
LINEAGE = (("source_file", "VARCHAR", True), ("source_sheet", "VARCHAR", False), ("source_row", "INTEGER", False),
           ("row_hash", "VARCHAR", True), ("batch_id", "INTEGER", True))


@dataclass(frozen=True)
class Migration:
    """One schema version: what it changes (Chinese, recorded in schema_migrations) and its own SQL.

    The catalogue's steps for the version (new ledger tables and columns) run first; ``sql``
    (statements separated by semicolons) then runs in the same transaction.
    """

    version: int
    summary: str
    sql: str = ""


MIGRATIONS: tuple[Migration, ...] = (
    Migration(2, "记录数据库结构版本（meta.schema_version）与迁移历史（schema_migrations 表）；"
                 "台账存储表改由台账目录（etl/kinds.py）生成"),
)
SCHEMA_VERSION: int = max(BASELINE, *(m.version for m in MIGRATIONS), *(k.since for k in KINDS),
                          *(f.since for k in KINDS for f in k.fields))


class SchemaTooNew(ValueError):
    """The database was written by newer code; this code must not open or change it."""

    def __init__(self, stored: int, where: str = "") -> None:
        self.stored = stored
        name = f"「{where}」" if where else ""
        super().__init__(f"数据库{name}的结构版本为 {stored}，比本程序支持的版本 {SCHEMA_VERSION} 新："
                         "它由更新版本的程序写入。为免丢失数据，本程序不会读取或改动它；请先把程序升级到最新版本再载入或打开")


class SchemaMismatch(ValueError):
    """A ledger table's columns differ from the catalogue in a way no migration covers."""


def table_columns(kind: LedgerKind, version: int = 0) -> list[tuple[str, str, bool]]:
    """(column, type, not null) of a kind's storage table at ``version`` (0: this code's), lineage last."""
    version = version or SCHEMA_VERSION
    return [(c, kind.column_type(c), kind.column_not_null(c)) for c in kind.columns
            if kind.column_since(c) <= version] + list(LINEAGE)


def table_sql(kind: LedgerKind, version: int = 0, name: str | None = None) -> str:
    """CREATE TABLE of a kind's storage table (its key is checked by the loader, not an index)."""
    cols = ", ".join(f"{c} {t}{' NOT NULL' if nn else ''}" for c, t, nn in table_columns(kind, version))
    return f"CREATE TABLE {name or kind.table} ({cols})"


def hash_sql(columns: list[str] | tuple[str, ...], dates: list[str] | tuple[str, ...] = ()) -> str:
    """DuckDB expression of the row hash: dates hashed as the timestamps they were first stored as."""
    dates = set(dates)
    values = ", ".join(f'CAST(CAST("{c}" AS TIMESTAMP) AS VARCHAR)' if c in dates else f'CAST("{c}" AS VARCHAR)'
                       for c in columns)
    return f"printf('%016x', hash({values}))"


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Every table of the current schema, for a new database (and in-memory test databases)."""
    con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))
    tables = _tables(con)
    for kind in KINDS:
        if kind.table not in tables:
            con.execute(table_sql(kind))


def stored_version(con: duckdb.DuckDBPyConnection) -> int | None:
    """The database's schema version: None for an empty database, BASELINE before versioning."""
    if not con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'main' AND NOT temporary"
                       ).fetchall()[0][0]:
        return None
    if not _exists(con, "meta"):
        return BASELINE
    row = con.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchall()
    return int(row[0][0]) if row else BASELINE


def database_version(db_path: Path) -> int | None:
    """The schema version of a database file (read-only; None when it is missing or empty)."""
    if not Path(db_path).exists():
        return None
    con = duckdb.connect(str(db_path), read_only=True)
    try:
        return stored_version(con)
    finally:
        con.close()


def check_version(db_path: Path) -> int | None:
    """The file's schema version; raises SchemaTooNew when newer than this code."""
    version = database_version(db_path)
    if version is not None and version > SCHEMA_VERSION:
        raise SchemaTooNew(version, Path(db_path).name)
    return version


def migrate(con: duckdb.DuckDBPyConnection, where: str = "") -> list[int]:
    """Bring the database on ``con`` (inside the caller's transaction) to SCHEMA_VERSION.

    Returns the versions applied (empty when it was current; [SCHEMA_VERSION] for a new
    database). The caller recreates the views and rebuilds every mart when this is not empty.
    """
    stored = stored_version(con)
    if stored is not None and stored > SCHEMA_VERSION:
        raise SchemaTooNew(stored, where)
    now = datetime.now().replace(microsecond=0)
    if stored is None:
        create_tables(con)
        steps = [(SCHEMA_VERSION, f"新建数据库（结构版本 {SCHEMA_VERSION}）")]
    else:
        con.execute((SQL_DIR / "schema.sql").read_text(encoding="utf-8"))  # tables new since then
        steps = []
        for version in range(stored + 1, SCHEMA_VERSION + 1):
            steps.append((version, _apply(con, version)))
    for version, summary in steps:
        con.execute("INSERT INTO schema_migrations VALUES (?, ?, ?)", [version, now, summary])
    check(con)
    con.execute("INSERT OR REPLACE INTO meta VALUES ('schema_version', ?)", [str(SCHEMA_VERSION)])
    return [v for v, _ in steps]


def _apply(con: duckdb.DuckDBPyConnection, version: int) -> str:
    """One version's catalogue steps and explicit SQL; its summary."""
    done: list[str] = []
    for kind in KINDS:
        if kind.since == version and not _exists(con, kind.table):
            con.execute(table_sql(kind, version))
            done.append(f"新增{kind.title}存储表 {kind.table}")
        elif kind.since < version and _exists(con, kind.table):
            added = [c for c in kind.columns if kind.column_since(c) == version]
            if added:
                _rebuild(con, kind, version, added)
                done.append(f"{kind.table} 新增列 " + "、".join(added))
    migration = next((m for m in MIGRATIONS if m.version == version), None)
    if migration is not None and migration.sql.strip():
        for statement in migration.sql.split(";"):
            if statement.strip():
                con.execute(statement)
    parts = ([migration.summary] if migration is not None else []) + done
    return "；".join(parts) or f"结构版本 {version}"


def _rebuild(con: duckdb.DuckDBPyConnection, kind: LedgerKind, version: int, added: list[str]) -> None:
    """Rebuild a ledger table in the catalogue's shape at ``version``: old rows copied, ``added``
    columns backfilled, row hashes recomputed over the new columns."""
    have = _columns(con, kind.table)
    target = table_columns(kind, version)
    names = [c for c, _, _ in target]
    unknown = [c for c in have if c not in names]
    if unknown:
        raise SchemaMismatch(_mismatch(kind, unknown=unknown))
    rules = {f.name: f.backfill for f in kind.fields}
    dates = [f.name for f in kind.fields if f.type == "date"]
    lineage = [c for c, _, _ in LINEAGE]
    old = ", ".join(f"CAST({rules.get(c) or 'NULL'} AS {t}) AS {c}" if c in added else c
                    for c, t, _ in target if c != "row_hash")
    new = ", ".join(f"{hash_sql([n for n in names if n not in lineage], dates)} AS row_hash" if c == "row_hash" else c
                    for c in names)
    staging = f"{kind.table}__v{version}"
    con.execute(table_sql(kind, version, staging))
    con.execute(f"INSERT INTO {staging} SELECT {new} FROM (SELECT {old} FROM {kind.table})")  # noqa: S608 - catalogue
    con.execute(f"DROP TABLE {kind.table}")
    con.execute(f"ALTER TABLE {staging} RENAME TO {kind.table}")


def check(con: duckdb.DuckDBPyConnection) -> None:
    """Every ledger table has exactly the catalogue's columns and types (else SchemaMismatch)."""
    tables, columns = _tables(con), stored_columns(con)  # (two catalogue queries, not two per table)
    for kind in KINDS:
        if kind.table not in tables:
            raise SchemaMismatch(_mismatch(kind, table_missing=True))
        have = columns.get(kind.table, {})
        want = {c: t for c, t, _ in table_columns(kind)}
        missing = [c for c in want if c not in have]
        unknown = [c for c in have if c not in want]
        retyped = [f"{c}（数据库中为 {have[c]}，目录要求 {t}）" for c, t in want.items() if c in have and have[c] != t]
        if missing or unknown or retyped:
            raise SchemaMismatch(_mismatch(kind, missing, unknown, retyped))


def _mismatch(kind: LedgerKind, missing: list[str] = (), unknown: list[str] = (), retyped: list[str] = (),
              table_missing: bool = False) -> str:
    parts = []
    if table_missing:
        parts.append("数据库中没有这张表")
    if missing:
        parts.append("缺少列 " + "、".join(missing) + "（目录中有，但没有迁移添加它们：请在 etl/kinds.py 中为新字段设置 since）")
    if unknown:
        parts.append("多出列 " + "、".join(unknown) + "（目录中已没有：为免丢失数据，不会删除）")
    if retyped:
        parts.append("列类型不同：" + "、".join(retyped))
    return (f"数据库表 {kind.table}（{kind.title}）与台账目录不一致：" + "；".join(parts)
            + "。本次载入已取消，数据库未改动")


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> dict[str, str]:
    return dict(con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = $t "
                            "AND schema_name = 'main' ORDER BY column_index", {"t": table}).fetchall())


def stored_columns(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, str]]:
    """_columns of every main-schema table, in one query: {table: {column: type}}, columns in table order
    (the migrations' check and the loader's inserts)."""
    out: dict[str, dict[str, str]] = {}
    for table, column, kind in con.execute("SELECT table_name, column_name, data_type FROM duckdb_columns() "
                                           "WHERE schema_name = 'main' ORDER BY table_name, column_index").fetchall():
        out.setdefault(table, {})[column] = kind
    return out


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The names that _exists finds, in one query."""
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                      "AND NOT temporary").fetchall()}


def _exists(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = $t AND schema_name = 'main' "
                            "AND NOT temporary", {"t": table}).fetchall()[0][0])
