"""How numbers, dates, periods, ranks and column names read to these users: the one place for display rules.

Counts carry thousands separators and a measure word (1,463 宗), rates one decimal (96.4%),
money 万元, dates 2022年6月30日 in text and 2022-06-30 in tables; an undefined value is 「—」
with a reason on hover (:data:`UNDEFINED_HELP`); chart axes count in 万 (1.5万, not 15k).
"""
from __future__ import annotations

import calendar
import math
import re
from datetime import date

import pandas as pd

DASH = "—"
UNDEFINED_HELP = "「—」表示无法计算：所选范围内没有可作分母的记录（例如没有受理或办结的事项），或数据中没有这一项。"


def missing(value: object) -> bool:
    """True for None, NaN, NaT and pd.NA (anything shown as 「—」)."""
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    try:
        return bool(isinstance(value, (float, int)) and math.isnan(value)) or (
            not isinstance(value, (str, bytes, list, tuple, dict)) and bool(pd.isna(value)))
    except (TypeError, ValueError):
        return False


_missing = missing  # older name


def count(value: float | None, unit: str = "") -> str:
    """1463, '宗' -> '1,463 宗'."""
    if missing(value):
        return DASH
    text = f"{int(round(float(value))):,}"
    return f"{text} {unit}".strip()


def pct(value: float | None, digits: int = 1) -> str:
    """96.41 -> '96.4%'."""
    return DASH if missing(value) else f"{float(value):.{digits}f}%"


def days(value: float | None) -> str:
    """Median days, one decimal only when needed: 12 -> '12 天', 12.5 -> '12.5 天'."""
    if missing(value):
        return DASH
    return f"{float(value):.0f} 天" if float(value).is_integer() else f"{float(value):.1f} 天"


def wan(yuan: float | None) -> str:
    """Money in 万元: 156000 -> '15.6 万元'."""
    return DASH if missing(yuan) else f"{float(yuan) / 10000:,.1f} 万元"


def delta(value: float | None) -> str | None:
    """Year-over-year change: '↑ 12.3% 同比' / '↓ 4.0% 同比' / '持平 同比'; None if not comparable."""
    if missing(value):
        return None
    if abs(value) < 0.05:
        return "持平 同比"
    arrow = "↑" if value > 0 else "↓"
    return f"{arrow} {abs(value):.1f}% 同比"


def delta_short(value: float | None) -> tuple[str | None, bool]:
    """Year-over-year change for a KPI card: ('+12.3%', True), ('持平', False) or (None, False)."""
    if missing(value):
        return None, False
    if abs(value) < 0.05:
        return "持平", False
    return f"{value:+.1f}%", True


def rank(position: float | None, of: float | None) -> str | None:
    """'第 9 / 45 名' (whole numbers); None when there is no rank."""
    if missing(position) or missing(of) or not of:
        return None
    return f"第 {int(position)} / {int(of)} 名"


# --- dates and periods ---------------------------------------------------------------------------

def date_cn(day: date) -> str:
    """2022-06-30 -> '2022年6月30日' (text and titles)."""
    return f"{day.year}年{day.month}月{day.day}日"


def month_cn(day: date) -> str:
    """2022-05-01 -> '2022年5月'."""
    return f"{day.year}年{day.month}月"


def timestamp_cn(value: object) -> str:
    """A load or publication time in text: '2026年12月1日 23:48'; 「—」 when missing or unreadable."""
    if missing(value) or value == "":
        return DASH
    try:
        ts = pd.Timestamp(value)
    except (TypeError, ValueError):
        return str(value)
    if pd.isna(ts):
        return DASH
    return f"{date_cn(ts.date())} {ts:%H:%M}"


def timestamp_table(value: object) -> str:
    """A time in a table cell: '2026-12-01 23:48'."""
    if missing(value):
        return DASH
    return f"{pd.Timestamp(value):%Y-%m-%d %H:%M}"


def _month_end(day: date) -> bool:
    return day.day == calendar.monthrange(day.year, day.month)[1]


def period_label(year: int, end: date | None = None) -> str:
    """A year on an axis: '2021年'; cut short at ``end``: '2022年（1—6月）', '2022年（1月）' or '2022年（截至6月15日）'."""
    if end is None:
        return f"{year}年"
    if _month_end(end):
        months = "1月" if end.month == 1 else f"1—{end.month}月"
        return f"{year}年（{months}）"
    return f"{year}年（截至{end.month}月{end.day}日）"


def month_label(first: date, end: date | None = None) -> str:
    """A month: '2022年6月'; cut short at ``end``: '2022年6月（截至15日）'."""
    text = month_cn(first)
    return f"{text}（截至{end.day}日）" if end is not None else text


def quarter_label(first: date, end: date | None = None) -> str:
    """A quarter: '2022年第2季度'; cut short at ``end``: '2022年第2季度（4—5月）' or '2022年第2季度（截至6月15日）'."""
    text = f"{first.year}年第{(first.month - 1) // 3 + 1}季度"
    if end is None:
        return text
    if _month_end(end):
        months = f"{first.month}月" if end.month == first.month else f"{first.month}—{end.month}月"
        return f"{text}（{months}）"
    return f"{text}（截至{end.month}月{end.day}日）"


def partial_note(end: date) -> str:
    """The sentence under a chart whose last year is partial."""
    return f"{end.year}年只统计到{end.month}月{end.day}日（不完整年份），图中以斜线、浅色标出，不宜与整年直接比较"


