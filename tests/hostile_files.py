"""Hostile and faulty ledger files, built small by the tests themselves (issue 16).

Each builder returns (file name, bytes). Big-looking files are cheap here: a million-row workbook
is streamed row by row into a zip, a zip bomb is zeros that deflate a thousandfold.
"""
from __future__ import annotations

import io
import struct
import zipfile
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path

import xlsxwriter

HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
GOOD_ROWS = [["G-1", "桂南", "", "卫生", "2021-03-01", ""], ["G-2", "桂南社区", "", "纠纷", "2021-03-02", ""]]

CONTENT_TYPES = ('<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/'
                 'content-types"><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/'
                 'workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
                 '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
                 'officedocument.spreadsheetml.worksheet+xml"/></Types>')
RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>')
WORKBOOK = ('<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/'
            '2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets>'
            '<sheet name="台账" sheetId="1" r:id="rId1"/></sheets></workbook>')
WORKBOOK_RELS = ('<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/'
                 'officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>')
SHEET_HEAD = ('<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/'
              'spreadsheetml/2006/main"><sheetData>')
SHEET_TAIL = "</sheetData></worksheet>"


def csv_bytes(rows: Iterable[list[str]], encoding: str = "utf-8") -> bytes:
    return "".join(",".join(r) + "\r\n" for r in rows).encode(encoding)


def good_csv() -> tuple[str, bytes]:
    """Two loadable rows: what must still load next to every hostile file."""
    return "桂南社区_好台账.csv", csv_bytes([HEADER, *GOOD_ROWS])


def raw_xlsx(sheet_parts: Iterable[bytes], extra: dict[str, bytes] | None = None) -> bytes:
    """A minimal but valid xlsx whose one worksheet's XML is streamed from ``sheet_parts``."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", CONTENT_TYPES)
        z.writestr("_rels/.rels", RELS)
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            fh.write(SHEET_HEAD.encode())
            for part in sheet_parts:
                fh.write(part)
            fh.write(SHEET_TAIL.encode())
        for name, data in (extra or {}).items():
            z.writestr(name, data)
    return buffer.getvalue()


def _inline(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


def _header_row() -> bytes:
    return ('<row r="1">' + "".join(_inline(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADER)) + "</row>").encode()


def wide_csv(columns: int) -> tuple[str, bytes]:
    """The issue's 50 KB file: three headers and ``columns`` empty ones, one data row."""
    return f"宽_{columns}.csv", ("序号,事项编号,社区" + "," * columns + "\n1,X,桂南社区\n").encode()


def wide_ledger_csv(columns: int) -> tuple[str, bytes]:
    """A real ledger header followed by ``columns`` empty columns, and two rows (loads when limits are off)."""
    pad = "," * columns
    rows = [",".join(HEADER) + pad] + [",".join(r) + pad for r in GOOD_ROWS]
    return f"宽台账_{columns}.csv", ("\n".join(rows) + "\n").encode()


def bom_gbk_csv() -> tuple[str, bytes]:
    """GBK text with a UTF-8 byte-order mark in front (some tools add one to whatever they save)."""
    rows = [HEADER, ["B-1", "桂南社区", "翠林家园", "卫生", "2021-03-05", ""], ["B-2", "桂南", "", "纠纷", "2021年3月6日", ""]]
    text = "".join(",".join(r) + "\r\n" for r in rows)
    return "桂南社区_带BOM的GBK.csv", b"\xef\xbb\xbf" + text.encode("gb18030")


def xlsx_ledger(rows: list[list[object]]) -> bytes:
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("台账")
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value not in (None, ""):
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def xlsm() -> tuple[str, bytes]:
    """A real workbook saved under the macro-enabled name."""
    return "桂南社区_台账.xlsm", xlsx_ledger([HEADER, *GOOD_ROWS])


def macro_inside_xlsx() -> tuple[str, bytes]:
    """A macro-enabled workbook renamed .xlsx: the VBA project is still inside."""
    rows = b"".join([_header_row()])
    return "桂南社区_改名的宏.xlsx", raw_xlsx([rows], {"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0" + b"\0" * 512})


def million_row_xlsx(rows: int = 1_000_000) -> tuple[str, bytes]:
    """A workbook with a header and ``rows`` data rows, streamed into the zip (about 3 MB)."""
    def parts() -> Iterable[bytes]:
        yield _header_row()
        block = []
        for i in range(2, rows + 2):
            block.append(f'<row r="{i}"><c r="A{i}"><v>{i}</v></c></row>')
            if len(block) == 20_000:
                yield "".join(block).encode()
                block = []
        yield "".join(block).encode()
    return "桂南社区_百万行.xlsx", raw_xlsx(parts())


def million_row_csv(rows: int = 1_000_000) -> tuple[str, bytes]:
    """A header and a million short lines (2 MB: under the size limit, over the row limit)."""
    return "桂南社区_百万行.csv", (",".join(HEADER) + "\n").encode() + b"R\n" * rows


