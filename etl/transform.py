"""Normalise and validate one sheet: raw cells in, canonical records and row problems out (pure)."""
from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from functools import cache, partial
from operator import itemgetter
from types import NoneType
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from etl import normalise as n
from etl.errors import CellError, Problem
from etl.header import EXAMPLE_MARK, HeaderMatch, is_example, is_footer
from etl.kinds import Field, LedgerKind
from etl.privacy import DUCKDB_FROM, joined_id_array, person_id_array, person_ids, stable_ids
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
    """What one sheet gave: canonical records (an Arrow table of the kind's stored columns, in
    their storage types (``record_schema``), plus source_row) and rejects by row."""

    kind: LedgerKind
    records: pa.Table
    rejects: list[tuple[int, list[Problem]]] = field(default_factory=list)
    rows_read: int = 0
    reject_positions: list[int] = field(default_factory=list)  # of the rejects, in the region's rows


@dataclass
class Rows:
    """The data rows of a sheet read as rows of cells (an Excel sheet, a very wide CSV): the cells
    of each matched field, column by column, and the row numbers the clerk sees.

    Small sheets are the common case (a real ledger's sheets average two dozen rows), so this path
    builds no DataFrame: a few hundred cells pay no per-sheet pandas overhead. The sheets of one
    kind in one file are transformed together (``join``): ``starts`` are where each sheet's rows
    begin and ``sheets`` their names (then the records carry source_sheet)."""

    columns: dict[str, list[Any]]
    source_row: list[int]
    starts: list[int] = field(default_factory=lambda: [0])
    sheets: list[str | None] | None = None

    def __len__(self) -> int:
        return len(self.source_row)

    @staticmethod
    def join(parts: list[tuple[str | None, Rows]]) -> Rows:
        """The rows of several sheets (sheet name, rows) one after the other; a column a sheet
        lacks is blank (None) in its rows, which normalises as the missing column would."""
        names = list(dict.fromkeys(name for _, rows in parts for name in rows.columns))
        columns: dict[str, list[Any]] = {name: [] for name in names}
        source_row: list[int] = []
        starts: list[int] = []
        for _, rows in parts:
            starts.append(len(source_row))
            for name in names:
                cells = rows.columns.get(name)
                columns[name].extend(cells if cells is not None else [None] * len(rows))
            source_row.extend(rows.source_row)
        return Rows(columns, source_row, starts, [sheet for sheet, _ in parts])

    def sheet_index(self, position: int) -> int:
        """Which of the joined sheets the row at ``position`` comes from."""
        return bisect.bisect_right(self.starts, position) - 1

    def frame(self) -> pd.DataFrame:
        """As data_region has always returned it: object columns plus source_row."""
        out = pd.DataFrame(self.columns, dtype=object)
        out["source_row"] = self.source_row
        return out


def lookup_tables(ref: Reference) -> dict[str, dict[str, str]]:
    """Field type -> its synonym table (spelling -> canonical value), for the types checked against a list."""
    return {"community": ref.communities, "category": ref.categories, "role": ref.roles,
            "org_kind": ref.org_kinds, "activity_kind": ref.activity_kinds,
            "outcome": OUTCOMES, "satisfaction": SATISFACTION}


def normaliser(f: Field, ref: Reference, today: date) -> Callable[[Any], Any]:
    """The cell normaliser for a field type, bound to the reference data."""
    tables = lookup_tables(ref)
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


class Normalisers:
    """The normaliser of every field type for one reference and day, and the results of the cell
    values already seen, shared by every sheet (ledgers repeat the same communities, categories,
    dates and names from sheet to sheet). Results are kept per (type, value), so 1 and True stay
    apart here; each column still treats equal values as one (see _apply_cells)."""

    LIMIT = 200_000  # values remembered per field type before starting afresh (bounded memory)

    def __init__(self, ref: Reference, today: date) -> None:
        self.ref, self.today = ref, today
        self._fns: dict[str, Callable[[Any], Any]] = {}
        self._memos: dict[str, dict[tuple[type, Any], Any]] = {}

    def fn(self, f: Field) -> Callable[[Any], Any]:
        """The normaliser of ``f``'s type (built once)."""
        fn = self._fns.get(f.type)
        if fn is None:
            fn = self._fns[f.type] = normaliser(f, self.ref, self.today)
        return fn

    def memo(self, f: Field) -> dict[tuple[type, Any], Any]:
        """Results (or CellErrors) of ``f``'s type by (type, value); emptied when it grows past LIMIT."""
        memo = self._memos.setdefault(f.type, {})
        if len(memo) > self.LIMIT:
            memo.clear()
        return memo


_last: list[Normalisers] = []


