"""Hostile inputs to the ad-hoc SQL runner: each is refused or stopped within its limit
with a plain-Chinese message, and ordinary queries keep working (also in parallel).

The expectations are what DuckDB 2.0.1 really does with the locked-down connection of
chuangshu.db (see docs/adhoc-sql.md for the table).
"""
from __future__ import annotations

import re
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from chuangshu import audit, query_runner
from chuangshu.query_runner import run_query

try:
    from query_fixtures import sample_db, state_dir  # noqa: F401 - pytest fixtures
except ImportError:  # pragma: no cover - tests imported as a package
    from tests.query_fixtures import sample_db, state_dir  # noqa: F401

FILES = "不允许访问服务器文件"
ONE_SELECT = "只允许执行一条 SELECT 查询"
READ_ONLY = "只读"
# "Stopped, not run to the end": the queries below would run for minutes or forever, so a bound far above
# their limits proves the stop without turning a busy CI machine's scheduling into a failure.
STOPPED_WITHIN_S = 30
SETTINGS = "不允许修改数据库设置"
EXTENSIONS = "不允许安装或加载扩展"
ATTACH = "不允许挂载"
EXPORT = "不允许用 SQL 导出或写入文件"
HAN = re.compile(r"[\u4e00-\u9fff]")

# id, SQL, allowed outcomes, fragment the Chinese message must contain
HOSTILE = [
    # reading server files, by every door DuckDB has
    ("read_csv", "SELECT * FROM read_csv('/etc/passwd')", {"refused"}, FILES),
    ("read_csv_auto", "FROM read_csv_auto('/etc/passwd')", {"refused"}, FILES),
    ("read_csv_list", "SELECT * FROM read_csv(['/etc/passwd', '/etc/hosts'])", {"refused"}, FILES),
    ("read_text", "SELECT content FROM read_text('/etc/passwd')", {"refused"}, FILES),
    ("read_text_home", "SELECT * FROM read_text('~/.bashrc')", {"refused"}, FILES),
    ("read_text_file_url", "SELECT * FROM read_text('file:///etc/passwd')", {"refused"}, FILES),
    ("read_blob", "SELECT content FROM read_blob('/etc/shadow')", {"refused"}, FILES),
    ("read_json", "SELECT * FROM read_json_auto('/etc/passwd')", {"refused"}, FILES),
    ("read_parquet", "SELECT * FROM read_parquet('/tmp/x.parquet')", {"refused"}, FILES),
    ("parquet_metadata", "SELECT * FROM parquet_metadata('/etc/passwd')", {"refused"}, FILES),
    ("sniff_csv", "SELECT * FROM sniff_csv('/etc/passwd')", {"refused"}, FILES),
    ("glob", "SELECT * FROM glob('/etc/*')", {"refused"}, FILES),
    ("glob_cwd", "SELECT * FROM glob('*')", {"refused"}, FILES),
    ("bare_path_from", "SELECT * FROM '/etc/passwd'", {"refused"}, FILES),
    ("bare_path_from_first", "FROM '/etc/passwd'", {"refused"}, FILES),
    ("bare_relative_csv", "SELECT * FROM 'data/sample/cases.csv'", {"refused"}, FILES),
    ("query_table_path", "SELECT * FROM query_table('/etc/passwd')", {"refused"}, FILES),
    ("query_fn_read", "SELECT * FROM query('FROM read_csv(''/etc/passwd'')')", {"refused"}, FILES),
    ("http", "SELECT * FROM read_parquet('http://example.com/x.parquet')", {"refused"}, FILES),
    ("s3", "SELECT * FROM read_csv('s3://bucket/x.csv')", {"refused"}, FILES),
    # writing files
    ("copy_to", "COPY (SELECT * FROM cases) TO '/tmp/adhoc_leak.csv'", {"refused"}, EXPORT),
    ("copy_from", "COPY case_records FROM '/etc/passwd'", {"refused"}, EXPORT),
    ("export_database", "EXPORT DATABASE '/tmp/adhoc_export'", {"refused"}, EXPORT),
    # other databases
    ("attach_file", "ATTACH '/tmp/adhoc_other.duckdb' AS other", {"refused"}, ATTACH),
    ("attach_memory", "ATTACH ':memory:' AS m", {"refused"}, ATTACH),
    ("attach_http", "ATTACH 'http://example.com/x.duckdb' AS h", {"refused"}, ATTACH),
    ("detach", "DETACH guicheng", {"refused"}, ATTACH),
    # extensions
    ("install", "INSTALL httpfs", {"refused"}, EXTENSIONS),
    ("load", "LOAD httpfs", {"refused"}, EXTENSIONS),
    ("load_path", "LOAD '/tmp/evil.duckdb_extension'", {"refused"}, EXTENSIONS),
    ("extension_function", "SELECT * FROM read_xlsx('/tmp/x.xlsx')", {"refused"}, EXTENSIONS),
    ("duckdb_extensions", "SELECT * FROM duckdb_extensions()", {"refused"}, EXTENSIONS),
    # settings
    ("set_threads", "SET threads = 64", {"refused"}, SETTINGS),
    ("set_memory", "SET memory_limit = '100GB'", {"refused"}, SETTINGS),
    ("set_external", "SET enable_external_access = true", {"refused"}, SETTINGS),
    ("reset", "RESET memory_limit", {"refused"}, SETTINGS),
    ("pragma_set", "PRAGMA threads = 8", {"refused"}, SETTINGS),
    ("pragma", "PRAGMA database_list", {"refused"}, "PRAGMA"),
    ("set_variable", "SET VARIABLE x = 1", {"refused"}, SETTINGS),
    ("use", "USE memory", {"refused"}, SETTINGS),
    ("call", "CALL pragma_version()", {"refused"}, "CALL"),
    ("checkpoint", "CHECKPOINT", {"refused"}, ONE_SELECT),
    ("begin", "BEGIN TRANSACTION", {"refused"}, ONE_SELECT),
    # several statements, some hidden behind comments
    ("two_selects", "SELECT 1; SELECT 2", {"refused"}, ONE_SELECT),
    ("select_then_drop", "SELECT 1; DROP VIEW cases", {"refused"}, ONE_SELECT),
    ("hidden_after_block_comment", "SELECT 1 /* 只是查询 */; ATTACH '/tmp/x.duckdb' AS x -- 注释",
     {"refused"}, ONE_SELECT),
    ("hidden_after_line_comment", "SELECT 1 -- 看起来只有一行\n; COPY cases TO '/tmp/adhoc_leak.csv'",
     {"refused"}, ONE_SELECT),
    ("comment_then_set", "/* SELECT */ SET threads = 64", {"refused"}, SETTINGS),
    # writes (the database is read-only, and only SELECT is accepted)
    ("cte_delete", "WITH x AS (DELETE FROM case_records RETURNING *) SELECT count(*) FROM x",
     {"refused"}, READ_ONLY),
    ("cte_insert", "WITH x AS (INSERT INTO meta VALUES ('k', 'v') RETURNING *) SELECT * FROM x",
     {"refused"}, READ_ONLY),
    ("cte_update", "WITH x AS (UPDATE case_records SET remark = 'x' RETURNING *) SELECT count(*) FROM x",
     {"refused"}, READ_ONLY),
    ("nested_cte_delete", "SELECT * FROM (WITH x AS (DELETE FROM meta RETURNING *) SELECT * FROM x)",
     {"error", "refused"}, "有误"),
    ("insert", "INSERT INTO meta VALUES ('k', 'v')", {"refused"}, READ_ONLY),
    ("update", "UPDATE case_records SET remark = 'x'", {"refused"}, READ_ONLY),
    ("delete", "DELETE FROM case_records", {"refused"}, READ_ONLY),
    ("drop", "DROP VIEW cases", {"refused"}, READ_ONLY),
    ("create_temp", "CREATE TEMP TABLE t AS SELECT * FROM cases", {"refused"}, READ_ONLY),
    ("create_macro", "CREATE TEMP MACRO f(x) AS x + 1", {"refused"}, READ_ONLY),
    ("create_secret", "CREATE SECRET (TYPE s3, KEY_ID 'a', SECRET 'b')", {"refused"}, READ_ONLY),
    ("explain_analyze_create", "EXPLAIN ANALYZE CREATE TEMP TABLE t AS SELECT 1", {"refused"}, "EXPLAIN"),
    ("pivot_multi", "PIVOT cases ON status USING count(*)", {"refused"}, "PIVOT"),
    # environment and secrets
    ("getenv", "SELECT getenv('HOME')", {"error"}, "getenv"),
    ("duckdb_secrets", "SELECT * FROM duckdb_secrets()", {"refused"}, FILES),
    ("which_secret", "SELECT * FROM which_secret('s3://x', 's3')", {"refused"}, FILES),
    # shell-style dot commands are not SQL at all
    ("dot_read", ".read /etc/passwd", {"error"}, "语法错误"),
    ("dot_import", ".import /etc/passwd t", {"error"}, "语法错误"),
    ("dot_shell", ".shell cat /etc/passwd", {"error"}, "语法错误"),
    # parser stress
    ("deep_nesting", "SELECT " + "(" * 5000 + "1" + ")" * 5000, {"error"}, "嵌套层数太多"),
    ("too_long", "SELECT 1 " + " " * 100_001, {"refused"}, "SQL 太长"),
    # nothing at all
    ("empty", "   ", {"refused"}, "SELECT"),
    ("only_comment", "-- nothing here", {"refused"}, "SELECT"),
]


