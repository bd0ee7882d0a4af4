"""One-click slide deck: a DuckDB cursor and Filters in, a 16:9 .pptx out (no Streamlit needed).

Every number on a slide comes from the metric layer (chuangshu.metrics) for the deck's
scope, and every chart is a native PowerPoint chart (editable data, not a picture).
Chinese text carries an East Asian font (a:ea) on every run and in every chart, the
theme's font scheme names the same font with 微软雅黑 as the script fallback, and every
slide has a footer with the source, the as-of date and the filters in words. Decks built
from the bundled sample carry a visible 「示例数据」 mark on every slide.

    from chuangshu import db, deck
    data = deck.build(db.published().cursor(), Filters().only("桂南社区"))
"""
from __future__ import annotations

import io
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Sequence

import duckdb
import pandas as pd
from lxml import etree
from pptx import Presentation
from pptx.chart.data import CategoryChartData
from pptx.chart.xlsx import CategoryWorkbookWriter
from pptx.dml.color import RGBColor
from pptx.enum.chart import XL_CHART_TYPE, XL_LABEL_POSITION, XL_LEGEND_POSITION, XL_MARKER_STYLE
from pptx.enum.dml import MSO_PATTERN
from pptx.enum.shapes import MSO_SHAPE
from pptx.enum.text import MSO_ANCHOR, PP_ALIGN
from pptx.opc.constants import RELATIONSHIP_TYPE as RT
from pptx.oxml.ns import qn
from pptx.util import Inches, Pt

from chuangshu import assessment, fmt, metrics, sharing, theme
from etl import cellsafe
from chuangshu.filters import Filters
from chuangshu.targets import NO_OVERLAY, Overlay

SOURCE = "来源：各社区上报台账（创熟台账库）"  # the same words as the dashboard's chart captions
FONT_NOTO = "Noto Sans CJK SC"
FONT_YAHEI = "Microsoft YaHei"
FONTS = (FONT_NOTO, FONT_YAHEI)
SAMPLE_MARK = "示例数据"
GB2312_CHARSET = "-122"  # charset 134 as a signed byte: tells PowerPoint to substitute a Simplified-Chinese font
TOP_N = 15  # bars on a ranking chart: more stop being readable on a slide
PPTX_MIME = "application/vnd.openxmlformats-officedocument.presentationml.presentation"

WIDTH, HEIGHT = Inches(13.333), Inches(7.5)
LEFT = 0.6  # inches; content runs from LEFT to 13.333 - LEFT
RIGHT = 13.333 - 0.6
CONTENT_TOP, CONTENT_BOTTOM = 1.6, 6.8

INK = theme.INK.lstrip("#")
MUTED = theme.MUTED.lstrip("#")
GRID = theme.GRID.lstrip("#")
ACCENT = theme.ACCENT.lstrip("#")
CARD = "F4F6F8"
STATUS_FILL = {k: v.lstrip("#") for k, v in assessment.BACKGROUND.items()}  # 考核 cells as on the page
BLUE = "2F6690"
GOLD_HEX = theme.GOLD.lstrip("#")


class _SafeWorkbookWriter(CategoryWorkbookWriter):
    """python-pptx's writer of the workbook behind a chart, made safe by chuangshu.cellsafe.

    The stock writer calls xlsxwriter's ``write()``, which stores a category such as a 小区
    called ``=HYPERLINK(...)`` as a live formula (it runs when someone clicks 编辑数据);
    here every text cell is text, and formula-like text is quote-prefixed.
    """

    @contextmanager
    def _open_worksheet(self, xlsx_file: Any) -> Any:
        book = cellsafe.workbook(xlsx_file)
        yield book, book.add_worksheet()
        book.close()

    def _write_categories(self, workbook: Any, worksheet: Any) -> None:
        categories = self._chart_data.categories
        formats = cellsafe.TextFormats(workbook)
        number_format = categories.number_format
        num_format = workbook.add_format({"num_format": number_format})
        for idx, level in enumerate(categories.levels):
            col = categories.depth - idx - 1
            worksheet.set_column(col, col, 10)
            for off, name in level:
                if isinstance(name, str):
                    formats.write(worksheet, off + 1, col, name, num_format=number_format)
                else:
                    worksheet.write(off + 1, col, name, num_format)

    def _write_series(self, workbook: Any, worksheet: Any) -> None:
        formats = cellsafe.TextFormats(workbook)
        col_offset = self._chart_data.categories.depth
        for idx, series in enumerate(self._chart_data):
            num_format = workbook.add_format({"num_format": series.number_format})
            col = idx + col_offset
            if series.name is not None:
                formats.write(worksheet, 0, col, str(series.name))
            worksheet.write_column(1, col, series.values, num_format)


class ChartData(CategoryChartData):
    """Category chart data whose embedded workbook never holds a formula (see _SafeWorkbookWriter)."""

    @property
    def _workbook_writer(self) -> CategoryWorkbookWriter:
        return _SafeWorkbookWriter(self)


def _rgb(hex_color: str) -> RGBColor:
    return RGBColor.from_string(hex_color.lstrip("#").upper())


def _num(value: Any) -> float | None:
    """A chart value python-pptx can write: float, or None for pd.NA / NaN / None."""
    if value is None or value is pd.NA:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    return float(value)


def _tint(hex_color: str, amount: float = 0.55) -> str:
    """The colour mixed with white (a lighter companion series in the same hue)."""
    c = hex_color.lstrip("#")
    r, g, b = (int(c[i:i + 2], 16) for i in (0, 2, 4))
    mix = [round(v + (255 - v) * amount) for v in (r, g, b)]
    return "".join(f"{v:02X}" for v in mix)


def _drop_style(shape: Any) -> None:
    """Remove the shape's theme style reference (its shadow and theme colours): the deck sets fill and line itself."""
    style = shape._element.find(qn("p:style"))
    if style is not None:
        shape._element.remove(style)


def set_fonts(rpr: etree._Element, font: str) -> None:
    """Latin, East Asian (a:ea) and complex-script fonts on one a:rPr / a:defRPr, in schema order."""
    for tag in ("a:latin", "a:ea", "a:cs"):
        for old in rpr.findall(qn(tag)):
            rpr.remove(old)
    latin = etree.SubElement(rpr, qn("a:latin"))
    ea = etree.SubElement(rpr, qn("a:ea"))
    cs = etree.SubElement(rpr, qn("a:cs"))
    for el in (latin, ea, cs):
        el.set("typeface", font)
    ea.set("charset", GB2312_CHARSET)
    if rpr.tag != qn("a:defRPr") or rpr.get("lang") is None:
        rpr.set("lang", "zh-CN")  # so renderers pick the Simplified-Chinese face of a pan-CJK font
        rpr.set("altLang", "en-US")
    # a:latin/a:ea/a:cs must precede a:sym, a:hlinkClick, a:hlinkMouseOver, a:rtl and a:extLst
    later = [c for c in rpr if c.tag in {qn("a:sym"), qn("a:hlinkClick"), qn("a:hlinkMouseOver"),
                                          qn("a:rtl"), qn("a:extLst")}]
    for el in later:
        rpr.remove(el)
        rpr.append(el)


