"""Ledger intake without Streamlit (chuangshu/intake.py, etl.load.preview_files): limits and hostile
uploads, the dry run against a real load, the clerk's error report, submissions and 逾期未报."""
from __future__ import annotations

import hashlib
import io
import shutil
import struct
import time
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pytest
import xlsxwriter

from conftest import FIXTURES, query, write_csv, write_xlsx

from chuangshu import intake, metrics
from chuangshu.db import PublishedDatabase
from chuangshu.filters import Filters
from chuangshu.intake import Limits, Refused, check_upload, commit, error_report, preview_uploads
from etl.load import load_files, preview_files
from etl.pipeline import parse_file
from etl.reference import load_reference

TODAY = date(2022, 6, 30)
REF = load_reference()
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "事项描述"]
COUNTS = ("status", "rows_read", "new", "changed", "unchanged", "removed", "rejected")


@pytest.fixture
def db(sample_db: Path, tmp_path: Path) -> Path:
    """A private copy of the sample database (commits must not touch the session's sample)."""
    target = tmp_path / "db" / "guicheng.duckdb"
    target.parent.mkdir()
    shutil.copyfile(sample_db, target)
    return target


def fingerprint(db: Path) -> tuple:
    """Bytes, mtime and inode of the database file, and what else lies in its folder."""
    st = db.stat()
    return (hashlib.sha256(db.read_bytes()).hexdigest(), st.st_mtime_ns, st.st_ino, st.st_size,
            sorted(p.name for p in db.parent.iterdir()))


def preview(uploads: list[tuple[str, bytes]], db: Path, **kw) -> intake.IntakePreview:
    return preview_uploads(uploads, db, ref=REF, today=TODAY, **kw)


def xlsx_bytes(path: Path, sheets: dict, **kw) -> bytes:
    return write_xlsx(path, sheets, **kw).read_bytes()


# A clerk's workbook: a title row (merged), the header in row 2, problems in known cells, a footer,
# and a notes sheet without a header. (row number, cells, bad columns)
MESSY = [
    (1, ["桂南社区2021年矛盾纠纷调解台账"], set()),
    (2, HEADER, set()),
    (3, ["GN-901", "桂南", None, "纠纷", "2021-03-05", "2021/3/9", "楼上漏水"], set()),
    (4, ["GN-902", "桂北", None, "卫生", "2021-03-05", None, None], {"B"}),
    (5, ["GN-903", "桂南", None, "噪音", "2021-02-30", None, "=HYPERLINK(\"http://x\",\"点我\")"], {"D", "E"}),
    (6, ["GN-901", "桂南", None, "卫生", "2021-04-01", None, None], {"A", "B"}),
    (7, ["GN-904", "桂南", None, "卫生", "2021-03-05", "2021-03-01", "@SUM(A1)"], {"E", "F"}),
    (8, [None, "桂南", None, "卫生", "2021-03-05", None, None], {"A"}),
    (9, ["GN-905", "桂南社区", "  新建 小区 ", "停车难", "2021-05-06", None, "车位不足"], set()),
    (10, ["合计", "共7条"], set()),
]


def messy_sheets() -> dict:
    return {"2021": [cells for _, cells, _ in MESSY], "说明": [["填表说明"], ["本表按月报送"]],
            "空白": []}


def write_messy(path: Path) -> bytes:
    """The messy workbook, every text cell written as text (xlsxwriter would make '=…' a formula)."""
    book = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False})
    for name, rows in messy_sheets().items():
        sheet = book.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is not None:
                    sheet.write_string(r, c, value)
        if name == "2021":
            sheet.merge_range("A1:G1", rows[0][0])
    book.close()
    return path.read_bytes()


# ------------------------------------------------------------------ dry run == real load, and harmless

