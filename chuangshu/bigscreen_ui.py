"""The 大屏 page's building blocks: settings from the link, the dark 1920×1080 CSS, tiles, the five views.

Every number comes from the metric layer through :func:`chuangshu.ui.get` (cached per database
version, narrowed to a community account's scope); this module only lays it out in large type.
"""
from __future__ import annotations

import base64
import html
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from chuangshu import charts, fmt, metrics, theme, ui
from chuangshu.filters import Filters

DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL = 20, 5, 600
POLL_S = 10  # how often the screen checks for a newly published load
BG, FG, MUTED, PANEL = "#0B1220", "#E5E7EB", "#94A3B8", "#111B2E"
VIEWS = ("数读", "事项趋势", "社区排名", "队伍与组织", "大事记")
TOP_N = 15  # bars on the ranking view
TICK_KEY, VERSION_KEY = "bs_tick", "bs_version"  # session state: views shown so far, the version on screen


# --- settings from the link ---------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """?interval= seconds per view, ?view= the one view to hold (1-based), ?chrome= keep Streamlit's own."""

    interval: int = DEFAULT_INTERVAL
    pinned: int | None = None
    chrome: bool = False

    @property
    def run_every(self) -> int | None:
        """The rotating view's timer: none when one view is held."""
        return None if self.pinned else self.interval

    @property
    def rotation(self) -> str:
        """The footer's note on rotation."""
        return "固定显示本页" if self.pinned else f"每 {self.interval} 秒切换"


