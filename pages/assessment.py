"""考核: how each community stands against its targets this period, who moved, what needs attention, and
the rows behind any figure (figure → 口径 → rows → source file and row number)."""
import streamlit as st

from chuangshu import assessment_ui as aui
from chuangshu import assessment, fmt, metrics, ui
from chuangshu.assessment import SUBDISTRICT
from chuangshu.filters import GRAINS

f = ui.page_header("考核", "各社区对照目标的考核：创熟指数、排名与名次变化、逐项红黄绿灯，以及需要处理的预警。",
                   applies=(), partly={"communities": "表格显示哪些社区（排名仍在全部社区之间计算）"})
scoped = ui.scope() is not None
rules = ui.get("assessment_config")
left, right = st.columns(2)
grain = left.radio("考核期", list(GRAINS), format_func=lambda g: f"按{GRAINS[g]}", horizontal=True, key="assess_grain",
                   help="考核期为统计截至日所在的月、季或年；统计截至日不在期末时按已过去的天数计，并在标题中注明")
labels = {g.name: g.label for g in rules.groups}
group = right.selectbox("比较范围", [None, *labels], key="assess_group", disabled=scoped,
                        format_func=lambda g: "全部社区" if g is None else labels[g],
                        help="选择同类组时只在组内排名，小社区与规模相近的社区比较")
overlay = ui.overlay()
league = ui.get("league_table", assessment.scope_of(f), grain, overlay, group)
found = ui.get("alerts", assessment.scope_of(f), overlay)

whole = league.table[league.table["community"] == SUBDISTRICT]
mine = whole if len(whole) else league.table.head(1)
cards = st.columns(4)
if len(mine):
    r = mine.iloc[0]
    states = [r[f"{k}__status"] for k in league.metrics["metric"]]
    if not scoped:
        index = None if fmt.missing(r["index"]) else float(r["index"])
        before = None if fmt.missing(r["prev_index"]) else float(r["prev_index"])
        change = None if index is None or before is None else index - before
        cards[0].metric("创熟指数（全街道）", fmt.metric_value(index, "分", "score"), border=True,
                        delta=None if change is None else f"{change:+.1f} 分", delta_description=f"比{league.previous.label}",
                        help=metrics.METRICS["assessment_index"].definition)
    cards[1].metric(f"达标指标（{r['community']}）", f"{states.count('met')} / {len(states)} 项", border=True,
                    delta=f"接近 {states.count('near')} 项 · 未达标 {states.count('missed')} 项", delta_color="off",
                    delta_arrow="off", help="✓ 达标、△ 接近、× 未达标；其余没有目标或样本不足，未评")
if not scoped:
    unranked = int((league.table["community"] != SUBDISTRICT).sum()) - int(league.table["rank"].notna().sum())
    cards[2].metric("参与排名的社区", f"{league.ranked_of} 个", border=True, delta_color="off", delta_arrow="off",
                    delta=f"另有 {unranked} 个不排名" if unranked else None,
                    help=f"本期受理事项不少于 {league.min_cases} 件、且有足够指标可评价的社区参与排名")
cards[3].metric("预警", f"{len(found):,} 条", border=True, help="按预警规则在统计截至日触发的预警，见本页下方")

st.subheader(f"{league.span.label}考核" + ("" if group is None else f"（{labels[group]}）"))
note = f"名次变化与{league.previous.label}比较（用同样的目标）。"
if scoped:
    note = "社区账号只显示本社区各项指标与目标的对照；创熟指数、排名和名次变化由各社区的数字比较得出，仅街道办账号可见。"
st.caption(note + "；".join(league.notes) + ("。" if league.notes else ""))
if league.table.empty:
    ui.empty_state("可考核的社区", f, ())
else:
    clicked = aui.league_table(league)
    if clicked:
        with st.container(border=True):
            aui.cell_panel(league, *clicked)

if not scoped:
    st.subheader("名次变化最大的社区")
    aui.movers(league)

st.subheader("预警")
if len(found):
    st.caption("；".join(f"{title} {n} 条" for title, n in found.groupby("title", sort=False).size().items())
               + "。点选一行查看它背后的记录（含来源文件与行号）。")
picked = aui.alert_list(found)
if picked is not None:
    with st.container(border=True):
        st.markdown(f"**{picked.title}**")
        aui.rows_panel(picked, "alert_rows")

with st.expander("考核口径：创熟指数、目标、红黄绿灯、同类组、预警规则"):
    aui.definitions(league, rules, ui.get("alert_rules_table"))