def _assert_plain_chinese(message: str | None) -> None:
    assert message, "an error message is expected"
    assert HAN.search(message), message
    assert "Traceback" not in message and 'File "' not in message, message


def _normal_query_works(db) -> None:
    r = run_query("SELECT community, count(*) AS n FROM cases GROUP BY community", db=db)
    assert r.ok, r.error
    assert r.row_count == 8


@pytest.mark.parametrize(
    "sql, outcomes, fragment",
    [pytest.param(sql, outcomes, fragment, id=name) for name, sql, outcomes, fragment in HOSTILE],
)
def test_hostile_input_is_refused(sample_db, state_dir, sql, outcomes, fragment):
    started = time.monotonic()
    result = run_query(sql, db=sample_db, timeout_s=2, user="tester")
    elapsed = time.monotonic() - started
    assert not result.ok
    assert result.outcome in outcomes, (result.outcome, result.error, result.detail)
    _assert_plain_chinese(result.error)
    assert fragment in result.error, result.error
    assert result.df.empty and result.row_count == 0
    assert elapsed < STOPPED_WITHIN_S
    entry = audit.read_entries()[-1]
    assert entry["sql"].startswith(sql[:1000]) and entry["sql_chars"] == len(sql)
    assert entry["outcome"] == result.outcome and entry["user"] == "tester"
    _normal_query_works(sample_db)


