"""The two 汇报 pages (汇报导出 and 大屏), driven with Streamlit's AppTest on the sample database."""
from __future__ import annotations

import io
from pathlib import Path

import pytest
from pptx import Presentation
from streamlit.testing.v1 import AppTest

from chuangshu import deck, pdf

ROOT = Path(__file__).resolve().parent.parent
EXPORT = str(ROOT / "pages" / "export.py")
BIGSCREEN = str(ROOT / "pages" / "bigscreen.py")


@pytest.fixture
def env(sample_db, app_state_dir, monkeypatch):
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))


def labels(at: AppTest) -> set[str]:
    return {b.proto.label for b in at.get("download_button")}


def test_export_page_loads_with_the_global_defaults(env) -> None:
    at = AppTest.from_file(EXPORT, default_timeout=120).run()
    assert not at.exception
    assert at.title[0].value == "汇报导出"
    assert at.selectbox(key="export_scope").value == "全街道（全部社区）"
    assert at.slider(key="export_years").value == (2011, 2022)
    assert [at.selectbox(key=k).value for k in ("export_as_of_y", "export_as_of_m", "export_as_of_d")] == [2022, 6, 30]
    assert any("示例数据" in c.value for c in at.caption)
    assert not labels(at)  # nothing is built until asked


def test_generate_gives_pptx_and_pdf_downloads(env) -> None:
    at = AppTest.from_file(EXPORT, default_timeout=180).run()
    at.button(key="export_generate").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = {"下载 PPTX", "下载 PDF"} if pdf.available() else {"下载 PPTX"}
    assert labels(at) == expected
    assert "已生成" in at.success[0].value
    result = at.session_state["export_result"]
    prs = Presentation(io.BytesIO(result["pptx"]))
    assert len(prs.slides) > 10
    if pdf.available():
        assert result["pdf"].startswith(b"%PDF")


def test_one_community_deck_from_the_page(env) -> None:
    at = AppTest.from_file(EXPORT, default_timeout=180).run()
    at.checkbox(key="export_pdf").uncheck().run()
    at.selectbox(key="export_scope").select("桂南社区").run()
    at.slider(key="export_years").set_value((2018, 2022)).run()
    assert any("截至2022年6月30日；2018—2022年；桂南社区" in c.value for c in at.caption)
    at.button(key="export_generate").click().run()
    assert not at.exception and not at.error
    assert labels(at) == {"下载 PPTX"}
    texts = deck.slide_texts(at.session_state["export_result"]["pptx"])
    assert texts[0].startswith("桂南社区“创熟”工作汇报")
    assert all("截至2022年6月30日；2018—2022年；桂南社区" in t for t in texts)
    # changing a setting afterwards asks for a new deck instead of offering the old one
    at.selectbox(key="export_scope").select("全街道（全部社区）").run()
    assert not labels(at)
    assert "重新点击" in at.info[0].value


def test_missing_libreoffice_is_explained_and_pptx_still_works(env, monkeypatch) -> None:
    monkeypatch.setattr(pdf, "soffice_path", lambda: None)
    at = AppTest.from_file(EXPORT, default_timeout=120).run()
    assert not at.exception
    assert any("未找到 LibreOffice" in w.value for w in at.warning)
    assert at.checkbox(key="export_pdf").disabled and not at.checkbox(key="export_pdf").value
    at.button(key="export_generate").click().run()
    assert not at.exception and labels(at) == {"下载 PPTX"}


# --- 大屏 --------------------------------------------------------------------------------------

