"""Streamlit building blocks shared by every page: filters, cached metrics, KPI cards, charts.

Access control lives here too, so that no page has to remember it: :func:`get` refuses a
visitor who is not signed in and, for a community-scoped user, narrows every Filters to
their community, refuses another community's drill-down and runs the metric on that
community's private database (:mod:`chuangshu.scope`). Chart downloads, slides and the big
screen built from :func:`get` / :func:`data_cursor` therefore follow the scope too.
"""
from __future__ import annotations

import base64
import collections
import hashlib
import html
from collections.abc import Callable
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from chuangshu import assessment, charts, db, fmt, metrics, signin, svgchart, targets, widgets
from chuangshu import scope as scoping
from chuangshu.auth import User
from chuangshu.filters import Bounds, Filters, parse_query_params, to_query_params

SOURCE = "来源：各社区上报台账（创熟台账库）"
FILTER_KEY = "filters"
INITIAL_KEY = "filters_from_link"
NOTES_KEY = "filters_link_notes"
WIDGET_KEYS = ("f_as_of", "f_years", "f_communities", "f_categories")
# The sidebar's filters, by the name page_header's ``applies`` uses, and how a page says one does not apply.
DIMENSIONS = {"years": "年份范围", "communities": "社区", "categories": "事项类别"}


def db_version() -> str:
    """Version of the published database; cache keys include it so a new load shows at once."""
    return db.published().version()


# Scoped users: metrics that take an explicit community (position in args after the cursor) ...
COMMUNITY_ARG = {"compound_cases": 1, "case_list": 1, "community_profile": 1}
# ... metrics they may not call at all (whole-sub-district administration) ...
UNSCOPED_ONLY = frozenset({"data_quality", "reject_rows", "overdue_submissions"})
# ... and keyword arguments their calls get (no median or rank: they would reveal other communities).
SCOPED_KWARGS: dict[str, dict[str, Any]] = {"community_profile": {"compare": False},
                                            **{name: {"compare": False} for name in ("league_table", "alerts",
                                                                                     "alert_count", "league_brief")}}


def current_user() -> User | None:
    """The signed-in user (see chuangshu.signin)."""
    return signin.current_user()


def require(permission: str | None = None) -> User:
    """The current user if they have ``permission`` (query, intake, quality; None = signed in);
    otherwise an error on the page and the script stops. Call it at the top of a page."""
    return signin.require(permission)


def scope() -> str | None:
    """The community the current user is limited to, or None (whole sub-district)."""
    user = current_user()
    return user.community if user is not None else None


def data_cursor() -> Any:
    """A cursor on the data the current user may see: their community's private database for a
    scoped user, else the published database. For code that calls chuangshu.metrics or
    chuangshu.deck directly (pass it :func:`filters`, which is narrowed too); close it after use."""
    community = require().community
    return scoping.scoped(community).cursor() if community else db.published().cursor()


@st.cache_data(max_entries=512, show_spinner=False)
def _cached(name: str, version: str, args: tuple, community: str | None = None) -> Any:
    if community is None:
        cur = db.published().cursor()
        kwargs: dict[str, Any] = {}
    else:
        cur = scoping.scoped(community).cursor()
        kwargs = SCOPED_KWARGS.get(name, {})
    try:
        return metric_function(name)(cur, *args, **kwargs)
    finally:
        cur.close()


def metric_function(name: str) -> Any:
    """The metric layer's function ``name``: chuangshu.metrics, or the 考核 part of it (chuangshu.assessment)."""
    return getattr(metrics, name, None) or getattr(assessment, name)


def scoped_args(name: str, args: tuple, community: str) -> tuple:
    """``args`` for a user limited to ``community``: Filters narrowed, another community refused."""
    if name in UNSCOPED_ONLY:
        raise scoping.ScopeError("社区账号不能查看全街道的载入与退回记录")
    out = tuple(f.only(community) if isinstance(f, Filters) else f for f in args)
    for a in out:  # the rows behind a 考核 figure: only the user's own community, never the office's records
        if isinstance(a, assessment.Drill) and (a.community != community or a.key in assessment.OFFICE_ALERTS):
            raise scoping.ScopeError(f"本账号只能查看{community}的数据")
    at = COMMUNITY_ARG.get(name)
    if at is not None and at < len(out) and out[at] != community:
        raise scoping.ScopeError(f"本账号只能查看{community}的数据")
    return out


