"""大屏: a full-screen dark 1920×1080 view for the office screen, rotating through the headline views.

Open http://host:8501/bigscreen (optional: ?interval=15 seconds per view, default 20;
?view=1..5 to hold one view; ?chrome=1 to keep Streamlit's sidebar and header). The
global filter parameters in the link (asof, years, c, k) apply as on every page. A small
fragment polls the published database's version and reloads the screen when a new load
is published.
"""
from __future__ import annotations

import base64
import html

import streamlit as st

from chuangshu import charts, fmt, metrics, theme, ui

DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL = 20, 5, 600
POLL_S = 10  # how often the screen checks for a newly published load
BG, FG, MUTED, PANEL = "#0B1220", "#E5E7EB", "#94A3B8", "#111B2E"
VIEWS = ("数读", "事项趋势", "社区排名", "队伍与组织", "大事记")


def _int_param(name: str, default: int | None, low: int, high: int) -> int | None:
    try:
        return max(low, min(high, int(str(st.query_params.get(name, "")).strip())))
    except ValueError:
        return default


interval = _int_param("interval", DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL) or DEFAULT_INTERVAL
pinned = _int_param("view", None, 1, len(VIEWS))
show_chrome = st.query_params.get("chrome") in ("1", "true", "on")
theme.register(dark=True)
f = ui.filters()

CHROME = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stMainMenu"], footer { display: none !important; }
"""
st.html(f"""<style>
{'' if show_chrome else CHROME}
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
    number, _, unit = value.partition(" ")
    u = f'<span class="u">{html.escape(unit)}</span>' if unit else ""
    d = f'<div class="d"><span>{html.escape(note)}</span>{spark}</div>' if note else ""
    return (f'<div class="bs-tile{" small" if small else ""}" style="border-left-color:{color}">'
            f'<div class="l">{html.escape(label)}</div><div class="v">{html.escape(number)}{u}</div>{d}</div>')


def grid(tiles: list[str], columns: int) -> None:
    st.html(f'<div class="bs-grid" style="grid-template-columns: repeat({columns}, 1fr)">{"".join(tiles)}</div>')


def plot(fig, height: int, left: int = 110) -> None:
    """A dark chart with room for big tick labels (the chart's own title gives way to the view's title)."""
    legend = any(t.showlegend is not False for t in fig.data) and fig.layout.showlegend is not False
    fig.update_layout(height=height, margin=dict(l=left, r=40, t=100 if legend else 60, b=100),
                      title=dict(font=dict(size=26, color=MUTED), y=0.985, yanchor="top"),
                      legend=dict(y=1.02, yanchor="bottom", font=dict(size=22)))
    fig.update_xaxes(automargin=False, title_standoff=18)
    fig.update_yaxes(automargin=False, title_standoff=14)
    st.plotly_chart(fig, width="stretch", theme=None, config={"displayModeBar": False, "staticPlot": True})


def years_in_order(fig) -> None:
    fig.update_xaxes(categoryorder="category ascending")


# --- the five views ---------------------------------------------------------------------------

def view_kpis() -> str:
    head = ui.get("headline", f)
    rows = head.set_index("key")
    tiles = []
    for key in metrics.HEADLINE:
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
    return "事项按办结计，队伍与组织按统计日在册计；同比为与上年同期相比"


def view_trend() -> str:
    trend = ui.get("cases_by_year", f)
    fig = charts.bars(trend, "year", "received", "各类事项逐年受理量", color="category", x_title="登记年份",
                      y_title="受理事项（件）", dark=True)
    years_in_order(fig)
    plot(fig, 830)
    return "按登记年份计，含仍在办理中的事项"


def view_ranking() -> str:
    ranking = ui.get("community_ranking", f)
    totals = ui.get("service_totals", f)
    left, right = st.columns([0.64, 0.36], gap="large")
    with left:
        plot(charts.bars(ranking.head(15), "short_name", "received", "受理事项最多的 15 个社区", horizontal=True,
                         x_title="受理事项（件）", text=True, dark=True), 830)
    with right:
        keys = ("received", "resolved", "resolution_rate", "on_time_rate", "satisfaction_rate", "open_backlog")
        st.html('<div style="height: 18px"></div>')
        grid([tile(metrics.METRICS[k].label, fmt.metric_value(totals[k], metrics.METRICS[k].unit,
                                                              metrics.METRICS[k].kind), small=True)
              for k in keys], 2)
    return "按登记日期计；办结率、按时办结率、满意率的分母见口径"


