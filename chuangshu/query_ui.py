"""The 即席查询 page's widgets: schema browser, pickers, parameters, results, quick chart, downloads, save form.

Every query runs through :func:`chuangshu.query_session.run` (and so through
:func:`chuangshu.query_runner.run_query`: read-only, one SELECT, time, memory and row limits,
audit log); these functions only collect input and show results. Widget keys and labels are
the page's contract with its tests and must not change.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from chuangshu import charts, dictionary, export, fmt, query_runner, signin, widgets
from chuangshu import db as dbmod
from chuangshu import query_session as session
from chuangshu import saved_queries as sq
from chuangshu import scope as scoping
from chuangshu.auth import User
from chuangshu.examples import BY_ID as EXAMPLES_BY_ID
from chuangshu.examples import EXAMPLES
from chuangshu.paths import db_path

NONE = "（无）"
CHART_KINDS = {"柱状图": "bar", "折线图": "line", "散点图": "scatter"}
EDITOR_CSS = ("<style>.st-key-sql textarea {font-family: 'Noto Sans Mono CJK SC', 'DejaVu Sans Mono', "
              "Consolas, monospace; font-size: 0.9rem;}</style>")


def intro(scope: str | None) -> None:
    """Title, the limits every query runs under and, for a community account, what it may query."""
    st.html(EDITOR_CSS)
    st.title("即席查询")
    st.caption(
        f"在公开视图上写 SQL 回答图表之外的问题。只读、每次一条 SELECT；"
        f"单次查询最长 {query_runner.DEFAULT_TIMEOUT_S:g} 秒，最多显示和导出 {query_runner.DEFAULT_MAX_ROWS:,} 行"
        f"（每个结果不超过 {query_runner.DEFAULT_MAX_BYTES / query_runner.MB:g} MB）；"
        f"每人最多同时运行 {query_runner.MAX_PER_USER} 个查询，关闭页面后结果即释放；"
        "每次查询都会记入审计日志。"
    )
    if scope is not None:
        st.info(f"本账号只能查询{scope}的数据：查询在只含本社区数据的独立数据库中运行，"
                f"可查询的视图为 {', '.join(scoping.VISIBLE_VIEWS)}。", icon=":material/lock:")


def schema_browser(scope: str | None) -> None:
    """The sidebar's 数据字典: the views this user may query, searchable by column name or description."""
    with st.sidebar:
        st.header("数据字典")
        st.caption("可查询的公开视图及字段说明。点开视图查看字段。")
        needle = st.text_input("搜索字段或说明", key="dict_search", placeholder="如：办结、楼长、amount").strip().lower()
        for name, view in dictionary.VIEWS.items():
            if scope is not None and name not in scoping.VISIBLE_VIEWS:
                continue
            frame = dictionary.column_frame(name)
            if needle:
                hit = frame.apply(lambda r: needle in " ".join(map(str, r.values)).lower(), axis=1)
                if not hit.any() and needle not in f"{name} {view.zh_title}".lower():
                    continue
                if hit.any():
                    frame = frame[hit]
            with st.expander(f"`{name}` {view.zh_title}", expanded=bool(needle)):
                st.caption(view.zh or view.zh_title)
                st.dataframe(frame[["列名", "类型", "说明"]], hide_index=True, width="stretch", placeholder="—")


def database_version() -> str | None:
    """The published database's version; None, with a message on the page, when there is none yet."""
    try:
        return dbmod.published(db_path()).version()
    except dbmod.DatabaseMissing:
        st.warning("还没有找到分析数据库，暂时无法查询。请先导入台账数据（在服务器上运行 make db 或 make run），然后刷新本页。")
        return None


def flash() -> None:
    """The one-off message left by the previous run (saved, deleted, a shared link that no longer works)."""
    message = st.session_state.pop("flash", None)
    if message:
        getattr(st, message[0])(message[1])


def _saved_list(user: User) -> list[sq.SavedQuery]:
    """The saved queries ``user`` may see, or [] with the store's error on the page."""
    try:
        return session.store().list(user)
    except sq.SavedQueryError as exc:
        st.error(str(exc))
        return []


