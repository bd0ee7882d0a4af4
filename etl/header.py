"""Find the header row of a sheet and the ledger kind it declares; slice off titles and footers;
recognise the clerks' template's example row and its instruction sheets (etl/template.py)."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

import pandas as pd

from etl.kinds import KINDS, LedgerKind
from etl.normalise import clean_text, is_blank

HEADER_SCAN_ROWS = 30
FOOTER_ALWAYS = ("合计", "总计", "小计")
FOOTER_LABELS = ("填表人", "审核人", "填报日期", "填报人", "制表人", "制表日期", "制表", "负责人",
                 "填报单位", "审核日期", "联系电话:", "联系人")
# The template's marks: a data row whose first field starts with EXAMPLE_MARK is the example row,
# a sheet whose first cell starts with TEMPLATE_MARK is its instructions or drop-down lists.
# The loader skips both (they are neither data nor rejects).
EXAMPLE_MARK = "【示例】"
TEMPLATE_MARK = "【创熟台账模板】"


_HEADER_MARKS = re.compile(r"[\s*:]")  # compiled once: header_key runs once per distinct text
_UNIT = re.compile(r"\(.*\)$")


def header_key(value: Any) -> str:
    """A header cell reduced to compare with the template: no spaces, marks or unit suffix."""
    text = unicodedata.normalize("NFKC", str(value or "")).strip()
    return _HEADER_MARKS.sub("", text)


def _alias_table(kind: LedgerKind) -> dict[str, str]:
    table: dict[str, str] = {}
    for f in kind.fields:
        for h in f.headers:
            table.setdefault(header_key(h), f.name)
            table.setdefault(_UNIT.sub("", header_key(h)), f.name)
    return table


ALIASES = {kind.name: _alias_table(kind) for kind in KINDS}
KNOWN_KEYS = frozenset(key for table in ALIASES.values() for key in table)  # any kind's header, reduced


@dataclass
class HeaderMatch:
    """Where the header is, which kind it declares, and which column holds which field."""

    kind: LedgerKind
    row_index: int  # 0-based index in the grid
    columns: dict[str, int]  # field name -> column index

    @property
    def score(self) -> tuple[int, int]:
        return (len(self.columns), -self.row_index)


def header_keys(cells: list[Any]) -> list[str]:
    """header_key of every cell of a row, plus the form without a trailing (unit)."""
    return [_cell_key(c) if isinstance(c, str) and not c.isspace() and c else "" for c in cells]


_KEYS: dict[str, str] = {}


def _cell_key(text: str) -> str:
    """header_key of a text cell, remembered (sheets repeat their headers and values)."""
    key = _KEYS.get(text)
    if key is None:
        if len(_KEYS) > 100_000:
            _KEYS.clear()
        key = _KEYS[text] = header_key(text)
    return key


def _may_match(keys: list[str]) -> bool:
    """Whether any cell of a row could be a header of some kind (match_row finds nothing otherwise)."""
    for key in keys:
        if key and (key in KNOWN_KEYS or ("(" in key and _UNIT.sub("", key) in KNOWN_KEYS)):
            return True
    return False


_KNOWN_TEXTS: dict[str, bool] = {}


def _known_text(text: str) -> bool:
    """_may_match([header_key(text)]) for one text cell, remembered (sheets repeat their values)."""
    known = _KNOWN_TEXTS.get(text)
    if known is None:
        if len(_KNOWN_TEXTS) > 100_000:
            _KNOWN_TEXTS.clear()
        known = _KNOWN_TEXTS[text] = _may_match([_cell_key(text)])
    return known


def match_row(cells: list[Any], kind: LedgerKind, keys: list[str] | None = None) -> dict[str, int]:
    """Field -> column index for the header cells of one row that this kind knows."""
    table = ALIASES[kind.name]
    found: dict[str, int] = {}
    for index, key in enumerate(keys if keys is not None else header_keys(cells)):
        if not key:
            continue
        name = table.get(key) or (table.get(_UNIT.sub("", key)) if "(" in key else None)
        if name and name not in found:
            found[name] = index
    return found


def find_header(rows: list[list[Any]]) -> tuple[HeaderMatch | None, str]:
    """Best header in the first rows, or None with what was missing (for the message)."""
    best: HeaderMatch | None = None
    near: tuple[int, LedgerKind, dict[str, int]] | None = None
    for index, cells in enumerate(rows[:HEADER_SCAN_ROWS]):
        texts = [c for c in cells if isinstance(c, str) and c.strip()]
        if len(texts) < 2:
            continue
        # = _may_match(header_keys(cells)): the text cells are the ones with a key; each distinct
        # text's answer is remembered, so a data row costs a lookup per cell, not a list of keys
        known = list(map(_KNOWN_TEXTS.get, texts))  # True, False or None (not seen yet), without a call each
        if True not in known and (None not in known or not any(
                _known_text(t) for t, k in zip(texts, known) if k is None)):
            continue  # no kind knows any of its cells: no candidate, not even a near one
        keys = header_keys(cells)
        for kind in KINDS:
            columns = match_row(cells, kind, keys)
            if all(f.name in columns for f in kind.required):
                candidate = HeaderMatch(kind, index, columns)
                if best is None or candidate.score > best.score:
                    best = candidate
            elif columns and (near is None or len(columns) > len(near[2])):
                near = (index, kind, columns)
    if best is not None:
        return best, ""
    if near is None:
        return None, "前 30 行中没有台账表头"
    _, kind, columns = near
    missing = "、".join(f.header for f in kind.required if f.name not in columns)
    return None, f"疑似{kind.title}，缺少必填列：{missing}"


def is_template_sheet(rows: list[list[Any]]) -> bool:
    """A sheet of the clerks' template that holds no data (填写说明, 下拉选项): its first cell is marked."""
    first = rows[0][0] if rows and rows[0] else None
    return isinstance(first, str) and clean_text(first).startswith(TEMPLATE_MARK)


def is_example(value: Any) -> bool:
    """The first field's cell of the template's example row (spaces before the mark allowed)."""
    return isinstance(value, str) and value.lstrip().startswith(EXAMPLE_MARK)


def is_footer(cells: list[Any]) -> bool:
    """合计/总计 rows and 「填表人：」-style signature lines below the data."""
    values = [clean_text(c) for c in cells if not is_blank(c)]
    if not values:
        return False
    first = values[0].replace(" ", "")
    if first.startswith(FOOTER_ALWAYS):
        return True
    if not first.startswith(FOOTER_LABELS):
        return False
    # 「填表人：」「张三」「审核人：」「李四」「填报日期：」「2021-12-31」: labels and their values
    labels = sum(v.replace(" ", "").startswith(FOOTER_LABELS) for v in values)
    return len(values) <= 4 or 2 * labels >= len(values)


def grid_rows(grid: list[list[Any]] | pd.DataFrame) -> list[list[Any]]:
    """The first rows of a grid as lists (for header scanning)."""
    if isinstance(grid, pd.DataFrame):
        return grid.head(HEADER_SCAN_ROWS).to_numpy(dtype=object).tolist()
    return grid[:HEADER_SCAN_ROWS]
