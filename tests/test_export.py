"""Downloads: CSV with BOM and Excel files where nothing can become a formula."""
from __future__ import annotations

import datetime as dt
import decimal
import io
import re
import zipfile

import numpy as np
import openpyxl
import pandas as pd
import pytest

from chuangshu.export import (
    is_formula_like,
    neutralise,
    to_csv_bytes,
    to_xlsx_bytes,
)

HOSTILE = ["=1+1", "+SUM(A1:A2)", "-2+3", "@SUM(1)", "\t=cmd", "\r=cmd",
           '=HYPERLINK("http://evil.example","点我")', "=cmd|' /C calc'!A0"]


N = len(HOSTILE) + 3


def frame() -> pd.DataFrame:
    return pd.DataFrame({
        "社区": ["桂雅社区", "灯湖社区", *HOSTILE, None],
        "个案数": list(range(N)),
        "金额": [decimal.Decimal("1234.50")] * N,
        "受理日期": pd.to_datetime(["2020-01-02"] * (N - 1) + [None]),
        "备注": ["说明“引号”, 逗号"] * N,
    })


def test_formula_detection():
    for text in HOSTILE:
        assert is_formula_like(text) and neutralise(text) == "'" + text
    for value in ["桂雅社区", "1+1", "a=b", 5, -3, None, ""]:
        assert not is_formula_like(value) and neutralise(value) == value


def test_csv_has_bom_and_chinese():
    data = to_csv_bytes(frame())
    assert data.startswith(b"\xef\xbb\xbf")
    text = data.decode("utf-8-sig")
    assert text.splitlines()[0] == "社区,个案数,金额,受理日期,备注"
    assert "桂雅社区" in text and '"说明“引号”, 逗号"' in text
    assert "\r\n" in text


def test_csv_neutralises_formulas():
    text = to_csv_bytes(frame()).decode("utf-8-sig")
    back = pd.read_csv(io.StringIO(text), keep_default_na=False)
    for cell in back["社区"]:
        assert not is_formula_like(cell), cell
    assert "'=1+1" in set(back["社区"])
    assert back["个案数"].tolist() == list(range(N))  # numbers untouched
    raw = to_csv_bytes(frame(), neutralise_formulas=False).decode("utf-8-sig")
    assert "\n=1+1," in raw


def test_csv_neutralises_headers():
    text = to_csv_bytes(pd.DataFrame({"=cmd()": [1]})).decode("utf-8-sig")
    assert text.startswith("'=cmd()")


def _unescape(value):
    """Excel's _xHHHH_ escapes for control characters (openpyxl leaves them as they are)."""
    if not isinstance(value, str):
        return value
    return re.sub(r"_x([0-9A-Fa-f]{4})_", lambda m: chr(int(m.group(1), 16)), value)


def _sheet_xml(data: bytes, sheet: int = 1) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        return z.read(f"xl/worksheets/sheet{sheet}.xml").decode("utf-8")


def test_xlsx_never_contains_formulas():
    data = to_xlsx_bytes(frame())
    xml = _sheet_xml(data)
    assert "<f>" not in xml and "<f " not in xml
    wb = openpyxl.load_workbook(io.BytesIO(data))
    ws = wb.active
    cells = {_unescape(ws.cell(row=r, column=1).value): ws.cell(row=r, column=1)
             for r in range(2, ws.max_row + 1)}
    for text in HOSTILE:
        cell = cells[text]  # the text is intact, no apostrophe added to the value
        assert cell.data_type == "s"
        assert cell.quotePrefix, text  # and Excel keeps it text even when edited


def test_xlsx_keeps_chinese_numbers_and_dates():
    data = to_xlsx_bytes(frame(), sheet_name="结果")
    wb = openpyxl.load_workbook(io.BytesIO(data))
    assert wb.sheetnames == ["结果"]
    ws = wb["结果"]
    assert [c.value for c in ws[1]] == ["社区", "个案数", "金额", "受理日期", "备注"]
    assert ws["A2"].value == "桂雅社区"
    assert ws["B3"].value == 1 and ws["C2"].value == 1234.5
    assert ws["D2"].value == dt.datetime(2020, 1, 2) and ws["D2"].number_format == "yyyy-mm-dd"
    assert ws["E2"].value == "说明“引号”, 逗号"
    last = ws.max_row
    assert ws.cell(row=last, column=1).value is None and ws.cell(row=last, column=4).value is None
    assert ws.freeze_panes == "A2"


def test_xlsx_several_sheets_and_odd_names():
    data = to_xlsx_bytes({"结果": frame(), "a/b:c?": pd.DataFrame({"x": [1]}),
                          "结果 ": pd.DataFrame({"y": [2]}), "x" * 40: pd.DataFrame()})
    wb = openpyxl.load_workbook(io.BytesIO(data))
    names = wb.sheetnames
    assert names[0] == "结果" and names[1] == "a_b_c_"
    assert len(set(n.lower() for n in names)) == 4 and all(len(n) <= 31 for n in names)


def test_xlsx_awkward_values():
    df = pd.DataFrame({
        "big": [2**60],
        "inf": [float("inf")],
        "nan": [np.nan],
        "na": pd.array([None], dtype="Int32"),
        "bool": [True],
        "list": [np.array([1, 2])],
        "tz": pd.to_datetime(["2020-01-01 08:30"]).tz_localize("Asia/Shanghai"),
        "date": [dt.date(2021, 5, 6)],
        "url": ["http://example.com"],
        "num_text": ["00123"],
    })
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(df)))
    row = [c.value for c in wb.active[2]]
    assert row[0] == str(2**60)  # no silent loss of digits
    assert row[1] == "inf" and row[2] is None and row[3] is None and row[4] is True
    assert row[5] == "[1, 2]"
    assert row[6] == dt.datetime(2020, 1, 1, 8, 30)
    assert row[7] == dt.datetime(2021, 5, 6)
    assert row[8] == "http://example.com" and row[9] == "00123"  # not a link, not a number
    assert not wb.active["I2"].hyperlink


def test_empty_frames():
    assert to_csv_bytes(pd.DataFrame()).startswith(b"\xef\xbb\xbf")
    wb = openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes(pd.DataFrame({"社区": []}))))
    assert wb.active["A1"].value == "社区"
    assert openpyxl.load_workbook(io.BytesIO(to_xlsx_bytes({})))


def test_xlsx_row_limit():
    class Huge(pd.DataFrame):
        def __len__(self):  # pretend, without allocating a million rows
            return 2_000_000
    with pytest.raises(ValueError, match="Excel"):
        to_xlsx_bytes(Huge({"x": [1]}))
