"""Who sees and does what: each role's pages, pages that refuse on their own, and community scope
enforced everywhere — metrics, pages, chart downloads, slides and ad-hoc SQL."""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import auth, db, fmt, metrics, query_runner, scope, signin, ui
from deferred import Deferred, deferred_downloads  # noqa: F401 - a fixture
from etl import marts
from chuangshu.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
QUERY_PAGE = str(ROOT / "pages" / "query.py")
QUALITY_PAGE = str(ROOT / "pages" / "quality.py")
HOME = "桂南社区"
OTHER = "江滨社区"
PASSWORD = "correct-horse-1"
DASHBOARD_PAGES = {"", "assessment", "cases", "teams", "organizations", "projects", "community", "milestones"}
REPORT_PAGES = {"export", "bigscreen", "m"}


def _hash() -> str:
    return auth.hash_password(PASSWORD, n=2**10)


USERS = {
    "wang": {"name": "王五", "role": "viewer"},
    "li": {"name": "李四", "role": "analyst"},
    "boss": {"name": "街道办", "role": "admin"},
    "zhang": {"name": "张三", "role": "viewer", "community": HOME},
    "zhao": {"name": "赵六", "role": "analyst", "community": HOME},
}


@pytest.fixture(scope="module")
def secrets() -> dict[str, Any]:
    h = _hash()
    return {"users": {name: {**entry, "password_hash": h} for name, entry in USERS.items()}}


