"""Charts as inline SVG, for the screens a plotly chart does not suit: the big screen, the phone view, the briefing.

Why not plotly there: the big screen is a stage scaled with a CSS transform (chuangshu/bigscreen_ui.py),
and Streamlit sizes a plotly chart from its container's on-screen (transformed) width, so a chart on a
scaled stage is drawn at the wrong size; the phone view and the briefing want no 4.7 MB script, no
hover and no touch gestures that fight the page's scrolling, and the briefing must open with no network.

These charts are *fluid*: the plot area is a nested ``<svg>`` whose size is ``calc(100% - margins)``
and every bar, grid line and label is placed in percentages of it, so a chart fills whatever box it is
given (the stage's free height, a phone's width) while its text keeps its size. A partial period is
hatched and lighter, as on the dashboard (chuangshu/charts.py), and the legend says so. Value axes
count in Chinese units (fmt.axis_ticks). Labels never get cut: year labels of a partial period break
into two lines, crowded labels are thinned (every second year; the last one is always shown), long
row labels widen the left margin, milestone titles are laid out on levels so that none overlaps
another and none leaves the plot.

Pure functions: data in, markup out (no Streamlit), so the briefing can be written from a script.
"""
from __future__ import annotations

import base64
import html
import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from chuangshu import fmt, theme

_ids = itertools.count(1)


@dataclass(frozen=True)
class Look:
    """Type size (px) and colours of one kind of screen."""

    size: float
    fg: str
    muted: str
    grid: str
    axis: str
    hatch: str = "rgba(255,255,255,0.8)"


DARK = Look(size=20, fg="#E5E7EB", muted="#94A3B8", grid="#1F2937", axis="#334155")
LIGHT = Look(size=12.5, fg=theme.INK, muted=theme.MUTED, grid=theme.GRID, axis="#D1D5DB")
PARTIAL_OPACITY = 0.55
PARTIAL_LEGEND = "不完整年份（斜线、浅色）"


@dataclass
class Series:
    """One stacked layer: its name (legend), a value per category and its colour."""

    name: str
    values: list[float]
    color: str = "#2F6690"


@dataclass
class Mark:
    """A milestone on a timeline."""

    day: date
    title: str
    detail: str = ""


@dataclass
class Figure:
    """An SVG chart with its title and legend, ready to be placed (:meth:`html`)."""

    title: str
    svg: str
    legend: list[tuple[str, str, bool]] = field(default_factory=list)  # (name, colour, hatched)

    def html(self, fill: bool = False, extra_class: str = "", inline: bool = True) -> str:
        """The figure block: title, legend (HTML, so it wraps), the chart box; ``fill`` makes it take its
        container's height (the chart box gets what the title and legend leave). ``inline=False`` writes
        the SVG for Streamlit's st.html, which strips SVG: escaped in an inert script that :data:`HYDRATE`
        turns into the SVG in the page (see :func:`for_streamlit`)."""
        items = "".join(
            f'<span class="sc-key"><i style="background:{c};{_hatch_css() if h else ""}'
            f'{f"opacity:{PARTIAL_OPACITY};" if h else ""}"></i>{html.escape(n)}</span>'
            for n, c, h in self.legend)
        legend = f'<div class="sc-legend">{items}</div>' if items else ""
        title = f'<div class="sc-title">{html.escape(self.title)}</div>' if self.title else ""
        cls = " ".join(c for c in ("sc-fig", "bs-fill" if fill else "", extra_class) if c)
        svg = self.svg if inline else f'<script type="{SVG_SCRIPT}">{html.escape(self.svg, quote=False)}</script>'
        return f'<div class="{cls}">{title}{legend}<div class="sc-box">{svg}</div></div>'


SVG_SCRIPT = "text/x-svg"  # an inert script holding escaped SVG markup (st.html keeps scripts, not SVG)
# Turns each inert SVG script into the SVG it holds (run by st.html with unsafe_allow_javascript=True).
HYDRATE = ("<script>document.querySelectorAll('script[type=\"" + SVG_SCRIPT + "\"]').forEach(function (s) {"
           "var t = document.createElement('textarea'); t.innerHTML = s.textContent;"
           "var p = document.createElement('template'); p.innerHTML = t.value; s.replaceWith(p.content);});</script>")


def for_streamlit(*blocks: str) -> str:
    """HTML blocks holding figures written with ``inline=False``, followed by the script that draws them."""
    return "".join(blocks) + HYDRATE


