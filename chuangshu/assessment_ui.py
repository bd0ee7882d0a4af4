"""The 考核 page's building blocks: the league table (colour plus symbol), movers, the warning list and the
panel with the rows behind a clicked figure. Every number comes from chuangshu.assessment through
:func:`chuangshu.ui.get`; this module only lays it out.
"""
from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from chuangshu import assessment, fmt, metrics, ui
from chuangshu.assessment import SUBDISTRICT, Drill, League

# Light backgrounds of a judged cell; the symbol and word in the cell say the same (never colour alone).
BACKGROUND = assessment.BACKGROUND
LEGEND = ("✓ 达标（绿）　△ 接近目标（黄：达到目标的 {amber:.0%} 以上）　× 未达标（红）　"
          "· 未评：没有目标，或分母少于该指标的最少件数　「—」无法计算")
# Column widths in pixels: the whole table fits a 1440-pixel screen with the sidebar closed, and a cell's
# place on screen is known (tests/test_browser.py clicks one).
WIDTHS = {"community": 92, "peer_group": 56, "received": 52, "index": 72, "rank": 52, "change": 52, "metric": 84}
SHORT = assessment.SHORT  # column headers of the league table (the deck uses the same)


cell_text = assessment.cell_text  # '96.4% ✓': the page and the deck write a cell alike


def league_frame(league: League) -> pd.DataFrame:
    """The table as shown: community, peer group, received, index, rank, change and one column per metric."""
    t = league.table
    keys = list(league.metrics["metric"])
    out = pd.DataFrame({"community": t["community"], "peer_group": t["peer_group"].astype("object"),
                        "received": t["received"].astype("float64"),
                        "index": pd.to_numeric(t["index"], errors="coerce").astype("float64"),
                        # words, not numbers: a missing rank says why (样本不足), a missing change too (新进); the
                        # grid shows a null cell empty whatever its display value. Sort by 创熟指数 for the rank order.
                        "rank": t["rank_label"].astype("object"), "change": t["change_label"].astype("object")})
    for k in keys:
        out[k] = pd.to_numeric(t[k], errors="coerce").astype("float64")
    return out


def _styled(league: League, frame: pd.DataFrame) -> Any:
    """Display values (rank label, ↑3, 96.4% ✓) and backgrounds over the numeric frame (sorting stays numeric)."""
    t = league.table
    keys = list(league.metrics["metric"])
    styler = frame.style
    colours = pd.DataFrame("", index=frame.index, columns=frame.columns)
    for i in range(len(frame)):
        row = t.iloc[i]
        formats = {"index": (lambda v: fmt.DASH if fmt.missing(v) else f"{float(v):.1f}"),
                   "received": (lambda v: fmt.count(v))}
        for k in keys:
            state = row[f"{k}__status"]
            formats[k] = (lambda v, k=k, state=state: cell_text(k, v, state))
            colours.iloc[i, frame.columns.get_loc(k)] = (f"background-color: {BACKGROUND[state]}"
                                                         if state in BACKGROUND else "")
        styler = styler.format(formats, subset=pd.IndexSlice[[frame.index[i]], list(formats)], na_rep=fmt.DASH)
        if row["community"] == SUBDISTRICT:
            colours.iloc[i, frame.columns.get_loc("community")] = "font-weight: bold"
    # a dict formatter without a subset would reset every other column's format: name the columns
    styler = styler.format(lambda v: fmt.DASH if fmt.missing(v) else str(v), subset=["community", "peer_group", "rank", "change"])
    return styler.apply(lambda _: colours, axis=None)


