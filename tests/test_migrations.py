"""Schema versions and migrations (etl/migrations.py): nothing lost on an upgrade, a newer database refused.

* A database written before versioning (tests/fixtures/db_v1: built by the loader of commit 8c15cfb
  from two communities of the sample) is migrated by the next load without losing a row or a column,
  and loading the rest of the sample then gives exactly the database a fresh load gives.
* A test catalogue (the current one plus two case fields of the next version, run in a subprocess
  so that every module derives from it, as after a developer's edit) migrates a current database:
  the columns exist, old rows are backfilled by the fields' rules, the new file's values are there,
  unchanged rows stay unchanged (their hashes are recomputed), and the view that one SQL edit
  exposes shows them. That database is then refused by the current code, with the Chinese message.
* A ledger table that differs from the catalogue in a way no migration covers fails the load loudly.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from conftest import query, write_xlsx
from etl import marts, migrations
from etl.bootstrap import ensure_current
from etl.extract import ledger_files
from etl.kinds import KINDS
from etl.load import insert_frame, load_files, preview_files

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = Path(__file__).parent / "fixtures" / "db_v1"
V1_COMMUNITIES = ("同德社区", "桂园社区")
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
NEXT = migrations.SCHEMA_VERSION + 1


def v1_database(path: Path) -> Path:
    """The fixture's version-1 database, rebuilt from its EXPORT DATABASE files."""
    con = duckdb.connect(str(path))
    try:
        con.execute((FIXTURE / "schema.sql").read_text(encoding="utf-8"))
        con.execute((FIXTURE / "load.sql").read_text(encoding="utf-8").replace("{dir}", str(FIXTURE)))
    finally:
        con.close()
    return path


