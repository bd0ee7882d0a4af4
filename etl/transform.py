"""Normalise and validate one sheet: raw cells in, canonical records and row problems out (pure)."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from etl import normalise as n
from etl.errors import CellError, Problem
from etl.header import HeaderMatch, is_footer
from etl.kinds import Field, LedgerKind
from etl.privacy import person_id, stable_id
from etl.reference import Reference, allowed

EARLIEST = date(2000, 1, 1)
OUTCOMES = {"成功": "成功", "调解成功": "成功", "已解决": "成功", "解决": "成功", "办结成功": "成功",
            "不成功": "不成功", "调解不成功": "不成功", "未成功": "不成功", "失败": "不成功", "未解决": "不成功",
            "转办": "转办", "已转办": "转办", "移交": "转办", "转交": "转办"}
SATISFACTION = {"满意": "满意", "非常满意": "满意", "很满意": "满意", "基本满意": "基本满意",
                "比较满意": "基本满意", "不满意": "不满意", "很不满意": "不满意"}
RANGES = {"int": (0, 1_000_000), "score": (0, 100), "money": (0, 10_000_000)}


@dataclass
class SheetRecords:
    """What one sheet gave: canonical records (with source_row) and rejects by row."""

    kind: LedgerKind
    records: pd.DataFrame
    rejects: list[tuple[int, list[Problem]]] = field(default_factory=list)
    rows_read: int = 0


def normaliser(f: Field, ref: Reference, today: date) -> Callable[[Any], Any]:
    """The cell normaliser for a field type, bound to the reference data."""
    tables = {"community": ref.communities, "category": ref.categories, "role": ref.roles,
              "org_kind": ref.org_kinds, "activity_kind": ref.activity_kinds,
              "outcome": OUTCOMES, "satisfaction": SATISFACTION}
    if f.type == "community":
        return partial(n.community_lookup, table=ref.communities)
    if f.type in tables:
        return partial(n.lookup, table=tables[f.type])
    if f.type == "date":
        return partial(_date_in_range, today=today)
    return {
        "id": _text, "text": _text, "note": _note, "place": _squeezed, "person_name": _squeezed,
        "phone": n.phone_digits, "handlers": partial(n.split_handlers, table=ref.handlers),
        "int": partial(_in_range, parse=n.parse_int, kind="int"),
        "score": partial(_in_range, parse=n.parse_number, kind="score"), "money": _money_text,
        "party": partial(n.parse_flag, yes=n.PARTY_YES, no=n.PARTY_NO, blank=False),
        "funded": partial(n.parse_flag, yes=n.FUNDED_YES, no=n.FUNDED_NO, blank=None),
    }[f.type]


def _date_in_range(value: Any, today: date) -> date | None:
    parsed = n.parse_date(value)
    if parsed is not None and not EARLIEST <= parsed <= today:
        raise CellError("date_out_of_range", value=n.clean_text(value) or str(parsed),
                        low=EARLIEST.isoformat(), high=today.isoformat())
    return parsed


def _text(value: Any) -> str | None:
    """Cleaned text; a blank cell is None (missing), never ''."""
    return n.clean_text(value) or None


PHONE_IN_TEXT = re.compile(
    r"(?<!\d)(?:[1１][3-9３-９]\d[\s\-－]?\d{4}[\s\-－]?\d{4}|[0０]\d{2,3}[\s\-－]?\d{7,8})(?!\d)")
PHONE_MASK = "[电话已隐去]"


def _note(value: Any) -> str | None:
    """Free text as the clerk wrote it (spaces trimmed, Chinese punctuation kept, no NFKC),
    with phone numbers hidden: the analytics database holds none (PIPL)."""
    if not isinstance(value, str):
        value = _text(value)
        if value is None:
            return None
    text = re.sub(r"\s+", " ", value).strip()
    return PHONE_IN_TEXT.sub(PHONE_MASK, text) or None


def _squeezed(value: Any) -> str | None:
    return n.squeeze(value) or None


def _in_range(value: Any, parse: Callable[[Any], Any], kind: str) -> Any:
    number = parse(value)
    low, high = RANGES[kind]
    if number is not None and not low <= number <= high:
        raise CellError("number_out_of_range", value=n.clean_text(value), low=low, high=high)
    return number


def _money_text(value: Any) -> str | None:
    amount = _in_range(value, n.parse_money, "money")
    return None if amount is None else str(amount)


def _allowed_for(f: Field, ref: Reference) -> str:
    return {
        "category": allowed(ref.categories), "role": allowed(ref.roles),
        "org_kind": allowed(ref.org_kinds), "activity_kind": allowed(ref.activity_kinds),
        "outcome": "成功、不成功、转办", "satisfaction": "满意、基本满意、不满意",
        "party": "党员、预备党员、群众（或 是/否）", "funded": "是（立项）或 否（不通过）",
    }.get(f.type, "")


def data_region(grid: list[list[Any]] | pd.DataFrame, match: HeaderMatch) -> pd.DataFrame:
    """Rows below the header with the matched columns, blank and footer rows removed.

    A row is blank when every matched column is blank (a pre-numbered 序号 alone does not
    make a row). Footers (合计, 填表人：...) are recognised by their first cell or by missing
    required fields.
    """
    start = match.row_index + 1
    if isinstance(grid, pd.DataFrame):
        return _frame_region(grid, match, start)
    columns = list(match.columns.items())
    required = [match.columns[f.name] for f in match.kind.required if f.name in match.columns]
    data: dict[str, list[Any]] = {name: [] for name, _ in columns}
    source_row: list[int] = []
    for offset, row in enumerate(grid[start:]):
        width = len(row)
        cells = [row[i] if i < width else None for _, i in columns]
        if all(n.is_blank(c) for c in cells):
            continue
        if _may_be_footer(row, required) and is_footer(row):
            continue
        for (name, _), cell in zip(columns, cells):
            data[name].append(cell)
        source_row.append(start + offset + 1)
    out = pd.DataFrame(data, dtype=object)
    out["source_row"] = source_row
    return out


FOOTER_PREFIXES = ("合计", "总计", "小计", "填", "审核", "制表", "负责", "联系")


def _may_be_footer(row: list[Any], required: list[int]) -> bool:
    """Cheap pre-check before is_footer: a required field is missing or the first cell reads like one."""
    width = len(row)
    if any(i >= width or n.is_blank(row[i]) for i in required):
        return True
    first = next((c for c in row if not n.is_blank(c)), None)
    return isinstance(first, str) and n.clean_text(first).startswith(FOOTER_PREFIXES)


def _frame_region(grid: pd.DataFrame, match: HeaderMatch, start: int) -> pd.DataFrame:
    """data_region for a (possibly large) CSV frame, with vectorised blank checks."""
    body = grid.iloc[start:].reset_index(drop=True)
    source_row = np.arange(start + 1, start + 1 + len(body))
    out = pd.DataFrame({name: body[col] for name, col in match.columns.items() if col in body.columns})
    if body.empty or out.empty:
        return pd.DataFrame(columns=[*match.columns, "source_row"])
    blank = pd.DataFrame({name: _blank_mask(out[name]) for name in out.columns})
    keep = ~blank.all(axis=1)
    required = [f.name for f in match.kind.required if f.name in blank.columns]
    maybe_footer = keep & blank[required].any(axis=1) if required else keep.copy()
    for col in body.columns:
        text = body[col].astype(str).str.lstrip()
        maybe_footer |= keep & text.str.startswith(FOOTER_PREFIXES)
    for i in np.flatnonzero(maybe_footer.to_numpy()):
        if is_footer(body.iloc[i].tolist()):
            keep.iloc[i] = False
    out["source_row"] = source_row
    return out[keep.to_numpy()].reset_index(drop=True)


def _blank_mask(col: pd.Series) -> pd.Series:
    if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
        return col.isna() | (col.str.strip() == "")
    return col.map(n.is_blank).astype(bool)


def _blank_value(fn: Callable[[Any], Any]) -> Any:
    """What a normaliser makes of an empty cell (False for 政治面貌, None for most)."""
    try:
        return fn(None)
    except CellError:
        return None


# Plain text: characters NFKC leaves alone that are not spaces (ASCII, CJK ideographs, common
# Chinese punctuation). clean_text and squeeze return such a value unchanged.
PLAIN_TEXT = r"^[\x21-\x7e\x{4e00}-\x{9fff}、。“”‘’《》「」『』【】·—]+$"
# Python's str \s (str.isspace) spelled for RE2: ASCII and C1 spaces plus Unicode Z* separators.
PY_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f\x20\x85\pZ"
NO_SPACE = rf"^[^{PY_SPACE}]+$"
UNCHANGED_IF = {"id": PLAIN_TEXT, "text": PLAIN_TEXT, "place": PLAIN_TEXT, "person_name": PLAIN_TEXT,
                "note": rf"^[^{PY_SPACE}\d]+$"}  # digits may be a phone number: through _note


def _apply_text(values: pd.Series, fn: Callable[[Any], Any],
                unchanged: str) -> tuple[np.ndarray, dict[int, CellError]] | None:
    """Vectorised _apply for a text column of a CSV (pyarrow strings).

    Values matching ``unchanged`` are what ``fn`` would return anyway, so they are taken
    as they are; only the rest (spaces, full-width forms, blanks) go through ``fn``.
    Columns with many distinct values (ids, descriptions) no longer cost a Python call each.
    """
    if not (isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"):
        return None
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(values.array)
    plain = pc.fill_null(pc.match_substring_regex(arr, unchanged), False)
    mask = plain.to_numpy(zero_copy_only=False)
    out = np.empty(len(values), dtype=object)
    out[mask] = pc.filter(arr, plain).to_numpy(zero_copy_only=False)
    rest = np.flatnonzero(~mask)
    errors: dict[int, CellError] = {}
    if len(rest):
        others, errs = _apply(values.iloc[rest], fn)
        out[rest] = others
        errors = {int(rest[i]): exc for i, exc in errs.items()}
    return out, errors


def _apply(values: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, dict[int, CellError]]:
    """Apply a normaliser once per distinct value (factorize), errors by row position."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results: list[Any] = []
    errors_by_code: dict[int, CellError] = {}
    for i, value in enumerate(uniques):
        try:
            results.append(fn(value))
        except CellError as exc:
            results.append(None)
            errors_by_code[i] = exc
    blank_result = _blank_value(fn)
    lookup = np.empty(len(results) + 1, dtype=object)
    lookup[: len(results)] = results
    lookup[-1] = blank_result
    out = lookup[codes]
    errors: dict[int, CellError] = {}
    if errors_by_code:
        for code, exc in errors_by_code.items():
            for pos in np.flatnonzero(codes == code):
                errors[int(pos)] = exc
    return out, errors


