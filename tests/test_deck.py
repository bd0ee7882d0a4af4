"""The slide deck: native charts equal to the metric layer, one-community scope, fonts, footers, the PDF.

Decks are opened again with python-pptx and every chart's categories and series are
compared with the metric layer for the same Filters. The PDF (LibreOffice) is checked with
poppler's pdfinfo / pdftotext / pdffonts, and a few pages are rendered into tests/artifacts/
for a look.
"""
from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from pptx import Presentation
from pptx.enum.shapes import MSO_SHAPE_TYPE
from pptx.oxml.ns import qn
from pptx.util import Inches

from chuangshu import deck, fmt, metrics, pdf
from chuangshu.filters import Filters

ARTIFACTS = Path(__file__).parent / "artifacts"
COMMUNITY = "桂南社区"
DAY = date(2026, 1, 15)


@pytest.fixture(scope="module")
def all_deck(cur) -> bytes:
    return deck.build(cur, Filters(), generated_on=DAY)


@pytest.fixture(scope="module")
def one_deck(cur) -> bytes:
    return deck.build(cur, Filters().only(COMMUNITY), generated_on=DAY)


@pytest.fixture(scope="module")
def communities(cur) -> list[str]:
    return [r[0] for r in cur.execute("SELECT community FROM communities").fetchall()]


def open_deck(data: bytes):
    return Presentation(io.BytesIO(data))


def charts(prs) -> dict[str, object]:
    """Every chart in the deck by its frame name (names are unique per deck)."""
    out = {}
    for slide in prs.slides:
        for shape in slide.shapes:
            if shape.has_chart:
                assert shape.name not in out, shape.name
                out[shape.name] = shape.chart
    return out


def series_of(chart) -> dict[str, list[float | None]]:
    return {s.name: list(s.values) for s in chart.plots[0].series}


def categories_of(chart) -> list[str]:
    return [str(c) for c in chart.plots[0].categories]


def by_name(prs, name: str):
    return [shape for slide in prs.slides for shape in slide.shapes if shape.name == name]


def years(f: Filters) -> list[int]:
    return list(range(f.year_from, f.end.year + 1))


def year_labels(f: Filters) -> list[str]:
    """The period labels the deck's year axes must show (these tests use month-end as-of dates)."""
    out = [f"{y}年" for y in years(f)]
    if f.end != date(f.end.year, 12, 31):
        out[-1] = f"{f.end.year}年（1—{f.end.month}月）" if f.end.month > 1 else f"{f.end.year}年（1月）"
    return out


