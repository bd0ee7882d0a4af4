"""One file through check → extract → find header → normalise/validate, without touching the database.

A file is isolated from the others: whatever goes wrong while reading or parsing it (a refusal
by the limits, an unreadable workbook, its time budget spent, or an error nobody foresaw) comes
back as ``ParsedFile.error`` with a Chinese reason, logged with its traceback on the server side,
and never stops the files after it.
"""
from __future__ import annotations

import errno
import hashlib
import logging
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl.budget import budget, on_time
from etl.errors import LedgerError, Problem
from etl.extract import read_sheets
from etl.header import HeaderMatch, find_header, grid_rows, is_template_sheet
from etl.kinds import BY_NAME, LedgerKind
from etl.limits import LIMITS, Limits, check_file, check_grid
from etl.normalise import is_blank
from etl.reference import Reference
from etl.scratch import table as scratch_table
from etl.transform import Rows, StorageTypeError, sheet_region, transform

log = logging.getLogger(__name__)


TEMPLATE_NOTE = "模板说明（不含数据，已跳过）"


@dataclass
class Reject:
    """A row (or a whole sheet/file when row_number is None) that was not taken, and why."""

    sheet: str | None
    row_number: int | None
    kind: str | None
    problems: list[Problem]

    def reason(self) -> str:
        return "；".join(p.message() for p in self.problems)


@dataclass
class ParsedFile:
    """Everything one file gives: records per ledger kind (Arrow tables: the kind's stored columns
    in their storage types, source_row and source_sheet), rejects, and counts."""

    path: Path
    content_hash: str
    records: dict[str, pa.Table] = field(default_factory=dict)
    rejects: list[Reject] = field(default_factory=list)
    rows_read: int = 0
    sheets: list[tuple[str | None, str]] = field(default_factory=list)  # (sheet, kind or note)
    error: Problem | None = None
    headers: dict[str | None, HeaderMatch] = field(default_factory=dict)  # sheet -> header row and columns

    @property
    def name(self) -> str:
        return self.path.name

    @property
    def kinds(self) -> list[str]:
        return sorted(self.records)


def content_hash(data: bytes) -> str:
    """SHA-256 of the file's bytes: the same file sent twice is recognised by it."""
    return hashlib.sha256(data).hexdigest()


def parse_file(path: Path, ref: Reference, today: date | None = None, data: bytes | None = None,
               digest: str | None = None, limits: Limits | None = LIMITS) -> ParsedFile:
    """Parse one ledger file (``digest``: content_hash(data) if already known); never raises.

    With ``limits`` (the default), the file is first checked against them (etl/limits.py) and
    parsed within their time budget; ``limits=None`` (the office's ``--no-limits``) skips both.
    A file that cannot be read or is refused comes back with ``error`` set and nothing else.
    """
    today = today or date.today()
    if data is None:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            log.warning("cannot open %s: %s", path, exc)
            return ParsedFile(Path(path), digest or "", error=Problem("file_open_failed", {"detail": _os_reason(exc)}))
    parsed = ParsedFile(Path(path), digest or content_hash(data))
    try:
        with budget(limits.seconds if limits is not None else None):
            if limits is not None:
                check_file(Path(path).name, data, limits)
            _parse_sheets(parsed, data, ref, today, limits)
    except LedgerError as exc:
        return _failed(parsed, exc.problem)
    except StorageTypeError:  # values the database cannot hold: the file as a whole is refused
        log.exception("storing %s failed", Path(path).name)
        return _failed(parsed, Problem("file_failed", {"detail": "文件内容无法转换为数据库格式"}))
    except Exception as exc:  # noqa: BLE001 - one file's surprise must not stop the others
        log.exception("parsing %s failed", Path(path).name)
        return _failed(parsed, Problem("file_failed", {"detail": _unexpected_reason(exc)}))
    return parsed