def get(name: str, *args: Any) -> Any:
    """Result of metrics.<name>(cursor, *args), cached per database version, arguments and scope.

    Stops the page for a visitor who is not signed in; for a community-scoped user the
    arguments are narrowed to their community and the metric runs on its private database.
    """
    if name in metrics.DERIVED:  # computed from another metric's cached result, no query
        base, derive = metrics.DERIVED[name]
        return derive(get(base, *args[:1]), *args[1:])
    community = require().community
    if community is None:
        return _cached(name, db_version(), tuple(args))
    try:
        return _cached(name, db_version(), scoped_args(name, tuple(args), community), community)
    except scoping.ScopeError as exc:
        st.error(exc.message, icon=":material/lock:")
        st.stop()


@st.cache_data(max_entries=8, show_spinner=False)
def _choices(version: str) -> tuple[list[str], list[str]]:
    cur = db.published().cursor()
    try:
        communities = [r[0] for r in cur.execute("SELECT community FROM communities ORDER BY community").fetchall()]
        categories = [r[0] for r in cur.execute("SELECT category FROM categories ORDER BY sort_order").fetchall()]
        return communities, categories
    finally:
        cur.close()


def overlay() -> targets.Overlay:
    """The administrators' target edits as saved now (read again whenever another session saves one)."""
    return targets.load()


def card_target(key: str, f: Filters | None = None) -> dict | None:
    """The explicit target a KPI card of ``key`` is judged against for ``f`` (default: the sidebar's
    filters; one community: its own, its peer group's or the sub-district's target), or None."""
    if key not in metrics.TARGETABLE:
        return None
    return get("card_targets", f or filters(), overlay()).get(key)


def choices() -> tuple[list[str], list[str]]:
    """The communities the current user may see (all, or their own) and all categories."""
    communities, categories = _choices(db_version())
    community = scope()
    if community is not None:
        communities = [c for c in communities if c == community]
    return communities, categories


def category_labels() -> dict[str, str]:
    """Category key -> full name (停车 -> 停车难问题), in the canonical order."""
    return get("category_labels")


def bounds() -> Bounds:
    """What the loaded data (the user's scope) allows the filters to ask for."""
    return get("data_span")


def sidebar_filters(note: str | None = None) -> Filters:
    """The global filters in the sidebar, initialised from the URL (corrected to the data, with notes)
    and written back to it. ``note`` says, on pages that do not use them, that they do not apply."""
    communities, categories = choices()
    labels = category_labels()
    limits = bounds()
    state = st.session_state
    if INITIAL_KEY not in state:  # first run of a session: the link decides, within what the data allows
        initial, notes = parse_query_params(st.query_params.to_dict(), communities, categories, limits)
        state[INITIAL_KEY], state[NOTES_KEY] = initial, notes
        widgets.set_date("f_as_of", initial.as_of)
        state["f_years"] = (initial.year_from, initial.year_to)
        state.pop("f_years__top", None)
    initial: Filters = state[INITIAL_KEY]
    default = limits.default()
    with st.sidebar:
        st.markdown("#### 筛选")
        if note:
            st.caption(note)
        as_of = widgets.date_select("统计截至", "f_as_of", limits.first, limits.last, initial.as_of,
                                    help=f"所有数字按此日期计算；可选 {fmt.date_cn(limits.first)} 至数据的最后一天 "
                                         f"{fmt.date_cn(limits.last)}")
        years = widgets.year_range("年份范围", "f_years", limits.first_year, as_of.year,
                                   (initial.year_from, initial.year_to),
                                   help="受理、办结等流量指标只计此区间；在任人数等存量指标按区间末计。"
                                        "最晚到统计截至日期所在的年份")
        community = scope()
        if community is None:
            chosen = st.multiselect("社区", communities, default=list(initial.communities), key="f_communities",
                                    placeholder="全部社区")
        else:  # a community-scoped user: fixed, shown for clarity
            chosen = st.multiselect("社区", [community], default=[community], key="f_community_scoped",
                                    disabled=True, help="本账号只能查看本社区的数据")
        cats = st.multiselect("事项类别", categories, default=list(initial.categories), key="f_categories",
                              placeholder="全部类别", format_func=lambda c: labels.get(c, c),
                              help="只作用于事项（受理、办结等）的数字；队伍、组织、项目与活动不分类别")
        f = Filters(as_of=as_of, year_from=years[0], year_to=years[1], communities=tuple(chosen),
                    categories=tuple(cats))
        if st.button("恢复默认", width="stretch"):
            widgets.forget(*WIDGET_KEYS)
            for key in (FILTER_KEY, INITIAL_KEY, NOTES_KEY):
                state.pop(key, None)
            st.query_params.clear()
            st.rerun()
    state[FILTER_KEY] = f
    wanted = to_query_params(f, default)
    current = {k: v for k, v in st.query_params.to_dict().items() if k in ("asof", "years", "c", "k")}
    if current != wanted:
        for key in ("asof", "years", "c", "k"):
            if key in st.query_params and key not in wanted:
                del st.query_params[key]
        st.query_params.update(wanted)
    return f