def expected_charts(cur, f: Filters) -> dict[str, tuple[list[str], dict[str, list[float]]]]:
    """What each chart must show, computed from the metric layer independently of the deck builder."""
    ys = years(f)
    out: dict[str, tuple[list[str], dict[str, list[float]]]] = {}
    head = metrics.headline(cur, f).set_index("key")
    for key in [k for k in metrics.HEADLINE if k in head.index]:  # a category filter drops other case cards
        spark = head.loc[key, "spark"]
        out[f"spark:{key}"] = ([str(i) for i in range(len(spark))], {"趋势": [float(v) for v in spark]})
    by_year = metrics.cases_by_year(cur, f)
    table = metrics.category_table(cur, f)
    out["chart:trend:all"] = (year_labels(f), {
        label: [float(by_year[(by_year["category"] == c) & (by_year["year"] == y)]["received"].sum()) for y in ys]
        for c, label in zip(table["category"], table["label"])})
    for c in table["category"]:
        part = by_year[by_year["category"] == c]
        out[f"chart:trend:{c}"] = (year_labels(f), {
            "受理": [float(part[part["year"] == y]["received"].sum()) for y in ys],
            "其中已办结": [float(part[part["year"] == y]["resolved"].sum()) for y in ys]})
    summary = metrics.volunteer_summary(cur, f)
    if len(f.communities) == 1:
        compounds = metrics.compound_cases(cur, f, f.communities[0]).head(deck.TOP_N)
        out["chart:ranking:compounds"] = (list(compounds["compound"]), {
            "受理事项": [float(v) for v in compounds["received"]],
            "在办事项": [float(v) for v in compounds["open_backlog"]]})
        cov = summary["coverage"].sort_values(["heads", "compound"], ascending=[False, True]).head(deck.TOP_N)
        out["chart:teams:compounds"] = (list(cov["compound"]), {"在任楼长（名）": [float(v) for v in cov["heads"]]})
    else:
        ranking = metrics.community_ranking(cur, f)
        top = ranking.head(deck.TOP_N)
        out["chart:ranking:received"] = (list(top["community"]),
                                         {"受理事项（件）": [float(v) for v in top["received"]]})
        per = ranking.dropna(subset=["received_per_1000"]).sort_values(
            ["received_per_1000", "community"], ascending=[False, True]).head(deck.TOP_N)
        out["chart:ranking:per_1000"] = (list(per["community"]),
                                         {"每千户受理事项（件/千户）": [float(v) for v in per["received_per_1000"]]})
        by = summary["by_community"]
        wide = by.pivot_table(index="community", columns="role", values="n", aggfunc="sum", fill_value=0)
        wide = wide.assign(total=wide.sum(axis=1)).reset_index().sort_values(
            ["total", "community"], ascending=[False, True]).head(deck.TOP_N)
        out["chart:teams:communities"] = (list(wide["community"]), {
            role: [float(v) for v in (wide[role] if role in wide else [0] * len(wide))] for role in ("楼长", "巷长", "街长")})
    kinds = [k for k in metrics.ORG_METRIC if k != "楼道微信群"]
    out["chart:orgs:kinds"] = ([metrics.METRICS[metrics.ORG_METRIC[k]].label for k in kinds],
                               {"在册组织（个）": [float(head.loc[metrics.ORG_METRIC[k], "value"]) for k in kinds]})
    flows = metrics.organization_flows(cur, f)
    out["chart:orgs:founded"] = (year_labels(f), {
        metrics.METRICS[metrics.ORG_METRIC[k]].label:
            [float(flows[(flows["kind"] == k) & (flows["year"] == y)]["founded"].sum()) for y in ys] for k in kinds})
    return out


TWO = Filters(communities=(COMMUNITY, "江滨社区"), year_from=2015)


@pytest.mark.parametrize("scope", ["all", "one", "two"])
def test_every_chart_is_native_and_equals_the_metric_layer(cur, all_deck, one_deck, scope) -> None:
    f = {"all": Filters(), "one": Filters().only(COMMUNITY), "two": TWO}[scope]
    prs = open_deck({"all": all_deck, "one": one_deck}.get(scope) or deck.build(cur, TWO, generated_on=DAY))
    found = charts(prs)
    expected = expected_charts(cur, f)
    assert set(found) == set(expected), "every chart in the deck is checked here, and only those"
    for name, (cats, series) in expected.items():
        chart = found[name]
        assert categories_of(chart) == cats, name
        assert series_of(chart) == series, name
    pictures = [s for slide in prs.slides for s in slide.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]
    assert not pictures, "charts are native PowerPoint charts, not pictures"
    # the data behind each chart travels inside the file (editable in PowerPoint / WPS)
    assert all(chart.part.chart_workbook.xlsx_part is not None for chart in found.values())


@pytest.mark.parametrize("scope", ["all", "one"])
def test_kpi_values_equal_headline_for_the_same_scope(cur, all_deck, one_deck, scope) -> None:
    f = Filters() if scope == "all" else Filters().only(COMMUNITY)
    prs = open_deck(all_deck if scope == "all" else one_deck)
    head = metrics.headline(cur, f).set_index("key")
    for key in metrics.HEADLINE:
        m = metrics.METRICS[key]
        (shape,) = by_name(prs, f"kpi-value:{key}")
        text = shape.text_frame.text
        assert text == fmt.metric_value(head.loc[key, "value"], m.unit, m.kind), key
        assert int(text.split(" ")[0].replace(",", "")) == head.loc[key, "value"]


