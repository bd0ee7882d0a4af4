"""The vectorised paths a large CSV takes give exactly what the per-value paths give."""
from __future__ import annotations

import csv
import io
import re
import sys
import unicodedata

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import extract
from etl import normalise as n
from etl import transform as t
from etl.load import check_keys, create_schema, row_hashes

ALL_CHARS = "".join(chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF)


def _matches(pattern: str, chars: str) -> list[bool]:
    return pc.match_substring_regex(pa.array(list(chars)), pattern).to_pylist()


def test_py_space_is_exactly_pythons_whitespace():
    flags = _matches(f"^[{t.PY_SPACE}]$", ALL_CHARS)
    assert [c for c, f in zip(ALL_CHARS, flags) if f] == [c for c in ALL_CHARS if c.isspace()]
    assert [c for c, f in zip(ALL_CHARS, flags) if f] == [c for c in ALL_CHARS if re.fullmatch(r"\s", c)]


def test_plain_text_characters_are_left_alone_by_nfkc_and_are_not_spaces():
    flags = _matches(t.PLAIN_TEXT, ALL_CHARS)
    plain = [c for c, f in zip(ALL_CHARS, flags) if f]
    assert len(plain) > 20000
    for c in plain:
        assert unicodedata.normalize("NFKC", c) == c and not c.isspace() and unicodedata.combining(c) == 0, c


def test_wide_text_characters_become_one_plain_character_under_nfkc():
    """What makes clean_text/squeeze of a WIDE_TEXT value equal to Arrow's NFKC of it."""
    flags = _matches(t.WIDE_TEXT, ALL_CHARS)
    wide = [c for c, f in zip(ALL_CHARS, flags) if f]
    assert len(wide) == len([c for c, f in zip(ALL_CHARS, _matches(t.PLAIN_TEXT, ALL_CHARS)) if f]) + 94
    for c in wide:
        folded = unicodedata.normalize("NFKC", c)
        assert len(folded) == 1, c
        assert pc.match_substring_regex(pa.array([folded]), t.PLAIN_TEXT).to_pylist() == [True], c
        assert pc.utf8_normalize(pa.array([c]), form="NFKC").to_pylist() == [folded], c


MESSY = st.text(alphabet=st.sampled_from(list(
    "ab Z09-_/.#（）()，,、。：:“”\"'　\u00a0\t\n\u3000ＡＢ１２－桂南社区小区新苑楼栋张三欧阳·—【】㊀ﬁ\u200b①")),
    max_size=12)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.one_of(MESSY, st.none()), min_size=1, max_size=40),
       ftype=st.sampled_from(sorted(t.UNCHANGED_IF)))
def test_vectorised_text_path_equals_the_normaliser(cells, ftype):
    fn = {"id": t._text, "text": t._text, "note": t._note, "place": t._squeezed, "person_name": t._squeezed,
          "phone": n.phone_digits}[ftype]
    fast = t._apply_text(pd.Series(cells, dtype=str), fn, t.UNCHANGED_IF[ftype], t.NFKC_IF.get(ftype))
    assert fast is not None
    out, errors = fast
    assert errors == {}
    assert pa.array(out).to_pylist() == [fn(c) for c in cells]


def test_vectorised_text_path_only_for_arrow_strings():
    assert t._apply_text(pd.Series(["a"], dtype=object), t._text, t.PLAIN_TEXT) is None


CELL = st.text(alphabet=st.sampled_from(list('ab1 ,"\n\r桂南-：')), max_size=6)


@settings(max_examples=150, deadline=None)
@given(rows=st.lists(st.one_of(st.just([]), st.lists(CELL, min_size=3, max_size=3)), min_size=1, max_size=15),
       blank_line=st.booleans(), bom=st.booleans())
def test_fast_csv_reader_equals_the_pandas_reader(rows, blank_line, bom):
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    text = buffer.getvalue() + ("\r\n" if blank_line else "")
    data = (b"\xef\xbb\xbf" if bom else b"") + text.encode("utf-8")
    got = extract.read_csv_grid(data)
    delimiter, width = extract.sniff_delimiter(text[: extract.SNIFF_CHARS])
    try:
        expected = pd.read_csv(io.BytesIO(text.encode("utf-8")), encoding="utf-8", header=None, names=range(width),
                               dtype=str, keep_default_na=False, skip_blank_lines=False, sep=delimiter, engine="c")
    except pd.errors.EmptyDataError:  # only blank lines: pandas gives up, we give blank rows
        assert (got.fillna("") == "").all().all()
        return
    # a blank line is a row of blanks either way ('' from pyarrow, NaN from pandas): numbers match
    pd.testing.assert_frame_equal(got.fillna(""), expected.fillna(""))


