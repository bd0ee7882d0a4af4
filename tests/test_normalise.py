"""Normalisers as tables: raw cell in, canonical value (or the CellError code) out."""
from __future__ import annotations

import re
import sys
import unicodedata
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from etl import normalise as n
from etl.errors import CellError
from etl.reference import load_reference

REF = load_reference()
D = date(2021, 3, 5)
FW = str.maketrans("0123456789-/.", "０１２３４５６７８９－／．")


def outcome(fn, value):
    """The value, or ('error', code) so that tables can list failures next to successes."""
    try:
        return fn(value)
    except CellError as exc:
        return ("error", exc.code)


# ---------------------------------------------------------------- dates

@pytest.mark.parametrize("raw, expected", [
    # real Excel dates (calamine gives date / datetime; pandas gives Timestamp)
    (date(2021, 3, 5), D),
    (datetime(2021, 3, 5, 14, 30), D),
    (pd.Timestamp("2021-03-05 08:00"), D),
    # Excel serial numbers, as numbers and as text
    (44260, D),
    (44260.0, D),
    (44260.75, D),            # serial with a time of day
    ("44260", D),
    ("44260.0", D),
    # text forms the contract lists
    ("2021-03-05", D),
    ("2021-3-5", D),
    ("2021/3/5", D),
    ("2021/03/05", D),
    ("2021.3.5", D),
    ("2021.03.05", D),
    ("2021年3月5日", D),
    ("2021年03月05日", D),
    ("2021年3月5", D),
    ("2021 年 3 月 5 日", D),
    ("20210305", D),
    (20210305, D),
    ("２０２１年３月５日", D),
    ("２０２１－０３－０５", D),
    ("２０２１／３／５", D),
    ("　2021-03-05　", D),     # full-width spaces around
    # with time parts
    ("2021-03-05 14:30", D),
    ("2021-03-05 14:30:15", D),
    ("2021-03-05T14:30:15", D),
    ("2021-03-05 14:30:15.250", D),
    ("2021/3/5 9:05", D),
    ("2021年3月5日 9:05", D),
    ("2021-03-05 14：30", D),  # full-width colon
    # blanks
    (None, None),
    ("", None),
    ("   ", None),
    (float("nan"), None),
    (pd.NaT, None),
    # not dates
    ("2021-02-30", ("error", "invalid_date")),
    ("2021-13-01", ("error", "invalid_date")),
    ("20210230", ("error", "invalid_date")),
    (20211301, ("error", "invalid_date")),
    ("2021年3月", ("error", "invalid_date")),
    ("3月5日", ("error", "invalid_date")),
    ("21/3/5", ("error", "invalid_date")),
    ("明天", ("error", "invalid_date")),
    ("2021-03-05 下午", ("error", "invalid_date")),
    (True, ("error", "invalid_date")),
    (-5, ("error", "invalid_date")),
    (0, ("error", "invalid_date")),
])
def test_parse_date(raw, expected):
    assert outcome(n.parse_date, raw) == expected


# What calamine gives for a date-formatted cell holding 0, a negative number or a fraction (a time,
# no day) and for a duration: the message must show what the clerk saw, not 「00:00:00」.
@pytest.mark.parametrize(("raw", "code", "params", "message"), [
    (time(0, 0), "date_zero", {},
     "登记日期没有有效日期（单元格里是 0、负数或只有时刻 00:00，Excel 中显示为 1900-01-00、00:00 或 ####），"
     "请按 2021-03-05 的格式填写"),
    (time(12, 30), "date_time_only", {"value": "12:30"}, "登记日期「12:30」只有时刻、没有日期，请按 2021-03-05 的格式填写"),
    (timedelta(hours=30, minutes=5), "date_time_only", {"value": "30:05"}, "登记日期「30:05」只有时刻、没有日期"),
    (-1.0, "invalid_date", {"value": "-1"}, "登记日期「-1」不是有效日期"),
])
def test_a_date_cell_without_a_day_says_what_the_clerk_saw(raw, code, params, message):
    from etl.errors import Problem

    with pytest.raises(CellError) as info:
        n.parse_date(raw)
    assert (info.value.code, info.value.params) == (code, params)
    assert Problem(code, {"field": "登记日期", **params}).message().startswith(message)


def test_is_blank_of_text_is_strip_for_every_character():
    """is_blank takes `not text.strip()` for clean_text(text) == '': true for every code point."""
    differ = [cp for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF
              and (n.clean_text(chr(cp)) == "") != (not chr(cp).strip())]
    assert differ == []
    assert unicodedata.normalize("NFKC", "\u3000") == " " and n.is_blank("\u3000\t") and not n.is_blank("\u200b")