def test_one_community_deck_holds_only_that_community(cur, one_deck, communities) -> None:
    prs = open_deck(one_deck)
    others = [c for c in communities if c != COMMUNITY]
    texts = deck.slide_texts(one_deck)
    assert COMMUNITY in texts[0]
    for i, slide in enumerate(prs.slides):
        if "大事记" in texts[i]:
            continue  # sub-district milestones name the pilot communities; labelled as such on the slide
        chart_text = " ".join(" ".join(categories_of(s.chart)) + " ".join(series_of(s.chart))
                              for s in slide.shapes if s.has_chart)
        for other in others:
            assert other not in texts[i] and other not in chart_text, (i + 1, other)
    ranking = charts(prs)["chart:ranking:compounds"]
    compounds = set(metrics.compound_cases(cur, Filters(), COMMUNITY)["compound"])
    assert set(categories_of(ranking)) <= compounds
    # the one-community numbers are not the sub-district's
    whole = metrics.headline(cur, Filters()).set_index("key")
    (vol,) = by_name(prs, "kpi-value:volunteers")
    assert vol.text_frame.text != fmt.metric_value(whole.loc["volunteers", "value"], "名")


@pytest.mark.parametrize("scope", ["all", "one"])
def test_every_slide_has_footer_with_source_as_of_and_filters_and_sample_mark(all_deck, one_deck, scope) -> None:
    f = Filters() if scope == "all" else Filters().only(COMMUNITY)
    prs = open_deck(all_deck if scope == "all" else one_deck)
    total = len(prs.slides)
    for n, slide in enumerate(prs.slides, start=1):
        names = {s.name: s for s in slide.shapes}
        footer = names["footer"].text_frame.text
        assert deck.SOURCE in footer and f.describe() in footer and "截至2022年6月30日" in footer
        assert "示例数据" in footer
        assert names["page-number"].text_frame.text == f"{n} / {total}"
        assert names["sample-mark"].text_frame.text == "示例数据"
    assert f.describe() == ("截至2022年6月30日；2011—2022年；" + (COMMUNITY if scope == "one" else "全部社区"))


def test_real_data_has_no_sample_mark(cur, sample_db, tmp_path) -> None:
    copy = tmp_path / "real.duckdb"
    shutil.copy(sample_db, copy)
    con = duckdb.connect(str(copy))
    con.execute("UPDATE meta SET value = 'production' WHERE key = 'dataset'")
    con.close()
    con = duckdb.connect(str(copy), read_only=True)
    try:
        data = deck.build(con.cursor(), Filters().only(COMMUNITY), generated_on=DAY)
    finally:
        con.close()
    assert not by_name(open_deck(data), "sample-mark")
    assert not any("示例数据" in t for t in deck.slide_texts(data))


