"""Front-end cost (issue 15): KPI sparklines drawn by us, no figure rebuilt on a rerun whose inputs did not change.

Timings live in bench/front.py and docs/benchmarks.md, never here: these tests check what makes the page
cheap (no chart runtime for the cards, figures built once per input) and that the cards still say the same.
"""
from __future__ import annotations

import base64
import re
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import charts, metrics, svgchart, ui
from chuangshu.filters import Filters

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")


@pytest.mark.parametrize(("values", "points"), [
    ([1, 2, 3], [(0.0, 13.0), (5.0, 7.0), (10.0, 1.0)]),  # from zero at the bottom to the top at 1 px
    ([0, 0], [(0.0, 19.0), (10.0, 19.0)]),  # all zero: a flat line on the bottom, no division by zero
    ([5, 5, 5], [(0.0, 1.0), (5.0, 1.0), (10.0, 1.0)]),  # flat at its own level: the top
    ([-2, 2], [(0.0, 19.0), (10.0, 1.0)]),  # negative values: the bottom is the lowest value
    ([None, 4, float("nan"), 8], [(0.0, 10.0), (10.0, 1.0)]),  # missing values are skipped
    ([7], []), ([], []), ([None, None], []),  # fewer than two points: nothing to draw
])
def test_sparkline_points(values: list, points: list) -> None:
    assert charts.sparkline_points(values, width=10, height=20) == points


def test_sparkline_svg_draws_the_points_and_nothing_for_too_few() -> None:
    svg = charts.sparkline_svg([1, 2, 3], "#123456")
    line = " ".join(f"{x},{y}" for x, y in charts.sparkline_points([1, 2, 3]))
    assert f'<polyline points="{line}"' in svg and 'stroke="#123456"' in svg and svg.startswith("<svg")
    assert charts.sparkline_svg([3], "#123456") == ""


@pytest.mark.parametrize(("delta", "color"), [(12.0, "up"), (-3.0, "down"), (0.01, "flat"), (None, "flat")])
def test_spark_colour_follows_the_year_over_year_change(delta: float | None, color: str) -> None:
    rule = ui.spark_css("resolved", [1, 2], delta)
    svg = base64.b64decode(re.search(r"base64,([A-Za-z0-9+/=]+)", rule).group(1)).decode()
    assert rule.startswith(".st-key-kpi_resolved ") and f'stroke="{ui.SPARK_COLORS[color]}"' in svg


def test_no_rule_for_a_card_without_a_trend() -> None:
    assert ui.spark_css("resolved", [4], 1.0) == "" and ui.spark_css("resolved", None, 1.0) == ""


@pytest.mark.parametrize(("frame", "same"), [
    (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}), True),
    (pd.DataFrame({"a": [1, 3], "b": ["x", "y"]}), False),  # a value
    (pd.DataFrame({"a": [1, 2], "c": ["x", "y"]}), False),  # a column name
    (pd.DataFrame({"a": [1.0, 2.0], "b": ["x", "y"]}), False),  # a dtype
    (pd.DataFrame({"a": [1, 2], "b": ["x", "y"]}, index=[5, 6]), False),  # the index (a heatmap's rows)
    (pd.DataFrame({"a": [1, 2], "b": [[1], [2]]}), False),  # unhashable cells still digest
])
def test_frame_digest_changes_with_the_content(frame: pd.DataFrame, same: bool) -> None:
    base = pd.DataFrame({"a": [1, 2], "b": ["x", "y"]})
    assert (ui.frame_digest(frame) == ui.frame_digest(base)) is same


@pytest.fixture(scope="module")
def app(sample_db: Path, tmp_path_factory: pytest.TempPathFactory) -> AppTest:
    """One AppTest session on the overview (module-scoped: the pages below reuse it)."""
    from streamlit.runtime.scriptrunner import script_runner

    mp = pytest.MonkeyPatch()
    mp.setenv("CHUANGSHU_DB", str(sample_db))
    mp.setenv("CHUANGSHU_STATE_DIR", str(tmp_path_factory.mktemp("front-state")))

    def run_entry_point(main_script_path: str) -> None:  # as conftest.nav_apptest, for a module fixture
        code = compile(Path(main_script_path).read_text(encoding="utf-8"), main_script_path, "exec")
        exec(code, {"__name__": "__main__", "__file__": main_script_path})  # noqa: S102

    mp.setattr(script_runner, "_mpa_v1", run_entry_point)
    ui._figure.clear()
    at = AppTest.from_file(APP, default_timeout=120)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    yield at
    mp.undo()


def _style(at: AppTest) -> str:
    return "".join(h.proto.body for h in at.get("html") if "st-key-kpi_" in h.proto.body)


