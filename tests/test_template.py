"""Templates for clerks (etl/template.py): structure, drop-downs against the reference data, the loader
skipping the example row and instruction sheets, and a round trip for every kind: a template filled
in with a sample file's rows loads with zero rejects and gives exactly the rows of the sample's file."""
from __future__ import annotations

import csv
import io
import re
import shutil
from datetime import date
from pathlib import Path
from typing import Any

import openpyxl
import pytest
from streamlit.testing.v1 import AppTest

from conftest import query, write_csv
from etl import template
from etl.extract import read_sheets
from etl.header import EXAMPLE_MARK, TEMPLATE_MARK, find_header, grid_rows
from etl.kinds import BY_NAME, KINDS, LedgerKind
from etl.load import load_files
from etl.pipeline import TEMPLATE_NOTE, parse_file
from etl.reference import load_reference
from etl.transform import data_region, normaliser

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "data" / "reference"
COMMUNITY = "同德社区"


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def reference_column(name: str, column: str, **where: str) -> list[str]:
    """A column of a reference CSV, read here independently of the loader."""
    with open(REFERENCE / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return [r[column] for r in csv.DictReader(fh) if all(r[k] == v for k, v in where.items())]


def workbook(data: bytes) -> openpyxl.Workbook:
    return openpyxl.load_workbook(io.BytesIO(data))


def dropdowns(book: openpyxl.Workbook, kind: LedgerKind) -> dict[str, list[str]]:
    """Header -> the values its data validation offers (resolved from the hidden sheet)."""
    ws = book[kind.title]
    headers = [c.value for c in ws[1]]
    out = {}
    for dv in ws.data_validations.dataValidation:
        assert dv.type == "list" and dv.errorStyle == "warning"
        (cells,) = str(dv.sqref).split()
        first, last = cells.split(":")
        assert re.sub(r"\d", "", first) == re.sub(r"\d", "", last) and first[-1:] == "2" and last.endswith("1048576")
        sheet, rng = re.fullmatch(r"'(.+)'!(\$[A-Z]+\$\d+:\$[A-Z]+\$\d+)", dv.formula1).groups()
        values = [c.value for row in book[sheet][rng.replace("$", "")] for c in row]
        column = openpyxl.utils.column_index_from_string(re.sub(r"\d", "", first))
        out[headers[column - 1]] = values
    return out


def column_format(ws: Any, col: int) -> str:
    """The number format of a whole column (<col> ranges may span several columns)."""
    return next((d.number_format for d in ws.column_dimensions.values() if d.min <= col <= d.max), "General")


# ------------------------------------------------------------------ structure

@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_template_structure(kind: LedgerKind, ref) -> None:
    book = workbook(template.build(kind, ref, COMMUNITY))
    assert book.sheetnames == [kind.title, template.NOTES_SHEET, template.LISTS_SHEET]
    assert [book[s].sheet_state for s in book.sheetnames] == ["visible", "visible", "hidden"]
    ws = book[kind.title]
    assert [c.value for c in ws[1]] == [f.header for f in kind.fields]  # the canonical headers, in order
    assert ws.freeze_panes == "A2"
    for col, f in enumerate(kind.fields, start=1):
        letter = openpyxl.utils.get_column_letter(col)
        note = ws.cell(1, col).comment.text
        assert note.startswith(f"{f.header}（{'必填' if f.required else '选填'}）"), note
        assert all(alias in note for alias in f.aliases)
        assert re.search(r"^填写：[^\n]{4,}", note, re.M), note  # every column says what to write
        assert column_format(ws, col) == (
            "yyyy-mm-dd" if f.type == "date" else "@" if f.type in template.TEXT_TYPES else "General"), f.name
    example = [c.value for c in ws[2]]
    assert str(example[0]).startswith(EXAMPLE_MARK) and ws.max_row == 2
    assert COMMUNITY in example
    for sheet in (template.NOTES_SHEET, template.LISTS_SHEET):
        assert str(book[sheet]["A1"].value).startswith(TEMPLATE_MARK)
    for sheet in book.worksheets:  # Chinese throughout (Excel is a product's name)
        for row in sheet.iter_rows(values_only=True):
            for value in row:
                if isinstance(value, str) and re.search("[A-Za-z]{2,}", value.replace("Excel", "")):
                    assert re.search(r"[\u4e00-\u9fff]", value), (sheet.title, value)


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_dropdowns_match_the_reference_data(kind: LedgerKind, ref) -> None:
    lists = dropdowns(workbook(template.build(kind, ref, COMMUNITY)), kind)
    expected = {
        "community": reference_column("communities", "community"),
        "category": reference_column("categories", "category"),
        "role": reference_column("roles", "role"),
        "org_kind": reference_column("org_kinds", "kind"),
        "activity_kind": reference_column("activity_kinds", "kind"),
        "outcome": ["成功", "不成功", "转办"],
        "satisfaction": ["满意", "基本满意", "不满意"],
    }
    today = date(2022, 6, 30)
    for f in kind.fields:
        if f.type in expected:
            assert lists.pop(f.header) == expected[f.type], f.header
        elif f.name == template.COMPOUND:
            assert lists.pop(f.header) == reference_column("compounds", "compound", community=COMMUNITY)
        elif f.type in ("party", "funded"):  # yes/no: every word is understood, both answers offered
            values = lists.pop(f.header)
            assert {normaliser(f, ref, today)(v) for v in values} == {True, False}, values
    assert not lists  # no other drop-downs
    for f in kind.fields:  # every offered value is taken by the loader as itself
        if f.type in expected:
            assert all(normaliser(f, ref, today)(v) == v for v in expected[f.type])


def test_without_a_community_there_is_no_compound_list(ref) -> None:
    kind = BY_NAME["cases"]
    book = workbook(template.build(kind, ref))
    assert "小区" not in dropdowns(book, kind) and "社区" in dropdowns(book, kind)
    assert "下载模板时选择社区" in book[kind.title]["C1"].comment.text
    assert template.file_name(kind) == "事项台账_模板.xlsx"
    assert template.file_name(kind, COMMUNITY) == "同德社区_事项台账_模板.xlsx"


# ------------------------------------------------------------------ the loader skips what is not data

@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_blank_template_loads_nothing_and_rejects_nothing(kind: LedgerKind, ref, tmp_path: Path) -> None:
    path = tmp_path / template.file_name(kind, COMMUNITY)
    path.write_bytes(template.build(kind, ref, COMMUNITY))
    parsed = parse_file(path, ref, today=date(2022, 6, 30))
    assert parsed.error is None and parsed.rejects == [] and parsed.rows_read == 0
    assert parsed.sheets == [(kind.title, kind.name), (template.NOTES_SHEET, TEMPLATE_NOTE),
                             (template.LISTS_SHEET, TEMPLATE_NOTE)]
    report = load_files([path], tmp_path / "db.duckdb", today=date(2022, 6, 30))
    assert [(f.status, f.rows_read, f.new, f.rejected) for f in report.files] == [("已载入", 0, 0, 0)]


def test_the_example_row_is_valid_apart_from_its_mark(ref, tmp_path: Path) -> None:
    """Without its mark the example row loads: the mark, not a fault, keeps it out."""
    for kind in KINDS:
        book = workbook(template.build(kind, ref, COMMUNITY))
        ws = book[kind.title]
        ws["A2"] = str(ws["A2"].value).removeprefix(EXAMPLE_MARK)
        path = tmp_path / f"{kind.name}.xlsx"
        book.save(path)
        parsed = parse_file(path, ref, today=date(2022, 6, 30))
        assert parsed.rejects == [] and parsed.rows_read == 1 and len(parsed.records[kind.name]) == 1, kind.name


def test_the_example_row_is_skipped_in_a_csv_too_and_only_in_the_first_column(ref, tmp_path: Path) -> None:
    kind = BY_NAME["cases"]
    header = [f.header for f in kind.fields[:6]]
    path = write_csv(tmp_path / "a.csv", [header, [f"{EXAMPLE_MARK}2022-001", "桂南", None, "卫生", "2022-05-05"],
                                          [f"  {EXAMPLE_MARK}x", "桂南", None, "卫生", "2022-05-05"],
                                          ["A-1", f"{EXAMPLE_MARK}桂南", None, "卫生", "2022-05-05"],
                                          ["A-2", "桂南", None, "卫生", "2022-05-06"]])
    for grid in ("csv", "xlsx"):
        if grid == "xlsx":
            book = openpyxl.Workbook()
            for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"))):
                book.active.append([v or None for v in row])
            path = tmp_path / "a.xlsx"
            book.save(path)
        parsed = parse_file(path, ref, today=date(2022, 6, 30))
        assert parsed.rows_read == 2, grid  # the two example rows are not data
        assert [r.row_number for r in parsed.rejects] == [4], grid  # a mark elsewhere is just a wrong value
        assert parsed.records["cases"]["case_id"].to_pylist() == ["A-2"], grid


# ------------------------------------------------------------------ round trip from the sample

def raw_rows(path: Path, kind: LedgerKind) -> list[list[Any]]:
    """The sample file's cells of ``kind``, as the clerk sees them, one list per data row (template order)."""
    rows = []
    for raw in read_sheets(path):
        match, _ = find_header(grid_rows(raw.grid))
        if match is not None and match.kind is kind:
            for record in data_region(raw.grid, match).to_dict("records"):
                rows.append([record.get(f.name) for f in kind.fields])
    return rows


def round_trip_files(sample_db: Path) -> list[tuple[str, str]]:
    """Per kind and format (.xlsx, .csv): the sample's largest file of that kind without a reject."""
    picked = query(sample_db, """
        SELECT kind, arg_max(source_file, rows) FROM (
            SELECT s.ledger_kind AS kind, s.source_file, s.rows, lower(regexp_extract(s.source_file, '\\.\\w+$')) AS ext
            FROM submissions s WHERE s.source_file NOT IN (SELECT source_file FROM rejects))
        GROUP BY kind, ext ORDER BY kind, ext""")
    assert {k for k, _ in picked} == {k.name for k in KINDS}
    return picked


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.name)
def test_a_template_filled_with_the_samples_rows_loads_them_all(kind: LedgerKind, ref, tmp_path: Path,
                                                                sample_ledgers: Path, sample_db: Path) -> None:
    files = [f for k, f in round_trip_files(sample_db) if k == kind.name]
    for name in files:
        source = sample_ledgers / name
        rows = raw_rows(source, kind)
        community = query(sample_db, "SELECT community FROM submissions WHERE source_file = ? AND ledger_kind = ?",
                          [name, kind.name])[0][0]
        book = workbook(template.build(kind, ref, community))
        sheet = book[kind.title]
        for r, row in enumerate(rows, start=3):  # below the example row, as a clerk fills it
            for c, value in enumerate(row, start=1):
                if not (value is None or value == "" or value != value):
                    sheet.cell(r, c, value)
        filled = tmp_path / template.file_name(kind, community)
        book.save(filled)
        mine = load_files([filled], tmp_path / f"{name}.template.duckdb")
        assert [(f.status, f.rows_read, f.rejected) for f in mine.files] == [("已载入", len(rows), 0)]
        theirs = tmp_path / f"{name}.sample.duckdb"
        assert load_files([source], theirs).files[0].rejected == 0
        columns = ", ".join([*kind.columns, "row_hash"])
        want = query(theirs, f"SELECT {columns} FROM {kind.table} ORDER BY ALL")
        assert len(want) == len(rows) > 0
        assert query(tmp_path / f"{name}.template.duckdb", f"SELECT {columns} FROM {kind.table} ORDER BY ALL") == want