def test_preview_counts_equal_what_the_real_load_then_does(db: Path, tmp_path: Path, sample_ledgers: Path):
    v1 = xlsx_bytes(tmp_path / "v1.xlsx", {"2021": [HEADER,
        ["GN-801", "桂南", None, "纠纷", "2021-03-05", None, None],
        ["GN-802", "桂南", None, "卫生", "2021-03-06", None, None],
        ["GN-803", "桂南", None, "卫生", "2021-03-07", None, None]],
        "2020": [HEADER, ["GN-701", "桂南", None, "卫生", "2020-03-07", None, None]]})
    name = "桂南社区_更正台账.xlsx"
    load_files([Path(name)], db, today=TODAY, contents={Path(name): v1})
    v2 = xlsx_bytes(tmp_path / "v2.xlsx", {"2021": [HEADER,
        ["GN-801", "桂南", None, "纠纷", "2021-03-05", "2021-03-20", None],  # changed
        ["GN-802", "桂南", None, "卫生", "2021-03-06", None, None],  # unchanged
        ["GN-804", "桂南", None, "停车", "2021-03-08", None, None],  # new; GN-803 removed
        ["GN-805", "桂北", None, "停车", "2021-03-08", None, None]]})  # rejected; sheet 2020 dropped
    unchanged = next(sample_ledgers.glob("*_组织名册.xlsx"))
    uploads = {Path(name): v2, Path("messy.xlsx"): write_messy(tmp_path / "messy.xlsx"),
               Path(unchanged.name): unchanged.read_bytes()}
    dry = preview_files(list(uploads), db, today=TODAY, contents=uploads)
    assert not dry.published
    real = load_files(list(uploads), db, today=TODAY, contents=uploads)
    assert real.published
    summary = lambda r: {f.file: tuple(getattr(f, k) for k in COUNTS) for f in r.files}  # noqa: E731
    assert summary(dry) == summary(real)
    assert summary(dry)[name] == ("已载入", 4, 1, 1, 1, 2, 1)
    assert summary(dry)[unchanged.name][0] == "未变化"
    by_sheet = {(s.file, s.sheet): (s.new, s.changed, s.unchanged, s.removed, s.rejected, s.note) for s in dry.sheets}
    assert by_sheet[(name, "2021")] == (1, 1, 1, 1, 1, "")
    assert by_sheet[(name, "2020")] == (0, 0, 0, 1, 0, "已删除的工作表")
    assert by_sheet[("messy.xlsx", "说明")][4:] == (1, "未识别")
    assert by_sheet[("messy.xlsx", "空白")][5] == "空工作表"
    for f in dry.files:  # the sheets add up to the file
        sheets = [s for s in dry.sheets if s.file == f.file]
        for k in ("new", "changed", "unchanged", "removed", "rejected"):
            assert sum(getattr(s, k) for s in sheets) == (getattr(f, k) if f.status != "未变化" else 0), (f.file, k)


def test_preview_never_changes_the_database_file(db: Path, tmp_path: Path):
    before = fingerprint(db)
    time.sleep(0.01)
    data = write_messy(tmp_path / "messy.xlsx")
    dry = preview_files([Path("桂南社区_新台账.xlsx")], db, today=TODAY, contents={Path("桂南社区_新台账.xlsx"): data})
    assert dry.files[0].new == 2 and not dry.published and dry.db_version is None
    preview([("桂南社区_新台账.xlsx", data), ("x.png", b"\x89PNG\r\n\x1a\n")], db)
    assert fingerprint(db) == before


def test_preview_on_a_missing_database_creates_nothing(tmp_path: Path):
    db = tmp_path / "none" / "guicheng.duckdb"
    db.parent.mkdir()
    dry = preview_files([Path("a.xlsx")], db, today=TODAY, contents={Path("a.xlsx"): write_messy(tmp_path / "m.xlsx")})
    assert dry.files[0].new == 2
    assert list(db.parent.iterdir()) == []