def test_overview_cards_draw_their_own_sparklines_with_the_metric_layers_values(app: AppTest,
                                                                                 sample_db: Path) -> None:
    """Every 数读/范围 card with a trend gets its SVG sparkline of exactly its spark values; no card asks the
    browser for a chart runtime (no chart_data), and labels/values stay those of the metric layer."""
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        head = metrics.headline(con.cursor(), Filters()).set_index("key")
    finally:
        con.close()
    css = _style(app)
    drawn = dict(re.findall(r'\.st-key-kpi_(\w+) \[data-testid="stMetric"\] \{ background-image: '
                            r'url\("data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)"\)', css))
    expected = {k for k, r in head.iterrows() if isinstance(r["spark"], list) and len(r["spark"]) > 1}
    assert expected and set(drawn) == expected
    for key in expected:
        svg = base64.b64decode(drawn[key]).decode()
        line = " ".join(f"{x},{y}" for x, y in charts.sparkline_points(head.loc[key, "spark"]))
        assert f'points="{line}"' in svg, key
    assert all(not m.proto.chart_data for m in app.metric)
    assert {m.label for m in app.metric} >= set(head["label"])


def svg_charts(at: AppTest) -> list:
    """The charts a page draws as SVG (chuangshu.svgchart through st.html)."""
    from svg_read import charts as read

    return [c for h in at.get("html") for c in read(h.proto.body)]


def test_drawn_bars_say_dash_for_a_missing_value_and_keep_the_frames_order() -> None:
    """Horizontal bars: rows top-down as the frame lists them, 「—」 and no bar where the value is missing;
    columns over any category stack its groups in the frame's order with one tooltip per part."""
    from svg_read import charts as read

    rows = pd.DataFrame({"label": ["甲类", "乙类", "丙类"], "median_days": [12.5, None, 3.0]})
    (chart,) = read(svgchart.ranking(rows, "label", "median_days", "用时", look=svgchart.LIGHT, height=None).html())
    assert chart.ylabels == ["甲类", "乙类", "丙类"] and chart.values == ["12.5", "—", "3.0"]
    assert [tip for tip, _ in chart.bars] == ["甲类：12.5", "丙类：3.0"]
    ageing = pd.DataFrame({"bucket": ["30天以内", "30天以内", "一年以上"], "category": ["停车", "邻里矛盾", "停车"],
                           "label": ["停车难问题", "邻里矛盾", "停车难问题"], "n": [2, 3, 4]})
    (cols,) = read(svgchart.frame_columns(ageing, "bucket", "n", "账龄", color="category").html())
    assert cols.xlabels == ["30天以内", "一年以上"] and set(cols.legend) == {"停车难问题", "邻里矛盾"}
    assert sorted(tip for tip, _ in cols.bars) == sorted(["30天以内 · 停车难问题：2", "30天以内 · 邻里矛盾：3",
                                                         "一年以上 · 停车难问题：4"])


def test_overview_first_chart_is_drawn_by_us_with_the_metric_layers_numbers(app: AppTest, sample_db: Path) -> None:
    """总览 loads no chart runtime: its trend is SVG columns whose tooltips carry the metric layer's yearly
    figures per category, with its data download and PNG/SVG images still offered."""
    app.switch_page("pages/overview.py").run()
    assert not app.get("plotly_chart")
    (chart,) = svg_charts(app)
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        trend = metrics.cases_by_year(con.cursor(), Filters())
    finally:
        con.close()
    periods = list(dict.fromkeys(trend["period"]))  # crowded year labels are thinned, the last always shown
    assert chart.title == "各类事项逐年受理并办结的数量" and set(chart.xlabels) <= set(periods)
    assert chart.xlabels[-1] == periods[-1]
    expected = {f"{p} · {lbl}：{v:,.0f}" for p, lbl, v in zip(trend["period"], trend["label"], trend["resolved"]) if v > 0}
    assert {tip for tip, _ in chart.bars} == expected
    assert set(chart.legend) >= set(trend.loc[trend["resolved"] > 0, "label"])
    labels = {b.proto.label for b in app.get("download_button")}
    assert {"下载数据", "PNG 图片", "SVG 矢量图"} <= labels


def _builds() -> int:
    return sum(ui.FIGURE_BUILDS.values())


@pytest.mark.parametrize("script", ["pages/overview.py", "pages/cases.py"])
def test_no_figure_is_rebuilt_on_a_rerun_whose_inputs_did_not_change(app: AppTest, script: str) -> None:
    """A page's figures are built on its first view; a rerun (a click elsewhere, a page switch there and back)
    builds none; a filter that changes the data builds them again, and setting it back rebuilds nothing."""
    app.switch_page(script).run()
    app.switch_page("pages/teams.py").run()  # its own figures, built once here
    app.switch_page(script).run()
    first = _builds()
    assert not app.exception and len(app.get("plotly_chart")) + len(svg_charts(app)) >= 1
    app.run()
    app.switch_page("pages/teams.py").run()
    app.switch_page(script).run()
    assert _builds() == first, dict(ui.FIGURE_BUILDS)
    app.sidebar.multiselect(key="f_communities").set_value(["桂南社区"]).run()
    changed = _builds()
    assert changed > first, "a filter that changes the data must change the figures"
    app.sidebar.multiselect(key="f_communities").set_value([]).run()
    assert _builds() == changed and not app.exception


