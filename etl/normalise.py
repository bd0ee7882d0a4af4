"""Pure normalisers: one raw cell in, one canonical value out, or CellError.

Ledgers are filled in by hand, so every function accepts the spellings the ledger
contract lists (full-width digits, stray spaces, Excel serials, 「1.5万」 ...).
Column-wide helpers apply a normaliser once per distinct value, which keeps a
million-row file fast: ledgers repeat the same dates and names over and over.
"""
from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from etl.errors import CellError

EXCEL_EPOCH = date(1899, 12, 30)
_WS = SPACES = re.compile(r"\s+")  # patterns compiled once: the normalisers run once per distinct value
_NON_DIGIT = re.compile(r"\D")
_NUMBER_HEAD = re.compile(r"^(约|共|近)")
_NUMBER_TAIL = re.compile(r"(余|多)?(人次|人|名|个|户)?$")
_WHOLE = re.compile(r"\d+(\.0+)?")
_HANDLER_SEP = re.compile(r"[、,，/;；+＋和及]")
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?"
    r"(?:\s*[T ]?\s*\d{1,2}[:：]\d{2}(?:[:：]\d{2}(?:\.\d+)?)?)?$"
)
_DATE_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_QUOTES = str.maketrans("", "", "\"'“”‘’「」『』《》")
_SERIAL = re.compile(r"^(\d{5})(?:\.0+)?$")


def is_blank(value: Any) -> bool:
    """True for None, NaN, NaT, pd.NA and text that is only whitespace."""
    if value is None:
        return True
    cls = value.__class__
    if cls is str:  # = clean_text(value) == "": NFKC never turns a non-space into a space (tested)
        return not value.strip()
    if cls in _NEVER_BLANK:  # what a workbook's cells hold (pd.NaT is a datetime subclass, not one of these)
        return False
    if isinstance(value, float):  # a number from a workbook: blank only as NaN (= pd.isna of a float)
        return math.isnan(value)
    if isinstance(value, str):
        return not value.strip()
    try:
        import pandas as pd

        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False


_NEVER_BLANK = frozenset({int, bool, date, datetime, time, timedelta})


def clean_text(value: Any) -> str:
    """Unicode-normalised text with whitespace collapsed and trimmed ('' for blanks)."""
    if value.__class__ is str:  # the usual case: a printable text's only space is " " (tested on
        text = unicodedata.normalize("NFKC", value)  # every code point), so only runs need _WS
        return (text if text.isprintable() and "  " not in text else _WS.sub(" ", text)).strip()
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = unicodedata.normalize("NFKC", str(value))
    return _WS.sub(" ", text).strip()


def squeeze(value: Any) -> str:
    """Text with every space removed: for Chinese names, where spaces are always stray."""
    return clean_text(value).replace(" ", "")


def parse_date(value: Any) -> date | None:
    """A date from an Excel date, a serial number or any text form the contract lists."""
    if is_blank(value):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if hasattr(value, "to_pydatetime"):
        return value.to_pydatetime().date()
    if isinstance(value, time):  # a date cell whose serial is 0, negative or a fraction: a time, no day
        if value == time(0):
            raise CellError("date_zero")
        raise CellError("date_time_only", value=value.strftime("%H:%M"))
    if isinstance(value, timedelta):  # a duration-formatted cell ([h]:mm)
        minutes = int(value.total_seconds() // 60)
        raise CellError("date_time_only", value=f"{minutes // 60}:{minutes % 60:02d}")
    if isinstance(value, bool):
        raise CellError("invalid_date", value=str(value))
    if isinstance(value, (int, float)):
        number = float(value)
        if number.is_integer() and 19000101 <= number <= 29991231:
            return _compact_date(str(int(number)))
        if 1 <= number < 2958466:  # a serial; a fraction is the time of day
            return EXCEL_EPOCH + timedelta(days=int(number))
        raise CellError("invalid_date", value=clean_text(value))
    text = clean_text(value)
    if m := _DATE_TEXT.match(text):
        return _make_date(int(m[1]), int(m[2]), int(m[3]), text)
    if m := _DATE_COMPACT.match(text):
        return _compact_date(text)
    if m := _SERIAL.match(text):
        return EXCEL_EPOCH + timedelta(days=int(m[1]))
    raise CellError("invalid_date", value=text)


def _compact_date(text: str) -> date:
    return _make_date(int(text[:4]), int(text[4:6]), int(text[6:8]), text)


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        return date(year, month, day)
    except ValueError:
        raise CellError("invalid_date", value=text) from None


def lookup(value: Any, table: Mapping[str, str], code: str = "unknown_value") -> str | None:
    """Canonical name for a value via a synonym table keyed by squeezed spellings."""
    if is_blank(value):
        return None
    key = squeeze(value)
    for candidate in (key, key.translate(_QUOTES)):  # “创熟”加油站 and "创熟"加油站 alike
        if candidate in table:
            return table[candidate]
    raise CellError(code, value=clean_text(value))


def community_lookup(value: Any, table: Mapping[str, str]) -> str | None:
    """Canonical community (with 社区 suffix) for names written with or without it."""
    if is_blank(value):
        return None
    key = squeeze(value)
    for candidate in (key, key.removesuffix("社区"), key + "社区", key.removesuffix("居委会")):
        if candidate in table:
            return table[candidate]
    raise CellError("unknown_community", value=clean_text(value))


def parse_int(value: Any) -> int | None:
    """A whole number from 50, 50.0, '约50人', '1,200' or full-width digits."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("invalid_number", value=str(value), example="50")
    if isinstance(value, (int, float)):
        if float(value).is_integer():
            return int(value)
        raise CellError("invalid_number", value=clean_text(value), example="50")
    text = squeeze(value).replace(",", "")
    text = _NUMBER_HEAD.sub("", text)
    text = _NUMBER_TAIL.sub("", text)
    if _WHOLE.fullmatch(text):
        return int(float(text))
    raise CellError("invalid_number", value=clean_text(value), example="50")


def parse_number(value: Any) -> float | None:
    """A decimal number (scores) from numbers or text."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("invalid_number", value=str(value), example="85.5")
    if isinstance(value, (int, float)):
        return float(value)
    text = squeeze(value).replace(",", "").removesuffix("分")
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):  # 'nan' and 'inf' are words, not numbers, in a ledger
        raise CellError("invalid_number", value=clean_text(value), example="85.5")
    return number