def transform(frame: pd.DataFrame, kind: LedgerKind, ref: Reference, today: date) -> SheetRecords:
    """Normalise every matched field, check required fields and date order, derive ids."""
    problems: dict[int, list[Problem]] = {}
    values: dict[str, np.ndarray] = {}
    for f in kind.fields:
        fn = normaliser(f, ref, today)
        if f.name not in frame.columns:  # an optional column the ledger does not have: all blank
            values[f.name] = np.full(len(frame), _blank_value(fn), dtype=object)
            continue
        fast = _apply_text(frame[f.name], fn, UNCHANGED_IF[f.type]) if f.type in UNCHANGED_IF else None
        out, errors = fast if fast is not None else _apply(frame[f.name], fn)
        values[f.name] = out
        for pos, exc in errors.items():
            params = {"field": f.header, "allowed": _allowed_for(f, ref), **exc.params}
            problems.setdefault(pos, []).append(Problem(exc.code, params))
    for f in kind.required:
        for pos in np.flatnonzero(pd.isna(np.asarray(values[f.name], dtype=object))).tolist():
            if not any(p.params.get("field") == f.header for p in problems.get(pos, [])):
                hint = n_hint(f)
                problems.setdefault(pos, []).append(Problem("missing_required", {"field": f.header, "hint": hint}))
    for earlier, later in kind.date_order:
        first = np.asarray(values[earlier], dtype=object)
        then = np.asarray(values[later], dtype=object)
        both = np.flatnonzero(~(pd.isna(first) | pd.isna(then)))
        for pos in both[(then[both] < first[both]).astype(bool)].tolist():
            a, b = first[pos], then[pos]
            problems.setdefault(pos, []).append(Problem("date_order", {
                    "earlier": kind.field(earlier).header, "earlier_value": a.isoformat(),
                    "later": kind.field(later).header, "later_value": b.isoformat()}))
    # object columns: a blank stays None (a str column would turn it into NaN, which
    # made ids and row hashes depend on the other rows of the file)
    records = pd.DataFrame(values, dtype=object)
    records["source_row"] = frame["source_row"].to_numpy()
    bad = sorted(problems)
    rejects = [(int(records.at[pos, "source_row"]), problems[pos]) for pos in bad]
    if bad:  # (dropping nothing would still copy every column)
        records = records.drop(index=bad).reset_index(drop=True)
    _derive(records, kind)
    return SheetRecords(kind, records, rejects, rows_read=len(frame))


def n_hint(f: Field) -> str:
    """How to fill a missing required field, in words."""
    return {"date": "（格式如 2021-03-05）", "category": "（如 邻里矛盾、加装电梯）"}.get(f.type, "")


def _derive(records: pd.DataFrame, kind: LedgerKind) -> None:
    """Compute derived key columns (person_id, name_masked, org_id, activity_id) in place."""
    if "person_id" in kind.derived:
        records["person_id"] = [
            person_id(c, name, phone, building, compound)
            for c, name, phone, building, compound in zip(
                records["community"], records["name"], records["phone"], records["building"], records["compound"])
        ]
        records["name_masked"] = [n.mask_name(x) for x in records["name"]]
        del records["name"], records["phone"]  # personal data goes no further
    for column, parts in kind.id_parts.items():
        prefix = column[0].upper()
        records[column] = [stable_id(prefix, *row) for row in zip(*(records[p] for p in parts))]