def league_columns(league: League) -> dict[str, Any]:
    """Column headers with the 口径, weight and minimum of each metric on hover."""
    w = WIDTHS
    config = {"community": st.column_config.TextColumn("社区", pinned=True, width=w["community"]),
              "peer_group": st.column_config.TextColumn("同类组", width=w["peer_group"],
                                                        help="按户数划分的同类社区组（peer_groups）"),
              "received": st.column_config.NumberColumn("受理", width=w["received"], help="本期受理事项（件）：少于 "
                                                        f"{league.min_cases} 件的社区样本不足，不排名"),
              "index": st.column_config.NumberColumn("创熟指数", width=w["index"],
                                                     help=metrics.METRICS["assessment_index"].definition),
              "rank": st.column_config.TextColumn("排名" if league.group is None else "组内排名", width=w["rank"],
                                                  help="按创熟指数从高到低，并列同名次（按名次排序请点创熟指数列）；"
                                                       f"本期受理少于 {league.min_cases} 件为样本不足，不排名"),
              "change": st.column_config.TextColumn("变化", width=w["change"],
                                                      help=f"与{league.previous.label}（同样的目标）相比的名次变化")}
    for r in league.metrics.itertuples(index=False):
        config[r.metric] = st.column_config.NumberColumn(
            SHORT.get(r.metric, r.label), width=w["metric"], help=f"{r.label}（{r.unit}，{'越高越好' if r.better == 'higher' else '越低越好'}，"
                                               f"权重 {r.weight:g}）：{r.definition}")
    return config


def league_table(league: League, key: str = "league") -> tuple[str, str] | None:
    """The league table with single-cell selection; returns the clicked (community, column) or None."""
    frame = league_frame(league)
    event = st.dataframe(_styled(league, frame), column_config=league_columns(league), hide_index=True,
                         width="content", height=min(38 + 35 * len(frame) + 2, 640), placeholder=fmt.DASH,
                         on_select="rerun", selection_mode="single-cell", key=key)
    st.caption(LEGEND.format(amber=league.amber) + "。点选任一单元格，下方显示它的口径、目标和明细（含来源文件与行号）。")
    cells = event.selection.cells if event is not None and hasattr(event, "selection") else []
    if not cells:
        return None
    row, column = cells[0]
    if not 0 <= row < len(frame):
        return None
    return str(frame.iloc[row]["community"]), str(column)


def cell_panel(league: League, community: str, column: str, f_key: str = "league") -> None:
    """What a clicked cell stands for: a metric's figure, target, 口径 and rows; or a community's index, metric by metric."""
    metrics_shown = list(league.metrics["metric"])
    if column in metrics_shown:
        metric_panel(league, community, column, key=f"{f_key}_rows")
    else:
        index_panel(league, community)


def index_panel(league: League, community: str) -> None:
    """A community's 创熟指数 taken apart: each metric's value, target, source, score and weight."""
    row = league.table[league.table["community"] == community]
    if row.empty:
        return
    r = row.iloc[0]
    index = fmt.DASH if fmt.missing(r["index"]) else f"{float(r['index']):.1f}"
    st.markdown(f"**{community} · {league.span.label} · 创熟指数 {index}**")
    if r["why"]:
        st.caption(r["why"])
    cells = league.cells[league.cells["community"] == community].merge(
        league.metrics[["metric", "label", "weight"]], on="metric")
    cells = cells.assign(value_text=[cell_text(m, v, s) for m, v, s in zip(cells["metric"], cells["value"], cells["status"])],
                         target_text=[assessment.target_text(m, t) for m, t in zip(cells["metric"], cells["target"])],
                         status_text=[assessment.status_text(s) for s in cells["status"]],
                         score_pct=[None if fmt.missing(s) else 100 * float(s) for s in cells["score"]],
                         target_source=cells["target_source"].fillna(fmt.DASH))
    ui.table(cells, {"label": ("指标", "text"), "value_text": ("本期", "text"), "target_text": ("目标", "text"),
                     "target_source": ("目标来源", "text"), "status_text": ("状态", "text"),
                     "score_pct": ("得分（%）", "float"), "weight": ("权重", "float")}, key="index_parts")
    st.caption("创熟指数 = Σ 权重 × 得分 ÷ Σ 权重 × 100（只计有目标、分母达到最少件数的指标）；"
               "点选表中某项指标的单元格可查看它的明细。")


