"""The 大屏 page's building blocks: settings from the link, the scaling stage, tiles, the views.

**One design for every projector.** The screen is laid out on a *stage* of design pixels — 1920 wide
and as tall as the screen's shape asks (1080 for 16:9, 1200 for 16:10, 1440 for 4:3; a screen wider
than 16:9 gets a stage 1080 tall and wider than 1920) — and the stage is scaled with a CSS transform
to exactly fill the browser window (:data:`STAGE_SCRIPT`). So type, tiles and charts keep their
proportions from 1280×720 to 3840×2160, nothing is cut at the edges and nothing scrolls. Inside the
stage a flex column gives the header and footer their natural height and the view the rest; charts
take ``height="stretch"`` and fill it, tile grids share it in equal rows.

**Views** are a list of :class:`View` (key, title, render function): ``?views=`` picks and orders the
ones to rotate through (numbers or keys), ``?view=`` holds one, ``?interval=`` sets the seconds per
view. To add a view, write ``def view_x(f: Filters) -> str`` (draw with :func:`grid`, :func:`plot`,
:func:`plot_or_empty` inside the view's stretch area; return the subtitle) and append
``View("x", "标题", view_x)`` to :data:`VIEWS`.

Every number comes from the metric layer through :func:`chuangshu.ui.get` (cached per database
version, narrowed to a community account's scope); this module only lays it out in large type.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd
import streamlit as st

from chuangshu import fmt, metrics, sharing, signin, svgchart, theme, ui
from chuangshu.filters import Filters

DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL = 20, 5, 600
POLL_S = 10  # how often the screen checks for a newly published load
BG, FG, MUTED, PANEL = "#0B1220", "#E5E7EB", "#94A3B8", "#111B2E"
DESIGN_W, DESIGN_H = 1920, 1080  # the stage's least size in design pixels (16:9); it grows to the screen's shape
PLOT_W = 1560  # the narrowest a full-width chart's plot area is drawn (design px), for spacing its labels
TOP_N = 15  # bars on the ranking view
TICK_KEY, VERSION_KEY = "bs_tick", "bs_version"  # session state: views shown so far, the version on screen
VIEW_KEY = "bs-view"  # the container the rotating view draws in (it takes the stage's free height)


# --- settings from the link ---------------------------------------------------------------------

@dataclass(frozen=True)
class Settings:
    """?interval= seconds per view, ?view= the one view to hold (1-based), ?views= the views to rotate
    through (1-based numbers or keys, in that order), ?chrome= keep Streamlit's own, ?qr=0 no QR code."""

    interval: int = DEFAULT_INTERVAL
    pinned: int | None = None
    chrome: bool = False
    views: tuple[int, ...] = ()  # 0-based indices into VIEWS; empty = all
    qr: bool = True

    @property
    def run_every(self) -> int | None:
        """The rotating view's timer: none when one view is held (or only one is chosen)."""
        return None if self.pinned or len(self.rotation_views) == 1 else self.interval

    @property
    def rotation_views(self) -> tuple[int, ...]:
        """The 0-based views shown in turn."""
        return self.views or tuple(range(len(VIEWS)))

    @property
    def rotation(self) -> str:
        """The footer's note on rotation."""
        if self.pinned or len(self.rotation_views) == 1:
            return "固定显示本页"
        chosen = "" if not self.views else f"（{len(self.views)} 个画面）"
        return f"每 {self.interval} 秒切换{chosen}"


def _int_param(params: Mapping[str, Any], name: str, default: int | None, low: int, high: int) -> int | None:
    """A whole-number link parameter clamped to [low, high]; ``default`` when absent or not a number."""
    try:
        return max(low, min(high, int(str(params.get(name, "")).strip())))
    except ValueError:
        return default


def _view_list(raw: object) -> tuple[int, ...]:
    """'1,3,5' or 'kpis,milestones' -> 0-based view indices in that order (unknown entries dropped)."""
    keys = {v.key: i for i, v in enumerate(VIEWS)}
    out: list[int] = []
    for part in str(raw or "").replace("，", ",").split(","):
        part = part.strip()
        index = int(part) - 1 if part.isdigit() else keys.get(part, -1)
        if 0 <= index < len(VIEWS) and index not in out:
            out.append(index)
    return tuple(out)


