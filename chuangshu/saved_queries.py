"""Saved ad-hoc queries: name, description, SQL and declared parameters.

Stored as one JSON file under :func:`chuangshu.paths.local_state_dir` (never in the
analytics database, so reloading the database never loses them). Writes are atomic
(temporary file + ``os.replace``) and serialised across threads and processes.

Parameters are DuckDB ``$name`` placeholders, declared with a label and a type; values
come from widgets or from a shared link (``?q=<name>&p.community=...``), are converted to
the declared type here and bound by the engine in :func:`chuangshu.query_runner.run_query`
— never spliced into the SQL text.

Each saved query has an **owner** (the user name that saved it first; None = the office) and a
**scope** (the community of a community-scoped author; None = the whole sub-district):

* :func:`can_see` — a sub-district query is visible to every analyst (a community analyst
  runs it in their own scope); a community's query only to that community's users and to
  admins, unless an admin **shares** it (:meth:`SavedQueryStore.share`), which makes it
  visible to everyone;
* :func:`can_change` — only its owner (in the same scope) or an admin may overwrite or
  delete it; an owner's edit of a shared query withdraws the share until an admin shares
  it again (so nobody can change what everyone runs without an admin seeing it);
* queries saved before owners existed (no ``owner`` field) belong to the office.

Every save, overwrite, delete, share and unshare made for a signed-in user is written to the
audit log of saved queries (:func:`chuangshu.audit.record_event`). Descriptions are shown as
plain text (never Markdown): see :mod:`chuangshu.query_ui`.
"""
from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import re
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from chuangshu import audit
from chuangshu.auth import User
from chuangshu.paths import local_state_dir
from chuangshu.query_runner import (
    QueryError,
    QueryResult,
    check_sql,
    run_query,
    statement_parameters,
)

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

PARAM_TYPES = {
    "text": "文本",
    "int": "整数",
    "float": "小数",
    "date": "日期",
    "bool": "是/否",
    "choice": "下拉选择",
}
# The options SELECT the save form suggests for a "choice" parameter with a well-known name.
SUGGESTED_OPTIONS_SQL = {"community": "SELECT community FROM communities ORDER BY community"}
NAME_MAX = 60
DESCRIPTION_MAX = 2_000
OFFICE = "街道办"  # who owns a query without an owner (saved before owners existed, or by the local user)
SHARE_PREFIX = "p."  # URL parameter prefix for query parameter values
_PARAM_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_lock = threading.Lock()


class SavedQueryError(ValueError):
    """A saved query or a parameter value is not acceptable; the message is Chinese."""


@dataclass
class Param:
    name: str  # the $name in the SQL
    label: str = ""  # shown next to the widget
    type: str = "text"  # one of PARAM_TYPES
    default: Any = None
    options: list[Any] | None = None  # fixed choices for type "choice"
    options_sql: str | None = None  # or a SELECT whose first column gives the choices
    help: str = ""

    def to_dict(self) -> dict:
        d = asdict(self)
        if isinstance(self.default, (dt.date, dt.datetime)):
            d["default"] = self.default.isoformat()
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Param:
        known = {k: d[k] for k in ("name", "label", "type", "default", "options",
                                   "options_sql", "help") if k in d}
        return cls(**known)