def _int_param(params: Mapping[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    """A whole-number link parameter clamped to [low, high]; ``default`` when absent or not a number."""
    try:
        return max(low, min(high, int(str(params.get(name, "")).strip())))
    except ValueError:
        return default


def settings(params: Mapping[str, Any]) -> Settings:
    """The screen's settings from the page's query parameters (bad values fall back to the defaults)."""
    interval = _int_param(params, "interval", DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL) or DEFAULT_INTERVAL
    return Settings(interval=interval, pinned=_int_param(params, "view", None, 1, len(VIEWS)),
                    chrome=params.get("chrome") in ("1", "true", "on"))


# --- the frame: CSS, top bar, footer ----------------------------------------------------------------

CHROME = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stMainMenu"], footer { display: none !important; }
"""


def style(chrome: bool) -> None:
    """The dark full-screen stylesheet; Streamlit's sidebar, header and toolbar hidden unless ``chrome``."""
    st.html(f"""<style>
{'' if chrome else CHROME}
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{ background: {BG} !important; color: {FG}; }}
[data-testid="stMainBlockContainer"] {{ max-width: 100% !important; padding: 22px 44px 10px 44px !important; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.6rem; }}
.bs-top {{ display: flex; justify-content: space-between; align-items: center; border-bottom: 1px solid #1F2937;
          padding-bottom: 10px; }}
.bs-brand {{ font-size: 26px; color: {MUTED}; letter-spacing: 2px; }}
.bs-brand b {{ color: {FG}; font-weight: 700; }}
.bs-meta {{ font-size: 22px; color: {MUTED}; display: flex; gap: 28px; align-items: center; }}
.bs-meta b {{ color: {FG}; font-weight: 600; }}
.bs-badge {{ border: 2px solid {theme.ACCENT}; color: #F87171; border-radius: 8px; padding: 2px 14px;
            font-weight: 700; font-size: 22px; letter-spacing: 2px; }}
.bs-head {{ display: flex; justify-content: space-between; align-items: baseline; margin-top: 4px; }}
.bs-title {{ font-size: 50px; font-weight: 800; color: {FG}; }}
.bs-title .bs-accent {{ display: inline-block; width: 10px; height: 44px; background: {theme.ACCENT};
                       margin-right: 18px; vertical-align: -4px; }}
.bs-sub {{ font-size: 24px; color: {MUTED}; margin-left: 20px; font-weight: 400; }}
.bs-dots span {{ display: inline-block; width: 16px; height: 16px; border-radius: 8px; background: #334155;
                margin-left: 12px; }}
.bs-dots span.on {{ background: {theme.GOLD}; width: 44px; }}
.bs-grid {{ display: grid; gap: 18px; }}
.bs-tile {{ background: {PANEL}; border-radius: 14px; padding: 24px 28px 22px 28px; border-left: 8px solid #2F6690; }}
.bs-tile .l {{ font-size: 28px; color: {MUTED}; white-space: nowrap; }}
.bs-tile .v {{ font-size: 78px; font-weight: 800; color: {FG}; line-height: 1.15; font-variant-numeric: tabular-nums; }}
.bs-tile .u {{ font-size: 28px; color: {MUTED}; font-weight: 400; margin-left: 8px; }}
.bs-tile .d {{ font-size: 24px; color: {MUTED}; display: flex; justify-content: space-between;
              align-items: flex-end; white-space: nowrap; gap: 12px; margin-top: 6px; }}
.bs-tile.small .v {{ font-size: 54px; }}
.bs-line {{ font-size: 24px; color: {MUTED}; margin-top: 6px; }}
.bs-line b {{ color: {FG}; }}
.bs-foot {{ position: fixed; left: 44px; right: 44px; bottom: 10px; font-size: 18px; color: #64748B;
            border-top: 1px solid #1F2937; padding-top: 8px; background: {BG}; }}
.bs-spark {{ flex: 0 1 auto; min-width: 0; }}
.bs-scope {{ background: {PANEL}; border-radius: 14px; padding: 18px 24px; font-size: 24px; color: {MUTED};
             line-height: 1.75; }}
.bs-scope b {{ color: {FG}; font-size: 30px; }}
.bs-ms {{ font-size: 24px; color: {FG}; }}
</style>""")


def header(f: Filters) -> None:
    """The top bar: brand, the sample badge, as-of date and when the data was published."""
    info = ui.get("dataset_info")
    published = fmt.timestamp_cn(info.get("published_at"))
    badge = '<span class="bs-badge">示例数据</span>' if ui.is_sample() else ""
    st.html(f"""<div class="bs-top">
  <div class="bs-brand"><b>桂城“创熟”治理数据</b>　熟人社区建设</div>
  <div class="bs-meta">{badge}<span>数据截至 <b>{fmt.date_cn(f.as_of)}</b></span>
  <span>数据更新于 <b>{html.escape(published)}</b></span></div>
</div>""")


def footer(f: Filters, screen: Settings) -> None:
    """The bottom line: source, filters, rotation and, for the sample, a reminder that it is not real."""
    sample = " · 示例数据：数字由示例台账生成，仅用于演示" if ui.is_sample() else ""
    st.html(f'<div class="bs-foot">{html.escape(ui.SOURCE)} · {html.escape(ui.describe(f))} · {screen.rotation}'
            f'{sample}</div>')


def new_load_published() -> bool:
    """True, once, when a load newer than the one on screen has been published since the screen opened."""
    seen = st.session_state.setdefault(VERSION_KEY, ui.db_version())
    if ui.db_version() == seen:
        return False
    st.session_state[VERSION_KEY] = ui.db_version()
    return True


# --- tiles and charts ------------------------------------------------------------------------------

def sparkline(values: list, color: str, width: int = 120, height: int = 48) -> str:
    """A tiny inline SVG trend line (yearly values of a KPI)."""
    points = [float(v) for v in values if v is not None]
    if len(points) < 2:
        return ""
    top = max(points) or 1.0
    step = width / (len(points) - 1)
    xy = " ".join(f"{i * step:.1f},{height - 3 - (v / top) * (height - 6):.1f}" for i, v in enumerate(points))
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}">'
           f'<polyline points="{xy}" fill="none" stroke="{color}" stroke-width="3" stroke-linejoin="round"/></svg>')
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="bs-spark" alt="" width="{width}" height="{height}" src="data:image/svg+xml;base64,{data}">'


def tile(label: str, value: str, note: str | None = None, color: str = "#2F6690", small: bool = False,
         spark: str = "") -> str:
    """One figure tile's HTML: label, big number with its unit, an optional note and sparkline."""
    number, _, unit = value.partition(" ")
    u = f'<span class="u">{html.escape(unit)}</span>' if unit else ""
    d = f'<div class="d"><span>{html.escape(note)}</span>{spark}</div>' if note else ""
    return (f'<div class="bs-tile{" small" if small else ""}" style="border-left-color:{color}">'
            f'<div class="l">{html.escape(label)}</div><div class="v">{html.escape(number)}{u}</div>{d}</div>')