def pickers(user: User) -> None:
    """「示例查询」 and 「常用查询」 side by side, with the loaded one's question or description.

    A saved query's description is shown as plain text (st.text): a description is written by
    one analyst and read by all, so no link, image or formatting in it may render."""
    left, right = st.columns(2)
    with left:
        st.selectbox(
            "示例查询", options=[e.id for e in EXAMPLES], key="example_pick", index=None,
            format_func=lambda i: EXAMPLES_BY_ID[i].title, placeholder="选择一个示例，载入并运行",
            on_change=session.on_pick_example,
        )
    saved = _saved_list(user)
    with right:
        st.selectbox(
            "常用查询", options=[q.name for q in saved], key="saved_pick", index=None,
            placeholder="选择已保存的查询" if saved else "还没有保存的查询",
            on_change=session.on_pick_saved,
        )
    source = st.session_state.get("source", "")
    if source.startswith("example:") and source[8:] in EXAMPLES_BY_ID:
        st.caption(f"示例问题：{EXAMPLES_BY_ID[source[8:]].question}")
    query = session.loaded_saved()
    if query is not None:
        if query.description:
            st.text(f"说明：{query.description}")
        st.caption(f"保存者：{query.describe_owner()}")  # account names and communities: not user-typed text


def sql_editor() -> str:
    """The SQL text area; returns its text."""
    st.text_area("SQL（只读，一条 SELECT；参数写作 $名称）", key="sql", height=280,
                 max_chars=query_runner.MAX_SQL_CHARS)
    return st.session_state.get("sql") or ""


@st.cache_data(ttl=300, show_spinner=False)
def choice_options(options_sql: str, version: str, scope: str | None = None) -> list:
    """The choices an options SELECT gives (cached per database version and scope)."""
    param = sq.Param(name="options", type="choice", options_sql=options_sql)
    return [str(v) for v in sq.options_for(param, user=None, scope=scope)]


def _date_widget(label: str, key: str, initial: Any, help_text: str | None) -> dt.date:
    """A date parameter as 年/月/日 boxes (chuangshu.widgets: Chinese whatever the browser's language);
    ``st.session_state[key]`` stays the parameter's value, as for the other parameter widgets."""
    synced = f"{key}__synced"
    value = st.session_state.get(key, initial)
    if not isinstance(value, dt.date):
        value = dt.date.today()
    if st.session_state.get(synced) != value:  # set from outside (a saved query, a shared link)
        widgets.set_date(key, value)
    low, high = dt.date(2000, 1, 1), dt.date(dt.date.today().year + 5, 12, 31)
    picked = widgets.date_select(label, key, low, high, value, help=help_text)
    st.session_state[key] = st.session_state[synced] = picked
    return picked


def _typed_widget(param: sq.Param, version: str, scope: str | None) -> Any:
    """The widget for a declared parameter, by its type; returns the widget's value."""
    key = session.param_key(param, param.name)
    label = fmt.label(param.label or param.name)  # typed by the query's author, shown to everyone
    common: dict[str, Any] = {"key": key, "help": fmt.label(param.help) if param.help else None}
    if key not in st.session_state:  # else the widget takes its value from the session
        initial = session.initial_value(param, param.default)
        if param.type == "bool":
            common["value"] = bool(initial)
        elif param.type == "choice":
            common["index"] = None
        elif param.type == "text":
            common["value"] = initial or ""
        else:
            common["value"] = initial
    if param.type == "int":
        return st.number_input(label, step=1, **common)
    if param.type == "float":
        return st.number_input(label, **common)
    if param.type == "date":
        return _date_widget(label, key, common.get("value"), common["help"])
    if param.type == "bool":
        return st.checkbox(label, **common)
    if param.type == "choice":
        options = [str(o) for o in param.options] if param.options else (
            choice_options(param.options_sql, version, scope) if param.options_sql else [])
        current = st.session_state.get(key)
        if current and current not in options:
            options = [current, *options]
        return st.selectbox(label, options=options, placeholder="请选择", **common)
    return st.text_input(label, **common)


def parameter_widgets(sql: str, query: sq.SavedQuery | None, version: str,
                      scope: str | None) -> tuple[dict, str | None]:
    """Widgets for the ``$name`` parameters of ``sql``; returns (values, error)."""
    names = query_runner.statement_parameters(sql)
    if not names:
        return {}, None
    st.markdown("**参数**（由数据库绑定，不拼接进 SQL）")
    values: dict = {}
    errors: list[str] = []
    cols = st.columns(min(len(names), 4))
    for i, name in enumerate(names):
        param = query.param(name) if query else None
        with cols[i % len(cols)]:
            if param is None:
                raw = st.text_input(f"${name}", key=session.param_key(None, name),
                                    help="未声明类型：数字、日期（YYYY-MM-DD）会自动识别")
                if raw.strip():
                    values[name] = sq.guess_value(raw)
                else:
                    errors.append(f"请填写参数 ${name}")
                continue
            value = _typed_widget(param, version, scope)
            try:
                values[name] = sq.coerce(param, value)
            except sq.SavedQueryError as exc:
                errors.append(str(exc))
    return values, ("；".join(errors) if errors else None)


