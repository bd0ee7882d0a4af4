"""The ledger catalogue (etl/kinds.py, etl/catalogue.py) is the one source of kinds, views, titles,
access classes, storage columns and mart dependencies: every other list equals it, no module keeps
its own copy, and the database built from it has exactly the documented views and columns."""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import duckdb
import pytest

from chuangshu import dictionary, query_runner, scope
from etl import catalogue, marts, migrations
from etl.kinds import KINDS, LedgerKind
from etl.load import create_schema

ROOT = Path(__file__).resolve().parent.parent
SQL_DIR = ROOT / "etl" / "sql"
FIXTURES = Path(__file__).parent / "fixtures"
CATALOGUE_FILES = {"etl/kinds.py", "etl/catalogue.py"}
# Names that only the catalogue may list: the ledger kinds (= their views), the admin views, the
# storage tables. (Reference view names double as reference file names, filter and metric names.)
NAMES = {k.name for k in KINDS} | set(catalogue.ADMIN_VIEWS) | set(catalogue.STORAGE_TABLES)
# The sample generator stands for the communities' clerks: its header spellings, sheet titles, manifest
# figures and per-kind generators are written out independently of the catalogue on purpose, so that the
# loader is tested against files it did not derive from its own declarations. (Its lists of kinds, titles
# and date columns are catalogue facts and are derived.)
EXEMPT = {
    ("etl/sample_files.py", "KIND_TITLES"): "sheet titles as clerks write them",
    ("etl/sample_rows.py", "COLUMNS"): "header spellings as clerks write them",
    ("etl/sample_rows.py", "ALIASES"): "header spellings as clerks write them",
    ("etl/sample_rows.py", "EXTRAS"): "extra columns clerks add",
    ("etl/sample_rows.py", "OPTIONAL"): "columns some clerks leave out",
    ("etl/sample_rows.py", "CELLS"): "one cell generator per kind",
    ("etl/sample.py", "published_figures"): "the manifest's figures",
}
BRANCH_FREE = ("etl/", "chuangshu/", "pages/", "dashboard.py")  # no `kind.name == "cases"` outside the sample


def _sources() -> list[Path]:
    return [ROOT / "dashboard.py", *sorted((ROOT / "etl").glob("*.py")), *sorted((ROOT / "chuangshu").glob("*.py")),
            *sorted((ROOT / "pages").glob("*.py"))]


def copies(path: str, text: str) -> list[str]:
    """Catalogue names typed out in a module: a literal list, tuple, set or dict (keys) with two or
    more of them, or a comparison with one (a branch per kind) outside the sample generator."""
    found = []
    for top in ast.parse(text).body:
        targets = getattr(top, "targets", None) or [getattr(top, "target", None)]
        owner = getattr(top, "name", None) or ",".join(t.id for t in targets if isinstance(t, ast.Name))
        for node in ast.walk(top):
            if isinstance(node, (ast.Tuple, ast.List, ast.Set, ast.Dict)):
                elements = node.keys if isinstance(node, ast.Dict) else node.elts
                names = {e.value for e in elements if isinstance(e, ast.Constant) and e.value in NAMES}
                if len(names) >= 2 and (path, owner) not in EXEMPT:
                    found.append(f"{path}:{node.lineno} ({owner}) lists {sorted(names)}")
            if isinstance(node, ast.Compare) and not path.startswith("etl/sample"):
                for c in node.comparators:
                    if isinstance(c, ast.Constant) and c.value in NAMES:
                        found.append(f"{path}:{node.lineno} ({owner}) branches on {c.value!r}")
    return found


def test_no_module_keeps_its_own_copy_of_the_catalogue() -> None:
    found = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        if rel not in CATALOGUE_FILES:
            found += copies(rel, path.read_text(encoding="utf-8"))
    assert not found, "derive these from etl/catalogue.py or etl/kinds.py:\n" + "\n".join(found)
    assert all(p.startswith(BRANCH_FREE) for p, _ in EXEMPT)


@pytest.mark.parametrize("source, flagged", [
    ('VIEWS = ("cases", "volunteers")', True),
    ('TITLES = {"cases": "事项台账", "activities": "活动台账"}', True),
    ('def f(kind):\n    return kind.name in ("cases", "micro_projects")', True),
    ('def f(kind):\n    return kind.name == "volunteers"', True),
    ('T = ["case_records", "batch_log", "activity_records"]', True),
    ('HIDDEN = ("rejects", "submissions")', True),
    ('X = ("cases",)', False),  # one name is a use, not a list
    ('P = {"communities": [], "categories": []}', False),  # filter parameters, not views
    ('Q = "SELECT * FROM cases JOIN activities USING (community)"', False),  # SQL that reads views
])
def test_the_copy_scanner_finds_copies(source: str, flagged: bool) -> None:
    assert bool(copies("chuangshu/x.py", source)) is flagged


def test_derived_lists_equal_the_catalogue() -> None:
    views = catalogue.VIEWS
    assert catalogue.LEDGER_VIEWS == tuple(k.name for k in KINDS)
    assert query_runner.PUBLIC_VIEWS == tuple(v.name for v in views)
    assert scope.COMMUNITY_VIEWS == tuple(v.name for v in views
                                          if v.access != catalogue.ADMIN and "community" in v.column_names)
    assert scope.SHARED_VIEWS == tuple(v.name for v in views
                                       if v.access != catalogue.ADMIN and "community" not in v.column_names)
    assert scope.HIDDEN_VIEWS == tuple(v.name for v in views if v.access == catalogue.ADMIN)
    assert set(scope.VISIBLE_VIEWS) | set(scope.HIDDEN_VIEWS) == set(query_runner.PUBLIC_VIEWS)
    assert list(dictionary.VIEWS) == [v.name for v in views]
    for v in views:
        assert dictionary.VIEWS[v.name].zh_title == v.title and list(dictionary.VIEWS[v.name].columns) == list(v.columns)
    assert dictionary.LEDGER_TITLES == {k.name: k.title for k in KINDS}
    assert set(marts.VIEWS) == {k.name for k in KINDS if k.marts}
    assert set(marts.SOURCES) == {k.table for k in KINDS if k.marts}
    assert {v.kind for v in views if v.access == catalogue.LEDGER} == {k.name for k in KINDS}
    assert all(v.kind is None for v in views if v.access != catalogue.LEDGER)


