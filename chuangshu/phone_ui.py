"""The phone view (/m): the dashboard's key sections laid out for a 360–414 px screen, for WeChat's browser.

Why its own address rather than the desktop pages adapting: people reach it from a link or QR code
shared in a WeChat group, so the link can name the phone view outright; the server renders before
it knows the screen's width (a desktop page squeezed to 390 px stacks every column full width and
pushes the first chart seven screens down); and a desktop user who narrows a window keeps the
page they know. Phones that open a desktop page are offered the phone view (dashboard.py, from
the browser's User-Agent: WeChat's MicroMessenger, Android, iPhone).

Each section is a :class:`Section` (key for ``?s=``, title, render function). Two figures a row
(tap one for its 口径), the first chart within the first screen, charts as fluid SVG with labels a
thumb can read and no hover or touch gestures (chuangshu/svgchart.py), nothing wider than the screen.
The sidebar's filters apply as on every page (its button is top left); every number comes from the
metric layer through :func:`chuangshu.ui.get`, so a community account sees only its community.

**Adding a section** (as 考核 adds its index, warnings and top and bottom five)::

    def kaohe(f: Filters) -> None:
        ...draw with phone_ui.tiles / phone_ui.chart / phone_ui.note ...

    SECTIONS.append(Section("kaohe", "考核", kaohe))

The edge sweep (tests/test_edges.py) and the phone browser test open every section listed here.
"""
from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd
import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from chuangshu import assessment, fmt, metrics, phone, svgchart, ui
from chuangshu.filters import Filters

SECTION_KEY = "s"  # the section's query parameter (?s=cases)
OVERVIEW_LEAD = 4  # headline figures above the first chart; the rest follow it
TOP = 10  # rows of a ranking on a phone


@dataclass(frozen=True)
class Section:
    """One section of the phone view: ``key`` (for ?s=), ``title`` and ``render(f)``, which returns the
    filters it actually shows when they differ from ``f`` (one community's profile), else None."""

    key: str
    title: str
    render: Callable[[Filters], Filters | None]


STYLE = f"""<style>
[data-testid="stMainBlockContainer"] {{ padding: 3.6rem 0.75rem 2.5rem 0.75rem !important; max-width: 640px; }}
[data-testid="stMainBlockContainer"] [data-testid="stVerticalBlock"] {{ gap: 0.5rem; }}
.m-head h1 {{ font-size: 19px; margin: 0; padding: 0; line-height: 1.35; display: inline; font-weight: 700; }}
.m-head .badge {{ display: inline-block; border: 1.5px solid #C0392B; color: #C0392B; border-radius: 5px;
  padding: 0 6px; font-size: 12.5px; font-weight: 700; margin-left: 6px; vertical-align: 2px; }}
.m-head p {{ margin: 2px 0 0; font-size: 13px; color: #6B7280; line-height: 1.45; }}
.m-head p b {{ color: #1F2A37; }}
.m-h2 {{ font-size: 16px; font-weight: 700; margin: 10px 0 2px; padding-left: 8px; border-left: 4px solid #C0392B; }}
{phone.CSS}
</style>"""


def style() -> None:
    """The phone view's stylesheet (only while this page is open)."""
    st.html(STYLE)


def header(f: Filters) -> None:
    """Title, sample badge, as-of date and the scope shown (``f``: what the section shows), in two short lines."""
    badge = '<span class="badge">示例数据</span>' if ui.is_sample() else ""
    sample = "<p>示例数据：数字由示例台账生成，仅用于演示。</p>" if ui.is_sample() else ""
    scope = ui.describe(f, with_as_of=False).replace("；", " · ")
    st.html(f'<div class="m-head"><h1>桂城“创熟”治理数据</h1>{badge}'
            f'<p>数据截至 <b>{fmt.date_cn(f.as_of)}</b> · {html.escape(scope)}</p>{sample}</div>')
    ui.link_notes()


def heading(text: str) -> None:
    """A section's sub-heading."""
    st.html(f'<div class="m-h2">{html.escape(text)}</div>')


def tiles(items: Sequence[str]) -> None:
    """Figures (phone.tile HTML), two a row."""
    if items:
        st.html(phone.grid(items))


def chart(fig: svgchart.Figure, note: str | None = None) -> None:
    """A chart (fluid SVG, the phone's width), with an optional note under it."""
    extra = f'<p class="note">{html.escape(note)}</p>' if note else ""
    st.html(svgchart.for_streamlit(fig.html(inline=False), extra), unsafe_allow_javascript=True)


def note(text: str) -> None:
    """A small grey line (what a figure counts, what it ignores)."""
    st.html(f'<p class="note">{html.escape(text)}</p>')


