"""How numbers, dates and units read to these users (see docs/ui-notes in the README)."""
from __future__ import annotations

import math
import re
from datetime import date

DASH = "—"


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value: float | None, unit: str = "") -> str:
    """1463, '宗' -> '1,463 宗'."""
    if _missing(value):
        return DASH
    text = f"{int(round(value)):,}"
    return f"{text} {unit}".strip()


def pct(value: float | None, digits: int = 1) -> str:
    """96.41 -> '96.4%'."""
    return DASH if _missing(value) else f"{value:.{digits}f}%"


def days(value: float | None) -> str:
    """Median days, one decimal only when needed: 12 -> '12 天', 12.5 -> '12.5 天'."""
    if _missing(value):
        return DASH
    return f"{value:.0f} 天" if float(value).is_integer() else f"{value:.1f} 天"


def wan(yuan: float | None) -> str:
    """Money in 万元: 156000 -> '15.6 万元'."""
    return DASH if _missing(yuan) else f"{yuan / 10000:,.1f} 万元"


def delta(value: float | None) -> str | None:
    """Year-over-year change: '↑ 12.3% 同比' / '↓ 4.0% 同比' / '持平 同比'; None if not comparable."""
    if _missing(value):
        return None
    if abs(value) < 0.05:
        return "持平 同比"
    arrow = "↑" if value > 0 else "↓"
    return f"{arrow} {abs(value):.1f}% 同比"


def delta_short(value: float | None) -> tuple[str | None, bool]:
    """Year-over-year change for a KPI card: ('+12.3%', True), ('持平', False) or (None, False)."""
    if _missing(value):
        return None, False
    if abs(value) < 0.05:
        return "持平", False
    return f"{value:+.1f}%", True


def date_cn(day: date) -> str:
    """2022-06-30 -> '2022年6月30日' (text and titles)."""
    return f"{day.year}年{day.month}月{day.day}日"


def metric_value(value: float | None, unit: str, kind: str = "count") -> str:
    """A metric as shown on a card: by its kind (count, rate, days, money)."""
    if kind == "rate":
        return pct(value)
    if kind == "days":
        return days(value)
    if kind == "money":
        return DASH if _missing(value) else f"{value:,.1f} 万元"
    if not _missing(value) and not float(value).is_integer():
        return f"{value:,.1f} {unit}"
    return count(value, unit)


def literal(text: str) -> str:
    """``text`` for a Markdown context (a label, a message) shown exactly as typed, as inline code.

    A saved query's name, or a name from a link, may hold ``[请重新登录](http://…)``, ``![](…)``
    or a bare address. Backslash escapes stop the link syntax but not Streamlit's turning of a
    bare ``http://`` or ``www.`` into a link (GFM autolinks are found in text after parsing);
    nothing is parsed inside a code span, so the text goes in one, fenced by more backticks than
    it holds. Line breaks become spaces.
    """
    body = " ".join(str(text).splitlines())
    if not body.strip():
        return ""
    fence = "`" * (max((len(run) for run in re.findall(r"`+", body)), default=0) + 1)
    return f"{fence} {body} {fence}"


def label(text: str) -> str:
    """User text for a widget label or tooltip: as is when it cannot form Markdown (no ASCII
    punctuation: letters, digits, Chinese and its full-width punctuation), else :func:`literal`."""
    return str(text) if not re.search(r"[!-/:-@\[-`{-~]", str(text)) else literal(text)