@pytest.fixture
def env(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    auth.LIMITER.reset()
    return sample_db


def app(secrets: dict | None, user: str | None = None, script: str = APP) -> AppTest:
    """An AppTest of ``script`` with ``secrets``, signed in as ``user`` (by session state) if given."""
    at = AppTest.from_file(script, default_timeout=120)
    if secrets:
        at.secrets.update(secrets)
    if user:
        at.session_state[signin.USER_KEY] = user
    return at.run()


def pages(at: AppTest) -> set[str]:
    """The url paths st.navigation registered in the last run (AppTest keeps them for switch_page)."""
    return {str(info.get("url_pathname") or "") for info in at._registered_pages.values()}


def on_sign_in_screen(at: AppTest) -> bool:
    """Only the sign-in page is registered and the form is shown."""
    return len(at._registered_pages) == 1 and {t.key for t in at.text_input} == {"login_username", "login_password"}


def ok(at: AppTest) -> None:
    assert not at.exception, [e.message for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def full(sample_db: Path) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(sample_db), read_only=True)


# --------------------------------------------------------------------------- roles and pages


def expected_pages(role: str, registered: set[str]) -> set[str]:
    report = REPORT_PAGES & registered  # pages other work adds; viewers get them when present
    base = DASHBOARD_PAGES | report
    if role == "viewer":
        return base
    if role == "analyst":
        return base | {"query"}
    return base | {"query", "quality"} | ({"intake", "targets"} & registered)


def test_no_users_configured_runs_as_the_local_user(env: Path, nav_apptest: None) -> None:
    at = app(None)
    ok(at)
    every = pages(at)
    assert {"query", "quality"} <= every and DASHBOARD_PAGES <= every
    assert any(i.value == signin.MSG_LOCAL_MODE for i in at.sidebar.info)
    assert "sign_out" not in [b.key for b in at.sidebar.button]


@pytest.mark.parametrize(("user", "role"), [("wang", "viewer"), ("li", "analyst"), ("boss", "admin"),
                                            ("zhang", "viewer"), ("zhao", "analyst")])
def test_each_role_sees_exactly_its_pages(env: Path, nav_apptest: None, secrets: dict, user: str, role: str) -> None:
    local = pages(app(None))  # every page the entry point registers
    at = app(secrets, user)
    ok(at)
    assert pages(at) == expected_pages(role, local)
    assert any(USERS[user]["name"] in c.value for c in at.sidebar.caption)
    assert not any(i.value == signin.MSG_LOCAL_MODE for i in at.sidebar.info)


def test_sign_in_form_wrong_then_right_password_then_sign_out(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets)
    assert not at.exception
    assert on_sign_in_screen(at)
    assert not at.metric  # nothing of the data before signing in
    at.text_input(key="login_username").input("li")
    at.text_input(key="login_password").input("wrong-password")
    at.button[0].click().run()
    assert [e.value for e in at.error] == [auth.MSG_BAD_LOGIN]
    assert on_sign_in_screen(at)
    at.text_input(key="login_username").input("li")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    ok(at)
    assert "query" in pages(at) and "quality" not in pages(at)
    assert at.metric  # the overview
    at.sidebar.button(key="sign_out").click().run()
    assert on_sign_in_screen(at) and not at.metric


def test_sign_in_is_locked_after_five_failures(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets)
    for _ in range(auth.MAX_FAILURES):
        at.text_input(key="login_username").input("wang")
        at.text_input(key="login_password").input("guess")
        at.button[0].click().run()
    assert any("锁定" in e.value for e in at.error)
    at.text_input(key="login_username").input("wang")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run()
    assert any("锁定" in e.value for e in at.error) and on_sign_in_screen(at)


def test_a_removed_user_is_signed_out(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets, "wang")
    assert at.metric
    at.secrets["users"] = {k: v for k, v in secrets["users"].items() if k != "wang"}
    at.run()
    assert on_sign_in_screen(at) and not at.metric


def test_viewer_cannot_open_the_query_page_even_directly(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets, "wang")
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        at.switch_page("pages/query.py")
    # the page script run on its own (as Streamlit's legacy pages/ path would) refuses too
    page = app(secrets, "wang", QUERY_PAGE)
    assert not page.exception
    assert any("没有“即席查询”权限" in e.value for e in page.error)
    assert not page.text_area and not page.button  # no SQL box, no run button


def test_pages_refuse_a_visitor_who_is_not_signed_in(env: Path, secrets: dict) -> None:
    for script in (QUERY_PAGE, QUALITY_PAGE, str(ROOT / "pages" / "overview.py"), str(ROOT / "pages" / "cases.py")):
        at = app(secrets, None, script)
        assert not at.exception, script
        assert [e.value for e in at.error] == [signin.MSG_SIGN_IN], script
        assert not at.metric and not at.dataframe and not at.text_area, script


@pytest.mark.parametrize(("script", "user", "permission"), [
    ("quality.py", "li", "数据质量"), ("quality.py", "zhao", "数据质量"), ("quality.py", "wang", "数据质量"),
    ("intake.py", "li", "数据上报"), ("intake.py", "wang", "数据上报"), ("intake.py", "zhao", "数据上报"),
    ("query.py", "zhang", "即席查询"),
    ("targets.py", "wang", "目标设置"), ("targets.py", "li", "目标设置"), ("targets.py", "zhao", "目标设置"),
])
def test_pages_refuse_roles_without_the_permission(env: Path, secrets: dict, script: str, user: str,
                                                   permission: str) -> None:
    path = ROOT / "pages" / script
    if not path.exists():
        pytest.skip(f"{script} is not there")
    at = app(secrets, user, str(path))
    assert not at.exception
    assert [e.value for e in at.error] == [
        f"您的账号（{auth.ROLES[USERS[user]['role']]}）没有“{permission}”权限，无法打开本页。如需开通，请联系街道办管理员。"]
    assert not at.dataframe and not at.metric and not at.text_area
    assert not at.get("file_uploader")


def test_admin_opens_data_quality(env: Path, secrets: dict) -> None:
    admin = app(secrets, "boss", QUALITY_PAGE)
    ok(admin)
    assert admin.dataframe


def test_oidc_user_gets_the_mapped_role(env: Path, nav_apptest: None) -> None:
    conf = {"auth": {"redirect_uri": "http://localhost:8501/oauth2callback", "cookie_secret": "x",
                     "client_id": "id", "client_secret": "s",
                     "server_metadata_url": "https://idp.example/.well-known/openid-configuration"},
            "oidc_roles": {"li@guicheng.gov.cn": "analyst",
                           "zhang@guicheng.gov.cn": {"role": "viewer", "community": HOME},
                           "default_role": "none"}}
    signed_out = AppTest.from_file(APP, default_timeout=120)
    signed_out.secrets.update(conf)
    signed_out.user = {"is_logged_in": False}
    signed_out.run()
    assert not signed_out.exception and not signed_out.metric
    assert [b.label for b in signed_out.button] == ["使用统一身份认证登录"]  # no password users: no form

    def as_user(email: str) -> AppTest:
        at = AppTest.from_file(APP, default_timeout=120)
        at.secrets.update(conf)
        at.user = {"is_logged_in": True, "email": email, "name": email.split("@")[0]}
        return at.run()

    li = as_user("li@guicheng.gov.cn")
    ok(li)
    assert "query" in pages(li) and "quality" not in pages(li)
    zhang = as_user("zhang@guicheng.gov.cn")
    ok(zhang)
    assert "query" not in pages(zhang)
    assert zhang.sidebar.multiselect(key="f_community_scoped").value == [HOME]
    stranger = as_user("someone@example.org")
    assert not stranger.metric
    assert any("未获授权" in e.value for e in stranger.error)


def test_analyst_runs_sql_on_everything(env: Path, secrets: dict) -> None:
    at = app(secrets, "li", QUERY_PAGE)
    ok(at)
    at.text_area(key="sql").input("SELECT count(DISTINCT community) AS n FROM cases")
    at.button(key="run").click().run()
    result = at.session_state["result"]
    assert result.ok and result.rows[0][0] == 45


# --------------------------------------------------------------------------- the scoped database


def test_scoped_database_holds_only_the_community(env: Path) -> None:
    scoped = scope.scoped(HOME, env)
    cur = scoped.cursor()
    tables = {r[0] for r in cur.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert tables == {*scope.VISIBLE_VIEWS, "meta", *marts.TABLES}
    assert not tables & {"case_records", "volunteer_records", "batch_log", "reject_records", "rejects",
                         "load_batches", "submissions", "submission_log"}
    con = full(env)
    try:
        for view in scope.COMMUNITY_VIEWS:
            assert cur.execute(f"SELECT DISTINCT community FROM {view}").fetchall() == [(HOME,)], view
            got = cur.execute(f"SELECT * FROM {view} ORDER BY ALL").df()
            want = con.execute(f"SELECT * FROM {view} WHERE community = ? ORDER BY ALL", [HOME]).df()
            pd.testing.assert_frame_equal(got, want, check_dtype=False)
        for mart in marts.TABLES:  # rebuilt from the community's rows: nothing of the others
            assert cur.execute(f"SELECT DISTINCT community FROM {mart}").fetchall() in ([(HOME,)], []), mart
        for view in scope.SHARED_VIEWS:
            assert cur.execute(f"SELECT count(*) FROM {view}").fetchall() == \
                con.execute(f"SELECT count(*) FROM {view}").fetchall()
    finally:
        con.close()
    assert dict(cur.execute("SELECT key, value FROM meta").fetchall()).keys() == set(scope.META_KEYS)
    assert scope.scoped(HOME, env) is scoped  # cached per (version, community)


def test_every_public_view_is_classified() -> None:
    """A new public view must be put in COMMUNITY_VIEWS, SHARED_VIEWS or HIDDEN_VIEWS on purpose."""
    known = set(scope.COMMUNITY_VIEWS) | set(scope.SHARED_VIEWS) | set(scope.HIDDEN_VIEWS)
    assert set(query_runner.PUBLIC_VIEWS) <= known
    from chuangshu import dictionary

    assert set(dictionary.VIEWS) <= known


def test_unknown_community_is_refused(env: Path) -> None:
    with pytest.raises(scope.ScopeError, match="不在社区名单"):
        scope.scoped("火星社区", env)


# --------------------------------------------------------------------------- scoped SQL


def sql(text: str, params: Any = None) -> query_runner.QueryResult:
    return query_runner.run_query(text, params, scope=HOME, user="zhao", timeout_s=10)


def test_scoped_sql_sees_only_its_community(env: Path) -> None:
    r = sql("SELECT DISTINCT community FROM cases")
    assert r.ok and r.rows == [(HOME,)]
    con = full(env)
    try:
        want = con.execute("SELECT count(*) FROM cases WHERE community = ?", [HOME]).fetchall()[0][0]
    finally:
        con.close()
    assert sql("SELECT count(*) FROM cases").rows == [(want,)]
    assert sql("SELECT count(*) FROM main.cases").rows == [(want,)]
    assert sql("SELECT count(*) FROM cases WHERE community = $c", {"c": OTHER}).rows == [(0,)]
    for view in scope.COMMUNITY_VIEWS:
        assert sql(f"SELECT DISTINCT community FROM {view}").rows == [(HOME,)], view
    unscoped = query_runner.run_query("SELECT count(DISTINCT community) FROM cases")
    assert unscoped.rows == [(45,)]


@pytest.mark.parametrize("text", [
    "SELECT count(*) FROM case_records",
    "SELECT count(*) FROM main.case_records",
    "SELECT * FROM query('SELECT * FROM case_records')",
    "SELECT count(*) FROM rejects",
    "SELECT count(*) FROM load_batches",
    "SELECT count(*) FROM submissions",
    "SELECT count(*) FROM volunteer_records",
])
def test_scoped_sql_cannot_reach_storage_or_admin_tables(env: Path, text: str) -> None:
    r = sql(text)
    assert not r.ok and r.outcome in ("error", "refused"), (text, r.outcome)
    assert "不存在" in r.error


def test_scoped_sql_cannot_reach_the_database_file(env: Path) -> None:
    published = db.published(env)
    cur = published.cursor()  # make sure the snapshot link exists
    cur.close()
    snapshot = env.parent / ".snapshots" / f"{env.stem}.{published.version()}{env.suffix}"
    assert snapshot.exists()
    # the unscoped connection can read its own file as bytes (documented in docs/adhoc-sql.md) ...
    assert query_runner.run_query(f"SELECT size FROM read_blob('{snapshot}')").ok
    # ... the scoped one cannot: its database is in memory, no file is whitelisted
    for path in (snapshot, env, env.parent / "*", Path(".tmp") / "*"):
        r = sql(f"SELECT * FROM read_blob('{path}')")
        assert not r.ok and r.outcome == "refused", path
    for text in (f"ATTACH '{env}' AS full_db (READ_ONLY)", f"SELECT * FROM '{env}'",
                 f"SELECT * FROM read_parquet('{env}')", "SELECT * FROM glob('*')", "COPY cases TO 'x.csv'",
                 "SET enable_external_access = true"):
        r = sql(text)
        assert not r.ok, text
    # the scoped database's own file was deleted as soon as it was opened: its path leads nowhere
    paths = [p for (p,) in sql("SELECT path FROM duckdb_databases() WHERE path IS NOT NULL").rows]
    assert len(paths) == 1 and not Path(paths[0]).exists() and str(env) not in paths[0]
    assert sql(f"SELECT * FROM read_blob('{paths[0]}')").row_count == 0
    assert sql("SELECT current_setting('temp_directory')").rows == [("",)]


def test_scoped_sql_keeps_the_runner_limits_and_audit(env: Path) -> None:
    from chuangshu import audit

    r = query_runner.run_query("SELECT count(*) FROM range(1000000) a, range(1000000) b", scope=HOME,
                               timeout_s=0.5)
    assert r.outcome == "timeout"
    r = query_runner.run_query("SELECT * FROM range(100)", scope=HOME, max_rows=10)
    assert r.truncated and r.row_count == 10
    before = query_runner.run_query("SELECT count(*) FROM cases", scope=HOME).rows
    r = query_runner.run_query("WITH x AS (DELETE FROM cases RETURNING *) SELECT * FROM x", scope=HOME)
    assert not r.ok and r.outcome == "refused"  # the scoped database is read-only too
    assert query_runner.run_query("SELECT count(*) FROM cases", scope=HOME).rows == before
    last = audit.read_entries()[-1]
    assert last["scope"] == HOME and last["outcome"] == "ok"


def test_scoped_analyst_on_the_query_page(env: Path, secrets: dict) -> None:
    at = app(secrets, "zhao", QUERY_PAGE)
    assert not at.exception
    assert any(HOME in i.value for i in at.info)
    names = {e.label.split("`")[1] for e in at.sidebar.expander}
    assert names == set(scope.VISIBLE_VIEWS)  # the data dictionary shows only what exists
    at.text_area(key="sql").input("SELECT DISTINCT community FROM cases")
    at.button(key="run").click().run()
    assert at.session_state["result"].rows == [(HOME,)]
    at.text_area(key="sql").input("SELECT count(*) FROM case_records")
    at.button(key="run").click().run()
    assert not at.session_state["result"].ok


# --------------------------------------------------------------------------- scoped metrics and pages


def headline_text(df: pd.DataFrame) -> dict[str, str]:
    return {r.label: fmt.metric_value(r.value, r.unit, metrics.METRICS[r.key].kind) for r in df.itertuples()}


def test_scoped_user_kpis_equal_the_metric_layer_for_the_community(env: Path, nav_apptest: None,
                                                                  secrets: dict) -> None:
    con = full(env)
    try:
        expected = headline_text(metrics.headline(con.cursor(), Filters(communities=(HOME,))))
        everything = headline_text(metrics.headline(con.cursor(), Filters()))
    finally:
        con.close()
    at = app(secrets, "zhang")
    ok(at)
    shown = {m.label: m.value for m in at.metric}
    assert {k: shown[k] for k in expected} == expected
    assert shown["三长志愿者"] != everything["三长志愿者"]
    assert any(HOME in c.value for c in at.caption)  # captions say whose numbers these are
    box = at.sidebar.multiselect(key="f_community_scoped")
    assert box.value == [HOME] and box.disabled and box.options == [HOME]
    # a link asking for another community changes nothing
    linked = AppTest.from_file(APP, default_timeout=120)
    linked.secrets.update(secrets)
    linked.session_state[signin.USER_KEY] = "zhang"
    linked.query_params["c"] = OTHER
    linked.run()
    assert {m.label: m.value for m in linked.metric} == shown


SAME_RESULT = [("headline", ()), ("service_totals", ()), ("category_table", ()), ("cases_by_year", ()),
               ("cases_by_month", ()), ("backlog_ageing", ()), ("community_ranking", ()),
               ("community_category_matrix", ()), ("compound_cases", (HOME,)), ("case_list", (HOME,)),
               ("volunteer_summary", ()), ("volunteer_flows", ()), ("organizations_by_kind", ()),
               ("organization_flows", ()), ("micro_projects", ()), ("micro_project_totals", ()),
               ("activities_by_year", ())]


def _equal(a: Any, b: Any) -> None:
    if isinstance(a, pd.DataFrame):
        pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True), check_dtype=False)
    elif isinstance(a, dict):
        assert a.keys() == b.keys()
        for k in a:
            _equal(a[k], b[k])
    else:
        assert a == b or (pd.isna(a) and pd.isna(b))


