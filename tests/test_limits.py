"""The intake limits' own machinery (etl/limits.py): measuring a worksheet from its XML, CSV widths,
the office's overrides. The files that exercise them end to end are in test_hostile.py."""
from __future__ import annotations

import io

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import hostile_files as h
from etl import limits as L
from etl.limits import LIMITS, Limits, Refused, SheetScan, check_file, with_overrides

# worksheet XML → (rows, columns) the scan must report: the furthest reference, or a bound
SHEETS = {
    "references": (b'<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="C1" t="n"><v>0</v></c></row>'
                   b'<row r="7"><c r="B7"><v>2</v></c></row></sheetData>', (7, 3)),
    "single quotes, tab, spaces around =": (b"<row r='1'><c\tr = 'XFD1048576'><v>1</v></c></row>", (1048576, 16384)),
    "line breaks inside the tag": (b'<row r="2"><c\r\n r="K2"\n s="1"><v>1</v></c></row>', (2, 11)),
    "prefixed tags": (b'<x:row r="1"><x:c r="AB30"><x:v>1</x:v></x:c></x:row>', (30, 28)),
    "cells without references": (b"<row><c><v>1</v></c><c><v>1</v></c><c><v>1</v></c></row><row><c><v>1</v></c></row>",
                                 (3, 3)),
    "references, then cells placed after them": (b'<row r="3"><c r="D3"><v>1</v></c><c><v>1</v></c><c><v>1</v></c>'
                                                 b"</row>", (4, 6)),
    "'>' inside an attribute value (a bound)": (b'<row r="1"><c foo=">" r="Z9"><v>1</v></c></row>', (10, 27)),
    "a formatted cell without a value counts": (b'<row r="1"><c r="A1"><v>1</v></c><c r="ZZ1" s="1"/></row>', (1, 702)),
    "beyond any spreadsheet": (b'<row r="1"><c r="AAAA1"><v>1</v></c><c r="A12345678901"><v>1</v></c></row>',
                               (L.HUGE, L.HUGE)),
    "no cells": (b'<sheetData><row r="5" s="2" customFormat="1"/></sheetData>', (0, 0)),
    "text that looks like a reference": (b'<row r="1"><c r="A1" t="inlineStr"><is><t>r="Q40" r=</t></is></c></row>',
                                         (1, 1)),
}


@pytest.mark.parametrize("case", SHEETS)
def test_sheet_scan_bounds_whatever_the_chunks(case: str) -> None:
    xml, expected = SHEETS[case]
    for size in (1, 2, 3, 5, 7, 11, 64, len(xml)):  # a reference split across chunks is still seen
        scan = SheetScan()
        for i in range(0, len(xml), size):
            scan.feed(xml[i:i + size])
        scan.close()
        assert scan.bounds() == expected, (case, size)


def test_the_grid_calamine_builds_is_within_the_bounds() -> None:
    """For the readable cases, calamine's own grid is never larger than what the scan reported."""
    import python_calamine as calamine

    for case, (xml, (rows, columns)) in SHEETS.items():
        if "beyond" in case or "XFD1048576" in xml.decode():
            continue
        data = h.raw_xlsx([xml.replace(b"x:", b"")])
        sheet = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data)).get_sheet_by_name("台账")
        grid = sheet.to_python(skip_empty_area=False)
        assert len(grid) <= rows and max((len(r) for r in grid), default=0) <= columns, case


def test_an_overlong_tag_is_refused() -> None:
    scan = SheetScan()
    with pytest.raises(Refused, match="工作表中有异常长的标记"):
        scan.feed(b'<row r="1"><c r="A1" s="' + b"1" * (L.MAX_TAG + 10))


@pytest.mark.parametrize(("letters", "number"), [("A", 1), ("Z", 26), ("AA", 27), ("AZ", 52), ("ALL", 1000),
                                                 ("XFD", 16384)])
def test_column_letters(letters: str, number: int) -> None:
    assert L._column_number(letters.encode()) == number and L.column_letters(number) == letters


def test_quoted_separators_are_counted_exactly_only_when_needed() -> None:
    """A description full of commas inside quotes is one field, not a thousand columns."""
    text = "事项编号,社区,类别,登记日期,事项描述\nA-1,桂南,卫生,2021-03-01,\"" + "，,".join(["x"] * 1500) + "\"\n"
    check_file("a.csv", text.encode())
    with pytest.raises(Refused, match="文件有 1,504 列"):
        check_file("a.csv", text.replace('"', "").encode())


@pytest.mark.parametrize(("items", "expected"), [
    (["rows=500000"], {"rows": 500_000}),
    (["file_bytes=200MB", "cell_chars=1,000"], {"file_bytes": 200 * L.MB, "cell_chars": 1000}),
    (["seconds=300", "ratio=50"], {"seconds": 300.0, "ratio": 50.0}),
    (["file-bytes=2gb"], {"file_bytes": 2 * 1024 * L.MB}),
])
def test_overrides(items: list[str], expected: dict) -> None:
    limits = with_overrides(LIMITS, items)
    assert {k: getattr(limits, k) for k in expected} == expected
    assert isinstance(limits.rows, int) and isinstance(limits.seconds, float)
    assert LIMITS == Limits()  # the defaults are untouched