def settings(params: Mapping[str, Any]) -> Settings:
    """The screen's settings from the page's query parameters (bad values fall back to the defaults)."""
    interval = _int_param(params, "interval", DEFAULT_INTERVAL, MIN_INTERVAL, MAX_INTERVAL) or DEFAULT_INTERVAL
    return Settings(interval=interval, pinned=_int_param(params, "view", None, 1, len(VIEWS)),
                    chrome=params.get("chrome") in ("1", "true", "on"), views=_view_list(params.get("views")),
                    qr=params.get("qr") not in ("0", "false", "off"))


def link(base: str, *, interval: int = DEFAULT_INTERVAL, views: list[str] | None = None) -> str:
    """The screen's address for these settings (the 汇报导出 page offers it): ``base`` + /bigscreen?…"""
    params = []
    if interval != DEFAULT_INTERVAL:
        params.append(f"interval={interval}")
    if views and len(views) < len(VIEWS):
        params.append("views=" + ",".join(views))
    return f"{base.rstrip('/')}/bigscreen" + ("?" + "&".join(params) if params else "")


# --- the stage: CSS and the script that scales it ---------------------------------------------------

CHROME = """
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"], [data-testid="stExpandSidebarButton"],
header[data-testid="stHeader"], [data-testid="stToolbar"], [data-testid="stDecoration"],
[data-testid="stMainMenu"], footer { display: none !important; }
"""

# Sets --bs-w/--bs-h (the stage in design pixels) and --bs-s (its scale) on <html>, now and on resize.
STAGE_SCRIPT = f"""<script>
(function () {{
  var root = document.documentElement;
  function fit() {{
    var w = window.innerWidth, h = window.innerHeight;
    if (!w || !h) return;
    var W = {DESIGN_W}, H = {DESIGN_H};
    if (w / h >= W / H) {{ W = H * w / h; }} else {{ H = W * h / w; }}
    root.style.setProperty("--bs-w", W + "px");
    root.style.setProperty("--bs-h", H + "px");
    root.style.setProperty("--bs-s", String(w / W));
    root.classList.add("bs-staged");
  }}
  fit();
  if (!window.__bsFit) {{ window.__bsFit = true; window.addEventListener("resize", fit); }}
}})();
</script>"""