def bigscreen(params: dict[str, str]) -> AppTest:
    at = AppTest.from_file(BIGSCREEN, default_timeout=60)
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def html_of(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


BIGSCREEN_VIEWS = [("1", "数读", 0), ("2", "事项趋势", 1), ("3", "社区排名", 1), ("4", "队伍与组织", 1),
                   ("5", "大事记", 1), ("6", "考核排名", 1), ("7", "扫码阅读", 0)]


def test_the_view_table_lists_every_bigscreen_view() -> None:
    from chuangshu.bigscreen_ui import VIEWS

    assert [title for _, title, _ in BIGSCREEN_VIEWS] == [v.title for v in VIEWS]


@pytest.mark.parametrize(("view", "title", "charts"), BIGSCREEN_VIEWS)
def test_bigscreen_views(env, view, title, charts) -> None:
    at = bigscreen({"view": view})
    assert not at.exception
    body = html_of(at)
    assert f'<span class="bs-accent"></span>{title}' in body
    assert "数据更新于" in body and "示例数据" in body and "数据截至 <b>2022年6月30日</b>" in body
    assert "display: none !important" in body  # Streamlit's chrome is hidden
    assert not at.get("plotly_chart")  # charts are SVG on the scaled stage (chuangshu/svgchart.py)
    assert body.count('<div class="sc-fig') == charts
    assert "固定显示本页" in body


def test_bigscreen_rotates_and_reads_the_interval(env) -> None:
    at = bigscreen({"interval": "15"})
    assert not at.exception
    body = html_of(at)
    assert "每 15 秒切换" in body and "数读" in body
    at.run()  # the next rotation (the fragment's timer does this in the browser)
    assert '<span class="bs-accent"></span>事项趋势' in html_of(at)
    assert bigscreen({"interval": "nonsense"}) and "每 20 秒切换" in html_of(bigscreen({"interval": "x"}))
    assert "每 5 秒切换" in html_of(bigscreen({"interval": "1"}))  # clamped to the minimum


@pytest.mark.parametrize("params", [{}, {"c": "桂南社区,天佑社区,灯湖社区"}])
def test_bigscreen_ranking_is_the_league_table(env, sample_db, nav_apptest, params) -> None:
    """考核排名: the bars are the league's ranked communities by rank (all, or the chosen ones), each with its
    change of rank and index, and the movers are the league's, with their ranks."""
    import duckdb
    from svg_read import charts

    from chuangshu import assessment, fmt
    from chuangshu.filters import Filters

    chosen = tuple(params["c"].split(",")) if params else ()
    con = duckdb.connect(str(sample_db), read_only=True)
    league = assessment.league_table(con.cursor(), Filters(communities=chosen), "month")
    con.close()
    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=120)  # the link's filters: the whole app
    for k, v in {"view": "6", **params}.items():
        at.query_params[k] = v
    at.run().switch_page("pages/bigscreen.py").run()
    assert not at.exception
    body = html_of(at)
    ranked = league.table.dropna(subset=["rank"]).sort_values(["rank", "community"]).head(15)
    (chart,) = charts(body)
    assert chart.ylabels == [f"{n} {c}" for n, c in zip(ranked["short_name"], ranked["change_label"])]
    assert chart.values == [fmt.metric_value(x, "分", "score").split(" ")[0] for x in ranked["index"]]
    for m in league.movers.itertuples():
        assert (f'<span>{m.short_name}</span><b>{m.change_label}</b><span>第 {int(m.rank)} 名</span>') in body


def test_bigscreen_kpis_use_the_metric_layer(env, sample_db) -> None:
    import duckdb

    from chuangshu import fmt, metrics
    from chuangshu.filters import Filters

    con = duckdb.connect(str(sample_db), read_only=True)
    head = metrics.headline(con.cursor(), Filters()).set_index("key")
    con.close()
    body = html_of(bigscreen({"view": "1"}))
    for key in metrics.HEADLINE:
        number = fmt.metric_value(head.loc[key, "value"], head.loc[key, "unit"]).split(" ")[0]
        assert f'<div class="v">{number}<span class="u">{head.loc[key, "unit"]}</span>' in body, key


def test_bigscreen_settings_from_the_link() -> None:
    from chuangshu.bigscreen_ui import VIEWS, Settings, settings

    assert settings({}) == Settings(interval=20, pinned=None, chrome=False)
    assert settings({"interval": "x", "view": "x"}).rotation == "每 20 秒切换"
    held = settings({"interval": "9999", "view": "99", "chrome": "on"})
    assert (held.interval, held.pinned, held.chrome, held.run_every, held.rotation) == \
        (600, len(VIEWS), True, None, "固定显示本页")
    assert settings({"interval": " 7 "}).run_every == 7


@pytest.mark.parametrize(("raw", "views", "rotation"), [
    ("1,3,5", (0, 2, 4), "每 20 秒切换（3 个画面）"),
    ("milestones,kpis", (4, 0), "每 20 秒切换（2 个画面）"),
    ("3，3, 0,99,x,trend", (2, 1), "每 20 秒切换（2 个画面）"),  # full-width comma, repeats and unknowns dropped
    ("2", (1,), "固定显示本页"),  # one view: nothing to rotate
    ("", (), "每 20 秒切换"),
])
def test_bigscreen_views_from_the_link(raw: str, views: tuple, rotation: str) -> None:
    from chuangshu.bigscreen_ui import settings

    screen = settings({"views": raw})
    assert screen.views == views and screen.rotation == rotation
    assert screen.run_every == (None if len(views) == 1 else 20)


def test_bigscreen_rotates_through_the_chosen_views_only(env) -> None:
    at = bigscreen({"views": "5,2", "interval": "30"})
    seen = []
    for _ in range(3):
        seen.append(next(t for t in ("大事记", "事项趋势", "数读") if f'<span class="bs-accent"></span>{t}' in html_of(at)))
        at.run()
    assert seen == ["大事记", "事项趋势", "大事记"]
    assert "每 30 秒切换（2 个画面）" in html_of(at)


def test_bigscreen_link_for_the_projector() -> None:
    from chuangshu.bigscreen_ui import link

    assert link("http://10.0.0.5:8501/") == "http://10.0.0.5:8501/bigscreen"
    assert link("http://10.0.0.5:8501", interval=30, views=["kpis", "qr"]) == \
        "http://10.0.0.5:8501/bigscreen?interval=30&views=kpis,qr"


def test_bigscreen_keeps_chrome_on_request(env) -> None:
    body = html_of(bigscreen({"view": "1", "chrome": "1"}))
    assert "display: none !important" not in body