def metric_tile(key: str, value: Any, color: str = "#2F6690") -> str:
    """A small tile for a registry metric, formatted by its unit and kind."""
    m = metrics.METRICS[key]
    return tile(m.label, fmt.metric_value(value, m.unit, m.kind), color=color, small=True)


def grid(tiles: list[str], columns: int) -> None:
    """Tiles in a grid of ``columns`` equal columns."""
    st.html(f'<div class="bs-grid" style="grid-template-columns: repeat({columns}, 1fr)">{"".join(tiles)}</div>')


def plot(fig: go.Figure, height: int, left: int = 110) -> None:
    """A dark chart with room for big tick labels (the chart's own title gives way to the view's title)."""
    legend = any(t.showlegend is not False for t in fig.data) and fig.layout.showlegend is not False
    fig.update_layout(height=height, margin=dict(l=left, r=40, t=100 if legend else 60, b=100),
                      title=dict(font=dict(size=26, color=MUTED), y=0.985, yanchor="top"),
                      legend=dict(y=1.02, yanchor="bottom", font=dict(size=22)))
    fig.update_xaxes(automargin=False, title_standoff=18)
    fig.update_yaxes(automargin=False, title_standoff=14)
    st.plotly_chart(fig, width="stretch", theme=None, config={"displayModeBar": False, "staticPlot": True})


def plot_or_empty(fig: go.Figure, height: int, what: str, f: Filters, left: int = 110) -> None:
    """:func:`plot`, or a large empty-state panel when the chart has nothing to draw."""
    if charts.is_blank(fig):
        st.html(f'<div class="bs-scope" style="height:{height - 40}px;display:flex;flex-direction:column;'
                f'justify-content:center;align-items:center;text-align:center">'
                f'<b>所选范围内没有{html.escape(what)}</b><br>{html.escape(ui.empty_hint(f))}</div>')
        return
    plot(fig, height, left)


def partial_note(f: Filters) -> str:
    """'；2022年只统计到6月30日（不完整年份，斜线浅色）' for a view whose last year is partial, else ''."""
    return f"；{f.end.year}年只统计到{f.end.month}月{f.end.day}日（斜线浅色）" if f.partial_year else ""


def _headline(f: Filters) -> pd.DataFrame:
    """The headline metrics (label, value, unit, delta, spark), indexed by metric key."""
    return ui.get("headline", f).set_index("key")


# --- the five views: each draws itself and returns its subtitle ---------------------------------------

def view_kpis(f: Filters) -> str:
    """数读: the headline KPIs with year-over-year change and sparklines, and the scope of the work."""
    rows = _headline(f)
    tiles = []
    for key in [k for k in metrics.HEADLINE if k in rows.index]:  # a category filter keeps its own case figures
        r = rows.loc[key]
        category = next((c for c, k in metrics.CATEGORY_METRIC.items() if k == key), None)
        color = theme.CATEGORY_COLORS.get(category, "#4C86B3")
        tiles.append(tile(r["label"], fmt.metric_value(r["value"], r["unit"], metrics.METRICS[key].kind),
                          fmt.delta(r["delta_pct"]) or "同比 —", color,
                          spark=sparkline(r["spark"] if isinstance(r["spark"], list) else [], color)))
    scope = "<br>".join(f"{html.escape(rows.loc[k, 'label'])}　<b>{fmt.count(rows.loc[k, 'value'], rows.loc[k, 'unit'])}</b>"
                        for k in metrics.SCOPE)
    tiles.append(f'<div class="bs-scope">工作范围<br>{scope}</div>')
    grid(tiles, 5)
    return "事项为区间内办结累计，队伍与组织按统计日在册；同比与上年同期比"


def view_trend(f: Filters) -> str:
    """事项趋势: cases received per year, by category."""
    trend = ui.get("cases_by_year", f)
    fig = charts.bars(trend, "year", "received", "各类事项逐年受理量", color="category", x_title="登记年份",
                      y_title="受理事项（件）", dark=True)
    plot_or_empty(fig, 830, "事项记录", f)
    return "按登记年份计，含仍在办理中的事项" + partial_note(f)


