"""Fair sharing of the ad-hoc SQL runner (issue 16): per-user concurrency, result bytes, release
with the tab, cancelling, and workers that yield the CPU to the dashboard.

Timing here is never asserted tightly (a shared, busy machine): only generous bounds that tell a
wait from a refusal. Speed under load is measured in bench/fair.py, not here.
"""
from __future__ import annotations

import os
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pytest
from streamlit.runtime import caching
from streamlit.testing.v1 import AppTest

from chuangshu import audit, query_results, query_runner
from chuangshu import db as dbmod
from chuangshu.query_results import ResultStore, Tab
from chuangshu.query_runner import QueryResult, run_query

try:
    from query_fixtures import sample_db, state_dir  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.query_fixtures import sample_db, state_dir  # noqa: F401

RUNAWAY = "SELECT count(*) FROM range(1000000) a, range(1000000) b"
# about 500 columns of text, dates and numbers: the shape of the reported memory problem
WIDE = "SELECT " + ", ".join(["c.*"] * 31) + " FROM cases c CROSS JOIN range(20)"
PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "query.py")
APPTEST_SESSION = "test session id"  # the session id every AppTest run uses


def _idle(limit_s: float = 10.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with query_runner._running_lock:
            if not query_runner._running:
                return True
        time.sleep(0.05)
    return False


# --------------------------------------------------------------------------- queries at once per user


def test_a_users_extra_query_is_turned_away_in_chinese_after_a_brief_wait(sample_db, state_dir):
    with ThreadPoolExecutor(max_workers=query_runner.MAX_PER_USER) as pool:
        first = [pool.submit(run_query, RUNAWAY, db=sample_db, timeout_s=4, user="mallory")
                 for _ in range(query_runner.MAX_PER_USER)]
        time.sleep(0.5)
        started = time.monotonic()
        extra = run_query("SELECT 1", db=sample_db, user="mallory")
        waited = time.monotonic() - started
        others = run_query("SELECT 1 AS x", db=sample_db, user="alice")
        [f.result() for f in first]
    assert extra.outcome == "busy"
    assert extra.error == query_runner.msg_user_busy(query_runner.DEFAULT_TIMEOUT_S)
    assert f"您已有 {query_runner.MAX_PER_USER} 个查询在运行" in extra.error
    assert waited >= query_runner.USER_WAIT_S * 0.9  # it waited briefly before giving up
    assert others.ok  # another user is not held up by mallory's queries
    busy = [e for e in audit.read_entries() if e["outcome"] == "busy"]
    assert len(busy) == 1 and busy[0]["user"] == "mallory"
    assert _idle()


def test_a_users_extra_query_runs_when_one_of_theirs_ends_during_the_wait(sample_db, state_dir, monkeypatch):
    monkeypatch.setattr(query_runner, "USER_WAIT_S", 8.0)
    with ThreadPoolExecutor(max_workers=query_runner.MAX_PER_USER) as pool:
        limits = [0.5] + [3.0] * (query_runner.MAX_PER_USER - 1)  # one of bob's queries ends soon
        first = [pool.submit(run_query, RUNAWAY, db=sample_db, timeout_s=t, user="bob") for t in limits]
        time.sleep(0.2)
        extra = run_query("SELECT 42 AS answer", db=sample_db, user="bob")
        results = [f.result() for f in first]
    assert extra.ok, extra.error
    assert extra.df.iloc[0, 0] == 42
    assert {r.outcome for r in results} == {"timeout"}
    assert _idle()


def test_the_limit_counts_against_the_owner_not_the_audit_name(sample_db, state_dir):
    """Local mode has no audit user, but its one user is still limited (owner="local")."""
    with ThreadPoolExecutor(max_workers=query_runner.MAX_PER_USER) as pool:
        first = [pool.submit(run_query, RUNAWAY, db=sample_db, timeout_s=3, owner="local")
                 for _ in range(query_runner.MAX_PER_USER)]
        time.sleep(0.5)
        extra = run_query("SELECT 1", db=sample_db, owner="local")
        [f.result() for f in first]
    assert extra.outcome == "busy" and "您已有" in extra.error
    busy = [e for e in audit.read_entries() if e["outcome"] == "busy"]
    assert len(busy) == 1 and busy[0]["user"] is None  # the audit log still says: no signed-in user
    assert _idle()


def test_a_cancelled_query_stops_at_once_and_frees_its_slot(sample_db, state_dir):
    asked = threading.Event()
    threading.Timer(0.5, asked.set).start()
    started = time.monotonic()
    result = run_query(RUNAWAY, db=sample_db, timeout_s=30, user="carol", cancel=asked.is_set)
    elapsed = time.monotonic() - started
    assert result.outcome == "cancelled"
    assert result.error == query_runner.MSG_CANCELLED
    assert elapsed < 0.5 + query_runner.GRACE_S + 3  # not the 30 s limit
    assert audit.read_entries()[-1]["outcome"] == "cancelled"
    assert _idle()
    assert run_query("SELECT 1", db=sample_db, user="carol").ok


def test_a_broken_cancel_probe_never_stops_a_query(sample_db, state_dir):
    def broken() -> bool:
        raise RuntimeError("no context")

    assert run_query("SELECT 1 AS x", db=sample_db, cancel=broken).ok


# --------------------------------------------------------------------------- result bytes


@pytest.mark.parametrize("max_mb", [0.5, 2, 6])
def test_a_wide_result_is_cut_by_bytes_with_truncated_and_a_message(sample_db, state_dir, max_mb):
    max_bytes = int(max_mb * query_runner.MB)
    result = run_query(WIDE, db=sample_db, max_bytes=max_bytes, timeout_s=30)
    assert result.ok, result.error
    assert len(result.columns) > 450
    assert result.truncated
    assert 0 < result.row_count < 10_000
    # the worker's count; the frame that arrived here may pack its Arrow buffers a little differently
    assert result.nbytes == pytest.approx(result.df.memory_usage(deep=True, index=False).sum(), rel=0.01)
    assert 0.5 * max_bytes < result.nbytes <= max_bytes  # cut inside a chunk, close to the limit
    assert result.detail == query_runner.msg_too_large(max_bytes, result.row_count)
    assert f"{max_mb:g} MB 的上限" in result.detail and f"只保留了前 {result.row_count:,} 行" in result.detail


def test_a_result_within_its_bytes_is_whole(sample_db, state_dir):
    result = run_query("SELECT * FROM cases", db=sample_db)
    assert result.ok and not result.truncated and result.detail is None
    assert result.nbytes == pytest.approx(result.df.memory_usage(deep=True, index=False).sum(), rel=0.01)
    assert result.nbytes > 0


def test_the_default_byte_limit_keeps_a_500_column_result_small(sample_db, state_dir):
    result = run_query(WIDE, db=sample_db, timeout_s=30)
    assert result.ok and result.truncated
    assert result.nbytes <= query_runner.DEFAULT_MAX_BYTES <= 16 * query_runner.MB


def test_released_result_keeps_its_counts_and_drops_its_rows():
    df = pd.DataFrame({"a": ["x"] * 1000, "b": range(1000)})
    result = QueryResult(sql="SELECT 1", columns=["a", "b"], df=df, row_count=1000, nbytes=12345)
    result.release("页面已关闭，结果已释放")
    assert result.released == "页面已关闭，结果已释放"
    assert result.df.empty and result.nbytes == 0
    assert result.row_count == 1000 and result.columns == ["a", "b"]
    result.release("another reason")
    assert result.released == "页面已关闭，结果已释放"  # the first reason stays


# --------------------------------------------------------------------------- the store: bytes per user, in all


def _result(nbytes: int) -> QueryResult:
    return QueryResult(sql="SELECT 1", columns=["x"], df=pd.DataFrame({"x": [1]}), row_count=1, nbytes=nbytes)


MB = query_runner.MB

# (held before: (tab, owner, MB) in order) , new (tab, owner, MB), released tabs, held tabs after
STORE_CASES = [
    pytest.param([], ("t1", "ann", 10), [], ["t1"], id="first result"),
    pytest.param([("t1", "ann", 10)], ("t1", "ann", 12), ["t1-old"], ["t1"], id="same tab replaces its result"),
    pytest.param([("t1", "ann", 20), ("t2", "ann", 20)], ("t3", "ann", 20), ["t1"], ["t2", "t3"],
                 id="user over 48 MB: their oldest goes"),
    pytest.param([("t1", "ann", 20), ("t2", "bob", 20)], ("t3", "ann", 20), [], ["t1", "t2", "t3"],
                 id="another user's results do not count"),
    pytest.param([("t1", "ann", 16), ("t2", "ann", 16), ("t3", "ann", 16)], ("t4", "ann", 16), ["t1"],
                 ["t2", "t3", "t4"], id="exactly at the share after one goes"),
    pytest.param([("t1", "ann", 40), ("t2", "bob", 40), ("t3", "cat", 40)], ("t4", "dan", 40), ["t1"],
                 ["t2", "t3", "t4"], id="everybody over 128 MB: the oldest of anyone goes"),
    pytest.param([], ("t1", "ann", 0), [], ["t1"], id="an empty result"),
]


@pytest.mark.parametrize("before, new, released, after", STORE_CASES)
def test_store_bounds_bytes_per_user_and_in_all(before, new, released, after):
    store = ResultStore(user_max_bytes=48 * MB, total_max_bytes=128 * MB, trim_delay_s=0.01)
    tabs: dict[str, Tab] = {}
    results: dict[str, QueryResult] = {}
    for name, owner, size in before:
        tab = tabs.setdefault(name, store.open_tab())
        results[name] = store.hold(tab, owner, _result(size * MB))
    name, owner, size = new
    if name in results:
        results[f"{name}-old"] = results[name]
    tab = tabs.setdefault(name, store.open_tab())
    results[name] = store.hold(tab, owner, _result(size * MB))
    assert sorted(k for k, r in results.items() if r.released) == sorted(released)
    assert sorted(k for k, r in results.items() if not r.released) == sorted(after)
    assert store.held_count() == len(after)
    assert store.held_bytes() == sum(results[k].nbytes for k in after)
    for key in released:
        reason = results[key].released
        assert reason and ("释放" in reason or "替换" in reason)


def test_closing_a_tab_releases_its_result_and_one_arriving_later():
    store = ResultStore(trim_delay_s=0.01)
    tab = store.open_tab()
    first = store.hold(tab, "ann", _result(5 * MB))
    assert store.held_bytes("ann") == 5 * MB
    store.close_tab(tab)
    assert first.released == query_results.MSG_TAB_CLOSED and first.df.empty
    assert store.held_bytes() == 0
    late = store.hold(tab, "ann", _result(5 * MB))  # the query was still running when the tab went
    assert late.released == query_results.MSG_TAB_CLOSED
    assert store.held_count() == 0


def test_errors_are_not_held():
    store = ResultStore(trim_delay_s=0.01)
    failed = QueryResult(sql="x", error="SQL 语法错误", outcome="error")
    store.hold(store.open_tab(), "ann", failed)
    assert store.held_count() == 0 and failed.released is None


# --------------------------------------------------------------------------- the page: released with the tab


@pytest.fixture
def app(sample_db, state_dir, monkeypatch):
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    caching.clear_session_resource_cache(APPTEST_SESSION)  # a fresh tab for this test
    query_results.STORE.clear()
    yield AppTest.from_file(PAGE, default_timeout=60)
    caching.clear_session_resource_cache(APPTEST_SESSION)
    query_results.STORE.clear()


def _run_sql(at: AppTest, sql: str) -> AppTest:
    at.text_area(key="sql").set_value(sql).run()
    return at.button(key="run").click().run()


def test_the_result_is_released_when_the_session_ends(app):
    at = _run_sql(app.run(), "SELECT * FROM cases")
    result = at.session_state["result"]
    assert result.ok and result.row_count > 0 and not result.df.empty
    assert query_results.STORE.held_bytes() == result.nbytes > 0
    # What Streamlit does when the tab's websocket disconnects (AppSession.clear_session_caches).
    caching.clear_session_resource_cache(APPTEST_SESSION)
    assert result.released == query_results.MSG_TAB_CLOSED
    assert result.df.empty and result.nbytes == 0
    assert query_results.STORE.held_bytes() == 0
    # A session that comes back (a reconnect) says so, in Chinese, instead of showing an empty table.
    at.run()
    assert not at.exception
    assert any("页面已关闭，结果已释放" in i.value for i in at.info)
    assert not at.main.dataframe and not at.get("download_button")


def test_a_new_result_replaces_the_tabs_previous_one(app):
    at = _run_sql(app.run(), "SELECT * FROM cases")
    first = at.session_state["result"]
    at = _run_sql(at, "SELECT * FROM volunteers")
    second = at.session_state["result"]
    assert first.released == query_results.MSG_NEWER and first.df.empty
    assert query_results.STORE.held_count() == 1
    assert query_results.STORE.held_bytes() == second.nbytes


def test_a_result_cut_by_bytes_says_so_on_the_page(app, monkeypatch):
    monkeypatch.setattr(query_runner, "DEFAULT_MAX_BYTES", 2 * query_runner.MB)
    at = _run_sql(app.run(), WIDE)
    assert not at.exception and not at.error
    result = at.session_state["result"]
    assert result.truncated and result.nbytes <= 2 * query_runner.MB
    assert any(f"已截断：只显示并导出前 {result.row_count:,} 行" in m.value for m in at.main.markdown)
    assert any("2 MB 的上限" in c.value for c in at.caption)
    assert len(at.main.dataframe[0].value) == result.row_count


def test_a_users_older_result_is_released_when_their_share_is_full(app, monkeypatch):
    other_tab = query_results.STORE.open_tab()
    older = query_results.STORE.hold(other_tab, "local", _result(query_runner.USER_MAX_BYTES))
    at = _run_sql(app.run(), "SELECT * FROM cases")  # the local user's new result
    assert at.session_state["result"].ok and not at.session_state["result"].released
    assert older.released and "每人" in older.released


# --------------------------------------------------------------------------- workers yield to the dashboard


def _nice(pid: int, tid: int | None = None) -> int:
    path = f"/proc/{pid}/task/{tid}/stat" if tid else f"/proc/{pid}/stat"
    with open(path, encoding="ascii") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return int(fields[16])  # field 19 of stat; fields[0] is field 3 (state)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc")
def test_workers_run_at_low_priority_with_one_duckdb_thread(sample_db, state_dir):
    result = run_query("SELECT current_setting('threads') AS t", db=sample_db)
    assert result.ok and int(result.df.iloc[0, 0]) == query_runner.WORKER_THREADS == 1
    with query_runner._pool_lock:
        pids = [w.process.pid for w in [*query_runner._idle, *query_runner._busy]]
    assert pids
    ours = os.getpriority(os.PRIO_PROCESS, 0)
    for pid in pids:
        expected = min(19, ours + query_runner.WORKER_NICE)
        assert _nice(pid) == expected == os.getpriority(os.PRIO_PROCESS, pid)
        for tid in os.listdir(f"/proc/{pid}/task"):  # DuckDB's threads and the reader thread too
            assert _nice(pid, int(tid)) == expected
    assert query_runner.WORKER_NICE >= 10


def test_the_dashboards_own_connection_keeps_its_threads(sample_db, state_dir):
    """The metric layer's cursors are not starved by the workers' one-thread setting."""
    cur = dbmod.published(sample_db).cursor()
    try:
        assert int(cur.execute("SELECT current_setting('threads')").fetchone()[0]) == dbmod.THREADS
    finally:
        cur.close()
    assert os.getpriority(os.PRIO_PROCESS, 0) == _nice(os.getpid())  # the dashboard is not niced


def test_idle_workers_are_stopped_after_a_while(sample_db, state_dir, monkeypatch):
    """An idle worker keeps what its queries left (allocator caches): it is stopped, not kept forever."""
    monkeypatch.setattr(query_runner, "WORKER_IDLE_S", 1.0)
    assert run_query("SELECT 1", db=sample_db).ok
    with query_runner._pool_lock:
        pids = [w.process.pid for w in query_runner._idle]
    assert pids
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        with query_runner._pool_lock:
            idle = list(query_runner._idle)
        if not idle and not any(Path(f"/proc/{pid}").exists() for pid in pids):
            break
        time.sleep(0.2)
    else:
        raise AssertionError(f"idle workers {pids} were not stopped")
    assert run_query("SELECT 2 AS x", db=sample_db).ok  # a fresh one starts when needed


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="glibc on Linux")
def test_malloc_is_configured_and_trimmed_where_glibc_is_there():
    from chuangshu import memtrim

    assert memtrim.configure_malloc() is True
    assert memtrim.trim_memory() is True


