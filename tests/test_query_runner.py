"""The ad-hoc SQL runner's API, the example queries and the data dictionary."""
from __future__ import annotations

import datetime as dt
import os
import threading

import duckdb
import pandas as pd
import pytest

from chuangshu import audit, dictionary, query_runner
from chuangshu.examples import EXAMPLES
from chuangshu.paths import ROOT
from chuangshu.query_runner import QueryResult, check_sql, run_query, statement_parameters
from etl.load import create_schema

try:
    from query_fixtures import SQL_DIR, build_sample_db, sample_db, state_dir  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.query_fixtures import SQL_DIR, build_sample_db, sample_db, state_dir  # noqa: F401


def test_result_shape(sample_db, state_dir):
    r = run_query("SELECT case_id, reported_on, status FROM cases ORDER BY case_id LIMIT 5", db=sample_db)
    assert isinstance(r, QueryResult)
    assert r.ok and r.error is None and r.outcome == "ok"
    assert r.columns == ["case_id", "reported_on", "status"]
    assert r.types == ["VARCHAR", "DATE", "VARCHAR"]
    assert r.row_count == 5 == len(r.df) == len(r.rows)
    assert r.truncated is False
    assert r.elapsed_ms > 0
    assert set(r.df["status"]) <= {"办理中", "已办结"}


def test_row_cap_sets_truncated(sample_db, state_dir):
    r = run_query("SELECT * FROM cases", db=sample_db, max_rows=100)
    assert r.ok and r.truncated and r.row_count == 100
    exact = run_query("SELECT * FROM cases LIMIT 100", db=sample_db, max_rows=100)
    assert exact.ok and not exact.truncated and exact.row_count == 100


def test_empty_result_keeps_columns(sample_db, state_dir):
    r = run_query("SELECT case_id, community FROM cases WHERE false", db=sample_db)
    assert r.ok and r.row_count == 0 and list(r.df.columns) == ["case_id", "community"]


def test_duplicate_column_names_are_made_unique(sample_db, state_dir):
    r = run_query("SELECT 1 AS a, 2 AS a", db=sample_db)
    assert r.ok and len(set(r.columns)) == 2


def test_named_parameters(sample_db, state_dir):
    sql = ("SELECT count(*) AS n FROM cases "
           "WHERE community = $community AND year(reported_on) >= $year")
    assert statement_parameters(sql) == ["community", "year"]
    r = run_query(sql, {"community": "桂雅社区", "year": 2015, "unused": 1}, db=sample_db)
    assert r.ok, r.error
    assert r.df.iloc[0, 0] > 0
    missing = run_query(sql, {"community": "桂雅社区"}, db=sample_db)
    assert missing.outcome == "error" and "缺少参数值：$year" in missing.error
    dates = run_query("SELECT count(*) FROM cases WHERE reported_on >= $since",
                      {"since": dt.date(2020, 1, 1)}, db=sample_db)
    assert dates.ok, dates.error


def test_errors_are_plain_chinese(sample_db, state_dir):
    cases = {
        "SELEC 1": "SQL 语法错误",
        "SELECT nosuch FROM cases": "字段“nosuch”不存在",
        "SELECT * FROM no_such_view": "表或视图“no_such_view”不存在",
        "SELECT 'abc'::INTEGER": "数据类型转换失败",
    }
    for sql, fragment in cases.items():
        r = run_query(sql, db=sample_db)
        assert not r.ok and fragment in r.error, (sql, r.error)
        assert "Traceback" not in r.error


def test_check_sql_accepts_select_forms():
    for sql in ["SELECT 1", "FROM cases", "VALUES (1)", "DESCRIBE cases", "SUMMARIZE cases",
                "SELECT 1;", "(SELECT 1) UNION (SELECT 2)", "EXPLAIN SELECT 1",
                "PIVOT cases ON status IN ('办理中', '已办结') USING count(*)",
                "WITH x AS (SELECT 1) SELECT * FROM x"]:
        check_sql(sql)


def test_missing_database_is_reported(tmp_path, state_dir):
    r = run_query("SELECT 1", db=tmp_path / "nothing.duckdb")
    assert r.outcome == "unavailable"
    assert "数据库尚未生成" in r.error


