"""项目与活动: 微创熟 micro-projects by round, year and community; activities by year and kind."""
import streamlit as st

from chuangshu import charts, ui

APPLIES = ("years", "communities")  # projects and activities have no case category
f = ui.page_header("项目与活动", "“微创熟”项目资助（2015 年起分批评审）与邻里节等社区活动。", applies=APPLIES)
projects = ui.get("micro_projects", f)
totals = ui.get("micro_project_totals", f)
st.subheader("微创熟项目")
if not totals["applications"]:
    ui.empty_state("微创熟项目申报", f, APPLIES)
else:
    cols = st.columns(4)
    for col, key in zip(cols, ("applications", "approval_rate", "funds_granted", "completion_rate")):
        ui.metric_card(col, key, totals[key])
    by_year = projects["year"]
    ui.chart(charts.bars(by_year, "year", "funds_wan", "每年立项资助金额", x_title="申报年份",
                         y_title="资助金额（万元）"), by_year, "微创熟逐年资助", applies=APPLIES, what="立项资助的项目")
    st.markdown("**按评审批次**")
    ui.table(projects["round"], {"review_round": ("评审批次", "text"), "applications": ("申报", "count"),
                                 "funded": ("立项", "count"), "approval_rate": ("立项率", "pct"),
                                 "funds_wan": ("资助金额", "wan"), "avg_score": ("平均得分", "float")}, height=320)
    st.markdown("**按社区**")
    ui.table(projects["community"], {"community": ("社区", "text"), "applications": ("申报", "count"),
                                     "funded": ("立项", "count"), "approval_rate": ("立项率", "pct"),
                                     "funds_wan": ("资助金额", "wan"), "completion_rate": ("结项率", "pct")},
             height=320)

st.subheader("社区活动")
activities = ui.get("activities_by_year", f)
left, right = st.columns(2)
with left:
    ui.chart(charts.bars(activities, "year", "activities", "每年开展的社区活动", color="kind",
                         x_title="年份", y_title="活动（场）"), activities, "活动场次", applies=APPLIES,
             what="社区活动记录")
with right:
    ui.chart(charts.bars(activities, "year", "participants", "每年活动参与人次", color="kind",
                         x_title="年份", y_title="参与（人次）"), activities, "活动参与人次", applies=APPLIES,
             what="社区活动记录")
ui.definitions(["applications", "approval_rate", "funds_granted", "completion_rate", "activities", "participants"])
