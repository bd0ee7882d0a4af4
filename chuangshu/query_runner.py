"""The one way to run analysts' SQL: ``run_query``.

The 即席查询 page, saved queries and the tests all call :func:`run_query`; it needs no
Streamlit. Safety comes from the engine, not from keyword lists:

* the query runs in a separate worker process (:mod:`chuangshu.query_worker`, started
  with "spawn", a small pool reused between queries) whose address space is capped with
  ``RLIMIT_AS`` before DuckDB is imported; it opens the database file itself, read-only
  and locked down like :mod:`chuangshu.db` (external access disabled, extension
  autoload/autoinstall off, memory and thread limits, configuration locked), so DuckDB
  itself refuses file and network access, writes, ``SET`` and extension loading, and a
  query that runs away with memory can only take down its worker, never the dashboard;
* DuckDB's own parser (``duckdb.extract_statements``) must find exactly one statement
  of type SELECT (or an EXPLAIN of one): this turns away COPY, EXPORT, ATTACH, CALL,
  PRAGMA, SET, CREATE TEMP ... (a read-only database still allows temporary objects)
  before anything executes;
* parameters (``$community``) are bound by the engine, never spliced into the text;
* at the time limit the worker is told to ``interrupt()`` the query; a worker that has
  not answered ``GRACE_S`` later is killed (SIGKILL) and replaced on next use, so the
  caller always has its answer by then; a worker that dies (address-space limit, OOM
  killer) is reported as a memory failure;
* at most ``max_rows`` rows and ``max_bytes`` bytes are fetched (the result is streamed,
  so a huge result is never materialised); ``truncated`` says whether more existed;
* at most ``MAX_CONCURRENT`` queries (worker processes) run at once;
* errors come back as plain Chinese in ``QueryResult.error`` (no stack traces), and every
  call is appended to the audit log (:mod:`chuangshu.audit`);
* with ``scope="<community>"`` (a community-scoped user) the query runs on that
  community's private read-only database (:mod:`chuangshu.scope`), which holds no other
  community's rows at all, under the same checks and limits.

Limits default from environment variables (see docs/adhoc-sql.md).
"""
from __future__ import annotations

import atexit
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from multiprocessing import reduction
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from chuangshu import db as dbmod
from etl import catalogue

log = logging.getLogger(__name__)


def _env_float(name: str, default: float) -> float:
    try:
        return float(os.environ.get(name, default))
    except ValueError:
        return default


DEFAULT_TIMEOUT_S = _env_float("CHUANGSHU_QUERY_TIMEOUT_S", 5.0)
DEFAULT_MAX_ROWS = int(_env_float("CHUANGSHU_QUERY_MAX_ROWS", 10_000))
DEFAULT_MAX_BYTES = int(_env_float("CHUANGSHU_QUERY_MAX_MB", 64) * 1024 * 1024)
MAX_CONCURRENT = max(1, int(_env_float("CHUANGSHU_QUERY_CONCURRENCY", 8)))
MAX_PER_USER = max(1, int(_env_float("CHUANGSHU_QUERY_PER_USER", 2)))
MAX_SQL_CHARS = 100_000
GRACE_S = 1.0  # after the interrupt, how long the worker may take to stop before it is killed
POOL_SIZE = max(1, int(_env_float("CHUANGSHU_QUERY_WORKERS", 2)))  # idle worker processes kept
WORKER_MEMORY = int(_env_float("CHUANGSHU_QUERY_WORKER_MB", 3072) * 1024 * 1024)  # RLIMIT_AS per worker
_PACKAGE_ROOT = Path(__file__).resolve().parents[1]
START_WAIT_S = 30.0  # how long a new worker may take to start and open the database
SLOT_WAIT_S = 3.0  # how long a query waits for a free slot before "busy"

ALLOWED_TYPES = {duckdb.StatementType.SELECT}
PUBLIC_VIEWS = catalogue.PUBLIC_VIEWS  # the ledger catalogue's public views (etl/catalogue.py)

# --------------------------------------------------------------------------- errors


class QueryError(Exception):
    """A query that did not produce a result; ``message`` is plain Chinese for the user."""

    outcome = "error"

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail  # the engine's own one-line message, where safe to show


class QueryRefused(QueryError):
    """Turned away: not one SELECT, or the engine refused an operation (files, writes...)."""

    outcome = "refused"


class QueryTimeout(QueryError):
    outcome = "timeout"


