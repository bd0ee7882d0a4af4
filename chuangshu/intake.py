"""Ledger intake in the browser, without Streamlit: check uploads, preview, error reports, commit.

The 数据上报 page (pages/intake.py) only wires widgets to these functions:

1. ``check_upload`` refuses what should never reach the parser: wrong or disguised file types,
   empty files, files over the size limit, too many sheets or rows, and zip bombs (an xlsx is a
   zip: its members are measured and decompressed in a bounded stream *before* calamine opens it).
2. ``preview_uploads`` runs the loader's dry run (``etl.load.preview_files``) on what passed:
   per file and sheet, the rows it would add, change, leave, remove and reject, with reasons.
   The published database is not touched.
3. ``error_report`` writes, per file, the original rows of every sheet that had problems with the
   bad cells filled and a 「问题说明」 column, plus a summary sheet: ready to send back to the clerk.
4. ``commit`` loads the files that passed with the same loader as the CLI (``etl.load.load_files``),
   which publishes atomically; the dashboard's caches are keyed on the database version.
"""
from __future__ import annotations

import io
import re
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from etl.errors import LedgerError
from etl.extract import CFB_MAGIC, ENCRYPTION_MARK, read_sheets
from etl.kinds import BY_NAME
from etl.load import (FileSummary, LoadReport, PreviewReport, SheetSummary, Staged, load_files, preview_files,
                      submission_rows)
from etl.migrations import SchemaMismatch, SchemaTooNew
from etl.pipeline import ParsedFile, Reject, content_hash, parse_file
from etl.reference import Reference, load_reference

MB = 1024 * 1024