def test_the_views_are_exactly_the_documented_ones() -> None:
    """views.sql on the catalogue's tables gives the catalogue's views, columns and types, in order."""
    con = duckdb.connect()
    try:
        create_schema(con)
        built = [r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal "
                                           "AND schema_name = 'main'").fetchall()]
        assert set(built) == set(catalogue.PUBLIC_VIEWS)
        for view in catalogue.VIEWS:
            described = [(r[0], r[1]) for r in con.execute(f'DESCRIBE "{view.name}"').fetchall()]
            assert described == [(c.name, c.type) for c in view.columns], view.name
    finally:
        con.close()


def test_every_public_view_column_is_documented_in_both_languages() -> None:
    doc = (ROOT / "docs" / "data-dictionary.md").read_text(encoding="utf-8")
    assert doc == dictionary.to_markdown(), "run `python -m chuangshu.dictionary`"
    for view in catalogue.VIEWS:
        assert view.title and view.en and f"## {view.name}" in doc
        for c in view.columns:
            assert re.search(r"[\u4e00-\u9fff]", c.zh) and c.en.strip(), (view.name, c.name)
            assert f"| `{c.name}` | {c.type} |" in doc, (view.name, c.name)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_every_stored_column_is_in_the_kinds_public_view(kind: LedgerKind) -> None:
    """A stored column nobody can read is as good as lost: each one is in the view, with its type."""
    view = catalogue.BY_VIEW[kind.view]
    types = {c.name: c.type for c in view.columns}
    for column in kind.columns:
        assert types.get(column) == kind.column_type(column), (kind.name, column)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_kind_declarations_are_consistent(kind: LedgerKind) -> None:
    names = {f.name for f in kind.fields} | set(kind.derived)
    assert set(kind.key) <= names and kind.main_date in names
    assert set(re.findall(r"\{(\w+)\}", kind.label)) <= set(kind.columns)
    for earlier, later in kind.date_order:
        assert kind.field(earlier).type == kind.field(later).type == "date"
    for f in kind.fields:
        assert 1 <= f.since <= migrations.SCHEMA_VERSION and f.since >= kind.since
        if f.since > kind.since and f.not_null:
            assert f.backfill, f"{kind.name}.{f.name}: a NOT NULL field added later needs a backfill rule"
    assert len({f.header for f in kind.fields}) == len(kind.fields)


def _mart_dependencies() -> dict[str, frozenset[str]]:
    """Which views and marts each mart reads, directly or not (names in marts.sql and views.sql)."""
    views_sql = (SQL_DIR / "views.sql").read_text(encoding="utf-8")
    parts = re.split(r"CREATE OR REPLACE VIEW (\w+) AS", views_sql)
    bodies = {**marts.statements(), **dict(zip(parts[1::2], parts[2::2]))}
    names = set(bodies)

    def reads(sql: str) -> set[str]:
        sql = re.sub(r"'[^']*'", "", re.sub(r"--[^\n]*", "", sql))
        return {n for n in names if re.search(rf"\b{n}\b", sql)}

    direct = {name: reads(sql) - {name} for name, sql in bodies.items()}

    @functools.cache
    def closure(name: str) -> frozenset[str]:
        out: set[str] = set()
        for d in direct.get(name, ()):
            out |= {d} | closure(d)
        return frozenset(out)

    return {name: closure(name) for name in marts.statements()}


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_marts_of_each_kind_are_those_that_read_it(kind: LedgerKind) -> None:
    deps = _mart_dependencies()
    assert set(kind.marts) == {m for m, reads in deps.items() if kind.view in reads}
    assert list(kind.marts) == [m for m in marts.TABLES if m in kind.marts]  # in build order


def _fixture_ddl() -> dict[str, dict[str, tuple[str, bool]]]:
    """The storage tables of schema version 1, as the code before versioning typed them out."""
    con = duckdb.connect()
    try:
        con.execute((FIXTURES / "db_v1" / "schema.sql").read_text(encoding="utf-8"))
        rows = con.execute("SELECT table_name, column_name, data_type, is_nullable FROM duckdb_columns() "
                           "WHERE schema_name = 'main'").fetchall()
    finally:
        con.close()
    out: dict[str, dict[str, tuple[str, bool]]] = {}
    for table, column, typ, nullable in rows:
        out.setdefault(table, {})[column] = (typ, not nullable)
    return out


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_the_generated_storage_table_matches_the_catalogue_and_version_1(kind: LedgerKind) -> None:
    con = duckdb.connect()
    try:
        create_schema(con)
        have = {c: (t, not nullable) for c, t, nullable in con.execute(
            "SELECT column_name, data_type, is_nullable FROM duckdb_columns() WHERE table_name = ?",
            [kind.table]).fetchall()}
    finally:
        con.close()
    assert have == {c: (t, nn) for c, t, nn in migrations.table_columns(kind)}
    v1 = _fixture_ddl()[kind.table]
    assert {c: have[c] for c, *_ in migrations.table_columns(kind, 1)} == v1
