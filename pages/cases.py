"""事项: cases by category and year, service quality, backlog, ranking, heatmap, drill-down."""
import streamlit as st

from chuangshu import metrics, ui

f = ui.page_header("事项", "街坊会、自治小组、三长等力量协调处理的各类事项。")
totals = ui.get("service_totals", f)
if not (totals["received"] or totals["resolved"] or totals["open_backlog"]):
    ui.empty_state("事项记录", f)
    st.stop()
cards = st.columns(5)
for col, key in zip(cards, ("received", "resolved", "resolution_rate", "on_time_rate", "open_backlog")):
    ui.metric_card(col, key, totals[key])
cards = st.columns(5)
for col, key in zip(cards, ("mediation_success_rate", "follow_up_rate", "satisfaction_rate", "repeat_rate")):
    ui.metric_card(col, key, totals[key])

by_year = ui.get("cases_by_year", f)
ui.bar_chart(by_year, "year", "received", "各类事项逐年受理量", "事项逐年受理", color="category",
             x_title="登记年份", y_title="受理事项（件）", what="受理的事项")

categories = ui.get("category_table", f)
st.subheader("分类别办理情况")
ui.table(categories, {
    "label": ("类别", "text"), "received": ("受理", "count"), "resolved": ("办结", "count"),
    "resolution_rate": ("办结率", "pct"), "median_days": ("用时中位数", "days"),
    "sla_days": ("服务时限（天）", "count"), "on_time_rate": ("按时办结率", "pct"),
    "open_backlog": ("在办", "count"), "follow_up_rate": ("回访率", "pct"),
    "satisfaction_rate": ("满意率", "pct"), "repeat_rate": ("重复事项率", "pct")})
st.caption("「—」表示无法计算：该类别在所选范围内没有作分母的事项（如没有办结的事项就没有用时中位数）。")
left, right = st.columns(2)
with left:
    ui.bar_chart(categories, "label", "median_days", "各类事项办结用时中位数", "办结用时中位数", horizontal=True,
                 x_title="天", what="办结的事项")
with right:
    backlog = ui.get("backlog_ageing", f)
    ui.bar_chart(backlog, "bucket", "n", "在办事项的已办理时长", "在办事项账龄", color="category",
                 x_title="已办理时长", y_title="在办事项（件）", what="在办的事项")

ranking = ui.get("community_ranking", f)
top = ui.get("community_rate_ranking", f)
ui.bar_chart(top, "short_name", "received_per_1000", metrics.rate_ranking_title(len(top), len(ranking)), "社区排名",
             horizontal=True, x_title="件/千户", download=ranking, note=metrics.rate_ranking_note(len(top), len(ranking)),
             what="受理的事项")
matrix = ui.get("community_category_matrix", f)
ui.heatmap_chart(matrix, "社区 × 类别：受理事项分布", "社区类别分布", what="受理的事项")

st.subheader("逐级查看：街道 → 社区 → 小区 → 事项")
community = st.selectbox("社区", ranking["community"], index=None, placeholder="选择一个社区", key="drill_community")
if community:
    compounds = ui.get("compound_cases", f, community)
    st.markdown(f"**{community}** 各小区事项（点选一行查看该小区的事项）")
    picked = ui.table(compounds, {"compound": ("小区", "text"), "received": ("受理", "count"),
                                  "resolved": ("办结", "count"), "open_backlog": ("在办", "count"),
                                  "households": ("户数", "count")}, key="drill_compound", selectable=True,
                      empty="该社区在所选范围内没有事项。")
    compound = ui.selected(picked, compounds, "compound")
    pager = f"drill_page:{community}:{compound or ''}"
    cases, total, page, pages = ui.paged("case_list", pager, f, community, compound)
    st.markdown(f"**{compound or community}** 事项清单（共 {total:,} 件"
                + (f"，第 {page:,} / {pages:,} 页，每页 {metrics.CASE_PAGE:,} 件）" if pages > 1 else "）"))
    ui.table(cases, {"case_id": ("事项编号", "text"), "compound": ("小区", "text"), "label": ("类别", "text"),
                     "reported_on": ("登记日期", "date"), "resolved_on": ("办结日期", "date"),
                     "status": ("状态", "text"), "handled_by": ("处理力量", "text"), "outcome": ("结果", "text"),
                     "satisfaction": ("满意度", "text"), "description": ("事项描述", "text"),
                     "source_file": ("来源文件", "text"), "source_row": ("行号", "count")}, height=420,
             empty="所选范围内没有事项。")
    ui.pager(pager, pages)
ui.definitions(["received", "resolved", "resolution_rate", "median_days", "on_time_rate", "open_backlog",
                "mediation_success_rate", "follow_up_rate", "satisfaction_rate", "repeat_rate", "received_per_1000"])