def alert_badge(f: Filters) -> None:
    """The sidebar's 预警 badge: the number of warnings at the as-of date for the chosen communities (the
    user's own for a community account), linking to the 考核 page. Cached per database version, as-of
    date, communities and target edits, so it costs one lookup per page view."""
    found = len(get("alerts", assessment.scope_of(f), overlay()))  # the 考核 page's list, from the same cache entry
    with st.sidebar:
        st.page_link("pages/assessment.py", label=f"预警 {found:,} 条" if found else "没有预警",
                     icon=":material/notification_important:" if found else ":material/check_circle:",
                     help="按预警规则在统计截至日触发的预警：超时未办结、重复报事热点、楼长空缺、低于目标、环比下降、逾期未报")


def filters() -> Filters:
    """The filters chosen in the sidebar (defaults if the sidebar has not run), narrowed to the
    user's community for a community-scoped user."""
    f = st.session_state.get(FILTER_KEY) or bounds().default()
    community = scope()
    return f.only(community) if community is not None and f.communities != (community,) else f


def is_sample() -> bool:
    """True when the published database was built from the bundled sample."""
    return get("dataset_info").get("dataset") == "sample"


def describe(f: Filters, applies: tuple[str, ...] = tuple(DIMENSIONS), with_as_of: bool = True) -> str:
    """The scope a figure shows, in words: only the filters it honours (full category names)."""
    return f.describe(with_as_of, years="years" in applies, communities="communities" in applies,
                      categories="categories" in applies, labels=category_labels())


def ignored(f: Filters, applies: tuple[str, ...]) -> list[str]:
    """The sidebar filters that are set but do not apply to a figure (for a visible note)."""
    out = []
    if "categories" not in applies and f.categories:
        out.append(DIMENSIONS["categories"])
    if "communities" not in applies and f.communities:
        out.append(DIMENSIONS["communities"])
    if "years" not in applies and (f.year_from, f.year_to) != (bounds().first_year, f.as_of.year):
        out.append(DIMENSIONS["years"])
    return out


def ignored_note(f: Filters, applies: tuple[str, ...], what: str = "本页", partly: dict[str, str] | None = None) -> str | None:
    """'侧栏的事项类别筛选不适用于本页' when a set filter does not apply (``partly``: dimension -> the one
    part it does apply to), else None."""
    partly = partly or {}
    names = [n for n in ignored(f, applies) if n not in {DIMENSIONS[d] for d in partly}]
    parts = [f"侧栏的{'、'.join(names)}筛选不适用于{what}"] if names else []
    parts += [f"{DIMENSIONS[d]}筛选只用于{where}" for d, where in partly.items() if DIMENSIONS[d] in ignored(f, applies)]
    return "；".join(parts) if parts else None


def page_header(title: str, subtitle: str | None = None, *, applies: tuple[str, ...] = tuple(DIMENSIONS),
                shown: Filters | None = None, partly: dict[str, str] | None = None) -> Filters:
    """Page title, the scope actually shown (``shown``, default the sidebar's filters, described by
    the filters the page honours: ``applies``), the sample badge, a note for any set filter that does
    not apply (or applies to one part only: ``partly``) and for every correction made to the link;
    returns the sidebar's filters.

    Stops the page for a visitor who is not signed in."""
    require()
    f = filters()
    view = shown or f
    st.title(title)
    line = f"数据截至 **{fmt.date_cn(view.as_of)}** · {describe(view, applies, with_as_of=False).replace('；', ' · ')}"
    if is_sample():
        line = ":red-badge[示例数据] " + line + " · 数字由示例台账生成，仅用于演示"
    st.caption(line)
    note = ignored_note(f, applies, partly=partly)
    if note:
        st.caption(f":material/filter_alt_off: {note}。")
    link_notes()
    if subtitle:
        st.markdown(subtitle)
    return f


