"""即席查询: SQL on the public views, with examples, saved queries, quick charts and downloads.

Everything runs through chuangshu.query_runner.run_query (read-only, one SELECT, time,
memory and row limits, audit log); this page only collects input and shows results.
"""
from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # when run directly with `streamlit run pages/query.py`
    sys.path.insert(0, str(ROOT))

import pandas as pd  # noqa: E402
import plotly.express as px  # noqa: E402
import streamlit as st  # noqa: E402

from chuangshu import db as dbmod  # noqa: E402
from chuangshu import dictionary, export, query_runner, ui  # noqa: E402
from chuangshu import scope as scoping  # noqa: E402
from chuangshu import saved_queries as sq  # noqa: E402
from chuangshu.examples import BY_ID as EXAMPLES_BY_ID  # noqa: E402
from chuangshu.examples import EXAMPLES  # noqa: E402
from chuangshu.paths import db_path  # noqa: E402

NONE = "（无）"
CHART_KINDS = {"柱状图": "bar", "折线图": "line", "散点图": "scatter"}

try:
    st.set_page_config(page_title="即席查询", page_icon="🔎", layout="wide")
except Exception:  # noqa: BLE001 - already set by the multipage entry point
    pass

USER = ui.require("query")  # analysts and admins only; the page checks for itself (defence in depth)
SCOPE = USER.community  # a community-scoped analyst's SQL runs on that community's rows only


# --------------------------------------------------------------------------- helpers


def current_user() -> str | None:
    """The signed-in user's name for the audit log and per-user limits (None in local mode)."""
    return None if USER.method == "local" else USER.username


def current_client() -> str | None:
    """The browser's address, for the audit log only."""
    try:
        ip = st.context.ip_address
        return ip if isinstance(ip, str) and ip else None
    except Exception:  # noqa: BLE001
        return None


def store() -> sq.SavedQueryStore:
    return sq.SavedQueryStore()


@st.cache_data(ttl=300, show_spinner=False)
def choice_options(options_sql: str, version: str, scope: str | None = None) -> list:
    param = sq.Param(name="options", type="choice", options_sql=options_sql)
    return [str(v) for v in sq.options_for(param, user=None, scope=scope)]


def loaded_saved() -> sq.SavedQuery | None:
    """The saved query in the editor, while its SQL is unchanged."""
    name = st.session_state.get("saved_name")
    if not name:
        return None
    query = store().get(name)
    if query is None or query.sql.strip() != (st.session_state.get("sql") or "").strip():
        return None
    return query


def param_key(param: sq.Param | None, name: str) -> str:
    """Widget key: typed widgets get the type in the key, so switching queries never
    hands a widget a value of the wrong type."""
    return f"param_{name}" if param is None else f"tparam_{param.type}_{name}"


def _initial(param: sq.Param, raw):
    """Initial widget value for ``param`` from a URL or default value (None if unusable)."""
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = sq.coerce(param, raw)
    except sq.SavedQueryError:
        return None
    return str(value) if param.type in ("text", "choice") else value


def _set_saved(query: sq.SavedQuery, raw_values: dict | None = None) -> None:
    st.session_state.sql = query.sql
    st.session_state.saved_name = query.name
    st.session_state.source = f"saved:{query.name}"
    st.session_state.result = None
    for param in query.params:
        raw = (raw_values or {}).get(param.name, param.default)
        value = _initial(param, raw)
        if value is None and param.type == "text":
            value = ""
        key = param_key(param, param.name)
        if value is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value


def apply_pending() -> None:
    """State changes for widgets that were already drawn in the previous run."""
    for key, value in st.session_state.pop("pending", {}).items():
        st.session_state[key] = value


def on_pick_example() -> None:
    ex_id = st.session_state.get("example_pick")
    if not ex_id or ex_id not in EXAMPLES_BY_ID:
        return
    st.session_state.sql = EXAMPLES_BY_ID[ex_id].sql
    st.session_state.source = f"example:{ex_id}"
    st.session_state.saved_name = None
    st.session_state.autorun = True
    st.session_state.saved_pick = None


def on_pick_saved() -> None:
    name = st.session_state.get("saved_pick")
    query = store().get(name) if name else None
    if query is None:
        return
    _set_saved(query)
    st.session_state.example_pick = None
    try:
        sq.bind_values(query, {})
        st.session_state.autorun = True  # all parameters have defaults
    except sq.SavedQueryError:
        pass