def tables(db: Path) -> dict[str, pd.DataFrame]:
    """Every table of a database, rows sorted, columns by name."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main'"
                                           ).fetchall()]
        return {n: con.execute(f'SELECT * FROM "{n}" ORDER BY ALL').df() for n in names}
    finally:
        con.close()


def same_rows(a: pd.DataFrame, b: pd.DataFrame, columns: list[str]) -> None:
    left = a[columns].sort_values(columns).reset_index(drop=True)
    right = b[columns].sort_values(columns).reset_index(drop=True)
    pd.testing.assert_frame_equal(left, right, check_dtype=False)


# ------------------------------------------------------------------ a database of the code before versioning

def test_the_fixture_is_a_version_1_database(tmp_path: Path) -> None:
    db = v1_database(tmp_path / "v1.duckdb")
    assert migrations.database_version(db) == migrations.BASELINE == 1
    assert query(db, "SELECT count(*) FROM meta WHERE key = 'schema_version'") == [(0,)]
    assert query(db, "SELECT count(*) FROM case_records") == [(485,)]
    assert query(db, "SELECT count(*) FROM reject_records") == [(1,)]


def test_a_version_1_database_is_migrated_without_losing_a_row_or_a_column(tmp_path: Path) -> None:
    db = v1_database(tmp_path / "v1.duckdb")
    before = tables(db)
    report = load_files([], db)
    assert report.published and report.migrated == list(range(2, migrations.SCHEMA_VERSION + 1))
    after = tables(db)
    assert set(before) <= set(after)
    for name, old in before.items():
        new = after[name]
        assert set(old.columns) <= set(new.columns), name
        if name == "meta":  # a new version and publication time, the schema version added
            kept = dict(zip(old["key"], old["value"]))
            now = dict(zip(new["key"], new["value"]))
            derived = ("db_version", "published_at", "marts_version", "reference_hash")  # today's marts and reference
            assert {k: now[k] for k in kept if k not in derived} == {k: v for k, v in kept.items() if k not in derived}
            assert now["marts_version"] == str(marts.VERSION)
            assert now["schema_version"] == str(migrations.SCHEMA_VERSION) and now["db_version"] == "2"
            continue
        if name in marts.TABLES:  # derived: rebuilt by today's definitions, so equal to a full build of them
            continue
        same_rows(old, new, list(old.columns))  # record tables, lineage, rejects, batches: identical
    rebuilt = tmp_path / "rebuilt.duckdb"
    shutil.copyfile(db, rebuilt)
    con = duckdb.connect(str(rebuilt))
    try:
        con.execute("BEGIN")
        assert marts.build(con, full=True) is None
        con.execute("COMMIT")
    finally:
        con.close()
    full = tables(rebuilt)
    for name in marts.TABLES:
        same_rows(full[name], after[name], list(full[name].columns))
    assert query(db, "SELECT version FROM schema_migrations ORDER BY 1") == \
        [(v,) for v in range(2, migrations.SCHEMA_VERSION + 1)]
    assert query(db, "SELECT count(*) FROM cases") == [(485,)]
    assert load_files([], db).published is False  # current now: nothing to do


def test_loading_the_sample_into_a_version_1_database_equals_a_fresh_load(
        tmp_path: Path, sample_ledgers: Path, sample_db: Path) -> None:
    db = v1_database(tmp_path / "v1.duckdb")
    report = load_files(ledger_files([sample_ledgers]), db, dataset="sample")
    assert report.migrated == list(range(2, migrations.SCHEMA_VERSION + 1))
    unchanged = sorted(f.file for f in report.files if f.status == "未变化")
    assert unchanged and all(f.startswith(V1_COMMUNITIES) for f in unchanged)  # the stored hashes still match
    assert len(unchanged) == len([p for p in sample_ledgers.iterdir() if p.name.startswith(V1_COMMUNITIES)])
    migrated, fresh = tables(db), tables(sample_db)
    lineage = ["source_file", "source_sheet", "source_row", "row_hash"]
    for kind in KINDS:
        same_rows(migrated[kind.table], fresh[kind.table], [*kind.columns, *lineage])
    same_rows(migrated["reject_records"], fresh["reject_records"], ["source_file", "sheet", "row_number", "reason"])
    same_rows(migrated["submission_log"], fresh["submission_log"],
              ["source_file", "ledger_kind", "community", "rows", "month_from", "month_to"])
    for mart in ("agg_case_reported", "agg_volunteer_stock", "agg_organization_stock", "agg_latest"):
        same_rows(migrated[mart], fresh[mart], list(fresh[mart].columns))


def test_the_server_start_migrates_a_version_1_database(tmp_path: Path) -> None:
    db = v1_database(tmp_path / "v1.duckdb")
    report = ensure_current(db)
    assert report is not None and report.migrated and migrations.database_version(db) == migrations.SCHEMA_VERSION
    assert ensure_current(db) is None


def test_a_dry_run_on_a_version_1_database_leaves_it_as_it_was(tmp_path: Path) -> None:
    db = v1_database(tmp_path / "v1.duckdb")
    data = db.read_bytes()
    path = write_xlsx(tmp_path / "新.xlsx", {"S": [HEADER, ["N-1", "桂南", None, "卫生", "2021-03-01", None]]})
    preview = preview_files([path], db)
    assert [(f.status, f.new) for f in preview.files] == [("已载入", 1)] and preview.migrated
    assert db.read_bytes() == data and migrations.database_version(db) == 1


# ------------------------------------------------------------------ a field added to the catalogue

TEST_CATALOGUE = r"""
import dataclasses, json, shutil, sys
from pathlib import Path

import etl.kinds as kinds
from etl.kinds import Field

# The test catalogue: the current one plus two case fields of the next schema version.
cases = dataclasses.replace(kinds.CASES, fields=kinds.CASES.fields + (
    Field("priority", "紧急程度", ("优先级",), "text", since={next}, backfill="'普通'"),
    Field("hotline_no", "12345工单号", ("工单号",), "id", since={next}),
))
kinds.CASES, kinds.KINDS = cases, (cases, *kinds.KINDS[1:])
kinds.BY_NAME = {{k.name: k for k in kinds.KINDS}}

from etl import load, migrations  # every derived list now derives from the test catalogue

sql = Path(sys.argv[2])  # ... and the one SQL edit that exposes the new columns in the view
shutil.copytree(load.SQL_DIR, sql)
views = (sql / "views.sql").read_text(encoding="utf-8")
(sql / "views.sql").write_text(views.replace("description, remark,", "description, remark, priority, hotline_no,"),
                               encoding="utf-8")
load.SQL_DIR = migrations.SQL_DIR = sql

