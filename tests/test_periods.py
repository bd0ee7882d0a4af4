"""Partial periods: a year the as-of date cuts short is labelled and drawn as partial on every trend
(pages, big screen, deck), sparklines show the measure of their card, and year over year compares
the same months and days (checked against counts written independently here, from the public views).
"""
from __future__ import annotations

import io
import json
from datetime import date
from pathlib import Path

import pandas as pd
import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from chuangshu import deck, metrics
from chuangshu.filters import Filters

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")


@pytest.mark.parametrize(("as_of", "years", "labels"), [
    (date(2022, 6, 30), (2020, 2022), ["2020年", "2021年", "2022年（1—6月）"]),
    (date(2022, 6, 15), (2021, 2022), ["2021年", "2022年（截至6月15日）"]),
    (date(2022, 6, 1), (2022, 2022), ["2022年（截至6月1日）"]),
    (date(2022, 1, 31), (2022, 2022), ["2022年（1月）"]),
    (date(2020, 2, 29), (2019, 2020), ["2019年", "2020年（1—2月）"]),  # 29 February ends the month
    (date(2021, 12, 31), (2019, 2021), ["2019年", "2020年", "2021年"]),
    (date(2022, 6, 30), (2018, 2020), ["2018年", "2019年", "2020年"]),  # the window ends before the as-of year
])
def test_periods_know_whether_they_are_complete(as_of: date, years: tuple[int, int], labels: list[str]) -> None:
    f = Filters(as_of=as_of, year_from=years[0], year_to=years[1])
    assert [p.label for p in f.periods()] == labels
    assert [p.complete for p in f.periods()] == ["（" not in label for label in labels]
    assert (f.partial_year is not None) == ("（" in labels[-1])


@pytest.mark.parametrize(("as_of", "month"), [(date(2022, 6, 15), date(2022, 6, 1)), (date(2022, 6, 30), None),
                                              (date(2022, 6, 1), date(2022, 6, 1)), (date(2020, 2, 29), None),
                                              (date(2020, 2, 28), date(2020, 2, 1))])
def test_a_month_cut_short_is_partial(as_of: date, month: date | None) -> None:
    assert Filters(as_of=as_of, year_to=as_of.year).partial_month == month


def test_every_per_year_metric_covers_every_year_and_flags_the_partial_one(cur) -> None:
    f = Filters(as_of=date(2021, 9, 30), year_from=2011, year_to=2021)
    frames = {"cases_by_year": metrics.cases_by_year(cur, f), "volunteer_flows": metrics.volunteer_flows(cur, f),
              "organization_flows": metrics.organization_flows(cur, f),
              "wechat_flows": metrics.organization_flows(cur, f, True),
              "micro_projects": metrics.micro_projects(cur, f)["year"],
              "activities_by_year": metrics.activities_by_year(cur, f)}
    for name, df in frames.items():
        assert sorted(set(df["year"])) == list(range(2011, 2022)), name  # zero years are there, not missing
        flagged = df.groupby("year")[["partial"]].first()["partial"]
        assert flagged.to_dict() == {y: y == 2021 for y in range(2011, 2022)}, name
        assert set(df.loc[df["year"] == 2021, "period"]) == {"2021年（1—9月）"}, name
    assert metrics.cases_by_year(cur, Filters(year_from=2011, year_to=2011, as_of=date(2011, 12, 31))).empty


# --- year over year: the same months and days a year earlier -----------------------------------------

@pytest.fixture(scope="module")
def views(cur) -> dict[str, pd.DataFrame]:
    return {v: cur.execute(f"SELECT * FROM {v}").df() for v in ("cases", "volunteers")}


def _resolved(cases: pd.DataFrame, category: str, start: date, end: date) -> int:
    day = pd.to_datetime(cases["resolved_on"])
    return int(((cases["category"] == category) & (day >= pd.Timestamp(start)) & (day <= pd.Timestamp(end))).sum())


def _in_office(vols: pd.DataFrame, at: date) -> int:
    a, b = pd.to_datetime(vols["appointed_on"]), pd.to_datetime(vols["left_on"])
    on = (a <= pd.Timestamp(at)) & (b.isna() | (b > pd.Timestamp(at)))
    return vols.loc[on, "person_id"].nunique()