@dataclass(frozen=True)
class Limits:
    """What one upload may be; checked before any file is parsed."""

    file_bytes: int = 20 * MB  # per file, as uploaded
    files: int = 20  # per upload
    sheets: int = 50  # per workbook
    rows: int = 200_000  # per sheet (CSV: lines)
    unzipped_bytes: int = 200 * MB  # xlsx: sum of the members' uncompressed sizes
    ratio: float = 100.0  # xlsx: uncompressed / compressed, per member of at least ratio_floor bytes
    ratio_floor: int = 1 * MB
    members: int = 2_000  # xlsx: zip entries

    @property
    def upload_mb(self) -> int:
        """The per-file size (whole MB) for st.file_uploader, which the browser enforces and shows."""
        return max(1, -(-self.file_bytes // MB))


LIMITS = Limits()
ACCEPTED = (".xlsx", ".xls", ".csv")
REPORT_SUFFIX = "_问题说明.xlsx"
REASON_HEADER = "问题说明"
SUMMARY_SHEET = "问题汇总"
BAD_FILL = "#FFC7CE"  # Excel's "bad" red
REASON_FONT = "#9C0006"

# Formats recognised by their first bytes, for a clear message when a file was renamed.
MAGIC: tuple[tuple[bytes, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", "PNG 图片"), (b"\xff\xd8\xff", "JPEG 图片"), (b"GIF87a", "GIF 图片"),
    (b"GIF89a", "GIF 图片"), (b"BM", "BMP 图片"), (b"%PDF", "PDF 文档"), (b"MZ", "Windows 程序（.exe）"),
    (b"\x7fELF", "程序文件"), (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"\x1f\x8b", "gzip 压缩包"), (b"{\\rtf", "RTF 文档"), (b"ID3", "音频文件"),
)
_ROW_TAG = re.compile(rb"<(?:[A-Za-z]\w{0,15}:)?row[\s>/]")
_SHEET_TAG = re.compile(r"<(?:\w+:)?sheet\b[^>]*>")
_ATTR = re.compile(r'([\w:]+)\s*=\s*"([^"]*)"')
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


# ------------------------------------------------------------------ checks before parsing

class Refused(Exception):
    """An upload that is not parsed at all; the message is what the user reads (Chinese)."""


def size_text(n: int) -> str:
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


def check_upload(name: str, data: bytes, limits: Limits = LIMITS) -> None:
    """Raise Refused with a Chinese message if this file must not be parsed; return if it may."""
    suffix = Path(name).suffix.lower()
    if suffix not in ACCEPTED:
        raise Refused(f"不支持的文件类型「{suffix or '无扩展名'}」，请上报 .xlsx、.xls 或 .csv 格式的台账")
    if not data:
        raise Refused("文件为空（0 字节），请在 Excel 中重新保存后上报")
    if len(data) > limits.file_bytes:
        raise Refused(f"文件过大（{size_text(len(data))}），单个文件上限为 {size_text(limits.file_bytes)}，"
                      f"请按年份或工作表拆分后分批上报")
    kind = sniff(data)
    if suffix == ".csv":
        if kind == "zip" or kind == "cfb":
            raise Refused("文件内容是 Excel 工作簿，扩展名却是 .csv：请把扩展名改为 .xlsx（或 .xls）后重新上报")
        if kind != "text":
            raise Refused(f"文件内容是{_spaced(kind)}，不是 CSV 台账（可能改过扩展名），请上报原始台账文件")
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        if lines > limits.rows:
            raise Refused(f"文件有 {lines:,} 行，超过每个表 {limits.rows:,} 行的上限，请按年份拆分后分批上报")
        return
    if kind == "text":
        raise Refused(f"文件内容是纯文本（可能是 CSV），扩展名却是 {suffix}：请把扩展名改为 .csv 后重新上报")
    if kind == "cfb":
        _check_cfb(data, limits)
        return
    if kind != "zip":
        raise Refused(f"文件内容是{_spaced(kind)}，不是 Excel 台账（可能改过扩展名），请上报原始台账文件")
    _check_zip(data, limits)


def _check_cfb(data: bytes, limits: Limits) -> None:
    """An OLE compound file: an old .xls workbook, or an encrypted xlsx, or a Word/PowerPoint file."""
    if ENCRYPTION_MARK in data:
        raise Refused("文件设有打开密码，系统无法读取，请取消密码后重新上报")
    if "WordDocument".encode("utf-16-le") in data:
        raise Refused("文件内容是 Word 文档，不是 Excel 台账，请上报原始台账文件")
    if "Workbook".encode("utf-16-le") not in data and "Book".encode("utf-16-le") not in data:
        raise Refused("文件不是有效的 Excel 工作簿，请用 Excel 另存为 .xlsx 后重新上报")
    import python_calamine as calamine  # an .xls is at most 65,536 rows a sheet: only the sheet count to check

    try:
        names = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).sheet_names
    except Exception:  # calamine raises several unrelated types for corrupt files
        raise Refused("文件已损坏，或并非 Excel 格式，请用 Excel 另存为 .xlsx 后重新上报") from None
    if len(names) > limits.sheets:
        raise Refused(f"工作簿有 {len(names)} 个工作表，超过 {limits.sheets} 个的上限，请删去无关工作表或拆分后上报")


def _check_zip(data: bytes, limits: Limits) -> None:
    """Measure an xlsx before calamine opens it: declared sizes, compression ratio, sheets, rows.

    Every member is then decompressed once in a bounded stream (never more than its declared
    size, CRC checked), so a member that lies about its size is caught as damage, and the
    worksheets' rows are counted on the way.
    """
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError):
        raise Refused("文件已损坏（压缩结构无法读取），请用 Excel 重新保存为 .xlsx 后上报") from None
    names = {m.filename for m in members}
    if "xl/workbook.xml" not in names:
        what = ("Word 文档" if "word/document.xml" in names else "PowerPoint 演示文稿" if "ppt/presentation.xml" in names
                else "WPS 或 OpenDocument 表格" if "content.xml" in names else
                "二进制格式的 Excel 工作簿（.xlsb）" if "xl/workbook.bin" in names else "ZIP 压缩包")
        raise Refused(f"文件内容是{what}，不是 .xlsx 台账，请用 Excel 另存为 .xlsx 后重新上报")
    if len(members) > limits.members:
        raise Refused(f"工作簿内部结构异常（含 {len(members):,} 个部件），系统拒绝读取，请用 Excel 重新保存后上报")
    total = sum(m.file_size for m in members)
    if total > limits.unzipped_bytes:
        raise Refused(f"工作簿解压后约 {size_text(total)}，超过 {size_text(limits.unzipped_bytes)} 的上限"
                      f"（文件可能异常），请删去无关内容或拆分后上报")
    for m in members:
        if m.file_size >= limits.ratio_floor and m.file_size > limits.ratio * max(m.compress_size, 1):
            raise Refused(f"工作簿压缩比异常（{m.file_size / max(m.compress_size, 1):,.0f} 倍，可能是恶意构造的文件），"
                          f"系统拒绝读取，请用 Excel 重新保存后上报")
    sheets = _sheet_names(archive)
    if len(sheets) > limits.sheets:
        raise Refused(f"工作簿有 {len(sheets)} 个工作表，超过 {limits.sheets} 个的上限，请删去无关工作表或拆分后上报")
    try:
        for m in members:
            rows = _stream(archive, m, count_rows=m.filename.startswith("xl/worksheets/"))
            if rows > limits.rows:
                label = f"工作表「{sheets[m.filename]}」" if m.filename in sheets else "有一个工作表"
                raise Refused(f"{label}有 {rows:,} 行，超过每个表 {limits.rows:,} 行的上限，请按年份拆分后分批上报")
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError):
        raise Refused("文件已损坏（部分内容无法解压），请用 Excel 重新保存为 .xlsx 后上报") from None


