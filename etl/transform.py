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
import pyarrow as pa
import pyarrow.compute as pc

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
        maybe_footer |= keep & _footer_prefix_mask(body[col])
    for i in np.flatnonzero(maybe_footer.to_numpy()):
        if is_footer(body.iloc[i].tolist()):
            keep.iloc[i] = False
    out["source_row"] = source_row
    if keep.all():
        return out
    return out[keep.to_numpy()].reset_index(drop=True)


# Footer labels after leading whitespace, for RE2; tried only on cells whose first character is
# whitespace or the first character of a prefix (one cheap pass per column instead of a regex).
FOOTER_START = r"^[{space}]*(?:{prefixes})"
PY_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) \
    + "\u2028\u2029\u202f\u205f\u3000"  # = str.isspace (tests check it)
FOOTER_FIRST = pa.array(sorted(set(PY_SPACES) | {p[0] for p in FOOTER_PREFIXES}), pa.string())


def _arrow_strings(col: pd.Series) -> pa.Array | None:
    """The column as one Arrow string array when it is a pyarrow-backed string column, else None."""
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


def _footer_prefix_mask(col: pd.Series) -> pd.Series:
    """Cells whose text, leading whitespace removed, starts with one of FOOTER_PREFIXES."""
    arr = _arrow_strings(col)
    if arr is None:
        text = col.astype(str).str.lstrip()
        return text.str.startswith(FOOTER_PREFIXES).fillna(False).astype(bool)
    hit = np.zeros(len(arr), dtype=bool)
    first = pc.utf8_slice_codeunits(arr, 0, 1)
    maybe = np.flatnonzero(pc.fill_null(pc.is_in(first, value_set=FOOTER_FIRST), False).to_numpy(zero_copy_only=False))
    if len(maybe):
        pattern = FOOTER_START.format(space=PY_SPACE, prefixes="|".join(map(re.escape, FOOTER_PREFIXES)))
        found = pc.match_substring_regex(arr.take(pa.array(maybe)), pattern)
        hit[maybe] = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    return pd.Series(hit, index=col.index)


def _blank_mask(col: pd.Series) -> pd.Series:
    arr = _arrow_strings(col)
    if arr is not None:  # null, empty, or nothing but whitespace (utf8_is_space: str.isspace, tests check it)
        blank = pc.or_(pc.equal(pc.binary_length(arr), 0), pc.utf8_is_space(arr))
        return pd.Series(pc.fill_null(blank, True).to_numpy(zero_copy_only=False), index=col.index)
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
# A superset of what PHONE_IN_TEXT finds (RE2 has no lookarounds; \p{Nd} is Python's str \d):
# a note without spaces that this does not match is returned by _note unchanged.
PHONE_LIKE = (rf"[1１][3-9３-９]\p{{Nd}}[{PY_SPACE}\-－]?\p{{Nd}}{{4}}[{PY_SPACE}\-－]?\p{{Nd}}{{4}}"
              rf"|[0０]\p{{Nd}}{{2,3}}[{PY_SPACE}\-－]?\p{{Nd}}{{7,8}}")
UNCHANGED_IF: dict[str, str | tuple[str, str]] = {
    "id": PLAIN_TEXT, "text": PLAIN_TEXT, "place": PLAIN_TEXT, "person_name": PLAIN_TEXT,
    "note": (NO_SPACE, PHONE_LIKE)}  # (unchanged if it matches, unless it also matches this)
# Arrow types of the canonical values of each field type (text for the rest).
ARROW_TYPES = {"date": pa.date32(), "party": pa.bool_(), "funded": pa.bool_(), "int": pa.int64(),
               "score": pa.float64()}
ISO_DATE = r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$"


def arrow_type(f: Field) -> pa.DataType:
    """The Arrow type of a field's canonical values."""
    return ARROW_TYPES.get(f.type, pa.large_string())


def _apply_text(values: pd.Series, fn: Callable[[Any], Any],
                unchanged: str | tuple[str, str]) -> tuple[pd.api.extensions.ExtensionArray,
                                                          dict[int, CellError]] | None:
    """Vectorised _apply for a text column of a CSV (pyarrow strings), result as Arrow strings.

    Values matching ``unchanged`` are what ``fn`` would return anyway, so they are taken
    as they are; only the rest (spaces, full-width forms, blanks) go through ``fn``.
    Columns with many distinct values (ids, descriptions) no longer cost a Python call each.
    """
    arr = _arrow_strings(values)
    if arr is None:
        return None
    keep, drop = (unchanged, None) if isinstance(unchanged, str) else unchanged
    plain = pc.fill_null(pc.match_substring_regex(arr, keep), False)
    if drop is not None:
        plain = pc.and_(plain, pc.invert(pc.fill_null(pc.match_substring_regex(arr, drop), False)))
    arr = arr.cast(pa.large_string())
    rest = pc.invert(plain)
    errors: dict[int, CellError] = {}
    if pc.any(rest).as_py():
        others, errs = _apply_arrow(pc.filter(arr, rest), fn, pa.large_string())
        positions = np.flatnonzero(rest.to_numpy(zero_copy_only=False))
        errors = {int(positions[i]): exc for i, exc in errs.items()}
        arr = pc.replace_with_mask(arr, rest, others)
    return _extension(arr), errors