def test_commit_uses_the_loader_and_the_dashboard_sees_the_new_version_at_once(db: Path, tmp_path: Path):
    reader = PublishedDatabase(db)
    version = reader.version()
    cur = reader.cursor()
    before = cur.execute("SELECT count(*) FROM cases WHERE source_file = '桂南社区_新台账.xlsx'").fetchall()[0][0]
    cur.close()
    data = write_messy(tmp_path / "m.xlsx")  # once: xlsxwriter stamps the time into the file
    p = preview([("桂南社区_新台账.xlsx", data), ("bad.xlsx", b"")], db)
    assert [f.status for f in p.files] == ["可载入", "已拒收"]
    report = commit(p, db, ref=REF, today=TODAY)
    assert report is not None and report.published and [f.file for f in report.files] == ["桂南社区_新台账.xlsx"]
    frame = intake.commit_frame(report)  # the page's 入库结果 table
    assert list(frame["file"]) == ["桂南社区_新台账.xlsx"] and {"status", "new", "rejected", "message"} <= set(frame)
    assert intake.commit_frame(None).empty
    assert reader.version() != version
    cur = reader.cursor()
    try:
        assert before == 0
        rows = cur.execute("SELECT case_id, source_row FROM cases WHERE source_file = '桂南社区_新台账.xlsx' "
                           "ORDER BY source_row").fetchall()
        assert rows == [("GN-901", 3), ("GN-905", 9)]
        assert cur.execute("SELECT count(*) FROM rejects WHERE source_file = '桂南社区_新台账.xlsx'").fetchall()[0][0] == 6
    finally:
        cur.close()
    again = preview([("桂南社区_新台账.xlsx", data)], db)
    assert again.files[0].status == "未变化" and again.files[0].rejects  # its problems are still shown
    assert commit(again, db) is None


# ------------------------------------------------------------------ the error report for the clerk

def test_error_report_highlights_exactly_the_bad_cells_with_reasons(tmp_path: Path):
    data = write_messy(tmp_path / "桂南.xlsx")
    parsed = parse_file(Path("桂南.xlsx"), REF, today=TODAY, data=data)
    out = tmp_path / "report.xlsx"
    out.write_bytes(error_report("桂南.xlsx", data, parsed))
    book = openpyxl.load_workbook(out)
    assert book.sheetnames == ["问题汇总", "2021", "说明"]  # only sheets with problems, names kept
    ws = book["2021"]
    reason_col = len(HEADER) + 1
    assert ws.cell(2, reason_col).value == "问题说明"
    assert ws.cell(1, 1).value == "桂南社区2021年矛盾纠纷调解台账"  # Chinese intact, title row kept
    assert [ws.cell(r, 1).value for r in range(1, 11)] == [cells[0] if cells else None for _, cells, _ in MESSY]
    expected_fill = {f"{col}{row}" for row, _, cols in MESSY for col in cols}
    filled = {c.coordinate for row in ws.iter_rows() for c in row if c.fill.fill_type == "solid"}
    assert filled == expected_fill
    assert ws["B4"].fill.fgColor.rgb.endswith("FFC7CE")
    reasons = {r: ws.cell(r, reason_col).value for r in range(3, 11)}
    assert reasons[3] is None and reasons[9] is None and reasons[10] is None
    assert reasons[4] == "社区「桂北」不在街道 45 个社区名单中，请核对社区名称"
    assert "类别「噪音」无法识别" in reasons[5] and "登记日期「2021-02-30」不是有效日期" in reasons[5]
    assert reasons[6] == "事项编号「GN-901」与第3行重复，同一社区内不能重复，请核对"
    assert reasons[7] == "办结日期（2021-03-01）早于登记日期（2021-03-05），请核对"
    assert reasons[8] == "事项编号为空，请补填"
    for coordinate in ("G5", "G7"):  # formula-looking text stays text and is quote-prefixed
        cell = ws[coordinate]
        assert cell.data_type == "s" and cell.value[0] in "=@" and cell.quotePrefix
    notes = book["说明"]
    assert notes["A1"].value == "填表说明" and "未找到可识别的表头" in notes["B2"].value
    summary = book["问题汇总"]
    lines = [(r[0].value, r[1].value, r[2].value) for r in summary.iter_rows(min_row=7)]
    assert [(s, n) for s, n, _ in lines] == [("2021", 4), ("2021", 5), ("2021", 6), ("2021", 7), ("2021", 8),
                                             ("说明", "整个工作表")]
    assert summary["B2"].value == "桂南.xlsx"