def _hatch_css() -> str:
    return "background-image:repeating-linear-gradient(45deg,rgba(255,255,255,.85) 0 2px,transparent 2px 5px);"


def css(look: Look) -> str:
    """The stylesheet the figures need (title, legend, the box the SVG fills)."""
    return f""".sc-fig {{ display: flex; flex-direction: column; min-height: 0; }}
.sc-fig.bs-fill {{ height: 100%; }}
.sc-title {{ font-size: {look.size * 1.25:.0f}px; color: {look.muted}; line-height: 1.35; }}
.sc-legend {{ display: flex; flex-wrap: wrap; gap: {look.size * 0.3:.0f}px {look.size * 1.2:.0f}px;
  font-size: {look.size:.0f}px; color: {look.fg}; margin: {look.size * 0.4:.0f}px 0 {look.size * 0.2:.0f}px 0;
  line-height: 1.3; }}
.sc-key {{ white-space: nowrap; display: inline-flex; align-items: center; }}
.sc-key i {{ display: inline-block; width: {look.size * 0.75:.0f}px; height: {look.size * 0.75:.0f}px;
  margin-right: {look.size * 0.35:.0f}px; border-radius: 2px; }}
.sc-box {{ flex: 1 1 auto; min-height: 0; position: relative; }}
.sc-fig.bs-fill .sc-box {{ flex: 1 1 0; }}
.sc-area {{ box-sizing: border-box; width: 100%; }}
.sc-fig.bs-fill .sc-area {{ max-height: 100%; }}
"""


# --- text measures ------------------------------------------------------------------------------

def em(text: str) -> float:
    """Estimated width of ``text`` in em (CJK and full-width signs 1, digits and Latin about 0.6)."""
    width = 0.0
    for ch in text:
        if ord(ch) >= 0x2E80 or ch in "—…“”‘’（）【】《》、，。：；！？":
            width += 1.0
        elif ch in " ,.:;'|!il":
            width += 0.3
        else:
            width += 0.6
    return width


def split_period(label: str) -> list[str]:
    """'2022年（1—6月）' -> ['2022年', '（1—6月）']: a partial period's label on two lines."""
    head, sep, tail = label.partition("（")
    return [head, sep + tail] if sep else [label]


def _esc(text: object) -> str:
    return html.escape(str(text), quote=True)


def _pct(value: float) -> str:
    return f"{value:.3f}".rstrip("0").rstrip(".") + "%"


def _defs(look: Look) -> tuple[str, str]:
    """A hatch pattern unique to this chart: (defs markup, fill reference)."""
    pid = f"sc-hatch-{next(_ids)}"
    defs = (f'<defs><pattern id="{pid}" patternUnits="userSpaceOnUse" width="7" height="7" '
            f'patternTransform="rotate(45)"><rect width="2.2" height="7" fill="{look.hatch}"/></pattern></defs>')
    return defs, f"url(#{pid})"


def _open(look: Look, height: str, label: str, left: float, top: float, right: float, bottom: float,
          min_width: float | None = None) -> str:
    """The chart's box (its padding holds the axis labels) and the SVG of the plot area in it; with
    ``min_width`` the box never gets narrower (its container scrolls sideways instead)."""
    wide = f";min-width:{min_width:.0f}px" if min_width else ""
    return (f'<div class="sc-area" style="height:{height};padding:{top:.0f}px {right:.0f}px {bottom:.0f}px {left:.0f}px{wide}">'
            f'<svg xmlns="http://www.w3.org/2000/svg" class="sc" width="100%" height="100%" role="img" '
            f'aria-label="{_esc(label)}" font-family="{_esc(theme.FONT)}" font-size="{look.size:g}" '
            f'overflow="visible" style="overflow:visible;display:block">')


def _close() -> str:
    return "</svg></div>"


def _y_title(text: str, left: float, top: float, look: Look) -> str:
    """The value axis's title, written level above the axis (Chinese reads badly turned on its side)."""
    return (f'<text class="sc-ytitle" x="-{left - 2:g}" y="-{look.size * 1.2:g}" fill="{look.muted}">'
            f'{_esc(text)}</text>')


def _thin(labels: Sequence[str], slot_px: float, size: float) -> list[bool]:
    """Which category labels to write so that none overlaps the next: all, or every k-th (the last always)."""
    widest = max((max(em(part) for part in split_period(label)) for label in labels), default=0) * size
    step = 1
    while step < len(labels) and widest > slot_px * step * 0.92:
        step += 1
    n = len(labels)
    shown = [(n - 1 - i) % step == 0 for i in range(n)]  # counted from the last (the partial one) back
    return shown


