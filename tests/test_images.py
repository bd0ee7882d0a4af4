"""Chart images (PNG / SVG through kaleido and Debian's chromium) with Chinese that really renders.

How "no glyph fell back to a box" is proven, and why each check can fail:

1. Pixels. A title is rendered twice with two *different* Chinese strings of the same
   length, and once with the same number of unassigned code points (U+E000, which no
   font has, so chromium draws its .notdef box). If the CJK font is missing, every
   Chinese character also becomes that same box (or nothing), so the three title strips
   come out identical. The test asserts the two Chinese strips differ from each other and
   from the box strip. ``test_the_pixel_check_fails_without_a_cjk_font`` runs the same
   check in a child process whose fontconfig sees only DejaVu (no CJK) and asserts that
   there it does detect boxes: the check is shown to fail when it should.
2. Coverage. fontconfig is asked whether "Noto Sans CJK SC" (the first font of the
   theme's family list) has a glyph for every character the dashboard, slides and big
   screen put into chart titles, labels, legends and definitions. A character outside
   the font (a rare name, an emoji in a title) fails the test and is named.
3. SVG. The SVG keeps titles and labels as <text> in the theme's font family (not
   outlines), so the exported file stays searchable and editable.
"""
from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import textwrap
import unicodedata
from pathlib import Path
from xml.etree import ElementTree

import duckdb
import numpy as np
import plotly.graph_objects as go
import pytest
from PIL import Image

from chuangshu import charts, deck, images, metrics, theme
from chuangshu.filters import Filters

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = Path(__file__).parent / "artifacts"
ZH_A, ZH_B, BOXES = "邻里矛盾调处情况", "加装电梯协调进度", "\ue000" * 8

pytestmark = pytest.mark.skipif(images.browser_path() is None, reason="chromium not installed (make sysdeps)")

TITLE_STRIPS = textwrap.dedent("""
    import io, json, sys
    import numpy as np
    import plotly.graph_objects as go
    from PIL import Image
    from chuangshu import images

    def strip(title):
        fig = go.Figure(go.Bar(x=["一", "二"], y=[1, 2]))
        fig.update_layout(title_text=title, width=800, height=360)
        png = images.to_png(fig, scale=1)
        return np.asarray(Image.open(io.BytesIO(png)).convert("L").crop((0, 0, 800, 56)), dtype=int)

    a, b, box = (strip(t) for t in json.loads(sys.argv[1]))
    differs = lambda x, y: int((np.abs(x - y) > 60).sum())
    ink = lambda x: int((x < 128).sum())
    print(json.dumps({"a_b": differs(a, b), "a_box": differs(a, box), "ink_a": ink(a), "ink_b": ink(b)}))
""")


def title_strips(env: dict[str, str] | None = None) -> dict[str, int]:
    """Render the three titles in a fresh process (its own chromium, its own fontconfig)."""
    proc = subprocess.run([sys.executable, "-c", TITLE_STRIPS, json.dumps([ZH_A, ZH_B, BOXES])],
                          capture_output=True, text=True, cwd=ROOT, timeout=180,
                          env={**os.environ, "PYTHONPATH": str(ROOT), **(env or {})})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return json.loads(proc.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_png_titles_render_cjk_glyphs_not_boxes() -> None:
    r = title_strips()
    assert r["ink_a"] > 300 and r["ink_b"] > 300, r  # something was drawn
    assert r["a_b"] > 300, f"two different Chinese titles rendered the same: glyphs fell back to boxes {r}"
    assert r["a_box"] > 300, f"the Chinese title looks like the .notdef boxes {r}"


@pytest.mark.slow
def test_the_pixel_check_fails_without_a_cjk_font(tmp_path: Path) -> None:
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.exists():
        pytest.skip("fonts-dejavu not installed: no CJK-free font to test the check against")
    conf = tmp_path / "fonts.conf"
    conf.write_text(f"""<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>{dejavu}</dir><cachedir>{tmp_path / 'cache'}</cachedir></fontconfig>""")
    r = title_strips({"FONTCONFIG_FILE": str(conf)})
    assert r["a_b"] == 0 and r["a_box"] == 0, f"without a CJK font the check must see only boxes: {r}"


def chart_texts(cur: duckdb.DuckDBPyConnection) -> str:
    """Every string the charts, slides and big screen show (titles, labels, legends, 口径)."""
    f = Filters()
    parts = [m.label + m.unit + m.definition for m in metrics.METRICS.values()]
    parts += [*theme.CATEGORY_COLORS, *theme.ROLE_COLORS, *theme.ORG_COLORS, *theme.ACTIVITY_COLORS]
    ms = metrics.milestones(cur)
    parts += list(ms["title"]) + list(ms["detail"].fillna(""))
    ranking = metrics.community_ranking(cur, f)
    parts += list(ranking["community"]) + list(ranking["short_name"])
    parts += list(metrics.category_table(cur, f)["label"])
    for c in ranking["community"]:
        parts += [str(x) for x in metrics.compound_cases(cur, f, c)["compound"]]
    data = deck.build(cur, f)
    parts += deck.slide_texts(data)
    parts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "pages").glob("*.py"))]  # chart titles
    return "".join(parts)


