"""桂城“创熟”治理数据看板: entry point (`make run`, i.e. `python -m chuangshu.serve`; see chuangshu/serve.py)."""
from __future__ import annotations

import streamlit as st

from chuangshu import guard, heap, phone_ui, signin, ui
from chuangshu.paths import db_path

st.set_page_config(page_title="桂城“创熟”治理数据", page_icon=":material/diversity_3:", layout="wide")
user = signin.gate()  # the sign-in screen, and stop, unless someone is signed in (docs/access.md)

if not db_path().exists():
    from etl.api import ensure_sample_db

    with st.spinner("首次运行：正在用示例台账生成数据库，约需十几秒……"):
        ensure_sample_db()

PAGES = {
    "治理成效": [
        st.Page("pages/overview.py", title="总览", icon=":material/dashboard:", default=True),
        st.Page("pages/assessment.py", title="考核", icon=":material/leaderboard:"),
        st.Page("pages/cases.py", title="事项", icon=":material/assignment:"),
        st.Page("pages/teams.py", title="队伍", icon=":material/groups:"),
        st.Page("pages/organizations.py", title="组织", icon=":material/account_tree:"),
        st.Page("pages/projects.py", title="项目与活动", icon=":material/volunteer_activism:"),
        st.Page("pages/community.py", title="社区画像", icon=":material/location_city:"),
        st.Page("pages/milestones.py", title="大事记", icon=":material/timeline:"),
    ],
    "数据": [
        st.Page("pages/quality.py", title="数据质量", icon=":material/fact_check:"),
        st.Page("pages/query.py", title="即席查询", icon=":material/terminal:"),
        st.Page("pages/intake.py", title="数据上报", icon=":material/upload_file:"),
        st.Page("pages/targets.py", title="目标设置", icon=":material/flag:"),
    ],
    "汇报": [
        st.Page("pages/export.py", title="汇报导出", icon=":material/slideshow:"),
        st.Page("pages/bigscreen.py", title="大屏", icon=":material/tv:", url_path="bigscreen"),
        st.Page("pages/mobile.py", title="手机版", icon=":material/smartphone:", url_path="m"),
    ],
}

# Pages whose figures do not come from the sidebar's filters say so next to them.
FILTER_NOTES = {"query": "即席查询不使用这些筛选：条件写在 SQL 或查询参数里。",
                "intake": "数据上报不使用这些筛选。",
                "targets": "目标设置不使用这些筛选。",
                "assessment": "考核只使用统计截至日与社区；考核期在页面上选择。",
                "export": "汇报导出沿用这里的事项类别；范围、年份和统计日在页面上单独设置。"}

page = st.navigation(signin.allowed_pages(PAGES, user), expanded=True)  # only the pages this role may open; all
# listed (a collapsed list would end in Streamlit's English "View more")
st.sidebar.markdown("### 桂城“创熟”治理数据")
signin.sidebar(user)
ui.global_style()


def show() -> None:
    """The sidebar's filters and the page, inside the error boundary (docs: chuangshu/guard.py)."""
    path = getattr(page, "url_path", "") or ""
    f = ui.sidebar_filters(FILTER_NOTES.get(path))
    ui.alert_badge(f)  # how many warnings fire at the as-of date, linking to 考核 (cached per database version)
    phone_ui.offer(path)
    page.run()


guard.run(show)
heap.freeze_after_run()  # in the server, once: the pages' modules join start-up's frozen objects (chuangshu.heap)
