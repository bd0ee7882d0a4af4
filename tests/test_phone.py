"""The phone view (/m) and the 汇报导出 page's 「现场扫码」 section, driven with AppTest on the sample.

Real-browser checks at 360×740 and 414×896 (first chart on the first screen, no sideways scrolling,
screenshots) are in tests/test_screens.py; the edge sweep (tests/test_edges.py) opens every section.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from lxml import html as lhtml
from streamlit.testing.v1 import AppTest

from chuangshu import assessment, bigscreen_ui, fmt, metrics, phone_ui, sharing
from chuangshu.filters import Filters
from svg_read import charts

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
MOBILE = str(ROOT / "pages" / "mobile.py")
EXPORT = str(ROOT / "pages" / "export.py")


@pytest.fixture
def env(sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The sample (a private copy: saving the settings writes a briefing beside it) and a private state folder."""
    db = tmp_path / "db" / "guicheng.duckdb"
    db.parent.mkdir()
    shutil.copyfile(sample_db, db)
    monkeypatch.setenv("CHUANGSHU_DB", str(db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path / "state"))
    for name in sharing.ENV.values():
        monkeypatch.delenv(name, raising=False)
    return tmp_path / "state"


def phone(section: str | None = None, **params: str) -> AppTest:
    at = AppTest.from_file(MOBILE, default_timeout=120)
    if section:
        at.query_params["s"] = section
    for k, v in params.items():
        at.query_params[k] = v
    return at.run()


def body(at: AppTest) -> str:
    return "\n".join(h.proto.body for h in at.get("html"))


def tiles(at: AppTest) -> dict[str, tuple[str, str]]:
    """metric key -> (data-value, the number shown) of every figure on the phone view."""
    doc = lhtml.fromstring(f"<div>{body(at)}</div>")
    return {d.get("data-key"): (d.get("data-value"), d.xpath('.//span[@class="v"]')[0].text_content())
            for d in doc.xpath("//details[@data-key]")}


def test_overview_figures_are_the_headline_and_the_first_chart_follows_four(env, cur) -> None:
    at = phone()
    assert not at.exception and not at.error
    head = metrics.headline(cur, Filters())
    shown = tiles(at)
    for r in head.to_dict("records"):
        m = metrics.METRICS[r["key"]]
        assert shown[r["key"]] == (f"{float(r['value']):.6g}",
                                   fmt.metric_value(r["value"], r["unit"], m.kind).replace(" ", "")), r["key"]
    html = body(at)
    first_chart = html.index('class="sc-fig')
    assert html[:first_chart].count('<details class="kpi"') == phone_ui.OVERVIEW_LEAD  # four figures, then the chart
    (trend,) = charts(html)
    assert trend.ylabels[-1] == "2022年（1—6月）" and "不完整年份（斜线、浅色）" in trend.legend
    assert fmt.partial_note(Filters().end) in html
    assert "示例数据" in html and "数据截至 <b>2022年6月30日</b>" in html


def test_every_figure_opens_its_definition_on_tap(env) -> None:
    doc = lhtml.fromstring(f"<div>{body(phone())}</div>")
    figures = doc.xpath("//details[@data-key]")
    assert figures
    for d in figures:
        assert d.xpath("./summary") and metrics.METRICS[d.get("data-key")].definition in d.text_content()
    assert "悬停" not in body(phone())  # nothing asks a thumb to hover


@pytest.mark.parametrize("section", [s.key for s in phone_ui.SECTIONS])
def test_every_section_draws_from_the_link(env, section: str) -> None:
    at = phone(section)
    assert not at.exception and not at.error
    picker = at.get("button_group")[0]
    titles = {s.key: s.title for s in phone_ui.SECTIONS}
    assert titles[section] in picker.proto.options[[s.key for s in phone_ui.SECTIONS].index(section)].content
    assert charts(body(at)), "every section has a chart"
    assert not at.get("plotly_chart")


def test_cases_section_equals_the_metric_layer(env, cur) -> None:
    at = phone("cases")
    totals = metrics.service_totals(cur, Filters())
    shown = tiles(at)
    for key in phone_ui.CASE_TILES:
        assert shown[key][0] == ("" if fmt.missing(totals[key]) else f"{float(totals[key]):.6g}"), key
    table = metrics.category_table(cur, Filters())
    doc = lhtml.fromstring(f"<div>{body(at)}</div>")
    assert [r.get("data-category") for r in doc.xpath("//table[@class='cats']/tbody/tr")] == list(table["category"])
    ranking = next(c for c in charts(body(at)) if c.title.startswith("每千户受理事项"))
    top = metrics.community_rate_ranking(cur, Filters()).head(phone_ui.TOP)
    assert ranking.ylabels == list(top["short_name"])


def test_kaohe_section_equals_the_league_table(env, cur) -> None:
    """考核 on the phone: the month's index and warnings as the 考核 page computes them, its top and bottom five."""
    at = phone("kaohe")
    assert not at.exception and not at.error
    brief = assessment.league_brief(cur, Filters(), "month")
    shown = tiles(at)
    assert shown["assessment_index"][0] == f"{float(brief['index']):.6g}"
    assert shown["alerts"][0] == f"{float(brief['alert_total']):.6g}" and brief["alert_total"] > 0
    best, worst = (c for c in charts(body(at)) if c.title.startswith("创熟指数"))
    assert best.ylabels == list(brief["top"]["short_name"]) and worst.ylabels == list(brief["bottom"]["short_name"])
    assert f"在 {brief['ranked_of']} 个可排名的社区之间" in body(at)