def test_slide_structure_16_9_and_definitions(cur, all_deck) -> None:
    prs = open_deck(all_deck)
    assert (prs.slide_width, prs.slide_height) == (deck.WIDTH, deck.HEIGHT)
    assert abs(prs.slide_width / prs.slide_height - 16 / 9) < 0.001
    titles = [by_name_in(slide, "title") for slide in prs.slides]
    n_cats = len(metrics.category_table(cur, Filters()))
    assert titles[0] == "桂城街道“创熟”工作汇报"
    assert titles[1].startswith("数读")
    assert titles[2].startswith("各类事项逐年受理")
    assert titles[3 + n_cats].startswith("受理事项最多")
    assert titles[4 + n_cats].startswith("2022年6月考核：")
    assert titles[5 + n_cats].startswith("2022年6月考核明细")
    assert titles[6 + n_cats].startswith("预警：")
    assert titles[7 + n_cats].startswith("在任三长")
    assert titles[8 + n_cats].startswith("在册组织")
    assert titles[9 + n_cats].startswith("大事记")
    assert all(t.startswith("指标口径") for t in titles[10 + n_cats:-1])
    assert titles[-1] == "扫码阅读"  # the last slide: the room's QR code, here the note that no address is set
    # every metric the deck shows has its 口径 on the closing slides
    definitions = "\n".join(by_name_in(s, "definitions") for s in list(prs.slides)[10 + n_cats:-1])
    for key in (*metrics.HEADLINE, *metrics.SCOPE, "received", "resolved", "resolution_rate", "median_days",
                "open_backlog", "received_per_1000", "party_share", "heads_per_compound", "organizations_active",
                "assessment_index", "head_coverage", "ledger_on_time_rate", "alerts"):
        m = metrics.METRICS[key]
        assert f"{m.label}（{m.unit}）：{m.definition}" in definitions, key


@pytest.mark.parametrize(("address", "what"), [("http://192.168.1.20:8501/briefing?code=k7m2p9q4", "简报"),
                                               ("http://192.168.1.20:8501/m", "手机版看板")])
def test_the_last_slide_carries_the_rooms_qr_code(cur, address: str, what: str) -> None:
    from PIL import Image

    from chuangshu import sharing

    prs = open_deck(deck.build(cur, Filters(), generated_on=DAY, qr=(address, what)))
    last = list(prs.slides)[-1]
    assert by_name_in(last, "title") == f"扫码查看{what}"
    assert by_name_in(last, "qr-address") == address
    (picture,) = [s for s in last.shapes if s.name == "qr-code"]
    assert picture.image.blob == sharing.qr_png(address)  # the code of exactly this address
    image = Image.open(io.BytesIO(picture.image.blob))
    assert image.width == image.height and picture.width == picture.height  # square, not stretched
    assert picture.width >= Inches(4)  # big enough to scan from the room
    assert "footer" in {s.name for s in last.shapes}


def test_without_a_public_address_the_last_slide_says_how_to_set_one(all_deck) -> None:
    last = list(open_deck(all_deck).slides)[-1]
    assert not [s for s in last.shapes if s.shape_type == MSO_SHAPE_TYPE.PICTURE]  # no picture
    assert "CHUANGSHU_PUBLIC_URL" in by_name_in(last, "qr-missing") and "现场扫码设置" in by_name_in(last, "qr-missing")


def by_name_in(slide, name: str) -> str:
    return next(s.text_frame.text for s in slide.shapes if s.name == name)


@pytest.mark.parametrize("font", deck.FONTS)
def test_every_run_and_chart_carries_the_east_asian_font(cur, font) -> None:
    data = deck.build(cur, Filters().only(COMMUNITY), font=font, generated_on=DAY)
    prs = open_deck(data)
    runs = 0
    for slide in prs.slides:
        for rpr in slide._element.iter(qn("a:rPr")):
            runs += 1
            ea = rpr.find(qn("a:ea"))
            assert ea is not None and ea.get("typeface") == font
            assert rpr.find(qn("a:latin")).get("typeface") == font
            assert rpr.get("lang") == "zh-CN"
        for shape in slide.shapes:
            if shape.has_chart:
                space = shape.chart._chartSpace
                props = [*space.iter(qn("a:defRPr")), *space.iter(qn("a:rPr"))]
                assert props and all(p.find(qn("a:ea")).get("typeface") == font for p in props)
    assert runs > 300
    theme_xml = prs.slide_masters[0].part.part_related_by(
        "http://schemas.openxmlformats.org/officeDocument/2006/relationships/theme").blob.decode("utf-8")
    assert f'<a:ea typeface="{font}"/>' in theme_xml and 'script="Hans" typeface="微软雅黑"' in theme_xml