@pytest.mark.parametrize(("compound", "f"), [(None, Filters()), (None, Filters(year_from=2021, year_to=2022)),
                                             ("first", Filters()), (None, Filters(categories=("停车",)))])
def test_case_list_pages_are_the_whole_list_in_order(sample_db: Path, compound: str | None, f: Filters) -> None:
    """Oracle: the drill-down's pages, one after another, are exactly the matching cases (pandas over the cases
    view), newest first, each page at most CASE_PAGE rows, every row carrying the same total."""
    con = duckdb.connect(str(sample_db), read_only=True)
    cur = con.cursor()
    try:
        community = metrics.community_ranking(cur, f)["community"].iloc[0]
        cases = cur.execute("SELECT * FROM cases WHERE community = ?", [community]).df()
        if compound == "first":
            compound = cases["compound"].dropna().iloc[0]
        want = cases[(cases["reported_on"] <= pd.Timestamp(f.end))
                     & ((cases["reported_on"] >= pd.Timestamp(f.start)) | cases["resolved_on"].isna()
                        | (cases["resolved_on"] >= pd.Timestamp(f.start)))]
        if compound:
            want = want[want["compound"] == compound]
        if f.categories:
            want = want[want["category"].isin(f.categories)]
        want = want.sort_values(["reported_on", "case_id"], ascending=[False, True])
        pages, page = [], 0
        while not (rows := metrics.case_list(cur, f, community, compound, page)).empty:
            assert len(rows) <= metrics.CASE_PAGE and set(rows["total"]) == {len(want)}
            pages.append(rows)
            page += 1
    finally:
        con.close()
    assert page == -(-len(want) // metrics.CASE_PAGE) and len(want) > 0
    assert pd.concat(pages)["case_id"].tolist() == want["case_id"].tolist()


def test_drill_down_case_list_pages_through_every_case(app: AppTest, sample_db: Path) -> None:
    """事项 → a community: 「共 N 件」 with a page picker; page 2 shows the next rows; another community starts at 1."""
    app.switch_page("pages/cases.py").run()
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        ranking = metrics.community_ranking(con.cursor(), Filters())
        big = ranking.sort_values("received", ascending=False)["community"].iloc[0]
        first, second = (metrics.case_list(con.cursor(), Filters(), big, None, p) for p in (0, 1))
    finally:
        con.close()
    total = int(first["total"].iloc[0])
    assert total > metrics.CASE_PAGE, "the sample's largest community needs more than one page"
    app.selectbox(key="drill_community").set_value(big).run()
    pages = -(-total // metrics.CASE_PAGE)
    assert any(f"共 {total:,} 件，第 1 / {pages:,} 页" in m.value for m in app.markdown)
    assert app.dataframe[-1].value["case_id"].tolist() == first["case_id"].tolist()
    app.number_input(key=f"drill_page:{big}:").set_value(2).run()
    assert not app.exception and app.dataframe[-1].value["case_id"].tolist() == second["case_id"].tolist()
    assert any(f"第 2 / {pages:,} 页" in m.value for m in app.markdown)


@pytest.mark.parametrize(("t", "colour"), [(0.0, svgchart.theme.SEQUENTIAL[0]), (1.0, svgchart.theme.SEQUENTIAL[-1]),
                                           (0.2, svgchart.theme.SEQUENTIAL[1]), (-1.0, svgchart.theme.SEQUENTIAL[0]),
                                           (2.0, svgchart.theme.SEQUENTIAL[-1])])
def test_heatmap_colours_run_along_the_scale(t: float, colour: str) -> None:
    assert svgchart._mix(svgchart.theme.SEQUENTIAL, t) == colour


def test_drawn_heatmap_writes_every_count_and_keeps_its_columns_readable() -> None:
    """Every cell has its count and a tooltip; the largest cell is the scale's darkest with white text; a
    matrix of zeros draws pale cells (no division by zero); the box keeps room for the headers."""
    from svg_read import charts as read

    matrix = pd.DataFrame({"旧楼加装电梯": [0, 1200], "停车": [3, 0]}, index=pd.Index(["甲社区", "乙社区"], name="community"))
    fig = svgchart.heatmap(matrix, "分布", look=svgchart.LIGHT)
    (chart,) = read(fig.html())
    assert chart.xlabels == ["旧楼加装电梯", "停车"] and chart.ylabels == ["甲社区", "乙社区"]
    assert sorted(tip for tip, _ in chart.bars) == sorted(["甲社区 · 旧楼加装电梯：0 件", "甲社区 · 停车：3 件",
                                                         "乙社区 · 旧楼加装电梯：1,200 件", "乙社区 · 停车：0 件"])
    assert f'fill="{svgchart.theme.SEQUENTIAL[-1]}"' in fig.svg and "1,200" in chart.texts
    assert chart.legend == ["0 件", "1,200 件（最多）"] and "min-width:" in fig.svg
    zeros = svgchart.heatmap(matrix * 0, "分布", look=svgchart.LIGHT)
    assert zeros.svg.count(f'fill="{svgchart.theme.SEQUENTIAL[0]}"') == 4
