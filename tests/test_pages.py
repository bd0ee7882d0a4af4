"""One AppTest per page: it runs without exception, shows the metric layer's numbers, follows filters."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import fmt, metrics
from chuangshu.filters import Filters
from deferred import deferred_downloads  # noqa: F401 - a fixture

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PAGES = ["pages/overview.py", "pages/assessment.py", "pages/cases.py", "pages/teams.py", "pages/organizations.py",
         "pages/projects.py", "pages/community.py", "pages/milestones.py", "pages/quality.py", "pages/targets.py"]


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


# --- issue 11: filters bounded by the data, filters that say when they do not apply, the error boundary ---

def as_of_boxes(at: AppTest) -> list:
    return [at.selectbox(key=f"f_as_of_{p}") for p in "ymd"]


def test_the_as_of_date_is_picked_in_chinese_within_the_data(app: AppTest) -> None:
    year, month, day = as_of_boxes(app)
    assert (year.value, month.value, day.value) == (2022, 6, 30)
    assert year.options[0] == "2011年" and year.options[-1] == "2022年"  # the data's years, never 2026
    assert month.options[-1] == "6月" and day.options[-1] == "30日"  # nothing after the data's last day
    assert not app.date_input  # Streamlit's date picker (English months, weeks from Sunday) is not used
    assert "31日" not in day.options  # June has 30 days
    month.set_value(2).run()  # 30 February does not exist: the day moves to the last valid one
    assert as_of_boxes(app)[2].value == 28 and as_of_boxes(app)[2].options[-1] == "28日"
    assert app.session_state["filters"].as_of.isoformat() == "2022-02-28"


def test_the_year_range_follows_the_as_of_date(app: AppTest) -> None:
    years = app.sidebar.slider(key="f_years")
    assert (years.min, years.max, years.value) == (2011, 2022, (2011, 2022))
    as_of_boxes(app)[0].set_value(2019).run()
    years = app.sidebar.slider(key="f_years")
    assert (years.max, years.value) == (2019, (2011, 2019))  # the range ran to the as-of year: it still does
    as_of_boxes(app)[0].set_value(2022).run()
    assert app.sidebar.slider(key="f_years").value == (2011, 2022)
    app.sidebar.slider(key="f_years").set_value((2015, 2018)).run()
    as_of_boxes(app)[0].set_value(2016).run()
    assert app.sidebar.slider(key="f_years").value == (2015, 2016)  # clamped, never 2015—2018 past the as-of year
    assert "2015—2016年" in app.caption[0].value


def test_a_link_outside_the_data_is_corrected_and_says_so(sample_db: Path, app_state_dir: Path,
                                                         monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> None:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params.update({"years": "2023-2026", "c": "桂南社区,火星社区", "k": "噪音"})
    at.run()
    assert not at.exception and not at.error
    (note,) = [i.value for i in at.info if "链接中的筛选条件" in i.value]
    assert "年份范围 2023—2026年 超出数据范围" in note and "已改为 2022年" in note
    assert "「火星社区」不在社区名单中" in note and "「噪音」不在类别名单中" in note
    assert at.session_state["filters"] == Filters(year_from=2022, communities=("桂南社区",))
    assert at.query_params["years"] in ("2022-2022", ["2022-2022"]) and at.query_params["c"] in ("桂南社区", ["桂南社区"])
    assert "k" not in at.query_params
    at.sidebar.multiselect(key="f_communities").set_value([]).run()
    assert not [i for i in at.info if "链接中的筛选条件" in i.value]  # the note goes once the filters change


def test_figures_that_ignore_a_filter_say_so(app: AppTest) -> None:
    app.sidebar.multiselect(key="f_categories").set_value(["停车"]).run()
    labels = [m.label for m in app.metric]
    assert "停车难问题" in labels and "邻里矛盾" not in labels and "三长志愿者" in labels
    assert any("不受类别筛选影响" in c.value for c in app.caption)
    app.switch_page("pages/teams.py").run()
    assert any("事项类别筛选不适用于本页" in c.value for c in app.caption)
    assert "停车" not in app.caption[0].value  # the scope line names only what the page honours


def test_the_2020_figures_follow_the_window_and_say_they_are_published(app: AppTest) -> None:
    app.sidebar.multiselect(key="f_communities").set_value(["桂南社区"]).run()
    assert any("街道公布的全街道数字，不随社区、事项类别筛选变化" in c.value for c in app.caption)
    as_of_boxes(app)[0].set_value(2019).run()
    assert any("不含 2020 年" in c.value for c in app.caption)
    assert "2020 年群防群治" in [s.value for s in app.subheader]


def test_the_profile_names_its_community_and_ranks_in_whole_numbers(app: AppTest) -> None:
    app.sidebar.multiselect(key="f_communities").set_value(["夏北社区"]).run()
    app.sidebar.slider(key="f_years").set_value((2022, 2022)).run()
    app.switch_page("pages/community.py").run()
    assert "夏北社区" in app.caption[0].value and "全部社区" not in app.caption[0].value
    ranks = [m.proto.delta_description for m in app.metric]
    assert "第 9 / 45 名" in ranks and any(r.startswith("不参与排名") for r in ranks)
    assert "不参与排名 · 目标 ≥ 90.0%" in ranks  # the target is named; no status for a value that is 「—」
    assert not [r for r in ranks if "nan" in r or ".0 /" in r]
    undefined = [m for m in app.metric if m.value == "—"]
    assert undefined and all("受理不足 30 件" in m.proto.help for m in undefined)


def test_chart_downloads_have_chinese_headers(app: AppTest, deferred_downloads) -> None:
    """Every chart's 下载数据 workbook, as a click builds it: Chinese headers, no display-only columns."""
    import io

    import openpyxl

    headers: list[str] = []
    for page in PAGES:
        app.switch_page(page).run()
        for _, data in deferred_downloads.files(app, "下载数据"):
            sheet = openpyxl.load_workbook(io.BytesIO(data)).active
            headers += [str(c.value) for c in next(sheet.iter_rows(max_row=1))]
    assert len(headers) > 50
    english = sorted({h for h in headers if h.isascii()})
    assert not english, english
    assert "期间" in headers  # a partial year is named as such in the data too


