"""Layers point one way: pages → chuangshu → etl's public API; etl never imports the dashboard.

Imports are read with ``ast`` from every module (including imports inside functions), so a
lazy import counts as much as one at the top.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ("chuangshu", "pages", "dashboard")  # top-level names of the dashboard side
# What the dashboard may import from etl: the API, the folders, the catalogue of ledger kinds and
# views (declarations: issue 14 makes them the one source every list is derived from), and the one
# neutraliser of formula-like text that every spreadsheet writer shares (a pure leaf module).
PUBLIC_ETL = ("etl.api", "etl.paths", "etl.kinds", "etl.catalogue", "etl.cellsafe")


def imported_modules(source: str) -> list[tuple[int, str]]:
    """(line, module) for every import in ``source``; ``from etl import x`` counts as etl.x."""
    found: list[tuple[int, str]] = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module == "etl" and node.level == 0:
            found += [(node.lineno, f"etl.{a.name}") for a in node.names]  # from etl import api → etl.api
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
    return found


def etl_violations(source: str) -> list[str]:
    """Imports of the dashboard from etl code."""
    return [f"line {n}: {m}" for n, m in imported_modules(source) if m.split(".")[0] in DASHBOARD]


def dashboard_violations(source: str) -> list[str]:
    """Imports of etl internals (anything but the public modules) from dashboard code."""
    out = []
    for n, m in imported_modules(source):
        if m == "etl" or (m.startswith("etl.") and not any(m == p or m.startswith(p + ".") for p in PUBLIC_ETL)):
            out.append(f"line {n}: {m}")
    return out


def sources(*parts: str) -> list[Path]:
    out: list[Path] = []
    for part in parts:
        path = ROOT / part
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return out


@pytest.mark.parametrize(("source", "etl_bad", "dashboard_bad"), [
    ("from chuangshu.paths import db_path", ["line 1: chuangshu.paths"], []),
    ("def f():\n    import chuangshu.db as d", ["line 2: chuangshu.db"], []),
    ("import pages.intake", ["line 1: pages.intake"], []),
    ("from etl.load import Staged", [], ["line 1: etl.load"]),
    ("from etl import marts", [], ["line 1: etl.marts"]),
    ("import etl", [], ["line 1: etl"]),
    ("import etl.pipeline", [], ["line 1: etl.pipeline"]),
    ("from etl.api import load_files\nfrom etl.paths import db_path\nfrom etl.kinds import KINDS", [], []),
    ("from etl import catalogue, cellsafe\nfrom etl.cellsafe import TextFormats", [], []),
    ("from etl import catalogue, template", [], ["line 1: etl.template"]),
    ("from etl.migrations import SchemaTooNew", [], ["line 1: etl.migrations"]),
    ("from etl import api", [], []),
    ("from .x import y\nimport json", [], []),
])
def test_the_checks_themselves(source: str, etl_bad: list[str], dashboard_bad: list[str]) -> None:
    assert etl_violations(source) == etl_bad
    assert dashboard_violations(source) == dashboard_bad


def test_etl_never_imports_the_dashboard() -> None:
    bad = {str(p.relative_to(ROOT)): v for p in sources("etl") if (v := etl_violations(p.read_text(encoding="utf-8")))}
    assert bad == {}


def test_the_dashboard_uses_only_the_public_etl_api() -> None:
    bad = {str(p.relative_to(ROOT)): v for p in sources("chuangshu", "pages", "dashboard.py")
           if (v := dashboard_violations(p.read_text(encoding="utf-8")))}
    assert bad == {}


def test_the_public_api_names_what_it_exports() -> None:
    import etl.api

    missing = [name for name in etl.api.__all__ if not hasattr(etl.api, name)]
    assert missing == [] and len(set(etl.api.__all__)) == len(etl.api.__all__)
