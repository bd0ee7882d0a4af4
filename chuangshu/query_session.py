"""The 即席查询 page's state: the SQL in the editor, picked examples and saved queries, shared links.

Session-state names (``sql``, ``source``, ``saved_name``, ``result``, ``result_values``, ``autorun``,
``pending``, ``flash``, ``url_done``) and the link format (``?q=<saved name>&p.<param>=<value>`` or
``?example=<id>``) are the page's contract with its tests and with links already shared. The widgets
that read and write this state are in :mod:`chuangshu.query_ui`.

The result's rows are registered with :data:`chuangshu.query_results.STORE` under this session's
:func:`tab` and its user, which bounds them in bytes and lets them go when the browser tab goes:
:func:`tab` is a session-scoped ``st.cache_resource``, which Streamlit releases (calling
:func:`_tab_gone`) as soon as the session's websocket disconnects, long before the session itself
is dropped (``server.disconnectedSessionTTL``). A query still running when the tab goes, or when
Streamlit abandons the run for a newer one (another page, another widget), is cancelled
(:func:`query_abandoned`), so it neither keeps its worker nor counts against the user's limit.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from chuangshu import fmt, query_results, query_runner, signin
from chuangshu import saved_queries as sq
from chuangshu.auth import User
from chuangshu.examples import BY_ID as EXAMPLES_BY_ID
from chuangshu.examples import EXAMPLES


def store() -> sq.SavedQueryStore:
    """The saved-query store (one JSON file in the local state folder)."""
    return sq.SavedQueryStore()


def visible(name: str | None) -> sq.SavedQuery | None:
    """The saved query called ``name`` if the signed-in user may see it (sq.can_see), else None."""
    user = signin.current_user()
    if not name or user is None:
        return None
    return store().get(name, user)


def loaded_saved() -> sq.SavedQuery | None:
    """The saved query in the editor, while its SQL is unchanged (and the user may still see it)."""
    name = st.session_state.get("saved_name")
    if not name:
        return None
    query = visible(name)
    if query is None or query.sql.strip() != (st.session_state.get("sql") or "").strip():
        return None
    return query


def param_key(param: sq.Param | None, name: str) -> str:
    """Widget key: typed widgets get the type in the key, so switching queries never
    hands a widget a value of the wrong type."""
    return f"param_{name}" if param is None else f"tparam_{param.type}_{name}"


def initial_value(param: sq.Param, raw: Any) -> Any:
    """Initial widget value for ``param`` from a URL or default value (None if unusable)."""
    if raw is None or str(raw).strip() == "":
        return None
    try:
        value = sq.coerce(param, raw)
    except sq.SavedQueryError:
        return None
    return str(value) if param.type in ("text", "choice") else value


def _set_saved(query: sq.SavedQuery, raw_values: dict | None = None) -> None:
    """Load ``query`` into the editor, its parameter widgets set from ``raw_values`` or the defaults."""
    st.session_state.sql = query.sql
    st.session_state.saved_name = query.name
    st.session_state.source = f"saved:{query.name}"
    st.session_state.result = None
    for param in query.params:
        raw = (raw_values or {}).get(param.name, param.default)
        value = initial_value(param, raw)
        if value is None and param.type == "text":
            value = ""
        key = param_key(param, param.name)
        if value is None:
            st.session_state.pop(key, None)
        else:
            st.session_state[key] = value


def start() -> None:
    """This run's starting state: pending widget values, the first example, a shared link once."""
    for key, value in st.session_state.pop("pending", {}).items():  # for widgets drawn in the last run
        st.session_state[key] = value
    st.session_state.setdefault("sql", EXAMPLES[0].sql)
    st.session_state.setdefault("source", f"example:{EXAMPLES[0].id}")
    init_from_url()


def on_pick_example() -> None:
    """「示例查询」 callback: load the example's SQL and run it."""
    ex_id = st.session_state.get("example_pick")
    if not ex_id or ex_id not in EXAMPLES_BY_ID:
        return
    st.session_state.sql = EXAMPLES_BY_ID[ex_id].sql
    st.session_state.source = f"example:{ex_id}"
    st.session_state.saved_name = None
    st.session_state.autorun = True
    st.session_state.saved_pick = None