# --- vertical (stacked) columns -------------------------------------------------------------------

def columns(categories: Sequence[str], series: Sequence[Series], *, partial: Sequence[bool] | None = None,
            look: Look = DARK, y_title: str = "", x_title: str = "", height: str = "100%",
            plot_width: float = 1600, integer: bool = True, label: str = "") -> str:
    """Stacked columns per category (years), a partial one hatched and lighter; ``plot_width`` is the
    narrowest the plot area will be drawn (px), for thinning the category labels."""
    n = max(len(categories), 1)
    partial = list(partial or [False] * len(categories))
    totals = [sum(float(s.values[i] or 0) for s in series) for i in range(len(categories))]
    ticks, texts = fmt.axis_ticks(max(totals, default=0), integer=integer)
    top = ticks[-1] or 1.0
    size = look.size
    left = size * (max((em(t) for t in texts), default=1) + 0.8)
    two_lines = any("（" in c for c in categories)
    bottom = size * ((3.0 if two_lines else 1.9) + (1.6 if x_title else 0))
    defs, hatch = _defs(look)
    top_pad = size * (2.3 if y_title else 0.8)
    out = [_open(look, height, label or y_title, left, top_pad, size * 0.6, bottom), defs]
    for value, text in zip(ticks, texts):
        y = _pct(100 - value / top * 100)
        out.append(f'<line x1="0" x2="100%" y1="{y}" y2="{y}" stroke="{look.grid if value else look.axis}" '
                   f'stroke-width="1"/>')
        out.append(f'<text x="-{size * 0.5:g}" y="{y}" dy="0.35em" text-anchor="end" fill="{look.fg}">{_esc(text)}</text>')
    slot = 100 / n
    for i, cat in enumerate(categories):
        x, w = slot * i + slot * 0.18, slot * 0.64
        base = 0.0
        for s in series:
            v = float(s.values[i] or 0)
            if v <= 0:
                continue
            y0, y1 = 100 - (base + v) / top * 100, 100 - base / top * 100
            geom = f'x="{_pct(x)}" width="{_pct(w)}" y="{_pct(y0)}" height="{_pct(y1 - y0)}"'
            title = f"<title>{_esc(cat)} · {_esc(s.name)}：{v:,.0f}</title>"
            if partial[i]:
                out.append(f'<rect {geom} fill="{s.color}" opacity="{PARTIAL_OPACITY}">{title}</rect>')
                out.append(f'<rect {geom} fill="{hatch}" pointer-events="none"/>')
            else:
                out.append(f'<rect {geom} fill="{s.color}">{title}</rect>')
            base += v
    shown = _thin(categories, plot_width / n, size)
    for i, cat in enumerate(categories):
        if not shown[i]:
            continue
        cx = _pct(slot * (i + 0.5))
        lines = split_period(cat)
        spans = "".join(f'<tspan x="{cx}" dy="{1.35 if j == 0 else 1.25}em">{_esc(part)}</tspan>'
                        for j, part in enumerate(lines))
        out.append(f'<text class="sc-xlabel" y="100%" text-anchor="middle" fill="{look.fg}">{spans}</text>')
    if x_title:
        out.append(f'<text x="50%" y="100%" dy="{(3.0 if two_lines else 1.9) + 1.3:g}em" text-anchor="middle" '
                   f'fill="{look.muted}">{_esc(x_title)}</text>')
    if y_title:
        out.append(_y_title(y_title, left, top_pad, look))
    out.append(_close())
    return "".join(out)


# --- horizontal (stacked) bars --------------------------------------------------------------------