# (pending request, page it asks for) -> abandoned?
ABANDON_CASES = [
    pytest.param("STOP", "", True, id="tab closed"),
    pytest.param("CONTINUE", "", False, id="nothing pending"),
    pytest.param("RERUN", "query-page", False, id="another widget on this page"),
    pytest.param("RERUN", "", False, id="rerun without a page"),
    pytest.param("RERUN", "overview-page", True, id="user went to another page"),
    pytest.param(None, "", False, id="no script run"),
]


@pytest.mark.parametrize("state, target, expected", ABANDON_CASES)
def test_the_page_cancels_only_when_nobody_will_see_the_result(monkeypatch, state, target, expected):
    """A closed tab or a switch to another page cancels; a rerun of the query page does not."""
    from types import SimpleNamespace

    from streamlit.runtime.scriptrunner_utils import script_run_context
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests, ScriptRequestType

    from chuangshu import query_session

    ctx = None
    if state is not None:
        requests = ScriptRequests()
        requests._state = getattr(ScriptRequestType, state)
        requests._rerun_data = RerunData(page_script_hash=target)
        ctx = SimpleNamespace(script_requests=requests, page_script_hash="query-page")
    monkeypatch.setattr(script_run_context, "get_script_run_ctx", lambda *a, **k: ctx)
    assert query_session.query_abandoned() is expected