def _stream(archive: zipfile.ZipFile, member: zipfile.ZipInfo, count_rows: bool) -> int:
    """Decompress one member in 1 MB chunks (zipfile stops at the declared size and checks the CRC)."""
    rows, tail = 0, b""
    with archive.open(member) as fh:
        while chunk := fh.read(MB):
            if count_rows:
                window = tail + chunk
                rows += len(_ROW_TAG.findall(window)) - len(_ROW_TAG.findall(tail))
                tail = window[-32:]
    return rows


def _sheet_names(archive: zipfile.ZipFile) -> dict[str, str]:
    """Worksheet part -> sheet name, from xl/workbook.xml and its relationships (text scan, bounded)."""
    def read(name: str, cap: int = 8 * MB) -> str:
        try:
            info = archive.getinfo(name)
        except KeyError:
            return ""
        if info.file_size > cap:
            raise Refused("工作簿内部结构异常（目录部件过大），系统拒绝读取，请用 Excel 重新保存后上报")
        try:
            return archive.read(info).decode("utf-8", errors="replace")
        except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError, ValueError, OSError):
            raise Refused("文件已损坏（部分内容无法解压），请用 Excel 重新保存为 .xlsx 后上报") from None

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


# ------------------------------------------------------------------ preview

STATUS_READY, STATUS_SAME, STATUS_UNREADABLE, STATUS_REFUSED = "可载入", "未变化", "无法读取", "已拒收"


@dataclass
class UploadResult:
    """One uploaded file: whether it passed the checks, and what loading it would do."""

    name: str
    data: bytes = field(repr=False)
    status: str
    message: str = ""
    summary: FileSummary | None = None
    sheets: list[SheetSummary] = field(default_factory=list)
    parsed: ParsedFile | None = field(default=None, repr=False)
    submissions: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def loadable(self) -> bool:
        return self.status == STATUS_READY

    @property
    def rejects(self) -> list[Reject]:
        return list(self.parsed.rejects) if self.parsed is not None else []

    def reject_frame(self) -> pd.DataFrame:
        """Rejected rows (工作表, 行号, 台账, 原因), in sheet and row order."""
        return reject_frame(self.parsed)

    def has_report(self) -> bool:
        return self.parsed is not None and (bool(self.parsed.rejects) or self.parsed.error is not None)

    def report_name(self) -> str:
        return Path(self.name).stem + REPORT_SUFFIX

    def error_report(self) -> bytes:
        assert self.parsed is not None
        return error_report(self.name, self.data, self.parsed)