def _extension(arr: pa.Array) -> pd.api.extensions.ExtensionArray:
    """An Arrow array as a pandas column (ArrowDtype: nulls stay nulls, values stay Arrow)."""
    return pd.arrays.ArrowExtensionArray(arr)


def _call_each(uniques: list[Any], fn: Callable[[Any], Any]) -> tuple[list[Any], dict[int, CellError]]:
    """fn of every distinct value: results (None where it failed) and errors by index."""
    results: list[Any] = []
    errors: dict[int, CellError] = {}
    for i, value in enumerate(uniques):
        try:
            results.append(fn(value))
        except CellError as exc:
            results.append(None)
            errors[i] = exc
    return results, errors


def _apply_arrow(arr: pa.Array, fn: Callable[[Any], Any], out_type: pa.DataType,
                 fast: Callable[[pa.Array], tuple[pa.Array, np.ndarray]] | None = None,
                 ) -> tuple[pa.Array, dict[int, CellError]]:
    """_apply for an Arrow string array: fn once per distinct value, the result an Arrow array.

    ``fast`` may give the results of some distinct values at once (values, mask of those given).
    """
    encoded = pc.dictionary_encode(arr)
    dictionary = encoded.dictionary
    given = None
    if fast is not None and len(dictionary):
        known, given = fast(dictionary)
        todo = np.flatnonzero(~given)
        results_todo, errs_todo = _call_each(dictionary.take(pa.array(todo, pa.int64())).to_pylist(), fn)
        results: list[Any] = known.to_pylist()
        for j, i in enumerate(todo):
            results[i] = results_todo[j]
        errors_by_code = {int(todo[j]): exc for j, exc in errs_todo.items()}
    else:
        results, errors_by_code = _call_each(dictionary.to_pylist(), fn)
    out = pa.array(results, type=out_type).take(encoded.indices)
    if arr.null_count:
        blank = _blank_value(fn)
        if blank is not None:
            out = pc.if_else(arr.is_null(), pa.scalar(blank, out_type), out)
    errors: dict[int, CellError] = {}
    if errors_by_code:
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        for code, exc in errors_by_code.items():
            for pos in np.flatnonzero(codes == code):
                errors[int(pos)] = exc
    return out, errors