def _parse_sheets(parsed: ParsedFile, data: bytes, ref: Reference, today: date, limits: Limits | None) -> None:
    """Every sheet through grid checks → header → region → transform, then duplicates across sheets."""
    frames: dict[str, list[pa.Table]] = {}
    sheet_rows: dict[str, list[tuple[str | None, Rows]]] = {}  # sheets read as rows, per kind: transformed together
    rejects: list[tuple[int, Reject]] = []  # (sheet number, reject): listed in sheet order, as the sheets come
    numbers: dict[str, list[int]] = {}  # sheet numbers of sheet_rows
    no_header: list[tuple[str | None, str]] = []
    for number, raw in enumerate(read_sheets(parsed.path, data, limits)):
        on_time()
        if limits is not None:
            check_grid(raw.sheet, raw.grid, limits)
        head = grid_rows(raw.grid)
        if not any(not is_blank(c) for row in head for c in row) and _all_blank(raw.grid):
            parsed.sheets.append((raw.sheet, "空工作表"))
            continue
        if is_template_sheet(head):  # the template's instructions and drop-down lists
            parsed.sheets.append((raw.sheet, TEMPLATE_NOTE))
            continue
        match, why = find_header(head)
        if match is None:
            no_header.append((raw.sheet, why))
            continue
        on_time()
        parsed.headers[raw.sheet] = match
        region = sheet_region(raw.grid, match)
        parsed.sheets.append((raw.sheet, match.kind.name))
        if isinstance(region, Rows):  # a workbook's sheet: with the kind's other sheets, after the loop
            parsed.rows_read += len(region)
            sheet_rows.setdefault(match.kind.name, []).append((raw.sheet, region))
            numbers.setdefault(match.kind.name, []).append(number)
            continue
        on_time()
        result = transform(region, match.kind, ref, today)
        parsed.rows_read += result.rows_read
        sheet = pa.array([raw.sheet] * result.records.num_rows, pa.large_string())
        frames.setdefault(match.kind.name, []).append(result.records.append_column("source_sheet", sheet))
        rejects.extend((number, Reject(raw.sheet, row, match.kind.name, problems))
                       for row, problems in result.rejects)
    for name, parts in sheet_rows.items():  # one transform per kind and file: the same records and rejects
        on_time()
        joined = Rows.join(parts)
        result = transform(joined, BY_NAME[name], ref, today)
        frames.setdefault(name, []).append(result.records)
        for pos, (row, problems) in zip(result.reject_positions, result.rejects):
            index = joined.sheet_index(pos)
            rejects.append((numbers[name][index], Reject(parts[index][0], row, name, problems)))
    rejects.sort(key=lambda item: item[0])  # stable: each sheet's rejects keep their order
    parsed.rejects.extend(reject for _, reject in rejects)
    if not frames:
        detail = no_header[0][1] if no_header else "文件中没有任何内容"
        raise LedgerError("file_no_header", detail=detail)
    for sheet, why in no_header:
        parsed.rejects.append(Reject(sheet, None, None, [Problem("sheet_no_header", {"detail": why})]))
        parsed.sheets.append((sheet, "未识别"))
    for name, parts in frames.items():
        on_time()
        combined = pa.concat_tables(parts) if len(parts) > 1 else parts[0]
        parsed.records[name] = _drop_duplicates(combined, BY_NAME[name], parsed)


def _failed(parsed: ParsedFile, problem: Problem) -> ParsedFile:
    """The file as unreadable: its problem and nothing half-parsed."""
    return ParsedFile(parsed.path, parsed.content_hash, error=problem)


OS_REASONS = {errno.ENOENT: "文件不存在", errno.EACCES: "没有读取权限", errno.EPERM: "没有读取权限",
              errno.EISDIR: "这是一个文件夹", errno.EIO: "磁盘读取错误", errno.ENOSPC: "磁盘空间不足"}


def _os_reason(exc: OSError) -> str:
    """An OS error in words a clerk or the office can act on (no path, no English)."""
    return OS_REASONS.get(exc.errno or 0, f"系统错误 {errno.errorcode.get(exc.errno or 0, exc.errno)}")


def _unexpected_reason(exc: Exception) -> str:
    """A short Chinese category for an exception nobody foresaw (the traceback goes to the log)."""
    if isinstance(exc, MemoryError):
        return "内存不足，文件可能过大"
    if isinstance(exc, UnicodeError):
        return "文字编码无法识别"
    if isinstance(exc, OSError):
        return _os_reason(exc)
    return "文件结构异常，系统无法处理"