class QueryTooLarge(QueryError):
    outcome = "memory"


class QueryBusy(QueryError):
    outcome = "busy"


class DatabaseUnavailable(QueryError):
    outcome = "unavailable"


class QueryFailed(QueryError):
    """The engine ran the query and reported an error in it (syntax, unknown column...)."""

    outcome = "error"


MSG_ONE_SELECT = "只允许执行一条 SELECT 查询"
MSG_FILES = "不允许访问服务器文件或网络：只能查询数据库中的公开视图"
MSG_READ_ONLY = "数据是只读的，不允许新建、修改或删除任何内容"
MSG_SETTINGS = "不允许修改数据库设置"
MSG_EXTENSIONS = "不允许安装或加载扩展"
MSG_ATTACH = "不允许挂载或卸载其他数据库"
MSG_EXPORT = "不允许用 SQL 导出或写入文件；请用结果下方的“下载 CSV / Excel”按钮"

_TYPE_MESSAGES = {
    duckdb.StatementType.COPY: MSG_EXPORT,
    duckdb.StatementType.COPY_DATABASE: MSG_EXPORT,
    duckdb.StatementType.EXPORT: MSG_EXPORT,
    duckdb.StatementType.ATTACH: MSG_ATTACH,
    duckdb.StatementType.DETACH: MSG_ATTACH,
    duckdb.StatementType.LOAD: MSG_EXTENSIONS,
    duckdb.StatementType.EXTENSION: MSG_EXTENSIONS,
    duckdb.StatementType.SET: MSG_SETTINGS,
    duckdb.StatementType.VARIABLE_SET: MSG_SETTINGS,
    duckdb.StatementType.PRAGMA: "不允许使用 PRAGMA 语句；查看信息请用 SELECT * FROM pragma_version() 这类表函数",
    duckdb.StatementType.TRANSACTION: "不需要也不允许使用事务语句（BEGIN / COMMIT）",
    duckdb.StatementType.CALL: "不允许使用 CALL；请改写为 SELECT * FROM 函数名(...)",
    duckdb.StatementType.MULTI: (
        "该语句会被拆成多条语句执行，不支持。PIVOT 请写明取值，"
        "例如 PIVOT cases ON status IN ('办理中', '已办结') USING count(*)"
    ),
}
for _t in ("CREATE", "CREATE_FUNC", "INSERT", "UPDATE", "DELETE", "DROP", "ALTER",
           "MERGE_INTO", "VACUUM", "ANALYZE"):
    _TYPE_MESSAGES[getattr(duckdb.StatementType, _t)] = MSG_READ_ONLY


# --------------------------------------------------------------------------- result


@dataclass
class QueryResult:
    """What one call of :func:`run_query` produced. ``error`` is None on success."""

    sql: str
    columns: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)  # DuckDB type names, e.g. DATE, VARCHAR
    df: pd.DataFrame = field(default_factory=pd.DataFrame)
    row_count: int = 0  # rows returned (after the cap)
    truncated: bool = False  # more rows (or bytes) existed than were returned
    elapsed_ms: float = 0.0
    error: str | None = None  # plain Chinese, no stack trace
    detail: str | None = None  # the engine's one-line message, where it is safe to show
    outcome: str = "ok"  # ok, refused, timeout, memory, busy, unavailable, error
    max_rows: int = DEFAULT_MAX_ROWS
    timeout_s: float = DEFAULT_TIMEOUT_S

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def rows(self) -> list[tuple]:
        return list(self.df.itertuples(index=False, name=None))


# --------------------------------------------------------------------------- checking

_EXPLAIN_PREFIX = re.compile(r"^\s*EXPLAIN(\s+ANALY[SZ]E)?\s+", re.IGNORECASE)