def style(chrome: bool) -> None:
    """The dark stage stylesheet and its scaling script; Streamlit's sidebar, header and toolbar hidden
    unless ``chrome`` (then the stage is not scaled: the page scrolls as any other)."""
    stage = "" if chrome else f"""
html, body, .stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{ overflow: hidden !important; }}
[data-testid="stMainBlockContainer"] {{ position: fixed !important; left: 0; top: 0; box-sizing: border-box;
  width: var(--bs-w, {DESIGN_W}px) !important; height: var(--bs-h, {DESIGN_H}px); max-width: none !important;
  padding: 26px 44px 14px 44px !important; zoom: var(--bs-s, 1); }}
html:not(.bs-staged) [data-testid="stMainBlockContainer"] {{ visibility: hidden; }}
[data-testid="stMainBlockContainer"] > [data-testid="stVerticalBlock"] {{ height: 100%; flex-wrap: nowrap; }}
/* the stage keeps the design's columns in a narrow window (Streamlit stacks columns below 640 px) */
[data-testid="stMainBlockContainer"] [data-testid="stColumn"] {{ min-width: 0 !important; }}
"""
    st.html(f"""<style>
{'' if chrome else CHROME}
{stage}
.stApp, [data-testid="stAppViewContainer"], [data-testid="stMain"] {{ background: {BG} !important; color: {FG}; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 14px; }}
[data-testid="stLayoutWrapper"]:has(.st-key-{VIEW_KEY}),
[data-testid="stVerticalBlock"]:has(.st-key-{VIEW_KEY}):not([data-testid="stMainBlockContainer"] > *) {{
  flex: 1 1 0 !important; min-height: 0 !important; display: flex; flex-direction: column; flex-wrap: nowrap !important; }}
.st-key-{VIEW_KEY} {{ flex: 1 1 0 !important; min-height: 0 !important; overflow: hidden; flex-wrap: nowrap !important; }}
.st-key-{VIEW_KEY} [data-testid="stLayoutWrapper"]:has(> [data-testid="stHorizontalBlock"]) {{
  flex: 1 1 0 !important; min-height: 0; display: flex; flex-direction: column; }}
.st-key-{VIEW_KEY} [data-testid="stHorizontalBlock"] {{ flex: 1 1 0 !important; min-height: 0; flex-wrap: nowrap;
  align-items: stretch; }}
.st-key-{VIEW_KEY} [data-testid="stColumn"] > [data-testid="stVerticalBlock"] {{ height: 100%; flex-wrap: nowrap; }}
.st-key-{VIEW_KEY} [data-testid="stElementContainer"]:has(.bs-fill) {{ flex: 1 1 0 !important; min-height: 0; }}
.st-key-{VIEW_KEY} [data-testid="stElementContainer"]:has(.bs-fill) > div {{ height: 100%; }}
.bs-top {{ display: flex; justify-content: space-between; align-items: center; gap: 32px;
          border-bottom: 1px solid #1F2937; padding-bottom: 12px; }}
.bs-brand {{ font-size: 28px; color: {MUTED}; letter-spacing: 2px; flex: 1 1 auto; white-space: nowrap; }}
.bs-brand b {{ color: {FG}; font-weight: 700; }}
.bs-meta {{ font-size: 22px; color: {MUTED}; display: flex; gap: 10px 28px; align-items: center;
           justify-content: flex-end; flex-wrap: wrap; text-align: right; }}
.bs-meta b {{ color: {FG}; font-weight: 600; }}
.bs-meta span {{ white-space: nowrap; }}
.bs-badge {{ border: 2px solid {theme.ACCENT}; color: #F87171; border-radius: 8px; padding: 2px 14px;
            font-weight: 700; font-size: 22px; letter-spacing: 2px; }}
.bs-qr {{ display: flex; align-items: center; gap: 14px; flex: 0 0 auto; }}
.bs-qr img {{ width: 112px; height: 112px; image-rendering: pixelated; display: block; border-radius: 6px; }}
.bs-qr .t {{ font-size: 20px; color: {MUTED}; line-height: 1.45; text-align: right; }}
.bs-qr .t b {{ color: {FG}; font-size: 24px; }}
.bs-qr-note {{ font-size: 18px; color: #FBBF24; max-width: 520px; line-height: 1.4; }}
.bs-head {{ display: flex; justify-content: space-between; align-items: baseline; gap: 24px; }}
.bs-title {{ font-size: 48px; font-weight: 800; color: {FG}; line-height: 1.2; }}
.bs-title .bs-accent {{ display: inline-block; width: 10px; height: 44px; background: {theme.ACCENT};
                       margin-right: 18px; vertical-align: -4px; }}
.bs-sub {{ font-size: 24px; color: {MUTED}; margin-left: 20px; font-weight: 400; }}
.bs-dots {{ white-space: nowrap; }}
.bs-dots span {{ display: inline-block; width: 16px; height: 16px; border-radius: 8px; background: #334155;
                margin-left: 12px; }}
.bs-dots span.on {{ background: {theme.GOLD}; width: 44px; }}
.bs-grid {{ display: grid; gap: 18px; }}
.bs-fill.bs-grid {{ height: 100%; grid-auto-rows: minmax(0, 1fr); }}
.bs-tile {{ background: {PANEL}; border-radius: 14px; padding: 20px 28px 18px 28px; border-left: 8px solid #2F6690;
           display: flex; flex-direction: column; justify-content: center; min-width: 0; min-height: 0; }}
.bs-tile .l {{ font-size: 28px; color: {MUTED}; line-height: 1.3; }}
.bs-tile .v {{ font-size: 70px; font-weight: 800; color: {FG}; line-height: 1.15; font-variant-numeric: tabular-nums;
              white-space: nowrap; }}
.bs-tile .u {{ font-size: 28px; color: {MUTED}; font-weight: 400; margin-left: 8px; }}
.bs-tile .d {{ font-size: 24px; color: {MUTED}; display: flex; justify-content: space-between;
              align-items: flex-end; gap: 12px; margin-top: 6px; }}
.bs-tile .d span {{ white-space: nowrap; }}
.bs-tile.small .v {{ font-size: 52px; }}
.bs-tile.small .l {{ font-size: 26px; }}
.bs-tile .sc-spark {{ flex: 0 1 120px; min-width: 0; width: 120px; height: 48px; }}
.bs-scope {{ background: {PANEL}; border-radius: 14px; padding: 14px 24px; font-size: 22px; color: {MUTED};
             line-height: 1.4; display: flex; flex-direction: column; justify-content: center; min-height: 0; }}
.bs-scope b {{ color: {FG}; font-size: 26px; white-space: nowrap; }}
.bs-scope .h {{ font-size: 24px; margin-bottom: 4px; }}
.bs-scope .r {{ display: flex; justify-content: space-between; align-items: baseline; gap: 12px; }}
.bs-scope .r span {{ min-width: 0; }}
.bs-qrview {{ height: 100%; display: flex; align-items: center; justify-content: center; gap: 64px; min-height: 0; }}
.bs-qrview .bs-qr-big {{ height: 100%; max-height: 640px; aspect-ratio: 1; min-height: 0; border-radius: 12px;
  image-rendering: pixelated; }}
.bs-qrview .t {{ font-size: 30px; color: {MUTED}; line-height: 1.6; max-width: 760px; }}
.bs-qrview .t b {{ font-size: 56px; color: {FG}; display: block; margin-bottom: 12px; }}
.bs-qrview .t .u {{ color: {theme.GOLD}; font-size: 28px; word-break: break-all; margin: 12px 0; }}
.bs-empty {{ height: 100%; display: flex; flex-direction: column; justify-content: center; align-items: center;
            text-align: center; }}
{svgchart.css(svgchart.DARK)}
.bs-foot {{ font-size: 18px; color: #64748B; border-top: 1px solid #1F2937; padding-top: 8px; line-height: 1.5; }}
</style>""")
    if not chrome:
        st.html(STAGE_SCRIPT, unsafe_allow_javascript=True)