def test_error_report_for_a_csv_uses_line_numbers_and_keeps_text(tmp_path: Path):
    path = write_csv(tmp_path / "江滨社区_事项台账.csv", [
        ["江滨社区事项登记"], HEADER,
        ["JB-1", "江滨", None, "卫生", "2021-03-05", None, "=cmd|' /C calc'!A0"],
        ["JB-2", "江滨", None, "卫生", "2021-13-05", None, "007"]], encoding="gbk")
    data = path.read_bytes()
    parsed = parse_file(path, REF, today=TODAY, data=data)
    book = openpyxl.load_workbook(io.BytesIO(error_report(path.name, data, parsed)))
    assert book.sheetnames == ["问题汇总", "江滨社区_事项台账"]
    ws = book["江滨社区_事项台账"]
    assert ws["A1"].value == "江滨社区事项登记" and ws["G2"].value == "事项描述"
    assert {c.coordinate for row in ws.iter_rows() for c in row if c.fill.fill_type == "solid"} == {"E4"}
    assert ws["G4"].value == "007" and ws["G4"].data_type == "s"  # text as sent, not a number
    assert ws["H4"].value.startswith("登记日期「2021-13-05」")
    assert ws["G3"].value == "=cmd|' /C calc'!A0" and ws["G3"].data_type == "s" and ws["G3"].quotePrefix


def test_formula_cells_are_stored_as_text_and_never_evaluated(db: Path, tmp_path: Path):
    csv_path = write_csv(tmp_path / "桂南社区_公式.csv", [HEADER,
        ["F-1", "桂南", None, "卫生", "2021-03-05", None, "=cmd|' /C calc'!A0"],
        ["F-2", "桂南", None, "卫生", "2021-03-06", None, '=HYPERLINK("http://evil.example","点我")']])
    book = xlsxwriter.Workbook(str(tmp_path / "桂南社区_公式.xlsx"))
    ws = book.add_worksheet("2021")
    ws.write_row(0, 0, HEADER)
    ws.write_row(1, 0, ["F-3", "桂南", None, "卫生", "2021-03-07", None])
    ws.write_formula(1, 6, '=HYPERLINK("http://evil.example","点我")', None, "点我")  # a real formula
    book.close()
    uploads = [(csv_path.name, csv_path.read_bytes()), ("桂南社区_公式.xlsx", (tmp_path / "桂南社区_公式.xlsx").read_bytes())]
    report = commit(preview(uploads, db), db, ref=REF, today=TODAY)
    assert report is not None and report.published
    stored = dict(query(db, "SELECT case_id, description FROM cases WHERE case_id LIKE 'F-%'"))
    assert stored == {"F-1": "=cmd|' /C calc'!A0", "F-2": '=HYPERLINK("http://evil.example","点我")',
                      "F-3": "点我"}  # an Excel formula arrives as its value, never as a formula


# ------------------------------------------------------------------ hostile and broken uploads