def check_sql(sql: str) -> duckdb.Statement:
    """Parse ``sql`` with DuckDB's parser; return its single SELECT statement or raise.

    Raises :class:`QueryRefused` (not exactly one statement, or not a SELECT/EXPLAIN
    SELECT) or :class:`QueryFailed` (syntax error).
    """
    if not isinstance(sql, str) or not sql.strip():
        raise QueryRefused("请输入一条 SELECT 查询")
    if len(sql) > MAX_SQL_CHARS:
        raise QueryRefused(f"SQL 太长（超过 {MAX_SQL_CHARS:,} 个字符）")
    statements = _parse(sql)
    if not statements:
        raise QueryRefused("请输入一条 SELECT 查询（只有注释）")
    if len(statements) > 1:
        kinds = "、".join(s.type.name for s in statements)
        raise QueryRefused(
            f"{MSG_ONE_SELECT}：检测到 {len(statements)} 条语句（{kinds}）。请删除多余的分号和语句",
        )
    statement = statements[0]
    if statement.type == duckdb.StatementType.EXPLAIN:
        inner_sql = _EXPLAIN_PREFIX.sub("", statement.query, count=1)
        inner = _parse(inner_sql) if inner_sql != statement.query else []
        if len(inner) != 1 or inner[0].type not in ALLOWED_TYPES:
            raise QueryRefused("EXPLAIN 只能用于一条 SELECT 查询")
        return statement
    if statement.type not in ALLOWED_TYPES:
        reason = _TYPE_MESSAGES.get(statement.type, "")
        text = f"{MSG_ONE_SELECT}（这条是 {statement.type.name} 语句）"
        raise QueryRefused(f"{text}：{reason}" if reason else text)
    return statement


_parser: duckdb.DuckDBPyConnection | None = None
_parser_lock = threading.Lock()


def _extract(sql: str) -> list[duckdb.Statement]:
    """DuckDB's parser on a private in-memory connection (connections are not thread-safe,
    so it is shared under a lock; it only ever parses, never executes)."""
    global _parser
    with _parser_lock:
        if _parser is None:
            _parser = duckdb.connect(":memory:", config=dict(dbmod.LOCKED_CONFIG))
        return list(_parser.extract_statements(sql))


def _parse(sql: str) -> list[duckdb.Statement]:
    try:
        return _extract(sql)
    except duckdb.Error as exc:
        raise _translate(exc) from None


def statement_parameters(sql: str) -> list[str]:
    """Names of the ``$name`` parameters in ``sql`` (sorted); [] if it does not parse."""
    try:
        statements = _extract(sql)
    except duckdb.Error:
        return []
    names: set[str] = set()
    for statement in statements:
        names |= set(statement.named_parameters)
    return sorted(names)


def _bind(statement: duckdb.Statement, params: Any) -> Any:
    wanted = set(statement.named_parameters)
    if not wanted:
        return None
    if params is None:
        params = {}
    if isinstance(params, Mapping):
        missing = sorted(wanted - set(params))
        if missing:
            names = "、".join(f"${n}" for n in missing)
            raise QueryFailed(f"缺少参数值：{names}")
        return {name: params[name] for name in wanted}  # extra values are simply not used
    if isinstance(params, Sequence) and not isinstance(params, (str, bytes)):
        if len(params) != len(wanted):
            raise QueryFailed(f"参数个数不符：需要 {len(wanted)} 个，提供了 {len(params)} 个")
        return list(params)
    raise QueryFailed("参数格式不对：应为 {名称: 值} 字典")


# --------------------------------------------------------------------------- translating


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


_TABLE_MISSING = re.compile(r'Table with name (.+?) does not exist', re.IGNORECASE)
_FUNCTION_MISSING = re.compile(r'Function with name "?([\w.]+)"? (?:does not exist|is not in the catalog)', re.IGNORECASE)
_COLUMN_MISSING = re.compile(r'Referenced column "?([^"]+?)"? not found', re.IGNORECASE)
_NEAR = re.compile(r'at or near "([^"]*)"', re.IGNORECASE)
_LINE = re.compile(r"^LINE (\d+):", re.MULTILINE)
_PARAMS_MISSING = re.compile(r"Values were not provided for the following parameters: (.+)$", re.MULTILINE)


