"""即席查询: SQL on the public views, with examples, saved queries, quick charts and downloads.

Everything runs through chuangshu.query_runner.run_query (read-only, one SELECT, time,
memory and row limits, audit log); this page only lays out the widgets of chuangshu.query_ui,
whose state and shared links are in chuangshu.query_session.
"""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # when run directly with `streamlit run pages/query.py`
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from chuangshu import query_session, query_ui, ui  # noqa: E402

try:
    st.set_page_config(page_title="即席查询", page_icon="🔎", layout="wide")
except Exception:  # noqa: BLE001 - already set by the multipage entry point
    pass

USER = ui.require("query")  # analysts and admins only; the page checks for itself (defence in depth)
SCOPE = USER.community  # a community-scoped analyst's SQL runs on that community's rows only

query_ui.intro(SCOPE)
query_ui.schema_browser(SCOPE)
version = query_ui.database_version()
if version is None:
    st.stop()

query_session.start()  # pending widget values, the first example, or the query a shared link names
query_ui.flash()
query_ui.pickers(USER)  # only the saved queries USER may see
sql = query_ui.sql_editor()
query = query_session.loaded_saved()
values, param_error = query_ui.parameter_widgets(sql, query, version, SCOPE)
if query_ui.run_requested():
    query_session.run(sql, values, query, param_error, USER)

query_ui.results()
query_ui.share_box(query, values)
query_ui.save_form(sql, query, USER)
