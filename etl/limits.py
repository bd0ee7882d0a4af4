"""Intake limits: what one ledger file may be, checked before it is parsed. One place for all callers.

The 数据上报 page, the CLI (``python -m etl load``) and any other caller of the loader apply the
same :class:`Limits` (``LIMITS`` by default; the office may widen or drop them on the command
line only: ``--limit rows=500000``, ``--no-limits``). docs/intake.md lists them. Three stages:

1. :func:`check_file` looks at the bytes only: the file type (from the content, not the name),
   the size, and for a workbook its zip directory (declared sizes, compression ratio, entries,
   macros), its sheets, and per worksheet the rows and columns its cells occupy — found while
   every member is decompressed once in a bounded stream (a member that lies about its size is
   caught as damage), *before* calamine builds a grid of that size; for a CSV its lines and
   fields per line. The work is linear in the bytes and never grows with a cell count that the
   file only claims to have.
2. :meth:`Limits.check_shape` (called by the reader before a sheet becomes a Python grid; the
   only check an old .xls gets before that) and :func:`check_grid` (on each grid, before
   header detection): rows, columns, cells and the length of every cell.
3. A per-file time budget (etl/budget.py), spent across every step of ``parse_file``.

Every refusal is a :class:`Refused` (a LedgerError with a Chinese message from etl/messages.py),
so to the loader a refused file is one that cannot be read: it is reported by name with its
reason and the other files load.
"""
from __future__ import annotations

import csv
import io
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from etl.budget import on_time
from etl.errors import LedgerError, Problem
from etl.extract import CFB_MAGIC, ENCRYPTION_MARK, decode_text, sniff_delimiter

MB = 1024 * 1024
EXCEL_CELL_CHARS = 32_767  # the most characters Excel itself lets a cell hold


