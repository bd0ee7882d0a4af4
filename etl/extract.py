"""Extract: read ledger files into raw cell grids. Reads only; understands nothing yet.

Row numbers are the ones the clerk sees: the spreadsheet's own 1-based row number
(title rows counted) or the CSV's 1-based line number.
"""
from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
import python_calamine as calamine

from etl.budget import on_time
from etl.errors import LedgerError

if TYPE_CHECKING:
    from etl.limits import Limits

EXCEL_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".xlsb", ".ods"}
CSV_SUFFIXES = {".csv", ".txt"}
SUPPORTED = EXCEL_SUFFIXES | CSV_SUFFIXES
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENCRYPTION_MARK = "EncryptionInfo".encode("utf-16-le")


@dataclass
class RawSheet:
    """One sheet (or a whole CSV) as a grid of raw cells; row i is spreadsheet row i + 1."""

    sheet: str | None
    grid: list[list[Any]] | pd.DataFrame
    is_csv: bool = False

    def rows(self) -> int:
        return len(self.grid)


def ledger_files(paths: list[Path]) -> list[Path]:
    """Files to load from files and folders (recursively), in a stable order."""
    found: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*"))
                if p.is_file() and p.suffix.lower() in SUPPORTED and not p.name.startswith(("~$", "."))
            )
        else:
            found.append(path)
    return found


def read_sheets(path: Path, data: bytes | None = None, limits: Limits | None = None) -> Iterator[RawSheet]:
    """Every sheet of a workbook, or the one table of a CSV; raises LedgerError if unreadable.

    With ``limits``, a sheet whose grid would be too big is refused before it becomes one
    (Limits.check_shape: the only such check an old .xls gets before calamine reads it).
    """
    data = path.read_bytes() if data is None else data
    if not data:
        raise LedgerError("file_empty")
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        yield RawSheet(None, read_csv_grid(data, rows_up_to=SMALL_CSV_CELLS), is_csv=True)
        return
    if suffix not in EXCEL_SUFFIXES:
        raise LedgerError("file_unsupported", suffix=path.suffix or "无扩展名")
    if data.startswith(CFB_MAGIC) and ENCRYPTION_MARK in data:
        raise LedgerError("file_encrypted")
    try:
        workbook = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception:  # calamine raises several unrelated types for corrupt files
        raise LedgerError("file_not_workbook", detail="文件已损坏，或并非 Excel 格式") from None
    for name in workbook.sheet_names:
        on_time()
        try:
            sheet = workbook.get_sheet_by_name(name)
            end = sheet.end
        except Exception:
            raise LedgerError("file_not_workbook", detail=f"工作表「{name}」已损坏") from None
        if limits is not None and end is not None:  # the grid runs from A1 to the last cell with a value
            limits.check_shape(f"工作表「{name}」", end[0] + 1, end[1] + 1)
        try:
            grid = sheet.to_python(skip_empty_area=False)
        except Exception:
            raise LedgerError("file_not_workbook", detail=f"工作表「{name}」已损坏") from None
        yield RawSheet(name, grid)


def decode_text(data: bytes) -> str:
    """Decode a CSV: UTF-8 (with or without BOM), else GB18030 (a superset of GBK), else a guess.

    A UTF-8 byte-order mark in front of GBK text (some tools add one to whatever they save) does
    not make the text UTF-8: after the mark the same order applies, so such a file reads as GBK.
    """
    body = data[3:] if data.startswith(UTF8_BOM) else data
    for encoding in ("utf-8", "gb18030"):
        try:
            return body.decode(encoding)
        except UnicodeDecodeError:
            continue
    from charset_normalizer import from_bytes

    best = from_bytes(body).best()
    if best is None:
        raise LedgerError("file_encoding")
    return str(best)