def bars(labels: Sequence[str], series: Sequence[Series], *, partial: Sequence[bool] | None = None,
         look: Look = LIGHT, unit: str = "", height: str | None = None, row_px: float | None = None,
         totals: bool = True, integer: bool = True, axis: bool = False, label: str = "",
         max_row_px: float | None = None, value_labels: Sequence[str] | None = None) -> str:
    """Horizontal bars read top-down (stacked when several series), each row's total written at its end;
    a partial row hatched and lighter. Height: ``height`` (at most ``max_row_px`` a row), or ``row_px`` a row; ``value_labels`` replace the written totals (「—」 for a missing value)."""
    n = max(len(labels), 1)
    partial = list(partial or [False] * len(labels))
    sums = [sum(float(s.values[i] or 0) for s in series) for i in range(len(labels))]
    ticks, texts = fmt.axis_ticks(max(sums, default=0), integer=integer)
    size = look.size
    value_texts = list(value_labels) if value_labels is not None else [fmt.count(v) if integer else f"{v:,.1f}" for v in sums]
    top = ticks[-1] or 1.0
    left = size * (max((em(t) for t in labels), default=1) + 0.7)
    right = size * (max((em(t) for t in value_texts), default=1) * 0.85 + 0.8) if totals else size
    bottom = size * 1.8 if axis else size * 0.2
    if height is None:
        height = f"{(row_px or size * 2.1) * n + bottom + size * 0.3:.0f}px"
    elif max_row_px:
        height = f"min({height}, {max_row_px * n + bottom + size * 0.3:.0f}px)"
    defs, hatch = _defs(look)
    out = [_open(look, height, label or unit, left, size * 0.1, right, bottom), defs]
    if axis:
        for value, text in zip(ticks, texts):
            x = _pct(value / top * 100)
            out.append(f'<line y1="0" y2="100%" x1="{x}" x2="{x}" stroke="{look.grid}" stroke-width="1"/>')
            out.append(f'<text x="{x}" y="100%" dy="1.3em" text-anchor="middle" fill="{look.muted}">{_esc(text)}</text>')
    slot = 100 / n
    for i, name in enumerate(labels):
        y, h = slot * i + slot * 0.16, slot * 0.68
        base = 0.0
        for s in series:
            v = float(s.values[i] or 0)
            if v <= 0:
                continue
            geom = f'y="{_pct(y)}" height="{_pct(h)}" x="{_pct(base / top * 100)}" width="{_pct(v / top * 100)}"'
            shown = f"{v:,.0f}" if integer else f"{v:,.1f}"
            title = f"<title>{_esc(name)} · {_esc(s.name)}：{shown}</title>" if s.name else \
                f"<title>{_esc(name)}：{_esc(value_texts[i] if len(series) == 1 else shown)}</title>"
            if partial[i]:
                out.append(f'<rect {geom} fill="{s.color}" opacity="{PARTIAL_OPACITY}">{title}</rect>')
                out.append(f'<rect {geom} fill="{hatch}" pointer-events="none"/>')
            else:
                out.append(f'<rect {geom} fill="{s.color}">{title}</rect>')
            base += v
        cy = _pct(slot * (i + 0.5))
        out.append(f'<text class="sc-ylabel" x="-{size * 0.45:g}" y="{cy}" dy="0.35em" text-anchor="end" '
                   f'fill="{look.fg}">{_esc(name)}</text>')
        if totals:
            out.append(f'<text class="sc-value" x="{_pct(base / top * 100)}" dx="{size * 0.35:g}" y="{cy}" '
                       f'dy="0.35em" fill="{look.fg}">{_esc(value_texts[i])}</text>')
    out.append(f'<line x1="0" x2="0" y1="0" y2="100%" stroke="{look.axis}" stroke-width="1"/>')
    out.append(_close())
    return "".join(out)


# --- a monthly trend with milestones -----------------------------------------------------------------

def _frac(day: date, first: date, last: date) -> float:
    span = (last - first).days or 1
    return (day - first).days / span


def place_marks(marks: Sequence[Mark], first: date, last: date, plot_px: float, size: float,
                levels: int = 4) -> list[tuple[int, str]]:
    """(level, anchor) for each milestone title, left to right: the lowest level where it overlaps no
    title already placed, anchored so that it stays inside the plot (start / middle / end)."""
    placed: list[list[tuple[float, float]]] = [[] for _ in range(levels)]
    out = []
    gap = size * 0.8
    for m in marks:
        x = _frac(m.day, first, last) * plot_px
        w = em(m.title) * size
        if x - w / 2 < 0:
            anchor, a, b = "start", x - size * 0.3, x - size * 0.3 + w
        elif x + w / 2 > plot_px:
            anchor, a, b = "end", x + size * 0.3 - w, x + size * 0.3
        else:
            anchor, a, b = "middle", x - w / 2, x + w / 2
        def clash(level: int) -> float:
            return sum(max(0.0, min(b + gap, q) - max(a - gap, p)) for p, q in placed[level])
        level = next((k for k in range(levels) if clash(k) == 0), min(range(levels), key=clash))
        placed[level].append((a, b))
        out.append((level, anchor))
    return out


