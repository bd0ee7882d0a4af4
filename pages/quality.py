"""数据质量: load batches, rejects per file with reasons, stale communities, new compounds, freshness."""
import streamlit as st

from chuangshu import dictionary, fmt, metrics, ui

APPLIES = ()  # load records cover the whole sub-district; only the as-of date (and, for 逾期未报, communities) apply
ui.require("quality")  # admins only: load records and rejects cover every community
f = ui.page_header("数据质量", "台账载入记录、退回行及原因、上报时效。", applies=APPLIES,
                   partly={"communities": "「逾期未报」"})
q = ui.get("data_quality", f)
meta = q["meta"]
cols = st.columns(3)
cols[0].metric("数据库版本", f"第 {meta['db_version']} 版" if meta.get("db_version") else fmt.DASH, border=True,
               delta=f"发布于 {fmt.timestamp_cn(meta.get('published_at'))}", delta_color="off", delta_arrow="off")
ui.metric_card(cols[1], "rejected_rows", q["reject_total"])
ui.metric_card(cols[2], "stale_communities", q["stale_count"])

st.subheader("退回清单")
picked = ui.table(q["rejects_by_file"], {"source_file": ("文件", "text"), "rejects": ("退回行数", "count"),
                                         "file_errors": ("整份无法读取", "count"), "example": ("原因示例", "text")},
                  key="reject_files", selectable=True, empty="没有退回的行：所有台账行都已载入。")
chosen = ui.selected(picked, q["rejects_by_file"], "source_file")
if len(q["rejects_by_file"]):
    st.caption("点选上表一行只看该文件" if chosen is None else f"只看：{chosen}")
    ui.table(ui.get("reject_rows", chosen), {"source_file": ("文件", "text"), "sheet": ("工作表", "text"),
                                             "row_number": ("行号", "count"), "reason": ("原因", "text")},
             height=320)
    st.caption("工作表为「—」：CSV 文件没有工作表；行号为「—」：整份无法读取的文件。")

left, right = st.columns(2)
with left:
    st.subheader("上报时效")
    ui.table(q["freshness"], {"community": ("社区", "text"), "cases_latest": ("最近事项登记", "date"),
                              "activities_latest": ("最近活动", "date")}, height=360, empty="社区名单为空。")
with right:
    st.subheader("待确认的新小区")
    st.caption("台账中出现、但小区名单中还没有的名称：请确认后加入名单，或与已有小区合并。")
    ui.table(q["new_compounds"], {"community": ("社区", "text"), "compound": ("小区名称（按台账原样）", "text")},
             height=360, empty="没有待确认的新小区：台账中的小区都在名单中。")

st.subheader("逾期未报")
kinds = dictionary.LEDGER_TITLES
k_col, lag_col = st.columns(2)
kind = k_col.selectbox("台账", list(kinds), format_func=kinds.get, key="overdue_kind")
lag = int(lag_col.number_input("允许滞后（月）", 0, 24, metrics.OVERDUE_LAG_MONTHS, key="overdue_lag"))
late = ui.get("overdue_submissions", f, kind, lag)
ui.metric_card(st, "overdue_communities", len(late))
scope = "、".join(f.communities) if f.communities else "全部社区"
st.caption(f"应报至 {fmt.month_cn(metrics.due_month(f.as_of, lag))}（允许滞后 {lag} 个月）· 范围：{scope}（按侧栏的社区筛选）")
ui.table(late, {"community": ("社区", "text"), "latest_label": ("已报至（月）", "text"),
                "months_behind": ("落后（月）", "count"), "last_loaded_label": ("最近上报", "text"),
                "last_file": ("最近文件", "text"), "submissions": ("上报次数", "count")}, height=300,
         empty="没有逾期未报的社区。")

st.subheader("载入记录")
ui.table(q["batches"], {"batch_id": ("批次", "count"), "source_file": ("文件", "text"),
                        "loaded_at": ("载入时间", "datetime"), "status": ("状态", "text"),
                        "rows_read": ("读取", "count"), "rows_new": ("新增", "count"),
                        "rows_changed": ("变更", "count"), "rows_unchanged": ("未变", "count"),
                        "rows_removed": ("移除", "count"), "rows_rejected": ("退回", "count"),
                        "message": ("说明", "text")}, height=360, empty="还没有载入记录。")
