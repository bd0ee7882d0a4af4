"""队伍: 三长 (building, lane and street heads) by role and community, flows, party share, coverage."""
import streamlit as st

from chuangshu import charts, ui

f = ui.page_header("队伍", "楼长、巷长、街长（三长）队伍的规模、结构与覆盖。")
summary = ui.get("volunteer_summary", f)
cols = st.columns(5)
ui.metric_card(cols[0], "volunteers", summary["total"])
ui.metric_card(cols[1], "party_share", summary["party_share"])
ui.metric_card(cols[2], "compounds_with_heads", summary["compounds_with_heads"])
ui.metric_card(cols[3], "heads_per_compound", summary["heads_per_compound"])
ui.metric_card(cols[4], "heads_per_100_households", summary["heads_per_100_households"])

by_community = summary["by_community"]
ui.chart(charts.bars(by_community, "short_name", "n", "各社区在任三长人数", color="role",
                     x_title="社区", y_title="在任人数（名）", order=["楼长", "巷长", "街长"]),
         by_community, "各社区三长")
flows = ui.get("volunteer_flows", f)
left, right = st.columns(2)
with left:
    ui.chart(charts.bars(flows, "year", "appointed", "每年新任三长", color="role", x_title="年份",
                         y_title="新任（名）", order=["楼长", "巷长", "街长"]), flows, "三长新任")
with right:
    ui.chart(charts.bars(flows, "year", "departed", "每年离任三长", color="role", x_title="年份",
                         y_title="离任（名）", order=["楼长", "巷长", "街长"]), flows, "三长离任")
st.subheader("小区覆盖")
ui.table(summary["coverage"], {"community": ("社区", "text"), "compound": ("小区", "text"),
                               "households": ("户数", "count"), "buildings": ("楼栋数", "count"),
                               "heads": ("在任楼长", "count")}, height=360)
ui.definitions(["volunteers", "building_heads", "party_share", "compounds_with_heads", "heads_per_compound",
                "heads_per_100_households"])
