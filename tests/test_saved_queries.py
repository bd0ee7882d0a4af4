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
from chuangshu.auth import LOCAL_USER, User

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


# --------------------------------------------------------------------------- owners, scope, shares

BOSS = User("boss", "街道办", "admin")
LI = User("li", "李四", "analyst")  # a sub-district analyst
ZHAO = User("zhao", "赵六", "analyst", "桂南社区")
SUN = User("sun", "孙七", "analyst", "桂南社区")
QIAN = User("qian", "钱八", "analyst", "江滨社区")
WHO = {"boss": BOSS, "li": LI, "zhao": ZHAO, "sun": SUN, "qian": QIAN, "local": LOCAL_USER}

LEGACY = sq.SavedQuery("旧查询", "SELECT 1 AS x")  # from a file written before owners: the office's
OFFICE_LI = sq.SavedQuery("李四的查询", "SELECT 2 AS x", owner="li")
GUINAN = sq.SavedQuery("桂南的查询", "SELECT 3 AS x", owner="zhao", scope="桂南社区")
GUINAN_SHARED = sq.SavedQuery("桂南共享", "SELECT 4 AS x", owner="zhao", scope="桂南社区", shared_by="boss")


@pytest.mark.parametrize(("query", "sees", "changes"), [
    (LEGACY, {"boss", "li", "zhao", "sun", "qian", "local"}, {"boss", "local"}),
    (OFFICE_LI, {"boss", "li", "zhao", "sun", "qian", "local"}, {"boss", "local", "li"}),
    (GUINAN, {"boss", "zhao", "sun", "local"}, {"boss", "local", "zhao"}),
    (GUINAN_SHARED, {"boss", "li", "zhao", "sun", "qian", "local"}, {"boss", "local", "zhao"}),
])
def test_who_may_see_and_change_a_saved_query(query: sq.SavedQuery, sees: set[str], changes: set[str]) -> None:
    assert {n for n, u in WHO.items() if sq.can_see(query, u)} == sees
    assert {n for n, u in WHO.items() if sq.can_change(query, u)} == changes


def _events() -> list[tuple]:
    return [(e["action"], e["user"], e["name"]) for e in audit.read_events()]


def test_a_community_analyst_cannot_overwrite_or_delete_the_offices_query(state_dir):
    """The attack from issue 16: tick 同名时覆盖 and the office would run the analyst's SQL."""
    store = sq.SavedQueryStore()
    store.save(sq.SavedQuery("各社区个案数", "SELECT community, count(*) AS n FROM cases GROUP BY 1"), user=BOSS)
    evil = sq.SavedQuery("各社区个案数", "SELECT 'pwned' AS community, 0 AS n")
    with pytest.raises(sq.SavedQueryError, match="只有作者本人或管理员可以修改或删除"):
        store.save(evil, overwrite=True, user=ZHAO)
    with pytest.raises(sq.SavedQueryError, match="只有作者本人或管理员"):
        store.delete("各社区个案数", ZHAO)
    kept = store.get("各社区个案数")
    assert "count(*)" in kept.sql and kept.owner == "boss" and kept.scope is None
    assert _events() == [("save", "boss", "各社区个案数")]
    # under another name it is theirs, in their scope
    mine = store.save(sq.SavedQuery("我的个案数", evil.sql), user=ZHAO)
    assert (mine.owner, mine.scope, mine.author) == ("zhao", "桂南社区", "zhao")


def test_saved_queries_from_before_owners_belong_to_the_office(state_dir):
    state_dir.mkdir(parents=True, exist_ok=True)
    (state_dir / "saved_queries.json").write_text(json.dumps({"version": 1, "queries": [
        {"name": "旧查询", "description": "", "sql": "SELECT 1 AS x", "params": [], "author": "zhao",
         "created_at": "2024-01-01T00:00:00+08:00", "updated_at": "2024-01-01T00:00:00+08:00"}]},
        ensure_ascii=False), encoding="utf-8")
    store = sq.SavedQueryStore()
    old = store.get("旧查询")
    assert (old.owner, old.scope, old.author) == (None, None, "zhao")  # the author field alone grants nothing
    assert [q.name for q in store.list(QIAN)] == ["旧查询"]  # still runs for everyone
    with pytest.raises(sq.SavedQueryError, match="由街道办保存"):
        store.save(sq.SavedQuery("旧查询", "SELECT 2 AS x"), overwrite=True, user=ZHAO)
    store.save(sq.SavedQuery("旧查询", "SELECT 3 AS x"), overwrite=True, user=BOSS)
    again = store.get("旧查询")
    assert again.sql == "SELECT 3 AS x" and again.owner is None and again.created_at.startswith("2024-01-01")
    assert json.loads(store.path.read_text(encoding="utf-8"))["version"] == 2