def read_csv_grid(data: bytes, rows_up_to: int = 0) -> pd.DataFrame | list[list[str | None]]:
    """A CSV as a string grid, one row per physical line (blank lines kept, so numbers match).

    A DataFrame (column-wise, fast for long files), or a list of rows: for a file wider than
    WIDE_COLUMNS (a DataFrame pays per column, so 50,000 mostly empty columns would cost minutes
    where rows of Python strings cost milliseconds), and for one of at most ``rows_up_to`` cells
    (a small ledger: a DataFrame's fixed cost per file, some 20 ms, is most of its load). The rows
    hold the cells the DataFrame would (a missing cell is None); later steps accept both, with
    equal results (tests/test_load_paths.py, bench/load_oracle.py).
    """
    raw = data[3:] if data.startswith(UTF8_BOM) else data
    head = _utf8_head(raw)
    if head is not None:  # looks like UTF-8: try the fast reader on the bytes as they are
        delimiter, width = sniff_delimiter(head)
        table = _read_arrow(raw, delimiter, width) if width <= WIDE_COLUMNS else None
        if table is not None:
            if table.num_rows * table.num_columns <= rows_up_to:
                return _table_rows(table)
            frame = _arrow_frame(table, width)
            if frame is not None:
                return frame
    text = decode_text(data)
    if text.startswith("\ufeff"):
        text = text[1:]
    delimiter, width = sniff_delimiter(text[:SNIFF_CHARS])
    if width > WIDE_COLUMNS:
        return list(csv.reader(io.StringIO(text), delimiter=delimiter))
    try:
        frame = pd.read_csv(  # from bytes: pandas reads a text buffer ten times slower
            io.BytesIO(text.encode("utf-8")), encoding="utf-8", header=None, names=range(width), dtype=str,
            keep_default_na=False, skip_blank_lines=False, sep=delimiter, engine="c",
        )
    except pd.errors.EmptyDataError:  # nothing but blank lines
        frame = pd.DataFrame({0: [""] * len(text.splitlines())}, dtype=str)
    except pd.errors.ParserError:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
        width = max((len(r) for r in rows), default=1)
        if width > WIDE_COLUMNS:
            return rows
        frame = pd.DataFrame([r + [""] * (width - len(r)) for r in rows], dtype=str)
    if len(frame) * len(frame.columns) <= rows_up_to:
        return frame.to_numpy(dtype=object, na_value=None).tolist()
    return frame


SMALL_CSV_CELLS = 50_000  # a CSV of at most this many cells is read as rows (see read_csv_grid)


UTF8_BOM = b"\xef\xbb\xbf"
SNIFF_CHARS = 20000
WIDE_COLUMNS = 256  # wider CSVs are read as rows (see read_csv_grid)


def _utf8_head(raw: bytes) -> str | None:
    """The first SNIFF_CHARS characters if the file starts as valid UTF-8, else None."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        return decoder.decode(raw[: SNIFF_CHARS * 4], final=len(raw) <= SNIFF_CHARS * 4)[:SNIFF_CHARS]
    except UnicodeDecodeError:
        return None


def sniff_delimiter(head: str) -> tuple[str, int]:
    """Delimiter (comma or tab) and width from the first 50 lines."""
    sniff = head.splitlines()[:50]
    delimiter = ","
    if sniff and sum(line.count("\t") for line in sniff) > sum(line.count(",") for line in sniff):
        delimiter = "\t"
    width = max((len(r) for r in csv.reader(sniff, delimiter=delimiter)), default=1)
    return delimiter, max(width, 1)


def _read_rectangular(raw: bytes, delimiter: str, width: int) -> pd.DataFrame | None:
    """Fast path (pyarrow, multi-threaded) for UTF-8 files whose every line has ``width`` fields.

    Gives what the pandas path gives for such files (a blank line is a row of '' rather than
    of NaN: blank either way), or None (short or long lines, invalid UTF-8 further down,
    anything unusual) so that the general path reads the file.
    """
    table = _read_arrow(raw, delimiter, width)
    return None if table is None else _arrow_frame(table, width)


def _read_arrow(raw: bytes, delimiter: str, width: int):  # -> pa.Table | None (pyarrow imported lazily)
    """_read_rectangular's table, before it becomes a DataFrame (None where that gives None)."""
    import pyarrow as pa
    from pyarrow import csv as pacsv

    names = [str(i) for i in range(width)]
    try:
        table = pacsv.read_csv(
            io.BytesIO(raw),
            read_options=pacsv.ReadOptions(column_names=names, block_size=1 << 22),
            parse_options=pacsv.ParseOptions(delimiter=delimiter, newlines_in_values=b'"' in raw,
                                             ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={n: pa.large_string() for n in names},
                                                 strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, UnicodeDecodeError):
        return None
    if table.num_columns != width or table.num_rows == 0:
        return None
    return table


def _table_rows(table) -> list[list[str]]:  # table: pa.Table of strings
    """The rows of _read_arrow's table as lists of Python strings (what the DataFrame holds)."""
    return [list(row) for row in zip(*(column.to_pylist() for column in table.columns))]


def _arrow_frame(table, width: int) -> pd.DataFrame | None:
    """_read_arrow's table as the CSV frame."""
    # large_string (what pandas' str dtype holds) and one chunk per column: no conversion on the
    # way to pandas, and later steps work on each column without copying it again
    frame = table.combine_chunks().to_pandas()
    frame.columns = range(width)
    if not all(pd.api.types.is_string_dtype(frame[c].dtype) for c in frame.columns):
        return None
    return frame.astype(str)