def metric_panel(league: League, community: str, metric: str, key: str) -> None:
    """One cell: the figure with numerator and denominator, its target and status, the 口径, and the rows."""
    cell = league.cells[(league.cells["community"] == community) & (league.cells["metric"] == metric)]
    if cell.empty:
        return
    c = cell.iloc[0]
    m = metrics.METRICS[metric]
    value = fmt.metric_value(c["value"], m.unit, m.kind)
    st.markdown(f"**{community} · {league.span.label} · {m.label} {value}**"
                f"（{fmt.count(c['num'])} / {fmt.count(c['den'])}）· {assessment.target_text(metric, c['target'])}"
                f"{'（' + str(c['target_source']) + '）' if not fmt.missing(c['target_source']) else ''}"
                f" · {assessment.status_text(c['status'])}")
    drill = Drill("metric", metric, None if community == SUBDISTRICT else community, league.span.end,
                  league.span.start, title=f"{community}{league.span.label}{m.label}")
    rows_panel(drill, key)


def rows_panel(drill: Drill, key: str) -> None:
    """The 口径 and the rows behind a figure, with their source file and row number, and a download."""
    from chuangshu.export import to_xlsx_bytes

    found = ui.get("rows", drill)
    st.caption(f"口径：{found.definition}")
    if found.note:
        st.caption(found.note)
    ui.table(found.frame, found.columns, height=360, empty="没有对应的记录。")
    if found.extra is not None and found.extra_columns:
        ui.table(found.extra, found.extra_columns, height=240, empty="小区名单中的小区都有在任楼长。")
    if len(found.frame):
        frame, columns = found.frame, found.columns
        st.download_button("下载明细", lambda: to_xlsx_bytes(_labelled(frame, columns)), file_name=f"{found.title}.xlsx",
                           mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                           icon=":material/download:", type="tertiary", key=f"dl_{key}", on_click="ignore")


def _labelled(frame: pd.DataFrame, columns: dict[str, tuple[str, str]]) -> pd.DataFrame:
    """The rows as shown: the displayed columns under their Chinese headers."""
    return frame[[c for c in columns if c in frame.columns]].rename(columns={c: v[0] for c, v in columns.items()})


def movers(league: League) -> None:
    """The five communities that rose most and the five that fell most since the previous period."""
    left, right = st.columns(2)
    for col, direction, title in ((left, "up", "上升最多"), (right, "down", "下降最多")):
        part = league.movers[league.movers["direction"] == direction]
        with col:
            st.markdown(f"**{title}**（与{league.previous.label}相比）")
            if part.empty:
                st.caption("没有名次" + ("上升" if direction == "up" else "下降") + "的社区。")
                continue
            ui.table(part.assign(rank_text=[str(int(r)) for r in part["rank"]],
                                 prev_text=[str(int(r)) for r in part["prev_rank"]]),
                     {"community": ("社区", "text"), "change_label": ("变化", "text"), "rank_text": ("本期名次", "text"),
                      "prev_text": ("上期名次", "text"), "index": ("创熟指数", "float")})


def alert_list(found: pd.DataFrame, key: str = "alerts") -> Drill | None:
    """The warnings (rule, where, threshold, value), selectable; returns the picked warning's Drill."""
    if found.empty:
        st.success("统计截至日没有触发预警。", icon=":material/check_circle:")
        return None
    picked = ui.table(found.drop(columns=["drill"]), {"title": ("规则", "text"), "where": ("对象", "text"), "threshold": ("阈值", "text"),
                              "value": ("数值", "text")}, height=420, key=key, selectable=True)
    drill = ui.selected(picked, found, "drill")
    return drill if isinstance(drill, Drill) else None