def single_cell_xlsx(megabytes: int = 10) -> tuple[str, bytes]:
    """One cell of 10 MB of the same character: the issue's 982× compression ratio."""
    text = "x" * (megabytes * 1024 * 1024)
    return "桂南社区_单格.xlsx", raw_xlsx([_header_row(), f'<row r="2">{_inline("A2", text)}</row>'.encode()])


def long_cell_csv(chars: int = 10 * 1024 * 1024) -> tuple[str, bytes]:
    """A ledger whose 事项描述 cell holds ``chars`` characters (10 MB by default)."""
    rows = [HEADER + ["事项描述"], ["L-1", "桂南", "", "卫生", "2021-03-01", "", "x" * chars]]
    return "桂南社区_长单元格.csv", csv_bytes(rows)


def long_cell_xlsx(chars: int = 40_000) -> tuple[str, bytes]:
    """An inline string longer than Excel allows in G2 (xlsxwriter would cut it at 32,767)."""
    head = ('<row r="1">' + "".join(_inline(f"{chr(65 + i)}1", h) for i, h in enumerate(HEADER + ["事项描述"]))
            + "</row>").encode()
    row = ('<row r="2">' + _inline("A2", "L-1") + _inline("B2", "桂南") + _inline("D2", "卫生")
           + _inline("E2", "2021-03-01") + _inline("G2", "长" * chars) + "</row>").encode()
    return "桂南社区_长单元格.xlsx", raw_xlsx([head, row])


def zip_bomb(megabytes: int = 300) -> tuple[str, bytes]:
    """``megabytes`` of zeros declared in the zip directory; the file itself is a few hundred KB."""
    block = b"0" * (1024 * 1024)
    return "桂南社区_炸弹.xlsx", raw_xlsx(block for _ in range(megabytes))


def far_cell_xlsx(ref: str = "XFD1048576") -> tuple[str, bytes]:
    """Two cells, A1 and ``ref``: under 1 KB, yet a grid from A1 to XFD1048576 has 17 billion cells
    (calamine aborts the whole process trying to allocate it)."""
    row = int("".join(ch for ch in ref if ch.isdigit()))
    return f"桂南社区_远端单元格_{ref}.xlsx", raw_xlsx([
        f'<row r="1">{_inline("A1", "事项编号")}</row><row r="{row}"><c r="{ref}"><v>1</v></c></row>'.encode()])


def far_cell_xls() -> tuple[str, bytes]:
    """An old .xls (5 KB) with a ledger in A1:E2 and one cell at IV65536, the format's last cell.

    tests/fixtures/far_cell.xls: written by xlsxwriter as .xlsx, then ``soffice --headless
    --convert-to xls``. An .xls gets no byte scan: the reader checks the sheet's size before it
    becomes a Python grid.
    """
    return "桂南社区_远端单元格.xls", (Path(__file__).parent / "fixtures" / "far_cell.xls").read_bytes()


def lying_member_xlsx() -> tuple[str, bytes]:
    """A worksheet whose zip entry claims 1,000 bytes but inflates to 5 MB."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", WORKBOOK)
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (5 * 1024 * 1024))
    data = bytearray(buffer.getvalue())
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        local = z.getinfo(name.decode()).header_offset
    central = next(i for i in range(len(data) - 4, 0, -1)
                   if data.startswith(b"PK\x01\x02", i) and data[i + 46:i + 46 + len(name)] == name)
    struct.pack_into("<I", data, local + 22, 1000)  # uncompressed size: 1,000 bytes, it says
    struct.pack_into("<I", data, central + 24, 1000)
    return "桂南社区_谎报大小.xlsx", bytes(data)


def odd_dates_xlsx() -> tuple[str, bytes]:
    """Dates a clerk can type into a date-formatted cell: −1 (Excel shows ####), 0 (1900-01-00),
    1900-01-01 00:00 as xlsxwriter writes it (serial 0), a bare time, and a good date."""
    buffer = io.BytesIO()
    book = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = book.add_worksheet("台账")
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    clock = book.add_format({"num_format": "hh:mm"})
    sheet.write_row(0, 0, HEADER)
    for r, (case_id, write) in enumerate([
            ("D-1", lambda row: sheet.write_number(row, 4, -1, day)),
            ("D-2", lambda row: sheet.write_number(row, 4, 0, day)),
            ("D-3", lambda row: sheet.write_datetime(row, 4, datetime(1900, 1, 1, 0, 0), stamp)),
            ("D-4", lambda row: sheet.write_number(row, 4, 0.5 + 1 / 48, clock)),
            ("D-5", lambda row: sheet.write_datetime(row, 4, datetime(2021, 3, 5), day))], start=1):
        sheet.write_row(r, 0, [case_id, "桂南", "", "卫生"])
        write(r)
    book.close()
    return "桂南社区_日期.xlsx", buffer.getvalue()
