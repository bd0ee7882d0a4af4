"""The one way to run analysts' SQL: ``run_query``.

The 即席查询 page, saved queries and the tests all call :func:`run_query`; it needs no
Streamlit. Safety comes from the engine, not from keyword lists:

* the query runs in a separate worker process (:mod:`chuangshu.query_worker`, started
  with "spawn", a small pool reused between queries and stopped after ``WORKER_IDLE_S``
  without one, since a worker keeps its allocators' caches) whose address space is capped with
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
  so a huge result is never materialised; bytes are the DataFrame's memory, so a 500-column
  result is cut by bytes long before its rows run out); ``truncated`` says whether more
  existed, ``nbytes`` what the result holds;
* fair sharing: at most ``MAX_CONCURRENT`` queries (worker processes) run at once, a user
  at most ``MAX_PER_USER`` (a further query of theirs waits ``USER_WAIT_S``, then is turned
  away with 「您已有 N 个查询在运行……」); workers run at a low CPU priority (``WORKER_NICE``)
  with one DuckDB thread each (``WORKER_THREADS``), so on a small server the dashboard's
  pages always come first; waiting never blocks anyone but the caller, and ``cancel``
  (e.g. the tab was closed) stops the wait and the query at once. How many result bytes a
  user may keep in the dashboard is :mod:`chuangshu.query_results`' business;
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
from collections.abc import Callable, Mapping, Sequence
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
MB = 1024 * 1024
DEFAULT_MAX_BYTES = int(_env_float("CHUANGSHU_QUERY_MAX_MB", 16) * MB)  # one result, in the dashboard's memory
USER_MAX_BYTES = max(DEFAULT_MAX_BYTES, int(_env_float("CHUANGSHU_QUERY_USER_MB", 48) * MB))  # one user's results
TOTAL_MAX_BYTES = max(USER_MAX_BYTES, int(_env_float("CHUANGSHU_QUERY_TOTAL_MB", 256) * MB))  # everybody's
MAX_CONCURRENT = max(1, int(_env_float("CHUANGSHU_QUERY_CONCURRENCY", 8)))
MAX_PER_USER = max(1, int(_env_float("CHUANGSHU_QUERY_PER_USER", 2)))
USER_WAIT_S = max(0.0, _env_float("CHUANGSHU_QUERY_USER_WAIT_S", 1.0))  # a user's extra query waits this long
WORKER_NICE = min(19, max(0, int(_env_float("CHUANGSHU_QUERY_NICE", 10))))  # added to the workers' nice value
WORKER_THREADS = max(1, int(_env_float("CHUANGSHU_QUERY_THREADS", 1)))  # DuckDB threads per worker process
MAX_SQL_CHARS = 100_000
GRACE_S = 1.0  # after the interrupt, how long the worker may take to stop before it is killed
POOL_SIZE = max(1, int(_env_float("CHUANGSHU_QUERY_WORKERS", 2)))  # idle worker processes kept
WORKER_IDLE_S = max(1.0, _env_float("CHUANGSHU_QUERY_WORKER_IDLE_S", 60))  # an idle worker stops after this
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


class QueryCancelled(QueryError):
    """The caller gave up (the page was closed) while the query waited or ran."""

    outcome = "cancelled"


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
MSG_CANCELLED = "查询已取消：页面已关闭或已切换到其他页面"


def msg_user_busy(timeout_s: float) -> str:
    """The message for a user whose own queries already take every slot they may have."""
    return (f"您已有 {MAX_PER_USER} 个查询在运行（每人最多同时运行 {MAX_PER_USER} 个），"
            f"请等其中一个结束（最长约 {timeout_s:g} 秒）后再试")


def msg_too_large(max_bytes: int, rows: int) -> str:
    """The detail shown under a result cut by the byte limit."""
    return (f"结果超过单个结果 {max_bytes / MB:g} MB 的上限，只保留了前 {rows:,} 行。"
            "请减少列数（不要 SELECT *）或加条件缩小范围")


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
    outcome: str = "ok"  # ok, refused, timeout, memory, busy, cancelled, unavailable, error
    max_rows: int = DEFAULT_MAX_ROWS
    timeout_s: float = DEFAULT_TIMEOUT_S
    nbytes: int = 0  # memory the DataFrame holds (Arrow string buffers, numpy arrays)
    released: str | None = None  # why the rows were let go (plain Chinese); None while they are held

    @property
    def ok(self) -> bool:
        return self.error is None

    def release(self, reason: str) -> None:
        """Let go of the rows (a new DataFrame, so nothing keeps the old one's memory); keep the counts."""
        if self.released is None:
            self.df = pd.DataFrame()
            self.nbytes = 0
            self.released = reason

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
_user_done = threading.Condition(_running_lock)  # notified whenever a query ends
_per_user: dict[str, int] = {}  # queries still running per known user (guarded by _running_lock)
POLL_S = 0.2  # how often a waiting call looks at ``cancel``
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
            p for p in (str(_PACKAGE_ROOT), os.environ.get("PYTHONPATH")) if p),
            "CHUANGSHU_THREADS": str(WORKER_THREADS)}  # the dashboard's own connection keeps its threads
        try:
            self.process = subprocess.Popen(
                [sys.executable, "-c", "import sys; from chuangshu.query_worker import main; "
                 "main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))", str(theirs.fileno()),
                 str(WORKER_MEMORY), str(WORKER_NICE)],
                pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, env=env, close_fds=True,
            )
        except BaseException:
            ours.close()
            raise
        finally:
            theirs.close()
        self.conn = Connection(ours.detach())
        self.idle_since = time.monotonic()

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
            worker.idle_since = time.monotonic()
            _idle.append(worker)
            _start_reaper()
            return
    worker.kill()  # a dead, stuck or surplus worker; a fresh one is started when needed