# --- chart axes ----------------------------------------------------------------------------------

def axis_number(value: float, scale: float | None = None) -> str:
    """A tick label in Chinese units: 800 -> '800', 5000 -> '5,000', 15000 -> '1.5万', 2e8 -> '2亿'.

    ``scale`` (1e4 or 1e8) writes every tick of one axis in the same unit (0.5万, 1万, 1.5万)."""
    v = float(value)
    scale = scale or (1e8 if abs(v) >= 1e8 else 1e4 if abs(v) >= 1e4 else 1)
    if v == 0:
        return "0"
    if scale == 1e8:
        return f"{v / 1e8:.4g}亿"
    if scale == 1e4:
        return f"{v / 1e4:.4g}万"
    if v.is_integer():
        return f"{int(v):,}"
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def axis_ticks(top: float, *, integer: bool = True, target: int = 5, suffix: str = "") -> tuple[list[float], list[str]]:
    """Round tick values from 0 to at least ``top`` and their Chinese labels, all in one unit
    (whole steps for counts, so a small count never gets 0.5 ticks)."""
    top = float(top) if not missing(top) and top and top > 0 else 1.0
    raw = top / target
    magnitude = 10 ** math.floor(math.log10(raw))
    steps = (1, 2, 5, 10) if integer and magnitude <= 1 else (1, 2, 2.5, 5, 10)
    step = next(m * magnitude for m in steps if m * magnitude >= raw)
    if integer:
        step = max(1.0, math.ceil(step))
    n = math.ceil(top / step - 1e-9)
    values = [round(i * step, 10) for i in range(n + 1)]
    last = values[-1]
    scale = 1e8 if last >= 1e8 else 1e4 if last >= 1e4 else 1
    return values, [axis_number(v, scale) + suffix for v in values]


# --- metrics ---------------------------------------------------------------------------------------

def metric_value(value: float | None, unit: str, kind: str = "count") -> str:
    """A metric as shown on a card: by its kind (count, rate, days, money)."""
    if kind == "rate":
        return pct(value)
    if kind == "days":
        return days(value)
    if kind == "money":
        return DASH if missing(value) else f"{float(value):,.1f} 万元"
    if kind == "score":
        return DASH if missing(value) else f"{float(value):.1f} {unit}".strip()
    if not missing(value) and not float(value).is_integer():
        return f"{float(value):,.1f} {unit}"
    return count(value, unit)


# --- column names of downloads -----------------------------------------------------------------------

COLUMNS: dict[str, str] = {
    "year": "年份", "period": "期间", "month": "月份", "category": "类别", "label": "类别",
    "community": "社区", "short_name": "社区简称", "compound": "小区", "households": "户数", "buildings": "楼栋数",
    "role": "职务", "kind": "类型", "bucket": "已办理时长", "item": "项目", "figure": "数字", "unit": "单位",
    "received": "受理事项（件）", "resolved": "办结事项（件）", "received_resolved": "区间内受理且已办结（件）",
    "open_backlog": "在办事项（件）", "median_days": "办结用时中位数（天）", "sla_days": "服务时限（天）",
    "on_time": "按时办结（件）", "with_outcome": "已填写结果（件）", "success": "调解成功（件）",
    "followed_up": "已回访（件）", "rated": "有满意度评价（件）", "satisfied": "满意或基本满意（件）",
    "repeats": "重复事项（件）", "repeat_base": "填写了小区的受理事项（件）",
    "resolution_rate": "办结率（%）", "on_time_rate": "按时办结率（%）", "mediation_success_rate": "调解成功率（%）",
    "follow_up_rate": "回访率（%）", "satisfaction_rate": "满意率（%）", "repeat_rate": "重复事项率（%）",
    "received_per_1000": "每千户受理事项（件）", "eligible": "参与比率排名", "n": "数量",
    "party": "其中党员（名）", "appointed": "新任（名）", "departed": "离任（名）", "heads": "在任楼长（名）",
    "founded": "新成立（个）", "dissolved": "撤销（个）", "applications": "申报（个）", "funded": "立项（个）",
    "funds_yuan": "资助金额（元）", "funds_wan": "资助金额（万元）", "completed": "已结项（个）",
    "approval_rate": "立项率（%）", "completion_rate": "结项率（%）", "avg_score": "平均得分",
    "review_round": "评审批次", "first_applied": "最早申报日期", "activities": "活动（场）",
    "participants": "参与（人次）", "happened_on": "日期", "when": "时间", "title": "事件", "detail": "说明",
}
# Columns that only steer the display (sort keys, flags folded into a label) and stay out of downloads.
INTERNAL = frozenset({"sort_order", "bucket_order", "partial", "unit", "precision"})


def for_download(df: pd.DataFrame) -> pd.DataFrame:
    """A chart's data with Chinese headers (from :data:`COLUMNS`), display-only columns dropped,
    a category's full name instead of its key, and 是/否 for flags."""
    out = df.copy()
    if "label" in out.columns and "category" in out.columns:
        out = out.drop(columns="category")
    if "period" in out.columns and "year" in out.columns:
        out = out.drop(columns="year")
    out = out.drop(columns=[c for c in out.columns if c in INTERNAL])
    for col in out.columns:
        if pd.api.types.is_bool_dtype(out[col]):
            out[col] = out[col].map({True: "是", False: "否"})
    return out.rename(columns={c: COLUMNS[c] for c in out.columns if c in COLUMNS})


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