@dataclass
class SavedQuery:
    name: str
    sql: str
    description: str = ""
    params: list[Param] = field(default_factory=list)
    author: str | None = None  # who saved it last
    created_at: str = ""
    updated_at: str = ""
    owner: str | None = None  # user name of its author; None = the office (also: saved before owners existed)
    scope: str | None = None  # the author's community; None = the whole sub-district
    shared_by: str | None = None  # the admin who shared a community's query with everyone
    shared_at: str = ""

    def to_dict(self) -> dict:
        return {
            "name": self.name, "description": self.description, "sql": self.sql,
            "params": [p.to_dict() for p in self.params], "author": self.author,
            "created_at": self.created_at, "updated_at": self.updated_at,
            "owner": self.owner, "scope": self.scope, "shared_by": self.shared_by, "shared_at": self.shared_at,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> SavedQuery:
        """A stored query; one from before owners (no ``owner`` field) belongs to the office, whole sub-district."""
        return cls(
            name=d["name"], sql=d["sql"], description=d.get("description", ""),
            params=[Param.from_dict(p) for p in d.get("params", [])],
            author=d.get("author"), created_at=d.get("created_at", ""),
            updated_at=d.get("updated_at", ""),
            owner=d.get("owner"), scope=d.get("scope"),
            shared_by=d.get("shared_by"), shared_at=d.get("shared_at", ""),
        )

    def param(self, name: str) -> Param | None:
        return next((p for p in self.params if p.name == name), None)

    @property
    def shared(self) -> bool:
        return self.scope is not None and self.shared_by is not None

    def describe_owner(self) -> str:
        """「张三 · 桂南社区 · 已由管理员 boss 共享给全街道」, for the page."""
        parts = [self.owner or OFFICE, self.scope or "全街道"]
        if self.shared:
            parts.append(f"已由管理员 {self.shared_by} 共享给全街道")
        return " · ".join(parts)


# --------------------------------------------------------------------------- who may see and change


def can_see(query: SavedQuery, user: User) -> bool:
    """Sub-district and shared queries: every analyst; a community's query: its community and admins."""
    return user.role == "admin" or query.scope is None or query.shared or query.scope == user.community


def can_change(query: SavedQuery, user: User) -> bool:
    """Overwrite or delete: an admin, or the query's owner within the same scope."""
    if user.role == "admin":
        return True
    return query.owner is not None and query.owner == user.username and query.scope == user.community


def owner_of(user: User) -> str | None:
    """The owner recorded for a query ``user`` saves (None: the office, for the single local user)."""
    return None if user.method == "local" else user.username


# --------------------------------------------------------------------------- values


def coerce(param: Param, raw: Any) -> Any:
    """Convert a widget or URL value to the parameter's declared type (raises SavedQueryError)."""
    label = param.label or param.name
    if raw is None or (isinstance(raw, str) and raw.strip() == ""):
        if param.default is not None and str(param.default).strip() != "":
            return coerce(param, param.default)
        raise SavedQueryError(f"请填写参数“{label}”")
    try:
        if param.type == "int":
            if isinstance(raw, bool):
                raise ValueError
            if isinstance(raw, float) and not raw.is_integer():
                raise ValueError
            return int(str(raw).strip()) if isinstance(raw, str) else int(raw)
        if param.type == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(str(raw).strip()) if isinstance(raw, str) else float(raw)
        if param.type == "date":
            if isinstance(raw, dt.datetime):
                return raw.date()
            if isinstance(raw, dt.date):
                return raw
            return dt.date.fromisoformat(str(raw).strip()[:10])
        if param.type == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in {"1", "true", "yes", "y", "是", "t"}:
                return True
            if text in {"0", "false", "no", "n", "否", "f"}:
                return False
            raise ValueError
        value = raw if isinstance(raw, str) else str(raw)
        if param.type == "choice" and param.options and value not in [str(o) for o in param.options]:
            raise SavedQueryError(f"参数“{label}”只能取：{'、'.join(map(str, param.options))}")
        return value
    except SavedQueryError:
        raise
    except (TypeError, ValueError, OverflowError):
        kind = PARAM_TYPES.get(param.type, param.type)
        raise SavedQueryError(f"参数“{label}”应为{kind}，收到的是“{raw}”") from None


def bind_values(query: SavedQuery, raw: Mapping[str, Any]) -> dict[str, Any]:
    """Typed values for every declared parameter (defaults where ``raw`` has none)."""
    return {p.name: coerce(p, raw.get(p.name)) for p in query.params}


def guess_value(raw: str) -> Any:
    """For undeclared ``$name`` in ad-hoc SQL: int, float or ISO date if it looks like one."""
    text = raw.strip()
    if re.fullmatch(r"[+-]?\d{1,18}", text):
        return int(text)
    if re.fullmatch(r"[+-]?(\d+\.\d*|\.\d+)", text):
        return float(text)
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return dt.date.fromisoformat(text)
        except ValueError:
            return raw
    return raw


# --------------------------------------------------------------------------- validation


def validate(query: SavedQuery) -> None:
    """Raise SavedQueryError unless ``query`` can be saved: a single SELECT, sane name,
    and parameters that match the ``$name`` placeholders exactly."""
    name = (query.name or "").strip()
    if not name:
        raise SavedQueryError("请填写查询名称")
    if len(name) > NAME_MAX:
        raise SavedQueryError(f"查询名称不能超过 {NAME_MAX} 个字")
    if any(ord(ch) < 32 for ch in name):
        raise SavedQueryError("查询名称不能包含控制字符")
    if len(query.description or "") > DESCRIPTION_MAX:
        raise SavedQueryError(f"说明不能超过 {DESCRIPTION_MAX:,} 个字")
    try:
        check_sql(query.sql)
    except QueryError as exc:
        raise SavedQueryError(f"SQL 不能保存：{exc.message}") from None
    used = set(statement_parameters(query.sql))
    declared = [p.name for p in query.params]
    bad = [n for n in declared if not _PARAM_NAME.match(n or "")]
    if bad:
        raise SavedQueryError(f"参数名只能用英文字母、数字和下划线：{'、'.join(bad)}")
    if len(set(declared)) != len(declared):
        raise SavedQueryError("参数名重复")
    missing = sorted(used - set(declared))
    if missing:
        raise SavedQueryError(f"SQL 中的参数没有声明：{'、'.join('$' + n for n in missing)}")
    unused = sorted(set(declared) - used)
    if unused:
        raise SavedQueryError(f"声明的参数没有在 SQL 中使用：{'、'.join('$' + n for n in unused)}")
    for p in query.params:
        if p.type not in PARAM_TYPES:
            raise SavedQueryError(f"参数“{p.name}”的类型不支持：{p.type}")
        if p.options_sql:
            try:
                check_sql(p.options_sql)
            except QueryError as exc:
                raise SavedQueryError(f"参数“{p.name}”的选项 SQL 不能用：{exc.message}") from None
        if p.default not in (None, ""):
            coerce(p, p.default)


# --------------------------------------------------------------------------- storage


def store_path() -> Path:
    return local_state_dir() / "saved_queries.json"


class SavedQueryStore:
    """The saved queries in one JSON file (default: local state folder)."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = Path(path) if path else store_path()

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with _lock:
            if fcntl is None:
                yield
                return
            with open(self.path.with_suffix(".lock"), "a") as fh:
                fcntl.flock(fh, fcntl.LOCK_EX)
                try:
                    yield
                finally:
                    fcntl.flock(fh, fcntl.LOCK_UN)

    def _read(self) -> dict[str, SavedQuery]:
        if not self.path.exists():
            return {}
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as exc:
            raise SavedQueryError(f"常用查询文件无法读取：{self.path.name}") from exc
        return {d["name"]: SavedQuery.from_dict(d) for d in data.get("queries", [])}

    def _write(self, queries: dict[str, SavedQuery]) -> None:
        payload = {"version": 2, "queries": [q.to_dict() for q in queries.values()]}
        text = json.dumps(payload, ensure_ascii=False, indent=2)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".saved_queries.", suffix=".tmp")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(text)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def list(self, user: User | None = None) -> list[SavedQuery]:
        """The saved queries ``user`` may see (all without a user: trusted callers), by name."""
        return sorted((q for q in self._read().values() if user is None or can_see(q, user)), key=lambda q: q.name)

    def get(self, name: str, user: User | None = None) -> SavedQuery | None:
        """The query called ``name`` if ``user`` may see it (no user: trusted callers)."""
        query = self._read().get(name)
        return query if query is not None and (user is None or can_see(query, user)) else None

    def save(self, query: SavedQuery, *, overwrite: bool = False, user: User | str | None = None,
             client: str | None = None) -> SavedQuery:
        """Validate and store ``query``; refuses to replace an existing name unless ``overwrite``.

        With a signed-in ``user`` (a :class:`User`): a new query gets them as owner and their
        community as scope; an existing one may be replaced only if they may change it
        (:func:`can_change`), keeps its owner and scope, and loses its share unless they are an
        admin; the change is audited. A plain name (scripts, tests) is trusted and only recorded
        as the author.
        """
        query.name = query.name.strip()
        validate(query)
        now = dt.datetime.now().astimezone().isoformat(timespec="seconds")
        with self._locked():
            queries = self._read()
            old = queries.get(query.name)
            if isinstance(user, User):
                _check_save(old, query.name, overwrite, user)
                if old is None:
                    query.owner, query.scope = owner_of(user), user.community
                    query.shared_by, query.shared_at = None, ""
                else:
                    query.owner, query.scope = old.owner, old.scope
                    keep = user.role == "admin"
                    query.shared_by, query.shared_at = (old.shared_by, old.shared_at) if keep else (None, "")
                query.author = owner_of(user)
            else:
                if old is not None and not overwrite:
                    raise SavedQueryError(f"已有名为“{query.name}”的常用查询")
                if user and not query.author:
                    query.author = user
            query.created_at = old.created_at if old else (query.created_at or now)
            query.updated_at = now
            queries[query.name] = query
            self._write(queries)
        if isinstance(user, User):
            unshared = old is not None and old.shared and not query.shared
            audit.record_event("overwrite" if old else "save", user=user.username, client=client, name=query.name,
                               scope=query.scope, owner=query.owner, sql=query.sql, unshared=unshared or None)
        return query

    def delete(self, name: str, user: User | None = None, *, client: str | None = None) -> bool:
        """Remove ``name``; False if there is none (or ``user`` may not see it). Only its owner or an admin."""
        with self._locked():
            queries = self._read()
            query = queries.get(name)
            if query is None or (user is not None and not can_see(query, user)):
                return False
            if user is not None and not can_change(query, user):
                raise SavedQueryError(_not_yours(query))
            del queries[name]
            self._write(queries)
        if user is not None:
            audit.record_event("delete", user=user.username, client=client, name=name, scope=query.scope,
                               owner=query.owner, sql=query.sql)
        return True

    def share(self, name: str, user: User, shared: bool = True, *, client: str | None = None) -> SavedQuery:
        """An admin shares a community's query with every analyst (or withdraws the share); audited."""
        if user.role != "admin":
            raise SavedQueryError("只有管理员可以共享常用查询")
        with self._locked():
            queries = self._read()
            query = queries.get(name)
            if query is None:
                raise SavedQueryError(f"找不到名为“{name}”的常用查询")
            if query.scope is None:
                raise SavedQueryError("全街道的常用查询本来就对所有分析员可见，不需要共享")
            if shared:
                query.shared_by = owner_of(user) or OFFICE
                query.shared_at = dt.datetime.now().astimezone().isoformat(timespec="seconds")
            else:
                query.shared_by, query.shared_at = None, ""
            self._write(queries)
        audit.record_event("share" if shared else "unshare", user=user.username, client=client, name=name,
                           scope=query.scope, owner=query.owner, sql=query.sql)
        return query


def _not_yours(query: SavedQuery) -> str:
    return (f"“{query.name}”由{query.owner or OFFICE}保存，只有作者本人或管理员可以修改或删除；"
            "如需改动，请换一个名称另存")


def _check_save(old: SavedQuery | None, name: str, overwrite: bool, user: User) -> None:
    """Raise SavedQueryError unless ``user`` may save under ``name`` (over ``old``, if any)."""
    if old is None:
        return
    if not can_see(old, user):  # another community's query: say no more than that the name is taken
        raise SavedQueryError(f"名称“{name}”已被其他社区的常用查询使用，请换一个名称")
    if not overwrite:
        raise SavedQueryError(f"已有名为“{name}”的常用查询")
    if not can_change(old, user):
        raise SavedQueryError(_not_yours(old))


# --------------------------------------------------------------------------- running and sharing


def run_saved(query: SavedQuery | str, values: Mapping[str, Any] | None = None, *,
              store: SavedQueryStore | None = None, **run_kwargs: Any) -> QueryResult:
    """Run a saved query with ``values`` (raw or typed; converted and bound, never spliced)."""
    if isinstance(query, str):
        found = (store or SavedQueryStore()).get(query)
        if found is None:
            return QueryResult(sql="", error=f"找不到名为“{query}”的常用查询", outcome="error")
        query = found
    try:
        bound = bind_values(query, values or {})
    except SavedQueryError as exc:
        return QueryResult(sql=query.sql, error=str(exc), outcome="error")
    run_kwargs.setdefault("source", f"saved:{query.name}")
    return run_query(query.sql, bound, **run_kwargs)


def suggested_options_sql(name: str) -> str:
    """The options SELECT to offer for a parameter called ``name`` when saving a query ("" if none)."""
    return SUGGESTED_OPTIONS_SQL.get(name, "")


def options_for(param: Param, **run_kwargs: Any) -> list[Any]:
    """Choices for a "choice" parameter: its fixed list, or its SELECT's first column."""
    if param.options:
        return list(param.options)
    if param.options_sql:
        run_kwargs.setdefault("source", f"options:{param.name}")
        run_kwargs.setdefault("max_rows", 1000)
        result = run_query(param.options_sql, **run_kwargs)
        if result.ok and len(result.df.columns):
            return [v for v in result.df.iloc[:, 0].tolist() if v is not None]
    return []


def _url_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()[:10]
    return str(value)


def share_params(name: str, values: Mapping[str, Any] | None = None) -> dict[str, str]:
    """URL query parameters that reopen saved query ``name`` with ``values``."""
    out = {"q": name}
    for key, value in (values or {}).items():
        if value is not None:
            out[SHARE_PREFIX + key] = _url_value(value)
    return out


def share_query_string(name: str, values: Mapping[str, Any] | None = None) -> str:
    """``q=<name>&p.<param>=<value>...``, URL-encoded (append to the page's address after ``?``)."""
    return urlencode(share_params(name, values))


def parse_share_params(query_params: Mapping[str, Any]) -> tuple[str | None, dict[str, str]]:
    """(saved query name, raw parameter values) from a page's URL query parameters."""
    def one(v: Any) -> str:
        return v[-1] if isinstance(v, (list, tuple)) and v else str(v)

    name = one(query_params["q"]) if "q" in query_params else None
    values = {k[len(SHARE_PREFIX):]: one(v) for k, v in query_params.items()
              if k.startswith(SHARE_PREFIX) and len(k) > len(SHARE_PREFIX)}
    return name, values