@pytest.mark.parametrize(("item", "message"), [
    ("lines=3", "无法识别的限制「lines=3」"), ("rows", "无法识别的限制「rows」"), ("rows=many", "数值无法识别"),
    ("rows=0", "必须大于 0"), ("rows=-5", "必须大于 0"),
])
def test_bad_overrides_say_why_in_chinese(item: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        with_overrides(LIMITS, [item])


TOKENS = [b"<row", b"<c", b"</c>", b"</row>", b"<v>1</v>", b' r="', b"A", b"Z", b"XFD", b"AAAA", b"1", b"9",
          b"1048576", b"12345678", b"123456789012", b'"', b">", b"/>", b" ", b"/", b"<", b' s="1"', b"<x", b"\x00"]


@settings(max_examples=600, deadline=None)
@given(parts=st.lists(st.sampled_from(TOKENS), max_size=60))
def test_the_small_part_reading_equals_the_numpy_one(parts: list[bytes]) -> None:
    """_measure_small gives exactly what _measure_numpy gives, whenever it answers at all."""
    text = b"".join(parts)
    fast = L._measure_small(text)
    if fast is not None:
        assert fast == L._measure_numpy(text), text


@pytest.mark.parametrize("case", SHEETS)
def test_small_part_reading_on_the_sheet_cases(case: str) -> None:
    text = L._normalise_xml(SHEETS[case][0])
    fast = L._measure_small(text)
    assert fast is None or fast == L._measure_numpy(text)


def test_a_real_worksheet_takes_the_small_part_reading(tmp_path) -> None:
    """What xlsxwriter (like Excel and WPS) writes is read without numpy: every cell has its reference."""
    import zipfile

    from conftest import write_xlsx

    path = write_xlsx(tmp_path / "a.xlsx", {"台账": [["事项编号", "社区"], *[[f"A-{i}", "桂南"] for i in range(30)]]})
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    text = L._normalise_xml(xml)
    assert L._measure_small(text) is not None and L._measure_small(text) == L._measure_numpy(text)


@settings(max_examples=300, deadline=None)
@given(rnd=st.randoms(use_true_random=False))
def test_the_small_part_reading_equals_the_numpy_one_on_sheet_shaped_markup(rnd) -> None:
    """Rows and cells with and without references of every length (beyond three letters, eight digits)."""
    def ref() -> str:
        return ("".join(rnd.choice("ABXZ") for _ in range(rnd.choice([0, 1, 2, 3, 4, 13])))
                + "".join(rnd.choice("0123456789") for _ in range(rnd.choice([0, 1, 3, 7, 8, 9, 12, 14]))))

    def cell() -> str:
        return ("<c" + (f' r="{ref()}"' if rnd.random() < .9 else "") + rnd.choice([' s="1"', ""])
                + rnd.choice(["/>", "><v>1</v></c>"]))

    rows = ["<row" + (f' r="{ref()}"' if rnd.random() < .8 else "") + rnd.choice(["", ' spans="1:3"']) + ">"
            + "".join(cell() for _ in range(rnd.randint(0, 4))) + "</row>" for _ in range(rnd.randint(0, 4))]
    text = ("<sheetData>" + "".join(rows) + "</sheetData>").encode()
    fast = L._measure_small(text)
    assert fast is None or fast == L._measure_numpy(text), text


SMALL_LIMITS = [LIMITS, Limits(rows=5, columns=3, cells=10), Limits(rows=99, columns=26, cells=2574),
                Limits(rows=100_000, columns=30, cells=3_000_000)]


def _scanned_bounds(xml: bytes) -> tuple[int, int]:
    scan = SheetScan()
    scan.feed(xml)
    scan.close()
    return scan.bounds()


def _passes(limits: Limits, bounds: tuple[int, int]) -> bool:
    try:
        limits.check_shape("x", *bounds)
    except Refused:
        return False
    return True


@pytest.mark.parametrize("case", SHEETS)
def test_a_sheet_within_limits_by_the_quick_look_passes_the_scan(case: str) -> None:
    """within_limits (a few searches) only ever says yes where the full scan would let the sheet through."""
    xml, expected = SHEETS[case]
    for limits in SMALL_LIMITS:
        if L.within_limits(xml, limits):
            assert _passes(limits, expected), (case, limits)


@settings(max_examples=300, deadline=None)
@given(rnd=st.randoms(use_true_random=False))
def test_the_quick_look_never_lets_through_what_the_scan_refuses(rnd) -> None:
    """Sheet-shaped markup, mostly as Excel writes it (reference first), with every kind of reference."""
    def ref() -> str:
        return ("".join(rnd.choice("ABXZ") for _ in range(rnd.choice([0, 1, 1, 1, 2, 3, 4])))
                + "".join(rnd.choice("0123456789") for _ in range(rnd.choice([0, 1, 2, 3, 5, 6, 7, 8, 12]))))

    def cell() -> str:
        first = rnd.random() < .85
        return ("<c" + (f' r="{ref()}"' if first else "") + rnd.choice([' s="1"', "", ' t="s"'])
                + (f' r="{ref()}"' if not first and rnd.random() < .5 else "") + rnd.choice(["/>", "><v>1</v></c>"]))

    rows = ["<row" + (f' r="{ref()}"' if rnd.random() < .8 else "") + rnd.choice(["", ' spans="1:3"']) + ">"
            + "".join(cell() for _ in range(rnd.randint(0, 4))) + "</row>" for _ in range(rnd.randint(0, 5))]
    xml = ("<sheetData>" + "".join(rows) + "</sheetData>").encode()
    bounds = _scanned_bounds(xml)
    for limits in SMALL_LIMITS:
        if L.within_limits(xml, limits):
            assert _passes(limits, bounds), (xml, limits, bounds)


GATE_TOKENS = [b" ", b"=", b":", b"c", b"row", b">", b"/", b"<", b'"', b"A", b"0", b"x", b"\t", b"r"]


@settings(max_examples=600, deadline=None)
@given(parts=st.lists(st.sampled_from(GATE_TOKENS), max_size=30))
def test_the_quick_gate_finds_whatever_the_unusual_pattern_finds(parts: list[bytes]) -> None:
    """_maybe_unusual (one translate, two searches) never misses a spelling _normalise_xml would change."""
    shape = b"".join(parts)
    if L._UNUSUAL.search(shape):
        assert L._maybe_unusual(shape), shape


@pytest.mark.parametrize("shape, unusual", [
    (b'<c r="A0" s="0">', False), (b'<c  r="A0">', True), (b'<c r ="A0">', True), (b'<c r= "A0">', True),
    (b'<x:c r="A0">', True), (b"<x:row>", True), (b"<x:c/>", True), (b'xmlns:r="a"', False),
])
def test_the_quick_gate_on_spellings(shape: bytes, unusual: bool) -> None:
    assert L._maybe_unusual(shape) == unusual
    assert bool(L._UNUSUAL.search(shape)) == unusual


def test_a_real_worksheet_needs_only_the_quick_look(tmp_path) -> None:
    """What xlsxwriter (like Excel and WPS) writes is let through without reading every reference."""
    import zipfile

    from conftest import write_xlsx

    path = write_xlsx(tmp_path / "a.xlsx", {"台账": [["事项编号", "社区"], *[[f"A-{i}", "桂南"] for i in range(130)]]})
    xml = zipfile.ZipFile(path).read("xl/worksheets/sheet1.xml")
    assert L.within_limits(xml, LIMITS)
    assert not L.within_limits(xml, Limits(rows=100))  # 131 rows: measured, and then refused by the scan
    assert not _passes(Limits(rows=100), _scanned_bounds(xml))


def _corrupt_crc(data: bytes) -> bytes:
    """The first member's CRC changed in both headers (its bytes no longer match it)."""
    import struct
    import zipfile

    out = bytearray(data)
    member = zipfile.ZipFile(io.BytesIO(data)).infolist()[0]
    struct.pack_into("<I", out, member.header_offset + 14, member.CRC ^ 1)
    central = out.find(b"PK\x01\x02")  # the first central directory entry: the first member's
    struct.pack_into("<I", out, central + 16, member.CRC ^ 1)
    return bytes(out)


@pytest.mark.parametrize(("build", "whole"), [
    (h.long_cell_xlsx, True), (h.odd_dates_xlsx, True),
    (h.lying_member_xlsx, False),  # a worksheet that inflates past its declared size: left to zipfile
    (lambda: ("x.xlsx", _corrupt_crc(h.odd_dates_xlsx()[1])), False),
])
def test_member_content_is_zipfiles_or_nothing(build, whole: bool) -> None:
    """The direct read of a small member gives exactly what zipfile reads, or None where zipfile would
    object (then zipfile reads it and refuses the file with its reason)."""
    import zipfile

    data = build()[1]
    archive = zipfile.ZipFile(io.BytesIO(data))
    got = [L._member_content(archive, m, data) for m in archive.infolist()]
    if whole:
        assert got == [archive.read(m) for m in archive.infolist()]
    else:
        assert None in got
        with pytest.raises(Refused, match="文件已损坏"):
            check_file("x.xlsx", data)


def test_a_small_csv_read_as_rows_names_the_cell_its_frame_named() -> None:
    """Two cells over the limit: the rows path names the one the frame path names (first column, longest)."""
    from etl.extract import read_csv_grid

    limits = Limits(cell_chars=10)
    data = "a,b,c\nx,yyyyyyyyyyyy,z\nzzzzzzzzzzzz,y,wwwwwwwwwwwwwwwwww\nq,yyyyyyyyyyyyyyy,r\n".encode()
    messages = []
    for grid in (read_csv_grid(data), read_csv_grid(data, rows_up_to=1000)):
        with pytest.raises(Refused) as caught:
            L.check_grid(None, grid, limits)
        messages.append(str(caught.value))
    assert messages[0] == messages[1] and "第 3 行第 1 列的单元格有 12 个字符" in messages[0], messages