def test_categories_and_years_follow_the_filters(cur) -> None:
    f = Filters(year_from=2018, year_to=2020, categories=("邻里矛盾", "停车"))
    data = deck.build(cur, f, generated_on=DAY)
    prs = open_deck(data)
    found = charts(prs)
    assert {n for n in found if n.startswith("chart:trend:")} == {"chart:trend:all", "chart:trend:邻里矛盾",
                                                                   "chart:trend:停车"}
    assert categories_of(found["chart:trend:all"]) == ["2018年", "2019年", "2020年"]
    expected = expected_charts(cur, f)
    for name in found:
        assert series_of(found[name]) == expected[name][1], name
    footer = by_name(prs, "footer")[0].text_frame.text
    assert "2018—2020年" in footer and "邻里矛盾、停车" in footer and f.describe() in footer


def test_missing_values_become_blanks_not_errors(cur) -> None:
    assert deck._num(pd.NA) is None and deck._num(float("nan")) is None and deck._num(None) is None
    assert deck._num(pd.array([3], dtype="Int64")[0]) == 3.0
    # 2011: no cases yet, so medians and rates are missing (pd.NA / NaN) all through the deck
    f = Filters(as_of=date(2011, 12, 31), year_from=2011, year_to=2011)
    data = deck.build(cur, f, generated_on=DAY)
    prs = open_deck(data)
    texts = "\n".join(deck.slide_texts(data))
    assert "本期没有受理此类事项" in texts and fmt.DASH in texts
    assert charts(prs)["chart:trend:all"].plots[0].categories[0] == "2011年"


# --- the PDF -----------------------------------------------------------------------------------

needs_pdf = pytest.mark.skipif(not pdf.available() or shutil.which("pdftotext") is None,
                               reason="LibreOffice or poppler-utils not installed (make sysdeps)")


@pytest.fixture(scope="module")
def one_pdf(one_deck) -> bytes:
    return pdf.pptx_to_pdf(one_deck)


def _poppler(tool: str, data: bytes, tmp_path: Path, *args: str) -> str:
    path = tmp_path / "deck.pdf"
    path.write_bytes(data)
    return subprocess.run([tool, *args, str(path), *(["-"] if tool == "pdftotext" else [])],
                          capture_output=True, check=True).stdout.decode("utf-8")


@needs_pdf
@pytest.mark.slow
def test_pdf_has_one_page_per_slide_and_chinese_text(one_deck, one_pdf, tmp_path) -> None:
    assert one_pdf.startswith(b"%PDF")
    pages = int(re.search(r"Pages:\s+(\d+)", _poppler("pdfinfo", one_pdf, tmp_path)).group(1))
    assert pages == len(open_deck(one_deck).slides)
    text = _poppler("pdftotext", one_pdf, tmp_path, "-layout")
    squashed = re.sub(r"\s+", "", text)
    for expected in (f"{COMMUNITY}“创熟”工作汇报", "数读", "示例数据", "指标口径", "来源：各社区上报台账",
                     "截至2022年6月30日；2011—2022年；" + COMMUNITY, "三长志愿者", "大事记"):
        assert expected in squashed, expected
    fonts = _poppler("pdffonts", one_pdf, tmp_path)
    assert "NotoSansCJK" in fonts, fonts  # the CJK font is embedded, not substituted
    # artifacts for a look: the PDF and a few pages as PNG
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "deck-桂南社区.pdf").write_bytes(one_pdf)
    (ARTIFACTS / "deck-桂南社区.pptx").write_bytes(one_deck)
    if shutil.which("pdftoppm"):
        subprocess.run(["pdftoppm", "-r", "60", "-png", "-f", "1", "-l", "4", str(tmp_path / "deck.pdf"),
                        str(ARTIFACTS / "deck-page")], check=True)