def _patch_theme_fonts(prs: Any, font: str) -> None:
    """The theme's major/minor fonts: ``font`` for Latin and East Asian text, 微软雅黑 for script Hans."""
    part = prs.slide_masters[0].part.part_related_by(RT.THEME)
    root = etree.fromstring(part.blob)
    ns = {"a": "http://schemas.openxmlformats.org/drawingml/2006/main"}
    for which in ("a:majorFont", "a:minorFont"):
        for node in root.iterfind(f".//{which}", ns):
            for tag in ("a:latin", "a:ea"):
                el = node.find(tag, ns)
                if el is not None:
                    el.set("typeface", font)
            for el in node.findall("a:font", ns):
                if el.get("script") == "Hans":
                    node.remove(el)
            hans = etree.SubElement(node, qn("a:font"))
            hans.set("script", "Hans")
            hans.set("typeface", "微软雅黑")
    part._blob = etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


@dataclass
class Series:
    name: str
    values: list[float | None]
    color: str | None = None
    point_colors: list[str] | None = None
    partial: int | None = None  # index of a partial period: hatched and lighter, as on screen


@dataclass
class _Deck:
    cur: duckdb.DuckDBPyConnection
    f: Filters
    font: str = FONT_NOTO
    generated_on: date = field(default_factory=date.today)
    used: list[str] = field(default_factory=list)
    overlay: Overlay = NO_OVERLAY  # administrators' target edits (chuangshu.targets)
    compare: bool | None = None  # False on a community account's data (None: as the database says): no ranks
    qr: tuple[str | None, str] = (None, "简报")  # (address, what it is) for the last slide's QR code

    def __post_init__(self) -> None:
        self.prs = Presentation()
        self.prs.slide_width, self.prs.slide_height = WIDTH, HEIGHT
        _patch_theme_fonts(self.prs, self.font)
        self.blank = self.prs.slide_layouts[6]
        self.sample = metrics.dataset_info(self.cur).get("dataset") == "sample"
        self.community = self.f.communities[0] if len(self.f.communities) == 1 else None
        self.scope = self.community or ("、".join(self.f.communities) if self.f.communities else "桂城街道")
        periods = self.f.periods()
        self.years = [p.year for p in periods]
        self.year_labels = [p.label for p in periods]  # 2022年（1—6月） for a partial last year
        self.partial = next((i for i, p in enumerate(periods) if not p.complete), None)
        self.labels = metrics.category_labels(self.cur)
        if self.compare is None:
            self.compare = assessment.is_office(self.cur)

    # --- text -----------------------------------------------------------------------------------

    def use(self, *keys: str) -> None:
        for key in keys:
            if key not in self.used:
                self.used.append(key)

    def box(self, slide: Any, x: float, y: float, w: float, h: float, name: str | None = None,
            anchor: MSO_ANCHOR = MSO_ANCHOR.TOP) -> Any:
        shape = slide.shapes.add_textbox(Inches(x), Inches(y), Inches(w), Inches(h))
        if name:
            shape.name = name
        tf = shape.text_frame
        tf.word_wrap = True
        tf.vertical_anchor = anchor
        tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = 0
        return tf

    def run(self, paragraph: Any, text: str, size: float, *, bold: bool = False, color: str = INK) -> Any:
        r = paragraph.add_run()
        r.text = text
        r.font.size = Pt(size)
        r.font.bold = bold
        r.font.color.rgb = _rgb(color)
        set_fonts(r._r.get_or_add_rPr(), self.font)
        return r

    def para(self, tf: Any, *, first: bool = False, align: PP_ALIGN = PP_ALIGN.LEFT, space_after: float = 0,
             line_spacing: float | None = None) -> Any:
        p = tf.paragraphs[0] if first else tf.add_paragraph()
        p.alignment = align
        if space_after:
            p.space_after = Pt(space_after)
        if line_spacing:
            p.line_spacing = line_spacing
        return p

    def text(self, slide: Any, x: float, y: float, w: float, h: float, text: str, size: float, *,
             bold: bool = False, color: str = INK, align: PP_ALIGN = PP_ALIGN.LEFT, name: str | None = None,
             anchor: MSO_ANCHOR = MSO_ANCHOR.TOP, line_spacing: float | None = None) -> Any:
        tf = self.box(slide, x, y, w, h, name, anchor)
        for i, line in enumerate(text.split("\n")):
            self.run(self.para(tf, first=i == 0, align=align, line_spacing=line_spacing), line, size,
                     bold=bold, color=color)
        return tf

    def rect(self, slide: Any, x: float, y: float, w: float, h: float, fill: str, *, rounded: bool = False,
             line: str | None = None, name: str | None = None) -> Any:
        shape = slide.shapes.add_shape(MSO_SHAPE.ROUNDED_RECTANGLE if rounded else MSO_SHAPE.RECTANGLE,
                                       Inches(x), Inches(y), Inches(w), Inches(h))
        if rounded:
            shape.adjustments[0] = 0.08
        shape.fill.solid()
        shape.fill.fore_color.rgb = _rgb(fill)
        if line:
            shape.line.color.rgb = _rgb(line)
            shape.line.width = Pt(1.25)
        else:
            shape.line.fill.background()
        _drop_style(shape)
        if name:
            shape.name = name
        return shape

    def slide(self, title: str, subtitle: str | None = None) -> Any:
        """A blank 16:9 slide with its title (the finding), an accent bar and the sample mark."""
        s = self.prs.slides.add_slide(self.blank)
        self.rect(s, 0.36, 0.42, 0.08, 0.52, ACCENT, name="accent")
        self.text(s, LEFT, 0.33, 10.6, 0.72, title, 26, bold=True, name="title", anchor=MSO_ANCHOR.MIDDLE)
        if subtitle:
            self.text(s, LEFT, 1.04, 11.9, 0.42, subtitle, 13, color=MUTED, name="subtitle")
        self.sample_mark(s)
        return s

    def sample_mark(self, slide: Any, x: float = 11.38, y: float = 0.42) -> None:
        if not self.sample:
            return
        shape = self.rect(slide, x, y, 1.35, 0.46, "FDECEA", rounded=True, line=ACCENT, name="sample-mark")
        tf = shape.text_frame
        tf.margin_left = tf.margin_right = tf.margin_top = tf.margin_bottom = 0
        tf.vertical_anchor = MSO_ANCHOR.MIDDLE
        self.run(self.para(tf, first=True, align=PP_ALIGN.CENTER), SAMPLE_MARK, 14, bold=True, color=ACCENT)

    def footer_text(self) -> str:
        text = f"{SOURCE} · {self.f.describe(labels=self.labels)} · 生成于 {self.generated_on.isoformat()}"
        if self.sample:
            text += f" · {SAMPLE_MARK}：数字由示例台账生成，仅用于演示"
        return text

    def footers(self) -> None:
        slides = list(self.prs.slides)
        for i, s in enumerate(slides, start=1):
            line = s.shapes.add_connector(1, Inches(LEFT), Inches(6.98), Inches(RIGHT), Inches(6.98))
            _drop_style(line)
            line.line.color.rgb = _rgb(GRID)
            line.line.width = Pt(0.75)
            line.name = "footer-rule"
            self.text(s, LEFT, 7.04, 10.9, 0.32, self.footer_text(), 9, color=MUTED, name="footer")
            self.text(s, RIGHT - 1.2, 7.04, 1.2, 0.32, f"{i} / {len(slides)}", 9, color=MUTED,
                      align=PP_ALIGN.RIGHT, name="page-number")

    # --- charts ---------------------------------------------------------------------------------

    def chart(self, slide: Any, kind: XL_CHART_TYPE, categories: Sequence[str], series: Sequence[Series],
              x: float, y: float, w: float, h: float, *, name: str, title: str | None = None,
              y_title: str | None = None, number_format: str = "#,##0", legend: bool | None = None,
              labels: bool = False, font_size: float = 12, gap_width: int = 60, overlap: int | None = None) -> Any:
        if not len(categories):
            self.rect(slide, x, y, w, h, CARD, rounded=True, name=f"{name}:empty")
            self.text(slide, x, y + h / 2 - 0.3, w, 0.6, f"{title or '本图'}：本期没有可显示的数据", 16,
                      color=MUTED, align=PP_ALIGN.CENTER, name=f"{name}:empty-note")
            return None
        data = ChartData(number_format=number_format)
        data.categories = [str(c) for c in categories]
        for s in series:
            data.add_series(s.name, [_num(v) for v in s.values])
        frame = slide.shapes.add_chart(kind, Inches(x), Inches(y), Inches(w), Inches(h), data)
        frame.name = name
        chart = frame.chart
        self._chart_frame(chart, font_size)
        plot = chart.plots[0]
        if hasattr(plot, "gap_width"):
            plot.gap_width = gap_width
        if overlap is not None and hasattr(plot, "overlap"):
            plot.overlap = overlap
        plot.vary_by_categories = False
        for s, ps in zip(series, plot.series):
            color = s.color or BLUE
            if kind in (XL_CHART_TYPE.LINE, XL_CHART_TYPE.LINE_MARKERS):
                ps.format.line.color.rgb = _rgb(color)
                ps.format.line.width = Pt(2.5)
                ps.smooth = False
            else:
                ps.format.fill.solid()
                ps.format.fill.fore_color.rgb = _rgb(color)
                ps.invert_if_negative = False
            for i, pc in enumerate(s.point_colors or []):
                point = ps.points[i]
                point.format.fill.solid()
                point.format.fill.fore_color.rgb = _rgb(pc)
            if s.partial is not None and kind not in (XL_CHART_TYPE.LINE, XL_CHART_TYPE.LINE_MARKERS):
                fill = ps.points[s.partial].format.fill
                fill.patterned()
                fill.pattern = MSO_PATTERN.WIDE_UPWARD_DIAGONAL
                fill.fore_color.rgb = _rgb(color)
                fill.back_color.rgb = _rgb(_tint(color, 0.7))
        show_legend = len(series) > 1 if legend is None else legend
        chart.has_legend = show_legend
        if show_legend:
            chart.legend.position = XL_LEGEND_POSITION.TOP
            chart.legend.include_in_layout = False
            chart.legend.font.size = Pt(font_size)
        if title:
            chart.has_title = True
            tf = chart.chart_title.text_frame
            tf.text = ""
            self.run(tf.paragraphs[0], title, font_size + 2, bold=True, color=INK)
        else:
            chart.has_title = False
        va, ca = chart.value_axis, chart.category_axis
        va.has_major_gridlines = True
        va.major_gridlines.format.line.color.rgb = _rgb(GRID)
        va.major_gridlines.format.line.width = Pt(0.75)
        va.format.line.fill.background()
        va.tick_labels.font.size = Pt(font_size - 1)
        va.tick_labels.font.color.rgb = _rgb(MUTED)
        va.tick_labels.number_format = number_format
        va.tick_labels.number_format_is_linked = False
        ca.format.line.color.rgb = _rgb(GRID)
        ca.tick_labels.font.size = Pt(font_size - 1)
        ca.tick_labels.font.color.rgb = _rgb(INK)
        ca.has_major_gridlines = False
        if y_title:
            va.has_title = True
            tf = va.axis_title.text_frame
            tf.text = ""
            self.run(tf.paragraphs[0], y_title, font_size - 1, color=MUTED)
        if kind in (XL_CHART_TYPE.BAR_CLUSTERED, XL_CHART_TYPE.BAR_STACKED):
            ca.reverse_order = True  # horizontal bars read top-down, as the list does
            # ... with the value axis still at the bottom: it crosses the category axis at its last category
            crosses = va._element.find(qn("c:crosses"))
            if crosses is not None:
                crosses.set("val", "max")
        if labels:
            plot.has_data_labels = True
            dl = plot.data_labels
            dl.number_format = number_format
            dl.number_format_is_linked = False
            dl.font.size = Pt(font_size - 1)
            dl.font.color.rgb = _rgb(INK)
            if kind in (XL_CHART_TYPE.BAR_CLUSTERED, XL_CHART_TYPE.COLUMN_CLUSTERED):
                dl.position = XL_LABEL_POSITION.OUTSIDE_END
        self._fonts_in(chart)
        return chart

    def sparkline(self, slide: Any, values: Sequence[float], x: float, y: float, w: float, h: float, *,
                  name: str, color: str) -> Any:
        data = ChartData()
        data.categories = [str(i) for i in range(len(values))]
        data.add_series("趋势", [_num(v) for v in values])
        frame = slide.shapes.add_chart(XL_CHART_TYPE.LINE, Inches(x), Inches(y), Inches(w), Inches(h), data)
        frame.name = name
        chart = frame.chart
        self._chart_frame(chart, 8)
        chart.has_legend = False
        chart.has_title = False
        va, ca = chart.value_axis, chart.category_axis
        va.visible = ca.visible = False
        va.has_major_gridlines = ca.has_major_gridlines = False
        va.minimum_scale = 0
        ps = chart.plots[0].series[0]
        ps.smooth = False
        ps.format.line.color.rgb = _rgb(color)
        ps.format.line.width = Pt(1.75)
        ps.marker.style = XL_MARKER_STYLE.NONE
        self._fonts_in(chart)
        return chart

    def _chart_frame(self, chart: Any, font_size: float) -> None:
        """No rounded corners, no chart-area or plot-area fill or border; the deck font as default."""
        cs = chart._chartSpace
        ns_c = "http://schemas.openxmlformats.org/drawingml/2006/chart"
        rc = cs.find(f"{{{ns_c}}}roundedCorners")
        if rc is None:
            rc = etree.Element(f"{{{ns_c}}}roundedCorners")
            anchor = cs.find(f"{{{ns_c}}}chart")
            anchor.addprevious(rc)
        rc.set("val", "0")
        chart_el = cs.find(f"{{{ns_c}}}chart")
        sppr = cs.find(f"{{{ns_c}}}spPr")
        if sppr is None:
            sppr = etree.fromstring(
                f'<c:spPr xmlns:c="{ns_c}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
                '<a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>')
            chart_el.addnext(sppr)
        plot_area = chart_el.find(f"{{{ns_c}}}plotArea")
        if plot_area is not None and plot_area.find(f"{{{ns_c}}}spPr") is None:
            psp = etree.fromstring(
                f'<c:spPr xmlns:c="{ns_c}" xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main">'
                '<a:noFill/><a:ln><a:noFill/></a:ln></c:spPr>')
            ext = plot_area.find(f"{{{ns_c}}}extLst")
            if ext is not None:
                ext.addprevious(psp)
            else:
                plot_area.append(psp)
        chart.font.size = Pt(font_size)
        chart.font.color.rgb = _rgb(INK)

    def _fonts_in(self, chart: Any) -> None:
        """Every text-property element of the chart (defaults, axes, legend, labels, titles) gets the CJK font."""
        for tag in ("a:defRPr", "a:rPr", "a:endParaRPr"):
            for rpr in chart._chartSpace.iter(qn(tag)):
                set_fonts(rpr, self.font)

    # --- slides ---------------------------------------------------------------------------------

    def title_slide(self) -> None:
        s = self.prs.slides.add_slide(self.blank)
        self.rect(s, 0, 0, 0.28, 7.5, ACCENT, name="accent")
        head = f"{self.scope}“创熟”工作汇报"
        self.text(s, 1.0, 2.0, 11.3, 1.1, head, 40, bold=True, name="title")
        self.text(s, 1.0, 3.15, 11.3, 0.6, "熟人社区建设 · 数读与成效", 20, color=MUTED, name="subtitle")
        period = f"统计区间：{self.f.year_from}—{self.f.year_to}年 · 数据截至{fmt.date_cn(self.f.as_of)}"
        if self.f.categories:
            period += f" · 事项类别：{'、'.join(self.f.categories)}"
        self.text(s, 1.0, 4.2, 11.3, 0.5, period, 16, name="period")
        self.text(s, 1.0, 4.75, 11.3, 0.5, f"桂城街道党工委 · 生成于{fmt.date_cn(self.generated_on)}", 14,
                  color=MUTED, name="issuer")
        if self.sample:
            self.sample_mark(s, 1.0, 5.6)
            self.text(s, 2.55, 5.6, 9.5, 0.46, "本材料的数字由示例台账生成，仅用于演示，不代表真实工作数据。", 14,
                      color=ACCENT, name="sample-note", anchor=MSO_ANCHOR.MIDDLE)

    def kpi_slide(self) -> None:
        head = metrics.headline(self.cur, self.f)
        rows = {r["key"]: r for r in head.to_dict("records")}
        keys = [k for k in metrics.HEADLINE if k in rows]  # a category filter keeps its own case figures
        self.use(*keys, *metrics.SCOPE)
        vol, dis = rows["volunteers"], rows.get("disputes")
        title = f"数读：在任三长{fmt.count(vol['value'], vol['unit'])}"
        if dis is not None:
            title += f"，办结邻里矛盾{fmt.count(dis['value'], dis['unit'])}"
        title = title.replace(" ", "")
        s = self.slide(title, f"{self.scope} · 事项按区间内办结累计（小图为逐年末累计），队伍与组织按"
                              f"{fmt.date_cn(self.f.end)}在册计；同比为与上年同期（同样的月日）相比")
        cols, gap = 5, 0.16
        w = (RIGHT - LEFT - gap * (cols - 1)) / cols
        h, top = 1.42, CONTENT_TOP
        for i, key in enumerate(keys):
            r = rows[key]
            m = metrics.METRICS[key]
            x, y = LEFT + (i % cols) * (w + gap), top + (i // cols) * (h + gap)
            self.rect(s, x, y, w, h, CARD, rounded=True, name=f"kpi-card:{key}")
            self.text(s, x + 0.18, y + 0.12, w - 0.36, 0.3, r["label"], 12, color=MUTED, name=f"kpi-label:{key}")
            tf = self.box(s, x + 0.18, y + 0.42, w - 0.36, 0.55, name=f"kpi-value:{key}", anchor=MSO_ANCHOR.BOTTOM)
            p = self.para(tf, first=True)
            value = fmt.metric_value(r["value"], r["unit"], m.kind)
            number, _, unit = value.partition(" ")
            self.run(p, number, 28, bold=True, color=INK)
            if unit:
                self.run(p, " " + unit, 13, color=MUTED)
            delta = fmt.delta(r["delta_pct"])
            self.text(s, x + 0.18, y + 1.04, 1.25, 0.3, delta or "同比 —", 10,
                      color=MUTED, name=f"kpi-delta:{key}")
            category = next((c for c, k in metrics.CATEGORY_METRIC.items() if k == key), None)
            color = theme.CATEGORY_COLORS.get(category, BLUE) if category else BLUE
            spark = r["spark"] if isinstance(r["spark"], list) else []
            if len(spark) > 1:
                self.sparkline(s, spark, x + w - 1.05, y + 1.0, 0.9, 0.36, name=f"spark:{key}",
                               color=color)
        scope = "  ·  ".join(f"{rows[k]['label']} {fmt.metric_value(rows[k]['value'], rows[k]['unit'])}"
                             for k in metrics.SCOPE)
        tf = self.box(s, LEFT, top + 3 * (h + gap) + 0.02, RIGHT - LEFT, 0.4, name="scope")
        p = self.para(tf, first=True)
        self.run(p, "工作范围  ", 12, bold=True, color=INK)
        self.run(p, scope, 12, color=MUTED)

    def trend_overview_slide(self, by_year: pd.DataFrame, cats: list[str]) -> None:
        self.use("received")
        totals = by_year.groupby("year")["received"].sum()
        if len(totals):
            peak = int(totals.idxmax())
            title = f"各类事项逐年受理：{peak}年最多（{fmt.count(totals.max(), '件')}）".replace(" 件", "件")
        else:
            title = "各类事项逐年受理：本期没有受理事项"
        s = self.slide(title, self._period_note("按登记年份计，含仍在办理中的事项"))
        series = []
        for cat in cats:
            part = by_year[by_year["category"] == cat].set_index("year")["received"]
            series.append(Series(self.labels.get(cat, cat), [part.get(y, 0) for y in self.years],
                                 theme.CATEGORY_COLORS.get(cat), partial=self.partial))
        self.chart(s, XL_CHART_TYPE.COLUMN_STACKED, self.year_labels, series,
                   LEFT, CONTENT_TOP, RIGHT - LEFT, CONTENT_BOTTOM - CONTENT_TOP, name="chart:trend:all",
                   y_title="受理事项（件）", gap_width=40, overlap=100)

    def category_slide(self, row: dict, by_year: pd.DataFrame) -> None:
        cat, label, unit = row["category"], row["label"], row["unit"]
        self.use("received", "resolved", "resolution_rate", "median_days", "open_backlog")
        part = by_year[by_year["category"] == cat].set_index("year")
        received = [int(part["received"].get(y, 0)) for y in self.years]
        resolved = [int(part["resolved"].get(y, 0)) for y in self.years]
        if any(received):
            peak = self.years[received.index(max(received))]
            title = f"{label}：{peak}年受理最多（{max(received):,}{unit}）"
        else:
            title = f"{label}：本期没有受理此类事项"
        s = self.slide(title, self._period_note(f"按登记年份计；「其中已办结」为当年登记、截至{fmt.date_cn(self.f.end)}已办结"))
        color = theme.CATEGORY_COLORS.get(cat, BLUE)
        self.chart(s, XL_CHART_TYPE.COLUMN_CLUSTERED, self.year_labels,
                   [Series("受理", received, _tint(color), partial=self.partial),
                    Series("其中已办结", resolved, color, partial=self.partial)],
                   LEFT, CONTENT_TOP, 8.6, CONTENT_BOTTOM - CONTENT_TOP, name=f"chart:trend:{cat}",
                   y_title=f"事项（{unit}）", gap_width=50, overlap=-10)
        facts = [("received", row["received"]), ("resolved", row["resolved"]),
                 ("resolution_rate", row["resolution_rate"]), ("median_days", row["median_days"]),
                 ("open_backlog", row["open_backlog"])]
        self.fact_panel(s, facts, LEFT + 8.9, CONTENT_TOP, RIGHT - LEFT - 8.9, unit=unit, color=color,
                        prefix=f"fact:{cat}")

    def fact_panel(self, s: Any, facts: list[tuple[str, Any]], x: float, y: float, w: float, *,
                   unit: str | None = None, color: str = BLUE, prefix: str = "fact", row_h: float = 1.0) -> None:
        """A column of figures: label, value with unit; each from a named metric."""
        self.rect(s, x, y, 0.06, row_h * len(facts) - 0.15, color, name=f"{prefix}:rule")
        for i, (key, value) in enumerate(facts):
            m = metrics.METRICS[key]
            self.use(key)
            yy = y + i * row_h
            self.text(s, x + 0.25, yy, w - 0.25, 0.3, m.label, 12, color=MUTED, name=f"{prefix}-label:{key}")
            shown = fmt.metric_value(value, unit if unit and m.kind == "count" and m.unit == "件" else m.unit, m.kind)
            number, _, u = shown.partition(" ")
            tf = self.box(s, x + 0.25, yy + 0.3, w - 0.25, 0.52, name=f"{prefix}:{key}")
            p = self.para(tf, first=True)
            self.run(p, number, 24, bold=True)
            if u:
                self.run(p, " " + u, 12, color=MUTED)

    def ranking_slide(self) -> None:
        if self.community:
            self.compound_slide()
            return
        df = metrics.community_ranking(self.cur, self.f)
        self.use("received", "received_per_1000")
        top = df.head(TOP_N)
        per = df[df["received_per_1000"].notna()].sort_values(["received_per_1000", "community"],
                                                              ascending=[False, True]).head(TOP_N)
        if len(top) and top["received"].iloc[0] > 0:
            title = f"受理事项最多：{top['community'].iloc[0]}（{int(top['received'].iloc[0]):,}件）"
        else:
            title = "各社区受理事项：本期没有受理事项"
        more = f"；共 {len(df)} 个社区，图中为前 {TOP_N} 名" if len(df) > TOP_N else ""
        s = self.slide(title, self._period_note("按登记日期计" + more))
        half = (RIGHT - LEFT - 0.4) / 2
        self.chart(s, XL_CHART_TYPE.BAR_CLUSTERED, list(top["community"]),
                   [Series("受理事项（件）", list(top["received"]), BLUE)],
                   LEFT, CONTENT_TOP, half, CONTENT_BOTTOM - CONTENT_TOP, name="chart:ranking:received",
                   title="受理事项（件）", labels=True, gap_width=35, font_size=11)
        self.chart(s, XL_CHART_TYPE.BAR_CLUSTERED, list(per["community"]),
                   [Series("每千户受理事项（件/千户）", list(per["received_per_1000"]), "4A9BB5")],
                   LEFT + half + 0.4, CONTENT_TOP, half, CONTENT_BOTTOM - CONTENT_TOP,
                   name="chart:ranking:per_1000", title="每千户受理事项（件/千户）", number_format="0.0",
                   labels=True, gap_width=35, font_size=11)

    def compound_slide(self) -> None:
        assert self.community
        df = metrics.compound_cases(self.cur, self.f, self.community)
        self.use("received", "open_backlog")
        top = df.head(TOP_N)
        if len(top) and top["received"].iloc[0] > 0:
            title = f"{self.community}受理事项最多的小区：{top['compound'].iloc[0]}（{int(top['received'].iloc[0]):,}件）"
        else:
            title = f"{self.community}各小区：本期没有受理事项"
        more = f"；共 {len(df)} 个小区，图中为前 {TOP_N} 个" if len(df) > TOP_N else ""
        s = self.slide(title, self._period_note("按登记日期计；在办为区间末仍未办结" + more))
        self.chart(s, XL_CHART_TYPE.BAR_CLUSTERED, list(top["compound"]),
                   [Series("受理事项", list(top["received"]), BLUE),
                    Series("在办事项", list(top["open_backlog"]), GOLD_HEX)],
                   LEFT, CONTENT_TOP, RIGHT - LEFT, CONTENT_BOTTOM - CONTENT_TOP, name="chart:ranking:compounds",
                   y_title="事项（件）", labels=True, gap_width=40, overlap=-5)

    def teams_slide(self) -> None:
        v = metrics.volunteer_summary(self.cur, self.f)
        head = metrics.headline(self.cur, self.f).set_index("key")["value"]
        share = v["party_share"]
        title = f"在任三长{v['total']:,}名" + (f"，党员占{fmt.pct(share)}" if share is not None else "")
        s = self.slide(title, f"{self.scope} · 按{fmt.date_cn(self.f.end)}在任计（楼长、巷长、街长）")
        facts = [("volunteers", v["total"]), ("building_heads", head["building_heads"]),
                 ("lane_street_heads", head["lane_street_heads"]), ("party_share", share),
                 ("compounds_with_heads", v["compounds_with_heads"]), ("heads_per_compound", v["heads_per_compound"])]
        self.fact_panel(s, facts, LEFT, CONTENT_TOP - 0.05, 3.2, row_h=0.87, prefix="team")
        x = LEFT + 3.6
        roles = ["楼长", "巷长", "街长"]
        if self.community:
            cov = v["coverage"].sort_values(["heads", "compound"], ascending=[False, True]).head(TOP_N)
            self.use("building_heads")
            self.chart(s, XL_CHART_TYPE.BAR_CLUSTERED, list(cov["compound"]),
                       [Series("在任楼长（名）", list(cov["heads"]), theme.ROLE_COLORS["楼长"])],
                       x, CONTENT_TOP, RIGHT - x, CONTENT_BOTTOM - CONTENT_TOP, name="chart:teams:compounds",
                       title="各小区在任楼长（名）", labels=True, gap_width=35, font_size=11)
            return
        by = v["by_community"]
        totals = by.groupby("community")["n"].sum().sort_values(ascending=False, kind="stable")
        order = sorted(totals.index, key=lambda c: (-totals[c], c))[:TOP_N]
        series = []
        for role in roles:
            part = by[by["role"] == role].set_index("community")["n"]
            series.append(Series(role, [int(part.get(c, 0)) for c in order], theme.ROLE_COLORS[role]))
        more = f"（前 {TOP_N} 个社区）" if len(totals) > TOP_N else ""
        self.chart(s, XL_CHART_TYPE.BAR_STACKED, order, series, x, CONTENT_TOP, RIGHT - x,
                   CONTENT_BOTTOM - CONTENT_TOP, name="chart:teams:communities", title=f"各社区在任三长（名）{more}",
                   gap_width=35, overlap=100, font_size=11)

    def organisations_slide(self) -> None:
        head = metrics.headline(self.cur, self.f).set_index("key")
        kinds = [k for k in metrics.ORG_METRIC if k != "楼道微信群"]
        values = [int(head.loc[metrics.ORG_METRIC[k], "value"]) for k in kinds]
        self.use(*(metrics.ORG_METRIC[k] for k in kinds), "wechat_groups", "organizations_active")
        total = sum(values)
        wechat = int(head.loc["wechat_groups", "value"])
        title = f"在册组织{total:,}个，另有楼道微信群{wechat:,}个"
        s = self.slide(title, self._period_note(f"各类组织按{fmt.date_cn(self.f.end)}在册（已成立未撤销）计；"
                                                "右图为区间内每年新成立"))
        labels = [metrics.METRICS[metrics.ORG_METRIC[k]].label for k in kinds]
        colors = [theme.ORG_COLORS[k] for k in kinds]
        half = 5.2
        self.chart(s, XL_CHART_TYPE.BAR_CLUSTERED, labels, [Series("在册组织（个）", values, BLUE, colors)],
                   LEFT, CONTENT_TOP, half, CONTENT_BOTTOM - CONTENT_TOP, name="chart:orgs:kinds",
                   title="各类组织（个）", labels=True, gap_width=45, font_size=12)
        flows = metrics.organization_flows(self.cur, self.f)
        flows = flows[flows["year"].between(self.f.year_from, self.f.end.year)]
        series = []
        for k in kinds:
            part = flows[flows["kind"] == k].set_index("year")["founded"]
            series.append(Series(metrics.METRICS[metrics.ORG_METRIC[k]].label,
                                 [int(part.get(y, 0)) for y in self.years], theme.ORG_COLORS[k], partial=self.partial))
        self.chart(s, XL_CHART_TYPE.COLUMN_STACKED, self.year_labels, series,
                   LEFT + half + 0.4, CONTENT_TOP, RIGHT - LEFT - half - 0.4, CONTENT_BOTTOM - CONTENT_TOP,
                   name="chart:orgs:founded", title="每年新成立（个）", gap_width=40, overlap=100, font_size=11)

    def milestones_slide(self) -> None:
        ms = metrics.milestones(self.cur, self.f.as_of)
        first = ms["happened_on"].iloc[0].year if len(ms) else self.f.year_from
        s = self.slide(f"大事记：{first}年以来的关键节点", "街道层面的工作节点（不随社区筛选变化）")
        rows = len(ms) + 1
        row_h = min(0.42, (CONTENT_BOTTOM - CONTENT_TOP) / max(rows, 1))
        shape = s.shapes.add_table(rows, 3, Inches(LEFT), Inches(CONTENT_TOP), Inches(RIGHT - LEFT),
                                   Inches(row_h * rows))
        shape.name = "table:milestones"
        table = shape.table
        for i, wdt in enumerate((1.9, 3.6, RIGHT - LEFT - 5.5)):
            table.columns[i].width = Inches(wdt)
        size = 12 if rows <= 13 else 10
        for j, head in enumerate(("时间", "事件", "说明")):
            self._cell(table.cell(0, j), head, size, bold=True, color="FFFFFF", fill=BLUE)
        for i, r in enumerate(ms.itertuples(index=False), start=1):
            when = r.happened_on
            shown = {"year": f"{when.year}年", "month": f"{when.year}年{when.month}月"}.get(r.precision,
                                                                                          fmt.date_cn(when))
            fill = "FFFFFF" if i % 2 else CARD
            self._cell(table.cell(i, 0), shown, size, fill=fill, color=MUTED)
            self._cell(table.cell(i, 1), r.title, size, bold=True, fill=fill)
            self._cell(table.cell(i, 2), r.detail or "", size, fill=fill, color=INK)
        for row in table.rows:
            row.height = Inches(row_h)

    # --- 考核 and 预警 (chuangshu.assessment) -------------------------------------------------------

    def grid(self, slide: Any, rows: list[list[str]], widths: Sequence[float], x: float, y: float, *,
             name: str, size: float = 10, row_h: float = 0.24, fills: list[list[str | None]] | None = None) -> Any:
        """A native table: the first row is the header; ``fills`` colours single cells (status)."""
        shape = slide.shapes.add_table(len(rows), len(widths), Inches(x), Inches(y), Inches(sum(widths)),
                                       Inches(row_h * len(rows)))
        shape.name = name
        table = shape.table
        for j, wdt in enumerate(widths):
            table.columns[j].width = Inches(wdt)
        for i, row in enumerate(rows):
            for j, text in enumerate(row):
                if i == 0:
                    self._cell(table.cell(i, j), text, size, bold=True, color="FFFFFF", fill=BLUE)
                else:
                    fill = (fills[i - 1][j] if fills else None) or ("FFFFFF" if i % 2 else CARD)
                    self._cell(table.cell(i, j), text, size, fill=fill, bold=j == 1 and i > 0)
            table.rows[i].height = Inches(row_h)
        return table

    def assessment_slide(self) -> None:
        """考核: the month's league table (rank, index, change, targets met) and the five biggest movers each way."""
        league = assessment.league_table(self.cur, self.f, "month", self.overlay, compare=self.compare)
        self.use("assessment_index", *league.metrics["metric"])
        t = league.table
        if not self.compare or self.community:
            self._own_assessment_slide(league)
            return
        ranked = t.dropna(subset=["rank"]).sort_values(["rank", "community"])
        up = league.movers[league.movers["direction"] == "up"]
        if len(ranked):
            title = f"{league.span.label}考核：{ranked['community'].iloc[0]}居首"
            if len(up):
                title += f"，{up['community'].iloc[0]}上升{int(up['change'].iloc[0])}名"
        else:
            title = f"{league.span.label}考核：本期没有可排名的社区"
        unranked = int((t["community"] != assessment.SUBDISTRICT).sum()) - len(ranked)
        s = self.slide(title, f"{self.scope} · 创熟指数 = 各指标得分（实际值 ÷ 目标，封顶）的加权平均 × 100；"
                              f"名次变化与{league.previous.label}比较；受理少于 {league.min_cases} 件的 {unranked} 个社区"
                              "样本不足，不排名；✓ 达标 △ 接近 × 未达标")
        keys = list(league.metrics["metric"])
        rows = [[str(int(r["rank"])), r["community"], fmt.metric_value(r["index"], "", "score"), r["change_label"],
                 f"{sum(r[f'{k}__status'] == 'met' for k in keys)} / {len(keys)}"] for _, r in ranked.iterrows()]
        head = ["排名", "社区", "创熟指数", "变化", "达标项"]
        widths = [0.55, 1.35, 0.9, 0.65, 0.75]
        per = 23
        halves = [rows[i:i + per] for i in range(0, min(len(rows), 2 * per), per)] or [[]]
        for i, part in enumerate(halves):
            self.grid(s, [head, *part], widths, LEFT + i * (sum(widths) + 0.25), CONTENT_TOP, name=f"table:league:{i}",
                      size=9, row_h=0.215)
        x = LEFT + 2 * (sum(widths) + 0.25) + 0.1
        w = RIGHT - x
        whole = t[t["community"] == assessment.SUBDISTRICT]
        if len(whole):
            r = whole.iloc[0]
            change = ("" if fmt.missing(r["index"]) or fmt.missing(r["prev_index"])
                      else f"比{league.previous.label} {float(r['index']) - float(r['prev_index']):+.1f} 分")
            self.text(s, x, CONTENT_TOP, w, 0.3, "全街道创熟指数", 12, color=MUTED, name="assess:index-label")
            self.text(s, x, CONTENT_TOP + 0.28, w, 0.5, fmt.metric_value(r["index"], "分", "score"), 24,
                      bold=True, name="assess:index")
            self.text(s, x, CONTENT_TOP + 0.78, w, 0.3, change, 11, color=MUTED, name="assess:index-change")
        for j, (direction, label) in enumerate((("up", "上升最多"), ("down", "下降最多"))):
            part = league.movers[league.movers["direction"] == direction]
            y = CONTENT_TOP + 1.2 + j * 2.0
            lines = [f"{r.community}　{r.change_label}（第 {int(r.rank)} 名）" for r in part.itertuples()] or ["（无）"]
            self.text(s, x, y, w, 0.3, f"{label}（与{league.previous.label}相比）", 12, bold=True, name=f"assess:{direction}-title")
            self.text(s, x, y + 0.32, w, 1.7, "\n".join(lines), 11, name=f"assess:{direction}", line_spacing=1.15)

    def assessment_grid_slides(self) -> None:
        """考核明细: the page's league table itself, one row per ranked community (the sub-district first) and one
        column per metric, each cell its value with ✓/△/× on the page's colours; 23 rows a slide."""
        league = assessment.league_table(self.cur, self.f, "month", self.overlay, compare=self.compare)
        if not self.compare or self.community:
            return  # one community: its own slide already lists every metric against its target
        t = league.table
        shown = t[(t["community"] == assessment.SUBDISTRICT) | t["rank"].notna()]
        keys = list(league.metrics["metric"])
        head = ["排名", "社区", "创熟指数", *[assessment.SHORT.get(k, metrics.METRICS[k].label) for k in keys]]
        rows, fills = [], []
        for _, r in shown.iterrows():
            rank = fmt.DASH if fmt.missing(r["rank"]) else str(int(r["rank"]))
            rows.append([rank, r["short_name"], fmt.metric_value(r["index"], "", "score"),
                         *[assessment.cell_text(k, r[k], r[f"{k}__status"]) for k in keys]])
            fills.append([None, None, None, *[STATUS_FILL.get(r[f"{k}__status"] or "") for k in keys]])
        per = 23
        parts = [(rows[i:i + per], fills[i:i + per]) for i in range(0, len(rows), per)] or [([], [])]
        width = (RIGHT - LEFT - 0.5 - 0.9 - 0.75) / max(len(keys), 1)
        unranked = int((t["community"] != assessment.SUBDISTRICT).sum() - t["rank"].notna().sum())
        for i, (part, fill) in enumerate(parts):
            more = f"（{i + 1}/{len(parts)}）" if len(parts) > 1 else ""
            s = self.slide(f"{league.span.label}考核明细{more}：逐项对照目标",
                           f"{self.scope} · 同「考核」页：✓ 达标 △ 接近（达到目标的 {league.amber:.0%} 以上）× 未达标 · 未评；"
                           f"按排名，样本不足、不排名的 {unranked} 个社区未列出")
            self.grid(s, [head, *part], [0.5, 0.9, 0.75, *[width] * len(keys)], LEFT, CONTENT_TOP,
                      name=f"table:league-grid:{i}", size=8, row_h=0.215, fills=fill)

    def _own_assessment_slide(self, league: assessment.League) -> None:
        """One community's 考核 slide: its figures against their targets; its rank for the office's deck."""
        mine = league.table[league.table["community"] != assessment.SUBDISTRICT]
        community = mine["community"].iloc[0] if len(mine) else self.scope
        cells = league.cells[league.cells["community"] == community].merge(league.metrics[["metric", "label"]],
                                                                           on="metric")
        met = int((cells["status"] == "met").sum())
        title = f"{league.span.label}考核：{community}达标 {met} / {len(cells)} 项"
        if self.compare and len(mine):
            r = mine.iloc[0]
            rank = (f"第 {int(r['rank'])} / {league.ranked_of} 名（{r['change_label']}），创熟指数 "
                    f"{fmt.metric_value(r['index'], '分', 'score')}" if not fmt.missing(r["rank"]) else r["why"])
            note = f"{community} · {rank} · 名次在全部社区之间计算，与{league.previous.label}比较"
        else:
            note = f"{community} · 各指标与目标的对照（排名与创熟指数仅街道办账号的汇报包含）"
        s = self.slide(title, note + "；✓ 达标 △ 接近 × 未达标")
        rows = [["指标", "本期", "目标", "状态"]]
        fills = []
        for c in cells.itertuples(index=False):
            m = metrics.METRICS[c.metric]
            rows.append([c.label, fmt.metric_value(c.value, m.unit, m.kind), assessment.target_text(c.metric, c.target),
                         assessment.status_text(c.status)])
            fills.append([None, None, None, STATUS_FILL.get(c.status or "")])
        self.grid(s, rows, [3.2, 2.0, 2.6, 1.6], LEFT, CONTENT_TOP, name="table:own", size=12, row_h=0.4, fills=fills)

    def alerts_slide(self) -> None:
        """预警: how many warnings fire at the as-of date, by rule, and the most urgent ones."""
        found = assessment.alerts(self.cur, self.f, self.overlay, compare=self.compare)
        self.use("alerts")
        by_rule = found.groupby("title", sort=False).size() if len(found) else pd.Series(dtype="int64")
        title = (f"预警：{len(found):,} 条，其中{by_rule.index[0]} {int(by_rule.iloc[0])} 条" if len(found)
                 else "预警：统计截至日没有触发预警")
        s = self.slide(title, f"{self.scope} · 截至{fmt.date_cn(self.f.as_of)} · "
                              + ("；".join(f"{k} {v} 条" for k, v in by_rule.items()) or "各项预警规则均未触发")
                              + " · 规则与阈值见「考核」页的考核口径")
        if found.empty:
            return
        top = found.groupby("title", sort=False).head(4).head(18)
        rows = [["规则", "对象", "阈值", "数值"]] + [[r.title, r.where, r.threshold, r.value] for r in top.itertuples()]
        self.grid(s, rows, [1.3, 2.6, 2.4, RIGHT - LEFT - 6.3], LEFT, CONTENT_TOP, name="table:alerts", size=10,
                  row_h=0.27)

    def _cell(self, cell: Any, text: str, size: float, *, bold: bool = False, color: str = INK,
              fill: str = "FFFFFF") -> None:
        cell.fill.solid()
        cell.fill.fore_color.rgb = _rgb(fill)
        cell.margin_left = cell.margin_right = Inches(0.1)
        cell.margin_top = cell.margin_bottom = Inches(0.03)
        cell.vertical_anchor = MSO_ANCHOR.MIDDLE
        tf = cell.text_frame
        tf.text = ""
        tf.word_wrap = True
        self.run(tf.paragraphs[0], text, size, bold=bold, color=color)

    def definitions_slides(self) -> None:
        """Closing slides: the 口径 of every metric the deck used, in the order they appeared."""
        items = [metrics.METRICS[k] for k in self.used]
        per_line = 68  # CJK characters per line at 12 pt over the content width
        pages: list[list[metrics.Metric]] = [[]]
        lines = 0
        for m in items:
            n = math.ceil((len(m.label) + len(m.unit) + len(m.definition) + 4) / per_line)
            if lines + n > 19 and pages[-1]:
                pages.append([])
                lines = 0
            pages[-1].append(m)
            lines += n
        for i, page in enumerate(pages, start=1):
            suffix = f"（{i}/{len(pages)}）" if len(pages) > 1 else ""
            s = self.slide(f"指标口径{suffix}", f"本材料所用 {len(items)} 项指标的定义；" + SOURCE)
            tf = self.box(s, LEFT, CONTENT_TOP - 0.05, RIGHT - LEFT, CONTENT_BOTTOM - CONTENT_TOP + 0.1,
                          name="definitions")
            for j, m in enumerate(page):
                p = self.para(tf, first=j == 0, space_after=5, line_spacing=1.1)
                self.run(p, f"{m.label}（{m.unit}）", 12, bold=True)
                self.run(p, f"：{m.definition}", 12, color=INK)

    def closing_slide(self) -> None:
        """The last slide: a QR code for the phones in the room (the briefing or the phone view), or how
        to get one when no public address is set (chuangshu/sharing.py)."""
        address, what = self.qr
        if address is None:
            s = self.slide("扫码阅读", "会后可在手机上查看本材料的数字")
            self.text(s, LEFT, CONTENT_TOP + 0.4, RIGHT - LEFT, 1.6, sharing.MISSING_URL_NOTE, 16, color=MUTED,
                      name="qr-missing")
            return
        s = self.slide(f"扫码查看{what}", "用手机扫码打开；与本材料同一口径，数据每次载入后自动更新")
        side = 4.2
        top = CONTENT_TOP + (CONTENT_BOTTOM - CONTENT_TOP - side) / 2
        picture = s.shapes.add_picture(io.BytesIO(sharing.qr_png(address)), Inches(LEFT + 0.4), Inches(top),
                                       Inches(side), Inches(side))
        picture.name = "qr-code"
        x = LEFT + side + 1.2
        self.text(s, x, top + 0.5, RIGHT - x, 0.7, f"用手机扫码，查看{what}", 28, bold=True, name="qr-title")
        self.text(s, x, top + 1.4, RIGHT - x, 0.9, address, 16, color=BLUE, name="qr-address")
        self.text(s, x, top + 2.35, RIGHT - x, 1.2,
                  f"数据截至{fmt.date_cn(self.f.as_of)}" + ("；示例数据，仅用于演示" if self.sample else ""), 14,
                  color=MUTED, name="qr-note")

    def _period_note(self, extra: str) -> str:
        note = f"{self.scope} · {self.f.years_text()}"
        if self.partial is not None:
            note += f"（{self.f.end.year}年数据截至{self.f.end.month}月{self.f.end.day}日，图中斜线浅色，不宜与整年直接比较）"
        return f"{note} · {extra}"

    def build(self) -> bytes:
        self.title_slide()
        self.kpi_slide()
        by_year = metrics.cases_by_year(self.cur, self.f)
        table = metrics.category_table(self.cur, self.f)
        cats = list(table["category"])
        self.trend_overview_slide(by_year, cats)
        for row in table.to_dict("records"):
            self.category_slide(row, by_year)
        self.ranking_slide()
        self.assessment_slide()
        self.assessment_grid_slides()
        self.alerts_slide()
        self.teams_slide()
        self.organisations_slide()
        self.milestones_slide()
        self.definitions_slides()
        self.closing_slide()  # keep last: the QR code for the room
        self.footers()
        out = io.BytesIO()
        self.prs.save(out)
        return out.getvalue()



def build(cur: duckdb.DuckDBPyConnection, f: Filters, *, font: str = FONT_NOTO,
          generated_on: date | None = None, overlay: Overlay = NO_OVERLAY, compare: bool | None = None,
          qr: tuple[str | None, str] | None = None) -> bytes:
    """The deck for ``f`` (a one-community deck when f names exactly one community) as .pptx bytes.

    ``overlay``: the administrators' target edits (chuangshu.targets.load()); on a community account's
    data (``compare=False``, found out from the database when None) the 考核 slide shows its own figures
    against their targets, without ranks. ``qr`` is the last slide's QR code target, (address, what it
    is), from :func:`chuangshu.sharing.target`; without an address the slide says how to set one."""
    if font not in FONTS:
        raise ValueError(f"font must be one of {FONTS}")
    return _Deck(cur, f, font=font, generated_on=generated_on or date.today(), overlay=overlay,
                 compare=compare, qr=qr or (None, "简报")).build()


def file_stem(f: Filters) -> str:
    """A file name (without extension) that says scope, period and as-of: 创熟汇报_桂南社区_2011-2022_截至2022-06-30."""
    scope = f.communities[0] if len(f.communities) == 1 else ("多社区" if f.communities else "全街道")
    return f"创熟汇报_{scope}_{f.year_from}-{f.year_to}_截至{f.as_of.isoformat()}"


def slide_texts(data: bytes) -> list[str]:
    """All text of each slide (shapes, tables; not chart data), for checks and search."""
    prs = Presentation(io.BytesIO(data))
    out = []
    for s in prs.slides:
        parts = []
        for shape in s.shapes:
            if shape.has_text_frame and shape.text_frame.text:
                parts.append(shape.text_frame.text)
            if getattr(shape, "has_table", False) and shape.has_table:
                parts.extend(c.text_frame.text for row in shape.table.rows for c in row.cells)
        out.append("\n".join(parts))
    return out