def parse_money(value: Any) -> Decimal | None:
    """Yuan from 15000, '15,000', '1.5万', '1.5万元', '￥15000'."""
    if is_blank(value):
        return None
    if isinstance(value, bool):
        raise CellError("invalid_number", value=str(value), example="15000 或 1.5万")
    if isinstance(value, (int, float)):
        amount = Decimal(str(value))
    else:
        text = squeeze(value).replace(",", "").replace("¥", "").replace("￥", "")
        text = text.removeprefix("RMB").removesuffix("元")
        factor = Decimal(1)
        if text.endswith("万"):
            factor, text = Decimal(10000), text[:-1]
        try:
            amount = Decimal(text) * factor
        except InvalidOperation:
            raise CellError("invalid_number", value=clean_text(value), example="15000 或 1.5万") from None
    if not amount.is_finite() or amount < 0:  # NaN first: ordering a NaN raises
        raise CellError("invalid_number", value=clean_text(value), example="15000 或 1.5万")
    try:
        return amount.quantize(Decimal("0.01"))
    except InvalidOperation:  # too many digits for cents ('1e400')
        raise CellError("invalid_number", value=clean_text(value), example="15000 或 1.5万") from None


PARTY_YES = {"党员", "中共党员", "预备党员", "中共预备党员", "是", "√", "✓", "✔", "Y", "y", "yes", "1"}
PARTY_NO = {"群众", "否", "无", "非党员", "共青团员", "团员", "民主党派", "×", "✗", "N", "n", "no", "0"}
FUNDED_YES = {"是", "立项", "已立项", "通过", "同意", "同意立项", "予以立项", "√"}
FUNDED_NO = {"否", "不通过", "未通过", "不立项", "未立项", "不同意", "×"}


def parse_flag(value: Any, yes: set[str], no: set[str], blank: bool | None = None) -> bool | None:
    """Yes/no from the words ledgers use; blank gives ``blank``; anything else is an error."""
    if is_blank(value):
        return blank
    text = squeeze(value)
    if text in yes:
        return True
    if text in no:
        return False
    raise CellError("unknown_value", value=clean_text(value))


def split_handlers(value: Any, table: Mapping[str, str]) -> str | None:
    """Handlers as a canonical '、'-joined list; unknown names are kept as written."""
    if is_blank(value):
        return None
    parts = [p for p in _HANDLER_SEP.split(squeeze(value)) if p]
    seen: list[str] = []
    for part in parts:
        name = table.get(part, part)
        if name not in seen:
            seen.append(name)
    return "、".join(seen) or None


def mask_name(name: str) -> str:
    """Mask a personal name for display: 张*明, 欧**明, 李*."""
    name = squeeze(name)
    if len(name) <= 1:
        return "*"
    if len(name) == 2:
        return name[0] + "*"
    return name[0] + "*" * (len(name) - 2) + name[-1]


def phone_digits(value: Any) -> str:
    """Digits of a phone number (for identity only: never stored)."""
    if is_blank(value):
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return _NON_DIGIT.sub("", clean_text(value))


def map_unique(values: list[Any], fn: Callable[[Any], Any]) -> tuple[list[Any], dict[int, CellError]]:
    """Apply ``fn`` once per distinct value; return results and errors by position."""
    cache: dict[Any, Any] = {}
    out: list[Any] = []
    errors: dict[int, CellError] = {}
    for i, value in enumerate(values):
        try:
            key = (type(value), value) if not is_blank(value) else None
            hash(key)
        except TypeError:
            key = repr(value)
        if key in cache:
            result = cache[key]
        else:
            try:
                result = fn(value)
            except CellError as exc:
                result = exc
            cache[key] = result
        if isinstance(result, CellError):
            errors[i] = result
            out.append(None)
        else:
            out.append(result)
    return out, errors