@needs_pdf
@pytest.mark.slow
def test_pdf_of_the_whole_sub_district(all_deck, tmp_path) -> None:
    data = pdf.pptx_to_pdf(all_deck)
    pages = int(re.search(r"Pages:\s+(\d+)", _poppler("pdfinfo", data, tmp_path)).group(1))
    assert pages == len(open_deck(all_deck).slides)
    squashed = re.sub(r"\s+", "", _poppler("pdftotext", data, tmp_path))
    assert "桂城街道“创熟”工作汇报" in squashed and "受理事项最多" in squashed


def test_missing_libreoffice_gives_a_chinese_message(monkeypatch) -> None:
    monkeypatch.setattr(pdf, "soffice_path", lambda: None)
    assert not pdf.available()
    with pytest.raises(pdf.PdfUnavailable, match="未找到 LibreOffice.*libreoffice-impress-nogui"):
        pdf.pptx_to_pdf(b"not used")


def test_broken_deck_gives_a_conversion_error(tmp_path) -> None:
    if not pdf.available():
        pytest.skip("LibreOffice not installed")
    with pytest.raises(pdf.PdfConversionError, match="LibreOffice 未能生成 PDF"):
        pdf.pptx_to_pdf(b"this is not a presentation")


def test_assessment_and_warning_slides_equal_the_metric_layer(cur, all_deck, one_deck) -> None:
    from chuangshu import assessment

    league = assessment.league_table(cur, Filters(), "month")
    ranked = league.table.dropna(subset=["rank"]).sort_values(["rank", "community"])
    prs = open_deck(all_deck)
    rows = []
    for name in ("table:league:0", "table:league:1"):
        for shape in by_name(prs, name):
            rows += [[c.text_frame.text for c in row.cells] for row in list(shape.table.rows)[1:]]
    assert [r[1] for r in rows] == list(ranked["community"])
    assert [r[0] for r in rows] == [str(int(x)) for x in ranked["rank"]]
    assert [r[2] for r in rows] == [fmt.metric_value(x, "", "score") for x in ranked["index"]]
    assert [r[3] for r in rows] == list(ranked["change_label"])
    for direction in ("up", "down"):  # the five biggest movers each way, beside the table
        movers = league.movers[league.movers["direction"] == direction]
        assert len(movers) == 5
        (box,) = by_name(prs, f"assess:{direction}")
        assert box.text_frame.text.split("\n") == [f"{m.community}　{m.change_label}（第 {int(m.rank)} 名）"
                                                   for m in movers.itertuples()]
    # 考核明细: the page's table, cell for cell (value and symbol as on the page, the page's colours)
    shown = league.table[(league.table["community"] == assessment.SUBDISTRICT) | league.table["rank"].notna()]
    keys = list(league.metrics["metric"])
    grid = [row for shape in by_name(prs, "table:league-grid:0") for row in list(shape.table.rows)[1:]]
    assert [r.cells[1].text_frame.text for r in grid] == list(shown["short_name"])
    for row, (_, want) in zip(grid, shown.iterrows()):
        for j, k in enumerate(keys, start=3):
            cell = row.cells[j]
            assert cell.text_frame.text == assessment.cell_text(k, want[k], want[f"{k}__status"]), (want["community"], k)
            if want[f"{k}__status"] in assessment.BACKGROUND:
                assert str(cell.fill.fore_color.rgb) == assessment.BACKGROUND[want[f"{k}__status"]].lstrip("#")
    found = assessment.alerts(cur, Filters())
    (table,) = by_name(prs, "table:alerts")
    first = [c.text_frame.text for c in list(table.table.rows)[1].cells]
    assert first == [found["title"].iloc[0], found["where"].iloc[0], found["threshold"].iloc[0], found["value"].iloc[0]]
    texts = deck.slide_texts(one_deck)
    own = next(t for t in texts if "2022年6月考核：" in t)
    assert COMMUNITY in own and "名次在全部社区之间计算" in own