@pytest.mark.parametrize(("name", "extra"), SAME_RESULT)
def test_metrics_on_the_scoped_database_equal_the_narrowed_metrics(env: Path, name: str, extra: tuple) -> None:
    """What a scoped user is shown (scoped database) equals the office's view of that community."""
    f = Filters(communities=(HOME,))
    con = full(env)
    try:
        want = getattr(metrics, name)(con.cursor(), f, *extra)
    finally:
        con.close()
    got = getattr(metrics, name)(scope.scoped(HOME, env).cursor(), f, *extra)
    _equal(got, want)


def test_scoped_arguments_are_narrowed_and_other_communities_refused() -> None:
    f = Filters(year_from=2020, categories=("邻里矛盾",))
    assert ui.scoped_args("headline", (f,), HOME) == (replace(f, communities=(HOME,)),)
    assert ui.scoped_args("headline", (f.only(OTHER),), HOME) == (f.only(HOME),)
    assert ui.scoped_args("compound_cases", (f, HOME), HOME) == (f.only(HOME), HOME)
    for name, args in (("compound_cases", (f, OTHER)), ("case_list", (f, OTHER, None)),
                       ("community_profile", (f, OTHER)), ("data_quality", (f,)), ("reject_rows", (None,))):
        with pytest.raises(scope.ScopeError):
            ui.scoped_args(name, args, HOME)