def definitions(league: League, rules: assessment.Config, alert_rules: pd.DataFrame) -> None:
    """The 考核's 口径: the index and its weights, where targets come from, the colours, peer groups, warnings."""
    st.markdown(f"**创熟指数**：{metrics.METRICS['assessment_index'].definition}")
    shown = league.metrics.assign(direction=["越高越好" if b == "higher" else "越低越好" for b in league.metrics["better"]])
    ui.table(shown, {"label": ("指标", "text"), "dimension": ("维度", "text"), "weight": ("权重", "float"),
                     "direction": ("方向", "text"), "min_base": ("最少件数", "count"), "definition": ("口径", "text")},
             key="assess_weights")
    st.markdown(
        "**目标**：先找明确的目标（data/reference/targets.csv，管理员在「目标设置」页的修改优先），范围从具体到一般："
        "本社区 → 所在同类组 → 街道，同一范围内本考核期（月、季、年）的目标先于「全部」；都没有时用**历史目标**："
        f"本社区考核期之前 {rules.history_months} 个完整月份的月度值的平均值减一个标准差（越低越好的指标为加一个标准差），"
        f"有效月份少于 {rules.history_min_months} 个时用这些月份合计值的**街道中位数**（社区账号不用街道中位数）。"
        "每个目标旁注明来源：政策、历史、自定，或计算出的历史目标。")
    st.markdown(
        f"**红黄绿灯**：得分 = 实际值 ÷ 目标（越低越好的指标为 目标 ÷ 实际值），封顶 {rules.cap:g}；"
        f"得分不低于 1 为 ✓ 达标，不低于 {rules.amber:g} 为 △ 接近，否则为 × 未达标。"
        f"本期受理事项少于最少件数（按月 {rules.min_cases['month']} 件、按季 {rules.min_cases['quarter']} 件、"
        f"按年 {rules.min_cases['year']} 件）的社区显示「样本不足」，不计指数、不排名。")
    groups = pd.DataFrame([{"name": g.name, "label": g.label} for g in rules.groups])
    ui.table(groups, {"name": ("同类组", "text"), "label": ("户数范围", "text")}, key="assess_groups")
    st.markdown("**预警规则**（data/reference/alert_rules.csv）")
    ui.table(alert_rules, {"title": ("规则", "text"), "threshold_text": ("阈值", "text"),
                           "enabled_text": ("状态", "text"), "note": ("说明", "text")}, key="assess_rules")


# --- the 目标设置 page -------------------------------------------------------------------------------------

SAVED_KEY = "target_saved"


def direction_words(metric: str) -> str:
    """'不低于' for a metric where higher is better, '不高于' otherwise."""
    return assessment.DIRECTION[metrics.METRICS[metric].better or "higher"]


def suggested_target(table: pd.DataFrame, metric: str) -> float:
    """The value the form starts from: the metric's sub-district target (全部) if there is one, else 90 or 0."""
    hit = table[(table["metric"] == metric) & (table["scope_kind"] == "街道") & (table["period"] == "全部")]
    if len(hit):
        return float(hit["target"].iloc[0])
    return 90.0 if metrics.METRICS[metric].kind == "rate" and metrics.METRICS[metric].better == "higher" else 0.0


