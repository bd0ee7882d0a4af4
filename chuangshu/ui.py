"""Streamlit building blocks shared by every page: filters, cached metrics, KPI cards, charts.

Access control lives here too, so that no page has to remember it: :func:`get` refuses a
visitor who is not signed in and, for a community-scoped user, narrows every Filters to
their community, refuses another community's drill-down and runs the metric on that
community's private database (:mod:`chuangshu.scope`). Chart downloads, slides and the big
screen built from :func:`get` / :func:`data_cursor` therefore follow the scope too.
"""
from __future__ import annotations

from datetime import date
from typing import Any

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from chuangshu import db, fmt, metrics, signin
from chuangshu import scope as scoping
from chuangshu.auth import User
from chuangshu.filters import DEFAULT_AS_OF, PROGRAMME_START_YEAR, Filters, from_query_params, to_query_params

SOURCE = "来源：各社区上报台账（创熟台账库）"
FILTER_KEY = "filters"
INITIAL_KEY = "filters_from_link"


def db_version() -> str:
    """Version of the published database; cache keys include it so a new load shows at once."""
    return db.published().version()


# Scoped users: metrics that take an explicit community (position in args after the cursor) ...
COMMUNITY_ARG = {"compound_cases": 1, "case_list": 1, "community_profile": 1}
# ... metrics they may not call at all (whole-sub-district administration) ...
UNSCOPED_ONLY = frozenset({"data_quality", "reject_rows", "overdue_submissions"})
# ... and keyword arguments their calls get (no median or rank: they would reveal other communities).
SCOPED_KWARGS: dict[str, dict[str, Any]] = {"community_profile": {"compare": False}}


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
        return getattr(metrics, name)(cur, *args, **kwargs)
    finally:
        cur.close()


def scoped_args(name: str, args: tuple, community: str) -> tuple:
    """``args`` for a user limited to ``community``: Filters narrowed, another community refused."""
    if name in UNSCOPED_ONLY:
        raise scoping.ScopeError("社区账号不能查看全街道的载入与退回记录")
    out = tuple(f.only(community) if isinstance(f, Filters) else f for f in args)
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


def choices() -> tuple[list[str], list[str]]:
    """The communities the current user may see (all, or their own) and all categories."""
    communities, categories = _choices(db_version())
    community = scope()
    if community is not None:
        communities = [c for c in communities if c == community]
    return communities, categories


def sidebar_filters() -> Filters:
    """The global filters in the sidebar, initialised from and written back to the URL."""
    communities, categories = choices()
    if INITIAL_KEY not in st.session_state:  # first run of a session: the link decides
        st.session_state[INITIAL_KEY] = from_query_params(st.query_params.to_dict(), communities, categories)
    initial: Filters = st.session_state[INITIAL_KEY]
    with st.sidebar:
        st.markdown("#### 筛选")
        as_of = st.date_input("统计截至", value=initial.as_of, key="f_as_of", min_value=date(PROGRAMME_START_YEAR, 8, 1),
                              max_value=date.today(), format="YYYY-MM-DD", help="所有数字按此日期计算（默认 2022-06-30）")
        max_year = max(date.today().year, DEFAULT_AS_OF.year)
        years = st.slider("年份范围", PROGRAMME_START_YEAR, max_year, value=(initial.year_from, initial.year_to),
                          key="f_years", help="受理、办结等流量指标只计此区间；在任人数等存量指标按区间末计")
        community = scope()
        if community is None:
            chosen = st.multiselect("社区", communities, default=list(initial.communities), key="f_communities",
                                    placeholder="全部社区")
        else:  # a community-scoped user: fixed, shown for clarity
            chosen = st.multiselect("社区", [community], default=[community], key="f_community_scoped",
                                    disabled=True, help="本账号只能查看本社区的数据")
        cats = st.multiselect("事项类别", categories, default=list(initial.categories), key="f_categories",
                              placeholder="全部类别")
        f = Filters(as_of=as_of, year_from=years[0], year_to=min(years[1], as_of.year),
                    communities=tuple(chosen), categories=tuple(cats))
        if st.button("恢复默认", width="stretch"):
            for key in ("f_as_of", "f_years", "f_communities", "f_categories", FILTER_KEY, INITIAL_KEY):
                st.session_state.pop(key, None)
            st.query_params.clear()
            st.rerun()
    st.session_state[FILTER_KEY] = f
    wanted = to_query_params(f)
    current = {k: v for k, v in st.query_params.to_dict().items() if k in ("asof", "years", "c", "k")}
    if current != wanted:
        for key in ("asof", "years", "c", "k"):
            if key in st.query_params and key not in wanted:
                del st.query_params[key]
        st.query_params.update(wanted)
    return f


def filters() -> Filters:
    """The filters chosen in the sidebar (defaults if the sidebar has not run), narrowed to the
    user's community for a community-scoped user."""
    f = st.session_state.get(FILTER_KEY, Filters())
    community = scope()
    return f.only(community) if community is not None and f.communities != (community,) else f