def qr_target() -> tuple[str | None, str]:
    """Where phones in the hall go: (address, what it is) — the briefing when it is served, else the
    phone view; no address when the public address is not set."""
    return sharing.target(sharing.load(), sharing.scoped_deployment(signin.secrets()))


def qr_block(screen: Settings) -> str:
    """The corner QR code (see :func:`qr_target`), or the note that no public address is set; '' when the
    link asks for none (?qr=0)."""
    if not screen.qr:
        return ""
    target, what = qr_target()
    if target is None:
        return f'<div class="bs-qr-note">{html.escape(MISSING_URL_SHORT)}</div>'
    return (f'<div class="bs-qr"><div class="t"><b>扫码</b><br>手机看{what}</div>'
            f'{sharing.qr_img(target, "bs-qr-img", f"二维码：{target}")}</div>')


MISSING_URL_SHORT = "未设置对外访问地址，不能显示扫码二维码（管理员：汇报导出 → 现场扫码设置，或环境变量 CHUANGSHU_PUBLIC_URL）"


def header(f: Filters, screen: Settings | None = None) -> None:
    """The top bar: brand, the sample badge, as-of date, when the data was published, the QR code."""
    info = ui.get("dataset_info")
    published = fmt.timestamp_cn(info.get("published_at"))
    badge = '<span class="bs-badge">示例数据</span>' if ui.is_sample() else ""
    qr = qr_block(screen) if screen is not None else ""
    st.html(f"""<div class="bs-top">
  <div class="bs-brand"><b>桂城“创熟”治理数据</b>　熟人社区建设</div>
  <div class="bs-meta">{badge}<span>数据截至 <b>{fmt.date_cn(f.as_of)}</b></span>
  <span>数据更新于 <b>{html.escape(published)}</b></span></div>{qr}
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

def sparkline(values: list, color: str) -> str:
    """A tiny trend line (yearly values of a KPI) for a tile (svgchart.sparkline, as an image)."""
    return svgchart.sparkline(values, color, 120, 48)


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


def grid(tiles: list[str], columns: int, fill: bool = False) -> None:
    """Tiles in a grid of ``columns`` equal columns; with ``fill`` the grid takes the view's free height
    (rows share it equally), else its rows are as tall as their tiles."""
    cls = "bs-grid bs-fill" if fill else "bs-grid"
    st.html(f'<div class="{cls}" style="grid-template-columns: repeat({columns}, minmax(0, 1fr))">'
            f'{"".join(tiles)}</div>')


def chart(fig: svgchart.Figure) -> None:
    """A chart (inline SVG) that fills the view's free height; its text keeps its design size."""
    st.html(svgchart.for_streamlit(fig.html(fill=True, inline=False)), unsafe_allow_javascript=True)


def chart_or_empty(fig: svgchart.Figure, blank: bool, what: str, f: Filters) -> None:
    """:func:`chart`, or a large empty-state panel when the chart has nothing to draw."""
    if blank:
        st.html(f'<div class="bs-scope bs-empty bs-fill"><b>所选范围内没有{html.escape(what)}</b><br>'
                f'{html.escape(ui.empty_hint(f))}</div>')
        return
    chart(fig)


def _blank(df: pd.DataFrame, column: str) -> bool:
    """True when a frame has nothing to draw in ``column`` (no rows, or only zeros)."""
    return df.empty or not pd.to_numeric(df[column], errors="coerce").fillna(0).any()


def partial_note(f: Filters) -> str:
    """'；2022年只统计到6月30日（斜线浅色）' for a view whose last year is partial, else ''."""
    return f"；{f.end.year}年只统计到{f.end.month}月{f.end.day}日（斜线浅色）" if f.partial_year else ""


def _headline(f: Filters) -> pd.DataFrame:
    """The headline metrics (label, value, unit, delta, spark), indexed by metric key."""
    return ui.get("headline", f).set_index("key")


# --- the views: each draws itself (in the view's area) and returns its subtitle -----------------------

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
    scope = "".join(f'<div class="r"><span>{html.escape(rows.loc[k, "label"])}</span>'
                    f'<b>{fmt.count(rows.loc[k, "value"], rows.loc[k, "unit"])}</b></div>' for k in metrics.SCOPE)
    tiles.append(f'<div class="bs-scope"><div class="h">工作范围</div>{scope}</div>')
    grid(tiles, 5, fill=True)
    return "事项为区间内办结累计，队伍与组织按统计日在册；同比与上年同期比"


def view_trend(f: Filters) -> str:
    """事项趋势: cases received per year, by category."""
    trend = ui.get("cases_by_year", f)
    fig = svgchart.year_columns(trend, "received", "各类事项逐年受理量", color="category", x_title="登记年份",
                                y_title="受理事项（件）", plot_width=PLOT_W)
    chart_or_empty(fig, _blank(trend, "received"), "事项记录", f)
    return "按登记年份计，含仍在办理中的事项" + partial_note(f)


def view_ranking(f: Filters) -> str:
    """社区排名: the 15 communities with most cases (one community: its compounds), beside the service totals."""
    totals = ui.get("service_totals", f)
    left, right = st.columns([0.64, 0.36], gap="large")
    with left:
        if len(f.communities) == 1:  # one community has no ranking among communities: its compounds instead
            compounds = ui.get("compound_cases", f, f.communities[0])
            top = compounds.head(TOP_N)
            title = metrics.top_title("受理事项", "小区", len(top), len(compounds), f.communities[0])
            fig = svgchart.ranking(top, "compound", "received", title, max_row_px=80)
        else:
            ranking = ui.get("community_ranking", f)
            top = ranking.head(TOP_N)
            title = f"受理事项最多的 {len(top)} 个社区" if len(ranking) > TOP_N else f"各社区受理事项（{len(ranking)} 个社区）"
            fig = svgchart.ranking(top, "short_name", "received", title, max_row_px=80)
        chart_or_empty(fig, _blank(top, "received"), "事项记录", f)
    with right:
        keys = ("received", "resolved", "resolution_rate", "on_time_rate", "satisfaction_rate", "open_backlog")
        grid([metric_tile(k, totals[k]) for k in keys], 2, fill=True)
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
    fig = svgchart.year_columns(flows, "founded", "组织成立时间线：每年新成立的组织（不含楼道微信群）", color="kind",
                                x_title="成立年份", y_title="新成立（个）", plot_width=PLOT_W)
    chart_or_empty(fig, _blank(flows, "founded"), "新成立的组织", f)
    return "三长按统计日在任计，组织按统计日在册（已成立未撤销）计；不分事项类别" + partial_note(f)


def view_milestones(f: Filters) -> str:
    """大事记: the sub-district's milestones over the monthly cases received."""
    monthly = ui.get("cases_by_month", f)
    milestones = ui.get("milestones", f.as_of)
    chart(svgchart.milestones(monthly, milestones, "“创熟”十一年：关键节点与每月受理事项", plot_width=PLOT_W))
    empty = "（所选范围内没有事项记录）" if monthly.empty else ""
    return "街道层面的工作节点；曲线为每月受理事项" + empty


def view_assessment(f: Filters) -> str:
    """考核排名: the month's 创熟指数 ranking with rank changes (↑3 / ↓2), the sub-district's index and the movers
    (a community account: its own figures against their targets)."""
    from chuangshu import assessment

    league = ui.get("league_table", assessment.scope_of(f), "month", ui.overlay())
    if not league.compare or len(f.communities) == 1:  # one community: its figures against their targets
        community = f.communities[0] if f.communities else league.table["community"].iloc[0]
        cells = league.cells[league.cells["community"] == community].merge(league.metrics[["metric", "label"]],
                                                                           on="metric")
        grid([tile(c.label, fmt.metric_value(c.value, metrics.METRICS[c.metric].unit, metrics.METRICS[c.metric].kind),
                   f"{assessment.status_text(c.status)}　{assessment.target_text(c.metric, c.target)}",
                   {"met": "#16A34A", "near": "#D97706", "missed": "#DC2626"}.get(c.status, "#475569"), small=True)
              for c in cells.itertuples(index=False)], 4)
        if not league.compare:
            return f"{league.span.label}：本社区各指标与目标（排名仅街道办账号可见）"
        r = league.table[league.table["community"] == community].iloc[0]
        rank = (f"第 {int(r['rank'])} / {league.ranked_of} 名（{r['change_label']}），创熟指数 "
                f"{fmt.metric_value(r['index'], '分', 'score')}" if not fmt.missing(r["rank"]) else r["why"])
        return f"{league.span.label}：{community}{rank}"
    t = league.table
    ranked = t.dropna(subset=["rank"]).sort_values(["rank", "community"]).head(TOP_N)
    left, right = st.columns([0.64, 0.36], gap="large")
    with left:
        if f.communities:
            title = f"所选社区的创熟指数（名次在全部 {league.ranked_of} 个排名社区之间）"
        else:
            title = f"创熟指数前 {len(ranked)} 名" if league.ranked_of > TOP_N else f"创熟指数（{league.ranked_of} 个社区）"
        named = ranked.assign(label=[f"{n}　{c}" if isinstance(c, str) else str(n)
                                     for n, c in zip(ranked["short_name"], ranked["change_label"])])
        fig = svgchart.ranking(named, "label", "index", title, max_row_px=80)
        chart_or_empty(fig, _blank(ranked, "index"), "可排名的社区", f)
    with right:
        whole = t[t["community"] == assessment.SUBDISTRICT]
        st.html('<div style="height: 18px"></div>')
        if len(whole):
            r = whole.iloc[0]
            change = (None if fmt.missing(r["index"]) or fmt.missing(r["prev_index"])
                      else f"比{league.previous.label} {float(r['index']) - float(r['prev_index']):+.1f} 分")
            grid([tile("全街道创熟指数", fmt.metric_value(r["index"], "分", "score"), change, theme.GOLD)], 1)
        lists = []
        for direction, label in (("up", "上升最多"), ("down", "下降最多")):
            part = league.movers[league.movers["direction"] == direction]
            lines = "".join(f'<div class="r"><span>{html.escape(m.short_name)}</span><b>{html.escape(m.change_label)}</b>'
                            f'<span>第 {int(m.rank)} 名</span></div>' for m in part.itertuples()) or "<div>（无）</div>"
            lists.append(f'<div class="bs-scope"><div class="h">{label}</div>{lines}</div>')  # one line per mover
        grid(lists, 2)
    return (f"{league.span.label}；名次变化与{league.previous.label}比较；受理少于 {league.min_cases} 件的社区样本不足，"
            "不排名")



def view_qr(f: Filters) -> str:
    """扫码阅读: a QR code large enough to scan from the back of the hall, and the address in words."""
    target, what = qr_target()
    if target is None:
        st.html(f'<div class="bs-scope bs-empty bs-fill"><b>未设置对外访问地址，无法生成二维码</b><br>'
                f'{html.escape(sharing.MISSING_URL_NOTE)}</div>')
        return "手机扫码打开"
    st.html(f'<div class="bs-qrview bs-fill">{sharing.qr_img(target, "bs-qr-big", f"二维码：{target}")}'
            f'<div class="t"><b>用手机扫码</b><div>查看{what}：数读、事项趋势和排名，与本屏同一口径</div>'
            f'<div class="u">{html.escape(target)}</div>'
            f'<div>数据截至 {fmt.date_cn(f.as_of)}{" · 示例数据" if ui.is_sample() else ""}</div></div></div>')
    return "微信扫一扫即可打开，不需要登录" if what == "简报" else "打开后按提示登录"


@dataclass(frozen=True)
class View:
    """One screen of the rotation: ``key`` (for ?views=), ``title``, and ``render(f) -> subtitle``."""

    key: str
    title: str
    render: Callable[[Filters], str]


VIEWS: list[View] = [
    View("kpis", "数读", view_kpis),
    View("trend", "事项趋势", view_trend),
    View("ranking", "社区排名", view_ranking),
    View("teams", "队伍与组织", view_teams),
    View("milestones", "大事记", view_milestones),
    View("assessment", "考核排名", view_assessment),
    View("qr", "扫码阅读", view_qr),
]


def next_view(screen: Settings) -> int:
    """Index of the view to show: the pinned one, else the next chosen one in rotation (counted in the session)."""
    if screen.pinned:
        return screen.pinned - 1
    order = screen.rotation_views
    tick = st.session_state.get(TICK_KEY, 0)
    st.session_state[TICK_KEY] = tick + 1
    return order[tick % len(order)]


def title_of(index: int, f: Filters) -> str:
    """The view's title (the ranking of one community is a ranking of its compounds)."""
    view = VIEWS[index]
    return "小区排名" if view.key == "ranking" and len(f.communities) == 1 else view.title


def show_view(index: int, f: Filters, screen: Settings | None = None) -> None:
    """View ``index`` under its title, subtitle and the rotation dots, filling the stage's free height."""
    order = (screen or Settings()).rotation_views
    shown = order if index in order else tuple(range(len(VIEWS)))
    dots = "".join(f'<span class="{"on" if i == index else ""}"></span>' for i in shown)
    with st.container(key=VIEW_KEY):
        head = st.empty()
        note = VIEWS[index].render(f)
        head.html(f'<div class="bs-head"><div class="bs-title"><span class="bs-accent"></span>{title_of(index, f)}'
                  f'<span class="bs-sub">{html.escape(note)}</span></div><div class="bs-dots">{dots}</div></div>')
