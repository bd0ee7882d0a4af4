"""目标设置: the 考核 targets (defaults from data/reference/targets.csv, administrators' edits on top);
admins only. A save is audited, applies at once in every session and survives database reloads
(chuangshu/targets.py, docs/assessment.md)."""
import streamlit as st

from chuangshu import assessment_ui as aui
from chuangshu import metrics, ui
from etl.api import PERIODS, SCOPE_KINDS, SOURCES

user = ui.require("targets")  # admins only: the targets every community is judged against
ui.page_header("目标设置", "考核目标的默认值来自参考数据 targets.csv；在这里修改的目标优先于默认值，"
                        "保存后立即对所有用户生效，数据库重新载入后仍然保留，每次修改都记入审计日志。", applies=())
overlay = ui.overlay()
table = ui.get("targets", overlay)
rules = ui.get("assessment_config")
communities, _ = ui.choices()
labels = {k: metrics.METRICS[k].label for k in metrics.TARGETABLE}

st.subheader("当前目标")
aui.targets_table(table)

st.subheader("设置一项目标")
a, b, c = st.columns(3)
metric = a.selectbox("指标", list(labels), format_func=labels.get, key="tf_metric")
kind = b.selectbox("范围", list(SCOPE_KINDS), key="tf_scope_kind")
names = {"街道": [""], "同类组": [g.name for g in rules.groups], "社区": communities}[kind]
scope = c.selectbox("名称", names, key=f"tf_scope_{kind}", format_func=lambda n: n or "全街道",
                    disabled=kind == "街道")
d, e, g = st.columns(3)
period = d.selectbox("考核期", list(PERIODS), key="tf_period",
                     help="「全部」适用于任何考核期和各页面的指标卡；月、季、年只用于考核页对应的考核期")
value = e.number_input(f"目标值（{aui.direction_words(metric)}；比率按百分数填写）", min_value=0.0,
                       value=aui.suggested_target(table, metric), step=0.5, key=f"tf_target_{metric}")
source = g.selectbox("来源", list(SOURCES), key="tf_source", index=list(SOURCES).index("自定"))
note = st.text_input("说明（可选，如考核文件名、会议纪要）", key="tf_note", max_chars=200)
if st.button("保存目标", type="primary", icon=":material/save:", key="tf_save"):
    aui.save_target(user, overlay, table, metric=metric, scope_kind=kind, scope=scope or "", period=period,
                    target=float(value), source=source, note=note)
aui.saved_message()

edited = table[table["origin"] == "修改"]
if len(edited):
    st.subheader("恢复默认")
    keys = list(zip(edited["metric"], edited["scope_kind"], edited["scope"], edited["period"]))
    key = st.selectbox("已修改的目标", keys, key="tf_remove",
                       format_func=lambda k: f"{labels.get(k[0], k[0])} · {k[2] or '全街道'} · {k[3]}")
    if st.button("恢复为默认值", key="tf_remove_button", icon=":material/undo:"):
        aui.remove_target(user, overlay, key)

st.subheader("修改记录")
aui.target_history(labels)