def link_notes() -> None:
    """The corrections made to the link's filters, while the filters are still the ones it asked for."""
    notes = st.session_state.get(NOTES_KEY) or []
    if notes and st.session_state.get(FILTER_KEY) == st.session_state.get(INITIAL_KEY):
        st.info("链接中的筛选条件已按数据范围调整：" + "".join(notes), icon=":material/auto_fix_high:")


def empty_hint(f: Filters, applies: tuple[str, ...] = tuple(DIMENSIONS)) -> str:
    """What to change when a view has nothing to show, from the filters that are set."""
    tips = []
    if (f.year_from, f.year_to) != (bounds().first_year, f.as_of.year) and "years" in applies:
        tips.append(f"扩大年份范围（当前 {f.years_text()}）")
    if f.communities and "communities" in applies:
        tips.append("选择其他社区或取消社区筛选")
    if f.categories and "categories" in applies:
        tips.append("取消事项类别筛选")
    if f.as_of < bounds().last:
        tips.append(f"把统计截至日期调到 {fmt.date_cn(bounds().last)}")
    return "可以" + "，或".join(tips) + "。" if tips else "所选范围内的台账还没有这类记录。"


def empty_state(what: str, f: Filters, applies: tuple[str, ...] = tuple(DIMENSIONS)) -> None:
    """The designed empty state: '所选范围内没有事项记录' and what to change."""
    st.info(f"所选范围内没有{what}。{empty_hint(f, applies)}", icon=":material/search_off:")


def _help(definition: str, value: object, why: str | None = None) -> str:
    """A card's hover text: its 口径, and why it shows 「—」 when it does."""
    text = f"口径：{definition}"
    return text + "\n\n「—」：" + (why or fmt.UNDEFINED_HELP.removeprefix("「—」表示")) if fmt.missing(value) else text


SPARK_COLORS = {"up": "#3A7D44", "down": "#C0392B", "flat": "#6B7280"}  # like st.metric's delta colours
KPI_CARD_CSS = (  # a card with a sparkline: the SVG as the card's background, under its figures
    '[class*="st-key-kpi_"] [data-testid="stMetric"] { background-repeat: no-repeat; '
    "background-position: left 1rem bottom 0.75rem; background-size: calc(100% - 2rem) 2.5rem; "
    "padding-bottom: 3.75rem; }")


def spark_css(key: str, values: Any, delta_pct: float | None) -> str:
    """The style rule that draws a KPI card's sparkline (inline SVG, coloured by its year-over-year change);
    "" when the card has no trend to draw."""
    if not isinstance(values, list) or len(values) < 2:
        return ""
    _, arrow = fmt.delta_short(delta_pct)
    color = SPARK_COLORS["flat" if not arrow else "up" if delta_pct > 0 else "down"]
    svg = charts.sparkline_svg(values, color)
    if not svg:
        return ""
    data = base64.b64encode(svg.encode()).decode()
    return f'.st-key-kpi_{key} [data-testid="stMetric"] {{ background-image: url("data:image/svg+xml;base64,{data}"); }}'


def kpi_cards(df: pd.DataFrame, columns: int = 4, group: str | None = None, keys: list[str] | None = None) -> None:
    """KPI cards: big number with unit, year-over-year delta, sparkline of the same measure, 口径 on hover.

    The sparklines are SVG drawn by us (:func:`spark_css`), one style element for all the cards: no chart
    runtime loads in the browser for them, so the cards paint as soon as they arrive."""
    if group is not None:
        df = df[df["group"] == group]
    if keys is not None:
        df = df.set_index("key").loc[[k for k in keys if k in set(df["key"])]].reset_index()
    css = []
    for start in range(0, len(df), columns):
        cols = st.columns(columns)
        for col, r in zip(cols, df.iloc[start:start + columns].to_dict("records")):
            m = metrics.METRICS[r["key"]]
            delta, arrow = fmt.delta_short(r.get("delta_pct"))
            rule = spark_css(r["key"], r.get("spark"), r.get("delta_pct"))
            css.append(rule)
            _, goal = assessment.judge_card(r["key"], r["value"], card_target(r["key"]))
            (col.container(key=f"kpi_{r['key']}") if rule else col).metric(
                label=r["label"], value=fmt.metric_value(r["value"], r["unit"], m.kind),
                delta=delta, delta_color="normal" if arrow else "off", delta_arrow="auto" if arrow else "off",
                delta_description=" · ".join(x for x in ("同比" if delta else None, goal) if x) or None,
                help=_help(r["definition"], r["value"]), border=True,
            )
    if any(css):
        st.html("<style>" + KPI_CARD_CSS + "".join(css) + "</style>")