db = Path(sys.argv[1])
report = load.load_files([Path(p) for p in sys.argv[3:]], db)
import duckdb
con = duckdb.connect(str(db), read_only=True)
dates = [f.name for f in cases.fields if f.type == "date"]
print(json.dumps({{
    "version": migrations.SCHEMA_VERSION,
    "migrated": report.migrated,
    "files": {{f.file: [f.status, f.new, f.changed, f.unchanged, f.rejected] for f in report.files}},
    "columns": [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'case_records'"
                                          ).fetchall()],
    "rows": con.execute("SELECT case_id, priority, hotline_no FROM cases ORDER BY case_id").fetchall(),
    "stale_hashes": con.execute(f"SELECT count(*) FROM case_records WHERE row_hash <> "
                                f"{{migrations.hash_sql(cases.columns, dates)}}").fetchall()[0][0],
    "history": [r[0] for r in con.execute("SELECT version FROM schema_migrations ORDER BY 1").fetchall()],
}}, ensure_ascii=False))
"""


def next_version_load(tmp_path: Path, db: Path, *files: Path) -> dict:
    """Load ``files`` into ``db`` with the test catalogue (a field added), in a fresh process."""
    script = tmp_path / "next_version.py"
    script.write_text(TEST_CATALOGUE.format(next=NEXT), encoding="utf-8")
    run = subprocess.run([sys.executable, str(script), str(db), str(tmp_path / "sql"), *map(str, files)],
                         cwd=ROOT, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert run.returncode == 0, run.stderr
    return json.loads(run.stdout.strip().splitlines()[-1])


@pytest.fixture
def upgraded(tmp_path: Path) -> tuple[Path, dict]:
    """A current database (two files) loaded again by the test catalogue's code: a resend and a new file."""
    db = tmp_path / "db.duckdb"
    for folder in ("old", "sent", "again"):
        (tmp_path / folder).mkdir()
    old = write_xlsx(tmp_path / "old" / "桂南_事项台账.xlsx", {"S": [
        HEADER, ["O-1", "桂南", None, "卫生", "2021-03-01", None], ["O-2", "桂南", None, "纠纷", "2021-03-02", None]]})
    sent = write_xlsx(tmp_path / "sent" / "桂南_事项台账_2021.xlsx", {"S": [
        HEADER, ["R-1", "桂南", None, "卫生", "2021-04-01", None], ["R-2", "桂南", None, "卫生", "2021-04-02", None],
        ["R-3", "桂南", None, "卫生", "2021-04-03", "2021-04-09"]]})
    report = load_files([old, sent], db)
    assert report.published and migrations.database_version(db) == migrations.SCHEMA_VERSION
    # the same three rows sent again with the new 紧急程度 column as the backfill rule fills it (other bytes)
    resend = write_xlsx(tmp_path / "again" / sent.name, {"S": [
        ["桂南社区2021年事项台账"], [*HEADER, "紧急程度"], ["R-1", "桂南", None, "卫生", "2021-04-01", None, "普通"],
        ["R-2", "桂南", None, "卫生", "2021-04-02", None, "普通"], ["R-3", "桂南", None, "卫生", "2021-04-03", "2021-04-09", "普通"]]})
    new = write_xlsx(tmp_path / "again" / "桂南_事项台账_2022.xlsx", {"S": [
        [*HEADER, "优先级", "12345工单号"], ["N-1", "桂南", None, "卫生", "2022-01-05", None, "紧急", "GD2022-0001"],
        ["N-2", "桂南", None, "停车", "2022-01-06", None, None, "GD2022-0002"]]})
    return db, next_version_load(tmp_path, db, resend, new)


def test_a_field_added_to_the_catalogue_is_migrated_backfilled_and_loaded(upgraded: tuple[Path, dict]) -> None:
    db, out = upgraded
    assert out["version"] == NEXT and out["migrated"] == [NEXT]
    assert {"priority", "hotline_no"} <= set(out["columns"])
    rows = {case_id: (priority, hotline) for case_id, priority, hotline in out["rows"]}
    assert rows["O-1"] == rows["O-2"] == ("普通", None)  # stored before: backfilled by the rules ('普通', NULL)
    assert rows["N-1"] == ("紧急", "GD2022-0001") and rows["N-2"] == (None, "GD2022-0002")  # the new file's values
    assert out["files"]["桂南_事项台账_2021.xlsx"] == ["已载入", 0, 0, 3, 0]  # resent unchanged: hashes recomputed
    assert out["files"]["桂南_事项台账_2022.xlsx"] == ["已载入", 2, 0, 0, 0]
    assert out["stale_hashes"] == 0 and out["history"][-1] == NEXT


