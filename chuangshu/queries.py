"""The metric layer's named SQL (chuangshu/sql/*.sql), run with bound parameters only."""
from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import duckdb
import pandas as pd

SQL_DIR = Path(__file__).parent / "sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


@cache
def named_queries() -> dict[str, str]:
    """Every named query in the sql folder: name -> SQL text."""
    queries: dict[str, str] = {}
    for path in sorted(SQL_DIR.glob("*.sql")):
        text = path.read_text(encoding="utf-8")
        parts = _NAME.split(text)
        for name, body in zip(parts[1::2], parts[2::2]):
            queries[name] = body.strip().rstrip(";")
    return queries


def _used(sql: str) -> set[str]:
    return set(re.findall(r"\$(\w+)", sql))


def run(cur: duckdb.DuckDBPyConnection, name: str, params: dict[str, object]) -> pd.DataFrame:
    """Run one named query, binding only the parameters it uses."""
    sql = named_queries()[name]
    bound = {k: v for k, v in params.items() if k in _used(sql)}
    missing = _used(sql) - bound.keys()
    if missing:
        raise KeyError(f"query {name} needs parameters {sorted(missing)}")
    return cur.execute(sql, bound).df()


def rows(cur: duckdb.DuckDBPyConnection, name: str, params: dict[str, object]) -> list[tuple]:
    """Run one named query and return plain tuples (no DataFrame: for small results read in Python)."""
    sql = named_queries()[name]
    used = _used(sql)
    missing = used - params.keys()
    if missing:
        raise KeyError(f"query {name} needs parameters {sorted(missing)}")
    return cur.execute(sql, {k: v for k, v in params.items() if k in used}).fetchall()