def test_a_printable_text_has_no_space_but_the_ascii_one():
    """clean_text leaves out the whitespace substitution for a printable text without "  ": every
    other character that \\s matches is not printable, on every code point."""
    spaces = [cp for cp in range(sys.maxunicode + 1) if re.fullmatch(r"\s", chr(cp))]
    assert [cp for cp in spaces if chr(cp).isprintable()] == [0x20]


@pytest.mark.parametrize("raw, clean", [
    ("桂南 社区", "桂南 社区"), ("桂南  社区", "桂南 社区"), ("桂南\t社区", "桂南 社区"), ("桂南\u3000\u3000社区", "桂南 社区"),
    (" 桂南\u00a0社区 ", "桂南 社区"), ("桂南\n\n社区", "桂南 社区"), ("ＡＢ１２", "AB12"), ("", ""), ("\u2028", ""),
])
def test_clean_text_of_text(raw: str, clean: str) -> None:
    assert n.clean_text(raw) == clean == n._WS.sub(" ", unicodedata.normalize("NFKC", raw)).strip()


def test_invalid_date_error_carries_the_text_as_written():
    with pytest.raises(CellError) as info:
        n.parse_date(" 2021-02-30 ")
    assert info.value.params == {"value": "2021-02-30"}


DATE_FORMATS = {
    "excel_date": lambda d: d,
    "excel_datetime": lambda d: datetime(d.year, d.month, d.day, 10, 15),
    "timestamp": lambda d: pd.Timestamp(d),
    "serial_int": lambda d: (d - date(1899, 12, 30)).days,
    "serial_float": lambda d: float((d - date(1899, 12, 30)).days),
    "serial_text": lambda d: str((d - date(1899, 12, 30)).days),
    "iso": lambda d: d.isoformat(),
    "iso_short": lambda d: f"{d.year}-{d.month}-{d.day}",
    "slash": lambda d: f"{d.year}/{d.month}/{d.day}",
    "dot": lambda d: f"{d.year}.{d.month}.{d.day}",
    "cn": lambda d: f"{d.year}年{d.month}月{d.day}日",
    "cn_padded": lambda d: f"{d.year}年{d.month:02d}月{d.day:02d}日",
    "compact": lambda d: d.strftime("%Y%m%d"),
    "compact_int": lambda d: int(d.strftime("%Y%m%d")),
    "fullwidth_cn": lambda d: f"{d.year}年{d.month}月{d.day}日".translate(FW),
    "fullwidth_iso": lambda d: d.isoformat().translate(FW),
    "iso_time": lambda d: f"{d.isoformat()} 08:30:00",
    "slash_time": lambda d: f"{d.year}/{d.month}/{d.day} 8:30",
}


@settings(max_examples=300, deadline=None)
@given(day=st.dates(min_value=date(1950, 1, 1), max_value=date(2099, 12, 31)),
       style=st.sampled_from(sorted(DATE_FORMATS)),
       pad=st.sampled_from(["", " ", "\u3000", "\t"]))
def test_every_date_format_round_trips(day, style, pad):
    value = DATE_FORMATS[style](day)
    if isinstance(value, str):
        value = pad + value + pad
    assert n.parse_date(value) == day


@settings(max_examples=200, deadline=None)
@given(year=st.integers(2000, 2030), month=st.integers(1, 12), day=st.integers(29, 31))
def test_impossible_text_dates_are_errors_not_shifted(year, month, day):
    try:
        real = date(year, month, day)
    except ValueError:
        real = None
    for text in (f"{year}-{month}-{day}", f"{year}年{month}月{day}日", f"{year}{month:02d}{day:02d}"):
        assert outcome(n.parse_date, text) == (real if real else ("error", "invalid_date"))


# ---------------------------------------------------------------- communities and lookups

@pytest.mark.parametrize("raw, expected", [
    ("桂南社区", "桂南社区"),
    ("桂南", "桂南社区"),
    (" 桂南 社区 ", "桂南社区"),
    ("\u3000桂南\u3000", "桂南社区"),
    ("桂\u00a0南", "桂南社区"),          # no-break space from a web copy
    ("桂南社区居委会", "桂南社区"),
    ("桂南居委会", "桂南社区"),
    ("江滨村", "江滨社区"),
    ("江滨村委会", "江滨社区"),
    ("简村", "简村社区"),                # a short name that itself ends in 村
    ("简村社区", "简村社区"),
    (None, None),
    ("", None),
    ("桂北", ("error", "unknown_community")),
    ("桂城街道", ("error", "unknown_community")),
    ("社区", ("error", "unknown_community")),
])
def test_community_lookup(raw, expected):
    assert outcome(lambda v: n.community_lookup(v, REF.communities), raw) == expected