@dataclass
class IntakePreview:
    """The checked and previewed upload; ``error`` is set when the whole upload was refused."""

    files: list[UploadResult] = field(default_factory=list)
    error: str = ""

    @property
    def loadable(self) -> list[UploadResult]:
        return [f for f in self.files if f.loadable]

    def file_frame(self) -> pd.DataFrame:
        """One row per file: status, kinds, community and months, counts, message."""
        rows = []
        for f in self.files:
            s = f.summary
            sub = f.submissions
            rows.append({
                "file": f.name, "status": f.status, "kinds": s.kinds if s else "",
                "community": "、".join(dict.fromkeys(sub["community"])) if len(sub) else "",
                "months": _months(sub), "rows_read": s.rows_read if s else 0,
                "new": s.new if s else 0, "changed": s.changed if s else 0, "unchanged": s.unchanged if s else 0,
                "removed": s.removed if s else 0,
                "rejected": len(f.rejects) if f.status != STATUS_REFUSED else 0, "message": f.message})
        return pd.DataFrame(rows, columns=["file", "status", "kinds", "community", "months", "rows_read", "new",
                                           "changed", "unchanged", "removed", "rejected", "message"])

    def sheet_frame(self, name: str) -> pd.DataFrame:
        """One row per sheet of one file."""
        f = next(x for x in self.files if x.name == name)
        rows = [{"sheet": s.sheet or "（CSV）", "kind": BY_NAME[s.kind].title if s.kind else "",
                 "new": s.new, "changed": s.changed, "unchanged": s.unchanged, "removed": s.removed,
                 "rejected": s.rejected, "note": s.note} for s in f.sheets]
        return pd.DataFrame(rows, columns=["sheet", "kind", "new", "changed", "unchanged", "removed", "rejected",
                                           "note"])


def _months(sub: pd.DataFrame) -> str:
    if not len(sub):
        return ""
    lo, hi = min(sub["month_from"]), max(sub["month_to"])
    return f"{lo:%Y-%m}" if lo == hi else f"{lo:%Y-%m} 至 {hi:%Y-%m}"


def reject_frame(parsed: ParsedFile | None) -> pd.DataFrame:
    cols = ["sheet", "row_number", "row", "kind", "reason"]
    if parsed is None:
        return pd.DataFrame(columns=cols)
    rows = [{"sheet": r.sheet or "", "row_number": r.row_number,
             "row": "整个工作表" if r.row_number is None else f"第 {r.row_number} 行",
             "kind": BY_NAME[r.kind].title if r.kind else "", "reason": r.reason()} for r in parsed.rejects]
    frame = pd.DataFrame(rows, columns=cols)
    if len(frame):
        frame["row_number"] = pd.array(frame["row_number"], dtype="Int64")
        order = {s: i for i, (s, _) in enumerate(parsed.sheets)}
        frame["_o"] = [order.get(s or None, len(order)) for s in frame["sheet"]]
        frame = frame.sort_values(["_o", "row_number"], na_position="first").drop(columns="_o")
    return frame.reset_index(drop=True)