def timeline(months: Sequence[date], values: Sequence[float], marks: Sequence[Mark], *, partial_last: bool = False,
             first: date, last: date, look: Look = DARK, height: str = "100%", plot_width: float = 1600,
             y_title: str = "", label: str = "", line_color: str = "#4C86B3",
             month_labels: Sequence[str] | None = None) -> str:
    """Monthly values as a filled line between ``first`` and ``last`` (a partial last month dotted with a
    hollow marker named by its label, e.g. 2022年6月（截至15日）) and each milestone as a dotted stem with
    its title above the curve."""
    size = look.size
    peak = max((float(v) for v in values), default=0.0) or 1.0
    ticks, texts = fmt.axis_ticks(peak)
    levels = 4
    positions = place_marks(marks, first, last, plot_width, size, levels)
    used = max((lv for lv, _ in positions), default=-1) + 1
    top = ticks[-1] * (1.12 + 0.16 * max(used, 1))  # room above the curve for the milestone titles
    left = size * (max((em(t) for t in texts), default=1) + 0.8)
    top_pad = size * (2.3 if y_title else 0.6)
    out = [_open(look, height, label or y_title, left, top_pad, size * 0.6, size * 2.2)]
    for value, text in zip(ticks, texts):
        y = _pct(100 - value / top * 100)
        out.append(f'<line x1="0" x2="100%" y1="{y}" y2="{y}" stroke="{look.grid if value else look.axis}"/>')
        out.append(f'<text x="-{size * 0.5:g}" y="{y}" dy="0.35em" text-anchor="end" fill="{look.fg}">{_esc(text)}</text>')
    half = em("2022年") * size / 2
    for year in range(first.year + (first > date(first.year, 1, 1)), last.year + 1):
        at = _frac(date(year, 1, 1), first, last)
        if at * plot_width < half or (1 - at) * plot_width < half:
            continue  # a label centred there would leave the plot
        x = _pct(at * 100)
        out.append(f'<text class="sc-xlabel" x="{x}" y="100%" dy="1.4em" text-anchor="middle" fill="{look.fg}">'
                   f'{year}年</text>')
    if months:
        pts = [(_frac(m, first, last) * 1000, 1000 - float(v) / top * 1000) for m, v in zip(months, values)]
        whole = pts[:-1] if partial_last and len(pts) > 1 else pts
        line = " ".join(f"{x:.1f},{y:.1f}" for x, y in whole)
        area = f"M{whole[0][0]:.1f},1000 L{line.replace(' ', ' L')} L{whole[-1][0]:.1f},1000 Z"
        out.append('<svg viewBox="0 0 1000 1000" preserveAspectRatio="none" width="100%" height="100%" overflow="visible">'
                   f'<path d="{area}" fill="{line_color}" fill-opacity="0.18"/>'
                   f'<polyline class="sc-line" points="{line}" fill="none" stroke="{line_color}" stroke-width="2" '
                   f'vector-effect="non-scaling-stroke"/>')
        if partial_last and len(pts) > 1:
            (x0, y0), (x1, y1) = pts[-2], pts[-1]
            out.append(f'<polyline class="sc-line-partial" points="{x0:.1f},{y0:.1f} {x1:.1f},{y1:.1f}" fill="none" stroke="{line_color}" '
                       f'stroke-width="2" stroke-dasharray="3 4" vector-effect="non-scaling-stroke"/>')
        out.append("</svg>")
        if partial_last and len(pts) > 1:
            x1, y1 = pts[-1]
            name = month_labels[-1] if month_labels else fmt.month_cn(months[-1])
            out.append(f'<circle class="sc-partial" cx="{_pct(x1 / 10)}" cy="{_pct(y1 / 10)}" r="{size * 0.3:g}" '
                       f'fill="white" stroke="{line_color}" stroke-width="2">'
                       f'<title>{_esc(name)}：{float(values[-1]):,.0f} 件</title></circle>')
    for m, (level, anchor) in zip(marks, positions):
        x = _frac(m.day, first, last) * 100
        y = 100 - ticks[-1] * (1.08 + 0.16 * (level + 1)) / top * 100
        out.append(f'<line x1="{_pct(x)}" x2="{_pct(x)}" y1="{_pct(y)}" y2="100%" stroke="{theme.GOLD}" '
                   f'stroke-width="1" stroke-dasharray="2 4"/>')
        out.append(f'<circle cx="{_pct(x)}" cy="{_pct(y)}" r="{size * 0.25:g}" fill="{theme.ACCENT}"/>')
        shift = {"start": -size * 0.3, "end": size * 0.3, "middle": 0}[anchor]
        out.append(f'<text class="sc-mark" x="{_pct(x)}" dx="{shift:g}" y="{_pct(y)}" dy="-0.55em" '
                   f'text-anchor="{anchor}" fill="{look.muted}"><title>{_esc(m.detail)}</title>{_esc(m.title)}</text>')
    if y_title:
        out.append(_y_title(y_title, left, top_pad, look))
    out.append(_close())
    return "".join(out)