def test_community_section_names_the_community_it_shows(env, cur) -> None:
    at = phone("community")
    assert at.selectbox(key="m_profile_community").value == "桂南社区"
    html = body(at)
    assert "桂南社区" in html.split('class="m-head"')[1].split("</div>")[0]  # the header names the scope shown
    profile = metrics.community_profile(cur, Filters(), "桂南社区").set_index("key")
    shown = tiles(at)
    for key in metrics.PROFILE_METRICS:
        value = profile.loc[key, "value"]
        assert shown[key][0] == ("" if fmt.missing(value) else f"{float(value):.6g}"), key
    assert "中位数" in html and "/ 45 名" in html
    at.selectbox(key="m_profile_community").set_value("夏北社区").run()
    assert "夏北社区" in body(at).split('class="m-head"')[1].split("</div>")[0]


def test_the_sidebar_filters_apply_and_an_empty_range_says_so(env, nav_apptest) -> None:
    at = AppTest.from_file(APP, default_timeout=120)
    for k, v in {"asof": "2012-12-31", "years": "2011-2012", "c": "石龙社区"}.items():
        at.query_params[k] = v
    at.run()
    at.switch_page("pages/mobile.py")
    at.query_params["s"] = "cases"
    at.run()
    assert not at.exception
    assert any("所选范围内没有事项记录" in i.value for i in at.info)
    assert "2011—2012年 · 石龙社区" in body(at) and "数据截至 <b>2012年12月31日</b>" in body(at)


@pytest.mark.parametrize(("agent", "is_phone"), [
    ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 MicroMessenger/8.0.47", True),
    ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36", True),
    ("Mozilla/5.0 (Linux; Android 13; V2232A) AppleWebKit/537.36 XWEB/1160065 MMWEBSDK/20231202 "
     "MicroMessenger/8.0.47.2560(0x28002F35) WeChat/arm64 Weixin NetType/WIFI Language/zh_CN", True),
    ("Mozilla/5.0 (iPad; CPU OS 17_0 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", False),
    ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36", False),
    (None, False), ("", False)])
def test_phones_are_recognised(agent: str | None, is_phone: bool) -> None:
    assert phone_ui.is_phone(agent) is is_phone


# --- 汇报导出 → 现场扫码 -------------------------------------------------------------------------------

def export(**secrets) -> AppTest:
    at = AppTest.from_file(EXPORT, default_timeout=120)
    at.secrets.update(secrets)
    return at.run()


def test_without_a_public_address_the_page_says_so(env) -> None:
    at = export()
    assert not at.exception
    assert any(sharing.MISSING_URL_NOTE in w.value for w in at.warning)
    assert any("简报未开放" in c.value for c in at.caption)


def test_without_a_public_address_the_big_screen_says_how_to_set_one(env) -> None:
    at = AppTest.from_file(str(ROOT / "pages" / "bigscreen.py"), default_timeout=120)
    at.query_params["view"] = str([v.key for v in bigscreen_ui.VIEWS].index("qr") + 1)
    at.run()
    assert not at.exception and not at.error
    html = body(at)
    assert 'class="bs-qr-note"' in html and "CHUANGSHU_PUBLIC_URL" in html  # the corner says how
    assert "未设置对外访问地址" in html and 'class="bs-qr-img"' not in html  # and no code to a wrong address


def test_the_admin_sets_the_address_and_opens_the_briefing(env: Path, sample_db: Path) -> None:
    at = export()  # no users configured: the local user is an admin
    form_url = next(t for t in at.text_input if "对外访问地址" in t.label)
    form_url.input("192.168.1.20:8501")
    at.radio[-1].set_value("code")
    at.button(key="FormSubmitter:sharing_form-保存").click().run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    saved = json.loads((env / sharing.FILE_NAME).read_text(encoding="utf-8"))
    assert saved["public_url"] == "http://192.168.1.20:8501" and saved["briefing"] == "code" and len(saved["code"]) == 8
    link = f"http://192.168.1.20:8501/briefing?code={saved['code']}"
    assert any(c.value == link for c in at.code)
    assert any("已保存" in s.value for s in at.success)
    assert any("凭访问码开放" in c.value for c in at.caption)
    written = Path(str(env.parent / "db" / "guicheng.briefing.html"))
    assert written.exists(), "saving the settings writes the briefing for them"


def test_a_bad_address_is_refused_with_a_reason(env: Path) -> None:
    at = export()
    next(t for t in at.text_input if "对外访问地址" in t.label).input("http://a b")
    at.button(key="FormSubmitter:sharing_form-保存").click().run()
    assert any("不是有效的网址" in e.value for e in at.error)
    assert not (env / sharing.FILE_NAME).exists()


def test_the_screen_link_follows_the_chosen_views(env: Path) -> None:
    (env).mkdir(parents=True, exist_ok=True)
    (env / sharing.FILE_NAME).write_text(json.dumps({"public_url": "http://10.0.0.5:8501"}), encoding="utf-8")
    at = export()
    at.multiselect(key="screen_views").set_value(["kpis", "ranking", "qr"]).run()
    at.number_input(key="screen_interval").set_value(30).run()
    assert any(c.value == "http://10.0.0.5:8501/bigscreen?interval=30&views=kpis,ranking,qr" for c in at.code)