def preview_uploads(uploads: list[tuple[str, bytes]], db_path: Path, *, limits: Limits = LIMITS,
                    ref: Reference | None = None, today: date | None = None) -> IntakePreview:
    """Check every upload, then dry-run the loader on those that passed. Never writes the database."""
    out = IntakePreview()
    if len(uploads) > limits.files:
        out.error = f"一次最多上传 {limits.files} 个文件，本次选择了 {len(uploads)} 个，请分批上传"
        return out
    names = [Path(n).name for n, _ in uploads]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        out.error = f"本次上传中有重名文件：{'、'.join(dupes)}（系统按文件名识别台账，请改名后再上传）"
        return out
    ref = ref or load_reference()
    passed: dict[Path, bytes] = {}
    for name, data in uploads:
        name = Path(name).name
        try:
            check_upload(name, data, limits)
        except Refused as exc:
            out.files.append(UploadResult(name, data, STATUS_REFUSED, str(exc)))
            continue
        out.files.append(UploadResult(name, data, STATUS_READY))
        passed[Path(name)] = data
    if not passed:
        return out
    try:
        report: PreviewReport = preview_files(list(passed), db_path, ref=ref, today=today, contents=passed)
    except (SchemaTooNew, SchemaMismatch) as exc:  # a database this code cannot load into: say why
        out.error = str(exc)
        return out
    summaries = {s.file: s for s in report.files}
    for f in out.files:
        if f.status == STATUS_REFUSED:
            continue
        s = summaries[f.name]
        f.summary = s
        f.sheets = [x for x in report.sheets if x.file == f.name]
        f.submissions = report.submissions[report.submissions["source_file"] == f.name].reset_index(drop=True)
        if s.status == "未变化":
            f.status, f.message = STATUS_SAME, "与已载入的版本完全相同，无需再次载入"
            f.parsed = _parse_quietly(f.name, f.data, ref, today)
            if f.parsed is not None:
                f.submissions = submission_rows(Staged(log=[(0, f.parsed, s, datetime.now())]))
        elif s.status == "无法读取":
            f.status, f.message = STATUS_UNREADABLE, s.message
            f.parsed = report.parsed.get(f.name)
        else:
            f.parsed = report.parsed.get(f.name)
            n = len(f.rejects)
            f.message = f"有 {n} 行无法载入，请下载问题说明发回社区更正" if n else ""
    return out


def _parse_quietly(name: str, data: bytes, ref: Reference, today: date | None) -> ParsedFile | None:
    try:
        return parse_file(Path(name), ref, today=today, data=data)
    except Exception:  # only for showing an unchanged file's rejects: never fail the preview for it
        return None


def commit(preview: IntakePreview, db_path: Path, *, ref: Reference | None = None,
           today: date | None = None) -> LoadReport | None:
    """Load the files that passed the checks and would change something, as the CLI does; publish atomically.

    Refused, unreadable and unchanged files are not given to the loader. Returns None if nothing is
    left to load.
    """
    files = preview.loadable
    if not files:
        return None
    contents = {Path(f.name): f.data for f in files}
    return load_files(list(contents), Path(db_path), ref=ref, today=today, contents=contents)


def commit_frame(report: LoadReport | None) -> pd.DataFrame:
    """One row per file the commit loaded (the loader's FileSummary fields), for the page's result table."""
    return pd.DataFrame([vars(s) for s in report.files]) if report else pd.DataFrame()


# ------------------------------------------------------------------ the error report

def error_report(name: str, data: bytes, parsed: ParsedFile) -> bytes:
    """An xlsx for the clerk: a summary sheet, then every sheet that had problems, rows as sent.

    Bad cells are filled red and each rejected row gets its reason in a 「问题说明」 column after the
    last column. Text is written as text (never as a formula); text that a spreadsheet could take
    as a formula (= + - @, tab, CR) is also marked quote-prefixed, so it stays text when edited
    (both by :mod:`chuangshu.cellsafe`).
    """
    from etl import cellsafe

    buffer = io.BytesIO()
    book = cellsafe.workbook(buffer)
    styles = _Styles(book)
    by_sheet: dict[str | None, list[Reject]] = {}
    for r in parsed.rejects:
        by_sheet.setdefault(r.sheet, []).append(r)
    grids: dict[str | None, Any] = {}
    if parsed.error is None and by_sheet:
        try:
            for raw in read_sheets(Path(name), data):
                if raw.sheet in by_sheet:
                    grids[raw.sheet] = raw.grid
        except LedgerError:
            grids = {}
    used = {SUMMARY_SHEET}
    sheet_titles = {s: _sheet_title(s, name, used) for s in grids}
    _summary_sheet(book, styles, name, parsed, sheet_titles)
    for sheet, grid in grids.items():
        _problem_sheet(book, styles, sheet_titles[sheet], grid, by_sheet[sheet], parsed.headers.get(sheet))
    book.close()
    return buffer.getvalue()