def test_engine_messages_leak_no_server_paths(sample_db, state_dir):
    for sql in ["SELECT * FROM duckdb_secrets()", "INSTALL httpfs", "SELECT * FROM duckdb_extensions()",
                "SELECT * FROM read_csv('/etc/passwd')"]:
        result = run_query(sql, db=sample_db)
        assert result.detail is None  # the engine's text (with server paths) is not shown
        assert "/root" not in result.error and ".duckdb" not in result.error


def test_nothing_was_written(sample_db, state_dir, tmp_path):
    target = tmp_path / "leak.csv"
    export_dir = tmp_path / "export"
    other = tmp_path / "other.duckdb"
    for sql in [f"COPY (SELECT * FROM cases) TO '{target}'",
                f"EXPORT DATABASE '{export_dir}'",
                f"ATTACH '{other}' AS other",
                f"SELECT 1; COPY cases TO '{target}'"]:
        assert run_query(sql, db=sample_db).outcome == "refused"
    assert not target.exists() and not export_dir.exists() and not other.exists()
    # the data and the views are untouched
    r = run_query("SELECT count(*) AS n FROM cases", db=sample_db)
    assert r.ok and r.df.iloc[0, 0] == 420


def test_comment_that_only_hides_text_is_one_harmless_select(sample_db, state_dir):
    r = run_query("SELECT 1 AS x -- ; DROP VIEW cases", db=sample_db)
    assert r.ok and r.df.iloc[0, 0] == 1
    assert run_query("SELECT count(*) FROM cases", db=sample_db).ok