def init_from_url() -> None:
    """Open a shared link once per session: ?q=<saved name>&p.<param>=<value> or ?example=<id>."""
    if st.session_state.get("url_done"):
        return
    st.session_state.url_done = True
    params = {k: st.query_params.get_all(k) for k in st.query_params.keys()}
    name, values = sq.parse_share_params(params)
    if name:
        query = store().get(name)
        if query is None:
            st.session_state.flash = ("warning", f"链接中的常用查询“{name}”不存在（可能已被删除）")
            return
        _set_saved(query, values)
        st.session_state.saved_pick = name
        st.session_state.autorun = True
        return
    example = st.query_params.get("example")
    if example in EXAMPLES_BY_ID:
        st.session_state.example_pick = example
        on_pick_example()


def _clear_share_params() -> None:
    """Remove this page's link parameters (q, p.*), leaving the global filters' alone."""
    for key in list(st.query_params.keys()):
        if key == "q" or key.startswith(sq.SHARE_PREFIX):
            del st.query_params[key]


def set_share_params(name: str, values: dict) -> None:
    """Put the running saved query into the address bar, so the address itself is the link."""
    wanted = sq.share_params(name, values)
    current = {k: st.query_params.get(k) for k in st.query_params.keys()
               if k == "q" or k.startswith(sq.SHARE_PREFIX)}
    if current != wanted:
        _clear_share_params()
        st.query_params.update(wanted)


def share_url(name: str, values: dict) -> str:
    query = sq.share_query_string(name, values)
    try:
        base = st.context.url
        base = base if isinstance(base, str) else ""
    except Exception:  # noqa: BLE001
        base = ""
    if base:
        parts = urlsplit(base)
        return f"{parts.scheme}://{parts.netloc}{parts.path}?{query}"
    return f"?{query}"


# --------------------------------------------------------------------------- sections


def schema_browser() -> None:
    with st.sidebar:
        st.header("数据字典")
        st.caption("可查询的公开视图及字段说明。点开视图查看字段。")
        needle = st.text_input("搜索字段或说明", key="dict_search", placeholder="如：办结、楼长、amount").strip().lower()
        for name, view in dictionary.VIEWS.items():
            if SCOPE is not None and name not in scoping.VISIBLE_VIEWS:
                continue
            frame = dictionary.column_frame(name)
            if needle:
                hit = frame.apply(lambda r: needle in " ".join(map(str, r.values)).lower(), axis=1)
                if not hit.any() and needle not in f"{name} {view.zh_title}".lower():
                    continue
                if hit.any():
                    frame = frame[hit]
            with st.expander(f"`{name}` {view.zh_title}", expanded=bool(needle)):
                st.caption(view.en)
                st.dataframe(frame[["列名", "类型", "说明"]], hide_index=True, width="stretch")


def pickers() -> None:
    left, right = st.columns(2)
    with left:
        st.selectbox(
            "示例查询", options=[e.id for e in EXAMPLES], key="example_pick", index=None,
            format_func=lambda i: EXAMPLES_BY_ID[i].title, placeholder="选择一个示例，载入并运行",
            on_change=on_pick_example,
        )
    saved = store_list()
    with right:
        st.selectbox(
            "常用查询", options=[q.name for q in saved], key="saved_pick", index=None,
            placeholder="选择已保存的查询" if saved else "还没有保存的查询",
            on_change=on_pick_saved,
        )
    source = st.session_state.get("source", "")
    if source.startswith("example:") and source[8:] in EXAMPLES_BY_ID:
        st.caption(f"示例问题：{EXAMPLES_BY_ID[source[8:]].question}")
    query = loaded_saved()
    if query is not None and query.description:
        st.caption(f"说明：{query.description}")


def store_list() -> list[sq.SavedQuery]:
    try:
        return store().list()
    except sq.SavedQueryError as exc:
        st.error(str(exc))
        return []