@dataclass(frozen=True)
class Limits:
    """What one ledger file may be; checked before it is parsed (see the module docstring)."""

    file_bytes: int = 20 * MB  # per file, as sent
    files: int = 20  # per upload on the 数据上报 page (the CLI loads whole folders)
    sheets: int = 50  # per workbook
    rows: int = 200_000  # per sheet: the last row holding a value (CSV: lines)
    columns: int = 1_000  # per sheet: the last column holding a value (CSV: fields per line)
    cells: int = 5_000_000  # per sheet: rows × columns, the grid the reader builds
    cell_chars: int = EXCEL_CELL_CHARS  # per cell
    unzipped_bytes: int = 200 * MB  # xlsx: sum of the members' uncompressed sizes
    ratio: float = 100.0  # xlsx: uncompressed / compressed, per member of at least ratio_floor bytes
    ratio_floor: int = 1 * MB
    members: int = 2_000  # xlsx: zip entries
    seconds: float = 60.0  # per file: checking, reading and parsing together

    @property
    def upload_mb(self) -> int:
        """The per-file size (whole MB) for st.file_uploader, which the browser enforces."""
        return max(1, -(-self.file_bytes // MB))

    def check_shape(self, where: str, rows: int, columns: int, partial: bool = False) -> None:
        """Refuse a sheet (``where``: 「工作表「2021」」 or 「文件」) whose grid would be too big.

        ``partial``: the sheet was measured only in part (refused before reading it all), so the
        message says 「至少有」.
        """
        has = "至少有" if partial else "有"
        if rows > self.rows:
            raise Refused("too_many_rows", where=where, has=has, rows=f"{rows:,}", limit=f"{self.rows:,}")
        if columns > self.columns:
            raise Refused("too_many_columns", where=where, has=has, columns=f"{columns:,}",
                          limit=f"{self.columns:,}")
        if rows * columns > self.cells:
            raise Refused("too_many_cells", where=where, has=has, rows=f"{rows:,}", columns=f"{columns:,}",
                          cells=f"{rows * columns:,}", limit=f"{self.cells:,}")


LIMITS = Limits()
ACCEPTED = (".xlsx", ".xls", ".csv", ".txt")  # .txt: tab- or comma-separated text, read as a CSV
TEXT_SUFFIXES = (".csv", ".txt")
OTHER_FORMATS = {".xlsm": ("macro", ".xlsm"), ".xltm": ("macro", ".xltm"),
                 ".xlsb": ("other", "二进制格式的 Excel 工作簿（.xlsb）"), ".xltx": ("other", "Excel 模板（.xltx）"),
                 ".ods": ("other", "OpenDocument 表格（.ods）"), ".et": ("other", "WPS 表格文件（.et）"),
                 ".numbers": ("other", "Numbers 表格（.numbers）")}

# Formats recognised by their first bytes, for a clear message when a file was renamed.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"), (b"BM", "BMP 图片"), (b"%PDF", "PDF 文档"), (b"MZ", "Windows 程序（.exe）"),
    (b"\x7fELF", "程序文件"), (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"), (b"{\\rtf", "RTF 文档"), (b"ID3", "音频文件"),
)
# Problem codes that mean "refused by the limits or the file type" (the page's 已拒收), as opposed
# to a file that was read but holds no ledger (无法读取).
REFUSAL_CODES = frozenset({
    "file_empty", "file_unsupported", "file_encrypted", "file_macro", "file_other_format", "file_too_large",
    "file_disguised", "file_workbook_as_csv", "file_text_as_workbook", "file_not_xlsx", "file_damaged",
    "zip_abnormal", "zip_too_big", "zip_ratio", "too_many_sheets", "too_many_rows", "too_many_columns",
    "too_many_cells", "cell_too_long", "file_too_slow"})


class Refused(LedgerError):
    """A file that is not parsed at all; ``str(exc)`` is the Chinese reason."""


def is_refusal(problem: Problem | None) -> bool:
    """True when a file's problem is a refusal by the limits or the file type."""
    return problem is not None and problem.code in REFUSAL_CODES


def size_text(n: int) -> str:
    """Bytes as a reader says them: 20.0 MB, 12 KB, 300 字节."""
    return f"{n / MB:.1f} MB" if n >= MB / 10 else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} 字节"


def sniff(data: bytes) -> str:
    """What the bytes are: 'zip', 'cfb', 'text' or a human name of another format."""
    if data.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return "zip"
    if data.startswith(CFB_MAGIC):
        return "cfb"
    for magic, name in MAGIC:
        if data.startswith(magic):
            return name
    if data.startswith(b"RIFF") and data[8:12] in (b"WEBP", b"AVI ", b"WAVE"):
        return "图片或音视频文件"
    if b"\x00" in data[:65536] and not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "二进制文件"
    return "text"


def _spaced(what: str) -> str:
    """「PNG 图片」reads 「文件内容是 PNG 图片」: a space before a Latin word after Chinese."""
    return " " + what if what[:1].isascii() else what


# ------------------------------------------------------------------ stage 1: the bytes

def check_file(name: str, data: bytes, limits: Limits = LIMITS) -> None:
    """Raise Refused with a Chinese reason if this file must not be parsed; return if it may."""
    suffix = Path(name).suffix.lower()
    if suffix in OTHER_FORMATS:
        kind, what = OTHER_FORMATS[suffix]
        raise Refused("file_macro" if kind == "macro" else "file_other_format", what=what)
    if suffix not in ACCEPTED:
        raise Refused("file_unsupported", suffix=suffix or "无扩展名")
    if not data:
        raise Refused("file_empty")
    if len(data) > limits.file_bytes:
        raise Refused("file_too_large", size=size_text(len(data)), limit=size_text(limits.file_bytes))
    kind = sniff(data)
    if suffix in TEXT_SUFFIXES:
        if kind in ("zip", "cfb"):
            raise Refused("file_workbook_as_csv")
        if kind != "text":
            raise Refused("file_disguised", what=_spaced(kind), expected="CSV")
        _check_text(data, limits)
        return
    if kind == "text":
        raise Refused("file_text_as_workbook", suffix=suffix)
    if kind == "cfb":
        _check_cfb(data, limits)
        return
    if kind != "zip":
        raise Refused("file_disguised", what=_spaced(kind), expected="Excel")
    _check_zip(data, limits)


def _check_text(data: bytes, limits: Limits) -> None:
    """A CSV: lines, and fields per line (commas or tabs; quoted ones counted exactly only when needed)."""
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    if lines > limits.rows:
        raise Refused("too_many_rows", where="文件", has="有", rows=f"{lines:,}", limit=f"{limits.rows:,}")
    # an upper bound: a comma or tab byte never occurs inside a UTF-8 or GB18030 character
    widest = max(max(line.count(b","), line.count(b"\t")) for line in data.split(b"\n")) + 1
    if widest <= limits.columns and lines * widest <= limits.cells:
        return
    on_time()
    text = decode_text(data)  # some separators may be quoted: count the fields as the reader will
    delimiter, _ = sniff_delimiter(text[:20000])
    widest = max((len(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)), default=1)
    limits.check_shape("文件", lines, widest)


def _check_cfb(data: bytes, limits: Limits) -> None:
    """An OLE compound file: an old .xls workbook, an encrypted xlsx, or a Word/PowerPoint file.

    The sheets' rows and columns are checked by the reader (Limits.check_shape) before each
    sheet becomes a grid; an .xls holds at most 65,536 × 256 cells a sheet by its format.
    """
    if ENCRYPTION_MARK in data:
        raise Refused("file_encrypted")
    if "WordDocument".encode("utf-16-le") in data:
        raise Refused("file_disguised", what="Word 文档", expected="Excel")
    if "Workbook".encode("utf-16-le") not in data and "Book".encode("utf-16-le") not in data:
        raise Refused("file_not_workbook", detail="文件不是 Excel 格式")
    import python_calamine as calamine

    try:
        names = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
    except Exception:  # calamine raises several unrelated types for corrupt files
        raise Refused("file_not_workbook", detail="文件已损坏，或并非 Excel 格式") from None
    if len(names) > limits.sheets:
        raise Refused("too_many_sheets", sheets=len(names), limit=limits.sheets)


ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError,
              ValueError, OSError)


def _check_zip(data: bytes, limits: Limits) -> None:
    """Measure an xlsx before calamine opens it: declared sizes, ratio, macros, sheets, rows and columns.

    Every member is then decompressed once in a bounded stream (never more than its declared
    size, CRC checked), so a member that lies about its size is caught as damage, and each
    worksheet's used rows and columns are found on the way (:class:`SheetScan`).
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except ZIP_ERRORS:
        raise Refused("file_damaged", detail="压缩结构无法读取") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        what = ("Word 文档" if "word/document.xml" in names else "PowerPoint 演示文稿" if "ppt/presentation.xml" in names
                else "WPS 或 OpenDocument 表格" if "content.xml" in names else
                "二进制格式的 Excel 工作簿（.xlsb）" if "xl/workbook.bin" in names else "ZIP 压缩包")
        raise Refused("file_not_xlsx", what=what)
    if any(n.lower().endswith("vbaproject.bin") for n in names):
        raise Refused("file_macro", what="文件中含有宏代码")
    if len(members) > limits.members:
        raise Refused("zip_abnormal", detail=f"含 {len(members):,} 个部件")
    total = sum(m.file_size for m in members)
    if total > limits.unzipped_bytes:
        raise Refused("zip_too_big", size=size_text(total), limit=size_text(limits.unzipped_bytes))
    for m in members:
        if m.file_size >= limits.ratio_floor and m.file_size > limits.ratio * max(m.compress_size, 1):
            raise Refused("zip_ratio", ratio=f"{m.file_size / max(m.compress_size, 1):,.0f}")
    sheets = _sheet_names(archive, data)
    if len(sheets) > limits.sheets:
        raise Refused("too_many_sheets", sheets=len(sheets), limit=limits.sheets)
    read = [archive.NameToInfo.get(name) for name in SHEET_LIST_PARTS]  # the very entries _sheet_names read
    try:
        for m in members:
            if m is read[0] or m is read[1]:  # read whole by _sheet_names (size capped, CRC checked)
                continue
            is_sheet = m.filename.startswith("xl/worksheets/") and m.filename.endswith(".xml")
            label = f"工作表「{sheets[m.filename]}」" if m.filename in sheets else "有一个工作表"
            _stream(archive, m, SheetScan() if is_sheet else None, limits, label, data)
    except ZIP_ERRORS:
        raise Refused("file_damaged", detail="部分内容无法解压") from None


def _stream(archive: zipfile.ZipFile, member: zipfile.ZipInfo, scan: SheetScan | None, limits: Limits,
            label: str, data: bytes | None = None) -> None:
    """Decompress one member in 1 MB chunks (zipfile stops at the declared size and checks the CRC);
    a worksheet is measured on the way and refused as soon as its bounds pass the limits.

    A small member that _member_content finds whole and intact (``data``: the archive's bytes) and
    that is no worksheet, or a worksheet within_limits, needs no more; anything else goes through
    zipfile, which gives the reason."""
    if data is not None and member.file_size < MB:
        content = _member_content(archive, member, data)
        if content is not None:
            on_time()
            if scan is None or within_limits(content, limits):
                return
    with archive.open(member) as fh:
        chunk = fh.read(MB)
        if scan is not None and len(chunk) < MB and within_limits(chunk, limits):
            return  # the whole member in one chunk (CRC checked), whose bounds cannot pass the limits
        while chunk:
            on_time()
            if scan is not None:
                scan.feed(chunk)
            chunk = fh.read(MB)
            if scan is not None and chunk:  # bounds only grow: refuse before reading the rest
                limits.check_shape(label, *scan.bounds(), partial=True)
    if scan is not None:
        scan.close()
        limits.check_shape(label, *scan.bounds())


def _member_content(archive: zipfile.ZipFile, member: zipfile.ZipInfo, data: bytes) -> bytes | None:
    """A stored or deflated member's bytes, decompressed straight from the archive's bytes, when they
    are exactly its declared size and match its CRC; None for anything else (then zipfile reads it).

    What zipfile.open and its reader check, without their cost per member (a workbook has a dozen):
    the local header's signature and file name, no encryption or patched data, at most the declared
    compressed bytes in and the declared size out. Whatever this accepts, zipfile accepts too."""
    if member.flag_bits & 0x61 or member.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        return None  # encrypted (bit 0), compressed patched data (bit 5), strong encryption (bit 6)
    offset = member.header_offset
    head = data[offset:offset + 30]
    if len(head) != 30 or head[:4] != b"PK\x03\x04":
        return None
    flags, name_length, extra_length = struct.unpack("<6xH18xHH", head)
    try:
        name = data[offset + 30:offset + 30 + name_length].decode(
            "utf-8" if flags & 0x800 else archive.metadata_encoding or "cp437")
    except UnicodeDecodeError:
        return None
    if name != member.orig_filename:
        return None
    start = offset + 30 + name_length + extra_length
    raw = data[start:start + member.compress_size]
    if len(raw) != member.compress_size:
        return None
    if member.compress_type == zipfile.ZIP_STORED:
        content = raw[:member.file_size]
    else:
        try:
            content = zlib.decompressobj(-15).decompress(raw, member.file_size)
        except zlib.error:
            return None
    if len(content) != member.file_size or zlib.crc32(content) != member.CRC:
        return None
    return content


def within_limits(xml: bytes, limits: Limits) -> bool:
    """True when a whole worksheet's XML certainly gives a grid within ``limits``: every cell's
    first attribute is its reference (with a column letter, as Excel, WPS and xlsxwriter write),
    and no reference anywhere has more column letters or row digits than the limits allow.

    A few searches that find nothing in a usual sheet, instead of reading every reference: the
    bounds SheetScan would find are then at most those (every cell placed by its reference,
    rows < 10 ** digits, columns ≤ 26 ** letters...), so it would not refuse. False means only
    "measure it" (SheetScan gives the exact bounds and the message)."""
    # letters as "A", digits as "0": the searches below are plain substrings; the spaces and quotes
    # as _normalise_xml makes them, which is all it does unless one of _UNUSUAL is left
    shape = xml.translate(_SHAPE_SPACED)
    if _maybe_unusual(shape):
        shape = _normalise_xml(xml).translate(_SHAPE)
    cells = shape.count(b"<c ") + shape.count(b"<c>") + shape.count(b"<c/")  # = len(_CELL_START.findall(text))
    if shape.count(b'<c r="A') != cells:  # some cell's first attribute is not a reference with a column
        return False
    letters = 1 if b' r="AA' not in shape else 2 if b' r="AAA' not in shape else 0
    if not letters:
        return False
    columns = 26 if letters == 1 else 26 + 26 * 26  # Z, ZZ
    for digits in range(2, 8):  # the fewest digits that no reference's row exceeds
        longer = b"0" * (digits + 1)
        if b' r="A' + longer not in shape and (letters == 1 or b' r="AA' + longer not in shape):
            rows = 10 ** digits - 1
            return rows <= limits.rows and columns <= limits.columns and rows * columns <= limits.cells
    return False


_SHAPE = bytes.maketrans(bytes(range(65, 91)) + b"0123456789", b"A" * 26 + b"0" * 10)
_SHAPE_SPACED = bytes.maketrans(bytes(range(65, 91)) + b"0123456789\t\r\n'", b"A" * 26 + b"0" * 10 + b'   "')
_UNUSUAL = re.compile(rb"  | =|= |:c[ >/]|:row")  # what _normalise_xml changes after its translate
_EQUALS_AS_SPACE = bytes.maketrans(b"=", b" ")
_PREFIXED_CELL = re.compile(rb":(?:c[ >/]|row)")


def _maybe_unusual(shape: bytes) -> bool:
    """True whenever _UNUSUAL would find something in ``shape`` (and rarely when it would not: "==").

    One translate and two searches, a third of the regular expression's time: its alternatives
    have no common first byte, so it tries them at every byte; with "=" as a space, "  ", " =" and
    "= " are one substring, and the prefixed cells and rows start with a ":", which is rare."""
    return b"  " in shape.translate(_EQUALS_AS_SPACE) or _PREFIXED_CELL.search(shape) is not None


# Worksheet XML is scanned with numpy over each chunk rather than with regular expressions: a
# regex that creates one match object per cell costs seconds on a 60 MB sheet, this costs about
# what decompressing does. To make every valid spelling of an attribute look the same first,
# tabs and line breaks become spaces, single quotes double ones, runs of spaces one space, spaces
# around "=" go, and element prefixes (<x:c …>) are dropped.
_WS_QUOTES = bytes.maketrans(b"\t\r\n'", b'   "')
_PREFIXED = re.compile(rb"<(/?)[A-Za-z][\w.-]{0,31}:")
MAX_TAG = 64 * 1024  # no tag of a real worksheet comes near this
REF_BYTES = 12  # "XFD1048576" is 10: anything longer is beyond any spreadsheet
HUGE = 10 ** 12


def _normalise_xml(part: bytes) -> bytes:
    text = part.translate(_WS_QUOTES)
    while b"  " in text:
        text = text.replace(b"  ", b" ")
    text = text.replace(b" =", b"=").replace(b"= ", b"=")
    if any(name in text for name in (b":c ", b":c>", b":c/", b":row")):  # a prefixed <x:c> or <x:row>
        text = _PREFIXED.sub(rb"<\1", text)
    return text


def _complete(tail: bytes) -> bool:
    """Whether the markup that starts ``tail`` (at a "<") is closed: a ">" outside quoted attribute
    values (a ">" inside one does not close the tag). Reads at most MAX_TAG bytes."""
    quote = 0
    for byte in tail[:MAX_TAG]:
        if quote:
            if byte == quote:
                quote = 0
        elif byte in (34, 39):
            quote = byte
        elif byte == 62:
            return True
    return False


def _tag_starts(buf: np.ndarray, name: bytes) -> np.ndarray:
    """Positions of ``<name`` followed by a space, ">" or "/" (an element, not a longer name)."""
    width = len(name) + 2
    if len(buf) < width:
        return np.zeros(0, dtype=np.int64)
    hit = buf[: len(buf) - width + 1] == 60
    for i, byte in enumerate(name, start=1):
        hit &= buf[i: len(buf) - width + 1 + i] == byte
    end = buf[width - 1:]
    hit &= (end == 32) | (end == 62) | (end == 47)
    return np.flatnonzero(hit)


_COLUMN = np.arange(REF_BYTES)
_POW26 = 26 ** np.arange(4, dtype=np.int64)
_POW10 = 10 ** np.arange(10, dtype=np.int64)


def _refs(buf: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every ` r="…"` attribute: (position, column number or 0, row number); beyond-Excel values are HUGE."""
    n = len(buf)
    if n < 5:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty
    hit = (buf[:-4] == 32) & (buf[1:-3] == 114) & (buf[2:-2] == 61) & (buf[3:-1] == 34)
    at = np.flatnonzero(hit)
    index = at[:, None] + 4 + _COLUMN
    win = np.where(index < n, buf[np.minimum(index, n - 1)], 0).astype(np.int64)
    letter = (win >= 65) & (win <= 90)
    n_letters = np.where(letter.all(axis=1), REF_BYTES, np.argmin(letter, axis=1))
    stop = (_COLUMN >= n_letters[:, None]) & ~((win >= 48) & (win <= 57))
    end = np.where(stop.any(axis=1), np.argmax(stop, axis=1), REF_BYTES)
    # column: the letters as base-26 digits; row: up to 9 decimal digits after them
    used = np.minimum(n_letters, 3)[:, None]
    places = used - 1 - _COLUMN
    column = np.where(places >= 0, (win - 64) * _POW26[np.clip(places, 0, 3)], 0).sum(axis=1)
    last = np.minimum(end, n_letters + 9)[:, None]
    places = last - 1 - _COLUMN
    in_row = (_COLUMN >= n_letters[:, None]) & (places >= 0)
    row = np.where(in_row, (win - 48) * _POW10[np.clip(places, 0, 9)], 0).sum(axis=1)
    column[n_letters > 3] = HUGE
    row[end - n_letters > 7] = HUGE
    return at, column, row


def _with_attr(starts: np.ndarray, attrs: np.ndarray, closes: np.ndarray) -> np.ndarray:
    """For each tag start, whether one of ``attrs`` (positions) lies inside that tag."""
    if not len(starts):
        return np.zeros(0, dtype=bool)
    close = closes[np.minimum(np.searchsorted(closes, starts), len(closes) - 1)]
    if not len(attrs):
        return np.zeros(len(starts), dtype=bool)
    first = attrs[np.minimum(np.searchsorted(attrs, starts), len(attrs) - 1)]
    return (first > starts) & (first < close)


@dataclass
class Measure:
    """What one part of a worksheet's XML holds (see SheetScan); ``refless``: cells without a
    reference per row segment, the first segment being what precedes the part's first <row>."""

    max_column: int
    max_row: int
    max_row_tag: int
    rows_without_ref: int
    refless: list[int]


def _measure(text: bytes) -> Measure:
    """What one part of normalised worksheet XML holds: by regular expressions for a small part
    in the usual shape (_measure_small), else vectorised with numpy (_measure_numpy)."""
    if len(text) <= SMALL_PART:
        found = _measure_small(text)
        if found is not None:
            return found
    return _measure_numpy(text)


SMALL_PART = 256 * 1024  # bytes: a real ledger's sheet (two dozen rows) is a few kilobytes
_REF_PARTS = re.compile(rb' r="([A-Z]*)([0-9]*)')
_ROW_START = re.compile(rb"<row(?=[ >/])")
_ROW_WITH_REF = re.compile(rb'<row(?=[ >/])[^>]*? r="(?![A-Z])')
_CELL_START = re.compile(rb"<c(?=[ >/])")
_CELL_WITH_REF = re.compile(rb'<c(?=[ >/])[^>]*? r="(?=[A-Z])')
_TAG_IN_TAG = re.compile(rb"<[^>]*<")


def _measure_small(text: bytes) -> Measure | None:
    """_measure_numpy's result for a part whose every tag is closed and holds no other "<", whose
    every cell has its reference and no column reference has more than three letters (what Excel,
    WPS and xlsxwriter write); None for any other part (tests compare both on random markup).

    A few regular-expression scans in C instead of some thirty numpy passes over small arrays,
    which cost more than the decompression of a small sheet."""
    if b"<" in text and (text.rfind(b"<") > text.rfind(b">") or _TAG_IN_TAG.search(text)):
        return None
    cells = len(_CELL_START.findall(text))
    if cells and len(_CELL_WITH_REF.findall(text)) != cells:  # cells placed by position: counted per row
        return None
    found = _REF_PARTS.findall(text)
    letters = {a for a, _ in found if a}
    if any(len(a) > 3 for a in letters):
        return None
    # with at most three letters, the 12-byte window holds at least 9 digits: a row of 8 or more is HUGE
    cell_rows = {b for a, b in found if a}
    tag_rows = {b for a, b in found if not a}
    rows = len(_ROW_START.findall(text))
    return Measure(max((_column_number(a) for a in letters), default=0),
                   max((_row_number(b) for b in cell_rows), default=0),
                   max((_row_number(b) for b in tag_rows), default=0),
                   rows - len(_ROW_WITH_REF.findall(text)), [0] * (rows + 1))


def _row_number(digits: bytes) -> int:
    """A reference's row as _refs reads it (digits after the letters within REF_BYTES)."""
    digits = digits[:REF_BYTES]
    return HUGE if len(digits) > 7 else int(digits or b"0")


def _measure_numpy(text: bytes) -> Measure:
    """What one part of normalised worksheet XML holds, vectorised with numpy."""
    buf = np.frombuffer(text, dtype=np.uint8)
    at, column, row = _refs(buf)
    cell_ref = column > 0
    max_column = int(column[cell_ref].max()) if cell_ref.any() else 0
    max_row = int(row[cell_ref].max()) if cell_ref.any() else 0
    max_row_tag = int(row[~cell_ref].max()) if (~cell_ref).any() else 0
    closes = np.flatnonzero(buf == 62)
    rows = _tag_starts(buf, b"row")
    rows_without_ref = int((~_with_attr(rows, at[~cell_ref], closes)).sum())
    cells = _tag_starts(buf, b"c")
    refless = cells[~_with_attr(cells, at[cell_ref], closes)]
    counts = np.bincount(np.searchsorted(rows, refless), minlength=len(rows) + 1) if len(refless) \
        else np.zeros(len(rows) + 1, dtype=np.int64)
    return Measure(max_column, max_row, max_row_tag, rows_without_ref, counts.tolist())


class SheetScan:
    """The rows and columns a worksheet's cells occupy, from its XML in chunks (never parsed whole).

    calamine places a cell by its reference (``r="XFD1048576"``) and builds a grid from A1 to the
    furthest one, so the furthest reference is what counts, not how many cells there are. A cell
    without a reference follows the one before it, so rows and columns are then bounded by
    counting tags. Only complete tags are scanned (an incomplete one waits for the next chunk), so
    a reference split across chunks is still seen. Formatted cells without a value count too
    (the reader skips them; counting them can only refuse, never let a large grid through).
    """

    def __init__(self) -> None:
        self.carry = b""
        self.max_column = 0
        self.max_row = 0  # of cells with a reference
        self.max_row_tag = 0  # r of <row> tags
        self.rows_without_ref = 0
        self.refless_run = 0  # cells without a reference in the current row
        self.refless_max = 0

    def feed(self, chunk: bytes) -> None:
        window = self.carry + chunk
        start = window.rfind(b"<")
        if start >= 0 and not _complete(window[start:]):  # an incomplete tag: keep it for the next chunk
            window, self.carry = window[:start], window[start:]
            if len(self.carry) > MAX_TAG:
                raise Refused("zip_abnormal", detail="工作表中有异常长的标记")
        else:
            self.carry = b""
        self._scan(window)

    def close(self) -> None:
        self._scan(self.carry)
        self.carry = b""

    def _scan(self, part: bytes) -> None:
        if not part:
            return
        text = _normalise_xml(part)
        found = _measure(text)
        self.max_column = max(self.max_column, found.max_column)
        self.max_row = max(self.max_row, found.max_row)
        self.max_row_tag = max(self.max_row_tag, found.max_row_tag)
        self.rows_without_ref += found.rows_without_ref
        counts = found.refless
        if not any(counts):  # every cell has its reference (what Excel, WPS and xlsxwriter write)
            if len(counts) > 1:
                self.refless_run = 0
            return
        # cells placed by position: per row (a row's first part may continue the last chunk's)
        counts = [counts[0] + self.refless_run, *counts[1:]]
        self.refless_max = max(self.refless_max, max(counts))
        self.refless_run = counts[-1]

    def bounds(self) -> tuple[int, int]:
        """(rows, columns): upper bounds of the grid the reader will build from this sheet."""
        rows, columns = self.max_row, self.max_column
        if self.refless_max:  # after the furthest reference, at most one row or column per tag
            rows = max(rows, self.max_row_tag) + self.rows_without_ref + 1
            columns += self.refless_max
        return rows, columns


def _column_number(letters: bytes) -> int:
    """A1-style column letters as a 1-based number (A = 1, Z = 26, AA = 27, XFD = 16,384)."""
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def column_letters(number: int) -> str:
    """1-based column number as letters (1 = A, 27 = AA)."""
    out = ""
    while number > 0:
        number, rest = divmod(number - 1, 26)
        out = chr(65 + rest) + out
    return out


SHEET_LIST_PARTS = ("xl/workbook.xml", "xl/_rels/workbook.xml.rels")  # what _sheet_names reads
_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')


def _sheet_names(archive: zipfile.ZipFile, data: bytes | None = None) -> dict[str, str]:
    """Worksheet part -> sheet name, from xl/workbook.xml and its relationships (text scan, bounded;
    ``data``: the archive's bytes, for _member_content)."""
    def read(name: str, cap: int = 8 * MB) -> str:
        try:
            info = archive.getinfo(name)
        except KeyError:
            return ""
        if info.file_size > cap:
            raise Refused("zip_abnormal", detail="目录部件过大")
        content = _member_content(archive, info, data) if data is not None and info.file_size < MB else None
        try:
            return (content if content is not None else archive.read(info)).decode("utf-8", errors="replace")
        except ZIP_ERRORS:
            raise Refused("file_damaged", detail="部分内容无法解压") from None

    targets: dict[str, str] = {}
    for tag in re.findall(r"<(?:\w+:)?Relationship\b[^>]*>", read("xl/_rels/workbook.xml.rels")):
        attrs = dict(_ATTR.findall(tag))
        target = attrs.get("Target", "")
        target = target.lstrip("/") if target.startswith("/") else "xl/" + target
        targets[attrs.get("Id", "")] = target
    out: dict[str, str] = {}
    for index, tag in enumerate(_SHEET_TAG.findall(read("xl/workbook.xml"))):
        attrs = dict(_ATTR.findall(tag))
        rel = next((v for k, v in attrs.items() if k.endswith(":id") or k == "id"), "")
        name = attrs.get("name", f"第{index + 1}个工作表")
        out[targets.get(rel, f"#{index}")] = _unescape(name)
    return out


def _unescape(text: str) -> str:
    return (text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'")
            .replace("&amp;", "&"))


# ------------------------------------------------------------------ stage 2: the grid

def check_grid(sheet: str | None, grid: list[list[Any]] | pd.DataFrame, limits: Limits) -> None:
    """Refuse a sheet's grid that is too big or holds a cell longer than the limit (before any parsing)."""
    where = f"工作表「{sheet}」" if sheet is not None else "文件"
    if isinstance(grid, pd.DataFrame):
        limits.check_shape(where, len(grid), len(grid.columns))
        for position, column in enumerate(grid.columns):
            values = grid[column]
            if not pd.api.types.is_string_dtype(values.dtype):
                continue
            lengths = values.str.len()
            longest = lengths.max()
            if pd.notna(longest) and longest > limits.cell_chars:
                row = int(lengths.to_numpy(dtype="float64", na_value=0).argmax())
                _too_long(where if sheet is not None else "", f"第 {row + 1} 行第 {position + 1} 列的单元格",
                          int(longest), limits)
        return
    limits.check_shape(where, len(grid), max((len(r) for r in grid), default=0))
    cap = limits.cell_chars
    for r, row in enumerate(grid):
        for c, value in enumerate(row):
            if type(value) is str and len(value) > cap:
                if sheet is None:  # a CSV read as rows: the cell its frame would name (see _csv_too_long)
                    _csv_too_long(grid, limits)
                _too_long(where, f"第 {r + 1} 行 {column_letters(c + 1)} 列的单元格", len(value), limits)


def _csv_too_long(grid: list[list[Any]], limits: Limits) -> None:
    """Refuse a CSV read as rows as check_grid refuses its frame: the first column holding a cell over
    the limit, at the row of its longest cell (the first such row), without column letters."""
    for c in range(max((len(r) for r in grid), default=0)):
        lengths = [len(row[c]) if c < len(row) and type(row[c]) is str else 0 for row in grid]
        longest = max(lengths)
        if longest > limits.cell_chars:
            _too_long("", f"第 {lengths.index(longest) + 1} 行第 {c + 1} 列的单元格", longest, limits)


def _too_long(where: str, cell: str, chars: int, limits: Limits) -> None:
    raise Refused("cell_too_long", where=where, cell=cell, chars=f"{chars:,}", limit=f"{limits.cell_chars:,}")


# ------------------------------------------------------------------ the office's overrides (CLI)

_UNITS = {"kb": 1024, "mb": MB, "gb": 1024 * MB}


def with_overrides(limits: Limits, items: list[str]) -> Limits:
    """``limits`` with ``name=value`` items applied (``rows=500000``, ``file_bytes=200MB``, ``seconds=300``).

    Raises ValueError with a Chinese message naming the valid names for a wrong item.
    """
    known = {f.name: f.type for f in fields(Limits)}
    changes: dict[str, Any] = {}
    for item in items:
        name, _, value = item.partition("=")
        name = name.strip().replace("-", "_")
        if name not in known or not value.strip():
            raise ValueError(f"无法识别的限制「{item}」，应写作 名称=数值，名称为：{'、'.join(known)}")
        text = value.strip().lower().replace(",", "").replace("_", "")
        factor = next((f for unit, f in _UNITS.items() if text.endswith(unit)), 1)
        text = text[:-2] if factor != 1 else text
        try:
            number = float(text) * factor
        except ValueError:
            raise ValueError(f"限制「{item}」的数值无法识别") from None
        if number <= 0:
            raise ValueError(f"限制「{item}」必须大于 0")
        changes[name] = number if known[name] in ("float", float) else int(number)
    return replace(limits, **changes)