_reaper: threading.Thread | None = None


def _start_reaper() -> None:
    """Start (once; caller holds ``_pool_lock``) the thread that stops workers idle for ``WORKER_IDLE_S``."""
    global _reaper
    if _reaper is None or not _reaper.is_alive():
        _reaper = threading.Thread(target=_reap_idle_workers, name="query-worker-reaper", daemon=True)
        _reaper.start()


def _reap_idle_workers() -> None:
    """A worker keeps what its queries left behind (DuckDB's and the allocators' caches: a fresh one
    is ~150 MB, one after a 500-column result ~240 MB), so idle workers do not stay: after
    ``WORKER_IDLE_S`` without a query they are stopped, and the next query starts a fresh one."""
    while True:
        time.sleep(min(5.0, WORKER_IDLE_S / 2))
        now = time.monotonic()
        with _pool_lock:
            old = [w for w in _idle if now - w.idle_since >= WORKER_IDLE_S]
            for worker in old:
                _idle.remove(worker)
        for worker in old:
            worker.kill()


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
        _user_done.notify_all()


def _cancelled(cancel: Callable[[], bool] | None) -> bool:
    if cancel is None:
        return False
    try:
        return bool(cancel())
    except Exception:  # noqa: BLE001 - a broken probe never stops a query
        return False


def _admit(job: _Job, timeout_s: float, cancel: Callable[[], bool] | None) -> None:
    """Count ``job`` against its user: wait up to ``USER_WAIT_S`` while they already run
    ``MAX_PER_USER`` queries, then turn it away (only this caller's thread waits)."""
    with _user_done:
        if job.user is not None:
            deadline = time.monotonic() + USER_WAIT_S
            while _per_user.get(job.user, 0) >= MAX_PER_USER:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise QueryBusy(msg_user_busy(timeout_s))
                if _cancelled(cancel):
                    raise QueryCancelled(MSG_CANCELLED)
                _user_done.wait(min(left, POLL_S))
            _per_user[job.user] = _per_user.get(job.user, 0) + 1
        _running.add(job)