# ------------------------------------------------------------------ command line and page

def test_cli_writes_a_template_and_explains_mistakes(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from etl.__main__ import main as cli

    out = tmp_path / "t" / "x.xlsx"
    assert cli(["template", "三长名册", "--community", "同德", "--out", str(out)]) == 0
    assert f"已生成模板：{out}" in capsys.readouterr().out
    book = openpyxl.load_workbook(out)
    assert book.sheetnames[0] == "三长名册" and dropdowns(book, BY_NAME["volunteers"])["小区"] == \
        reference_column("compounds", "compound", community=COMMUNITY)
    assert cli(["template", "cases", "--out", str(out)]) == 0 and openpyxl.load_workbook(out).sheetnames[0] == "事项台账"
    assert cli(["template", "账本", "--out", str(out)]) == 2
    assert "没有「账本」这种台账，可选：cases（事项台账）" in capsys.readouterr().err
    assert cli(["template", "cases", "--community", "火星", "--out", str(out)]) == 2
    assert "社区「火星」不在街道 45 个社区名单中" in capsys.readouterr().err


@pytest.fixture
def intake_page(sample_db: Path, tmp_path: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                nav_apptest: None) -> AppTest:
    db = tmp_path / "guicheng.duckdb"
    shutil.copyfile(sample_db, db)
    monkeypatch.setenv("CHUANGSHU_DB", str(db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)
    at.run()
    at.switch_page("pages/intake.py").run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def test_the_intake_page_offers_every_template(intake_page: AppTest) -> None:
    from chuangshu import templates

    at = intake_page
    assert any(e.label.startswith("空白台账模板") for e in at.expander)
    kind = at.selectbox(key="template_kind")
    assert kind.options == [k.title for k in KINDS] and kind.value == "cases"
    community = at.selectbox(key="template_community")
    assert community.options[0] == "不指定社区" and COMMUNITY in community.options
    assert [b.label for b in at.get("download_button")][0] == "下载台账模板（Excel）"
    kind.set_value("volunteers").run()
    at.selectbox(key="template_community").set_value(COMMUNITY).run()
    assert not at.exception
    name, data = templates.template_file("volunteers", COMMUNITY)
    assert name == "同德社区_三长名册_模板.xlsx" and workbook(data).sheetnames[0] == "三长名册"


@pytest.mark.browser
def test_a_clerk_downloads_fills_and_uploads_a_template_in_a_real_browser(app_url: str, page, tmp_path: Path) -> None:
    """数据上报 in chromium: download the 组织名册 template for 同德社区, fill two rows, preview: zero rejects."""
    from playwright.sync_api import expect

    from test_browser import ARTIFACTS, assert_no_error, choose, wait_idle

    page.set_viewport_size({"width": 1440, "height": 1400})
    page.goto(f"{app_url}/intake")
    wait_idle(page)
    page.get_by_text("空白台账模板").first.click()
    wait_idle(page)
    main = page.get_by_test_id("stMain")
    for label, text, option in (("台账", "组织", "组织名册"), ("社区", "同德", COMMUNITY)):
        box = main.get_by_test_id("stSelectbox").filter(has_text=label).first
        expect(box).to_be_visible()
        choose(page, box, text, option)
        expect(box.get_by_role("combobox")).to_have_value(option)
        wait_idle(page)
    page.screenshot(path=str(ARTIFACTS / "intake-template.png"), full_page=True)
    button = page.get_by_role("button", name="下载台账模板")
    expect(button).to_be_enabled()
    with page.expect_download(timeout=60_000) as download:
        button.click()
    assert download.value.suggested_filename == "同德社区_组织名册_模板.xlsx"
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    book = openpyxl.load_workbook(saved)
    kind = BY_NAME["organizations"]
    assert dropdowns(book, kind)["小区"] == reference_column("compounds", "compound", community=COMMUNITY)
    sheet = book[kind.title]  # a clerk fills two rows below the example, with the drop-down values
    sheet.append(["松涛公馆读书会", "社团", COMMUNITY, "松涛公馆", date(2021, 3, 1), 25, None])
    sheet.append(["曦园街坊会", "街坊会", "同德", "曦园雅居", "2021年5月6日", "约30人", None])
    book.save(saved)

    page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([{
        "name": saved.name, "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        "buffer": saved.read_bytes()}])
    wait_idle(page)
    expect(page.get_by_role("heading", name="预览").first).to_be_visible()
    cells = page.get_by_test_id("stDataFrame").first.locator("td").all_inner_texts()
    assert cells[:11] == [saved.name, "可载入", "组织名册", COMMUNITY, "2021-03 至 2021-05", "2", "2", "0", "0", "0",
                          "0"], cells
    assert_no_error(page, "intake-template")
    page.screenshot(path=str(ARTIFACTS / "intake-template-preview.png"), full_page=True)