def test_community_profile_for_a_scoped_user_has_no_median_or_rank(env: Path) -> None:
    profile = metrics.community_profile(scope.scoped(HOME, env).cursor(), Filters(), HOME, compare=False)
    assert len(profile) == len(metrics.PROFILE_METRICS)
    assert profile["median"].isna().all() and profile["rank"].isna().all() and profile["ranked_of"].isna().all()
    con = full(env)
    try:
        office = metrics.community_profile(con.cursor(), Filters(), HOME)
    finally:
        con.close()
    pd.testing.assert_series_equal(profile["value"], office["value"])  # the community's own figures agree


def test_scoped_community_page_shows_no_comparison(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets, "zhang")
    at.switch_page("pages/community.py").run()
    ok(at)
    assert at.selectbox(key="profile_community").options == [HOME]
    assert not any("街道中位数" in (m.proto.delta or "") for m in at.metric)
    assert any("仅街道办账号可见" in i.value for i in at.info)


def test_scoped_phone_view_and_big_screen_name_only_the_community(env: Path, nav_apptest: None, secrets: dict,
                                                                   communities: list[str]) -> None:
    """The phone view's every section and the big screen's every view, for a community account: its figures,
    no median or rank, no other community named (milestones are the sub-district's, labelled so)."""
    from chuangshu import bigscreen_ui, phone_ui

    con = full(env)
    try:
        mine = metrics.headline(con.cursor(), Filters(communities=(HOME,))).set_index("key")
    finally:
        con.close()
    others = [c for c in communities if c != HOME]
    shorts = [c.removesuffix("社区") for c in others]
    at = app(secrets, "zhang")
    at.switch_page("pages/mobile.py")
    for section in phone_ui.SECTIONS:
        at.query_params["s"] = section.key
        at.run()
        ok(at)
        body = "\n".join(h.proto.body for h in at.get("html"))
        assert not [c for c in others if c in body], section.key
        assert "中位数 " not in body and "/ 45 名" not in body, section.key
        if section.key == "overview":
            value = mine.loc["volunteers", "value"]
            assert f'data-key="volunteers" data-value="{float(value):.6g}"' in body
        if section.key == "community":
            assert at.selectbox(key="m_profile_community").options == [HOME]
    del at.query_params["s"]
    at.switch_page("pages/bigscreen.py")
    for view in range(1, len(bigscreen_ui.VIEWS) + 1):
        at.query_params["view"] = str(view)
        at.run()
        ok(at)
        if bigscreen_ui.VIEWS[view - 1].key == "milestones":
            continue  # the sub-district's milestones name pilot communities (as on every page)
        body = "\n".join(h.proto.body for h in at.get("html"))
        assert not [c for c in others if c in body] and not [s for s in shorts if f">{s}<" in body], view