def view_ranking(f: Filters) -> str:
    """社区排名: the 15 communities with most cases (one community: its compounds), beside the service totals."""
    totals = ui.get("service_totals", f)
    left, right = st.columns([0.64, 0.36], gap="large")
    with left:
        if len(f.communities) == 1:  # one community has no ranking among communities: its compounds instead
            compounds = ui.get("compound_cases", f, f.communities[0])
            top = compounds.head(TOP_N)
            title = f"{f.communities[0]}受理事项最多的 {len(top)} 个小区" if len(compounds) > TOP_N else \
                f"{f.communities[0]}各小区受理事项"
            fig = charts.bars(top, "compound", "received", title, horizontal=True, x_title="受理事项（件）",
                              text=True, dark=True)
        else:
            ranking = ui.get("community_ranking", f)
            top = ranking.head(TOP_N)
            title = f"受理事项最多的 {len(top)} 个社区" if len(ranking) > TOP_N else f"各社区受理事项（{len(ranking)} 个社区）"
            fig = charts.bars(top, "short_name", "received", title, horizontal=True, x_title="受理事项（件）",
                              text=True, dark=True)
        plot_or_empty(fig, 830, "事项记录", f)
    with right:
        keys = ("received", "resolved", "resolution_rate", "on_time_rate", "satisfaction_rate", "open_backlog")
        st.html('<div style="height: 18px"></div>')
        grid([metric_tile(k, totals[k]) for k in keys], 2)
    return "按登记日期计；办结率、按时办结率、满意率的分母见口径"


def view_teams(f: Filters) -> str:
    """队伍与组织: the three heads and volunteers, organisations by kind, organisations founded per year."""
    summary = ui.get("volunteer_summary", f)
    rows = _headline(f)
    team = [("volunteers", summary["total"]), ("building_heads", rows.loc["building_heads", "value"]),
            ("lane_street_heads", rows.loc["lane_street_heads", "value"]), ("party_share", summary["party_share"]),
            ("compounds_with_heads", summary["compounds_with_heads"])]
    grid([metric_tile(k, v, theme.ROLE_COLORS["楼长"]) for k, v in team], 5)
    grid([tile(metrics.METRICS[key].label, fmt.count(rows.loc[key, "value"], rows.loc[key, "unit"]),
               color=theme.ORG_COLORS[kind], small=True) for kind, key in metrics.ORG_METRIC.items()], 6)
    flows = ui.get("organization_flows", f)
    fig = charts.bars(flows, "year", "founded", "组织成立时间线：每年新成立的组织（不含楼道微信群）", color="kind",
                      x_title="成立年份", y_title="新成立（个）", dark=True)
    plot_or_empty(fig, 480, "新成立的组织", f)
    return "三长按统计日在任计，组织按统计日在册（已成立未撤销）计；不分事项类别" + partial_note(f)


def view_milestones(f: Filters) -> str:
    """大事记: the sub-district's milestones over the monthly cases received."""
    monthly = ui.get("cases_by_month", f)
    milestones = ui.get("milestones", f.as_of)
    fig = charts.milestones_over_trend(monthly, milestones, "“创熟”十一年：关键节点与每月受理事项", dark=True)
    fig.update_traces(textfont_size=18, selector=dict(mode="markers+text"))
    plot(fig, 830)
    empty = "（所选范围内没有事项记录）" if monthly.empty else ""
    return "街道层面的工作节点；曲线为每月受理事项" + empty


RENDER = (view_kpis, view_trend, view_ranking, view_teams, view_milestones)


def next_view(pinned: int | None) -> int:
    """Index of the view to show: the pinned one, else the next in rotation (counted in the session)."""
    if pinned:
        return pinned - 1
    tick = st.session_state.get(TICK_KEY, 0)
    st.session_state[TICK_KEY] = tick + 1
    return tick % len(VIEWS)


def show_view(index: int, f: Filters) -> None:
    """View ``index`` under its title, subtitle and the rotation dots."""
    dots = "".join(f'<span class="{"on" if i == index else ""}"></span>' for i in range(len(VIEWS)))
    head = st.empty()
    note = RENDER[index](f)
    title = "小区排名" if index == VIEWS.index("社区排名") and len(f.communities) == 1 else VIEWS[index]
    head.html(f'<div class="bs-head"><div class="bs-title"><span class="bs-accent"></span>{title}'
              f'<span class="bs-sub">{html.escape(note)}</span></div><div class="bs-dots">{dots}</div></div>')
