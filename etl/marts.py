"""Pre-aggregated tables ("marts") that the dashboard's metrics read instead of the record tables.

Built from the public views (cases, volunteers, organizations, activities, categories) by
``sql/marts.sql``, inside the load's transaction (so they always match the records they
summarise) and again in each community-scoped copy (chuangshu/scope.py) from that community's
rows. Every mart is exact: counts keep the days the metrics compare with the as-of date, stock
figures (在任三长, 在册组织) are running totals of merged spells, and medians come from a
histogram of whole days. docs/aggregates.md explains each table and the identities behind it.
"""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from etl import catalogue

SQL_FILE = Path(__file__).parent / "sql" / "marts.sql"
MACROS_FILE = Path(__file__).parent / "sql" / "mart_macros.sql"  # read the case marts by month + edge days
VERSION = "7"  # bump when marts.sql changes what it builds: load_files then rebuilds unchanged databases
_NAME = re.compile(r"^--\s*mart:\s*(\w+)\s*$", re.MULTILINE)


@cache
def statements() -> dict[str, str]:
    """Each mart's name and its CREATE statement, in build order."""
    parts = _NAME.split(SQL_FILE.read_text(encoding="utf-8"))
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


TABLES: tuple[str, ...] = tuple(statements())
# Marts whose rows do not belong to one community: always rebuilt in full (they are small).
GLOBAL = ("agg_volunteer_multi", "agg_compounds_seen", "agg_community_compounds")
# The public views the per-community marts read (narrowed to the changed communities on update)
# and their storage tables, fingerprinted per community after every load (agg_state): the ledger
# kinds that marts are computed from (etl/kinds.py `marts`).
VIEWS = catalogue.MART_VIEWS
SOURCES = catalogue.MART_SOURCES
STATE_SQL = " UNION ALL ".join(
    f"SELECT '{t}' AS source, community, count(*) AS n, bit_xor(hash(row_hash)) AS h FROM {t} GROUP BY community"
    for t in SOURCES) + (" UNION ALL SELECT 'categories', '*', count(*), bit_xor(hash(category, sla_days))"
                         " FROM categories")


def build(con: duckdb.DuckDBPyConnection, full: bool = False) -> list[str] | None:
    """Bring every mart up to date with the public views on ``con`` (inside the load's transaction).

    In a database with record tables and marts of this VERSION from an earlier load, only the
    communities whose records changed are recomputed (a monthly ledger touches one community of
    45); otherwise, in a scoped copy and with ``full`` (after a schema migration), everything is
    built. Returns the recomputed communities, or None when everything was built.
    """
    con.execute("SET enable_progress_bar = false")
    tables = _tables(con)
    if SOURCES[0] not in tables:  # a community-scoped copy: plain tables, no lineage or state
        _build_all(con)
        _macros(con)
        return None
    state = _state(con)
    before = _read_state(con) if _current(con, tables) and not full else None
    if before is None or before.get(("categories", "*")) != state.get(("categories", "*")):
        _build_all(con)
        changed = None
    else:
        changed = _changed(before, state)
        if changed:
            _rebuild(con, changed)
    _macros(con)
    keys, values = list(state), list(state.values())
    rows = pa.table({"source": [k[0] for k in keys], "community": [k[1] for k in keys],
                     "n": pa.array([v[0] for v in values], pa.int64()), "h": pa.array([v[1] for v in values], pa.uint64())})
    con.register("_state_rows", rows)
    try:
        con.execute("CREATE OR REPLACE TABLE agg_state AS SELECT source, community, n::BIGINT AS n, "
                    "h::UBIGINT AS h FROM _state_rows")
    finally:
        con.unregister("_state_rows")
    return changed


MACROS = {"case_reported_rows": "agg_case_reported", "case_resolved_rows": "agg_case_resolved",
          "case_followup_rows": "agg_case_followup", "case_duration_rows": "agg_case_durations"}