class _Styles:
    """The few cell formats the report needs, created once per workbook."""

    def __init__(self, book: Any) -> None:
        from etl.cellsafe import TextFormats

        self.formats = TextFormats(book)
        self.reason = book.add_format({"font_color": REASON_FONT, "text_wrap": True, "valign": "top"})
        self.reason_head = book.add_format({"bold": True, "font_color": REASON_FONT, "bottom": 1})
        self.bold = book.add_format({"bold": True})
        self.title = book.add_format({"bold": True, "font_size": 14})
        self.wrap = book.add_format({"text_wrap": True, "valign": "top"})

    def get(self, bad: bool, kind: str) -> Any:
        props: dict[str, Any] = {"bg_color": BAD_FILL} if bad else {}
        if kind in _NUM_FORMATS:
            props["num_format"] = _NUM_FORMATS[kind]
        return self.formats.get(**props)

    def text(self, ws: Any, r: int, c: int, text: str, bad: bool) -> None:
        """Text as text; formula-like text quote-prefixed (chuangshu.cellsafe)."""
        self.formats.write(ws, r, c, text, **({"bg_color": BAD_FILL} if bad else {}))


_NUM_FORMATS = {"date": "yyyy-mm-dd", "datetime": "yyyy-mm-dd hh:mm", "time": "hh:mm"}


def _sheet_title(sheet: str | None, file_name: str, used: set[str]) -> str:
    base = sheet if sheet else Path(file_name).stem
    base = _SHEET_NAME_BAD.sub("_", base).strip("'")[:31] or "台账"
    title, n = base, 1
    while title.lower() in {u.lower() for u in used}:
        n += 1
        title = f"{base[:27]}({n})"
    used.add(title)
    return title


def _summary_sheet(book: Any, styles: _Styles, name: str, parsed: ParsedFile, titles: dict[str | None, str]) -> None:
    ws = book.add_worksheet(SUMMARY_SHEET)
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 10)
    ws.set_column(2, 2, 90)
    ws.write_string(0, 0, "台账问题说明", styles.title)
    ws.write_string(1, 0, "文件", styles.bold)
    _write_text(ws, styles, 1, 1, name, False)
    ws.write_string(2, 0, "生成时间", styles.bold)
    ws.write_string(2, 1, datetime.now().strftime("%Y-%m-%d %H:%M"))
    row = 4
    if parsed.error is not None:
        ws.write_string(3, 0, "整份文件无法读取", styles.bold)
        ws.write_string(row, 0, "原因", styles.bold)
        ws.write_string(row, 2, parsed.error.message(), styles.reason)
        return
    rows_bad = sum(1 for r in parsed.rejects if r.row_number is not None)
    ws.write_string(3, 0, f"共 {rows_bad} 行未能载入；请按「问题说明」更正红色单元格后，整份文件重新上报。",
                    styles.bold)
    row = 5
    for c, head in enumerate(("工作表", "行号", REASON_HEADER)):
        ws.write_string(row, c, head, styles.reason_head if c == 2 else styles.bold)
    for r in sorted(parsed.rejects, key=lambda r: (list(titles).index(r.sheet) if r.sheet in titles else -1,
                                                  r.row_number or 0)):
        row += 1
        _write_text(ws, styles, row, 0, titles.get(r.sheet, r.sheet or ""), False)
        if r.row_number is not None:
            ws.write_number(row, 1, r.row_number)
        else:
            ws.write_string(row, 1, "整个工作表")
        ws.write_string(row, 2, r.reason(), styles.reason)