@pytest.fixture(scope="module")
def communities(sample_db: Path) -> list[str]:
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        return [r[0] for r in con.execute("SELECT community FROM communities").fetchall()]
    finally:
        con.close()


def test_scoped_cases_drill_down_offers_only_the_community(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets, "zhang")
    at.switch_page("pages/cases.py").run()
    ok(at)
    assert at.selectbox(key="drill_community").options == [HOME]


# --------------------------------------------------------------------------- exports


@pytest.fixture
def downloads(monkeypatch: pytest.MonkeyPatch) -> list[pd.DataFrame]:
    """Every table the pages hand to the xlsx download (ui.chart imports it at call time)."""
    from chuangshu import export

    seen: list[pd.DataFrame] = []
    real = export.to_xlsx_bytes

    def spy(data, *args, **kwargs):
        seen.extend([data] if isinstance(data, pd.DataFrame) else list(data.values()))
        return real(data, *args, **kwargs)

    monkeypatch.setattr(export, "to_xlsx_bytes", spy)
    return seen


def _communities_in(frame: pd.DataFrame) -> set[str]:
    out: set[str] = set()
    from chuangshu.fmt import COLUMNS  # chart downloads carry Chinese headers

    for col in ("community", "short_name", COLUMNS["community"], COLUMNS["short_name"]):
        if col in frame.columns:
            out |= {str(v) for v in frame[col].dropna()}
    if frame.index.name == "community":
        out |= {str(v) for v in frame.index}
    return out