def _translate(exc: BaseException, *, timeout_s: float = DEFAULT_TIMEOUT_S,
               timed_out: bool = False, views: Sequence[str] = PUBLIC_VIEWS) -> QueryError:
    """Plain-Chinese :class:`QueryError` for an engine exception (never a stack trace)."""
    text = str(exc)
    first = _first_line(exc)
    if timed_out or isinstance(exc, duckdb.InterruptException):
        return QueryTimeout(_timeout_message(timeout_s))
    if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory" in first:
        return QueryTooLarge(
            f"查询所需内存超过上限（{dbmod.MEMORY_LIMIT}），已停止。请先加条件缩小范围或先聚合再查询"
        )
    if isinstance(exc, duckdb.PermissionException):
        if "extension" in text.lower():
            return QueryRefused(MSG_EXTENSIONS)
        return QueryRefused(MSG_FILES)
    if isinstance(exc, duckdb.ParserException):
        if "expression depth" in text:
            return QueryFailed("SQL 嵌套层数太多（表达式最多 1000 层）")
        near = _NEAR.search(text)
        line = _LINE.search(text)
        where = f"第 {line.group(1)} 行" if line else ""
        if near:
            where += f"“{near.group(1)}”附近"
        return QueryFailed(f"SQL 语法错误{('：请检查' + where) if where else ''}", first)
    if isinstance(exc, duckdb.CatalogException):
        table = _TABLE_MISSING.search(text)
        if table:
            name = table.group(1).strip().strip('"')
            if re.search(r"[/\\:~]|\.\w{1,8}$", name) or name.startswith("."):
                return QueryRefused(f"{MSG_FILES}（“{name}”不是表名）")
            return QueryFailed(
                f"表或视图“{name}”不存在。可查询的视图：{', '.join(views)}", first)
        function = _FUNCTION_MISSING.search(text)
        if function and "exists in the" in text:
            return QueryRefused(f"{MSG_EXTENSIONS}：函数“{function.group(1)}”属于未加载的扩展")
        if function:
            return QueryFailed(f"函数“{function.group(1)}”不存在或已被禁用", first)
        if "read-only" in text or "read only" in text:
            return QueryRefused(MSG_READ_ONLY)
        return QueryFailed("查询引用了不存在的对象", first)
    if isinstance(exc, duckdb.BinderException):
        column = _COLUMN_MISSING.search(text)
        if column:
            return QueryFailed(f"字段“{column.group(1)}”不存在，请在左侧“数据字典”中核对字段名", first)
        return QueryFailed("查询中的字段、函数或类型用法有误", first)
    if isinstance(exc, duckdb.ConversionException):
        return QueryFailed("数据类型转换失败（例如把文字当作数字或日期）", first)
    if isinstance(exc, (duckdb.InvalidInputException, duckdb.Error)):
        if "configuration has been locked" in text or "Cannot change configuration" in text:
            return QueryRefused(MSG_SETTINGS)
        if "read-only mode" in text or "read_only" in text:
            return QueryRefused(MSG_READ_ONLY)
        missing = _PARAMS_MISSING.search(text)
        if missing:
            names = "、".join(f"${n.strip()}" for n in missing.group(1).split(","))
            return QueryFailed(f"缺少参数值：{names}")
        if isinstance(exc, duckdb.InvalidInputException):
            return QueryFailed("查询的输入有误", first)
        return QueryFailed("查询执行出错", first)
    return QueryFailed("查询出错（内部错误，已记录）")


def _timeout_message(timeout_s: float) -> str:
    return f"查询超过 {timeout_s:g} 秒时限，已停止。请加条件缩小范围、先聚合或加 LIMIT 后重试"


# --------------------------------------------------------------------------- running

_slots = threading.BoundedSemaphore(MAX_CONCURRENT)
_running: set["_Job"] = set()
_running_lock = threading.Lock()
_per_user: dict[str, int] = {}  # queries still running per known user (guarded by _running_lock)
_idle: list["_Worker"] = []  # started worker processes waiting for a query (guarded by _pool_lock)
_busy: set["_Worker"] = set()
_pool_lock = threading.Lock()


class _Worker:
    """One worker process (:mod:`chuangshu.query_worker`).

    A fresh interpreter is started (fork + exec, like multiprocessing's "spawn" but
    without re-running the dashboard's main module): the dashboard's DuckDB threads are
    never forked. It talks over a socket pair with multiprocessing's ``Connection``.
    """

    def __init__(self) -> None:
        ours, theirs = socket.socketpair()
        env = {"MALLOC_ARENA_MAX": "2", **os.environ, "PYTHONPATH": os.pathsep.join(
            p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p)}
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from chuangshu.query_worker import main; "
                 "main(int(sys.argv[1]), int(sys.argv[2]))", str(theirs.fileno()), str(WORKER_MEMORY)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env, close_fds=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())

    def alive(self) -> bool:
        return self.process.poll() is None and not self.conn.closed

    def kill(self) -> None:
        """SIGKILL: ends a query the engine will not stop, and frees all of its memory."""
        try:
            self.process.kill()
            self.process.wait(2.0)
        except (OSError, subprocess.TimeoutExpired):
            pass
        self.conn.close()