def parameter_widgets(sql: str, query: sq.SavedQuery | None, version: str) -> tuple[dict, str | None]:
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
        key = param_key(param, name)
        with cols[i % len(cols)]:
            if param is None:
                raw = st.text_input(f"${name}", key=key, help="未声明类型：数字、日期（YYYY-MM-DD）会自动识别")
                if raw.strip():
                    values[name] = sq.guess_value(raw)
                else:
                    errors.append(f"请填写参数 ${name}")
                continue
            label = param.label or name
            common = {"key": key, "help": param.help or None}
            if key not in st.session_state:  # else the widget takes its value from the session
                initial = _initial(param, param.default)
                if param.type == "bool":
                    common["value"] = bool(initial)
                elif param.type == "choice":
                    common["index"] = None
                elif param.type == "text":
                    common["value"] = initial or ""
                else:
                    common["value"] = initial
            if param.type == "int":
                value = st.number_input(label, step=1, **common)
            elif param.type == "float":
                value = st.number_input(label, **common)
            elif param.type == "date":
                value = st.date_input(label, **common)
            elif param.type == "bool":
                value = st.checkbox(label, **common)
            elif param.type == "choice":
                options = [str(o) for o in param.options] if param.options else (
                    choice_options(param.options_sql, version, SCOPE) if param.options_sql else [])
                current = st.session_state.get(key)
                if current and current not in options:
                    options = [current, *options]
                value = st.selectbox(label, options=options, placeholder="请选择", **common)
            else:
                value = st.text_input(label, **common)
            try:
                values[name] = sq.coerce(param, value)
            except sq.SavedQueryError as exc:
                errors.append(str(exc))
    return values, ("；".join(errors) if errors else None)


def run(sql: str, values: dict) -> None:
    source = st.session_state.get("source") or "adhoc"
    if source.startswith("saved:") and loaded_saved() is None:
        source = "adhoc"
    example = EXAMPLES_BY_ID.get(source[8:]) if source.startswith("example:") else None
    if source.startswith("example:") and (example is None or example.sql.strip() != sql.strip()):
        source = "adhoc"
    with st.spinner("查询中…"):
        result = query_runner.run_query(sql, values, user=current_user(), client=current_client(),
                                        source=source, scope=SCOPE)
    st.session_state.result = result
    st.session_state.result_values = values


def show_result(result: query_runner.QueryResult) -> None:
    if result.error:
        st.error(result.error)
        if result.detail:
            st.caption(f"数据库原文：{result.detail}")
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
    st.dataframe(df, hide_index=True, width="stretch", column_config=config or None)
    if not df.empty:
        quick_chart(df)
    downloads(result)


def quick_chart(df: pd.DataFrame) -> None:
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
        data = df if len(df) <= 5000 else df.head(5000)
        kwargs = {"x": x, "y": y, "color": None if colour == NONE else colour}
        if CHART_KINDS[kind] == "bar":
            fig = px.bar(data, barmode="group", **kwargs)
        elif CHART_KINDS[kind] == "line":
            fig = px.line(data.sort_values(x), markers=True, **kwargs)
        else:
            fig = px.scatter(data, **kwargs)
        fig.update_layout(margin={"l": 10, "r": 10, "t": 30, "b": 10}, legend_title_text=None)
        st.plotly_chart(fig, width="stretch")
        if len(df) > 5000:
            st.caption("图中只画了前 5,000 行。")


def downloads(result: query_runner.QueryResult) -> None:
    stamp = dt.datetime.now().strftime("%Y%m%d_%H%M")
    df = result.df

    def info_sheet() -> pd.DataFrame:
        rows = [("SQL", result.sql), ("行数", result.row_count),
                ("是否截断", "是" if result.truncated else "否"),
                ("导出时间", dt.datetime.now().strftime("%Y-%m-%d %H:%M:%S"))]
        for k, v in (st.session_state.get("result_values") or {}).items():
            rows.append((f"参数 ${k}", str(v)))
        return pd.DataFrame(rows, columns=["项目", "内容"])

    d1, d2, _ = st.columns([1, 1, 3])
    d1.download_button("下载 CSV", data=lambda: export.to_csv_bytes(df), file_name=f"即席查询_{stamp}.csv",
                       mime=export.CSV_MIME, key="dl_csv", on_click="ignore", icon="⬇️")
    d2.download_button("下载 Excel", data=lambda: export.to_xlsx_bytes({"结果": df, "查询说明": info_sheet()}),
                       file_name=f"即席查询_{stamp}.xlsx", mime=export.XLSX_MIME, key="dl_xlsx",
                       on_click="ignore", icon="⬇️")