def test_every_reference_community_is_found_with_and_without_suffix():
    names = [row["community"] for row in REF.tables["communities"]]
    assert len(names) == 45
    for name in names:
        assert n.community_lookup(name, REF.communities) == name
        assert n.community_lookup(name.removesuffix("社区"), REF.communities) == name
        assert n.community_lookup(f" {name.removesuffix('社区')}　社区 ", REF.communities) == name


@pytest.mark.parametrize("table, raw, expected", [
    ("categories", "加装电梯", "加装电梯"),
    ("categories", "旧楼加装电梯", "加装电梯"),
    ("categories", "电梯加装", "加装电梯"),
    ("categories", "邻里纠纷", "邻里矛盾"),
    ("categories", "矛盾调解", "邻里矛盾"),
    ("categories", "纠纷", "邻里矛盾"),
    ("categories", "小区卫生", "环境卫生"),
    ("categories", "卫生 问题", "环境卫生"),
    ("categories", "卫生", "环境卫生"),
    ("categories", "治安案件", "治安"),
    ("categories", "协助破案", "治安"),
    ("categories", "公共设施维护", "公共设施"),
    ("categories", "设施维修", "公共设施"),
    ("categories", "安全问题", "安全隐患"),
    ("categories", "安全", "安全隐患"),
    ("categories", "停车难", "停车"),
    ("categories", "停车问题", "停车"),
    ("categories", "其他", "其他"),
    ("categories", "其它", "其他"),
    ("categories", "噪音", ("error", "unknown_value")),
    ("categories", None, None),
    ("roles", "楼长", "楼长"),
    ("roles", "栋长", "楼长"),
    ("roles", "巷长", "巷长"),
    ("roles", "街长", "街长"),
    ("roles", "组长", ("error", "unknown_value")),
    ("org_kinds", "街坊志愿互助会", "街坊会"),
    ("org_kinds", "“创熟”加油站", "创熟加油站"),
    ("org_kinds", "微信群", "楼道微信群"),
    ("activity_kinds", "疫情防控", "防疫"),
    ("activity_kinds", "文体活动", "文化活动"),
    ("activity_kinds", "其它", "其他"),
])
def test_lookup_synonyms(table, raw, expected):
    assert outcome(lambda v: n.lookup(v, getattr(REF, table)), raw) == expected


def test_unknown_value_error_carries_the_cleaned_text():
    with pytest.raises(CellError) as info:
        n.lookup("  噪音\u3000扰民 ", REF.categories)
    assert (info.value.code, info.value.params) == ("unknown_value", {"value": "噪音 扰民"})


# ---------------------------------------------------------------- numbers

@pytest.mark.parametrize("raw, expected", [
    (50, 50),
    (50.0, 50),
    ("50", 50),
    ("50.0", 50),
    ("５０", 50),
    ("1,200", 1200),
    ("约50人", 50),
    ("共 30 人", 30),
    ("近百", ("error", "invalid_number")),
    ("50余人", 50),
    ("120人次", 120),
    ("8户", 8),
    ("50.5", ("error", "invalid_number")),
    (50.5, ("error", "invalid_number")),
    ("-5", ("error", "invalid_number")),
    ("五十", ("error", "invalid_number")),
    (True, ("error", "invalid_number")),
    (None, None),
    ("", None),
])
def test_parse_int(raw, expected):
    assert outcome(n.parse_int, raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (85, 85.0),
    (85.5, 85.5),
    ("85.5", 85.5),
    ("85.5分", 85.5),
    ("８５", 85.0),
    ("nan", ("error", "invalid_number")),
    ("inf", ("error", "invalid_number")),
    ("优秀", ("error", "invalid_number")),
    (None, None),
])
def test_parse_number(raw, expected):
    assert outcome(n.parse_number, raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (15000, Decimal("15000.00")),
    (15000.5, Decimal("15000.50")),
    ("15000", Decimal("15000.00")),
    ("15,000", Decimal("15000.00")),
    ("1.5万", Decimal("15000.00")),
    ("1.5万元", Decimal("15000.00")),
    ("2万", Decimal("20000.00")),
    ("￥15000元", Decimal("15000.00")),
    ("¥15,000", Decimal("15000.00")),
    ("RMB15000", Decimal("15000.00")),
    ("１５０００元", Decimal("15000.00")),
    (" 8,000.5 ", Decimal("8000.50")),
    ("0", Decimal("0.00")),
    ("-100", ("error", "invalid_number")),
    ("一万五", ("error", "invalid_number")),
    ("NaN", ("error", "invalid_number")),      # used to raise decimal.InvalidOperation
    ("1e400", ("error", "invalid_number")),    # used to raise decimal.InvalidOperation
    ("Infinity", ("error", "invalid_number")),
    (True, ("error", "invalid_number")),
    (None, None),
    ("", None),
])
def test_parse_money(raw, expected):
    assert outcome(n.parse_money, raw) == expected