def test_the_heatmap_uses_full_names_in_the_canonical_order(app: AppTest, sample_db: Path) -> None:
    con = duckdb.connect(str(sample_db), read_only=True)
    labels = [r[0] for r in con.execute("SELECT label FROM categories ORDER BY sort_order").fetchall()]
    matrix = metrics.community_category_matrix(con.cursor(), Filters())
    con.close()
    from svg_read import charts as read

    app.switch_page("pages/cases.py").run()
    assert not app.get("plotly_chart")  # 事项 loads no chart runtime: the heatmap is drawn by us too
    (heat,) = [c for h in app.get("html") for c in read(h.proto.body) if c.title == "社区 × 类别：受理事项分布"]
    assert heat.xlabels == labels
    assert heat.ylabels == list(matrix.index) and len(heat.bars) == matrix.size
    expected = {f"{r} · {c}：{int(matrix.loc[r, c]):,} 件" for r in matrix.index for c in matrix.columns}
    assert {tip for tip, _ in heat.bars} == expected


def _stops_inside_the_boundary() -> None:
    import streamlit as st

    from chuangshu import guard

    def stops() -> None:
        st.markdown("停止之前")
        st.stop()

    guard.run(stops)
    st.markdown("不应出现")


def _breaks_inside_the_boundary() -> None:
    import streamlit as st

    from chuangshu import guard

    def broken() -> None:
        st.markdown("之前的内容")
        raise TypeError("boolean value of NA is ambiguous")

    guard.run(broken)


def test_st_stop_passes_through_the_error_boundary() -> None:
    at = AppTest.from_function(_stops_inside_the_boundary).run()
    assert not at.exception and not at.error
    assert [m.value for m in at.markdown] == ["停止之前"]


def test_an_exception_becomes_a_calm_chinese_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level("ERROR", logger="chuangshu.pages"):
        at = AppTest.from_function(_breaks_inside_the_boundary).run()
    assert not at.exception  # no traceback, no server path, no "Ask Google"
    assert [m.value for m in at.markdown] == ["之前的内容"]
    message = at.error[0].value
    assert message.startswith("页面出错了") and "TypeError" not in message and "/" not in message
    incident = message.split("编号 ")[1][:6]
    assert any(incident in r.getMessage() and r.exc_info for r in caplog.records)  # the traceback is in the log


def test_every_page_runs_inside_the_boundary(app: AppTest, monkeypatch: pytest.MonkeyPatch) -> None:
    from chuangshu import metrics as metric_layer

    def broken(*args, **kwargs):
        raise TypeError("boolean value of NA is ambiguous")

    monkeypatch.setattr(metric_layer, "volunteer_summary", broken)
    app.sidebar.slider(key="f_years").set_value((2013, 2017)).run()  # a window no earlier test has cached
    app.switch_page("pages/teams.py").run()
    assert not app.exception
    assert app.error and app.error[0].value.startswith("页面出错了")
    assert app.sidebar.slider(key="f_years").value == (2013, 2017)  # the sidebar is still there


@pytest.mark.parametrize(("link", "expected", "note"), [
    ({"years": "2023-2026"}, Filters(year_from=2022), "超出数据范围"),
    ({"years": "2020-2018"}, Filters(year_from=2018, year_to=2020), "起止颠倒"),
    ({"years": "2021"}, Filters(year_from=2021, year_to=2021), None),
    ({"years": "abc"}, Filters(), "无法识别"),
    ({"asof": "2026-11-30"}, Filters(), "晚于数据的最后一天"),
    ({"asof": "2010-06-30", "years": "2005-2010"},
     Filters(as_of=__import__("datetime").date(2011, 9, 8), year_from=2011, year_to=2011), "早于数据的第一天"),
    ({"asof": "2022-13-45"}, Filters(), "无法识别"),
    ({"c": "桂南社区,不存在", "k": "停车,噪音"}, Filters(communities=("桂南社区",), categories=("停车",)), "已忽略"),
])
def test_links_are_corrected_to_the_data(link: dict, expected: Filters, note: str | None) -> None:
    from datetime import date

    from chuangshu.filters import Bounds, parse_query_params

    bounds = Bounds(first=date(2011, 9, 8), last=date(2022, 6, 30))
    f, notes = parse_query_params(link, ["桂南社区", "江滨社区"], ["停车", "邻里矛盾"], bounds)
    assert f == expected
    assert (note is None and not notes) or any(note in n for n in notes), notes
