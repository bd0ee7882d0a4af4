"""The edge sweep: every page over a grid of awkward filter sets, read as a user would read it.

For each filter set one browser session (AppTest) opens the dashboard with the filters in its
link, then visits every page (every view of the big screen, every section of the phone view, the 事项
drill-down). Each run must
end without an exception or an error box, and nothing on screen — labels, values, deltas, help,
captions, tables, plotly titles, ticks and hover texts, HTML — may contain nan, None, NaT, <NA>,
inf, an epoch number or an English month or day name (tests/edge_text.py). A link the data
cannot satisfy is corrected with a visible note.
"""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import bigscreen_ui, phone_ui
from edge_text import forbidden, rendered

APP = str(Path(__file__).resolve().parent.parent / "dashboard.py")
PAGES = ["pages/overview.py", "pages/assessment.py", "pages/cases.py", "pages/teams.py", "pages/organizations.py",
         "pages/projects.py", "pages/community.py", "pages/milestones.py", "pages/quality.py", "pages/export.py"]
OTHER_PAGES = ["pages/query.py", "pages/intake.py", "pages/targets.py"]  # they do not use the filters: two sets only

FILTER_SETS: dict[str, dict[str, str]] = {
    "default": {},
    "future_years": {"years": "2023-2026"},
    "future_as_of": {"asof": "2026-11-30", "years": "2023-2026"},
    "before_programme": {"asof": "2010-06-30", "years": "2005-2010"},
    "before_cases": {"asof": "2012-12-31", "years": "2011-2012"},
    "empty_community": {"asof": "2012-12-31", "years": "2011-2012", "c": "石龙社区"},
    "category_without_rows": {"asof": "2015-12-31", "years": "2013-2015", "k": "加装电梯"},
    "first_day_of_month": {"asof": "2022-06-01", "years": "2021-2022"},
    "last_day_of_month": {"asof": "2021-05-31"},
    "smallest_community": {"c": "夏北社区", "years": "2022-2022"},
    "all_filters": {"asof": "2021-09-15", "years": "2019-2021", "c": "夏北社区,桂南社区", "k": "停车,邻里矛盾"},
    "inconsistent_link": {"asof": "2022-13-45", "years": "2023-2022", "c": "不存在社区", "k": "噪音"},
}
CORRECTED = {"future_years", "future_as_of", "before_programme", "inconsistent_link"}


@pytest.fixture(scope="module")
def env(sample_db: Path, app_state_dir: Path):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("CHUANGSHU_DB", str(sample_db))
        mp.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
        yield


def check(at: AppTest, where: str) -> list[str]:
    """Everything wrong with what one run shows."""
    texts, problems = rendered(at)
    problems += [f"error box: {e.value}" for e in at.error]
    return [f"{where}: {p}" for p in problems + forbidden(texts)]


def open_app(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


@pytest.mark.parametrize("name", list(FILTER_SETS))
def test_every_page_survives_the_edge(env, nav_apptest, name: str) -> None:
    params = FILTER_SETS[name]
    at = open_app(params)
    found = check(at, "pages/overview.py")
    if name in CORRECTED:
        notes = [i.value for i in at.info if "链接中的筛选条件已按数据范围调整" in i.value]
        assert notes, f"{name}: the corrected link is not explained"
    pages = PAGES + (OTHER_PAGES if name in ("default", "inconsistent_link") else [])
    for page in pages[1:]:
        at.switch_page(page).run()
        found += check(at, page)
        drill = [s for s in at.selectbox if s.key == "drill_community"]
        if page == "pages/cases.py" and drill:  # the drill-down to compounds and the case list
            community = (at.session_state["filters"].communities or ("夏北社区",))[0]
            drill[0].set_value(community).run()
            found += check(at, f"{page} drill-down {community}")
        if page == "pages/assessment.py":
            found += assessment_clicks(at)
    at.switch_page("pages/bigscreen.py")
    for view in range(1, len(bigscreen_ui.VIEWS) + 1):
        at.query_params["view"] = str(view)
        at.run()
        found += check(at, f"bigscreen view {view}")
    del at.query_params["view"]
    at.switch_page("pages/mobile.py")
    for section in phone_ui.SECTIONS:  # the phone view, every section
        at.query_params["s"] = section.key
        at.run()
        found += check(at, f"phone view {section.key}")
    assert not found, "\n".join(found)


def assessment_clicks(at: AppTest) -> list[str]:
    """考核: a metric cell, an index cell and a warning opened, then the year's table and a peer group."""
    found = []
    select = lambda key, what: {"selection": {"rows": [], "columns": [], "cells": [], **what}}  # noqa: E731
    if at.dataframe and "resolution_rate" in at.dataframe[0].value.columns:
        last = len(at.dataframe[0].value) - 1
        for cell in ([last, "resolution_rate"], [0, "head_coverage"], [0, "index"], [last, "ledger_on_time_rate"]):
            at.session_state["league"] = select("league", {"cells": [cell]})
            at.run()
            found += check(at, f"pages/assessment.py cell {cell}")
    if any(s.value == "预警" for s in at.subheader) and not at.success:
        at.session_state["alerts"] = select("alerts", {"rows": [0]})
        at.run()
        found += check(at, "pages/assessment.py warning")
    at.radio(key="assess_grain").set_value("year").run()
    found += check(at, "pages/assessment.py year")
    if not at.selectbox(key="assess_group").disabled:
        at.selectbox(key="assess_group").set_value("小型").run()
        found += check(at, "pages/assessment.py peer group")
        at.selectbox(key="assess_group").set_value(None)
    at.radio(key="assess_grain").set_value("month").run()
    return found


# --- the detector itself: it must see each defect the issue found --------------------------------------

def _defects() -> None:
    import pandas as pd
    import plotly.graph_objects as go
    import streamlit as st

    which = st.query_params.get("defect")
    if which == "rank":
        st.metric("办结率", "—", delta="街道中位数 68.8%", delta_description="第 nan / 2 名")
    elif which == "none_cell":
        st.dataframe(pd.DataFrame({"工作表": ["2022年", None]}))
    elif which == "epoch":
        st.dataframe(pd.DataFrame({"载入时间": pd.to_datetime(["2026-12-01 23:48"])}),
                     column_config={"载入时间": st.column_config.TextColumn("载入时间")})
    elif which == "empty":
        st.dataframe(pd.DataFrame({"小区": pd.Series([], dtype="str")}))
    elif which == "english_tick":
        st.plotly_chart(go.Figure(go.Scatter(x=["Jan 2021", "Feb 2021"], y=[1, 2])))
    elif which == "epoch_text":
        st.caption("载入时间 1796159931000")
    elif which == "traceback":
        raise TypeError("boolean value of NA is ambiguous")
    else:
        st.caption("2022年（1—6月）：一切正常")


@pytest.mark.parametrize("defect", ["rank", "none_cell", "epoch", "empty", "english_tick", "epoch_text", "traceback"])
def test_the_sweep_sees_every_kind_of_defect(defect: str) -> None:
    at = AppTest.from_function(_defects)
    at.query_params["defect"] = defect
    at.run()
    assert check(at, defect), f"the sweep does not see {defect}"
    clean = AppTest.from_function(_defects).run()
    assert not check(clean, "clean")