def _problem_sheet(book: Any, styles: _Styles, title: str, grid: Any, rejects: list[Reject], match: Any) -> None:
    """The sheet as sent, bad cells filled, the reason after the last column."""
    rows = grid.to_numpy(dtype=object).tolist() if isinstance(grid, pd.DataFrame) else grid
    width = max((len(r) for r in rows), default=0)
    ws = book.add_worksheet(title)
    ws.set_column(0, max(width - 1, 0), 14)
    ws.set_column(width, width, 60)
    bad: dict[int, set[int]] = {}  # 0-based row -> 0-based columns
    reasons: dict[int, str] = {}
    sheet_reason = "；".join(r.reason() for r in rejects if r.row_number is None)
    headers = _columns_by_header(match)
    for r in rejects:
        if r.row_number is None:
            continue
        i = r.row_number - 1
        reasons[i] = r.reason()
        for p in r.problems:
            bad.setdefault(i, set()).update(headers[h] for h in p.fields() if h in headers)
    header_row = match.row_index if match is not None else None
    for i, cells in enumerate(rows):
        marked = bad.get(i, set())
        for c, value in enumerate(cells):
            _write_cell(ws, styles, i, c, value, c in marked)
        for c in marked - set(range(len(cells))):
            ws.write_blank(i, c, None, styles.get(True, "plain"))
        if i == header_row:
            ws.write_string(i, width, REASON_HEADER, styles.reason_head)
        elif i in reasons:
            ws.write_string(i, width, reasons[i], styles.reason)
    if header_row is None:  # no header found: say so on the first free row
        ws.write_string(0, width, REASON_HEADER, styles.reason_head)
        ws.write_string(1, width, sheet_reason, styles.reason)
    else:
        ws.freeze_panes(header_row + 1, 0)


def _columns_by_header(match: Any) -> dict[str, int]:
    """Template header -> column index of the sheet, from its HeaderMatch."""
    if match is None:
        return {}
    return {f.header: match.columns[f.name] for f in match.kind.fields if f.name in match.columns}


def _write_text(ws: Any, styles: _Styles, r: int, c: int, text: str, bad: bool) -> None:
    styles.text(ws, r, c, text, bad)


def _write_cell(ws: Any, styles: _Styles, r: int, c: int, value: Any, bad: bool) -> None:
    """One original cell, its type kept; never a formula."""
    if value is None or (isinstance(value, float) and value != value) or (isinstance(value, str) and value == ""):
        if bad:
            ws.write_blank(r, c, None, styles.get(True, "plain"))
        return
    if isinstance(value, bool):
        ws.write_boolean(r, c, value, styles.get(bad, "plain"))
    elif isinstance(value, (int, float)) and abs(value) != float("inf"):
        ws.write_number(r, c, value, styles.get(bad, "plain"))
    elif isinstance(value, datetime):
        ws.write_datetime(r, c, value, styles.get(bad, "datetime" if value.time() != time(0) else "date"))
    elif isinstance(value, date):
        ws.write_datetime(r, c, datetime(value.year, value.month, value.day), styles.get(bad, "date"))
    elif isinstance(value, time):
        ws.write_datetime(r, c, value, styles.get(bad, "time"))
    elif isinstance(value, timedelta):
        ws.write_string(r, c, str(value), styles.get(bad, "plain"))
    else:
        _write_text(ws, styles, r, c, str(value), bad)


def upload_key(uploads: list[tuple[str, bytes]]) -> str:
    """A stable id of an upload's names and contents (to keep a preview across reruns)."""
    return content_hash(b"".join(n.encode() + b"\0" + content_hash(d).encode() + b"\0" for n, d in uploads))