def empty(what: str, f: Filters) -> None:
    """The designed empty state (what is missing, what to change)."""
    ui.empty_state(what, f)


def _blank(df: pd.DataFrame, column: str) -> bool:
    return df.empty or not pd.to_numeric(df[column], errors="coerce").fillna(0).any()


def _partial(df: pd.DataFrame, f: Filters) -> str | None:
    """The partial-year sentence when the frame has a partial year."""
    if "partial" in df.columns and df["partial"].astype(bool).any():
        return fmt.partial_note(f.end) + "。"
    return None


# --- the sections ------------------------------------------------------------------------------

def overview(f: Filters) -> Filters | None:
    """总览: the 数读 figures (a few above the first chart), the yearly trend, the scope of the work."""
    headline = ui.get("headline", f)
    rows = [r for r in headline.to_dict("records") if r["group"] == "数读"]
    scope_rows = [r for r in headline.to_dict("records") if r["group"] == "范围"]
    tiles([phone.headline_tile(r) for r in rows[:OVERVIEW_LEAD]])
    trend = ui.get("cases_by_year", f)
    if _blank(trend, "resolved"):
        empty("办结的事项", f)
    else:
        chart(svgchart.year_bars(trend, "resolved", "各类事项逐年受理并办结的数量（件）", color="category",
                                 look=phone.LOOK),
              " ".join(x for x in ("按登记年份计当年登记、截至统计区间末已办结的事项。", _partial(trend, f)) if x))
    heading("数读")
    if f.categories:
        note("事项数字只含所选类别；三长与组织的数字不分事项类别。")
    tiles([phone.headline_tile(r) for r in rows[OVERVIEW_LEAD:]])
    if ui.is_zero(headline, metrics.CASE_KEYS):
        empty("办结的事项", f)
    note("事项为区间内办结累计（小图为逐年末累计），队伍与组织按统计日在册；同比与上年同期比。点一下数字可看口径。")
    heading("工作范围")
    tiles([phone.headline_tile(r) for r in scope_rows])
    return None


CASE_TILES = ("received", "resolved", "resolution_rate", "on_time_rate", "open_backlog", "satisfaction_rate",
              "mediation_success_rate", "follow_up_rate", "repeat_rate")


def cases(f: Filters) -> Filters | None:
    """事项: service totals, the yearly trend by category, the per-category table, the per-1,000 ranking."""
    table = ui.get("category_table", f)
    totals = ui.get("service_totals", f)
    if not (totals["received"] or totals["resolved"] or totals["open_backlog"]):
        empty("事项记录", f)
        return None
    tiles([phone.tile(k, totals[k]) for k in CASE_TILES[:4]])
    trend = ui.get("cases_by_year", f)
    if _blank(trend, "received"):
        empty("受理的事项", f)
    else:
        chart(svgchart.year_bars(trend, "received", "各类事项逐年受理量（件）", color="category", look=phone.LOOK),
              " ".join(x for x in ("按登记年份计，含仍在办理中的事项。", _partial(trend, f)) if x))
    tiles([phone.tile(k, totals[k]) for k in CASE_TILES[4:]])
    heading("分类别办理情况")
    st.html(phone.category_table(table) + '<p class="note">「—」表示无法计算：该类别在所选范围内没有作分母的事项。</p>')
    ranking = ui.get("community_ranking", f)
    top = ui.get("community_rate_ranking", f).head(TOP)
    if len(ranking) > 1 and not _blank(top, "received_per_1000"):
        heading("社区排名")
        shown = metrics.rate_ranking_title(len(top), len(ranking))
        chart(svgchart.ranking(top, "short_name", "received_per_1000", f"{shown}（件/千户）", look=phone.LOOK,
                               height=None, row_px=26, color="#2F6690"), metrics.rate_ranking_note(len(top), len(ranking)))
    return None


def community(f: Filters) -> Filters | None:
    """社区画像: one community's figures against the sub-district median, its compounds, its trend."""
    communities, _ = ui.choices()
    default = f.communities[0] if f.communities else "桂南社区"
    chosen = st.selectbox("选择社区", communities, index=communities.index(default) if default in communities else 0,
                          key="m_profile_community")
    shown = f.only(chosen)
    scoped = ui.scope() is not None
    profile = ui.get("community_profile", f, chosen)
    items = []
    for r in profile.to_dict("records"):
        m = metrics.METRICS[r["key"]]
        line: list[str] = []
        if not scoped:
            line = [f"中位数 {fmt.metric_value(r['median'], r['unit'], m.kind)}",
                    fmt.rank(r["rank"], r["ranked_of"]) or "不参与排名"]
        items.append(phone.tile(r["key"], r["value"], note=line, definition=r["definition"], why=r.get("why")))
    tiles(items)
    note("社区账号只显示本社区的数字。" if scoped else
         f"中位数和排名在全部 {len(communities)} 个社区之间计算；比率指标只在受理不少于 {metrics.MIN_CASES_FOR_RATE} 件的社区之间排名。")
    every = ui.get("compound_cases", f, chosen)
    compounds = every.head(TOP)
    if _blank(compounds, "received"):
        empty("受理的事项", shown)
    else:
        title = metrics.top_title("受理事项", "小区", len(compounds), len(every), chosen) + "（件）"
        chart(svgchart.ranking(compounds, "compound", "received", title, look=phone.LOOK,
                               height=None, row_px=26, color="#2F6690"))
    trend = ui.get("cases_by_year", shown)
    if not _blank(trend, "received"):
        chart(svgchart.year_bars(trend, "received", f"{chosen}各类事项逐年受理量（件）", color="category",
                                 look=phone.LOOK), _partial(trend, shown))
    return shown


