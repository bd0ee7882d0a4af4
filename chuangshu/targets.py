"""Administrators' edits of the 考核 targets: a versioned overlay in the local state folder, audited.

The defaults are reference data (data/reference/targets.csv → the ``targets`` view), versioned with
the code and reloaded into the analytics database by every load. An administrator's edit on the
目标设置 page must survive those loads (the database file is replaced), apply without a restart and be
seen by every other session at once, so it is kept apart, in ``<local state>/assessment/targets.json``:

* the file holds the current overlay — one entry per target key (metric, scope kind, scope, period),
  with who set it, when, and the default it replaced — and a version number that every save
  increments; it is rewritten atomically (temporary file, fsync, ``os.replace``) under a lock, and a
  save made against an older version is refused (two administrators never overwrite each other
  unknowingly);
* every change (set, remove) is appended to the audit trail ``<local state>/audit/targets.jsonl``
  (chuangshu.audit): who, when, from where, the key, the old and the new value;
* :func:`load` reads the file again whenever its size or modification time changed (one ``stat`` per
  call), so other sessions and processes see a save on their next run; pages pass the overlay to the
  metric layer as an argument, so cached results are keyed by it.

An edit wins over the default of the same key: it is the office's explicit, audited decision made in
the running system, and deploying a new targets.csv must not silently undo it. When the default of
an edited key has changed since the edit (``base`` differs from the current default), the 目标设置
page says so next to it, and 「恢复默认」 removes the edit. docs/assessment.md explains the whole scheme.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from chuangshu import audit
from chuangshu.auth import User
from chuangshu.paths import local_state_dir
from etl.api import PERIODS, SCOPE_KINDS, SOURCES

try:  # POSIX: serialise writers in other processes too
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

SUBDISTRICT = "街道"  # scope_kind of a target for the whole sub-district (scope empty)


class TargetEditError(ValueError):
    """A target edit that cannot be saved; the message says why in Chinese."""


class NotAllowed(PermissionError):
    """Someone without the 目标设置 permission tried to change a target (Chinese message)."""


@dataclass(frozen=True)
class Override:
    """One administrator's target: the key (metric, scope kind, scope, period), the value, and its history."""

    metric: str
    scope_kind: str
    scope: str
    period: str
    target: float
    source: str
    note: str = ""
    edited_by: str = ""
    edited_at: str = ""
    base: float | None = None  # the default (targets.csv) this edit replaced, None if there was none

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.metric, self.scope_kind, self.scope, self.period)


@dataclass(frozen=True)
class Overlay:
    """The overlay as saved: its version (0 = never saved) and the entries, in key order."""

    version: int = 0
    entries: tuple[Override, ...] = field(default_factory=tuple)

    def get(self, key: tuple[str, str, str, str]) -> Override | None:
        return next((e for e in self.entries if e.key == key), None)


NO_OVERLAY = Overlay()
_lock = threading.Lock()
_cache: dict[Path, tuple[tuple[int, int], Overlay]] = {}


def path() -> Path:
    """Where the overlay lives (created on the first save)."""
    return local_state_dir() / "assessment" / "targets.json"


def audit_path() -> Path:
    """The audit trail of target changes, beside the other audit logs."""
    return local_state_dir() / "audit" / "targets.jsonl"


def _read(file: Path) -> Overlay:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return NO_OVERLAY
    entries = []
    for e in data.get("entries", []):
        try:
            entries.append(Override(metric=str(e["metric"]), scope_kind=str(e["scope_kind"]),
                                    scope=str(e.get("scope") or ""), period=str(e["period"]),
                                    target=float(e["target"]), source=str(e["source"]), note=str(e.get("note") or ""),
                                    edited_by=str(e.get("edited_by") or ""), edited_at=str(e.get("edited_at") or ""),
                                    base=None if e.get("base") is None else float(e["base"])))
        except (KeyError, TypeError, ValueError):
            continue  # a hand-edited entry that cannot be read is skipped, never fatal
    return Overlay(int(data.get("version", 0)), tuple(sorted(entries, key=lambda o: o.key)))


def load(file: Path | None = None) -> Overlay:
    """The current overlay (read again when the file changed: other sessions' saves show at once)."""
    file = file or path()
    try:
        st = os.stat(file)
        stamp = (st.st_mtime_ns, st.st_size)
    except FileNotFoundError:
        return NO_OVERLAY
    with _lock:
        hit = _cache.get(file)
        if hit is not None and hit[0] == stamp:
            return hit[1]
    overlay = _read(file)
    with _lock:
        _cache[file] = (stamp, overlay)
    return overlay


