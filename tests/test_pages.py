"""One AppTest per page: it runs without exception, shows the metric layer's numbers, follows filters."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import fmt, metrics
from chuangshu.filters import Filters

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PAGES = ["pages/overview.py", "pages/cases.py", "pages/teams.py", "pages/organizations.py", "pages/projects.py",
         "pages/community.py", "pages/milestones.py", "pages/quality.py"]


@pytest.fixture
def app(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> AppTest:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def headline(sample_db: Path, f: Filters) -> dict[str, str]:
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        df = metrics.headline(con.cursor(), f)
    finally:
        con.close()
    return {r.label: fmt.metric_value(r.value, r.unit, metrics.METRICS[r.key].kind) for r in df.itertuples()}


def shown(at: AppTest) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


@pytest.mark.parametrize("page", PAGES)
def test_page_runs_without_exception_or_error(app: AppTest, page: str) -> None:
    app.switch_page(page).run()
    assert not app.exception, [e.message for e in app.exception]
    assert not app.error, [e.value for e in app.error]
    assert app.title, "every page has a title"
    assert any("示例数据" in c.value for c in app.caption), "the sample badge is shown"


def test_overview_kpis_equal_the_metric_layer(app: AppTest, sample_db: Path) -> None:
    expected = headline(sample_db, Filters())
    cards = shown(app)
    for label, value in expected.items():
        assert cards[label] == value, label
    assert cards["邻里矛盾"] == "1,463 宗" and cards["三长志愿者"] == "2,186 名"


def test_filter_change_changes_the_numbers(app: AppTest, sample_db: Path) -> None:
    before = shown(app)
    app.sidebar.multiselect(key="f_communities").set_value(["桂南社区"]).run()
    after = shown(app)
    assert after != before
    expected = headline(sample_db, Filters(communities=("桂南社区",)))
    assert {k: after[k] for k in expected} == expected
    assert app.query_params.get("c") == ["桂南社区"] or app.query_params.get("c") == "桂南社区"


def test_year_range_filter_reaches_other_pages(app: AppTest, sample_db: Path) -> None:
    app.switch_page("pages/cases.py").run()
    app.sidebar.slider(key="f_years").set_value((2020, 2022)).run()
    assert not app.exception
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        totals = metrics.service_totals(con.cursor(), Filters(year_from=2020, year_to=2022))
        everything = metrics.service_totals(con.cursor(), Filters())
    finally:
        con.close()
    assert totals["received"] != everything["received"]
    assert shown(app)["受理事项"] == fmt.count(totals["received"], "件")


def test_url_parameters_set_the_filters(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                        nav_apptest: None) -> None:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["c"] = "江滨社区"
    at.query_params["asof"] = "2021-12-31"
    at.run()
    assert not at.exception
    expected = headline(sample_db, Filters(as_of=__import__("datetime").date(2021, 12, 31), year_to=2021,
                                           communities=("江滨社区",)))
    assert shown(at)["三长志愿者"] == expected["三长志愿者"]


def test_cases_drill_down_shows_compounds_and_case_list(app: AppTest) -> None:
    app.switch_page("pages/cases.py").run()
    app.selectbox(key="drill_community").set_value("桂南社区").run()
    assert not app.exception
    texts = " ".join(m.value for m in app.markdown)
    assert "桂南社区" in texts and "事项清单" in texts
    assert len(app.dataframe) >= 3  # category table, compounds, case list


def test_community_profile_applies_minimum_count_rule(app: AppTest) -> None:
    app.switch_page("pages/community.py").run()
    assert any(str(metrics.MIN_CASES_FOR_RATE) in i.value for i in app.info)
    app.selectbox(key="profile_community").set_value("江滨社区").run()
    assert not app.exception
    assert any("街道中位数" in (m.proto.delta or "") for m in app.metric)