def test_follows_a_swapped_database(tmp_path, state_dir):
    path = build_sample_db(tmp_path / "swap.duckdb")
    before = run_query("SELECT count(*) FROM cases", db=path).df.iloc[0, 0]
    new = build_sample_db(tmp_path / "new.duckdb", seed=3)
    con = duckdb.connect(str(new))
    con.execute("DELETE FROM case_records WHERE source_row > 12")
    con.close()
    os.replace(new, path)
    after = run_query("SELECT count(*) FROM cases", db=path).df.iloc[0, 0]
    assert before == 420 and after == 11


def test_every_query_is_audited(sample_db, state_dir):
    run_query("SELECT 1 AS x", db=sample_db, user="alice", client="10.0.0.8", source="example:test")
    run_query("SET threads = 9", db=sample_db, user="bob")
    entries = audit.read_entries()
    assert [e["outcome"] for e in entries[-2:]] == ["ok", "refused"]
    first, second = entries[-2:]
    assert first["user"] == "alice" and first["source"] == "example:test"
    assert first["client"] == "10.0.0.8"
    assert first["rows"] == 1 and first["ms"] >= 0 and first["sql"] == "SELECT 1 AS x"
    assert second["user"] == "bob" and "不允许修改数据库设置" in second["error"]
    assert dt.datetime.fromisoformat(first["when"]).tzinfo is not None
    assert audit.log_path().is_relative_to(state_dir)


def test_audit_log_is_append_only_across_threads(sample_db, state_dir):
    threads = [threading.Thread(target=run_query, args=(f"SELECT {i} AS x",),
                                kwargs={"db": sample_db, "user": f"u{i}"}) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    entries = audit.read_entries()
    assert len(entries) == 20
    assert {e["user"] for e in entries} == {f"u{i}" for i in range(20)}


def test_audit_failure_does_not_break_the_query(sample_db, state_dir, monkeypatch):
    def broken(**_):
        raise OSError("disk full")
    monkeypatch.setattr(audit, "record_query", broken)
    assert run_query("SELECT 1", db=sample_db).ok


# --------------------------------------------------------------------------- examples


def test_at_least_ten_examples():
    assert len(EXAMPLES) >= 10
    assert len({e.id for e in EXAMPLES}) == len(EXAMPLES)
    for e in EXAMPLES:
        assert e.title and e.question and e.sql.strip()


@pytest.mark.parametrize("example", EXAMPLES, ids=[e.id for e in EXAMPLES])
def test_example_answers_its_question(sample_db, state_dir, example):
    r = run_query(example.sql, db=sample_db, source=f"example:{example.id}")
    assert r.ok, (r.error, r.detail)
    assert r.row_count > 0
    assert not r.truncated


# --------------------------------------------------------------------------- dictionary


def _built_views() -> dict[str, list[tuple[str, str]]]:
    con = duckdb.connect()
    try:
        create_schema(con)
        names = [r[0] for r in con.execute(
            "SELECT view_name FROM duckdb_views() WHERE NOT internal AND schema_name = 'main'").fetchall()]
        return {n: [(r[0], r[1]) for r in con.execute(f'DESCRIBE "{n}"').fetchall()] for n in names}
    finally:
        con.close()


def test_dictionary_covers_exactly_the_public_views():
    views = _built_views()
    assert set(dictionary.VIEWS) == set(views)
    for name, columns in views.items():
        documented = [(c.name, c.type) for c in dictionary.VIEWS[name].columns]
        assert documented == columns, name


def test_dictionary_has_chinese_and_english_for_every_column():
    for name, view in dictionary.VIEWS.items():
        assert view.zh_title and view.en
        for c in view.columns:
            assert any("\u4e00" <= ch <= "\u9fff" for ch in c.zh), (name, c.name)
            assert c.en.strip(), (name, c.name)


def test_public_view_list_matches_dictionary():
    assert set(query_runner.PUBLIC_VIEWS) == set(dictionary.VIEWS)


def test_data_dictionary_doc_is_generated_from_the_dictionary(tmp_path):
    out = dictionary.write_markdown(tmp_path / "dd.md")
    text = out.read_text(encoding="utf-8")
    for name, view in dictionary.VIEWS.items():
        assert f"## {name}" in text and view.zh_title in text
    doc = ROOT / "docs" / "data-dictionary.md"
    assert doc.read_text(encoding="utf-8") == text, "run `python -m chuangshu.dictionary`"


def test_column_frame_for_the_schema_browser():
    frame = dictionary.column_frame("cases")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["列名", "类型", "说明", "English"]
    assert dictionary.describe("cases", "status").startswith("办理状态")