def _take_slot(timeout_s: float, cancel: Callable[[], bool] | None) -> None:
    """One of the ``MAX_CONCURRENT`` slots, waiting up to ``SLOT_WAIT_S`` (or raise busy)."""
    deadline = time.monotonic() + min(SLOT_WAIT_S, max(timeout_s, 0.1))
    while not _slots.acquire(timeout=max(0.0, min(POLL_S, deadline - time.monotonic()))):
        if _cancelled(cancel):
            raise QueryCancelled(MSG_CANCELLED)
        if time.monotonic() >= deadline:
            raise QueryBusy(f"当前同时运行的查询太多（全站最多 {MAX_CONCURRENT} 个），请稍后再试")


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
    owner: str | None = None,
    cancel: Callable[[], bool] | None = None,
) -> QueryResult:
    """Run one read-only SELECT safely; never raises for anything the user typed.

    ``params`` are bound by DuckDB (``$name`` placeholders; extra values are ignored).
    ``db`` is a :class:`chuangshu.db.PublishedDatabase`, a path, or None for the
    configured database. ``user`` and ``source`` (``adhoc``, ``saved:<name>``,
    ``example:<id>``...) go to the audit log with the outcome. ``owner`` (default: ``user``)
    is whom the per-user limit counts against: at most ``MAX_PER_USER`` queries at once; a
    further one waits up to ``USER_WAIT_S`` for one of them to end, then is turned away.
    ``client`` (e.g. the browser's address) is only recorded. ``scope`` (a community name)
    runs the query on that community's rows only (:func:`chuangshu.scope.scoped`); None is
    the whole database. ``cancel`` is polled while the call waits: when it returns True
    (the page was closed) the query is stopped and the outcome is ``cancelled``.
    """
    owner = user if owner is None else owner
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
        _execute(database, sql, bound, result, timeout_s, max_rows, max_bytes, owner, views, cancel)
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
             max_bytes: int, user: str | None = None, views: Sequence[str] = PUBLIC_VIEWS,
             cancel: Callable[[], bool] | None = None) -> None:
    job = _Job(user)
    _admit(job, timeout_s, cancel)
    try:
        _take_slot(timeout_s, cancel)
        try:
            reply, timed_out = _run_in_worker(database, sql, params, timeout_s, max_rows, max_bytes, cancel)
        finally:
            _slots.release()
    finally:
        _forget(job)
    if reply[0] == "cancelled":
        raise QueryCancelled(MSG_CANCELLED)
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
    _, columns, types, df, truncated, too_large, nbytes = reply
    result.columns, result.types, result.df, result.nbytes = columns, types, df, nbytes
    result.row_count = len(df)
    result.truncated = truncated
    if too_large:
        result.detail = msg_too_large(max_bytes, len(df))


def _run_in_worker(database: Any, sql: str, params: Any, timeout_s: float, max_rows: int,
                   max_bytes: int, cancel: Callable[[], bool] | None = None) -> tuple[tuple, bool]:
    """Run the query in a worker process: (its reply, whether it was interrupted).

    At the time limit — or as soon as ``cancel`` says so (reply ``("cancelled",)``) — the
    worker is told to interrupt the query; if it has not answered ``GRACE_S`` later it is
    killed (and replaced on next use). A worker that dies — the address-space limit, the
    kernel's OOM killer — is a memory failure.
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
            if not _wait_reply(worker.conn, START_WAIT_S, cancel):
                if _cancelled(cancel):  # the worker is killed (not healthy): it may be about to start the query
                    raise QueryCancelled(MSG_CANCELLED)
                log.error("query worker did not start within %.0fs", START_WAIT_S)
                raise QueryBusy("服务器繁忙：查询进程未能及时启动，请稍后再试")
            reply = worker.conn.recv()
            if reply[0] == "started":
                cancelled = False
                if not _wait_reply(worker.conn, timeout_s, cancel):
                    cancelled = _cancelled(cancel)
                    timed_out = not cancelled
                    worker.conn.send(("interrupt",))
                    if not worker.conn.poll(GRACE_S):
                        # The engine did not stop (e.g. one huge value being built): kill it.
                        log.warning("query still running %.1fs after its limit; worker killed", GRACE_S)
                        if cancelled:
                            raise QueryCancelled(MSG_CANCELLED)
                        raise QueryTimeout(_timeout_message(timeout_s))
                reply = worker.conn.recv()
                if cancelled:
                    healthy = True
                    return ("cancelled",), False
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


def _wait_reply(conn: Connection, timeout_s: float, cancel: Callable[[], bool] | None) -> bool:
    """Wait up to ``timeout_s`` for the worker's answer; False at the limit or once ``cancel`` is true."""
    if cancel is None:
        return conn.poll(timeout_s)
    deadline = time.monotonic() + timeout_s
    while True:
        left = deadline - time.monotonic()
        if conn.poll(max(0.0, min(POLL_S, left))):
            return True
        if left <= POLL_S or _cancelled(cancel):
            return False


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