def run_requested() -> bool:
    """The 「运行查询」 button, or a pending automatic run (an example or saved query was just picked)."""
    clicked = st.button("运行查询", type="primary", key="run", icon="▶️")
    autorun = st.session_state.pop("autorun", False)
    return bool(clicked or autorun)


def results() -> None:
    """The last run's result, if any: error, or counts, table, quick chart and downloads."""
    result: query_runner.QueryResult | None = st.session_state.get("result")
    if result is None:
        return
    if result.error:
        st.error(result.error)
        if result.detail:
            st.caption(f"数据库原文：{result.detail}")
        return
    if result.released:
        st.info(f"{result.released}。（原结果 {result.row_count:,} 行）点击“运行查询”可重新获取。",
                icon=":material/memory:")
        return
    c1, c2, c3 = st.columns([1, 1, 2])
    c1.metric("行数", f"{result.row_count:,}")
    c2.metric("耗时", f"{result.elapsed_ms:,.0f} 毫秒")
    with c3:
        if result.truncated:
            st.badge(f"已截断：只显示并导出前 {result.row_count:,} 行", icon="✂️", color="orange")
            if result.detail:
                st.caption(result.detail)
        else:
            st.badge("完整结果", icon="✅", color="green")
    df = result.df
    config = {}
    for name, kind in zip(result.columns, result.types):
        if kind == "DATE" and name in df.columns:
            config[name] = st.column_config.DateColumn(format="YYYY-MM-DD")
    st.dataframe(df, hide_index=True, width="stretch", column_config=config or None, placeholder="NULL")
    if not df.empty:
        quick_chart(df)
    downloads(result)


def quick_chart(df: pd.DataFrame) -> None:
    """「快速作图」: pick chart type, x, y and colour from the result's columns."""
    numeric = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
    with st.expander("快速作图", expanded=bool(numeric)):
        if not numeric:
            st.info("结果中没有数值列，无法作图。可以用 count(*) 等聚合得到数值列。")
            return
        columns = list(df.columns)
        text_cols = [c for c in columns if c not in numeric]
        k1, k2, k3, k4 = st.columns(4)
        kind = k1.selectbox("图形", list(CHART_KINDS), key="chart_kind")
        x = k2.selectbox("横轴 (x)", columns, key="chart_x",
                         index=columns.index(text_cols[0]) if text_cols else 0)
        y_default = next((c for c in numeric if c != x), numeric[0])
        y = k3.selectbox("纵轴 (y)", numeric, key="chart_y", index=numeric.index(y_default))
        colour = k4.selectbox("颜色分组", [NONE, *[c for c in columns if c not in (x, y)]], key="chart_colour")
        fig = charts.quick(df, CHART_KINDS[kind], x, y, None if colour == NONE else colour)
        st.plotly_chart(fig, width="stretch")
        if len(df) > charts.QUICK_MAX_ROWS:
            st.caption("图中只画了前 5,000 行。")


def _info_sheet(result: query_runner.QueryResult, values: dict) -> pd.DataFrame:
    """The Excel download's 查询说明 sheet: SQL, rows, truncation, export time, parameter values."""
    rows = [("SQL", result.sql), ("行数", result.row_count),
            ("是否截断", "是" if result.truncated else "否"),
            ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))]
    for k, v in values.items():
        rows.append((f"参数 ${k}", str(v)))
    return pd.DataFrame(rows, columns=["项目", "内容"])


def downloads(result: query_runner.QueryResult) -> None:
    """CSV and Excel downloads of the result (built only when clicked, outside the script run: so
    everything they need is taken from the session now)."""
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M")
    values = dict(st.session_state.get("result_values") or {})
    d1, d2, _ = st.columns([1, 1, 3])
    # The callables read result.df when clicked (never capture the frame itself): Streamlit keeps them
    # until the session is dropped, and a released result must not stay in memory through them.
    d1.download_button("下载 CSV", data=lambda: export.to_csv_bytes(result.df), file_name=f"即席查询_{stamp}.csv",
                       mime=export.CSV_MIME, key="dl_csv", on_click="ignore", icon="⬇️")
    d2.download_button(
        "下载 Excel", file_name=f"即席查询_{stamp}.xlsx", mime=export.XLSX_MIME, key="dl_xlsx",
        data=lambda: export.to_xlsx_bytes({"结果": result.df, "查询说明": _info_sheet(result, values)}),
        on_click="ignore", icon="⬇️")


def share_box(query: sq.SavedQuery | None, values: dict) -> None:
    """The link that reopens the loaded saved query with these values and runs it."""
    if query is None:
        return
    url = session.share_url(query.name, values)
    st.caption("分享链接（打开后自动填入参数并运行）：")
    st.code(url, language=None)