@contextmanager
def _locked(file: Path) -> Iterator[None]:
    file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(file.with_suffix(".lock"), os.O_WRONLY | os.O_CREAT, 0o640)
    try:
        if fcntl is not None:
            fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _write(file: Path, overlay: Overlay) -> None:
    data = {"version": overlay.version, "entries": [asdict(e) for e in overlay.entries]}
    tmp = file.with_suffix(f".tmp{os.getpid()}")
    with open(tmp, "w", encoding="utf-8") as fh:
        json.dump(data, fh, ensure_ascii=False, indent=1)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, file)


def _check(user: User | None) -> User:
    if user is None or not user.can("targets"):
        role = "未登录" if user is None else {"viewer": "查看者", "analyst": "分析员"}.get(user.role, user.role)
        raise NotAllowed(f"您的账号（{role}）没有“目标设置”权限：只有街道办管理员可以修改考核目标。")
    return user


def _validate(metric: str, scope_kind: str, scope: str, period: str, target: float, source: str,
              targetable: dict[str, str]) -> None:
    if metric not in targetable:
        raise TargetEditError(f"指标“{metric}”不能设置目标")
    if scope_kind not in SCOPE_KINDS:
        raise TargetEditError(f"范围“{scope_kind}”无效，应为 {'、'.join(SCOPE_KINDS)} 之一")
    if (scope_kind == SUBDISTRICT) != (not scope):
        raise TargetEditError("范围为街道时不填名称；同类组或社区需要选择名称")
    if period not in PERIODS:
        raise TargetEditError(f"考核期“{period}”无效，应为 {'、'.join(PERIODS)} 之一")
    if source not in SOURCES:
        raise TargetEditError(f"来源“{source}”无效，应为 {'、'.join(SOURCES)} 之一")
    if not isinstance(target, (int, float)) or not math.isfinite(target) or target < 0:
        raise TargetEditError("目标值应为不小于 0 的数字")
    if targetable[metric] == "rate" and target > 100:
        raise TargetEditError("比率的目标按百分数填写，不能超过 100")


def set_target(user: User | None, *, metric: str, scope_kind: str, scope: str, period: str, target: float,
               source: str, note: str = "", base: float | None, expected_version: int,
               targetable: dict[str, str], client: str | None = None, file: Path | None = None,
               now: dt.datetime | None = None) -> Overlay:
    """Save one target (admins only), audited; refused when the overlay changed since ``expected_version``.

    ``targetable`` maps each metric that may have a target to its kind (the metric registry's, passed
    in so this module stays free of the metric layer); ``base`` is the current default of the key.
    """
    user = _check(user)
    scope = (scope or "").strip()
    _validate(metric, scope_kind, scope, period, target, source, targetable)
    file = file or path()
    when = (now or dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    with _locked(file):
        current = _read(file)
        if current.version != expected_version:
            raise TargetEditError("目标在您打开本页后已被其他管理员修改，请刷新页面、核对后再保存。")
        entry = Override(metric, scope_kind, scope, period, float(target), source, (note or "").strip()[:200],
                         user.username, when, base)
        old = current.get(entry.key)
        entries = tuple(sorted([e for e in current.entries if e.key != entry.key] + [entry], key=lambda o: o.key))
        saved = Overlay(current.version + 1, entries)
        _write(file, saved)
        _audit("set", user, entry, old, saved.version, client, when)
    return saved


def remove_target(user: User | None, key: tuple[str, str, str, str], *, expected_version: int,
                  client: str | None = None, file: Path | None = None, now: dt.datetime | None = None) -> Overlay:
    """Remove one administrator's target (the default applies again), audited; admins only."""
    user = _check(user)
    file = file or path()
    when = (now or dt.datetime.now().astimezone()).isoformat(timespec="seconds")
    with _locked(file):
        current = _read(file)
        if current.version != expected_version:
            raise TargetEditError("目标在您打开本页后已被其他管理员修改，请刷新页面、核对后再保存。")
        old = current.get(key)
        if old is None:
            raise TargetEditError("这项目标没有被修改过，无需恢复默认。")
        saved = Overlay(current.version + 1, tuple(e for e in current.entries if e.key != key))
        _write(file, saved)
        _audit("remove", user, replace(old, edited_by=user.username, edited_at=when), old, saved.version, client,
               when)
    return saved


def _audit(action: str, user: User, entry: Override, old: Override | None, version: int, client: str | None,
           when: str) -> None:
    record: dict[str, Any] = {
        "when": when, "action": action, "user": user.username, "client": client, "version": version,
        "metric": entry.metric, "scope_kind": entry.scope_kind, "scope": entry.scope, "period": entry.period,
        "old": None if old is None else {"target": old.target, "source": old.source, "note": old.note},
        "new": None if action == "remove" else {"target": entry.target, "source": entry.source, "note": entry.note},
        "default": entry.base,
    }
    audit.append(record, audit_path())


def history(limit: int | None = 200) -> list[dict]:
    """The last ``limit`` target changes, newest first."""
    return list(reversed(audit.read_entries(limit, audit_path())))
