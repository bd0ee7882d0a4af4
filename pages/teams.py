"""队伍: 三长 (building, lane and street heads) by role and community, flows, party share, coverage."""
import streamlit as st

from chuangshu import charts, ui

APPLIES = ("years", "communities")  # 三长 have no case category
f = ui.page_header("队伍", "楼长、巷长、街长（三长）队伍的规模、结构与覆盖。", applies=APPLIES)
summary = ui.get("volunteer_summary", f)
flows = ui.get("volunteer_flows", f)
if not summary["total"] and flows.empty:
    ui.empty_state("三长名册记录", f, APPLIES)
    st.stop()
cols = st.columns(5)
ui.metric_card(cols[0], "volunteers", summary["total"])
ui.metric_card(cols[1], "party_share", summary["party_share"])
ui.metric_card(cols[2], "compounds_with_heads", summary["compounds_with_heads"])
ui.metric_card(cols[3], "heads_per_compound", summary["heads_per_compound"])
ui.metric_card(cols[4], "heads_per_100_households", summary["heads_per_100_households"])

by_community = summary["by_community"]
ui.chart(charts.bars(by_community, "short_name", "n", "各社区在任三长人数", color="role",
                     x_title="社区", y_title="在任人数（名）", order=["楼长", "巷长", "街长"]),
         by_community, "各社区三长", applies=APPLIES, what="在任的三长")
left, right = st.columns(2)
with left:
    ui.chart(charts.bars(flows, "year", "appointed", "每年新任三长", color="role", x_title="年份",
                         y_title="新任（名）", order=["楼长", "巷长", "街长"]), flows, "三长新任",
             applies=APPLIES, what="新任的三长")
with right:
    ui.chart(charts.bars(flows, "year", "departed", "每年离任三长", color="role", x_title="年份",
                         y_title="离任（名）", order=["楼长", "巷长", "街长"]), flows, "三长离任",
             applies=APPLIES, what="离任的三长")
st.subheader("小区覆盖")
ui.table(summary["coverage"], {"community": ("社区", "text"), "compound": ("小区", "text"),
                               "households": ("户数", "count"), "buildings": ("楼栋数", "count"),
                               "heads": ("在任楼长", "count")}, height=360,
         empty="所选社区的小区名单中没有小区（户数、楼栋资料以街道小区名单为准）。")
ui.definitions(["volunteers", "building_heads", "party_share", "compounds_with_heads", "heads_per_compound",
                "heads_per_100_households"])