def month_range(first: date, last: date) -> int:
    """Whole months from ``first`` to ``last`` (for callers that pad a timeline)."""
    return (last.year - first.year) * 12 + last.month - first.month


def shift_months(day: date, months: int) -> date:
    """``day``'s month moved by ``months`` (first of the month)."""
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def sparkline(values: Sequence[float], color: str, width: int = 120, height: int = 40, img: bool = True) -> str:
    """A tiny trend line (a KPI's yearly values), '' for fewer than two points; an ``<img>`` with an SVG
    data URI (``img``: it survives Streamlit's st.html, which strips inline SVG) or the SVG itself."""
    points = [float(v) for v in values if v is not None and not (isinstance(v, float) and math.isnan(v))]
    if len(points) < 2:
        return ""
    high = max(points) or 1.0
    step = width / (len(points) - 1)
    xy = " ".join(f"{i * step:.1f},{height - 3 - (v / high) * (height - 6):.1f}" for i, v in enumerate(points))
    svg = (f'<svg class="sc-spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
           f'preserveAspectRatio="none" aria-hidden="true"><polyline points="{xy}" fill="none" stroke="{color}" '
           f'stroke-width="2.5" stroke-linejoin="round" vector-effect="non-scaling-stroke"/></svg>')
    if not img:
        return svg
    data = base64.b64encode(svg.encode()).decode()
    return f'<img class="sc-spark" alt="" src="data:image/svg+xml;base64,{data}">'



# --- from the metric layer's frames ------------------------------------------------------------------

def _year_layers(df: pd.DataFrame, value: str, color: str | None) -> tuple[list[str], list[bool], list[Series]]:
    """A per-year frame (year, period, partial[, color]) as period labels, partial flags and stacked series
    in the canonical order with the categories' full names."""
    periods = df.drop_duplicates("year").sort_values("year")
    labels = list(periods["period"]) if "period" in df.columns else [f"{y}年" for y in periods["year"]]
    partial = [bool(p) for p in periods["partial"]] if "partial" in df.columns else [False] * len(labels)
    years = list(periods["year"])
    if color is None:
        sums = df.groupby("year")[value].sum()
        return labels, partial, [Series("", [float(sums.get(y, 0)) for y in years], theme.CATEGORY_COLORS["加装电梯"])]
    groups = theme.known_order(df[color])
    palette = theme.colors_for(groups)
    names = dict(zip(df[color], df["label"])) if color == "category" and "label" in df.columns else {}
    series = []
    for g in groups:
        part = df[df[color] == g].groupby("year")[value].sum()
        series.append(Series(str(names.get(g, g)), [float(part.get(y, 0)) for y in years], palette[g]))
    return labels, partial, series


def _layers(df: pd.DataFrame, x: str, value: str, color: str | None) -> tuple[list[str], list[bool], list[Series]]:
    """Any frame (``x`` categories in the frame's order, ``color`` groups stacked) as labels, partial flags
    and series; a per-year frame as :func:`_year_layers`."""
    if x == "year":
        return _year_layers(df, value, color)
    distinct = list(dict.fromkeys(df[x]))
    if all(isinstance(v, (int, float)) for v in distinct):
        distinct = sorted(distinct)
    labels = [str(v) for v in distinct]
    if color is None:
        sums = df.groupby(x, sort=False)[value].sum()
        return labels, [False] * len(labels), [Series("", [float(sums.get(v, 0)) for v in distinct], "#2F6690")]
    groups = theme.known_order(df[color])
    palette = theme.colors_for(groups)
    names = dict(zip(df[color], df["label"])) if color == "category" and "label" in df.columns else {}
    series = []
    for g in groups:
        part = df[df[color] == g].groupby(x, sort=False)[value].sum()
        series.append(Series(str(names.get(g, g)), [float(part.get(v, 0)) for v in distinct], palette[g]))
    return labels, [False] * len(labels), series


