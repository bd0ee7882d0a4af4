"""Figures for a phone's width, shared by the phone view (/m, chuangshu/phone_ui.py) and the briefing
(chuangshu/briefing.py): pure HTML, no Streamlit.

Two figures a row; tapping a figure opens its 口径 (a ``<details>``: it works on touch, needs no
script, and the definition is read, not hovered). Each figure carries its metric key and raw value
(``data-key``, ``data-value``) so the tests can compare it with the metric layer.
"""
from __future__ import annotations

import html
from collections.abc import Sequence

from chuangshu import fmt, metrics, svgchart, theme


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def raw(value: object) -> str:
    """A value for a data-value attribute ('' when undefined)."""
    return "" if fmt.missing(value) else f"{float(value):.6g}"


def color_of(key: str) -> str:
    """A figure's accent: its category's or organisation kind's colour, else the programme's blue."""
    category = next((c for c, k in metrics.CATEGORY_METRIC.items() if k == key), None)
    kind = next((c for c, k in metrics.ORG_METRIC.items() if k == key), None)
    return theme.CATEGORY_COLORS.get(category or "", theme.ORG_COLORS.get(kind or "", "#2F6690"))


def tile(key: str, value: object, *, note: str | Sequence[str] | None = None, spark: Sequence[float] | None = None,
         definition: str | None = None, why: str | None = None, label: str | None = None) -> str:
    """One figure of the metric ``key``: label, number and unit, a short note (同比, rank) with a
    sparkline; tapping it opens its 口径 and, for 「—」, why it cannot be computed."""
    m = metrics.METRICS[key]
    color = color_of(key)
    number, _, unit = fmt.metric_value(value, m.unit, m.kind).partition(" ")
    line = svgchart.sparkline(list(spark), color, 90, 26) if spark is not None and len(spark) > 1 else ""
    reason = f"<p>{_e(why or fmt.UNDEFINED_HELP)}</p>" if fmt.missing(value) else ""
    parts = [note] if isinstance(note, str) else list(note or [])
    text = " · ".join(f'<span class="n">{_e(p)}</span>' for p in parts if p)
    foot = f'<span class="d"><span class="t">{text}</span>{line}</span>' if text or line else ""
    return (f'<details class="kpi" data-key="{key}" data-value="{raw(value)}" style="border-left-color:{color}">'
            f'<summary><span class="l">{_e(label or m.label)}</span>'
            f'<span class="v">{_e(number)}<small>{_e(unit)}</small></span>{foot}</summary>'
            f'<p><b>口径</b>　{_e(definition or m.definition)}</p>{reason}</details>')


def headline_tile(row: dict) -> str:
    """A tile from a row of metrics.headline (value, 同比, sparkline of the same measure)."""
    spark = row.get("spark") if isinstance(row.get("spark"), list) else None
    return tile(row["key"], row["value"], note=fmt.delta(row.get("delta_pct")) or "同比 —", spark=spark,
                definition=row.get("definition"))


def grid(tiles: Sequence[str]) -> str:
    """Tiles two a row."""
    return f'<div class="kpis">{"".join(tiles)}</div>'


def category_table(table: "object") -> str:
    """The per-category summary as a narrow table: 类别, 受理, 办结率, 用时中位数."""
    rows = "".join(
        f'<tr data-category="{_e(r["category"])}"><th>{_e(r["label"])}</th>'
        f'<td data-value="{raw(r["received"])}">{fmt.count(r["received"])}</td>'
        f'<td data-value="{raw(r["resolution_rate"])}">{fmt.pct(r["resolution_rate"])}</td>'
        f'<td data-value="{raw(r["median_days"])}">{fmt.days(r["median_days"])}</td></tr>'
        for r in table.to_dict("records"))  # type: ignore[attr-defined]
    return (f'<table class="cats"><thead><tr><th>类别</th><th>受理</th><th>办结率</th><th>用时中位数</th></tr></thead>'
            f'<tbody>{rows}</tbody></table>')


LOOK = svgchart.LIGHT
CSS = f"""
.kpis {{ display: grid; grid-template-columns: repeat(2, minmax(0, 1fr)); gap: 8px; margin: 8px 0; }}
.kpi {{ background: #F8FAFC; border-radius: 8px; border-left: 4px solid #2F6690; padding: 7px 9px; min-width: 0;
  border-top: 1px solid {theme.GRID}; border-right: 1px solid {theme.GRID}; border-bottom: 1px solid {theme.GRID}; }}
.kpi summary {{ list-style: none; cursor: pointer; display: flex; flex-direction: column; }}
.kpi summary::-webkit-details-marker {{ display: none; }}
.kpi .l {{ font-size: 13px; color: {theme.MUTED}; line-height: 1.35; }}
.kpi .l::after {{ content: " ⓘ"; color: #9CA3AF; }}
.kpi .v {{ font-size: 22px; font-weight: 700; line-height: 1.25; font-variant-numeric: tabular-nums;
  color: {theme.INK}; }}
.kpi .v small {{ font-size: 13px; color: {theme.MUTED}; font-weight: 400; margin-left: 3px; }}
.kpi .d {{ font-size: 12px; color: {theme.MUTED}; display: flex; justify-content: space-between; align-items: center;
  gap: 4px; min-height: 18px; }}
.kpi .d .t {{ min-width: 0; }}
.kpi .d .n {{ white-space: nowrap; }}
.kpi .d .sc-spark {{ height: 20px; flex: 1 1 24px; min-width: 0; max-width: 64px; }}
.kpi p {{ font-size: 12.5px; margin: 6px 0 2px; color: {theme.INK}; line-height: 1.5; }}
.kpi[open] {{ grid-column: 1 / -1; background: #EEF4F9; }}
table.cats {{ width: 100%; border-collapse: collapse; font-size: 13.5px; }}
table.cats th, table.cats td {{ padding: 5px 4px; border-bottom: 1px solid {theme.GRID}; text-align: right;
  white-space: nowrap; }}
table.cats th:first-child {{ text-align: left; white-space: normal; }}
table.cats thead th {{ color: {theme.MUTED}; font-weight: 400; font-size: 12.5px; }}
.note {{ font-size: 12.5px; color: {theme.MUTED}; margin: 6px 0; line-height: 1.5; }}
.sc-fig {{ margin: 6px 0 4px; }}
.sc-title {{ color: {theme.INK}; font-weight: 600; }}
{svgchart.css(LOOK)}
"""
