"""docs/metrics.md, generated from the metric registry so the document cannot drift from the code.

Run ``python -m chuangshu.metric_docs`` after changing a definition; a test checks it is current.
"""
from __future__ import annotations

from pathlib import Path

from chuangshu.metrics import HEADLINE, METRICS, MIN_CASES_FOR_RATE, SCOPE

DOC = Path(__file__).resolve().parent.parent / "docs" / "metrics.md"
KINDS = {"count": "计数", "rate": "比率（%）", "days": "天数", "money": "金额"}


def to_markdown() -> str:
    """The registry as a Markdown table, headline and scope metrics first."""
    lines = [
        "# Metric definitions (指标口径)",
        "",
        "Generated from `chuangshu/metrics.py` by `python -m chuangshu.metric_docs`; do not edit by hand.",
        "Every number the dashboard, slides, big screen and exports show is one of these metrics.",
        "",
        "Conventions: the *window* is 1 January of the first year to 31 December of the last year of",
        "the year filter, but never later than the as-of date (default 2022-06-30). Flows (received,",
        "resolved, applications, activities) count events inside the window; stocks (volunteers,",
        "organisations) are counted at the window's end. Year-over-year deltas compare the same",
        "window a year earlier. 办结 (closed) means handled to the end, whatever the outcome; 调解成功率",
        "(success) is a separate metric. Rate rankings of communities only include communities with at",
        f"least {MIN_CASES_FOR_RATE} cases in the window.",
        "",
        "| key | 指标 | 单位 | 类型 | 口径 |",
        "|---|---|---|---|---|",
    ]
    order = [*HEADLINE, *SCOPE, *(k for k in METRICS if k not in HEADLINE and k not in SCOPE)]
    for key in order:
        m = METRICS[key]
        lines.append(f"| `{key}` | {m.label} | {m.unit} | {KINDS.get(m.kind, m.kind)} | {m.definition} |")
    return "\n".join(lines) + "\n"


def write(path: Path = DOC) -> Path:
    """Write the document."""
    path.write_text(to_markdown(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write())