def test_scoped_chart_downloads_hold_only_the_community(env: Path, nav_apptest: None, secrets: dict,
                                                        downloads: list[pd.DataFrame],
                                                        deferred_downloads: Deferred) -> None:
    at = app(secrets, "zhang")
    for page in ("pages/cases.py", "pages/teams.py", "pages/organizations.py", "pages/projects.py",
                 "pages/community.py", "pages/milestones.py"):
        at.switch_page(page).run()
        ok(at)
        deferred_downloads.files(at, "下载数据")  # built only when clicked: click each
    assert len(downloads) >= 15
    named = [frame for frame in downloads if _communities_in(frame)]
    assert named, "some downloads name communities"
    for frame in named:
        assert _communities_in(frame) <= {HOME, "桂南"}, _communities_in(frame)
    for frame in [*at.dataframe]:
        assert _communities_in(frame.value) <= {HOME, "桂南"}


def test_scoped_slides_hold_only_the_community(env: Path) -> None:
    pytest.importorskip("pptx")
    from pptx import Presentation

    from chuangshu import deck

    data = deck.build(scope.scoped(HOME, env).cursor(), Filters().only(HOME))
    prs = Presentation(io.BytesIO(data))
    text: list[str] = []
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_text_frame:
                text.append(shape.text_frame.text)
            if getattr(shape, "has_chart", False) and shape.has_chart:
                for plot in shape.chart.plots:
                    text.extend(str(c) for c in plot.categories)
            if getattr(shape, "has_table", False) and shape.has_table:
                text.extend(cell.text for row in shape.table.rows for cell in row.cells)
    joined = "\n".join(text)
    assert HOME in joined
    con = full(env)
    try:
        others = [r[0] for r in con.execute("SELECT community FROM communities WHERE community <> ?", [HOME]).fetchall()]
        history = con.execute("SELECT string_agg(title || detail, ' ') FROM milestones").fetchall()[0][0]
    finally:
        con.close()
    # the programme's published milestones name a few communities; that text is the same for everyone
    assert not [c for c in others if c in joined and c not in history]