def normalisers(ref: Reference, today: date) -> Normalisers:
    """The Normalisers of ``ref`` and ``today`` (the last ones are reused: a load parses every
    file against the same reference and day)."""
    last = _last[0] if _last else None
    if last is not None and last.ref is ref and last.today == today:
        return last
    made = Normalisers(ref, today)
    _last[:] = [made]
    return made


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
    text = n.SPACES.sub(" ", value).strip()
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
    required fields. The template's example row (its first field starts with 【示例】) is not
    data either.
    """
    region = sheet_region(grid, match)
    return region.frame() if isinstance(region, Rows) else region


def sheet_region(grid: list[list[Any]] | pd.DataFrame, match: HeaderMatch) -> pd.DataFrame | Rows:
    """data_region as the loader takes it: a DataFrame for a CSV frame, Rows for a grid of rows."""
    start = match.row_index + 1
    if isinstance(grid, pd.DataFrame):
        return _frame_region(grid, match, start)
    columns = list(match.columns.items())
    indices = [i for _, i in columns]
    # the matched cells of a row that reaches every matched column, taken in C (a tuple)
    take = itemgetter(*indices) if len(indices) > 1 else None
    reach = max(indices, default=0)
    required = [match.columns[f.name] for f in match.kind.required if f.name in match.columns]
    example = match.columns.get(match.kind.fields[0].name)
    kept: list[Any] = []  # the kept rows' matched cells, turned into columns at the end
    source_row: list[int] = []
    blank = n.is_blank
    for offset, row in enumerate(grid[start:]):
        width = len(row)
        cells = take(row) if take is not None and width > reach else [row[i] if i < width else None for i in indices]
        for cell in cells:  # is_blank, with its usual case (text) inline
            if cell.__class__ is str:
                if cell.strip():
                    break
            elif not blank(cell):
                break
        else:
            continue
        if example is not None and example < width and is_example(row[example]):
            continue
        if _may_be_footer(row, required) and is_footer(row):
            continue
        kept.append(cells)
        source_row.append(start + offset + 1)
    by_column = list(zip(*kept)) if kept else [() for _ in columns]  # rows to columns in C
    return Rows({name: list(cells) for (name, _), cells in zip(columns, by_column)}, source_row)


FOOTER_PREFIXES = ("合计", "总计", "小计", "填", "审核", "制表", "负责", "联系")
FOOTER_HEADS = frozenset(p[0] for p in FOOTER_PREFIXES)


def _may_be_footer(row: list[Any], required: list[int]) -> bool:
    """Cheap pre-check before is_footer: a required field is missing or the first cell reads like one."""
    width = len(row)
    blank = n.is_blank
    for i in required:
        if i >= width:
            return True
        cell = row[i]
        if (not cell.strip()) if cell.__class__ is str else blank(cell):  # is_blank, text inline
            return True
    for cell in row:  # the first cell that is not blank
        if cell.__class__ is str:
            if cell.strip():
                return footer_start(cell)
        elif not blank(cell):
            return isinstance(cell, str) and footer_start(cell)
    return False


def footer_start(text: str) -> bool:
    """clean_text(text).startswith(FOOTER_PREFIXES), deciding most cells by their first character.

    The cleaned text starts with NFKC of the first non-space character (NFKC is the identity on
    the prefixes' characters and composes nothing into them); only a character whose NFKC form
    is one of theirs, or starts with a space, needs the whole text cleaned (tests check every
    code point)."""
    head = text.lstrip()[:1]
    if head not in FOOTER_HEADS:
        lead = unicodedata.normalize("NFKC", head)
        if lead and not lead[0].isspace() and lead[0] not in FOOTER_HEADS:
            return False
    return n.clean_text(text).startswith(FOOTER_PREFIXES)


def _frame_region(grid: pd.DataFrame, match: HeaderMatch, start: int) -> pd.DataFrame:
    """data_region for a (possibly large) CSV frame, with vectorised blank checks."""
    body = grid.iloc[start:].reset_index(drop=True)
    source_row = np.arange(start + 1, start + 1 + len(body))
    out = pd.DataFrame({name: body[col] for name, col in match.columns.items() if col in body.columns})
    if body.empty or out.empty:
        return pd.DataFrame(columns=[*match.columns, "source_row"])
    firsts = {col: _first_chars(body[col]) for col in body.columns}
    blank = {name: _blank_mask(out[name], firsts[match.columns[name]]) for name in out.columns}
    keep = ~np.logical_and.reduce(list(blank.values()))
    required = [blank[f.name] for f in match.kind.required if f.name in blank]
    maybe_footer = keep & np.logical_or.reduce(required) if required else keep.copy()
    for col in body.columns:
        maybe_footer |= keep & _footer_prefix_mask(body[col], firsts[col])
    maybe = np.flatnonzero(maybe_footer)
    if len(maybe):  # the candidate rows' cells, column by column (one row at a time is slow in pandas)
        cells = [body[col].iloc[maybe].tolist() for col in body.columns]
        for i, row in zip(maybe, zip(*cells)):
            if is_footer(list(row)):
                keep[i] = False
    first = match.kind.fields[0].name
    if first in out.columns:  # the template's example row, saved as CSV
        keep &= ~_example_mask(out[first], firsts[match.columns[first]])
    out["source_row"] = source_row
    if keep.all():
        return out
    return out[keep].reset_index(drop=True)


# Footer labels after leading whitespace, for RE2; tried only on cells whose first character is
# whitespace or the first character of a prefix (one cheap pass per column instead of a regex).
FOOTER_START = r"^[{space}]*(?:{prefixes})"
PY_SPACES = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680" + "".join(map(chr, range(0x2000, 0x200B))) \
    + "\u2028\u2029\u202f\u205f\u3000"  # = str.isspace (tests check it)
FOOTER_FIRST = np.array(sorted(set(map(ord, PY_SPACES)) | {ord(p[0]) for p in FOOTER_PREFIXES}), dtype=np.int64)
SPACE_CODES = np.array(sorted(map(ord, PY_SPACES)), dtype=np.int64)


def _arrow_strings(col: pd.Series) -> pa.Array | None:
    """The column as one Arrow string array when it is a pyarrow-backed string column, else None."""
    if not (isinstance(col.dtype, pd.StringDtype) and col.dtype.storage == "pyarrow"):
        return None
    arr = pa.array(col.array)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.chunk(0) if arr.num_chunks == 1 else arr.combine_chunks()
    return arr


@dataclass
class FirstChars:
    """A pyarrow string column, which values are empty or null, and the first character's code
    point of the values that may start with a space or a footer prefix (``at``: their positions)."""

    arr: pa.Array
    empty: np.ndarray
    at: np.ndarray
    code: np.ndarray


def _lead_bytes(chars: str) -> np.ndarray:
    """A table of the 256 byte values: True for the first UTF-8 byte of any of ``chars``."""
    lead = np.zeros(256, dtype=bool)
    lead[[c.encode("utf-8")[0] for c in chars]] = True
    return lead


FOOTER_LEADS = _lead_bytes(PY_SPACES + "".join(p[0] for p in FOOTER_PREFIXES) + EXAMPLE_MARK[0])
EXAMPLE_FIRST = np.array(sorted(set(map(ord, PY_SPACES)) | {ord(EXAMPLE_MARK[0])}), dtype=np.int64)


def _first_chars(col: pd.Series) -> FirstChars | None:
    """FirstChars of a pyarrow-backed string column (None for other columns).

    Read from the UTF-8 bytes (Arrow validated them) with numpy: the first byte of every value,
    then the whole first character only where that byte can start a space or a footer prefix.
    """
    arr = _arrow_strings(col)
    if arr is None:
        return None
    wide = pa.types.is_large_string(arr.type)
    offsets = np.frombuffer(arr.buffers()[1], dtype=np.int64 if wide else np.int32)
    offsets = offsets[arr.offset:arr.offset + len(arr) + 1]
    begin = offsets[:-1]
    empty = offsets[1:] == begin
    if arr.null_count:
        empty |= arr.is_null().to_numpy(zero_copy_only=False)
    word = _words(arr.buffers()[2], begin)  # the first four bytes of each value (little-endian)
    at = np.flatnonzero(FOOTER_LEADS[word & 0xFF] & ~empty)
    word = word[at]
    b0, b1, b2 = word & 0xFF, (word >> 8) & 0x3F, (word >> 16) & 0x3F
    code = np.where(b0 < 0x80, b0, np.where(b0 < 0xE0, ((b0 & 0x1F) << 6) | b1, ((b0 & 0x0F) << 12) | (b1 << 6) | b2))
    return FirstChars(arr, empty, at, code)  # (no lead byte of a 4-byte character is in FOOTER_LEADS)


def _words(data: pa.Buffer | None, begin: np.ndarray) -> np.ndarray:
    """The four bytes from each offset in ``data`` as one little-endian integer (zeros past the end).

    One gather through an overlapping view with a stride of one byte, instead of one per byte.
    """
    raw = np.frombuffer(data, dtype=np.uint8) if data is not None else np.zeros(0, np.uint8)
    if len(raw) < 4:
        raw = np.concatenate([raw, np.zeros(4, np.uint8)])
    words = np.ndarray((len(raw) - 3,), dtype="<u4", buffer=raw, strides=(1,))
    last = len(raw) - 4
    word = words[np.minimum(begin, last)].astype(np.int64)
    over = begin > last
    if over.any():  # the last three bytes of the buffer: shift the last word
        word[over] >>= 8 * (begin[over] - last)
    return word


def _footer_prefix_mask(col: pd.Series, first: FirstChars | None = None) -> np.ndarray:
    """Cells whose text, leading whitespace removed, starts with one of FOOTER_PREFIXES."""
    first = first if first is not None else _first_chars(col)
    if first is None:
        text = col.astype(str).str.lstrip()
        return text.str.startswith(FOOTER_PREFIXES).fillna(False).astype(bool).to_numpy()
    hit = np.zeros(len(first.arr), dtype=bool)
    maybe = first.at[np.isin(first.code, FOOTER_FIRST)]
    if len(maybe):
        pattern = FOOTER_START.format(space=PY_SPACE, prefixes="|".join(map(re.escape, FOOTER_PREFIXES)))
        found = pc.match_substring_regex(first.arr.take(pa.array(maybe)), pattern)
        hit[maybe] = pc.fill_null(found, False).to_numpy(zero_copy_only=False)
    return hit


def _example_mask(col: pd.Series, first: FirstChars | None) -> np.ndarray:
    """Cells that start (after spaces) with the template's example mark 【示例】."""
    if first is None:
        return col.map(is_example).astype(bool).to_numpy()
    hit = np.zeros(len(first.arr), dtype=bool)
    maybe = first.at[np.isin(first.code, EXAMPLE_FIRST)]
    if len(maybe):
        hit[maybe] = [is_example(v) for v in first.arr.take(pa.array(maybe)).to_pylist()]
    return hit


def _blank_mask(col: pd.Series, first: FirstChars | None = None) -> np.ndarray:
    """Blank cells: null, empty, or nothing but whitespace."""
    first = first if first is not None else _first_chars(col)
    if first is not None:  # utf8_is_space (= str.isspace, tests check it) only where the first character is a space
        blank = first.empty.copy()
        maybe = first.at[np.isin(first.code, SPACE_CODES)]
        if len(maybe):
            spaces = pc.utf8_is_space(first.arr.take(pa.array(maybe)))
            blank[maybe] = pc.fill_null(spaces, True).to_numpy(zero_copy_only=False)
        return blank
    if pd.api.types.is_string_dtype(col.dtype) and col.dtype != object:
        return (col.isna() | (col.str.strip() == "")).to_numpy(dtype=bool)
    return col.map(n.is_blank).astype(bool).to_numpy()


def _blank_value(fn: Callable[[Any], Any]) -> Any:
    """What a normaliser makes of an empty cell (False for 政治面貌, None for most)."""
    try:
        return fn(None)
    except CellError:
        return None


# Plain text: characters NFKC leaves alone that are not spaces (ASCII, CJK ideographs, common
# Chinese punctuation). clean_text and squeeze return such a value unchanged.
PLAIN_TEXT = r"^[\x21-\x7e\x{4e00}-\x{9fff}、。“”‘’《》「」『』【】·—]+$"
# The same plus full-width ASCII forms (！ to ～, as in 读书会（1）): NFKC maps each to its ASCII
# character and composes nothing, so clean_text and squeeze return utf8_normalize(NFKC) of such a value.
WIDE_TEXT = r"^[\x21-\x7e\x{4e00}-\x{9fff}、。“”‘’《》「」『』【】·—\x{ff01}-\x{ff5e}]+$"
NFKC_IF = {"id": WIDE_TEXT, "text": WIDE_TEXT, "place": WIDE_TEXT, "person_name": WIDE_TEXT}
# Python's str \s (str.isspace) spelled for RE2: ASCII and C1 spaces plus Unicode Z* separators.
PY_SPACE = r"\t\n\x0b\x0c\r\x1c-\x1f\x20\x85\pZ"
NO_SPACE = rf"^[^{PY_SPACE}]+$"
# A superset of what PHONE_IN_TEXT finds (RE2 has no lookarounds; \p{Nd} is Python's str \d):
# a note without spaces that this does not match is returned by _note unchanged.
PHONE_LIKE = (rf"[1１][3-9３-９]\p{{Nd}}[{PY_SPACE}\-－]?\p{{Nd}}{{4}}[{PY_SPACE}\-－]?\p{{Nd}}{{4}}"
              rf"|[0０]\p{{Nd}}{{2,3}}[{PY_SPACE}\-－]?\p{{Nd}}{{7,8}}")
UNCHANGED_IF: dict[str, str | tuple[str, str]] = {
    "id": PLAIN_TEXT, "text": PLAIN_TEXT, "place": PLAIN_TEXT, "person_name": PLAIN_TEXT,
    "note": (NO_SPACE, PHONE_LIKE),  # (unchanged if it matches, unless it also matches this)
    "phone": r"^[0-9]+$"}  # phone_digits returns ASCII digits as they are
# Arrow types of the canonical values of each field type (text for the rest).
ARROW_TYPES = {"date": pa.date32(), "party": pa.bool_(), "funded": pa.bool_(), "int": pa.int64(),
               "score": pa.float64()}
# Date texts parse_date reads as year, month and day with nothing to clean (ASCII digits, no
# spaces, NFKC leaves 年月日 alone): 2021-03-05, 2021/3/5, 2021.3.5, 2021年3月5日 (the separators
# of normalise._DATE_TEXT, which this is a subset of).
PLAIN_DATE = r"^(?P<y>[0-9]{4})[-/.年](?P<m>[0-9]{1,2})[-/.月](?P<d>[0-9]{1,2})日?$"


def arrow_type(f: Field) -> pa.DataType:
    """The Arrow type of a field's canonical values."""
    return ARROW_TYPES.get(f.type, pa.large_string())


def _spread_back(arr: pa.Array, encoded: pa.DictionaryArray, out: pa.Array, fn: Callable[[Any], Any],
                 errors_by_code: dict[int, CellError]) -> tuple[pa.Array, dict[int, CellError]]:
    """Per-row results from per-distinct-value ones (``out`` already taken by the codes): a missing cell gets
    the normaliser's blank value, and each distinct value's error goes to every row that holds it."""
    if arr.null_count:
        blank = _blank_value(fn)
        if blank is not None:
            out = pc.if_else(arr.is_null(), pa.scalar(blank, out.type), out)
    errors: dict[int, CellError] = {}
    if errors_by_code:
        codes = encoded.indices.fill_null(-1).to_numpy(zero_copy_only=False)
        for code, exc in errors_by_code.items():
            for pos in np.flatnonzero(codes == code):
                errors[int(pos)] = exc
    return out, errors


def _apply_text(values: pd.Series, fn: Callable[[Any], Any], unchanged: str | tuple[str, str],
                wide: str | None = None) -> tuple[pd.api.extensions.ExtensionArray, dict[int, CellError]] | None:
    """Vectorised _apply for a text column of a CSV (pyarrow strings), result as Arrow strings.

    Values matching ``unchanged`` are what ``fn`` would return anyway, so they are taken
    as they are; only the rest (spaces, full-width forms, blanks) go through ``fn``.
    Columns with many distinct values (ids, descriptions) no longer cost a Python call each.
    A column that repeats its values (compounds, names, organisers) is checked once per
    distinct value, as the rows path does, and the results are spread back over its rows.
    """
    arr = _arrow_strings(values)
    if arr is None:
        return None
    arr = arr.cast(pa.large_string())
    encoded = pc.dictionary_encode(arr) if len(arr) >= REPEATS_FROM else None
    if encoded is None or 2 * len(encoded.dictionary) > len(arr):  # mostly distinct: row by row
        out, errors = _text_values(arr, fn, unchanged, wide)
        return _extension(out), errors
    out, errors_by_code = _text_values(encoded.dictionary, fn, unchanged, wide)
    out, errors = _spread_back(arr, encoded, out.take(encoded.indices), fn, errors_by_code)
    return _extension(out), errors


REPEATS_FROM = 1_000  # rows of a CSV text column from which its distinct values are checked instead


def _text_values(arr: pa.Array, fn: Callable[[Any], Any], unchanged: str | tuple[str, str],
                 wide: str | None) -> tuple[pa.Array, dict[int, CellError]]:
    """_apply_text of large strings: the canonical values and the errors by position."""
    keep, drop = (unchanged, None) if isinstance(unchanged, str) else unchanged
    plain = pc.fill_null(pc.match_substring_regex(arr, keep), False)
    if drop is not None:
        plain = pc.and_(plain, pc.invert(pc.fill_null(pc.match_substring_regex(arr, drop), False)))
    if wide is not None and pc.any(pc.invert(plain)).as_py():  # full-width forms: NFKC by Arrow
        nfkc = pc.and_(pc.invert(plain), pc.fill_null(pc.match_substring_regex(arr, wide), False))
        if pc.any(nfkc).as_py():
            arr = pc.replace_with_mask(arr, nfkc, pc.utf8_normalize(pc.filter(arr, nfkc), form="NFKC"))
            plain = pc.or_(plain, nfkc)
    rest = pc.invert(plain)
    errors: dict[int, CellError] = {}
    if pc.any(rest).as_py():
        others, errs = _apply_arrow(pc.filter(arr, rest), fn, pa.large_string())
        positions = np.flatnonzero(rest.to_numpy(zero_copy_only=False))
        errors = {int(positions[i]): exc for i, exc in errs.items()}
        arr = pc.replace_with_mask(arr, rest, others)
    return arr, errors


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
    return _spread_back(arr, encoded, pa.array(results, type=out_type).take(encoded.indices), fn, errors_by_code)


def _plain_dates(today: date) -> Callable[[pa.Array], tuple[pa.Array, np.ndarray]]:
    """Fast results for distinct date texts of PLAIN_DATE's forms that are valid and in range.

    Year, month and day are taken apart by Arrow and parsed as 2021-03-05; a text counts only
    if the date has that year, month and day (so 2021-02-30 or month 0 are left to parse_date, which
    rejects them) and lies in range (else parse_date gives the reason). The CSV's dates are
    mostly written this way, so parse_date runs on a handful of odd spellings only.
    """
    def fast(texts: pa.Array) -> tuple[pa.Array, np.ndarray]:
        parts = pc.extract_regex(texts, PLAIN_DATE)
        y, m, d = (pc.struct_field(parts, k) for k in ("y", "m", "d"))
        iso = pc.binary_join_element_wise(y, pc.utf8_lpad(m, 2, "0"), pc.utf8_lpad(d, 2, "0"),
                                         pa.scalar("-", y.type))
        parsed = pc.cast(pc.strptime(iso, format="%Y-%m-%d", unit="s", error_is_null=True), pa.date32())
        same = pc.and_(pc.and_(pc.equal(pc.year(parsed), pc.cast(y, pa.int64())),
                               pc.equal(pc.month(parsed), pc.cast(m, pa.int64()))),
                       pc.equal(pc.day(parsed), pc.cast(d, pa.int64())))
        inside = pc.and_(pc.greater_equal(parsed, pa.scalar(EARLIEST, pa.date32())),
                         pc.less_equal(parsed, pa.scalar(today, pa.date32())))
        ok = pc.fill_null(pc.and_(same, inside), False)
        # (null where not given: a year such as 0000 parses in Arrow but is no Python date)
        return pc.if_else(ok, parsed, pa.scalar(None, pa.date32())), ok.to_numpy(zero_copy_only=False)
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
    if f.type in UNCHANGED_IF and (fast := _apply_text(frame[f.name], fn, UNCHANGED_IF[f.type],
                                                       NFKC_IF.get(f.type))) is not None:
        return fast
    if arrow:
        dates = _plain_dates(today) if f.type == "date" else None
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


def transform(region: pd.DataFrame | Rows, kind: LedgerKind, ref: Reference, today: date) -> SheetRecords:
    """Normalise every matched field, check required fields and date order, derive ids.

    ``region``: a sheet's data rows, as sheet_region gives them (Rows for an Excel sheet, a
    DataFrame for a CSV); both paths give the same records for the same cells.
    """
    if isinstance(region, Rows):
        return _transform_rows(region, kind, ref, today)
    frame = region
    problems: dict[int, list[Problem]] = {}
    values: dict[str, Any] = {}
    arrow = _is_arrow_frame(frame, kind)
    known = normalisers(ref, today)
    for f in kind.fields:
        # results shared by every column of a type and every file of the load, as on the rows path
        fn = _memo(known.fn(f), known.memo(f))
        out, errors = _normalise_column(frame, f, fn, arrow, today)
        values[f.name] = out
        _add_problems(problems, f, errors, ref)
    for f in kind.required:
        _add_missing(problems, f, _missing(values[f.name]).tolist())
    for earlier, later in kind.date_order:
        for pos in _before(values[earlier], values[later]).tolist():
            problems.setdefault(pos, []).append(_order_problem(kind, earlier, later, values[earlier][pos],
                                                               values[later][pos]))
    # object columns: a blank stays None (a str column would turn it into NaN, which
    # made ids and row hashes depend on the other rows of the file); Arrow columns keep nulls
    records = pd.DataFrame(values) if arrow else pd.DataFrame(values, dtype=object)
    records["source_row"] = frame["source_row"].to_numpy()
    bad = sorted(problems)
    rejects = [(int(records.at[pos, "source_row"]), problems[pos]) for pos in bad]
    if bad:  # (dropping nothing would still copy every column)
        records = records.drop(index=bad).reset_index(drop=True)
    columns = {f.name: _arrow_column(records[f.name], arrow_type(f)) for f in kind.fields}
    source_row = pa.array(records["source_row"].to_numpy(dtype=np.int64), pa.int64())
    return SheetRecords(kind, _derive(columns, source_row, kind), rejects, rows_read=len(frame))


def _add_problems(problems: dict[int, list[Problem]], f: Field, errors: dict[int, CellError], ref: Reference) -> None:
    """A field's cell errors as the rows' problems (in field order)."""
    if errors:
        allowed_values = _allowed_for(f, ref)
        for pos, exc in errors.items():
            params = {"field": f.header, "allowed": allowed_values, **exc.params}
            problems.setdefault(pos, []).append(Problem(exc.code, params))


def _add_missing(problems: dict[int, list[Problem]], f: Field, missing: list[int]) -> None:
    """A required field left blank (unless its cell already has a problem)."""
    for pos in missing:
        if not any(p.params.get("field") == f.header for p in problems.get(pos, [])):
            problems.setdefault(pos, []).append(Problem("missing_required", {"field": f.header, "hint": n_hint(f)}))


def _transform_rows(rows: Rows, kind: LedgerKind, ref: Reference, today: date) -> SheetRecords:
    """transform for a sheet read as rows: plain Python per distinct cell value, no DataFrame."""
    count = len(rows)
    problems: dict[int, list[Problem]] = {}
    values: dict[str, list[Any]] = {}
    known = normalisers(ref, today)
    for f in kind.fields:
        fn = known.fn(f)
        cells = rows.columns.get(f.name)
        if cells is None:  # an optional column the ledger does not have: all blank
            values[f.name] = [_blank_value(fn)] * count
            continue
        values[f.name], errors = _apply_cells(cells, fn, known.memo(f), rows.starts)
        _add_problems(problems, f, errors, ref)
    for f in kind.required:
        column = values[f.name]
        kinds = set(map(type, column))  # (in C: usually no cell is blank, and then no row is looked at)
        if NoneType in kinds or float in kinds:
            _add_missing(problems, f, [i for i, v in enumerate(column)
                                       if v is None or (v.__class__ is float and v != v)])
    for earlier, later in kind.date_order:
        firsts, thens = values[earlier], values[later]
        for pos, (a, b) in enumerate(zip(firsts, thens)):
            if a is not None and b is not None and b < a:
                problems.setdefault(pos, []).append(_order_problem(kind, earlier, later, a, b))
    bad = sorted(problems)
    rejects = [(rows.source_row[pos], problems[pos]) for pos in bad]
    source_row = rows.source_row
    sheets = None
    if rows.sheets is not None:
        sheets = []
        for name, start, end in zip(rows.sheets, rows.starts, [*rows.starts[1:], count]):
            sheets += [name] * (end - start)
    if bad:
        keep = [i for i in range(count) if i not in problems]
        values = {name: [column[i] for i in keep] for name, column in values.items()}
        source_row = [source_row[i] for i in keep]
        sheets = None if sheets is None else [sheets[i] for i in keep]
    source = pa.array(source_row, pa.int64())
    if len(source_row) < DUCKDB_FROM:  # ids in Python: a query costs more than a few hundred hashes
        _derive_lists(values, kind)
        schema = record_schema(kind)
        arrays = [_typed(values[c], t) for c, t in zip(schema.names[:-1], schema.types[:-1])]
        table = pa.Table.from_arrays([*arrays, source], schema=schema)
    else:
        table = _derive({f.name: _typed(values[f.name], arrow_type(f)) for f in kind.fields}, source, kind)
    if sheets is not None:
        table = table.append_column("source_sheet", pa.array(sheets, pa.large_string()))
    return SheetRecords(kind, table, rejects, rows_read=count, reject_positions=bad)


def _apply_cells(cells: list[Any], fn: Callable[[Any], Any], known: dict[tuple[type, Any], Any],
                 starts: list[int] = (0,)) -> tuple[list[Any], dict[int, CellError]]:
    """fn of every cell, called once per distinct value; a blank (None, NaN) gives fn's blank value.

    Distinct as _apply's factorize counts them within a sheet's column (Python equality: 1, 1.0
    and True are one value, the first one seen is the one normalised; ``starts``: where each
    sheet's cells begin), so both paths give the same records; ``known`` holds results by
    (type, value) across sheets."""
    out: list[Any] = []
    errors: dict[int, CellError] = {}
    blank: Any = _UNSET
    unset = _UNSET
    bounds = [*starts[1:], len(cells)] if len(starts) > 1 else [len(cells)]
    begin = 0
    for end in bounds:  # per sheet: its distinct values in C (dict.fromkeys keeps the first one seen)
        part = cells[begin:end] if begin or end < len(cells) else cells
        results = dict.fromkeys(part)
        failed = False
        for value in results:
            if value is None or (value.__class__ is float and value != value):
                if blank is unset:
                    blank = _blank_value(fn)
                results[value] = blank
                continue
            key = (value.__class__, value)
            result = known.get(key, unset)
            if result is unset:
                try:
                    result = fn(value)
                except CellError as exc:
                    result = exc
                known[key] = result
            if isinstance(result, CellError):
                failed = True
            results[value] = result
        mapped = list(map(results.__getitem__, part))
        if failed:
            for i, result in enumerate(mapped):
                if isinstance(result, CellError):
                    errors[begin + i] = result
                    mapped[i] = None
        out.extend(mapped)
        begin = end
    return out, errors


_UNSET = object()


def _order_problem(kind: LedgerKind, earlier: str, later: str, a: date, b: date) -> Problem:
    return Problem("date_order", {"earlier": kind.field(earlier).header, "earlier_value": a.isoformat(),
                                  "later": kind.field(later).header, "later_value": b.isoformat()})


class StorageTypeError(ValueError):
    """Normalised values that do not fit their storage type (the file cannot be stored)."""


def _typed(values: list[Any], typ: pa.DataType) -> pa.Array:
    """Normalised Python values as an Arrow array of their storage type (NaN as null)."""
    try:
        return pa.array(values, type=typ, from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, OverflowError, TypeError) as exc:
        raise StorageTypeError(str(exc)) from exc


def _arrow_column(column: pd.Series, typ: pa.DataType) -> pa.Array:
    """One records column as one Arrow array of the given type (Arrow columns as they are)."""
    try:
        if isinstance(column.dtype, pd.ArrowDtype):
            arr = pa.array(column.array)
            if isinstance(arr, pa.ChunkedArray):
                arr = arr.combine_chunks()
        else:
            arr = pa.array(column.to_numpy(dtype=object), type=typ, from_pandas=True)
        return arr if arr.type == typ else arr.cast(typ)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError, OverflowError, TypeError) as exc:
        raise StorageTypeError(str(exc)) from exc