def test_fast_csv_reader_declines_ragged_and_non_utf8_files():
    assert extract._read_rectangular(b"title\na,b,c\n", ",", 3) is None        # short line
    assert extract._read_rectangular(b"a,b,c\nd,e,f,g\n", ",", 3) is None      # long line
    blank = extract._read_rectangular(b"a,b,c\n\nd,e,f\n", ",", 3)              # blank line: kept
    assert blank.values.tolist() == [["a", "b", "c"], ["", "", ""], ["d", "e", "f"]]
    assert extract._read_rectangular("a,b\n桂,南\n".encode("gbk"), ",", 2) is None
    frame = extract._read_rectangular(b'a,"b\nc",d\ne,f,g\n', ",", 3)
    assert frame.values.tolist() == [["a", "b\nc", "d"], ["e", "f", "g"]]


def test_row_hashes_follow_the_rows_of_a_large_frame():
    n = 300_000
    frame = pd.DataFrame({"a": np.array([f"id-{i}" for i in range(n)], dtype=object),
                          "b": pd.to_datetime(np.arange(n) % 5000, unit="D").astype("datetime64[us]"),
                          "c": pd.array([None if i % 3 else i for i in range(n)], dtype="Int64")})
    full = row_hashes(frame, ["a", "b", "c"])
    assert len(full) == n and len(set(full)) == n and all(len(h) == 16 for h in full[:100])
    for start in (0, 122_879, 150_000, n - 10):
        part = frame.iloc[start:start + 10].reset_index(drop=True)
        assert list(row_hashes(part, ["a", "b", "c"])) == list(full[start:start + 10])
    changed = frame.copy()
    changed.loc[7, "a"] = "other"
    again = row_hashes(changed, ["a", "b", "c"])
    assert [i for i in range(n) if again[i] != full[i]] == [7]


def test_row_hash_tells_blank_from_text():
    frame = pd.DataFrame({"a": np.array([None, "", "None"], dtype=object)})
    assert len(set(row_hashes(frame, ["a"]))) == 3


def test_check_keys_refuses_duplicate_keys():
    con = duckdb.connect()
    create_schema(con)
    row = "('桂南社区', 'GN-1', '邻里矛盾', DATE '2021-03-05', 'a.csv', 'x', 1)"
    sql = ("INSERT INTO case_records (community, case_id, category, reported_on, source_file, row_hash, batch_id) "
           f"VALUES {row}")
    con.execute(sql)
    check_keys(con)
    con.execute(sql)
    with pytest.raises(RuntimeError, match="内部错误：事项台账中键"):
        check_keys(con)


def test_blank_and_footer_first_characters_are_pythons_whitespace():
    spaces = [c for c in ALL_CHARS if c.isspace()]
    flags = pc.utf8_is_space(pa.array(list(ALL_CHARS))).to_pylist()
    assert [c for c, f in zip(ALL_CHARS, flags) if f] == spaces
    assert sorted(t.PY_SPACES) == spaces


def test_phone_like_finds_every_python_digit_and_every_masked_number():
    digits = [c for c in ALL_CHARS if re.fullmatch(r"\d", c)]
    assert all(_matches(r"^\p{Nd}$", "".join(digits)))
    for note in ["电话13812345678", "电话１３８１２３４５６７８", "138-1234-5678", "020 12345678", "０２０－１２３４５６７８"]:
        assert t.PHONE_IN_TEXT.search(note)
        assert pc.match_substring_regex(pa.array([note]), t.PHONE_LIKE).to_pylist() == [True]


def test_footer_and_blank_rows_of_a_csv_frame():
    text = "事项编号,社区,类别,登记日期\n1,桂南社区,邻里矛盾,2021-03-05\n\n , ,\u3000,\n \u3000合计,1,,\n填表人：张三,,审核人：李四,\n"
    grid = extract.read_csv_grid(text.encode("utf-8"))
    from etl.header import find_header, grid_rows
    match, _ = find_header(grid_rows(grid))
    region = t.data_region(grid, match)
    assert region["source_row"].tolist() == [2]


CELLS = st.text(alphabet=st.sampled_from(list(
    "ab 9合计总小填审核制表负责联系人：\t\n\u3000\u00a0\u2028\u1680\u0085é𠀀😀")), max_size=6)


@settings(max_examples=200, deadline=None)
@given(cells=st.lists(st.one_of(CELLS, st.none()), min_size=1, max_size=30), cut=st.integers(0, 3),
       large=st.booleans())
def test_first_character_masks_equal_python(cells, cut, large):
    """Blank and footer-prefix masks read from the UTF-8 bytes give what str.isspace / lstrip give."""
    arr = pa.array(cells, pa.large_string() if large else pa.string()).slice(min(cut, len(cells) - 1))
    col = pd.Series(pd.arrays.ArrowExtensionArray(arr)).astype(str)
    values = arr.to_pylist()
    first = t._first_chars(col)
    assert first is not None
    assert [chr(c) for c in first.code] == [values[i][0] for i in first.at]
    assert t._blank_mask(col, first).tolist() == [v is None or v.strip() == "" for v in values]
    assert t._footer_prefix_mask(col, first).tolist() == [
        v is not None and v.lstrip().startswith(t.FOOTER_PREFIXES) for v in values]