def targets_table(table: pd.DataFrame) -> None:
    """Every explicit target with its default, who changed it and when, and any disagreement to resolve."""
    def shown(m: str, v: Any) -> str:
        return fmt.DASH if fmt.missing(v) else fmt.metric_value(v, metrics.METRICS[m].unit, metrics.METRICS[m].kind)

    view = table.assign(
        scope_text=[s or "全街道" for s in table["scope"]],
        target_text=[shown(m, t) for m, t in zip(table["metric"], table["target"])],
        default_text=[shown(m, d) for m, d in zip(table["metric"], table["default"])],
        remark=[("默认值已在修改后变更，请核对；" if c else "") + ("方向与指标定义不符，按指标定义计；" if not ok else "") + n
                for c, ok, n in zip(table["conflict"], table["direction_ok"], table["note"])],
        edited=[f"{b} · {fmt.timestamp_cn(a)}" if b else "" for b, a in zip(table["edited_by"], table["edited_at"])])
    ui.table(view, {"label": ("指标", "text"), "scope_kind": ("范围", "text"), "scope_text": ("名称", "text"),
                    "period": ("考核期", "text"), "direction": ("方向", "text"), "target_text": ("目标", "text"),
                    "source": ("来源", "text"), "origin": ("默认/修改", "text"), "default_text": ("默认值", "text"),
                    "edited": ("修改人 · 时间", "text"), "remark": ("说明", "text")}, height=420,
             empty="还没有任何明确目标：所有指标都用历史目标。")
    st.caption("没有明确目标的指标用历史目标（本社区近 12 个月的平均值减一个标准差，或街道中位数），见「考核」页的口径说明。")


def save_target(user: Any, overlay: Any, table: pd.DataFrame, **target: Any) -> None:
    """Save one target for ``user`` (refused unless an admin), say so, and rerun so every figure uses it."""
    from chuangshu import signin, targets

    same = table[(table["metric"] == target["metric"]) & (table["scope_kind"] == target["scope_kind"])
                 & (table["scope"] == target["scope"]) & (table["period"] == target["period"])]
    base = None if same.empty or fmt.missing(same["default"].iloc[0]) else float(same["default"].iloc[0])
    try:
        targets.set_target(user, **target, base=base, expected_version=overlay.version,
                           targetable={k: metrics.METRICS[k].kind for k in metrics.TARGETABLE},
                           client=signin.client_address())
    except (targets.TargetEditError, targets.NotAllowed) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    m = metrics.METRICS[target["metric"]]
    st.session_state[SAVED_KEY] = (f"已保存：{m.label} · {target['scope'] or '全街道'} · {target['period']} · "
                                   f"{direction_words(target['metric'])} {fmt.metric_value(target['target'], m.unit, m.kind)}"
                                   "。已对所有用户生效。")
    st.rerun()


def remove_target(user: Any, overlay: Any, key: tuple[str, str, str, str]) -> None:
    """Remove one edit (the default applies again), audited."""
    from chuangshu import signin, targets

    try:
        targets.remove_target(user, key, expected_version=overlay.version, client=signin.client_address())
    except (targets.TargetEditError, targets.NotAllowed) as exc:
        st.error(str(exc), icon=":material/error:")
        return
    st.session_state[SAVED_KEY] = "已恢复默认值。已对所有用户生效。"
    st.rerun()


def saved_message() -> None:
    if st.session_state.get(SAVED_KEY):
        st.success(st.session_state.pop(SAVED_KEY), icon=":material/check_circle:")


def target_history(labels: dict[str, str]) -> None:
    """The audit trail of target changes, newest first."""
    from chuangshu import targets

    changes = targets.history(100)
    if not changes:
        st.caption("还没有修改记录。")
        return
    log = pd.DataFrame([{"when": fmt.timestamp_cn(c.get("when")), "user": c.get("user") or fmt.DASH,
                         "action": {"set": "设置", "remove": "恢复默认"}.get(c.get("action"), str(c.get("action"))),
                         "what": f"{labels.get(c.get('metric'), c.get('metric'))} · {c.get('scope') or '全街道'} · "
                                 f"{c.get('period')}",
                         "old": fmt.DASH if not c.get("old") else f"{c['old']['target']:g}",
                         "new": fmt.DASH if not c.get("new") else f"{c['new']['target']:g}"} for c in changes])
    ui.table(log, {"when": ("时间", "text"), "user": ("修改人", "text"), "action": ("操作", "text"),
                   "what": ("目标", "text"), "old": ("原值", "text"), "new": ("新值", "text")}, height=320)
    st.caption("审计日志在本机状态目录的 audit/targets.jsonl（每行一次修改：谁、何时、从哪台电脑、原值与新值）。")
