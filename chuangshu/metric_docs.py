"""docs/metrics.md, generated from the metric registry so the document cannot drift from the code.

Run ``python -m chuangshu.metric_docs`` after changing a definition; a test checks it is current.
"""
from __future__ import annotations

from pathlib import Path

from chuangshu.metrics import HEADLINE, METRICS, MIN_CASES_FOR_RATE, SCOPE

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
KINDS = {"count": "计数", "rate": "比率（%）", "days": "天数", "money": "金额", "score": "指数"}


def to_markdown() -> str:
    """The registry as a Markdown table, headline and scope metrics first."""
    lines = [
        "# Metric definitions (指标口径)",
        "",
        "Generated from `chuangshu/metrics.py` by `python -m chuangshu.metric_docs`; do not edit by hand.",
        "Every number the dashboard, slides, big screen and exports show is one of these metrics.",
        "",
        "Conventions: the *window* is 1 January of the first year to 31 December of the last year of",
        "the year filter, but never later than the as-of date (default: the data's last day, 2022-06-30",
        "for the sample). Flows (received, resolved, applications, activities) count events inside the",
        "window; stocks (volunteers, organisations) are counted at the window's end. 办结 (closed) means",
        "handled to the end, whatever the outcome; 调解成功率 (success) is a separate metric. Rate rankings",
        f"of communities only include communities with at least {MIN_CASES_FOR_RATE} cases in the window.",
        "",
        "**Bounds.** The as-of date runs from the first to the last day of the loaded records; the years",
        "run from the programme's first year to the as-of year. A link asking for anything else (future",
        "years, dates before the data, unknown communities or categories, a reversed range) is corrected",
        "to these bounds and the page says what was changed.",
        "",
        "**Partial periods.** Every per-year series covers each year of the window, with zeros where",
        "nothing happened. A year the as-of date cuts short is *partial*: it is labelled with the months",
        "it holds (`2022年（1—6月）`, or `2022年（截至6月15日）` mid-month), drawn hatched and lighter, with a",
        "legend entry and a note under the chart, on every page, on the big screen and in the deck",
        "(`chuangshu.filters.Period`, `chuangshu.metrics.with_periods`). A monthly series marks a month",
        "the window ends inside the same way (dotted, hollow marker).",
        "",
        "**Year over year (同比)** compares the window with the same window a year earlier: the same",
        "months and days (`Filters.shifted`). A partial year is therefore compared with the same months",
        "of the year before (1 January–30 June 2022 with 1 January–30 June 2021), never with a whole year.",
        "",
        "**Sparklines** show the measure of their card: a case card counts the window's resolved cases,",
        "so its sparkline is the running total at each year's end (its last point equals the card); a",
        "stock card's sparkline is the stock at each year's end.",
        "",
        "**Totals over categories** are ratios of sums, each with the denominator of its definition:",
        "the 重复事项率 divides the repeats by the cases *with a compound* (a case without one cannot",
        "repeat), at the totals level exactly as per category.",
        "",
        "**Filters that do not apply** are said next to the figure: 三长, organisations, projects and",
        "activities have no case category; the 2020 mobilisation figures and the milestones are the",
        "sub-district's published figures. An undefined value (no denominator) reads 「—」 with the",
        "reason on hover.",
        "",
        "**Targets and 考核.** A metric with a direction (方向: 越高越好 / 越低越好) can have a target",
        "(data/reference/targets.csv, edited by administrators on the 目标设置 page). Every KPI card whose",
        "metric has an explicit target for the scope shown (one community: its own, its peer group's or",
        "the sub-district's; otherwise the sub-district's; period 全部) shows the target and its status in",
        "colour and words (✓ 达标 · 目标 ≥ 90.0%, the status first so a narrow card never cuts it). The 考核 page scores the 创熟指数's metrics per month,",
        "quarter or year against explicit or historic targets; its formulas, weights, peer groups, minimum",
        "cases and warning rules are in docs/assessment.md.",
        "",
        "| key | 指标 | 单位 | 类型 | 方向 | 口径 |",
        "|---|---|---|---|---|---|",
    ]
    order = [*HEADLINE, *SCOPE, *(k for k in METRICS if k not in HEADLINE and k not in SCOPE)]
    for key in order:
        m = METRICS[key]
        way = {"higher": "越高越好", "lower": "越低越好"}.get(m.better or "", "—")
        lines.append(f"| `{key}` | {m.label} | {m.unit} | {KINDS.get(m.kind, m.kind)} | {way} | {m.definition} |")
    return "\n".join(lines) + "\n"


def write(path: Path = DOC) -> Path:
    """Write the document."""
    path.write_text(to_markdown(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write())
