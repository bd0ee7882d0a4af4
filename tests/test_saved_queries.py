"""Saved queries: storage outside the analytics database, typed parameters bound by the
engine, validation, and share links."""
from __future__ import annotations

import datetime as dt
import json
import threading
from urllib.parse import parse_qs

import pytest

from chuangshu import audit
from chuangshu import saved_queries as sq

try:
    from query_fixtures import build_sample_db, sample_db, state_dir  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.query_fixtures import build_sample_db, sample_db, state_dir  # noqa: F401

LIFT_SQL = """\
SELECT community, count(*) AS n
FROM cases
WHERE category = '加装电梯' AND community = $community AND year(reported_on) >= $year
GROUP BY community"""


def lift_query() -> sq.SavedQuery:
    return sq.SavedQuery(
        name="某社区加装电梯个案",
        description="某社区某年以来的加装电梯个案数",
        sql=LIFT_SQL,
        params=[
            sq.Param("community", "社区", "choice",
                     options_sql="SELECT community FROM communities ORDER BY community"),
            sq.Param("year", "起始年份", "int", default=2015),
        ],
    )


def test_save_list_get_delete(state_dir):
    store = sq.SavedQueryStore()
    saved = store.save(lift_query(), user="alice")
    assert saved.created_at and saved.updated_at and saved.author == "alice"
    assert [q.name for q in store.list()] == ["某社区加装电梯个案"]
    again = store.get("某社区加装电梯个案")
    assert again.sql == LIFT_SQL and again.params[1].default == 2015 and again.params[0].type == "choice"
    assert store.delete("某社区加装电梯个案") is True
    assert store.get("某社区加装电梯个案") is None and store.delete("x") is False


def test_stored_outside_the_analytics_database(state_dir, tmp_path):
    db = build_sample_db(tmp_path / "analytics.duckdb")
    store = sq.SavedQueryStore()
    store.save(lift_query())
    assert store.path.parent == state_dir and store.path.suffix == ".json"
    # a reload of the analytics database (rebuilt from scratch) loses nothing
    build_sample_db(db, seed=99)
    reopened = sq.SavedQueryStore()
    assert reopened.get("某社区加装电梯个案") is not None
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["queries"][0]["name"] == "某社区加装电梯个案"  # readable Chinese JSON


def test_refuses_duplicates_unless_overwrite(state_dir):
    store = sq.SavedQueryStore()
    first = store.save(lift_query())
    with pytest.raises(sq.SavedQueryError, match="已有名为"):
        store.save(lift_query())
    changed = lift_query()
    changed.description = "新说明"
    saved = store.save(changed, overwrite=True)
    assert store.get(saved.name).description == "新说明"
    assert saved.created_at == first.created_at


@pytest.mark.parametrize("mutate, message", [
    (lambda q: setattr(q, "name", "  "), "请填写查询名称"),
    (lambda q: setattr(q, "name", "名" * 61), "不能超过"),
    (lambda q: setattr(q, "sql", "COPY cases TO '/tmp/x.csv'"), "SQL 不能保存"),
    (lambda q: setattr(q, "sql", LIFT_SQL + "; SELECT 1"), "只允许执行一条 SELECT 查询"),
    (lambda q: setattr(q, "sql", "SELEC 1"), "语法错误"),
    (lambda q: q.params.pop(), "没有声明：$year"),
    (lambda q: q.params.append(sq.Param("extra")), "没有在 SQL 中使用：$extra"),
    (lambda q: setattr(q.params[1], "type", "sql"), "类型不支持"),
    (lambda q: setattr(q.params[1], "default", "二〇二〇"), "应为整数"),
    (lambda q: setattr(q.params[0], "options_sql", "DROP VIEW cases"), "选项 SQL 不能用"),
])
def test_validation(state_dir, mutate, message):
    query = lift_query()
    mutate(query)
    with pytest.raises(sq.SavedQueryError, match=message.replace("$", r"\$")):
        sq.SavedQueryStore().save(query)
    assert sq.SavedQueryStore().list() == []