TARGET_COLORS = {"met": "green", "near": "orange", "missed": "red"}


def metric_card(col: Any, key: str, value: float | None) -> None:
    """One metric from the registry on a card, with its definition (and why 「—」) on hover and, where a
    target exists for the shown scope, its status in colour and words (✓ 达标 · 目标 ≥ 90.0%)."""
    m = metrics.METRICS[key]
    target = card_target(key)
    state, goal = assessment.judge_card(key, value, target)
    help_text = _help(m.definition, value)
    if target:
        help_text += f"\n\n目标来源：{target['source']}（考核目标，见「考核」页与 docs/assessment.md）"
    col.metric(m.label, fmt.metric_value(value, m.unit, m.kind), help=help_text, border=True,
               delta=goal, delta_color=TARGET_COLORS.get(state or "", "gray") if goal else "normal",
               delta_arrow="off")


FIGURE_BUILDS: collections.Counter[str] = collections.Counter()  # figures built, per builder (tests count them)


def frame_digest(data: pd.DataFrame) -> str:
    """A digest of a frame's content: values, index, column names and dtypes (what a figure is built from)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((list(data.columns), [str(t) for t in data.dtypes], data.index.names)).encode())
    try:
        h.update(pd.util.hash_pandas_object(data, index=True).to_numpy().tobytes())
    except TypeError:  # unhashable cells (lists): their text
        h.update(data.to_json(date_format="iso", default_handler=str).encode())
    return h.hexdigest()


def figure(build: Callable[..., go.Figure], data: pd.DataFrame, *args: Any, **kwargs: Any) -> go.Figure:
    """``build(data, *args, **kwargs)`` (a chuangshu.charts builder), built once per distinct input — the
    frame's content and the arguments — and reused by every rerun and session that asks for the same.

    The figure is shared: treat it as read-only (chuangshu.images copies before it changes one)."""
    parts = [frame_digest(a) if isinstance(a, pd.DataFrame) else repr(a) for a in (data, *args)]
    key = f"{build.__module__}.{build.__qualname__}|{'|'.join(parts)}|{sorted(kwargs.items())!r}"
    return _figure(key, build, data, args, kwargs)


@st.cache_resource(max_entries=256, show_spinner=False)
def _figure(key: str, _build: Callable[..., go.Figure], _data: pd.DataFrame, _args: tuple,
            _kwargs: dict) -> go.Figure:
    FIGURE_BUILDS[_build.__qualname__] += 1
    return _build(_data, *_args, **_kwargs)


def chart(fig: go.Figure, data: pd.DataFrame, name: str, note: str | None = None, image: bool = True, *,
          f: Filters | None = None, applies: tuple[str, ...] = tuple(DIMENSIONS), what: str = "可显示的数据") -> None:
    """A chart with its caption (source, as-of, the scope ``f`` it shows, described by the filters it
    honours), its data as an xlsx download with Chinese headers and, with ``image``, a 「图片」 popover
    offering PNG and SVG (every file built only when clicked: chuangshu.downloads). A chart with nothing
    to draw is replaced by the empty state (what is missing and what to change); a partial last year is
    explained under it."""
    f = f or filters()
    if data.empty or charts.is_blank(fig):
        st.markdown(f"**{fig.layout.title.text or name}**")
        empty_state(what, f, applies)
        return
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})
    _chart_footer(lambda: fig, data, name, note, image, f, applies)


SCREEN_CHART_HEIGHT = "340px"  # the plot area of a drawn chart (title and legend above it), as charts.bars' 380
SCREEN_PLOT_WIDTH = 560  # the narrowest the plot area is drawn (half a 1280 px window), for thinning labels
SCREEN_ROW_PX = 26  # a row of drawn horizontal bars
SCREEN_CHART_CSS = (".sc-screen .sc-title { font-size: 16px; color: #1F2A37; font-weight: 600; }"
                    ".sc-screen rect:has(> title):hover { opacity: 0.8; }"
                    f".sc-axis-note {{ font-size: 12.5px; color: {charts.MUTED}; text-align: center; }}")


def bar_chart(data: pd.DataFrame, x: str, y: str, title: str, name: str, *, color: str | None = None,
              horizontal: bool = False, x_title: str | None = None, y_title: str | None = None,
              text: bool = False, download: pd.DataFrame | None = None, note: str | None = None,
              image: bool = True, f: Filters | None = None, applies: tuple[str, ...] = tuple(DIMENSIONS),
              what: str = "可显示的数据") -> None:
    """The chart ``charts.bars(data, x, y, title, …)`` would draw, drawn on screen by us as inline SVG
    (chuangshu.svgchart: no chart runtime for the browser to load and lay out, so a screen of them paints
    as soon as it arrives): stacked columns (a partial year hatched), or horizontal bars read top-down
    with each value at its end; every bar has a tooltip (its label, series and value). Caption, data
    download (``download``, default ``data``) and PNG/SVG images as :func:`chart`, the images from
    charts.bars with the same arguments, built only when clicked."""
    f = f or filters()
    if data.empty or not pd.to_numeric(data[y], errors="coerce").fillna(0).any():
        st.markdown(f"**{title}**")
        empty_state(what, f, applies)
        return
    if horizontal:
        shown = figure(svgchart.ranking, data, x, y, title, look=svgchart.LIGHT, color=charts.BLUE, height=None,
                       row_px=SCREEN_ROW_PX, axis=True)
    else:
        shown = figure(svgchart.frame_columns, data, x, y, title, color=color, look=svgchart.LIGHT,
                       x_title=x_title or "", y_title=y_title or "", plot_width=SCREEN_PLOT_WIDTH,
                       height=SCREEN_CHART_HEIGHT)
    caption = f'<div class="sc-axis-note">{html.escape(x_title)}</div>' if horizontal and x_title else ""
    st.html(svgchart.for_streamlit(f"<style>{svgchart.css(svgchart.LIGHT)}{SCREEN_CHART_CSS}</style>",
                                   shown.html(inline=False, extra_class="sc-screen") + caption),
            unsafe_allow_javascript=True)
    _chart_footer(lambda: charts.bars(data, x, y, title, color=color, horizontal=horizontal, x_title=x_title,
                                      y_title=y_title, text=text),
                  data if download is None else download, name, note, image, f, applies)


def heatmap_chart(matrix: pd.DataFrame, title: str, name: str, *, unit: str = "件", note: str | None = None,
                  image: bool = True, f: Filters | None = None, applies: tuple[str, ...] = tuple(DIMENSIONS),
                  what: str = "可显示的数据") -> None:
    """The heatmap ``charts.heatmap(matrix, title, …)`` would draw, drawn on screen by us as inline SVG
    (svgchart.heatmap: a count in every cell, a tooltip per cell), with the caption, the matrix as the data
    download and PNG/SVG images from charts.heatmap, built only when clicked (as :func:`bar_chart`)."""
    f = f or filters()
    if matrix.empty or not matrix.to_numpy().any():
        st.markdown(f"**{title}**")
        empty_state(what, f, applies)
        return
    shown = figure(svgchart.heatmap, matrix, title, unit=unit, look=svgchart.LIGHT)
    st.html(svgchart.for_streamlit(f"<style>{svgchart.css(svgchart.LIGHT)}{SCREEN_CHART_CSS}</style>",
                                   shown.html(inline=False, extra_class="sc-screen")),
            unsafe_allow_javascript=True)
    _chart_footer(lambda: charts.heatmap(matrix, title, colorbar_title=unit), matrix.reset_index(), name, note,
                  image, f, applies)


def _chart_footer(fig: Callable[[], go.Figure], data: pd.DataFrame, name: str, note: str | None, image: bool,
                  f: Filters, applies: tuple[str, ...]) -> None:
    """A chart's caption, data download and image popover (``fig()`` gives the figure the images are drawn from)."""
    from chuangshu.export import to_xlsx_bytes

    notes = [n for n in (note, ignored_note(filters(), applies, "本图")) if n]
    if "partial" in data.columns and data["partial"].astype(bool).any() and "year" in data.columns:
        notes.append(fmt.partial_note(f.end))
    text = f"{SOURCE} · {describe(f, applies)}"
    if notes:
        text = "；".join(notes) + " · " + text
    st.caption(text + (" · 示例数据" if is_sample() else ""))
    row = st.container(horizontal=True, gap="small")
    row.download_button("下载数据", lambda: to_xlsx_bytes(fmt.for_download(data)), file_name=f"{name}.xlsx",
                        key=f"dl_{name}",
                        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                        icon=":material/download:", type="tertiary", help="本图数据（Excel）", on_click="ignore")
    img = row if image else None
    if img is not None:  # PNG / SVG rendered only when a button is clicked (deferred download data)
        from chuangshu import images

        caption = ("示例数据 · " if is_sample() else "") + text
        with img.popover("图片", icon=":material/image:", type="tertiary"):
            if images.browser_path() is None:
                st.caption(images.MISSING_MESSAGE)
            else:
                st.caption("导出本图（含来源与筛选说明），首次生成约需数秒")
                st.download_button("PNG 图片", data=lambda: images.to_png(fig(), caption=caption),
                                   file_name=f"{name}.png", mime="image/png", key=f"png_{name}", on_click="ignore",
                                   icon=":material/image:", width="stretch")
                st.download_button("SVG 矢量图", data=lambda: images.to_svg(fig(), caption=caption),
                                   file_name=f"{name}.svg", mime="image/svg+xml", key=f"svg_{name}",
                                   on_click="ignore", icon=":material/draw:", width="stretch")