# ---------------------------------------------------------------- flags

@pytest.mark.parametrize("raw, expected", [
    ("党员", True), ("中共党员", True), ("预备党员", True), ("中共预备党员", True),
    ("是", True), ("√", True), (" 党 员 ", True),
    ("群众", False), ("否", False), ("共青团员", False), ("×", False),
    (None, False), ("", False),
    ("不详", ("error", "unknown_value")),
])
def test_parse_flag_party(raw, expected):
    fn = lambda v: n.parse_flag(v, n.PARTY_YES, n.PARTY_NO, blank=False)  # noqa: E731
    assert outcome(fn, raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("是", True), ("立项", True), ("已立项", True), ("通过", True), ("同意立项", True),
    ("否", False), ("不通过", False), ("未通过", False), ("不立项", False),
    (None, None), ("", None),
    ("待定", ("error", "unknown_value")),
])
def test_parse_flag_funded(raw, expected):
    fn = lambda v: n.parse_flag(v, n.FUNDED_YES, n.FUNDED_NO, blank=None)  # noqa: E731
    assert outcome(fn, raw) == expected


# ---------------------------------------------------------------- people and handlers

@pytest.mark.parametrize("raw, expected", [
    ("张三明", "张*明"),
    ("张 三 明", "张*明"),
    ("张三", "张*"),
    ("欧阳小明", "欧**明"),
    ("张", "*"),
    ("", "*"),
])
def test_mask_name(raw, expected):
    assert n.mask_name(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (13800138000, "13800138000"),
    (13800138000.0, "13800138000"),
    ("138-0013-8000", "13800138000"),
    ("１３８ ００１３ ８０００", "13800138000"),
    ("0757-86221234", "075786221234"),
    (None, ""),
    ("无", ""),
])
def test_phone_digits(raw, expected):
    assert n.phone_digits(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    ("街坊会", "街坊会"),
    ("街坊会、楼长", "街坊会、楼长"),
    ("街坊志愿互助会,党员志愿者", "街坊会、党员"),
    ("楼长，物业公司/社区居委会", "楼长、物业、社区"),
    ("调解室+联席会议", "调解工作室、联席会议"),
    ("楼长;楼长；巷长", "楼长、巷长"),
    ("派出所、街坊会", "派出所、街坊会"),     # unknown names kept as written
    (" 楼长 、 街长 ", "楼长、街长"),
    ("、", None),
    (None, None),
])
def test_split_handlers(raw, expected):
    assert n.split_handlers(raw, REF.handlers) == expected


# ---------------------------------------------------------------- text helpers

@pytest.mark.parametrize("raw, expected", [
    ("  加装\u3000电梯  ", "加装 电梯"),
    ("a\n\tb", "a b"),
    (1001.0, "1001"),
    (1001, "1001"),
    ("ＧＮ－００１", "GN-001"),
    (None, ""),
    (float("nan"), ""),
])
def test_clean_text(raw, expected):
    assert n.clean_text(raw) == expected


@pytest.mark.parametrize("raw, expected", [
    (None, True), ("", True), (" \u3000", True), (float("nan"), True), (pd.NaT, True), (pd.NA, True),
    (0, False), ("0", False), ("-", False), (date(2021, 3, 5), False),
])
def test_is_blank(raw, expected):
    assert n.is_blank(raw) is expected


def test_map_unique_applies_once_per_value_and_reports_errors_by_position():
    calls: list = []

    def fn(value):
        calls.append(value)
        return n.parse_date(value)

    out, errors = n.map_unique(["2021-03-05", "坏", "2021-03-05", None, "坏"], fn)
    assert out == [D, None, D, None, None]
    assert sorted(errors) == [1, 4]
    assert calls == ["2021-03-05", "坏", None]


def test_serial_boundaries():
    assert n.parse_date(1) == date(1899, 12, 31)
    assert n.parse_date(2958465) == date(9999, 12, 31)
    assert outcome(n.parse_date, 2958466) == ("error", "invalid_date")
    assert n.parse_date(45000) == date(1899, 12, 30) + timedelta(days=45000)