def on_pick_saved() -> None:
    """「常用查询」 callback: load the saved query; run it when every parameter has a default."""
    query = visible(st.session_state.get("saved_pick"))
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
        query = visible(name)
        if query is None:  # missing, or another community's: the same answer
            st.session_state.flash = ("warning", f"链接中的常用查询 {fmt.literal(name)} 不存在（可能已被删除）")
            return
        _set_saved(query, values)
        st.session_state.saved_pick = name
        st.session_state.autorun = True
        return
    example = st.query_params.get("example")
    if example in EXAMPLES_BY_ID:
        st.session_state.example_pick = example
        on_pick_example()


def clear_share_params() -> None:
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
        clear_share_params()
        st.query_params.update(wanted)


def share_url(name: str, values: dict) -> str:
    """The full link that reopens saved query ``name`` with ``values`` (relative if the address is unknown)."""
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


def audit_user(user: User) -> str | None:
    """The signed-in user's name for the audit log (None in local mode)."""
    return None if user.method == "local" else user.username


def limit_owner(user: User) -> str:
    """Whom the per-user limits (queries at once, result bytes) count against: the signed-in
    user, or the one local user when no users are configured."""
    return user.username


def _tab_gone(tab: query_results.Tab) -> None:
    """Streamlit released this session's resources (its websocket disconnected): let its result go."""
    query_results.STORE.close_tab(tab)


@st.cache_resource(scope="session", on_release=_tab_gone, show_spinner=False)
def tab() -> query_results.Tab:
    """This browser tab's handle in the result store (one per session, released when the tab goes)."""
    return query_results.STORE.open_tab()


def query_abandoned() -> bool:
    """True once nobody will see this run's result, so its query should stop now.

    Streamlit has asked the run to stop: the tab was closed, or — with ``runner.fastReruns``, the
    default — the session started a newer run (the user went to another page, or touched a
    widget), which Streamlit begins at once in a new thread while this one is abandoned. Without
    fast reruns, a pending rerun on another page counts too; a rerun of this page does not (the
    query goes on and its result is shown). False outside a script run. Reads the run's pending
    request (``ScriptRequests``, not a public API: on any surprise the answer is False, i.e. the
    query simply runs to its end).
    """
    try:
        from streamlit.runtime.scriptrunner_utils.script_requests import ScriptRequestType
        from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

        ctx = get_script_run_ctx()
        requests = getattr(ctx, "script_requests", None) if ctx is not None else None
        state = getattr(requests, "_state", None)
        if state == ScriptRequestType.STOP:
            return True
        if state == ScriptRequestType.RERUN:
            target = getattr(getattr(requests, "_rerun_data", None), "page_script_hash", "")
            return bool(target) and target != ctx.page_script_hash
        return False
    except Exception:  # noqa: BLE001 - another Streamlit version: never cancel
        return False


def _source(sql: str) -> str:
    """The audit log's source: the example or saved query in the editor, unless its SQL was edited."""
    source = st.session_state.get("source") or "adhoc"
    if source.startswith("saved:") and loaded_saved() is None:
        source = "adhoc"
    example = EXAMPLES_BY_ID.get(source[8:]) if source.startswith("example:") else None
    if source.startswith("example:") and (example is None or example.sql.strip() != sql.strip()):
        source = "adhoc"
    return source


def run(sql: str, values: dict, query: sq.SavedQuery | None, param_error: str | None, user: User) -> None:
    """Run ``sql`` through the query runner (read-only, limited, audited) into ``result``; keep the link current."""
    if param_error:
        st.session_state.result = query_runner.QueryResult(sql=sql, error=param_error, outcome="error")
    else:
        here = tab()  # before the query: if the tab goes while it runs, its result is let go on arrival
        owner = limit_owner(user)
        with st.spinner("查询中…"):
            result = query_runner.run_query(sql, values, user=audit_user(user), client=signin.client_address(),
                                            source=_source(sql), scope=user.community, owner=owner,
                                            cancel=query_abandoned)
        if result.outcome == "cancelled":
            return  # nobody waits for it (the tab went, or a newer run of this session replaced this one)
        query_results.STORE.hold(here, owner, result)
        st.session_state.result = result
        st.session_state.result_values = values
    if query is not None and not param_error:
        set_share_params(query.name, values)
    elif query is None:
        clear_share_params()