def test_a_community_query_is_visible_only_in_its_community_until_an_admin_shares_it(state_dir):
    store = sq.SavedQueryStore()
    store.save(sq.SavedQuery("桂南的查询", "SELECT 3 AS x", description="只给桂南"), user=ZHAO)
    assert [q.name for q in store.list(SUN)] == ["桂南的查询"]
    assert store.list(QIAN) == [] and store.list(LI) == [] and store.get("桂南的查询", QIAN) is None
    assert store.delete("桂南的查询", QIAN) is False  # another community's query does not exist for them
    with pytest.raises(sq.SavedQueryError, match="已被其他社区的常用查询使用"):
        store.save(sq.SavedQuery("桂南的查询", "SELECT 9 AS x"), overwrite=True, user=QIAN)
    with pytest.raises(sq.SavedQueryError, match="只有作者本人或管理员"):
        store.save(sq.SavedQuery("桂南的查询", "SELECT 9 AS x"), overwrite=True, user=SUN)
    with pytest.raises(sq.SavedQueryError, match="只有管理员可以共享"):
        store.share("桂南的查询", ZHAO)
    shared = store.share("桂南的查询", BOSS)
    assert shared.shared and shared.shared_by == "boss"
    assert [q.name for q in store.list(QIAN)] == ["桂南的查询"] and store.get("桂南的查询", LI) is not None
    assert "已由管理员 boss 共享给全街道" in store.get("桂南的查询").describe_owner()
    # the author changes the SQL everyone now runs: the share is withdrawn until an admin looks again
    store.save(sq.SavedQuery("桂南的查询", "SELECT 4 AS x"), overwrite=True, user=ZHAO)
    assert not store.get("桂南的查询").shared and store.list(QIAN) == []
    store.share("桂南的查询", BOSS)
    store.save(sq.SavedQuery("桂南的查询", "SELECT 5 AS x"), overwrite=True, user=BOSS)  # an admin's edit keeps it
    assert store.get("桂南的查询").shared and store.get("桂南的查询").owner == "zhao"
    store.share("桂南的查询", BOSS, shared=False)
    assert store.list(QIAN) == []
    store.save(sq.SavedQuery("全街道", "SELECT 1 AS x"), user=LI)
    with pytest.raises(sq.SavedQueryError, match="本来就对所有分析员可见"):
        store.share("全街道", BOSS)
    assert store.delete("桂南的查询", ZHAO) is True
    events = audit.read_events()
    assert [(e["action"], e["user"]) for e in events] == [
        ("save", "zhao"), ("share", "boss"), ("overwrite", "zhao"), ("share", "boss"), ("overwrite", "boss"),
        ("unshare", "boss"), ("save", "li"), ("delete", "zhao")]
    assert events[2]["unshared"] is True and events[2]["sql"] == "SELECT 4 AS x" and events[2]["scope"] == "桂南社区"
    assert all(e["name"] == "桂南的查询" for e in events if e["user"] != "li")


def test_the_local_user_saves_for_the_office(state_dir):
    store = sq.SavedQueryStore()
    saved = store.save(sq.SavedQuery("本机", "SELECT 1 AS x"), user=LOCAL_USER)
    assert saved.owner is None and saved.scope is None and saved.describe_owner() == "街道办 · 全街道"
    assert not sq.can_change(saved, LI) and sq.can_change(saved, BOSS)


def test_long_descriptions_are_refused(state_dir):
    with pytest.raises(sq.SavedQueryError, match="说明不能超过"):
        sq.SavedQueryStore().save(sq.SavedQuery("长", "SELECT 1", description="字" * (sq.DESCRIPTION_MAX + 1)))