def n_hint(f: Field) -> str:
    """How to fill a missing required field, in words."""
    return {"date": "（格式如 2021-03-05）", "category": "（如 邻里矛盾、加装电梯）"}.get(f.type, "")


@cache
def record_schema(kind: LedgerKind) -> pa.Schema:
    """The records' columns: the kind's stored columns in storage order and Arrow types, source_row."""
    types = {f.name: arrow_type(f) for f in kind.fields}
    return pa.schema([(c, types.get(c, pa.large_string())) for c in kind.columns] + [("source_row", pa.int64())])


def _derive(columns: dict[str, pa.Array], source_row: pa.Array, kind: LedgerKind) -> pa.Table:
    """The records table: stored fields plus derived ids (person_id, name_masked, org_id, activity_id);
    names and phones (not stored) go no further."""
    if "person_id" in kind.derived:
        names = columns["name"]
        columns["person_id"] = person_id_array(columns["community"], names, columns["phone"],
                                               columns["building"], columns["compound"])
        encoded = pc.dictionary_encode(names)  # masked once per distinct name
        masked = [None if v is None else n.mask_name(v) for v in encoded.dictionary.to_pylist()]
        columns["name_masked"] = pa.array(masked, pa.large_string()).take(encoded.indices)
    for column, parts in kind.id_parts.items():
        columns[column] = joined_id_array(column[0].upper(), _joined(columns, parts))
    schema = record_schema(kind)
    return pa.Table.from_arrays([columns[c] for c in schema.names[:-1]] + [source_row], schema=schema)