def _take_worker() -> _Worker:
    with _pool_lock:
        while _idle:
            worker = _idle.pop()
            if worker.alive():
                _busy.add(worker)
                return worker
            worker.kill()  # died while idle: replaced below
    worker = _Worker()
    with _pool_lock:
        _busy.add(worker)
    return worker


def _return_worker(worker: _Worker, healthy: bool) -> None:
    with _pool_lock:
        _busy.discard(worker)
        if healthy and worker.alive() and len(_idle) < POOL_SIZE:
            _idle.append(worker)
            return
    worker.kill()  # a dead, stuck or surplus worker; a fresh one is started when needed


@atexit.register
def _stop_running_queries() -> None:
    """At interpreter exit, kill every worker process (running queries included)."""
    with _pool_lock:
        workers = [*_idle, *_busy]
        _idle.clear()
    for worker in workers:
        worker.kill()


class _Job:
    """One query, sent to a worker process; the caller's thread waits for its answer."""

    def __init__(self, user: str | None) -> None:
        self.user = user


def _forget(job: _Job) -> None:
    with _running_lock:
        _running.discard(job)
        if job.user is not None:
            left = _per_user.get(job.user, 1) - 1
            if left > 0:
                _per_user[job.user] = left
            else:
                _per_user.pop(job.user, None)


def _resolve_db(db: Any) -> dbmod.PublishedDatabase:
    if isinstance(db, dbmod.PublishedDatabase):
        return db
    return dbmod.published(Path(db) if db is not None else None)


def run_query(
    sql: str,
    params: Mapping[str, Any] | Sequence[Any] | None = None,
    *,
    db: dbmod.PublishedDatabase | Path | str | None = None,
    user: str | None = None,
    client: str | None = None,
    source: str = "adhoc",
    timeout_s: float | None = None,
    max_rows: int | None = None,
    max_bytes: int | None = None,
    audit: bool = True,
    scope: str | None = None,
) -> QueryResult:
    """Run one read-only SELECT safely; never raises for anything the user typed.

    ``params`` are bound by DuckDB (``$name`` placeholders; extra values are ignored).
    ``db`` is a :class:`chuangshu.db.PublishedDatabase`, a path, or None for the
    configured database. ``user`` and ``source`` (``adhoc``, ``saved:<name>``,
    ``example:<id>``...) go to the audit log with the outcome; a known ``user`` may run
    at most ``MAX_PER_USER`` queries at once. ``client`` (e.g. the browser's address) is
    only recorded. ``scope`` (a community name) runs the query on that community's rows
    only (:func:`chuangshu.scope.scoped`); None is the whole database.
    """
    timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s)
    max_rows = DEFAULT_MAX_ROWS if max_rows is None else int(max_rows)
    max_bytes = DEFAULT_MAX_BYTES if max_bytes is None else int(max_bytes)
    result = QueryResult(sql=sql, max_rows=max_rows, timeout_s=timeout_s)
    started = time.monotonic()
    bound: Any = None
    try:
        statement = check_sql(sql)
        bound = _bind(statement, params)
        database = _resolve_db(db)
        try:
            database.version()
        except dbmod.DatabaseMissing:
            raise DatabaseUnavailable(
                "数据库尚未生成或正在更新，暂时无法查询。请先导入台账数据（make db）后再试"
            ) from None
        views: Sequence[str] = PUBLIC_VIEWS
        if scope is not None:
            from chuangshu import scope as scope_mod

            try:
                database = scope_mod.scoped(scope, database)
            except scope_mod.ScopeError as exc:
                raise QueryRefused(exc.message) from None
            except dbmod.DatabaseMissing:
                raise DatabaseUnavailable("数据库尚未生成或正在更新，暂时无法查询。请稍后再试") from None
            views = scope_mod.VISIBLE_VIEWS
        _execute(database, sql, bound, result, timeout_s, max_rows, max_bytes, user, views)
    except QueryError as exc:
        result.error, result.detail, result.outcome = exc.message, exc.detail, exc.outcome
    except Exception:  # noqa: BLE001 - never a stack trace for the user
        log.exception("ad-hoc query failed unexpectedly")
        result.error, result.outcome = "查询出错（内部错误，已记录）", "error"
    result.elapsed_ms = round((time.monotonic() - started) * 1000, 1)
    if audit:
        _audit(result, bound if bound is not None else params, user, source, client, scope)
    return result