def test_connection_is_locked_down_by_the_engine(sample_db, state_dir):
    r = run_query(
        "SELECT name, value FROM duckdb_settings() WHERE name IN ('enable_external_access', "
        "'lock_configuration', 'autoload_known_extensions', 'autoinstall_known_extensions', "
        "'allow_community_extensions', 'access_mode', 'threads', 'memory_limit')",
        db=sample_db,
    )
    assert r.ok, r.error
    settings = dict(zip(r.df["name"], r.df["value"]))
    assert settings["enable_external_access"] == "false"
    assert settings["lock_configuration"] == "true"
    assert settings["autoload_known_extensions"] == "false"
    assert settings["autoinstall_known_extensions"] == "false"
    assert settings["allow_community_extensions"] == "false"
    assert settings["access_mode"] == "read_only"
    assert int(settings["threads"]) >= 1


def test_parameters_are_bound_not_spliced(sample_db, state_dir):
    sql = "SELECT count(*) AS n FROM cases WHERE community = $community"
    for hostile in ["x' OR '1'='1", "'; DROP VIEW cases; --", "桂雅社区' UNION SELECT 1 --"]:
        r = run_query(sql, {"community": hostile}, db=sample_db)
        assert r.ok, r.error
        assert r.df.iloc[0, 0] == 0
    assert run_query(sql, {"community": "桂雅社区"}, db=sample_db).df.iloc[0, 0] > 0


# --------------------------------------------------------------------------- time and memory


def _wait_until_no_query_runs(limit_s: float = 5.0) -> bool:
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        with query_runner._running_lock:
            if not query_runner._running:
                return True
        time.sleep(0.05)
    return False


SLOW = [
    ("huge_cross_join", "SELECT count(*) FROM range(1000000) a, range(1000000) b"),
    ("cross_join_of_views", "SELECT count(*) FROM cases a, cases b, cases c, cases d, cases e"),
    ("recursive_cte_forever",
     "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r"),
    ("recursive_cte_union_forever",
     "WITH RECURSIVE r(n) AS (SELECT 1 UNION SELECT n + 1 FROM r) SELECT max(n) FROM r"),
    ("sort_of_billions", "SELECT x FROM range(10000000000) t(x) ORDER BY x DESC LIMIT 1"),
]


@pytest.mark.parametrize("sql", [pytest.param(sql, id=name) for name, sql in SLOW])
def test_runaway_query_is_stopped_within_its_limit(sample_db, state_dir, sql):
    started = time.monotonic()
    result = run_query(sql, db=sample_db, timeout_s=1)
    elapsed = time.monotonic() - started
    assert result.outcome in {"timeout", "memory"}, (result.outcome, result.error)
    _assert_plain_chinese(result.error)
    if result.outcome == "timeout":
        assert "查询超过 1 秒时限，已停止" in result.error
    assert elapsed < STOPPED_WITHIN_S
    assert _wait_until_no_query_runs(), "the engine did not stop the query"
    assert audit.read_entries()[-1]["outcome"] == result.outcome
    _normal_query_works(sample_db)


def test_default_time_limit_is_five_seconds(sample_db, state_dir):
    assert query_runner.DEFAULT_TIMEOUT_S == 5.0
    started = time.monotonic()
    result = run_query("SELECT count(*) FROM range(1000000) a, range(1000000) b", db=sample_db)
    assert result.outcome == "timeout"
    assert "查询超过 5 秒时限，已停止" in result.error
    assert time.monotonic() - started < STOPPED_WITHIN_S


def test_memory_hog_is_stopped_with_a_memory_message(sample_db, state_dir):
    result = run_query("SELECT list(x) FROM range(2000000000) t(x)", db=sample_db, timeout_s=10)
    assert result.outcome in {"memory", "timeout"}, (result.outcome, result.error)
    _assert_plain_chinese(result.error)
    if result.outcome == "memory":
        assert "内存" in result.error
    _normal_query_works(sample_db)


def test_huge_result_is_capped_not_materialised(sample_db, state_dir):
    started = time.monotonic()
    result = run_query("SELECT * FROM range(1000000000000) t(x)", db=sample_db, max_rows=1000)
    assert result.ok and result.truncated and result.row_count == 1000
    assert time.monotonic() - started < STOPPED_WITHIN_S


def test_result_bytes_are_capped(sample_db, state_dir):
    result = run_query("SELECT repeat('x', 10000) AS s FROM range(100000)", db=sample_db,
                       max_bytes=1024 * 1024)
    assert result.ok and result.truncated
    assert result.row_count < 100000
    assert "MB" in result.detail