def kaohe(f: Filters) -> None:
    """考核: the month's 创熟指数 (the sub-district's and its change), the warnings, the top and bottom five."""
    shown = assessment.scope_of(f)
    brief = ui.get("league_brief", shown, "month", ui.overlay())
    index, before = brief["index"], brief["prev_index"]
    change = None if fmt.missing(index) or fmt.missing(before) else f"比{brief['previous']} {float(index) - float(before):+.1f} 分"
    tiles([phone.tile("assessment_index", index, note=change, label=f"{brief['period']}创熟指数"),
           phone.tile("alerts", brief["alert_total"], note=[f"{k} {v:,} 条" for k, v in brief["alerts"].items()][:3])])
    top, bottom = brief["top"], brief["bottom"]
    if not brief["ranked_of"] or top.empty:
        note("社区账号只显示本社区的指数与预警，不显示排名。" if ui.scope() else
             f"{brief['period']}没有受理足够事项、可参与排名的社区。")
    else:
        for frame, title in ((top, "创熟指数最高的社区"), (bottom, "创熟指数最低的社区")):
            chart(svgchart.ranking(frame, "short_name", "index", f"{title}（分）", look=phone.LOOK, height=None,
                                   row_px=26, color="#2F6690"))
        note(f"{brief['period']}，在 {brief['ranked_of']} 个可排名的社区之间；受理事项过少的社区样本不足，不排名。")
    try:  # the desktop page with every community, metric, target and warning (registered by dashboard.py)
        st.page_link("pages/assessment.py", label="打开考核页：各项指标、目标与预警明细", icon=":material/leaderboard:")
    except StreamlitPageNotFoundError:  # the phone view run on its own (tests, a page-only deployment)
        pass


SECTIONS: list[Section] = [
    Section("overview", "总览", overview),
    Section("cases", "事项", cases),
    Section("kaohe", "考核", kaohe),
    Section("community", "社区画像", community),
]


def choose() -> Section:
    """The section picker (a row of touch-sized buttons), kept in the link as ?s=cases; the chosen section."""
    keys = [s.key for s in SECTIONS]
    titles = {s.key: s.title for s in SECTIONS}
    state, widget, seen = st.session_state, f"m_{SECTION_KEY}", f"m_{SECTION_KEY}_link"
    asked = st.query_params.get(SECTION_KEY)
    asked = asked if asked in keys else keys[0]
    if state.get(seen) != asked:  # the link changed (opened, edited, back button): it decides
        state[widget] = asked
    picked = st.segmented_control("栏目", keys, required=True, key=widget, format_func=titles.get,
                                  label_visibility="collapsed", width="stretch")
    picked = picked if picked in keys else keys[0]
    state[seen] = picked
    if picked == keys[0]:
        if SECTION_KEY in st.query_params:
            del st.query_params[SECTION_KEY]
    elif st.query_params.get(SECTION_KEY) != picked:
        st.query_params[SECTION_KEY] = picked
    return next(s for s in SECTIONS if s.key == picked)


PHONE_AGENTS = ("MicroMessenger", "Android", "iPhone", "Mobile")


def is_phone(user_agent: str | None) -> bool:
    """True for a phone's browser (WeChat's included), from its User-Agent."""
    return bool(user_agent) and any(word in str(user_agent) for word in PHONE_AGENTS) and "iPad" not in str(user_agent)


def offer(url_path: str) -> None:
    """On a desktop page opened on a phone: a link to the phone view (the page itself stays)."""
    if url_path in ("m", "bigscreen"):
        return
    try:
        agent = st.context.headers.get("User-Agent")
    except Exception:  # noqa: BLE001 - no browser context (tests)
        return
    if is_phone(agent):
        st.page_link("pages/mobile.py", label="在手机上看？打开手机版", icon=":material/smartphone:")