def _param_declaration(pname: str, old: sq.Param | None) -> sq.Param:
    """One row of the save form: label, type, default and options SELECT for parameter ``pname``."""
    st.markdown(f"参数 `${pname}`")
    a, b, c, d = st.columns([2, 1, 2, 3])
    label = a.text_input("显示名称", value=(old.label if old else pname), key=f"save_label_{pname}")
    types = list(sq.PARAM_TYPES)
    ptype = b.selectbox("类型", types, index=types.index(old.type) if old else 0,
                        format_func=sq.PARAM_TYPES.get, key=f"save_type_{pname}")
    default = c.text_input("默认值", value="" if not old or old.default is None else str(old.default),
                           key=f"save_default_{pname}")
    options_sql = d.text_input(
        "下拉选项 SQL（类型为下拉选择时）",
        value=(old.options_sql or "") if old else sq.suggested_options_sql(pname),
        key=f"save_options_{pname}")
    return sq.Param(name=pname, label=label.strip() or pname, type=ptype, default=default.strip() or None,
                    options_sql=options_sql.strip() or None if ptype == "choice" else None)


def _delete_box(query: sq.SavedQuery, user: User) -> None:
    """Delete the loaded saved query (its owner or an admin), after a confirming tick."""
    confirm = st.checkbox(f"确认删除 {fmt.literal(query.name)}", key="delete_confirm")
    if st.button("删除此常用查询", key="delete_saved", disabled=not confirm):
        try:
            session.store().delete(query.name, user, client=signin.client_address())
        except sq.SavedQueryError as exc:
            st.error(str(exc))
            return
        st.session_state.saved_name = None
        st.session_state.source = "adhoc"
        st.session_state.pending = {"saved_pick": None, "delete_confirm": False}
        st.session_state.flash = ("success", f"已删除 {fmt.literal(query.name)}。")
        session.clear_share_params()
        st.rerun()


def _share_box(query: sq.SavedQuery, user: User) -> None:
    """An admin shares a community's saved query with every analyst, or withdraws the share (audited)."""
    if user.role != "admin" or query.scope is None:
        return
    if query.shared:
        label, help_text = "取消共享", f"取消后只有{query.scope}的账号和管理员能看到此查询"
    else:
        label, help_text = "共享给全街道", "共享后所有分析员都能看到并运行此查询（在各自的范围内）；作者再修改时自动取消共享"
    if st.button(label, key="share_saved", help=help_text):
        try:
            session.store().share(query.name, user, not query.shared, client=signin.client_address())
        except sq.SavedQueryError as exc:
            st.error(str(exc))
            return
        done = "已共享给全街道" if not query.shared else "已取消共享"
        st.session_state.flash = ("success", f"{fmt.literal(query.name)} {done}。")
        st.rerun()


def save_form(sql: str, query: sq.SavedQuery | None, user: User) -> None:
    """Save the editor's SQL as a named query with declared parameters, or edit or delete the loaded one.

    Only its owner or an admin may overwrite or delete a saved query (sq.can_change); anyone may
    save the SQL under a new name."""
    names = query_runner.statement_parameters(sql)
    mine = query is not None and sq.can_change(query, user)
    title = "保存为常用查询" if query is None else f"编辑常用查询 {fmt.literal(query.name)}"
    with st.expander(title if query is None or mine else f"另存常用查询 {fmt.literal(query.name)}"):
        if query is not None and not mine:
            st.caption(f"此查询由 {fmt.literal(query.owner or sq.OFFICE)} 保存，只有作者本人或管理员可以修改或删除；"
                       "可以换一个名称另存为自己的常用查询。")
        with st.form("save_form", clear_on_submit=False):
            name = st.text_input("名称", value=query.name if mine else "", max_chars=sq.NAME_MAX)
            description = st.text_area("说明（按纯文本显示）", value=query.description if query else "",
                                       height=80, max_chars=sq.DESCRIPTION_MAX)
            params = [_param_declaration(pname, query.param(pname) if query else None) for pname in names]
            overwrite = st.checkbox("同名时覆盖", value=mine)
            submitted = st.form_submit_button("保存")
        if submitted:
            new = sq.SavedQuery(name=name, sql=sql, description=description.strip(), params=params)
            try:
                saved = session.store().save(new, overwrite=overwrite, user=user, client=signin.client_address())
            except sq.SavedQueryError as exc:
                st.error(str(exc))
            else:
                st.session_state.saved_name = saved.name
                st.session_state.source = f"saved:{saved.name}"
                st.session_state.pending = {"saved_pick": saved.name, "example_pick": None}
                st.session_state.flash = ("success", f"已保存 {fmt.literal(saved.name)}，可在“常用查询”中选用或用链接分享。")
                st.rerun()
        if query is not None:
            _share_box(query, user)
            if mine:
                _delete_box(query, user)