def definitions(keys: list[str]) -> None:
    """An expander listing the 口径 of the metrics a page shows (one Markdown element for all of them)."""
    with st.expander("指标口径"):
        st.markdown("\n\n".join(f"**{metrics.METRICS[k].label}**（{metrics.METRICS[k].unit}）：{metrics.METRICS[k].definition}"
                                  for k in keys))


def table(df: pd.DataFrame, columns: dict[str, tuple[str, str]], height: int | None = None, key: str | None = None,
          selectable: bool = False, empty: str = "（无）") -> Any:
    """A table with Chinese headers; kinds: text, count, pct, days, wan, date, datetime, float.

    Missing values read 「—」 (never None); an empty table is the sentence ``empty`` instead of a grid."""
    if df.empty:
        st.caption(empty)
        return None
    config = {}
    for col, (label, kind) in columns.items():
        if kind == "count":
            config[col] = st.column_config.NumberColumn(label, format="localized")
        elif kind == "pct":
            config[col] = st.column_config.NumberColumn(label, format="%.1f%%")
        elif kind == "days":
            config[col] = st.column_config.NumberColumn(label, format="%.1f 天")
        elif kind == "wan":
            config[col] = st.column_config.NumberColumn(label, format="%.2f 万元")
        elif kind == "float":
            config[col] = st.column_config.NumberColumn(label, format="%.1f")
        elif kind == "date":
            config[col] = st.column_config.DateColumn(label, format="YYYY-MM-DD")
        elif kind == "datetime":
            config[col] = st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm")
        else:
            config[col] = st.column_config.TextColumn(label)
    kwargs: dict[str, Any] = {"hide_index": True, "column_config": config, "column_order": list(columns),
                              "width": "stretch", "placeholder": fmt.DASH}
    if height:
        kwargs["height"] = min(height, 38 + 35 * len(df) + 2)
    if selectable:
        kwargs.update(on_select="rerun", selection_mode="single-row", key=key)
    return st.dataframe(df, **kwargs)