def frame_columns(df: pd.DataFrame, x: str, value: str, title: str, *, color: str | None = None,
                  look: Look = LIGHT, y_title: str = "", x_title: str = "", plot_width: float = 1600,
                  height: str = "100%") -> Figure:
    """A metric frame as (stacked) columns over ``x`` (years: as :func:`year_columns`)."""
    labels, partial, series = _layers(df, x, value, color)
    svg = columns(labels, series, partial=partial, look=look, y_title=y_title, x_title=x_title,
                  plot_width=plot_width, label=title, height=height)
    return Figure(title, svg, legend_of(series, partial))


def legend_of(series: Sequence[Series], partial: Sequence[bool]) -> list[tuple[str, str, bool]]:
    """Legend entries: each named series, and the hatching when a period is partial."""
    items = [(s.name, s.color, False) for s in series if s.name]
    if any(partial):
        items.append((PARTIAL_LEGEND, "#9CA3AF", True))
    return items


def year_columns(df: pd.DataFrame, value: str, title: str, *, color: str | None = None, look: Look = DARK,
                 y_title: str = "", x_title: str = "", plot_width: float = 1600, height: str = "100%") -> Figure:
    """A per-year metric frame as stacked columns (the big screen's trends, the overview's first chart)."""
    labels, partial, series = _year_layers(df, value, color)
    svg = columns(labels, series, partial=partial, look=look, y_title=y_title, x_title=x_title,
                  plot_width=plot_width, label=title, height=height)
    return Figure(title, svg, legend_of(series, partial))


def year_bars(df: pd.DataFrame, value: str, title: str, *, color: str | None = None, look: Look = LIGHT,
              unit: str = "") -> Figure:
    """A per-year metric frame as horizontal stacked bars, one row per year, oldest at the top (phones:
    every year's label reads in full, partial ones included)."""
    labels, partial, series = _year_layers(df, value, color)
    svg = bars(labels, series, partial=partial, look=look, unit=unit, label=title)
    return Figure(title, svg, legend_of(series, partial))


def ranking(df: pd.DataFrame, label: str, value: str, title: str, *, look: Look = DARK,
            color: str = "#4C86B3", height: str | None = "100%", row_px: float | None = None,
            max_row_px: float | None = None, axis: bool = False) -> Figure:
    """Rows of ``label`` by ``value`` as horizontal bars, in the frame's order, the value at each bar's end
    (「—」 where it is missing: no bar, not a zero)."""
    series = [Series("", [float(v) if not fmt.missing(v) else 0.0 for v in df[value]], color)]
    integer = bool((df[value].dropna() == df[value].dropna().round()).all())
    labels = [fmt.DASH if fmt.missing(v) else fmt.count(float(v)) if integer else f"{float(v):,.1f}"
             for v in df[value]]
    svg = bars([str(v) for v in df[label]], series, look=look, height=height, row_px=row_px, label=title,
               max_row_px=max_row_px, integer=integer, value_labels=labels, axis=axis)
    return Figure(title, svg)


def _mix(scale: Sequence[str], t: float) -> str:
    """The colour at ``t`` (0–1) along a sequential scale of hex colours, linearly between its stops."""
    t = min(max(t, 0.0), 1.0) * (len(scale) - 1)
    i = min(int(t), len(scale) - 2)
    a, b = scale[i], scale[i + 1]
    rgb = [round(int(a[k:k + 2], 16) + (int(b[k:k + 2], 16) - int(a[k:k + 2], 16)) * (t - i)) for k in (1, 3, 5)]
    return "#" + "".join(f"{c:02X}" for c in rgb)


def _header_lines(label: str) -> list[str]:
    """A column header on at most two lines (a long category name breaks in its middle, never cut)."""
    if em(label) <= 4 or len(label) < 4:
        return [label]
    mid = (len(label) + 1) // 2
    return [label[:mid], label[mid:]]


