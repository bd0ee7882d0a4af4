"""Downloads for every table and chart: DataFrame(s) to CSV or Excel bytes.

* CSV is UTF-8 with a byte-order mark, so Excel opens Chinese text correctly.
* Excel (xlsx, via xlsxwriter) writes every text cell explicitly as text, so nothing is
  ever turned into a formula, link or number; text that starts with ``= + - @`` (or a tab
  or carriage return) is additionally marked "quote prefix", so it stays text even when a
  user edits the cell.
* In CSV there is no cell type, so such text gets a leading apostrophe (the OWASP
  "CSV injection" advice); pass ``neutralise_formulas=False`` for a byte-exact export.

Both rules come from :mod:`chuangshu.cellsafe`, the one neutraliser every spreadsheet writer uses.
"""
from __future__ import annotations

import datetime as dt
import decimal
import io
import math
import re
import unicodedata
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from etl import cellsafe
from etl.cellsafe import FORMULA_PREFIXES, is_formula_like, neutralise  # noqa: F401 - re-exported

XLSX_MAX_ROWS = 1_048_576
XLSX_MAX_COLS = 16_384
_SHEET_BAD = re.compile(r"[\[\]:*?/\\]")
_EXACT_FLOAT = 2**53


# --------------------------------------------------------------------------- CSV


def to_csv_bytes(df: pd.DataFrame, *, index: bool = False, neutralise_formulas: bool = True) -> bytes:
    """``df`` as CSV in UTF-8 with BOM (Excel shows Chinese), CRLF line ends."""
    out = df.copy()
    if neutralise_formulas:
        out.columns = [neutralise(str(c)) for c in out.columns]
        for col in range(out.shape[1]):
            series = out.iloc[:, col]
            if series.dtype == object or pd.api.types.is_string_dtype(series.dtype):
                out.isetitem(col, series.map(neutralise, na_action="ignore").astype(object))
        if index:
            out.index = out.index.map(neutralise)
    text = out.to_csv(index=index, lineterminator="\r\n")
    return ("\ufeff" + text).encode("utf-8")


# --------------------------------------------------------------------------- Excel


def _sheet_names(names: list[str]) -> list[str]:
    seen: set[str] = set()
    out = []
    for i, raw in enumerate(names):
        name = _SHEET_BAD.sub("_", str(raw)).strip().strip("'")[:31] or f"Sheet{i + 1}"
        if name.lower() == "history":  # reserved by Excel
            name = "history_"
        base, n = name, 2
        while name.lower() in seen:
            suffix = f"_{n}"
            name = base[: 31 - len(suffix)] + suffix
            n += 1
        seen.add(name.lower())
        out.append(name)
    return out


def _display_width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _plain(value: Any) -> Any:
    """Unwrap numpy / pandas scalars; None for missing values."""
    if value is None or value is pd.NaT or value is pd.NA:
        return None
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _midnight_only(series: pd.Series) -> bool:
    values = series.dropna()
    if values.empty:
        return True
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_localize(None)
    return bool((values == values.dt.normalize()).all())


_HEADER = {"bold": True, "bg_color": "#EEF2F7", "border": 1, "text_wrap": True, "valign": "top"}


class _Writer:
    def __init__(self, workbook: Any) -> None:
        self.wb = workbook
        self.formats = cellsafe.TextFormats(workbook)
        self.date = workbook.add_format({"num_format": "yyyy-mm-dd"})
        self.datetime = workbook.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
        self.time = workbook.add_format({"num_format": "hh:mm:ss"})

    def text(self, ws, row: int, col: int, value: str) -> int:
        self.formats.write(ws, row, col, value)
        return _display_width(value[:200])

    def cell(self, ws, row: int, col: int, value: Any, date_only: bool) -> int:
        value = _plain(value)
        if value is None:
            return 0
        if isinstance(value, bool):
            ws.write_boolean(row, col, value)
            return 5
        if isinstance(value, int):
            if abs(value) >= _EXACT_FLOAT:  # would lose digits as an Excel number
                return self.text(ws, row, col, str(value))
            ws.write_number(row, col, value)
            return len(str(value))
        if isinstance(value, (float, decimal.Decimal)):
            number = float(value)
            if math.isnan(number) or math.isinf(number):
                return self.text(ws, row, col, str(value))
            ws.write_number(row, col, number)
            return min(len(repr(number)), 15)
        if isinstance(value, pd.Timestamp):
            value = value.tz_localize(None) if value.tzinfo else value
            value = value.to_pydatetime()
        if isinstance(value, dt.datetime):
            value = value.replace(tzinfo=None)
            if date_only:
                ws.write_datetime(row, col, value, self.date)
                return 10
            ws.write_datetime(row, col, value, self.datetime)
            return 19
        if isinstance(value, dt.date):
            ws.write_datetime(row, col, dt.datetime.combine(value, dt.time()), self.date)
            return 10
        if isinstance(value, dt.time):
            ws.write_datetime(row, col, value.replace(tzinfo=None), self.time)
            return 8
        if isinstance(value, pd.Timedelta):
            value = str(value)
        if isinstance(value, bytes):
            value = value.hex()
        if isinstance(value, np.ndarray):
            value = value.tolist()
        return self.text(ws, row, col, value if isinstance(value, str) else str(value))

    def sheet(self, name: str, df: pd.DataFrame, index: bool) -> None:
        if index:
            df = df.reset_index()
        if len(df) + 1 > XLSX_MAX_ROWS or df.shape[1] > XLSX_MAX_COLS:
            raise ValueError(f"数据太大，Excel 一张表最多 {XLSX_MAX_ROWS - 1:,} 行、{XLSX_MAX_COLS:,} 列")
        ws = self.wb.add_worksheet(name)
        widths = []
        for col, header in enumerate(df.columns):
            header = str(header)
            self.formats.write(ws, 0, col, header, **_HEADER)
            widths.append(_display_width(header))
        for col in range(df.shape[1]):
            series = df.iloc[:, col]
            date_only = pd.api.types.is_datetime64_any_dtype(series.dtype) and _midnight_only(series)
            width = widths[col]
            for row, value in enumerate(series.tolist(), start=1):
                width = max(width, self.cell(ws, row, col, value, date_only))
            ws.set_column(col, col, min(max(width + 2, 6), 60))
        ws.freeze_panes(1, 0)
        if len(df.columns):
            ws.autofilter(0, 0, max(len(df), 1), len(df.columns) - 1)


def to_xlsx_bytes(data: pd.DataFrame | Mapping[str, pd.DataFrame], *, sheet_name: str = "数据",
                  index: bool = False) -> bytes:
    """One DataFrame (one sheet) or ``{sheet name: DataFrame}`` as an .xlsx file."""
    frames = {sheet_name: data} if isinstance(data, pd.DataFrame) else dict(data)
    if not frames:
        frames = {sheet_name: pd.DataFrame()}
    buffer = io.BytesIO()
    workbook = cellsafe.workbook(buffer, remove_timezone=True)
    try:
        writer = _Writer(workbook)
        for name, df in zip(_sheet_names(list(frames)), frames.values()):
            writer.sheet(name, df, index)
    finally:
        workbook.close()
    return buffer.getvalue()


XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
CSV_MIME = "text/csv"