@pytest.mark.parametrize("f", [
    Filters(as_of=date(2022, 6, 30), year_from=2022, year_to=2022),
    Filters(as_of=date(2022, 6, 15), year_from=2022, year_to=2022),
    Filters(as_of=date(2021, 9, 30), year_from=2019, year_to=2021, communities=("桂南社区", "江滨社区")),
    Filters(as_of=date(2020, 2, 29), year_from=2020, year_to=2020),
], ids=lambda f: f.describe())
def test_year_over_year_on_a_partial_year_compares_the_same_months(cur, views, f: Filters) -> None:
    head = metrics.headline(cur, f).set_index("key")
    cases, vols = views["cases"], views["volunteers"]
    if f.communities:
        cases = cases[cases["community"].isin(f.communities)]
        vols = vols[vols["community"].isin(f.communities)]
    # the same window a year earlier, written out by hand: 1 January to the same month and day
    prior_end = date(f.as_of.year - 1, f.as_of.month, min(f.as_of.day, 28 if f.as_of.month == 2 else 31))
    prior_start = date(f.year_from - 1, 1, 1)
    for category, key in metrics.CATEGORY_METRIC.items():
        now = _resolved(cases, category, date(f.year_from, 1, 1), f.as_of)
        before = _resolved(cases, category, prior_start, prior_end)
        assert head.loc[key, "value"] == now and head.loc[key, "prior"] == before, key
        expected = None if not before else 100 * (now - before) / before
        assert head.loc[key, "delta_pct"] == pytest.approx(expected), key
    now, before = _in_office(vols, f.as_of), _in_office(vols, prior_end)
    assert (head.loc["volunteers", "value"], head.loc["volunteers", "prior"]) == (now, before)


def test_case_sparklines_are_the_running_total_their_card_shows(cur, views) -> None:
    f = Filters(as_of=date(2021, 9, 30), year_from=2016, year_to=2021)
    head = metrics.headline(cur, f).set_index("key")
    for category, key in metrics.CATEGORY_METRIC.items():
        spark = head.loc[key, "spark"]
        ends = [date(y, 12, 31) for y in range(2016, 2021)] + [f.as_of]
        assert spark == [_resolved(views["cases"], category, date(2016, 1, 1), e) for e in ends], key
        assert spark[-1] == head.loc[key, "value"]
    vols = head.loc["volunteers", "spark"]
    assert vols[-1] == head.loc["volunteers", "value"] == _in_office(views["volunteers"], f.as_of)


def test_a_category_filter_keeps_only_its_own_case_cards(cur) -> None:
    head = metrics.headline(cur, Filters(categories=("停车", "邻里矛盾")))
    shown = set(head["key"]) & set(metrics.CASE_KEYS)
    assert shown == {"parking", "disputes"}
    assert {"volunteers", "associations", "communities"} <= set(head["key"])  # not case figures: always there


# --- every trend drawn on screen and in the deck --------------------------------------------------------

YEAR_CHARTS = {"pages/overview.py": 0, "pages/cases.py": 0, "pages/teams.py": 2, "pages/organizations.py": 2,
               "pages/projects.py": 3, "pages/community.py": 1}
SVG_YEAR_CHARTS = {"pages/overview.py": 1, "pages/cases.py": 1}  # drawn by us (ui.bar_chart)
BIGSCREEN_YEAR_CHARTS = {2: 1, 4: 1}