def _execute(database: Any, sql: str, params: Any, result: QueryResult, timeout_s: float, max_rows: int,
             max_bytes: int, user: str | None = None, views: Sequence[str] = PUBLIC_VIEWS) -> None:
    job = _Job(user)
    with _running_lock:
        if user is not None and _per_user.get(user, 0) >= MAX_PER_USER:
            raise QueryBusy(f"您已有 {MAX_PER_USER} 个查询在运行，请等它们结束（最长约 {timeout_s:g} 秒）后再试")
        if user is not None:
            _per_user[user] = _per_user.get(user, 0) + 1
        _running.add(job)
    try:
        if not _slots.acquire(timeout=min(SLOT_WAIT_S, max(timeout_s, 0.1))):
            raise QueryBusy("当前同时运行的查询太多，请稍后再试")
        try:
            reply, timed_out = _run_in_worker(database, sql, params, timeout_s, max_rows, max_bytes)
        finally:
            _slots.release()
    finally:
        _forget(job)
    if reply[0] == "missing":
        raise DatabaseUnavailable("数据库尚未生成或正在更新，暂时无法查询。请稍后再试")
    if reply[0] == "memory":
        raise QueryTooLarge("查询结果太大，内存不足，已停止。请缩小范围后重试")
    if reply[0] == "error":
        error_type = getattr(duckdb, reply[1], None)
        if isinstance(error_type, type) and issubclass(error_type, duckdb.Error):
            raise _translate(error_type(reply[2]), timeout_s=timeout_s, timed_out=timed_out, views=views)
        log.error("ad-hoc query failed: %s: %s", reply[1], reply[2])
        raise QueryFailed("查询出错（内部错误，已记录）")
    _, columns, types, df, truncated, too_large = reply
    result.columns, result.types, result.df = columns, types, df
    result.row_count = len(df)
    result.truncated = truncated
    if too_large:
        result.detail = f"结果超过 {max_bytes / (1024 * 1024):g} MB，只返回了前 {len(df):,} 行"


def _run_in_worker(database: Any, sql: str, params: Any, timeout_s: float, max_rows: int,
                   max_bytes: int) -> tuple[tuple, bool]:
    """Run the query in a worker process: (its reply, whether it was interrupted).

    At the time limit the worker is told to interrupt the query; if it has not answered
    ``GRACE_S`` later it is killed (and replaced on next use). A worker that dies — the
    address-space limit, the kernel's OOM killer — is a memory failure.
    """
    task: dict[str, Any] = dict(sql=sql, params=params, timeout_s=timeout_s, max_rows=max_rows,
                                max_bytes=max_bytes)
    fd = getattr(database, "fd", None)
    if fd is not None:  # a community's scoped database (chuangshu.scope)
        task["scope"] = database.key()
    else:
        task["source"], task["path"] = str(database.path), str(database.snapshot_path())
    worker = _take_worker()
    healthy = False
    timed_out = False
    try:
        try:
            worker.conn.send(("run", task))
            if fd is not None:
                reduction.send_handle(worker.conn, fd, worker.process.pid)
            if not worker.conn.poll(START_WAIT_S):
                log.error("query worker did not start within %.0fs", START_WAIT_S)
                raise QueryFailed("查询出错（内部错误，已记录）")
            reply = worker.conn.recv()
            if reply[0] == "started":
                if not worker.conn.poll(timeout_s):
                    timed_out = True
                    worker.conn.send(("interrupt",))
                    if not worker.conn.poll(GRACE_S):
                        # The engine did not stop (e.g. one huge value being built): kill it.
                        log.warning("query still running %.1fs after its limit; worker killed", GRACE_S)
                        raise QueryTimeout(_timeout_message(timeout_s))
                reply = worker.conn.recv()
        except (EOFError, OSError):
            try:
                worker.process.wait(1.0)
            except subprocess.TimeoutExpired:
                pass
            log.warning("query worker died (exit code %s)", worker.process.returncode)
            return ("memory",), timed_out
        healthy = True
        return reply, timed_out
    finally:
        _return_worker(worker, healthy)


def _audit(result: QueryResult, params: Any, user: str | None, source: str,
           client: str | None = None, scope: str | None = None) -> None:
    try:
        from chuangshu import audit

        audit.record_query(
            sql=result.sql, params=params, user=user, source=source, rows=result.row_count,
            truncated=result.truncated, ms=result.elapsed_ms, outcome=result.outcome,
            error=result.error, client=client, scope=scope,
        )
    except Exception:  # noqa: BLE001 - the audit log must never break a query
        log.exception("could not write the query audit log")
