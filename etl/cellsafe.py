"""One neutraliser for formula-like text, used by every spreadsheet the dashboard writes.

Text that a spreadsheet could take as a formula starts with ``=``, ``+``, ``-``, ``@``, a tab
or a carriage return (the OWASP "CSV injection" list). Data from ledgers and from SQL results
can hold such text (a 小区 called ``=HYPERLINK(...)``), so every writer goes through here:

* **xlsx** (xlsxwriter): :func:`workbook` switches off xlsxwriter's guessing
  (``strings_to_formulas``, ``strings_to_urls``, ``strings_to_numbers``), so even a plain
  ``write()`` of a string stores text; :class:`TextFormats` writes a string with
  ``write_string`` and gives formula-like text the "quote prefix" attribute, so it stays
  text when someone edits the cell.
* **CSV** has no cell types: :func:`neutralise` puts an apostrophe in front of formula-like text.

Writers: :mod:`chuangshu.export` (chart downloads, table exports, 即席查询 downloads),
:func:`chuangshu.intake.error_report` (the clerk's 问题说明), :mod:`etl.template` (the clerks'
templates), and :mod:`chuangshu.deck`
(the workbooks embedded behind the native charts of the 汇报导出 deck).
``tests/test_cellsafe.py`` fails if another prefix list or another way of opening an
xlsxwriter workbook appears. It lives in ``etl`` (which never imports the dashboard) so that
writers on both sides of the layer boundary share it.
"""
from __future__ import annotations

from typing import Any, BinaryIO

import xlsxwriter

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
SAFE_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False}


def is_formula_like(value: Any) -> bool:
    """True for text that a spreadsheet could take as a formula."""
    return isinstance(value, str) and value.startswith(FORMULA_PREFIXES)


def neutralise(value: Any) -> Any:
    """``'`` + value for formula-like text (CSV); anything else unchanged."""
    return "'" + value if is_formula_like(value) else value


def workbook(target: str | BinaryIO, **options: Any) -> xlsxwriter.Workbook:
    """An in-memory xlsxwriter workbook that never turns a string into a formula, link or number."""
    return xlsxwriter.Workbook(target, {"in_memory": True, **options, **SAFE_OPTIONS})


class TextFormats:
    """A workbook's cell formats by properties, each with a quote-prefixed twin for formula-like text."""

    def __init__(self, book: xlsxwriter.Workbook) -> None:
        self.book = book
        self._cache: dict[tuple, Any] = {}

    def get(self, quoted: bool = False, **props: Any) -> Any:
        """The format with ``props`` (plus the quote prefix if ``quoted``); None for no properties."""
        key = (quoted, tuple(sorted(props.items())))
        if key not in self._cache:
            wanted = {**props, **({"quote_prefix": True} if quoted else {})}
            self._cache[key] = self.book.add_format(wanted) if wanted else None
        return self._cache[key]

    def write(self, ws: Any, row: int, col: int, text: str, **props: Any) -> None:
        """``text`` as a text cell with ``props``; formula-like text also quote-prefixed."""
        ws.write_string(row, col, text, self.get(is_formula_like(text), **props))