def _all_blank(grid: object) -> bool:
    """True when every cell of a sheet is blank; linear in the cells, stops at the first value."""
    if isinstance(grid, pd.DataFrame):
        for column in grid.columns:
            values = grid[column]
            if pd.api.types.is_string_dtype(values.dtype) and values.dtype != object:
                if not values.isna().all() and (values.str.strip().fillna("") != "").any():
                    if not all(is_blank(v) for v in values.dropna().unique()):
                        return False
            elif not all(is_blank(v) for v in np.asarray(values, dtype=object)):
                return False
        return True
    return all(is_blank(c) for row in grid for c in row)  # type: ignore[union-attr]


def _drop_duplicates(records: pa.Table, kind: LedgerKind, parsed: ParsedFile) -> pa.Table:
    """Reject the second and later rows with the same key within one file (first one wins)."""
    firsts, dup = _first_of_keys(records, list(kind.key))
    if not dup:
        return records
    rows = records.take(pa.array(dup, pa.int64())).to_pylist()
    originals = records.take(pa.array([firsts[i] for i in dup], pa.int64())).select(
        ["source_sheet", "source_row"]).to_pylist()
    for row, original in zip(rows, originals):
        where = "" if original["source_sheet"] == row["source_sheet"] or original["source_sheet"] is None \
            else f"工作表「{original['source_sheet']}」"
        value = kind.describe(row)
        parsed.rejects.append(Reject(row["source_sheet"], int(row["source_row"]), kind.name, [Problem(
            "duplicate_key", {"key_label": kind.key_label, "value": value, "where": where,
                              "row": int(original["source_row"]), "scope": kind.key_scope,
                              "fields": _key_headers(kind)})]))
    keep = np.ones(records.num_rows, dtype=bool)
    keep[dup] = False
    return records.filter(pa.array(keep))


PYTHON_KEYS_UP_TO = 5_000  # rows: a dict of key tuples; above, DuckDB counts the distinct keys first


def _first_of_keys(records: pa.Table, key: list[str]) -> tuple[dict[int, int], list[int]]:
    """(position of the first row with the same key, for each repeated row; the repeated rows' positions).

    Keys compare as pandas' duplicated compared them: equal values, a blank equal to a blank.
    """
    if records.num_rows <= PYTHON_KEYS_UP_TO:
        # a dict of the key tuples (a blank, None, equal to a blank): on a sheet's few dozen rows
        # cheaper than Arrow's hash grouping, whose set-up alone costs half a millisecond a file
        columns = [records.column(k).to_pylist() for k in key]
        seen: dict[tuple, int] = {}
        firsts: dict[int, int] = {}
        for i, value in enumerate(zip(*columns)):
            first = seen.setdefault(value, i)
            if first != i:
                firsts[i] = first
        return firsts, list(firsts)
    partition = ", ".join(f'"{k}"' for k in key)  # catalogue names  # noqa: S608
    distinct = scratch_table(f"SELECT count(*) FROM (SELECT DISTINCT {partition} FROM _keys)",
                             _keys=records.select(key)).column(0)[0].as_py()
    if distinct == records.num_rows:  # the usual case: no key repeats (a hash count, no window)
        return {}, []
    keys = records.select(key).append_column("_i", pa.array(np.arange(records.num_rows, dtype=np.int64)))
    found = scratch_table(f"""SELECT _i, f FROM (SELECT _i, min(_i) OVER (PARTITION BY {partition}) AS f FROM _keys)
                              WHERE f <> _i ORDER BY _i""", _keys=keys)
    firsts = dict(zip(found.column("_i").to_pylist(), found.column("f").to_pylist()))
    return firsts, list(firsts)


def _key_headers(kind: LedgerKind) -> tuple[str, ...]:
    """Template headers of the columns that make up a kind's key (to point at the cells)."""
    names: list[str] = []
    for part in kind.key:
        if part == "person_id":
            names += ["name", "phone"]
        else:
            names += list(kind.id_parts.get(part, (part,)))
    by_name = {f.name: f.header for f in kind.fields}
    return tuple(dict.fromkeys(by_name[n] for n in names if n in by_name))