def test_other_users_keep_working_while_hostile_queries_run(sample_db, state_dir):
    hostile = [sql for _, sql in SLOW[:3]] + [
        "SELECT * FROM read_csv('/etc/passwd')", "COPY cases TO '/tmp/x.csv'", "SET threads = 64",
    ]
    normal = "SELECT category, count(*) AS n FROM cases GROUP BY category ORDER BY category"
    with ThreadPoolExecutor(max_workers=12) as pool:
        bad = [pool.submit(run_query, sql, db=sample_db, timeout_s=2, user=f"attacker{i}")
               for i, sql in enumerate(hostile)]
        time.sleep(0.2)  # the runaway queries are now running
        good = [pool.submit(run_query, normal, db=sample_db, timeout_s=4, user=f"analyst{i}")
                for i in range(8)]
        good_results = [f.result() for f in good]
        bad_results = [f.result() for f in bad]
    for r in good_results:
        assert r.ok, r.error
        assert r.row_count == 8  # answered within its own 4 s query limit; wall time is bench/'s business
    assert all(not r.ok for r in bad_results)
    assert {r.outcome for r in bad_results[:3]} <= {"timeout", "memory"}
    assert _wait_until_no_query_runs()
    users = {e["user"] for e in audit.read_entries()}
    assert {"analyst0", "attacker0"} <= users
    # settings were not changed by anyone
    r = run_query("SELECT current_setting('threads') AS t", db=sample_db)
    assert int(r.df.iloc[0, 0]) != 64


def test_one_user_cannot_take_every_slot(sample_db, state_dir):
    runaway = "SELECT count(*) FROM range(1000000) a, range(1000000) b"
    with ThreadPoolExecutor(max_workers=2) as pool:
        first = [pool.submit(run_query, runaway, db=sample_db, timeout_s=2, user="mallory")
                 for _ in range(query_runner.MAX_PER_USER)]
        time.sleep(0.3)
        third = run_query("SELECT 1", db=sample_db, user="mallory")
        other = run_query("SELECT 1 AS x", db=sample_db, user="alice")
        results = [f.result() for f in first]
    assert third.outcome == "busy" and "您已有" in third.error
    assert other.ok
    assert all(r.outcome == "timeout" for r in results)
    assert run_query("SELECT 1", db=sample_db, user="mallory").ok  # free again afterwards


# --------------------------------------------------------------------------- worker processes


def _rss_mb() -> float:
    with open("/proc/self/status", encoding="ascii") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


HUGE_VALUES = [
    ("repeat", "SELECT length(repeat('x', 2000000000))"),
    ("lpad", "SELECT length(lpad('', 1000000000, 'x'))"),
    ("range_list", "SELECT len(range(300000000))"),
    ("list_resize", "SELECT len(list_resize([1], 300000000))"),
]


@pytest.mark.parametrize("sql", [pytest.param(sql, id=name) for name, sql in HUGE_VALUES])
def test_huge_value_is_stopped_in_its_worker(sample_db, state_dir, sql):
    run_query("SELECT 1", db=sample_db)  # a worker is warm
    before = _rss_mb()
    started = time.monotonic()
    result = run_query(sql, db=sample_db, timeout_s=1)
    elapsed = time.monotonic() - started
    assert result.outcome in {"timeout", "memory"}, (result.outcome, result.error)
    _assert_plain_chinese(result.error)
    assert elapsed < 1 + query_runner.GRACE_S + 1.5
    assert _rss_mb() - before < 200  # the value was built (or refused) in the worker, not here
    _normal_query_works(sample_db)


def test_killed_worker_is_replaced(sample_db, state_dir):
    import os
    import signal
    import threading

    assert run_query("SELECT 1", db=sample_db).ok
    def kill_soon() -> None:
        time.sleep(0.5)
        with query_runner._pool_lock:
            pids = [w.process.pid for w in query_runner._busy]
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
    killer = threading.Thread(target=kill_soon)
    killer.start()
    result = run_query("SELECT count(*) FROM range(1000000) a, range(1000000) b", db=sample_db, timeout_s=5)
    killer.join()
    assert result.outcome == "memory" and "内存不足" in result.error
    assert _wait_until_no_query_runs()
    _normal_query_works(sample_db)
