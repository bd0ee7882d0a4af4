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

SQL_FILE = Path(__file__).parent / "sql" / "marts.sql"
VERSION = "2"  # bump when marts.sql changes what it builds: load_files then rebuilds unchanged databases
_NAME = re.compile(r"^--\s*mart:\s*(\w+)\s*$", re.MULTILINE)


@cache
def statements() -> dict[str, str]:
    """Each mart's name and its CREATE statement, in build order."""
    parts = _NAME.split(SQL_FILE.read_text(encoding="utf-8"))
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


TABLES: tuple[str, ...] = tuple(statements())


def build(con: duckdb.DuckDBPyConnection) -> None:
    """(Re)build every mart from the public views on ``con`` (call inside the load's transaction)."""
    con.execute("SET enable_progress_bar = false")
    for name, sql in statements().items():
        con.execute(f"CREATE OR REPLACE TABLE {name} AS {sql}")  # noqa: S608 - names from our own file