def figure_cards(df: pd.DataFrame, label: str, value: str, unit: str, columns: int = 6, note: str = "") -> None:
    """Plain figure cards (published reference figures such as the 2020 mobilisation)."""
    cols = st.columns(columns)
    for i, r in enumerate(df.itertuples(index=False)):
        cols[i % columns].metric(getattr(r, label), fmt.count(getattr(r, value), getattr(r, unit)),
                                 help=note or None, border=True)


def selected(event: Any, df: pd.DataFrame, column: str) -> Any:
    """The value of ``column`` in the row picked in a selectable table, or None."""
    rows = event.selection.rows if event is not None and hasattr(event, "selection") else []
    return df.iloc[rows[0]][column] if rows and rows[0] < len(df) else None


def paged(name: str, key: str, *args: Any, per_page: int = metrics.CASE_PAGE) -> tuple[pd.DataFrame, int, int, int]:
    """One page of a paged metric (its last argument the page from 0, its ``total`` column the row count):
    (rows, total, page from 1, pages). The page is the pager ``key``'s, back to 1 when it no longer exists."""
    state = st.session_state
    page = int(state.get(key, 1) or 1)
    rows = get(name, *args, page - 1)
    if rows.empty and page > 1:  # fewer rows than before (another filter): the first page
        page = state[key] = 1
        rows = get(name, *args, 0)
    total = int(rows["total"].iloc[0]) if len(rows) else 0
    return rows, total, page, max(1, -(-total // per_page))


def pager(key: str, pages: int) -> None:
    """The page picker under a paged table (nothing when there is one page)."""
    if pages > 1:
        st.number_input(f"页码（共 {pages:,} 页）", min_value=1, max_value=pages, step=1, key=key, width=200)


def profile_cards(profile: pd.DataFrame, compare: bool = True, columns: int = 3, f: Filters | None = None) -> None:
    """A community's KPIs; with ``compare``, the sub-district median and its rank (whole numbers) under each,
    and the status against its target where one exists for the community shown (``f``)."""
    for start in range(0, len(profile), columns):
        cols = st.columns(columns)
        for col, r in zip(cols, profile.iloc[start:start + columns].to_dict("records")):
            m = metrics.METRICS[r["key"]]
            rank = (fmt.rank(r["rank"], r["ranked_of"]) or "不参与排名") if compare else None
            median = fmt.metric_value(r["median"], r["unit"], m.kind)
            _, goal = assessment.judge_card(r["key"], r["value"], card_target(r["key"], f))
            col.metric(r["label"], fmt.metric_value(r["value"], r["unit"], m.kind),
                       delta=f"街道中位数 {median}" if compare else None,
                       delta_color="off", delta_arrow="off",
                       delta_description=" · ".join(x for x in (rank, goal) if x) or None,
                       help=_help(r["definition"], r["value"], r.get("why")), border=True)


def global_style() -> None:
    """Stylesheet for every page: Streamlit's English uploader words, and the "No results" of a select box
    or multiselect whose typed text matches no option (hard-coded in Streamlit), replaced by Chinese ones."""
    st.html("""<style>
[role="listbox"][data-empty="true"] [role="option"] span { font-size: 0; }
[role="listbox"][data-empty="true"] [role="option"] span::after { content: "没有匹配的选项"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p { font-size: 0; }
[data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] p::after {
  content: "选择文件"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzoneInstructions"] span { font-size: 0; }
[data-testid="stFileUploaderDropzoneInstructions"] span::after {
  content: "或把文件拖到这里（大小与格式要求见下方说明）"; font-size: 0.875rem; }
[data-testid="stFileUploaderDropzone"] > span:not(:has(button)) { font-size: 0; }
[data-testid="stFileUploaderDropzone"] > span:not(:has(button))::after {
  content: "松开鼠标即可添加文件"; font-size: 0.875rem; }
[class*="-datebox"] .react-aria-ComboBox [role="group"] > button { display: none; }
[class*="-datebox"] .react-aria-ComboBox input { padding-left: 0.5rem; padding-right: 0.25rem; text-overflow: clip; }
</style>""")


def is_zero(df: pd.DataFrame, keys: Any) -> bool:
    """True when the figures ``keys`` of a headline frame are all zero (or none is there)."""
    shown = df[df["key"].isin(list(keys))]
    return not pd.to_numeric(shown["value"], errors="coerce").fillna(0).any()


def zero_note(df: pd.DataFrame, keys: Any, what: str, f: Filters) -> None:
    """The empty state under KPI cards whose figures (``keys`` of a headline frame) are all zero."""
    if len(df[df["key"].isin(list(keys))]) and is_zero(df, keys):
        empty_state(what, f)


def published_cards(df: pd.DataFrame, f: Filters, year: int, note: str) -> None:
    """Published sub-district figures of one year: shown when the window includes that year, with a
    visible note that the community and category filters do not change them."""
    if not f.year_from <= year <= f.end.year:
        st.caption(f"所选范围（{f.years_text()}，截至{fmt.date_cn(f.as_of)}）不含 {year} 年，不显示这组 {year} 年的数字。")
        return
    figure_cards(df, "item", "figure", "unit", note=note, columns=3)  # six across truncates 1,33… and the labels
    extra = "不随社区、事项类别筛选变化" if (f.communities or f.categories) else "不随筛选变化"
    st.caption(f":material/info: 以上为街道公布的全街道数字，{extra}。")