def heatmap(matrix: pd.DataFrame, title: str, *, unit: str = "件", look: Look = LIGHT,
            row_px: float = 22, scale: Sequence[str] = theme.SEQUENTIAL) -> Figure:
    """Rows × columns of counts as coloured cells with the count written in each (what charts.heatmap draws
    with plotly): the colour runs from the scale's first stop at 0 to its last at the largest cell, the
    text turns white on the darker half; every cell's tooltip names its row, column and count."""
    rows, cols = [str(r) for r in matrix.index], [str(c) for c in matrix.columns]
    values = matrix.to_numpy(dtype="float64", na_value=0.0) if matrix.size else None
    top = float(values.max()) if values is not None and values.size else 0.0
    size = look.size
    heads = [_header_lines(c) for c in cols]
    lines = max((len(h) for h in heads), default=1)
    left = size * (max((em(r) for r in rows), default=1) + 0.7)
    head_px = size * 1.25 * lines + size * 0.5
    height = f"{row_px * max(len(rows), 1) + head_px + size * 0.3:.0f}px"
    n, m = max(len(rows), 1), max(len(cols), 1)
    widest = max((em(part) for h in heads for part in h), default=2)
    # every column keeps room for its header and a four-digit count: on a phone the chart scrolls sideways
    min_width = left + size * 0.2 + m * size * (max(widest, 3.0) + 1.2)
    out = ['<div class="sc-scroll" style="overflow-x:auto">',
           _open(look, height, title, left, head_px, size * 0.2, size * 0.3, min_width)]
    row_h, col_w = 100 / n, 100 / m
    for j, head in enumerate(heads):
        x = _pct(col_w * (j + 0.5))
        first = -(size * 1.25) * len(head) + size * 0.75
        spans = "".join(f'<tspan x="{x}" dy="{first if k == 0 else size * 1.25:g}">{_esc(part)}</tspan>'
                        for k, part in enumerate(head))
        out.append(f'<text class="sc-xlabel" x="{x}" y="0" text-anchor="middle" fill="{look.fg}">{spans}</text>')
    for i, row in enumerate(rows):
        y = _pct(row_h * i)
        out.append(f'<text class="sc-ylabel" x="-{size * 0.45:g}" y="{_pct(row_h * (i + 0.5))}" dy="0.35em" '
                   f'text-anchor="end" fill="{look.fg}">{_esc(row)}</text>')
        for j, col in enumerate(cols):
            v = float(values[i, j]) if values is not None else 0.0
            t = v / top if top > 0 else 0.0
            shown = fmt.count(v)
            out.append(f'<rect x="{_pct(col_w * j)}" y="{y}" width="{_pct(col_w)}" height="{_pct(row_h)}" '
                       f'fill="{_mix(scale, t)}" stroke="#FFFFFF" stroke-width="1">'
                       f'<title>{_esc(row)} · {_esc(col)}：{shown} {_esc(unit)}</title></rect>')
            out.append(f'<text x="{_pct(col_w * (j + 0.5))}" y="{_pct(row_h * (i + 0.5))}" dy="0.35em" '
                       f'text-anchor="middle" pointer-events="none" fill="{"#FFFFFF" if t > 0.5 else look.fg}">'
                       f'{shown}</text>')
    out.append(_close() + "</div>")
    legend = [(f"0 {unit}", scale[0], False), (f"{fmt.count(top)} {unit}（最多）", scale[-1], False)]
    return Figure(title, "".join(out), legend)


def milestones(monthly: pd.DataFrame, marks: pd.DataFrame, title: str, *, look: Look = DARK,
               plot_width: float = 1600, y_title: str = "受理事项（件）") -> Figure:
    """cases_by_month and the milestones frame as a timeline (the big screen's 大事记)."""
    days = [pd.Timestamp(d).date() for d in marks["happened_on"]] if len(marks) else []
    months = [pd.Timestamp(m).date() for m in monthly["month"]] if len(monthly) else []
    spans = [*days, *months]
    if not spans:
        return Figure(title, "")
    first = shift_months(min(spans), -6)
    last = shift_months(max(spans), 7)
    partial = bool(len(monthly)) and "partial" in monthly.columns and bool(monthly["partial"].iloc[-1])
    ms = [Mark(d, str(t), str(x or "")) for d, t, x in zip(days, marks.get("title", []), marks.get("detail", []))]
    labels = list(monthly["period"]) if "period" in monthly.columns else None
    svg = timeline(months, list(monthly["received"]) if len(monthly) else [], ms, partial_last=partial,
                   first=first, last=last, look=look, plot_width=plot_width, y_title=y_title, label=title,
                   month_labels=labels)
    legend = [("每月受理事项（件）", "#4C86B3", False)]
    if partial:
        legend.append(("不完整月份（虚线）", "#9CA3AF", False))
    return Figure(title, svg, legend)