def test_scoped_export_page_offers_only_the_community(env: Path, nav_apptest: None, secrets: dict) -> None:
    at = app(secrets, "zhang")
    if "export" not in pages(at):
        pytest.skip("no export page registered")
    at.switch_page("pages/export.py").run()
    assert not at.exception, [e.message for e in at.exception]
    assert at.selectbox(key="export_scope").options == [HOME]


def test_data_cursor_follows_the_scope(env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Code that needs a raw cursor (slides, the big screen) gets the scoped database for a scoped user."""
    monkeypatch.setattr(signin, "current_user", lambda: auth.User("zhang", "张三", "viewer", HOME))
    cur = ui.data_cursor()
    try:
        assert cur.execute("SELECT DISTINCT community FROM cases").fetchall() == [(HOME,)]
    finally:
        cur.close()
    assert ui.filters().communities == (HOME,)
    monkeypatch.setattr(signin, "current_user", lambda: auth.User("li", "李四", "analyst"))
    cur = ui.data_cursor()
    try:
        assert len(cur.execute("SELECT DISTINCT community FROM cases").fetchall()) == 45
    finally:
        cur.close()
    assert ui.filters().communities == ()


def test_saved_query_choices_follow_the_scope(env: Path) -> None:
    """A saved query's drop-down options come from SQL too: a scoped analyst's run in their scope."""
    from chuangshu import saved_queries as sq

    param = sq.Param(name="community", type="choice", options_sql="SELECT DISTINCT community FROM cases ORDER BY 1")
    assert sq.options_for(param, scope=HOME) == [HOME]
    assert len(sq.options_for(param)) == 45