def _macros(con: duckdb.DuckDBPyConnection) -> None:
    template = MACROS_FILE.read_text(encoding="utf-8")
    for macro, mart in MACROS.items():  # fixed names from this module, never data
        con.execute(template.replace("{macro}", macro).replace("{mart}", mart))


def _build_all(con: duckdb.DuckDBPyConnection) -> None:
    # every mart whose row order matters (sorted by day for DuckDB's zone maps) says ORDER BY, which a
    # CREATE TABLE AS keeps either way; the rest of each statement may then run without keeping the
    # order of its input (100×, 5 interleaved pairs: the marts in 0.92 of the time). Not for
    # _rebuild: its INSERT of a sorted subquery's rows keeps their order only with the setting on.
    keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = false")
    try:
        for name, sql in statements().items():
            con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")  # noqa: S608 - names from our own file
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")


def _current(con: duckdb.DuckDBPyConnection, tables: set[str]) -> bool:
    """Every mart and agg_state exist (``tables``: the database's) and were built by this VERSION
    (meta.marts_version)."""
    if not all(t in tables for t in (*TABLES, "agg_state", "meta")):
        return False
    row = con.execute("SELECT value FROM meta WHERE key = 'marts_version'").fetchall()
    return bool(row) and row[0][0] == VERSION


def _rebuild(con: duckdb.DuckDBPyConnection, communities: list[str]) -> None:
    """Recompute the marts' rows of ``communities`` (and the marts that are not per community in full).

    The per-community marts read the public views through temporary views of the same names that
    hold only the changed communities' rows, so the work is proportional to those communities.
    """
    multi_before = _fingerprint(con, "agg_volunteer_multi")
    whole = [name for name in TABLES if name in GLOBAL]
    for name in whole:
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {statements()[name]}")  # noqa: S608
    if _fingerprint(con, "agg_volunteer_multi") != multi_before:
        # someone joined or left a second community: their other community's stock changes too
        con.execute(f"CREATE OR REPLACE TABLE agg_volunteer_stock AS {statements()['agg_volunteer_stock']}")  # noqa: S608
        whole.append("agg_volunteer_stock")
    catalog = con.execute("SELECT current_database()").fetchall()[0][0].replace('"', '""')
    con.execute("CREATE OR REPLACE TEMP TABLE _changed AS SELECT unnest($c::VARCHAR[]) AS community",
                {"c": communities})
    try:
        for view in VIEWS:  # fixed names; the communities are bound, never spliced into SQL
            con.execute(f'CREATE OR REPLACE TEMP VIEW {view} AS SELECT * FROM "{catalog}".main.{view} '  # noqa: S608
                        "WHERE community IN (SELECT community FROM temp.main._changed)")
        for name, sql in statements().items():
            if name in whole:
                continue
            con.execute(f"DELETE FROM {name} WHERE list_contains($c, community)", {"c": communities})  # noqa: S608
            con.execute(f"INSERT INTO {name} SELECT * FROM ({sql}) WHERE list_contains($c, community)",  # noqa: S608
                        {"c": communities})
    finally:
        for view in VIEWS:
            con.execute(f"DROP VIEW IF EXISTS temp.main.{view}")
        con.execute("DROP TABLE IF EXISTS temp.main._changed")


def _changed(before: dict, after: dict) -> list[str]:
    return sorted({c for key in before.keys() | after.keys() if before.get(key) != after.get(key)
                   for c in [key[1]]})


def _state(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, int]]:
    return {(t, c): (n, h) for t, c, n, h in con.execute(STATE_SQL).fetchall()}


def _read_state(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[int, int]]:
    return {(t, c): (n, h) for t, c, n, h in con.execute("SELECT source, community, n, h FROM agg_state").fetchall()}


def _fingerprint(con: duckdb.DuckDBPyConnection, table: str) -> tuple:
    return con.execute(f"SELECT count(*), bit_xor(hash(t)) FROM {table} t").fetchall()[0]  # noqa: S608


def _tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    """The names of the database's tables (not temporary ones), in one catalogue query."""
    return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE NOT temporary").fetchall()}