def test_real_requests_are_seen(monkeypatch):
    """The same through Streamlit's own API: request_rerun() and request_stop() on the run's requests."""
    from types import SimpleNamespace

    from streamlit.runtime.scriptrunner_utils import script_run_context
    from streamlit.runtime.scriptrunner_utils.script_requests import RerunData, ScriptRequests

    from chuangshu import query_session

    requests = ScriptRequests()
    monkeypatch.setattr(script_run_context, "get_script_run_ctx",
                        lambda *a, **k: SimpleNamespace(script_requests=requests, page_script_hash="query-page"))
    assert query_session.query_abandoned() is False
    requests.request_rerun(RerunData(page_script_hash="query-page"))  # a widget on this page
    assert query_session.query_abandoned() is False
    requests.request_rerun(RerunData(page_script_hash="overview-page"))  # the user went elsewhere
    assert query_session.query_abandoned() is True
    requests.request_stop()
    assert query_session.query_abandoned() is True


def test_a_cancelled_query_leaves_the_page_as_it_was(app, monkeypatch):
    """A run Streamlit abandoned (tab closed, newer run) stores nothing: no error box appears later."""
    at = _run_sql(app.run(), "SELECT * FROM cases")
    shown = at.session_state["result"]

    def cancelled(sql, *args, **kwargs):
        return QueryResult(sql=sql, error=query_runner.MSG_CANCELLED, outcome="cancelled")

    monkeypatch.setattr(query_runner, "run_query", cancelled)
    at = _run_sql(at, "SELECT * FROM volunteers")
    assert not at.exception
    assert at.session_state["result"] is shown and not shown.released
    assert not any(query_runner.MSG_CANCELLED in e.value for e in at.error)
    assert query_results.STORE.held_count() == 1
