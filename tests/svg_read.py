"""Read back the SVG charts (chuangshu/svgchart.py) that a page or the briefing wrote: titles, legends,
category labels, bars (their tooltips and whether they are hatched), milestone titles, texts.

st.html strips SVG, so on Streamlit pages each chart's SVG sits escaped in an inert script
(svgchart.SVG_SCRIPT) that a small script turns into the chart in the browser; the briefing has
it inline. Both are found here.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass, field

from lxml import etree
from lxml import html as lhtml

from chuangshu import svgchart

_SCRIPT = re.compile(r'<script type="' + re.escape(svgchart.SVG_SCRIPT) + r'">(.*?)</script>', re.DOTALL)


@dataclass
class Chart:
    """One chart as a reader sees it."""

    title: str
    legend: list[str]
    xlabels: list[str] = field(default_factory=list)  # column labels, a two-line label joined
    ylabels: list[str] = field(default_factory=list)  # row labels of bar charts
    values: list[str] = field(default_factory=list)  # the numbers written at the bars' ends
    bars: list[tuple[str, bool]] = field(default_factory=list)  # (tooltip, hatched-and-lighter)
    marks: list[str] = field(default_factory=list)  # milestone titles
    texts: list[str] = field(default_factory=list)  # every text of the SVG
    root: object = None


def _text(el: object) -> str:
    return "".join(el.itertext()).strip()  # type: ignore[attr-defined]


def charts(markup: str) -> list[Chart]:
    """Every chart (``div.sc-fig``) in ``markup`` (an st.html body, or the briefing)."""
    markup = _SCRIPT.sub(lambda m: html.unescape(m.group(1)), markup)
    doc = lhtml.fromstring(f"<div>{markup}</div>")
    out = []
    for fig in doc.xpath('//div[contains(concat(" ", @class, " "), " sc-fig ")]'):
        title = fig.xpath('./div[@class="sc-title"]')
        legend = [_text(k) for k in fig.xpath('.//span[@class="sc-key"]')]
        chart = Chart(_text(title[0]) if title else "", legend, root=fig)
        for t in fig.xpath(".//text"):
            classes = (t.get("class") or "").split()
            words = " ".join(_text(t).split()) if "sc-xlabel" not in classes else \
                "".join(_text(s) for s in t.xpath("./tspan")) or _text(t)
            chart.texts.append(words)
            if "sc-xlabel" in classes:
                chart.xlabels.append(words)
            elif "sc-ylabel" in classes:
                chart.ylabels.append(words)
            elif "sc-value" in classes:
                chart.values.append(words)
            elif "sc-mark" in classes:
                chart.marks.append("".join(t.xpath("./text()")).strip())
        for r in fig.xpath(".//rect[title]"):
            chart.bars.append((_text(r.xpath("./title")[0]), r.get("opacity") == str(svgchart.PARTIAL_OPACITY)))
        out.append(chart)
    return out


def tostring(chart: Chart) -> str:
    """The chart's markup (for a failure message)."""
    return etree.tostring(chart.root, encoding="unicode")[:2000]  # type: ignore[arg-type]
