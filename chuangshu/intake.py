"""Ledger intake in the browser, without Streamlit: preview, error reports, commit.

The 数据上报 page (pages/intake.py) only wires widgets to these functions, which call the ETL's
public API (etl/api.py) — the same limits, parser and loader as ``python -m etl load``:

1. ``preview_uploads`` runs the loader's dry run (``etl.api.preview_files``) with the intake
   limits (``etl.api.LIMITS``, etl/limits.py): a file refused by them (wrong or disguised type,
   too big, too many sheets, rows, columns or cells, a cell too long, a zip bomb, out of time)
   is marked 已拒收 with its Chinese reason and never reaches the parser; the others show, per
   file and sheet, the rows loading would add, change, leave, remove and reject, with reasons.
   The published database is not touched.
2. ``error_report`` writes, per file, the original rows of every sheet that had problems with the
   bad cells filled and a 「问题说明」 column, plus a summary sheet: ready to send back to the clerk.
3. ``commit`` loads the files that passed with the same loader as the CLI (``etl.api.load_files``),
   which publishes atomically; the dashboard's caches are keyed on the database version.
"""
from __future__ import annotations

import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pandas as pd

from etl.api import (ACCEPTED, LIMITS, STATUS_UNCHANGED, FileSummary, LedgerError, Limits, LoadFailed, LoadReport,
                     ParsedFile, PreviewReport, Reference, Refused, Reject, SchemaMismatch, SchemaTooNew,
                     SheetSummary, check_file, content_hash, file_submissions, is_refusal, kind_title, load_files,
                     load_reference, parse_file, preview_files, read_sheets, size_text)

__all__ = ["ACCEPTED", "LIMITS", "Limits", "LoadFailed", "Refused", "check_upload", "commit", "commit_frame",
           "error_report", "preview_uploads", "size_text", "upload_key"]

REPORT_SUFFIX = "_问题说明.xlsx"
REASON_HEADER = "问题说明"
SUMMARY_SHEET = "问题汇总"
BAD_FILL = "#FFC7CE"  # Excel's "bad" red
REASON_FONT = "#9C0006"
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def check_upload(name: str, data: bytes, limits: Limits = LIMITS) -> None:
    """Raise Refused with a Chinese message if this file must not be parsed (etl.api.check_file)."""
    check_file(name, data, limits)


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
        """A report for rows to correct or a file that could not be read (a refused file: the message says it)."""
        return self.status != STATUS_REFUSED and self.parsed is not None and (
            bool(self.parsed.rejects) or self.parsed.error is not None)

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
        rows = [{"sheet": s.sheet or "（CSV）", "kind": kind_title(s.kind),
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
             "kind": kind_title(r.kind), "reason": r.reason()} for r in parsed.rejects]
    frame = pd.DataFrame(rows, columns=cols)
    if len(frame):
        frame["row_number"] = pd.array(frame["row_number"], dtype="Int64")
        order = {s: i for i, (s, _) in enumerate(parsed.sheets)}
        frame["_o"] = [order.get(s or None, len(order)) for s in frame["sheet"]]
        frame = frame.sort_values(["_o", "row_number"], na_position="first").drop(columns="_o")
    return frame.reset_index(drop=True)


def preview_uploads(uploads: list[tuple[str, bytes]], db_path: Path, *, limits: Limits = LIMITS,
                    ref: Reference | None = None, today: date | None = None) -> IntakePreview:
    """Dry-run the loader on every upload, with the intake limits. Never writes the database.

    A file the limits refuse is 已拒收 (its reason, no report, never given to the commit); the
    others are 可载入, 未变化 or 无法读取 as the loader finds them. May raise LoadFailed (disk full).
    """
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
    contents = {Path(name): data for name, data in zip(names, (d for _, d in uploads))}
    try:
        report: PreviewReport = preview_files(list(contents), db_path, ref=ref, today=today, contents=contents,
                                              limits=limits)
    except (SchemaTooNew, SchemaMismatch) as exc:  # a database this code cannot load into: say why
        out.error = str(exc)
        return out
    summaries = {s.file: s for s in report.files}
    for name, data in contents.items():
        f = UploadResult(name.name, data, STATUS_READY)
        out.files.append(f)
        s = summaries[f.name]
        f.parsed = report.parsed.get(f.name)
        if s.status == STATUS_UNCHANGED:
            f.summary, f.status, f.message = s, STATUS_SAME, "与已载入的版本完全相同，无需再次载入"
            f.parsed = parse_file(name, ref, today=today, data=data, limits=limits)  # to show its rejects
            if f.parsed.error is None:
                f.submissions = file_submissions(f.parsed)
        elif f.parsed is not None and is_refusal(f.parsed.error):
            f.status, f.message = STATUS_REFUSED, s.message
        elif f.parsed is not None and f.parsed.error is not None:
            f.summary, f.status, f.message = s, STATUS_UNREADABLE, s.message
        else:
            f.summary = s
            f.sheets = [x for x in report.sheets if x.file == f.name]
            f.submissions = report.submissions[report.submissions["source_file"] == f.name].reset_index(drop=True)
            n = len(f.rejects)
            f.message = f"有 {n} 行无法载入，请下载问题说明发回社区更正" if n else ""
    return out


def commit(preview: IntakePreview, db_path: Path, *, ref: Reference | None = None,
           today: date | None = None, limits: Limits = LIMITS) -> LoadReport | None:
    """Load the files that passed the checks and would change something, as the CLI does; publish atomically.

    Refused, unreadable and unchanged files are not given to the loader. Returns None if nothing is
    left to load. A published load rewrites the static briefing beside the database at once
    (chuangshu.briefing; the server's watcher would also catch it within seconds).
    """
    files = preview.loadable
    if not files:
        return None
    contents = {Path(f.name): f.data for f in files}
    report = load_files(list(contents), Path(db_path), ref=ref, today=today, contents=contents, limits=limits)
    if report is not None and report.published:
        from chuangshu import briefing

        briefing.refresh(Path(db_path))
    return report


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