def test_a_database_of_a_newer_version_is_refused_with_the_chinese_message(
        upgraded: tuple[Path, dict], tmp_path: Path, capsys: pytest.CaptureFixture,
        monkeypatch: pytest.MonkeyPatch) -> None:
    db, _ = upgraded
    data = db.read_bytes()
    message = f"的结构版本为 {NEXT}，比本程序支持的版本 {migrations.SCHEMA_VERSION} 新"
    path = write_xlsx(tmp_path / "x.xlsx", {"S": [HEADER, ["X-1", "桂南", None, "卫生", "2021-03-01", None]]})
    with pytest.raises(migrations.SchemaTooNew, match=message) as exc:
        load_files([path], db)
    assert "请先把程序升级到最新版本" in str(exc.value) and db.name in str(exc.value)
    with pytest.raises(migrations.SchemaTooNew, match=message):
        load_files([], db)
    with pytest.raises(migrations.SchemaTooNew, match=message):
        preview_files([path], db)
    with pytest.raises(migrations.SchemaTooNew, match=message):
        ensure_current(db)
    from etl.__main__ import main as cli

    assert cli(["load", str(path), "--db", str(db), "--quiet"]) == 2
    assert message in capsys.readouterr().err
    from chuangshu import intake, serve

    preview = intake.preview_uploads([(path.name, path.read_bytes())], db)  # the 数据上报 page says why
    assert message in preview.error and not any(f.summary for f in preview.files)  # nothing previewed
    monkeypatch.setenv("CHUANGSHU_DB", str(db))
    with pytest.raises(SystemExit) as stop:
        serve._upgrade_database()
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert db.read_bytes() == data  # not touched by any of them


# ------------------------------------------------------------------ what no migration covers fails loudly

@pytest.mark.parametrize("change, expected", [
    ("ALTER TABLE case_records ADD COLUMN urgency VARCHAR", "多出列 urgency（目录中已没有：为免丢失数据，不会删除）"),
    ("ALTER TABLE case_records DROP COLUMN remark", "缺少列 remark（目录中有，但没有迁移添加它们"),
    ("ALTER TABLE activity_records ALTER COLUMN participants TYPE DOUBLE",
     "participants（数据库中为 DOUBLE，目录要求 INTEGER）"),
])
def test_a_table_that_differs_from_the_catalogue_fails_the_load_loudly(tmp_path: Path, change: str,
                                                                       expected: str) -> None:
    db = tmp_path / "db.duckdb"
    path = write_xlsx(tmp_path / "a.xlsx", {"S": [HEADER, ["A-1", "桂南", None, "卫生", "2021-03-01", None]]})
    load_files([path], db)
    con = duckdb.connect(str(db))
    con.execute(change)
    con.close()
    data = db.read_bytes()
    more = write_xlsx(tmp_path / "b.xlsx", {"S": [HEADER, ["B-1", "桂南", None, "卫生", "2021-03-01", None]]})
    with pytest.raises(migrations.SchemaMismatch, match="与台账目录不一致") as exc:
        load_files([more], db)
    assert expected in str(exc.value) and "本次载入已取消，数据库未改动" in str(exc.value)
    assert db.read_bytes() == data


def test_a_column_the_table_lacks_is_never_silently_dropped() -> None:
    con = duckdb.connect()
    try:
        con.execute("CREATE TABLE t (a INTEGER)")
        with pytest.raises(migrations.SchemaMismatch, match="数据库表 t 缺少列 b"):
            insert_frame(con, "t", pd.DataFrame({"a": [1], "b": ["x"]}))
        assert con.execute("SELECT count(*) FROM t").fetchall() == [(0,)]
    finally:
        con.close()


def test_a_new_database_records_its_version(tmp_path: Path) -> None:
    db = tmp_path / "new.duckdb"
    path = write_xlsx(tmp_path / "a.xlsx", {"S": [HEADER, ["A-1", "桂南", None, "卫生", "2021-03-01", None]]})
    report = load_files([path], db)
    assert report.migrated == [migrations.SCHEMA_VERSION]
    assert migrations.database_version(db) == migrations.SCHEMA_VERSION
    assert query(db, "SELECT version, summary FROM schema_migrations") == \
        [(migrations.SCHEMA_VERSION, f"新建数据库（结构版本 {migrations.SCHEMA_VERSION}）")]
    second = write_xlsx(tmp_path / "b.xlsx", {"S": [HEADER, ["B-1", "桂南", None, "卫生", "2021-03-01", None]]})
    assert load_files([second], db).migrated == []
    shutil.copyfile(db, tmp_path / "copy.duckdb")
    assert migrations.check_version(tmp_path / "copy.duckdb") == migrations.SCHEMA_VERSION
