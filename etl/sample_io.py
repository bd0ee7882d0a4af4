"""Write ledger sheets the way community clerks fill them in (titles, footers, odd dates, CSV encodings).

`write_ledger` and `write_ledger_csv` are the public helpers (also used by tests to build small
edge-case fixtures); `write_workbook` and `write_csv` take one `SheetLayout` per sheet and report
the row number the clerk sees for every data row written.
"""
from __future__ import annotations

import csv
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
import xlsxwriter

# Fixed document timestamp so that the same content gives byte-identical workbooks.
DOC_CREATED = datetime(2022, 6, 30, 9, 0, 0)
EXCEL_EPOCH = date(1899, 12, 30)
DEFAULT_REPORT_DATE = date(2022, 6, 30)

# Date styles: how a date value is put into a cell.
DATE_STYLES = ("excel", "serial", "iso", "slash", "dot", "cn", "compact", "fullwidth")
TEXT_DATE_STYLES = ("iso", "slash", "dot", "cn", "compact", "fullwidth")
MIXED = "mixed"  # a different style from cell to cell (cycled, deterministic)
EXCEL_DATE_FORMATS = ("yyyy-mm-dd", "yyyy/m/d", 'yyyy"年"m"月"d"日"')

_FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
SUM_HEADERS = ("参与人数", "人数", "参加人次", "资助金额", "金额", "扶持金额（元）", "成员数", "成员人数")


@dataclass
class SheetLayout:
    """Everything that decides how one sheet looks; `df` columns are the header texts to write."""

    name: str
    df: pd.DataFrame | None
    title: Sequence[str] = ()
    merge_title: bool = True
    footer_total: bool = False
    footer_lines: Sequence[str] = ()
    footer_one_row: bool = False
    blank_after: Iterable[int] = ()
    date_style: str = "excel"
    excel_date_format: str = "yyyy-mm-dd"
    aliases: Mapping[str, str] = field(default_factory=dict)
    column_order: Sequence[str] | None = None


def fmt_text_date(y: int, m: int, d: int, style: str) -> str:
    """Render year/month/day as text in a clerk's style (works for impossible dates too)."""
    if style == "iso":
        return f"{y:04d}-{m:02d}-{d:02d}"
    if style == "slash":
        return f"{y}/{m}/{d}"
    if style == "dot":
        return f"{y}.{m}.{d}"
    if style == "cn":
        return f"{y}年{m}月{d}日"
    if style == "compact":
        return f"{y:04d}{m:02d}{d:02d}"
    if style == "fullwidth":
        return f"{y}年{m}月{d}日".translate(_FULLWIDTH)
    raise ValueError(f"not a text date style: {style}")


def excel_serial(d: date) -> int:
    """The Excel serial number of a date (1900 date system)."""
    return (d - EXCEL_EPOCH).days


def cell_style(style: str, row: int, col: int) -> str:
    """The style used for one cell: the sheet's style, or a cycled one when it is 'mixed'."""
    if style != MIXED:
        return style
    return DATE_STYLES[(row * 3 + col) % len(DATE_STYLES)]