def is_sample() -> bool:
    """True when the published database was built from the bundled sample."""
    return get("dataset_info").get("dataset") == "sample"


def page_header(title: str, subtitle: str | None = None) -> Filters:
    """Page title, the as-of date once, the sample badge; returns the current filters.

    Stops the page for a visitor who is not signed in."""
    require()
    f = filters()
    st.title(title)
    line = f"数据截至 **{fmt.date_cn(f.as_of)}** · {f.describe(with_as_of=False)}"
    if is_sample():
        line = ":red-badge[示例数据] " + line + " · 数字由示例台账生成，仅用于演示"
    st.caption(line)
    if subtitle:
        st.markdown(subtitle)
    return f


def kpi_cards(df: pd.DataFrame, columns: int = 4, group: str | None = None, keys: list[str] | None = None) -> None:
    """KPI cards: big number with unit, year-over-year delta, sparkline, definition on hover."""
    if group is not None:
        df = df[df["group"] == group]
    if keys is not None:
        df = df.set_index("key").loc[keys].reset_index()
    rows = [df.iloc[i:i + columns] for i in range(0, len(df), columns)]
    for chunk in rows:
        cols = st.columns(columns)
        for col, (_, r) in zip(cols, chunk.iterrows()):
            m = metrics.METRICS[r["key"]]
            delta, arrow = fmt.delta_short(r.get("delta_pct"))
            col.metric(
                label=r["label"], value=fmt.metric_value(r["value"], r["unit"], m.kind),
                delta=delta, delta_color="normal" if arrow else "off", delta_arrow="auto" if arrow else "off",
                delta_description="同比" if delta else None,
                chart_data=r["spark"] if isinstance(r.get("spark"), list) and len(r["spark"]) > 1 else None,
                chart_type="area", help=f"口径：{r['definition']}", border=True,
            )


def metric_card(col: Any, key: str, value: float | None) -> None:
    """One metric from the registry on a card, with its definition on hover."""
    m = metrics.METRICS[key]
    col.metric(m.label, fmt.metric_value(value, m.unit, m.kind), help=f"口径：{m.definition}", border=True)


def chart(fig: go.Figure, data: pd.DataFrame, name: str, note: str | None = None, image: bool = True) -> None:
    """A chart with its caption (source, as-of, filters), its data as an xlsx download and, with ``image``,
    a 「图片」 popover offering PNG and SVG (every file built only when clicked: chuangshu.downloads)."""
    from chuangshu.export import to_xlsx_bytes

    f = filters()
    st.plotly_chart(fig, width="stretch", config={"displaylogo": False, "toImageButtonOptions": {"scale": 2}})
    text = f"{SOURCE} · {f.describe()}"
    if note:
        text = note + " · " + text
    st.caption(text + (" · 示例数据" if is_sample() else ""))
    row = st.container(horizontal=True, gap="small")
    row.download_button("下载数据", lambda: to_xlsx_bytes(data), file_name=f"{name}.xlsx", key=f"dl_{name}",
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
                st.download_button("PNG 图片", data=lambda: images.to_png(fig, caption=caption),
                                   file_name=f"{name}.png", mime="image/png", key=f"png_{name}", on_click="ignore",
                                   icon=":material/image:", width="stretch")
                st.download_button("SVG 矢量图", data=lambda: images.to_svg(fig, caption=caption),
                                   file_name=f"{name}.svg", mime="image/svg+xml", key=f"svg_{name}",
                                   on_click="ignore", icon=":material/draw:", width="stretch")


def definitions(keys: list[str]) -> None:
    """An expander listing the 口径 of the metrics a page shows."""
    with st.expander("指标口径"):
        for key in keys:
            m = metrics.METRICS[key]
            st.markdown(f"**{m.label}**（{m.unit}）：{m.definition}")


def table(df: pd.DataFrame, columns: dict[str, tuple[str, str]], height: int | None = None, key: str | None = None,
          selectable: bool = False) -> Any:
    """A table with Chinese headers; kinds: text, count, pct, days, wan, date, float."""
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
        else:
            config[col] = st.column_config.TextColumn(label)
    kwargs: dict[str, Any] = {"hide_index": True, "column_config": config, "column_order": list(columns),
                              "width": "stretch"}
    if height:
        kwargs["height"] = height
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


def profile_cards(profile: pd.DataFrame, compare: bool = True, columns: int = 3) -> None:
    """A community's KPIs; with ``compare``, the sub-district median and its rank under each."""
    for start in range(0, len(profile), columns):
        cols = st.columns(columns)
        for col, r in zip(cols, profile.iloc[start:start + columns].itertuples(index=False)):
            m = metrics.METRICS[r.key]
            rank = f"第 {r.rank} / {r.ranked_of} 名" if compare and r.rank else ("不参与排名" if compare else None)
            col.metric(r.label, fmt.metric_value(r.value, r.unit, m.kind),
                       delta=f"街道中位数 {fmt.metric_value(r.median, r.unit, m.kind)}" if compare else None,
                       delta_color="off", delta_arrow="off", delta_description=rank,
                       help=f"口径：{r.definition}", border=True)