def save_form(sql: str, query: sq.SavedQuery | None) -> None:
    names = query_runner.statement_parameters(sql)
    with st.expander("保存为常用查询" if query is None else f"编辑常用查询“{query.name}”"):
        with st.form("save_form", clear_on_submit=False):
            name = st.text_input("名称", value=query.name if query else "", max_chars=sq.NAME_MAX)
            description = st.text_area("说明", value=query.description if query else "", height=80)
            params = []
            for pname in names:
                old = query.param(pname) if query else None
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
                    value=(old.options_sql or "") if old else (
                        "SELECT community FROM communities ORDER BY community" if pname == "community" else ""),
                    key=f"save_options_{pname}")
                params.append(sq.Param(name=pname, label=label.strip() or pname, type=ptype,
                                       default=default.strip() or None,
                                       options_sql=options_sql.strip() or None if ptype == "choice" else None))
            overwrite = st.checkbox("同名时覆盖", value=query is not None)
            submitted = st.form_submit_button("保存")
        if submitted:
            new = sq.SavedQuery(name=name, sql=sql, description=description.strip(), params=params)
            try:
                saved = store().save(new, overwrite=overwrite, user=current_user())
            except sq.SavedQueryError as exc:
                st.error(str(exc))
            else:
                st.session_state.saved_name = saved.name
                st.session_state.source = f"saved:{saved.name}"
                st.session_state.pending = {"saved_pick": saved.name, "example_pick": None}
                st.session_state.flash = ("success", f"已保存“{saved.name}”，可在“常用查询”中选用或用链接分享。")
                st.rerun()
        if query is not None:
            confirm = st.checkbox(f"确认删除“{query.name}”", key="delete_confirm")
            if st.button("删除此常用查询", key="delete_saved", disabled=not confirm):
                store().delete(query.name)
                st.session_state.saved_name = None
                st.session_state.source = "adhoc"
                st.session_state.pending = {"saved_pick": None, "delete_confirm": False}
                st.session_state.flash = ("success", f"已删除“{query.name}”。")
                _clear_share_params()
                st.rerun()


def share_box(query: sq.SavedQuery | None, values: dict) -> None:
    if query is None:
        return
    url = share_url(query.name, values)
    st.caption("分享链接（打开后自动填入参数并运行）：")
    st.code(url, language=None)


# --------------------------------------------------------------------------- page


def main() -> None:
    st.html("<style>.st-key-sql textarea {font-family: 'Noto Sans Mono CJK SC', 'DejaVu Sans Mono', "
            "Consolas, monospace; font-size: 0.9rem;}</style>")
    st.title("即席查询")
    st.caption(
        f"在公开视图上写 SQL 回答图表之外的问题。只读、每次一条 SELECT；"
        f"单次查询最长 {query_runner.DEFAULT_TIMEOUT_S:g} 秒，最多显示和导出 {query_runner.DEFAULT_MAX_ROWS:,} 行；"
        "每次查询都会记入审计日志。"
    )
    if SCOPE is not None:
        st.info(f"本账号只能查询{SCOPE}的数据：查询在只含本社区数据的独立数据库中运行，"
                f"可查询的视图为 {', '.join(scoping.VISIBLE_VIEWS)}。", icon=":material/lock:")
    schema_browser()
    try:
        version = dbmod.published(db_path()).version()
    except dbmod.DatabaseMissing:
        st.warning("还没有找到分析数据库，暂时无法查询。请先导入台账数据（在服务器上运行 make db 或 make run），然后刷新本页。")
        return

    apply_pending()
    st.session_state.setdefault("sql", EXAMPLES[0].sql)
    st.session_state.setdefault("source", f"example:{EXAMPLES[0].id}")
    init_from_url()
    flash = st.session_state.pop("flash", None)
    if flash:
        getattr(st, flash[0])(flash[1])

    pickers()
    st.text_area("SQL（只读，一条 SELECT；参数写作 $名称）", key="sql", height=280,
                 max_chars=query_runner.MAX_SQL_CHARS)
    sql = st.session_state.get("sql") or ""
    query = loaded_saved()
    values, param_error = parameter_widgets(sql, query, version)

    clicked = st.button("运行查询", type="primary", key="run", icon="▶️")
    autorun = st.session_state.pop("autorun", False)
    if clicked or autorun:
        if param_error:
            st.session_state.result = query_runner.QueryResult(sql=sql, error=param_error, outcome="error")
        else:
            run(sql, values)
        if query is not None and not param_error:
            set_share_params(query.name, values)
        elif query is None:
            _clear_share_params()

    result = st.session_state.get("result")
    if result is not None:
        show_result(result)
    share_box(query, values)
    save_form(sql, query)


main()