def is_blank(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and empty strings."""
    if value is None:
        return True
    if isinstance(value, str):
        return value == ""
    if isinstance(value, float):
        return value != value
    return value is pd.NA or value is pd.NaT


def as_date(value: Any) -> date | None:
    """The date in a cell value (date, datetime or Timestamp at midnight), else None."""
    if isinstance(value, pd.Timestamp):
        value = value.to_pydatetime()
    if isinstance(value, datetime):
        return value.date() if value.time() == datetime.min.time() else None
    if isinstance(value, date):
        return value
    return None


def ordered_frame(layout: SheetLayout) -> pd.DataFrame:
    """The sheet's frame with its column order and header aliases applied."""
    df = layout.df if layout.df is not None else pd.DataFrame()
    if layout.column_order is not None:
        df = df[list(layout.column_order)]
    if layout.aliases:
        df = df.rename(columns=dict(layout.aliases))
    return df


def frame_rows(df: pd.DataFrame) -> list[list[Any]]:
    """The frame's rows as lists of Python values (fast for object frames)."""
    return df.to_numpy(dtype=object).tolist()


def total_row(df: pd.DataFrame) -> list[Any]:
    """A 合计 row: sums under count/amount columns, else 共N条 in the second column."""
    row: list[Any] = [""] * len(df.columns)
    row[0] = "合计"
    summed = False
    columns = list(zip(*frame_rows(df))) or [()] * len(df.columns)
    for i, col in enumerate(df.columns):
        values = [v for v in columns[i] if not is_blank(v)]
        if col in SUM_HEADERS and values and all(isinstance(v, (int, float)) for v in values):
            row[i] = sum(values)
            summed = True
    if not summed and len(row) > 1:
        row[1] = f"共{len(df)}条"
    return row


def footer_rows(layout: SheetLayout, df: pd.DataFrame) -> list[list[Any]]:
    """Rows under the data: optional 合计 row, then signature lines (one row each, or side by side)."""
    rows: list[list[Any]] = []
    if layout.footer_total and len(df.columns) > 0:
        rows.append(total_row(df))
    lines = list(layout.footer_lines)
    if lines and layout.footer_one_row:
        gap = max(1, len(df.columns) // len(lines))
        row: list[Any] = [""] * (gap * (len(lines) - 1) + 1)
        for i, line in enumerate(lines):
            row[i * gap] = line
        rows.append(row)
    else:
        rows.extend([[line] for line in lines])
    return rows


def default_footer_lines(clerk: str = "陈丽娟", reviewer: str = "梁志强",
                         report_date: date = DEFAULT_REPORT_DATE) -> list[str]:
    """The usual 填表人 / 审核人 / 填报日期 lines."""
    return [f"填表人：{clerk}", f"审核人：{reviewer}", f"填报日期：{report_date.year}年{report_date.month}月{report_date.day}日"]


class _XlsxSheetWriter:
    """Writes one SheetLayout into an xlsxwriter worksheet and returns the data rows' numbers."""

    def __init__(self, workbook: xlsxwriter.Workbook, formats: dict[str, Any]) -> None:
        self.workbook = workbook
        self.formats = formats

    def write(self, layout: SheetLayout) -> list[int]:
        """Write the sheet; return the 1-based Excel row number of each data row, in frame order."""
        ws = self.workbook.add_worksheet(layout.name)
        df = ordered_frame(layout)
        if df.shape[1] == 0:
            return []
        ncols = len(df.columns)
        r = 0
        for text in layout.title:
            if layout.merge_title and ncols > 1:
                ws.merge_range(r, 0, r, ncols - 1, text, self.formats["title"])
            else:
                ws.write_string(r, 0, text, self.formats["title"])
            r += 1
        for c, header in enumerate(df.columns):
            ws.write_string(r, c, str(header), self.formats["header"])
            ws.set_column(c, c, max(8, min(30, 2 * len(str(header)) + 4)))
        r += 1
        blank_after = set(layout.blank_after)
        numbers: list[int] = []
        for i, values in enumerate(frame_rows(df)):
            numbers.append(r + 1)
            for c, value in enumerate(values):
                self._cell(ws, r, c, value, layout, i)
            r += 1
            if i in blank_after:
                r += 1
        for row in footer_rows(layout, df):
            for c, value in enumerate(row):
                if not is_blank(value):
                    self._plain(ws, r, c, value)
            r += 1
        return numbers

    def _plain(self, ws: Any, r: int, c: int, value: Any) -> None:
        if isinstance(value, bool):
            ws.write_boolean(r, c, value)
        elif isinstance(value, (int, float)):
            ws.write_number(r, c, value)
        else:
            ws.write_string(r, c, str(value))

    def _cell(self, ws: Any, r: int, c: int, value: Any, layout: SheetLayout, i: int) -> None:
        if is_blank(value):
            return
        d = as_date(value)
        if d is None:
            self._plain(ws, r, c, value)
            return
        style = cell_style(layout.date_style, i, c)
        if style == "excel":
            fmt = self.formats.get(layout.excel_date_format)
            if fmt is None:
                fmt = self.workbook.add_format({"num_format": layout.excel_date_format})
                self.formats[layout.excel_date_format] = fmt
            ws.write_datetime(r, c, datetime(d.year, d.month, d.day), fmt)
        elif style == "serial":
            ws.write_number(r, c, excel_serial(d))
        else:
            ws.write_string(r, c, fmt_text_date(d.year, d.month, d.day, style))


def new_workbook(path: Path) -> xlsxwriter.Workbook:
    """An in-memory xlsxwriter workbook with a fixed creation date (reproducible bytes)."""
    wb = xlsxwriter.Workbook(str(path), {"in_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    wb.set_properties({"created": DOC_CREATED, "author": "", "comments": "sample data / 样例数据"})
    return wb


def write_workbook(path: Path, layouts: Sequence[SheetLayout]) -> dict[str, list[int]]:
    """Write an xlsx workbook, one sheet per layout; return {sheet: [Excel row of each data row]}."""
    wb = new_workbook(path)
    formats = {
        "title": wb.add_format({"bold": True, "font_size": 14, "align": "center", "valign": "vcenter"}),
        "header": wb.add_format({"bold": True, "border": 1, "align": "center", "bg_color": "#DDEBF7"}),
    }
    writer = _XlsxSheetWriter(wb, formats)
    rows = {layout.name: writer.write(layout) for layout in layouts}
    wb.close()
    return rows


def csv_value(value: Any, style: str, row: int, col: int) -> str:
    """Text of one CSV field (dates as text in the given style; Excel-only styles fall back to ISO)."""
    if is_blank(value):
        return ""
    d = as_date(value)
    if d is None:
        if isinstance(value, float) and math.isfinite(value) and value.is_integer():
            return str(int(value))
        return str(value)
    style = cell_style(style, row, col)
    if style == "serial":
        return str(excel_serial(d))
    if style == "excel":
        style = "iso"
    return fmt_text_date(d.year, d.month, d.day, style)


def write_csv(path: Path, layout: SheetLayout, encoding: str = "utf-8-sig") -> list[int]:
    """Write one layout as CSV in the given encoding; return the 1-based line number of each data row."""
    df = ordered_frame(layout)
    ncols = max(len(df.columns), 1)
    lines: list[list[str]] = [[text] + [""] * (ncols - 1) for text in layout.title]
    lines.append([str(h) for h in df.columns])
    blank_after = set(layout.blank_after)
    numbers: list[int] = []
    for i, values in enumerate(frame_rows(df)):
        numbers.append(len(lines) + 1)
        lines.append([csv_value(v, layout.date_style, i, c) for c, v in enumerate(values)])
        if i in blank_after:
            lines.append([""] * ncols)
    for row in footer_rows(layout, df):
        lines.append([csv_value(v, "iso", 0, 0) for v in row] + [""] * (ncols - len(row)))
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    for line in lines:
        if any("\n" in field or "\r" in field for field in line):
            raise ValueError("CSV fields must not contain line breaks (row numbers would shift)")
        writer.writerow(line)
    Path(path).write_bytes(buf.getvalue().encode(encoding))
    return numbers


def _title_list(title: str | Sequence[str] | None) -> list[str]:
    """Normalise a title argument to a list of title rows."""
    if title is None:
        return []
    return [title] if isinstance(title, str) else list(title)


def write_ledger(path: Path, sheets: Mapping[str, pd.DataFrame | None], *,
                 title: str | Sequence[str] | None = None, footer: bool = True,
                 footer_total: bool | None = None, merge_title: bool = True,
                 blank_after: Iterable[int] = (), date_style: str = "excel",
                 excel_date_format: str = "yyyy-mm-dd", aliases: Mapping[str, str] | None = None,
                 column_order: Sequence[str] | None = None,
                 report_date: date = DEFAULT_REPORT_DATE) -> dict[str, list[int]]:
    """Write an xlsx ledger (same options on every sheet; None or an empty frame gives an empty sheet)."""
    layouts = [
        SheetLayout(name=name, df=df, title=_title_list(title), merge_title=merge_title,
                    footer_total=footer if footer_total is None else footer_total,
                    footer_lines=default_footer_lines(report_date=report_date) if footer else (),
                    blank_after=blank_after, date_style=date_style, excel_date_format=excel_date_format,
                    aliases=aliases or {}, column_order=column_order)
        for name, df in sheets.items()
    ]
    return write_workbook(Path(path), layouts)


def write_ledger_csv(path: Path, df: pd.DataFrame, *, encoding: str = "utf-8-sig",
                     title: str | Sequence[str] | None = None, footer: bool = False,
                     blank_after: Iterable[int] = (), date_style: str = "iso",
                     aliases: Mapping[str, str] | None = None,
                     column_order: Sequence[str] | None = None,
                     report_date: date = DEFAULT_REPORT_DATE) -> list[int]:
    """Write a CSV ledger in the given encoding; return the line number of each data row."""
    layout = SheetLayout(name="csv", df=df, title=_title_list(title), footer_total=footer,
                         footer_lines=default_footer_lines(report_date=report_date) if footer else (),
                         blank_after=blank_after, date_style=date_style, aliases=aliases or {},
                         column_order=column_order)
    return write_csv(Path(path), layout, encoding=encoding)