def test_cjk_font_covers_every_character_shown(sample_db) -> None:
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        text = chart_texts(con.cursor())
    finally:
        con.close()
    chars = {ch for ch in text if ord(ch) > 0x2000 and not ch.isspace() and ch != "\ufe0f"}
    assert len(chars) > 300
    family = theme.FONT.split(",")[0].strip()
    not_cjk = uncovered(family, sorted(chars))  # symbols such as ✓ △ are in the CJK font too
    emoji = [ch for ch in not_cjk if unicodedata.category(ch) == "So" and ord(ch) >= 0x2600]
    missing = [ch for ch in not_cjk if ch not in emoji]
    assert not missing, f"{family} has no glyph for: {''.join(missing)}"
    # the few emoji in page messages come from fonts-noto-color-emoji (installed with the CJK fonts)
    missing = uncovered("Noto Color Emoji", emoji)
    assert not missing, f"Noto Color Emoji has no glyph for: {''.join(missing)}"


def uncovered(family: str, chars: list[str]) -> list[str]:
    """The characters ``family`` has no glyph for, asked of fontconfig 200 at a time."""
    def has(chunk: list[str]) -> bool:
        charset = " ".join(f"{ord(ch):x}" for ch in chunk)
        out = subprocess.run(["fc-list", f"{family}:charset={charset}", "family"], capture_output=True, text=True)
        return family in out.stdout

    missing = []
    for i in range(0, len(chars), 200):
        chunk = chars[i:i + 200]
        if not has(chunk):
            missing += [ch for ch in chunk if not has([ch])]
    return missing


def test_coverage_check_can_fail() -> None:
    family = theme.FONT.split(",")[0].strip()
    assert uncovered(family, ["我", "\ue000"]) == ["\ue000"]  # U+E000 is in no font: the same query says so


def sample_figure() -> go.Figure:
    import pandas as pd

    df = pd.DataFrame({"year": [2020, 2020, 2021, 2021], "category": ["邻里矛盾", "加装电梯"] * 2,
                       "n": [233, 48, 250, 34]})
    return charts.bars(df, "year", "n", "2019年起加装电梯快速增加", color="category", x_title="登记年份",
                       y_title="办结事项（件）")


def test_svg_keeps_chinese_as_text_in_the_theme_font() -> None:
    svg = images.to_svg(sample_figure(), caption="示例数据 · 来源：各社区上报台账")
    root = ElementTree.fromstring(svg)
    texts = [el for el in root.iter() if el.tag.endswith("}text") or el.tag == "text"]
    content = {"".join(el.itertext()) for el in texts}
    for expected in ("2019年起加装电梯快速增加", "登记年份", "办结事项（件）", "邻里矛盾", "加装电梯",
                     "示例数据 · 来源：各社区上报台账"):
        assert expected in content, (expected, content)
    title = next(el for el in texts if "".join(el.itertext()) == "2019年起加装电梯快速增加")
    assert "Noto Sans CJK SC" in title.get("style", "")
    assert "<path" in svg.decode() and not re.search(r"<image\b", svg.decode())  # vector, no raster inside


def test_png_is_a_sized_image_with_caption_room() -> None:
    png = images.to_png(sample_figure(), width=1000, height=500, scale=2)
    im = Image.open(io.BytesIO(png))
    assert im.format == "PNG" and im.size == (2000, 1000)
    pixels = np.asarray(im.convert("L"))
    assert (pixels < 128).sum() > 2000  # drawn, not blank
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "chart-image.png").write_bytes(png)


def test_second_image_is_fast_once_the_renderer_runs() -> None:
    import time

    images.start()
    images.to_png(sample_figure())
    start = time.perf_counter()
    images.to_svg(sample_figure())
    assert time.perf_counter() - start < 5


def test_export_margins_fit_labels() -> None:
    import pandas as pd

    df = pd.DataFrame({"c": ["桂城街道海五社区", "灯湖社区"], "n": [3, 4]})
    fig = charts.bars(df, "c", "n", "横向条形图", horizontal=True, x_title="件")
    out = images.for_export(fig, caption="来源")
    assert out.layout.margin.l >= 8 * 14  # eight characters of 14 px
    assert out.layout.annotations[-1].text == "来源"
    assert fig.layout.margin.l != out.layout.margin.l  # the page's figure is left as it was


def test_without_chromium_a_chinese_message(monkeypatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    monkeypatch.setattr(images, "CHROMIUM_PATHS", ())
    monkeypatch.setattr(images.shutil, "which", lambda name: None)
    assert images.browser_path() is None
    monkeypatch.setattr(images, "_server", lambda: (_ for _ in ()).throw(images.ImageExportUnavailable(
        images.MISSING_MESSAGE)))
    with pytest.raises(images.ImageExportUnavailable, match="未找到 Chromium"):
        images.to_png(sample_figure())


@pytest.mark.browser
def test_chart_image_download_in_the_dashboard(app_url: str, page) -> None:
    """The 「图片」 popover under a chart downloads a PNG rendered on demand."""
    page.set_viewport_size({"width": 1440, "height": 1000})
    page.goto(app_url)
    page.wait_for_selector("svg.sc", timeout=60_000)  # 总览's first chart, drawn by us (the PNG by plotly)
    page.get_by_role("button", name=re.compile("图片")).first.click()
    with page.expect_download(timeout=60_000) as info:
        page.get_by_role("button", name=re.compile("PNG 图片")).first.click()
    download = info.value
    path = download.path()
    assert download.suggested_filename.endswith(".png")
    data = Path(path).read_bytes()
    assert data.startswith(b"\x89PNG")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "chart-download.png").write_bytes(data)
