"""One file through extract → find header → normalise/validate, without touching the database."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from etl.errors import LedgerError, Problem
from etl.extract import read_sheets
from etl.header import HeaderMatch, find_header, grid_rows, is_template_sheet
from etl.kinds import BY_NAME, LedgerKind
from etl.normalise import is_blank
from etl.reference import Reference
from etl.transform import data_region, transform


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
    """Everything one file gives: records per ledger kind, rejects, and counts."""

    path: Path
    content_hash: str
    records: dict[str, pd.DataFrame] = field(default_factory=dict)
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
               digest: str | None = None) -> ParsedFile:
    """Parse one ledger file (``digest``: content_hash(data) if already known); a file that cannot
    be read comes back with ``error`` set."""
    today = today or date.today()
    data = Path(path).read_bytes() if data is None else data
    parsed = ParsedFile(Path(path), digest or content_hash(data))
    frames: dict[str, list[pd.DataFrame]] = {}
    no_header: list[tuple[str | None, str]] = []
    try:
        for raw in read_sheets(Path(path), data):
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
            parsed.headers[raw.sheet] = match
            region = data_region(raw.grid, match)
            result = transform(region, match.kind, ref, today)
            parsed.rows_read += result.rows_read
            parsed.sheets.append((raw.sheet, match.kind.name))
            records = result.records.assign(source_sheet=raw.sheet)
            frames.setdefault(match.kind.name, []).append(records)
            parsed.rejects.extend(Reject(raw.sheet, row, match.kind.name, problems)
                                  for row, problems in result.rejects)
    except LedgerError as exc:
        parsed.error = exc.problem
        return parsed
    if not frames:
        detail = no_header[0][1] if no_header else "文件中没有任何内容"
        parsed.error = Problem("file_no_header", {"detail": detail})
        return parsed
    for sheet, why in no_header:
        parsed.rejects.append(Reject(sheet, None, None, [Problem("sheet_no_header", {"detail": why})]))
        parsed.sheets.append((sheet, "未识别"))
    for name, parts in frames.items():
        combined = pd.concat(parts, ignore_index=True)
        parsed.records[name] = _drop_duplicates(combined, BY_NAME[name], parsed)
    return parsed


def _all_blank(grid: object) -> bool:
    if isinstance(grid, pd.DataFrame):
        return bool(grid.map(is_blank).all().all()) if len(grid) < 200 else False
    return all(is_blank(c) for row in grid for c in row)  # type: ignore[union-attr]


def _drop_duplicates(records: pd.DataFrame, kind: LedgerKind, parsed: ParsedFile) -> pd.DataFrame:
    """Reject the second and later rows with the same key within one file (first one wins)."""
    key = list(kind.key)
    dup = records.duplicated(subset=key, keep="first")
    if not dup.any():
        return records
    first = records[~dup].set_index(key)
    for _, row in records[dup].iterrows():
        original = first.loc[tuple(row[k] for k in key) if len(key) > 1 else row[key[0]]]
        where = "" if original["source_sheet"] == row["source_sheet"] or original["source_sheet"] is None \
            else f"工作表「{original['source_sheet']}」"
        value = kind.describe(row)
        parsed.rejects.append(Reject(row["source_sheet"], int(row["source_row"]), kind.name, [Problem(
            "duplicate_key", {"key_label": kind.key_label, "value": value, "where": where,
                              "row": int(original["source_row"]), "scope": kind.key_scope,
                              "fields": _key_headers(kind)})]))
    return records[~dup].reset_index(drop=True)


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