@pytest.fixture(scope="module")
def env(sample_db: Path, app_state_dir: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHUANGSHU_DB", str(sample_db))
        mp.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
        yield


def specs(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


def year_charts(at: AppTest) -> list[dict]:
    """Charts whose x axis is the window's years."""
    out = []
    for spec in specs(at):
        cats = spec["layout"].get("xaxis", {}).get("categoryarray") or []
        if cats and all(str(c).startswith(("20", "19")) and "年" in str(c) for c in cats):
            out.append(spec)
    return out


def assert_partial_drawn(spec: dict, label: str) -> None:
    cats = spec["layout"]["xaxis"]["categoryarray"]
    assert cats[-1] == label, cats
    names = [t.get("name") for t in spec["data"]]
    assert any("不完整年份" in (n or "") for n in names), names  # the legend says what the hatching means
    hatched = 0
    for trace in spec["data"]:
        shapes = ((trace.get("marker") or {}).get("pattern") or {}).get("shape")
        if isinstance(shapes, list):
            xs = list(trace["x"])
            assert [s == "/" for s in shapes] == [x == label for x in xs], trace.get("name")
            hatched += 1
    assert hatched, "no trace hatches the partial year"


def test_every_page_trend_labels_and_hatches_a_partial_year(env, nav_apptest) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["asof"] = "2021-09-30"
    at.run()
    for page, expected in YEAR_CHARTS.items():
        if page != "pages/overview.py":
            at.switch_page(page).run()
        charts = year_charts(at)
        assert len(charts) == expected, (page, [c["layout"]["title"]["text"] for c in charts])
        for spec in charts:
            assert_partial_drawn(spec, "2021年（1—9月）")
        drawn = svg_year_charts(at)
        assert len(drawn) == SVG_YEAR_CHARTS.get(page, 0), page
        for chart in drawn:
            assert_partial_svg(chart, "2021年（1—9月）")
        assert any("2021年只统计到9月30日" in c.value for c in at.caption), page
    at.switch_page("pages/bigscreen.py")
    for view, expected in BIGSCREEN_YEAR_CHARTS.items():
        at.query_params["view"] = str(view)
        at.run()
        charts = svg_year_charts(at)
        assert len(charts) == expected, view
        for chart in charts:
            assert_partial_svg(chart, "2021年（1—9月）")
        assert "2021年只统计到9月30日" in "".join(h.proto.body for h in at.get("html"))


def svg_year_charts(at: AppTest) -> list:
    """The SVG charts (big screen, overview) whose columns are the window's years."""
    from svg_read import charts

    found = [c for h in at.get("html") for c in charts(h.proto.body)]
    return [c for c in found if c.xlabels and all(x.startswith(("20", "19")) and "年" in x for x in c.xlabels)]


def assert_partial_svg(chart, label: str) -> None:
    """The last column is the partial year, labelled with its months, hatched and lighter; the legend says so."""
    from svg_read import tostring

    assert chart.xlabels[-1] == label, chart.xlabels
    assert any("不完整年份" in k for k in chart.legend), chart.legend
    assert chart.bars, tostring(chart)
    for tip, hatched in chart.bars:
        assert hatched == tip.startswith(label), tip  # hatched exactly when the bar is the partial year's
    assert any(hatched for _, hatched in chart.bars), "no bar is hatched"
    assert chart.root.xpath('.//rect[starts-with(@fill, "url(#sc-hatch-")]'), "no hatch pattern is drawn"


def test_a_partial_last_month_is_marked_on_the_monthly_trend(env, nav_apptest) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    at.query_params["asof"] = "2021-09-15"
    at.run()
    at.switch_page("pages/milestones.py").run()
    at.switch_page("pages/bigscreen.py")
    (spec,) = specs(at)
    partial = [t for t in spec["data"] if t.get("name") == "不完整月份（虚线）"]
    assert partial and partial[0]["line"]["dash"] == "dot"
    assert partial[0]["customdata"][-1] == "2021年9月（截至15日）"
    whole = [t for t in spec["data"] if t.get("name") == "每月受理事项（件）"][0]
    assert max(whole["x"]) < "2021-09-01"  # the partial month is not on the solid line
    at.switch_page("pages/bigscreen.py")
    at.query_params["view"] = "5"
    at.run()
    from svg_read import charts

    (chart,) = [c for h in at.get("html") for c in charts(h.proto.body)]  # the big screen's SVG timeline
    assert "不完整月份（虚线）" in chart.legend
    dotted = chart.root.xpath('.//polyline[@class="sc-line-partial"]')
    assert dotted and dotted[0].get("stroke-dasharray"), "the partial month is not dotted"
    marker = chart.root.xpath('.//circle[@class="sc-partial"]/title')
    assert marker and marker[0].text_content().startswith("2021年9月（截至15日）：")
    solid = chart.root.xpath('.//polyline[@class="sc-line"]')[0].get("points").split()
    assert len(dotted[0].get("points").split()) == 2  # only the last step is dotted
    assert solid[-1] == dotted[0].get("points").split()[0]  # the solid line stops at the last whole month


def test_every_deck_trend_labels_and_hatches_a_partial_year(cur) -> None:
    f = Filters(as_of=date(2021, 9, 30), year_from=2019, year_to=2021)
    prs = Presentation(io.BytesIO(deck.build(cur, f, generated_on=date(2026, 1, 15))))
    found = 0
    for slide in prs.slides:
        for shape in slide.shapes:
            if not shape.has_chart:
                continue
            chart = shape.chart
            cats = [str(c) for c in chart.plots[0].categories]
            if not cats or not all(c[:2] in ("19", "20") and "年" in c for c in cats):
                continue
            found += 1
            assert cats == ["2019年", "2020年", "2021年（1—9月）"], (shape.name, cats)
            for series in chart.plots[0].series:
                xml = series._element.xml
                assert "pattFill" in xml and '<c:idx val="2"/>' in xml, (shape.name, series.name)
    table = metrics.category_table(cur, f)
    assert found == 1 + len(table) + 1  # all categories, one per category, organisations founded
    texts = "\n".join(deck.slide_texts(deck.build(cur, f, generated_on=date(2026, 1, 15))))
    assert "2021年数据截至9月30日" in texts