def zip_bomb(path: Path, member_mb: int) -> bytes:
    """A tiny xlsx-looking zip with one huge, highly compressible worksheet."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="2021" sheetId="1" r:id="rId1"/></sheets></workbook>')
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as fh:
            block = b"0" * (1024 * 1024)
            for _ in range(member_mb):
                fh.write(block)
    return path.read_bytes()


@pytest.fixture
def no_parsing(monkeypatch: pytest.MonkeyPatch):
    """Fail the test if calamine, the reader or the header search is ever reached (the limits are
    checked on the bytes first, inside parse_file)."""
    import python_calamine

    import chuangshu.intake
    import etl.pipeline

    def boom(*a, **k):
        raise AssertionError("a refused file reached the parser")

    monkeypatch.setattr(python_calamine, "CalamineWorkbook", boom)
    for module in (etl.pipeline, chuangshu.intake):
        monkeypatch.setattr(module, "read_sheets", boom)
    monkeypatch.setattr(etl.pipeline, "find_header", boom)


def assert_refused(db: Path, name: str, data: bytes, *needles: str, limits: Limits = intake.LIMITS) -> str:
    before = fingerprint(db)
    p = preview([(name, data)], db, limits=limits)
    assert [f.status for f in p.files] == ["已拒收"], p.files
    message = p.files[0].message
    for needle in needles:
        assert needle in message, message
    assert any("\u4e00" <= ch <= "\u9fff" for ch in message)
    assert commit(p, db) is None
    assert fingerprint(db) == before
    return message


def test_zip_bomb_is_refused_from_its_declared_size_before_calamine(db: Path, tmp_path: Path, no_parsing):
    data = zip_bomb(tmp_path / "bomb.xlsx", 300)
    assert len(data) < 2 * 1024 * 1024
    started = time.monotonic()
    assert_refused(db, "桂南社区_事项台账.xlsx", data, "解压后", "200.0 MB")
    assert time.monotonic() - started < 5


def test_compression_ratio_guard(db: Path, tmp_path: Path, no_parsing):
    assert_refused(db, "桂南.xlsx", zip_bomb(tmp_path / "ratio.xlsx", 50), "压缩比异常")


def test_a_member_that_lies_about_its_size_is_caught_as_damage(db: Path, tmp_path: Path, no_parsing):
    path = tmp_path / "liar.xlsx"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/workbook.xml", '<workbook><sheets><sheet name="a" r:id="rId1"/></sheets></workbook>')
        z.writestr("xl/worksheets/sheet1.xml", b"0" * (5 * 1024 * 1024))
    data = bytearray(path.read_bytes())
    name = b"xl/worksheets/sheet1.xml"
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(name.decode()).header_offset
    central = next(i for i in range(len(data) - 4, 0, -1)
                   if data.startswith(b"PK\x01\x02", i) and data[i + 46:i + 46 + len(name)] == name)
    struct.pack_into("<I", data, local + 22, 1000)  # uncompressed size: 1,000 bytes, it says
    struct.pack_into("<I", data, central + 24, 1000)
    with zipfile.ZipFile(io.BytesIO(bytes(data))) as z:
        assert z.getinfo(name.decode()).file_size == 1000
    assert_refused(db, "liar.xlsx", bytes(data), "损坏")


def test_million_row_csv_is_refused_quickly_by_the_row_limit(db: Path, no_parsing):
    data = "事项编号,社区,类别,登记日期\n".encode() + b"1,a,b,2021-01-01\n" * 1_000_000
    started = time.monotonic()
    assert_refused(db, "桂南社区_事项台账.csv", data, "1,000,001 行", "200,000 行")
    assert time.monotonic() - started < 5


def test_xlsx_row_sheet_and_size_limits(db: Path, tmp_path: Path, no_parsing):
    rows = [HEADER] + [[f"GN-{i}", "桂南", None, "卫生", "2021-03-05"] for i in range(150)]
    data = xlsx_bytes(tmp_path / "rows.xlsx", {"说明": [["x"]], "2021年": rows})
    assert_refused(db, "rows.xlsx", data, "工作表「2021年」有 151 行", "100 行", limits=Limits(rows=100))
    many = xlsx_bytes(tmp_path / "sheets.xlsx", {f"S{i}": [["x"]] for i in range(51)})
    assert_refused(db, "sheets.xlsx", many, "51 个工作表", "50 个")
    assert_refused(db, "big.csv", b"a,b\n" * 400, "文件过大", "上限为 1 KB", limits=Limits(file_bytes=1024))


@pytest.mark.parametrize(("name", "data", "needle"), [
    ("台账.exe", b"MZ\x90\x00" + b"\x00" * 200, "不支持的文件类型「.exe」"),
    ("台账.xlsx", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "文件内容是 PNG 图片"),
    ("台账.xls", b"%PDF-1.7\n" + b"x" * 200, "文件内容是 PDF 文档"),
    ("台账.csv", b"MZ\x90\x00" + b"\x00" * 200, "Windows 程序"),
    ("台账.csv", b"\x89PNG\r\n\x1a\n" + b"\x00" * 200, "PNG 图片"),
    ("台账.xlsx", "事项编号,社区\nA,桂南\n".encode(), "纯文本"),
    ("台账.csv", b"PK\x03\x04" + b"\x00" * 100, "扩展名却是 .csv"),
    ("台账.xlsx", b"", "文件为空"),
    ("台账.csv", b"", "文件为空"),
    ("台账", b"abc", "无扩展名"),
    ("台账.xlsx", b"PK\x03\x04" + b"\x01" * 300, "损坏"),
])
def test_wrong_types_and_empty_files_get_a_clear_message(db: Path, no_parsing, name: str, data: bytes, needle: str):
    assert_refused(db, name, data, needle)


def test_disguised_zip_and_word_files(db: Path, tmp_path: Path, no_parsing):
    plain = tmp_path / "a.zip"
    with zipfile.ZipFile(plain, "w") as z:
        z.writestr("photo.jpg", b"x")
    assert_refused(db, "台账.xlsx", plain.read_bytes(), "ZIP 压缩包")
    word = tmp_path / "a.docx"
    with zipfile.ZipFile(word, "w") as z:
        z.writestr("word/document.xml", "<w/>")
    assert_refused(db, "台账.xlsx", word.read_bytes(), "Word 文档")
    truncated = write_messy(tmp_path / "m.xlsx")[:-200]
    assert_refused(db, "台账.xlsx", truncated, "损坏")


def test_encrypted_workbook(db: Path, no_parsing):
    assert_refused(db, "台账.xlsx", (FIXTURES / "encrypted.xlsx").read_bytes(), "密码")


def test_too_many_files_and_duplicate_names_refuse_the_whole_upload(db: Path):
    p = preview([(f"f{i}.csv", b"a,b\n") for i in range(21)], db)
    assert p.error == "一次最多上传 20 个文件，本次选择了 21 个，请分批上传" and not p.files
    p = preview([("a.csv", b"a\n"), ("a.csv", b"b\n")], db)
    assert "重名文件：a.csv" in p.error
    assert commit(p, db) is None


def test_good_files_still_load_next_to_refused_ones(db: Path, tmp_path: Path):
    good = write_messy(tmp_path / "m.xlsx")
    p = preview([("桂南社区_新台账.xlsx", good), ("bomb.xlsx", zip_bomb(tmp_path / "b.xlsx", 300)),
                 ("empty.csv", b"")], db)
    assert [f.status for f in p.files] == ["可载入", "已拒收", "已拒收"]
    frame = p.file_frame()
    assert list(frame["community"]) == ["桂南社区", "", ""] and frame["months"][0] == "2021-03 至 2021-05"
    report = commit(p, db)
    assert [f.file for f in report.files] == ["桂南社区_新台账.xlsx"]
    assert not query(db, "SELECT * FROM load_batches WHERE source_file IN ('bomb.xlsx', 'empty.csv')")


def test_a_file_the_loader_cannot_read_is_shown_and_not_committed(db: Path, tmp_path: Path):
    data = xlsx_bytes(tmp_path / "x.xlsx", {"S": [["随便写写"], ["没有表头", "也没有数据"]]})
    before = fingerprint(db)
    p = preview([("桂南社区_乱写.xlsx", data)], db)
    assert p.files[0].status == "无法读取" and "未找到可识别的表头" in p.files[0].message
    assert p.files[0].has_report()
    book = openpyxl.load_workbook(io.BytesIO(p.files[0].error_report()))
    assert book.sheetnames == ["问题汇总"] and "未找到可识别的表头" in book["问题汇总"]["C5"].value
    assert commit(p, db) is None and fingerprint(db) == before


# ------------------------------------------------------------------ submissions and 逾期未报

def test_submissions_recorded_for_every_community_and_kind_of_the_sample(sample_db: Path):
    assert query(sample_db, "SELECT count(DISTINCT (community, ledger_kind)) FROM submissions")[0][0] == 45 * 5
    # the sample's files are named after their community: the dominant community is that one
    assert query(sample_db, "SELECT count(*) FROM submissions "
                            "WHERE community <> split_part(source_file, '_', 1)")[0][0] == 0
    expected = query(sample_db, """
        SELECT source_file, 'cases', count(*), date_trunc('month', min(reported_on))::DATE,
               date_trunc('month', max(reported_on))::DATE FROM cases GROUP BY 1
        UNION ALL SELECT source_file, 'activities', count(*), date_trunc('month', min(held_on))::DATE,
               date_trunc('month', max(held_on))::DATE FROM activities GROUP BY 1 ORDER BY 1, 2""")
    got = query(sample_db, """SELECT source_file, ledger_kind, rows, month_from, month_to FROM submissions
                              WHERE ledger_kind IN ('cases', 'activities') ORDER BY 1, 2""")
    assert got == expected
    loaded = query(sample_db, "SELECT count(*) FROM submissions s JOIN load_batches b USING (batch_id, source_file) "
                              "WHERE s.loaded_at = b.loaded_at")[0][0]
    assert loaded == query(sample_db, "SELECT count(*) FROM submissions")[0][0]


def case_file(tmp_path: Path, community: str, months: list[str]) -> Path:
    rows = [HEADER] + [[f"{community}-{i}", community, None, "卫生", f"{m}-10", None, None]
                       for i, m in enumerate(months)]
    return write_csv(tmp_path / f"{community}_事项台账.csv", rows)


def test_overdue_list_shows_a_community_whose_cases_stop_earlier(tmp_path: Path):
    db = tmp_path / "small.duckdb"
    files = [case_file(tmp_path, "桂南社区", ["2022-01", "2022-05"]), case_file(tmp_path, "江滨社区", ["2021-11", "2022-02"]),
             write_csv(tmp_path / "叠滘_活动.csv", [["活动名称", "社区", "类型", "活动日期"], ["邻里节", "叠南", "邻里节", "2022-06-01"]])]
    load_files(files, db, today=TODAY)
    con = duckdb.connect(str(db), read_only=True)
    try:
        cur = con.cursor()
        late = metrics.overdue_submissions(cur, Filters())  # as of 2022-06-30: May is due
        assert "江滨社区" in set(late["community"]) and "桂南社区" not in set(late["community"])
        assert len(late) == 44  # everyone else has never sent a case ledger
        row = late.set_index("community").loc["江滨社区"]
        assert (row["latest_label"], row["months_behind"], row["last_file"]) == ("2022-02", 3, "江滨社区_事项台账.csv")
        assert late.iloc[-1]["community"] == "江滨社区"  # never sent first, then the longest overdue
        both = Filters(communities=("桂南社区", "江滨社区"))
        assert list(metrics.overdue_submissions(cur, both)["community"]) == ["江滨社区"]
        assert metrics.overdue_submissions(cur, both, "cases", 4).empty  # 2 months' grace... and more
        assert list(metrics.overdue_submissions(cur, both, "cases", 0)["community"]) == ["江滨社区", "桂南社区"]
        assert list(metrics.overdue_submissions(cur, Filters(communities=("叠南社区",)), "activities")["community"]) == []
        assert metrics.due_month(date(2022, 1, 15), 1) == date(2021, 12, 1)
        assert metrics.due_month(date(2022, 6, 30), 0) == date(2022, 6, 1)
    finally:
        con.close()


def test_sample_has_no_overdue_community_for_the_month_before_the_default_as_of(sample_db: Path):
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        assert metrics.overdue_submissions(con.cursor(), Filters()).empty
        strict = metrics.overdue_submissions(con.cursor(), Filters(), "cases", 0)
        latest = query(sample_db, "SELECT community FROM cases GROUP BY 1 HAVING max(reported_on) < DATE '2022-06-01'")
        assert sorted(strict["community"]) == sorted(r[0] for r in latest) and len(strict) > 0
    finally:
        con.close()


def test_a_resend_adds_a_submission_and_an_old_database_is_backfilled(db: Path, tmp_path: Path):
    con = duckdb.connect(str(db))
    con.execute("DROP VIEW submissions")
    con.execute("DROP TABLE submission_log")  # as built before submissions existed
    con.close()
    first = case_file(tmp_path, "桂南社区", ["2022-01"])
    load_files([first], db, today=TODAY)
    assert query(db, "SELECT count(DISTINCT (community, ledger_kind)) FROM submissions")[0][0] == 45 * 5
    assert case_file(tmp_path, "桂南社区", ["2022-01", "2022-06"]) == first  # a corrected resend
    load_files([first], db, today=TODAY)
    history = query(db, "SELECT month_to FROM submissions WHERE source_file = ? ORDER BY batch_id", [first.name])
    assert history == [(date(2022, 1, 1),), (date(2022, 6, 1),)]


def test_check_upload_passes_real_ledgers_of_every_format(sample_ledgers: Path, tmp_path: Path):
    for path in sorted(sample_ledgers.iterdir()):
        if path.suffix in (".xlsx", ".csv"):
            check_upload(path.name, path.read_bytes())  # the sample (GBK CSVs, multi-sheet workbooks) passes
    check_upload("m.xlsx", write_messy(tmp_path / "m.xlsx"))
    with pytest.raises(Refused, match="文件为空"):
        check_upload("m.xlsx", b"")