def _derive_lists(values: dict[str, list[Any]], kind: LedgerKind) -> None:
    """_derive for columns of Python values, in place (the same ids: tests/test_privacy.py)."""
    if "person_id" in kind.derived:
        names = values["name"]
        values["person_id"] = person_ids(values["community"], names, values["phone"], values["building"],
                                         values["compound"])
        masked = {name: n.mask_name(name) for name in set(names) if name is not None}
        values["name_masked"] = [masked.get(name) for name in names]
    for column, parts in kind.id_parts.items():
        values[column] = stable_ids(column[0].upper(), [values[p] for p in parts])


def _joined(columns: dict[str, pa.Array], parts: tuple[str, ...]) -> pa.Array:
    """'|'.join(str(value) ...) of every row, built by Arrow: a blank is 'None' as str(None) is; text
    as it is; dates lie in 2000..today, so Arrow writes them as str() does."""
    arrays = []
    for part in parts:
        arr = columns[part]
        if not (pa.types.is_date32(arr.type) or pa.types.is_large_string(arr.type) or pa.types.is_string(arr.type)):
            arr = pa.array([str(v) for v in arr.to_pylist()], pa.large_string())  # no such id part today
        arrays.append(pc.fill_null(arr.cast(pa.large_string()), pa.scalar("None", pa.large_string())))
    return pc.binary_join_element_wise(*arrays, pa.scalar("|", pa.large_string()))