def _iso_dates(today: date) -> Callable[[pa.Array], tuple[pa.Array, np.ndarray]]:
    """Fast results for distinct date texts written exactly as 2021-03-05, valid and in range.

    A text counts only if it reads back identically (so 2021-02-30 is left to parse_date,
    which rejects it) and lies in range (else parse_date gives the reason).
    """
    def fast(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
        iso = pc.fill_null(pc.match_substring_regex(texts, ISO_DATE), False)
        parsed = pc.cast(pc.strptime(texts, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
        same = pc.equal(pc.strftime(parsed, format="%Y-%m-%d"), texts)
        inside = pc.and_(pc.greater_equal(parsed, pa.scalar(EARLIEST, pa.date32())),
                         pc.less_equal(parsed, pa.scalar(today, pa.date32())))
        ok = pc.fill_null(pc.and_(pc.and_(iso, same), inside), False)
        return parsed, ok.to_numpy(zero_copy_only=False)
    return fast


def _memo(fn: Callable[[Any], Any], memo: dict[Any, Any]) -> Callable[[Any], Any]:
    """fn that remembers its result (or its CellError) per value, shared by several columns."""
    def call(value: Any) -> Any:
        key = (type(value), value)
        try:
            result = memo[key]
        except KeyError:
            try:
                result = fn(value)
            except CellError as exc:
                result = exc
            memo[key] = result
        if isinstance(result, CellError):
            raise result
        return result
    return call


def _apply(values: pd.Series, fn: Callable[[Any], Any]) -> tuple[np.ndarray, dict[int, CellError]]:
    """Apply a normaliser once per distinct value (factorize), errors by row position."""
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    results, errors_by_code = _call_each(list(uniques), fn)
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


def _is_arrow_frame(frame: pd.DataFrame, kind: LedgerKind) -> bool:
    """True when every matched column is Arrow text (a CSV): then records are built as Arrow arrays."""
    cols = [f.name for f in kind.fields if f.name in frame.columns]
    return bool(cols) and all(_arrow_strings(frame[c].iloc[:0]) is not None for c in cols)


def _normalise_column(frame: pd.DataFrame, f: Field, fn: Callable[[Any], Any], arrow: bool,
                      today: date) -> tuple[Any, dict[int, CellError]]:
    """One field's canonical values (numpy objects, or Arrow in arrow mode) and errors by position."""
    if f.name not in frame.columns:  # an optional column the ledger does not have: all blank
        blank = _blank_value(fn)
        if arrow:
            return _extension(pa.array([blank] * len(frame), type=arrow_type(f))), {}
        return np.full(len(frame), blank, dtype=object), {}
    if f.type in UNCHANGED_IF and (fast := _apply_text(frame[f.name], fn, UNCHANGED_IF[f.type])) is not None:
        return fast
    if arrow:
        dates = _iso_dates(today) if f.type == "date" else None
        out, errors = _apply_arrow(_arrow_strings(frame[f.name]), fn, arrow_type(f), dates)
        return _extension(out), errors
    return _apply(frame[f.name], fn)


def _missing(column: Any) -> np.ndarray:
    """Positions of blank (None/null) values of a column."""
    if isinstance(column, pd.arrays.ArrowExtensionArray):
        return np.flatnonzero(pa.array(column).is_null().to_numpy(zero_copy_only=False))
    return np.flatnonzero(pd.isna(np.asarray(column, dtype=object)))


def _before(first: Any, then: Any) -> np.ndarray:
    """Positions where both dates are given and ``then`` is earlier than ``first``."""
    if isinstance(first, pd.arrays.ArrowExtensionArray):
        less = pc.less(pa.array(then), pa.array(first))
        return np.flatnonzero(pc.fill_null(less, False).to_numpy(zero_copy_only=False))
    first = np.asarray(first, dtype=object)
    then = np.asarray(then, dtype=object)
    both = np.flatnonzero(~(pd.isna(first) | pd.isna(then)))
    return both[(then[both] < first[both]).astype(bool)]


def transform(frame: pd.DataFrame, kind: LedgerKind, ref: Reference, today: date) -> SheetRecords:
    """Normalise every matched field, check required fields and date order, derive ids."""
    problems: dict[int, list[Problem]] = {}
    values: dict[str, Any] = {}
    arrow = _is_arrow_frame(frame, kind)
    dates: dict[Any, Any] = {}  # date texts parsed once for all date columns of the sheet
    for f in kind.fields:
        fn = normaliser(f, ref, today)
        if f.type == "date":
            fn = _memo(fn, dates)
        out, errors = _normalise_column(frame, f, fn, arrow, today)
        values[f.name] = out
        for pos, exc in errors.items():
            params = {"field": f.header, "allowed": _allowed_for(f, ref), **exc.params}
            problems.setdefault(pos, []).append(Problem(exc.code, params))
    for f in kind.required:
        for pos in _missing(values[f.name]).tolist():
            if not any(p.params.get("field") == f.header for p in problems.get(pos, [])):
                hint = n_hint(f)
                problems.setdefault(pos, []).append(Problem("missing_required", {"field": f.header, "hint": hint}))
    for earlier, later in kind.date_order:
        for pos in _before(values[earlier], values[later]).tolist():
            a, b = values[earlier][pos], values[later][pos]
            problems.setdefault(pos, []).append(Problem("date_order", {
                    "earlier": kind.field(earlier).header, "earlier_value": a.isoformat(),
                    "later": kind.field(later).header, "later_value": b.isoformat()}))
    # object columns: a blank stays None (a str column would turn it into NaN, which
    # made ids and row hashes depend on the other rows of the file); Arrow columns keep nulls
    records = pd.DataFrame(values) if arrow else pd.DataFrame(values, dtype=object)
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
    arrow = any(isinstance(records[c].dtype, pd.ArrowDtype) for c in records.columns)
    col = (lambda name: _python_values(records[name]))  # noqa: E731
    put = (lambda values: _extension(pa.array(values, type=pa.large_string())) if arrow else values)  # noqa: E731
    if "person_id" in kind.derived:
        records["person_id"] = put([
            person_id(c, name, phone, building, compound)
            for c, name, phone, building, compound in zip(
                col("community"), col("name"), col("phone"), col("building"), col("compound"))
        ])
        records["name_masked"] = put([n.mask_name(x) for x in col("name")])
        del records["name"], records["phone"]  # personal data goes no further
    for column, parts in kind.id_parts.items():
        prefix = column[0].upper()
        records[column] = put([stable_id(prefix, *row) for row in zip(*(col(p) for p in parts))])


def _python_values(column: pd.Series) -> list[Any]:
    """A column's values as Python objects, a blank as None (also for Arrow columns)."""
    if isinstance(column.dtype, pd.ArrowDtype):
        return pa.array(column.array).to_pylist()
    return column.tolist()