def view_teams() -> str:
    summary = ui.get("volunteer_summary", f)
    rows = ui.get("headline", f).set_index("key")
    team = [("volunteers", summary["total"]), ("building_heads", rows.loc["building_heads", "value"]),
            ("lane_street_heads", rows.loc["lane_street_heads", "value"]), ("party_share", summary["party_share"]),
            ("compounds_with_heads", summary["compounds_with_heads"])]
    grid([tile(metrics.METRICS[k].label, fmt.metric_value(v, metrics.METRICS[k].unit, metrics.METRICS[k].kind),
               color=theme.ROLE_COLORS["楼长"], small=True) for k, v in team], 5)
    grid([tile(metrics.METRICS[key].label, fmt.count(rows.loc[key, "value"], rows.loc[key, "unit"]),
               color=theme.ORG_COLORS[kind], small=True) for kind, key in metrics.ORG_METRIC.items()], 6)
    flows = ui.get("organization_flows", f)
    fig = charts.bars(flows, "year", "founded", "组织成立时间线：每年新成立的组织（不含楼道微信群）", color="kind",
                      x_title="成立年份", y_title="新成立（个）", dark=True)
    years_in_order(fig)
    plot(fig, 480)
    return "三长按统计日在任计，组织按统计日在册（已成立未撤销）计"


def view_milestones() -> str:
    monthly = ui.get("cases_by_month", f)
    milestones = ui.get("milestones")
    fig = charts.milestones_over_trend(monthly, milestones, "“创熟”十一年：关键节点与每月受理事项", dark=True)
    fig.update_traces(textfont_size=18, selector=dict(mode="markers+text"))
    plot(fig, 830)
    return "街道层面的工作节点；曲线为每月受理事项"


RENDER = (view_kpis, view_trend, view_ranking, view_teams, view_milestones)


# --- the screen --------------------------------------------------------------------------------

info = ui.get("dataset_info")
published = str(info.get("published_at", "—"))[:16]
badge = '<span class="bs-badge">示例数据</span>' if info.get("dataset") == "sample" else ""
st.html(f"""<div class="bs-top">
  <div class="bs-brand"><b>桂城“创熟”治理数据</b>　熟人社区建设</div>
  <div class="bs-meta">{badge}<span>数据截至 <b>{fmt.date_cn(f.as_of)}</b></span>
  <span>数据更新于 <b>{html.escape(published)}</b></span></div>
</div>""")
st.session_state.setdefault("bs_version", ui.db_version())


@st.fragment(run_every=None if pinned else interval)
def rotating_view() -> None:
    if pinned:
        index = pinned - 1
    else:
        tick = st.session_state.get("bs_tick", 0)
        index = tick % len(VIEWS)
        st.session_state["bs_tick"] = tick + 1
    dots = "".join(f'<span class="{"on" if i == index else ""}"></span>' for i in range(len(VIEWS)))
    head = st.empty()
    note = RENDER[index]()
    head.html(f'<div class="bs-head"><div class="bs-title"><span class="bs-accent"></span>{VIEWS[index]}'
              f'<span class="bs-sub">{html.escape(note)}</span></div><div class="bs-dots">{dots}</div></div>')


@st.fragment(run_every=POLL_S)
def watch_for_new_load() -> None:
    """Reload the whole screen (header included) as soon as a new load is published."""
    if ui.db_version() != st.session_state["bs_version"]:
        st.session_state["bs_version"] = ui.db_version()
        st.rerun(scope="app")


rotating_view()
watch_for_new_load()
rotation = "固定显示本页" if pinned else f"每 {interval} 秒切换"
st.html(f'<div class="bs-foot">{html.escape(ui.SOURCE)} · {html.escape(f.describe())} · {rotation}'
        f'{" · 示例数据：数字由示例台账生成，仅用于演示" if badge else ""}</div>')