def test_coerce_types():
    assert sq.coerce(sq.Param("y", type="int"), "2020") == 2020
    assert sq.coerce(sq.Param("y", type="int"), 2020.0) == 2020
    assert sq.coerce(sq.Param("f", type="float"), "1.5") == 1.5
    assert sq.coerce(sq.Param("d", type="date"), "2020-03-01") == dt.date(2020, 3, 1)
    assert sq.coerce(sq.Param("b", type="bool"), "是") is True
    assert sq.coerce(sq.Param("t"), "x' OR 1=1 --") == "x' OR 1=1 --"
    assert sq.coerce(sq.Param("y", type="int", default=2015), None) == 2015
    assert sq.coerce(sq.Param("c", type="choice", options=["甲", "乙"]), "乙") == "乙"
    for param, raw in [(sq.Param("y", "年份", "int"), "abc"), (sq.Param("y", "年份", "int"), "1.5"),
                       (sq.Param("d", "日期", "date"), "明天"), (sq.Param("b", "是否", "bool"), "也许"),
                       (sq.Param("c", "社区", "choice", options=["甲"]), "乙"),
                       (sq.Param("t", "文本"), "")]:
        with pytest.raises(sq.SavedQueryError) as info:
            sq.coerce(param, raw)
        assert any("\u4e00" <= ch <= "\u9fff" for ch in str(info.value))


def test_run_saved_binds_values(sample_db, state_dir):
    store = sq.SavedQueryStore()
    store.save(lift_query())
    result = sq.run_saved("某社区加装电梯个案", {"community": "桂雅社区", "year": "2015"},
                          store=store, db=sample_db, user="carol")
    assert result.ok, result.error
    assert result.df["community"].tolist() == ["桂雅社区"]
    entry = audit.read_entries()[-1]
    assert entry["source"] == "saved:某社区加装电梯个案" and entry["user"] == "carol"
    assert entry["params"] == {"community": "桂雅社区", "year": 2015}
    # a hostile value is only ever a value
    hostile = sq.run_saved("某社区加装电梯个案", {"community": "' OR 1=1 --"}, store=store, db=sample_db)
    assert hostile.ok and hostile.row_count == 0
    # the SQL text on disk never contains the values
    assert "桂雅社区" not in store.path.read_text(encoding="utf-8")


def test_run_saved_reports_bad_values_and_unknown_names(sample_db, state_dir):
    store = sq.SavedQueryStore()
    store.save(lift_query())
    bad = sq.run_saved("某社区加装电梯个案", {"community": "桂雅社区", "year": "去年"}, store=store, db=sample_db)
    assert bad.outcome == "error" and "起始年份" in bad.error
    missing = sq.run_saved("某社区加装电梯个案", {}, store=store, db=sample_db)
    assert "请填写参数“社区”" in missing.error
    unknown = sq.run_saved("没有这个查询", {}, store=store, db=sample_db)
    assert "找不到" in unknown.error


def test_options_from_sql(sample_db, state_dir):
    options = sq.options_for(lift_query().params[0], db=sample_db)
    assert len(options) == 8 and "桂雅社区" in options
    assert sq.options_for(sq.Param("x", type="choice", options=["甲", "乙"])) == ["甲", "乙"]


def test_save_form_suggests_options_sql_for_community(sample_db, state_dir):
    suggested = sq.Param("community", type="choice", options_sql=sq.suggested_options_sql("community"))
    assert sq.options_for(suggested, db=sample_db) == sq.options_for(lift_query().params[0], db=sample_db)
    assert sq.suggested_options_sql("year") == ""


def test_share_link_round_trip(sample_db, state_dir):
    store = sq.SavedQueryStore()
    query = store.save(lift_query())
    values = {"community": "桂雅社区", "year": 2018}
    link = sq.share_query_string(query.name, values)
    parsed = parse_qs(link)
    name, raw = sq.parse_share_params(parsed)
    assert name == query.name
    assert raw == {"community": "桂雅社区", "year": "2018"}
    assert sq.bind_values(query, raw) == values
    assert sq.run_saved(name, raw, store=store, db=sample_db).ok
    # dates and booleans survive the URL too
    assert sq.share_params("q", {"d": dt.date(2020, 1, 2), "b": True}) == {
        "q": "q", "p.d": "2020-01-02", "p.b": "true"}


def test_concurrent_saves_lose_nothing(state_dir):
    def save(i):
        q = sq.SavedQuery(name=f"查询{i}", sql=f"SELECT {i} AS x")
        sq.SavedQueryStore().save(q)
    threads = [threading.Thread(target=save, args=(i,)) for i in range(15)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sq.SavedQueryStore().list()) == 15


def test_guess_value_for_undeclared_parameters():
    assert sq.guess_value("2020") == 2020
    assert sq.guess_value("1.5") == 1.5
    assert sq.guess_value("2020-01-31") == dt.date(2020, 1, 31)
    assert sq.guess_value("桂雅社区") == "桂雅社区"
