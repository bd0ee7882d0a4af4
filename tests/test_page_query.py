"""The 即席查询 page, driven with Streamlit's AppTest on the sample database."""
from __future__ import annotations

import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import audit, query_runner
from etl import catalogue
from chuangshu import saved_queries as sq
from chuangshu.auth import User

try:
    from query_fixtures import sample_db, state_dir  # noqa: F401
except ImportError:  # pragma: no cover
    from tests.query_fixtures import sample_db, state_dir  # noqa: F401

PAGE = str(Path(__file__).resolve().parent.parent / "pages" / "query.py")


@pytest.fixture
def app(sample_db, state_dir, monkeypatch):
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    return AppTest.from_file(PAGE, default_timeout=60)


def _result_frames(at):
    return [d.value for d in at.main.dataframe]


def test_page_loads(app):
    at = app.run()
    assert not at.exception
    assert at.title[0].value == "即席查询"
    assert at.text_area(key="sql").value.strip().startswith("--")
    assert len(at.sidebar.expander) == len(catalogue.PUBLIC_VIEWS)  # schema browser: one per public view
    assert not at.error


def test_missing_database_shows_a_message(state_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("CHUANGSHU_DB", str(tmp_path / "missing.duckdb"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("还没有找到分析数据库" in w.value for w in at.warning)
    assert len(at.sidebar.expander) == len(catalogue.PUBLIC_VIEWS)  # the data dictionary is still there


def test_running_an_example_shows_a_table_chart_and_downloads(app):
    at = app.run()
    at.selectbox(key="example_pick").select("resolution_by_category").run()
    assert not at.exception and not at.error
    frames = _result_frames(at)
    assert frames and len(frames[0]) == 8 and "诉求类别" in frames[0].columns
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["行数"] == "8"
    assert "毫秒" in metrics["耗时"]
    assert any("完整结果" in m.value for m in at.main.markdown)
    assert at.get("plotly_chart")
    assert {b.proto.label for b in at.get("download_button")} == {"下载 CSV", "下载 Excel"}
    assert audit.read_entries()[-1]["source"] == "example:resolution_by_category"


@pytest.mark.parametrize("sql, fragment", [
    ("COPY cases TO '/tmp/adhoc_page.csv'", "只允许执行一条 SELECT 查询"),
    ("SELECT * FROM read_csv('/etc/passwd')", "不允许访问服务器文件"),
    ("SELECT 1; DROP VIEW cases", "只允许执行一条 SELECT 查询"),
    ("SET threads = 64", "不允许修改数据库设置"),
    ("SELEC 1", "SQL 语法错误"),
])
def test_hostile_query_shows_an_error_not_an_exception(app, sql, fragment):
    at = app.run()
    at.text_area(key="sql").input(sql).run()
    at.button(key="run").click().run()
    assert not at.exception
    assert any(fragment in e.value for e in at.error), [e.value for e in at.error]
    assert not _result_frames(at)
    # the next ordinary query works
    at.text_area(key="sql").input("SELECT count(*) AS n FROM cases").run()
    at.button(key="run").click().run()
    assert not at.error and _result_frames(at)[0].iloc[0, 0] == 420


def test_timeout_is_shown_as_a_message(app, monkeypatch):
    monkeypatch.setattr(query_runner, "DEFAULT_TIMEOUT_S", 1.0)
    at = app.run()
    at.text_area(key="sql").input("SELECT count(*) FROM range(1000000) a, range(1000000) b").run()
    at.button(key="run").click().run()
    assert not at.exception
    assert any("时限" in e.value for e in at.error)


def test_truncated_results_are_flagged(app, monkeypatch):
    monkeypatch.setattr(query_runner, "DEFAULT_MAX_ROWS", 50)
    at = app.run()
    at.text_area(key="sql").input("SELECT * FROM cases").run()
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    assert len(_result_frames(at)[0]) == 50
    assert any("已截断" in m.value for m in at.main.markdown)


def test_adhoc_parameters_get_widgets(app):
    at = app.run()
    at.text_area(key="sql").input(
        "SELECT count(*) AS n FROM cases WHERE community = $community AND year(reported_on) >= $year").run()
    at.text_input(key="param_community").input("桂雅社区")
    at.text_input(key="param_year").input("2015")
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    assert _result_frames(at)[0].iloc[0, 0] > 0
    assert audit.read_entries()[-1]["params"] == {"community": "桂雅社区", "year": 2015}


def test_shared_link_opens_and_runs_a_saved_query(app):
    sq.SavedQueryStore().save(sq.SavedQuery(
        name="社区年度个案",
        description="某社区某年以来的个案数（按类别）",
        sql="SELECT category, count(*) AS n FROM cases "
            "WHERE community = $community AND year(reported_on) >= $year GROUP BY category",
        params=[sq.Param("community", "社区", "choice",
                         options_sql="SELECT community FROM communities ORDER BY community"),
                sq.Param("year", "起始年份", "int", default=2015)],
    ))
    app.query_params = {"q": "社区年度个案", "p.community": "灯湖社区", "p.year": "2018"}
    at = app.run()
    assert not at.exception and not at.error
    assert at.selectbox(key="tparam_choice_community").value == "灯湖社区"
    assert at.number_input(key="tparam_int_year").value == 2018
    assert _result_frames(at) and len(_result_frames(at)[0]) > 0
    entry = audit.read_entries()[-1]
    assert entry["source"] == "saved:社区年度个案"
    assert entry["params"] == {"community": "灯湖社区", "year": 2018}
    assert any("q=" in c.value and "p.community" in c.value for c in at.code)


def test_unknown_shared_query_is_a_warning(app):
    app.query_params = {"q": "不存在的查询"}
    at = app.run()
    assert not at.exception
    assert any("不存在" in w.value for w in at.warning)


def test_save_a_query_from_the_page(app):
    at = app.run()
    at.text_area(key="sql").input("SELECT count(*) AS n FROM cases WHERE community = $community").run()
    at.text_input(key="param_community").input("桂雅社区").run()
    name_box = next(t for t in at.text_input if t.label == "名称")
    name_box.input("按社区数个案")
    at.selectbox(key="save_type_community").select("choice")
    at.button(key="FormSubmitter:save_form-保存").click().run()
    assert not at.exception and not at.error
    saved = sq.SavedQueryStore().get("按社区数个案")
    assert saved is not None and saved.params[0].type == "choice"
    assert saved.params[0].options_sql.startswith("SELECT community FROM communities")
    assert any("已保存" in s.value for s in at.success)


def test_the_quick_chart_speaks_chinese_and_wears_the_dashboard_colours(app):
    """Dates as 2021年 (never 'Jan 2021'), counts as 1万 (never 10k), the dashboard's palette."""
    import json
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from edge_text import forbidden, plotly_texts

    at = app.run()
    at.selectbox(key="example_pick").select("monthly_flow").run()
    assert not at.exception and not at.error
    spec = json.loads(at.get("plotly_chart")[0].proto.spec)
    xaxis, yaxis = spec["layout"]["xaxis"], spec["layout"]["yaxis"]
    assert xaxis["tickformat"] in ("%Y年", "%Y年%-m月") and xaxis["hoverformat"] == "%Y年%-m月%-d日"
    assert yaxis["tickmode"] == "array" and all(not t.endswith("k") for t in yaxis["ticktext"])
    assert spec["layout"]["template"]["layout"]["font"]["family"].startswith("Noto Sans CJK SC")
    assert not forbidden(list(plotly_texts(at.get("plotly_chart")[0].proto.spec)))



QUICK_NUMBERS = [  # (kind, x values, y values): large numbers on either axis, as the quick chart draws them
    ("bar", ["千禧社区", "海华社区", "翠湖社区"], [30_828, 47_289, 52_944]),
    ("scatter", [10_000, 50_000, 200_000], [1, 2, 3]),
    ("line", [1.5, 2.5, 3.1], [12_345.6, 250_000.2, 1_000_000]),
    ("scatter", [100_200, 100_350, 100_500], [100_200, 100_350, 100_500]),  # a narrow band: plotly's own ticks
    ("line", [-20_000, 0, 20_000], [-15_000, 5_000, 35_000]),  # negative values: plotly's own ticks
]


@pytest.mark.parametrize(("kind", "xs", "ys"), QUICK_NUMBERS, ids=lambda v: str(v)[:24])
def test_the_quick_chart_never_writes_plotly_si_suffixes(kind: str, xs: list, ys: list) -> None:
    """Every tick plotly really draws (rendered to SVG) is a plain or 万 number, never 50k or 1M; hover
    labels follow the axes' number format, which the theme sets to plain numbers with separators."""
    import pandas as pd

    from chuangshu import charts, images

    fig = charts.quick(pd.DataFrame({"x": xs, "y": ys}), kind, "x", "y")
    svg = images.to_svg(fig).decode()
    ticks = re.findall(r'class="[xy]tick"[^>]*>.*?<text[^>]*>([^<]*)</text>', svg)
    ticks += re.findall(r'<g class="[xy]tick"><text[^>]*>([^<]*)</text>', svg)
    numbers = [t for t in ticks if re.search(r"\d", t)]
    assert numbers, svg[:400]
    assert not [t for t in numbers if re.search(r"\d\s*[kMGTµ]$", t)], numbers
    for axes in (fig.layout, fig.layout.template.layout):  # Streamlit's chart theme replaces the template's
        assert axes.xaxis.exponentformat == axes.yaxis.exponentformat == "none"
        assert axes.xaxis.separatethousands and axes.yaxis.separatethousands

# --------------------------------------------------------------------------- owners and plain-text descriptions

PASSWORD = "correct-horse-1"
ACCOUNTS = {"boss": {"name": "街道办", "role": "admin"}, "li": {"name": "李四", "role": "analyst"},
            "zhao": {"name": "赵六", "role": "analyst", "community": "桂南社区"},
            "qian": {"name": "钱八", "role": "analyst", "community": "江滨社区"}}
HOSTILE_DESCRIPTION = ("![](http://evil.example/pixel.png) 会话已过期，[请重新登录](http://evil.example/login) "
                       "<img src=http://evil.example/p2.png> **粗体** :red[红字] www.evil.example")


@pytest.fixture(scope="module")
def secrets() -> dict:
    from chuangshu import auth

    h = auth.hash_password(PASSWORD, n=2**10)
    return {"users": {name: {**entry, "password_hash": h} for name, entry in ACCOUNTS.items()}}


def as_user(app: AppTest, secrets: dict, user: str) -> AppTest:
    from chuangshu import signin

    app.secrets.update(secrets)
    app.session_state[signin.USER_KEY] = user
    return app


def shown_markdown(at) -> list[str]:
    """Every text Streamlit renders as Markdown (bodies, captions, alerts, labels), without its code spans
    (nothing inside a code span is parsed, so user text shown there stays literal)."""
    out = [m.value for m in [*at.markdown, *at.caption, *at.success, *at.warning, *at.info, *at.error]]
    out += [e.label for e in at.expander] + [c.label for c in at.checkbox] + [b.label for b in at.button]
    return [re.sub(r"(`+) .*? \1", "", text) for text in out]


@pytest.mark.parametrize(("text", "shown"), [
    ("[请重新登录](http://evil.example)", "` [请重新登录](http://evil.example) `"),
    ("a`b``c", "``` a`b``c ```"),
    ("`", "`` ` ``"),
    ("两行\n名称", "` 两行 名称 `"),
    ("", ""),
    ("  ", ""),
])
def test_literal_puts_user_text_in_a_code_span(text: str, shown: str) -> None:
    from chuangshu import fmt

    assert fmt.literal(text) == shown


@pytest.mark.parametrize(("text", "shown"), [
    ("起始年份", "起始年份"),
    ("社区（全称）", "社区（全称）"),  # full-width punctuation forms no Markdown
    ("Year 2020", "Year 2020"),
    ("[点此](http://evil.example)", "` [点此](http://evil.example) `"),
    ("www.evil.example", "` www.evil.example `"),
    ("**粗体**", "` **粗体** `"),
])
def test_labels_from_saved_queries_cannot_form_markdown(text: str, shown: str) -> None:
    from chuangshu import fmt

    assert fmt.label(text) == shown


def test_descriptions_and_names_show_as_plain_text(app):
    name = "[请重新登录](http://evil.example/n)"
    sq.SavedQueryStore().save(sq.SavedQuery(
        name=name, sql="SELECT count(*) AS n FROM cases WHERE year(reported_on) >= $y", description=HOSTILE_DESCRIPTION,
        params=[sq.Param("y", "[年份](http://evil.example/y)", "int", default=2015, help="见 www.evil.example")]))
    app.query_params = {"q": name}
    at = app.run()
    assert not at.exception and not at.error
    assert [t.value for t in at.text] == [f"说明：{HOSTILE_DESCRIPTION}"]  # st.text: no Markdown, no HTML
    for text in shown_markdown(at):  # wherever the name appears in Markdown, it is in a code span
        assert "evil" not in text and "<img" not in text, text
    assert [e.label for e in at.expander if "常用查询" in e.label] == [f"编辑常用查询 ` {name} `"]
    year = at.number_input(key="tparam_int_y")
    assert year.label == "` [年份](http://evil.example/y) `" and year.help == "` 见 www.evil.example `"
    at = AppTest.from_file(PAGE, default_timeout=60)  # a made-up name in a link
    at.query_params = {"q": "![](http://evil.example/x.png)"}
    at.run()
    assert [w.value for w in at.warning] == ["链接中的常用查询 ` ![](http://evil.example/x.png) ` 不存在（可能已被删除）"]


def test_a_community_analyst_cannot_overwrite_the_offices_query_from_the_page(app, secrets):
    sql = "SELECT count(*) AS n FROM cases"
    sq.SavedQueryStore().save(sq.SavedQuery(name="个案总数", sql=sql), user=User("boss", "街道办", "admin"))
    app.query_params = {"q": "个案总数"}
    at = as_user(app, secrets, "zhao").run()
    assert not at.exception and not at.error
    assert any("保存者：boss · 全街道" in c.value for c in at.caption)  # who saved it, for whom
    assert any("另存常用查询" in e.label for e in at.expander)
    assert not [b for b in at.button if b.key in ("delete_saved", "share_saved")]
    at.text_area(key="sql").input("SELECT 'pwned' AS n").run()
    name_box = next(t for t in at.text_input if t.label == "名称")
    name_box.input("个案总数")
    next(c for c in at.checkbox if c.label == "同名时覆盖").check()
    at.button(key="FormSubmitter:save_form-保存").click().run()
    assert any("只有作者本人或管理员可以修改或删除" in e.value for e in at.error)
    assert sq.SavedQueryStore().get("个案总数").sql == sql


def test_community_queries_stay_in_the_community_and_an_admin_shares_them(app, secrets):
    store = sq.SavedQueryStore()
    store.save(sq.SavedQuery(name="江滨楼长", sql="SELECT count(*) AS n FROM volunteers"),
               user=User("qian", "钱八", "analyst", "江滨社区"))
    at = as_user(app, secrets, "zhao").run()
    assert "江滨楼长" not in at.selectbox(key="saved_pick").options
    link = AppTest.from_file(PAGE, default_timeout=60)
    link.query_params = {"q": "江滨楼长"}
    at = as_user(link, secrets, "zhao").run()
    assert any("不存在" in w.value for w in at.warning) and not at.main.dataframe
    admin = AppTest.from_file(PAGE, default_timeout=60)
    admin.query_params = {"q": "江滨楼长"}
    at = as_user(admin, secrets, "boss").run()
    assert not at.exception and "江滨楼长" in at.selectbox(key="saved_pick").options
    at.button(key="share_saved").click().run()
    assert not at.exception and any("已共享给全街道" in s.value for s in at.success)
    assert audit.read_events()[-1]["action"] == "share" and audit.read_events()[-1]["user"] == "boss"
    at = as_user(AppTest.from_file(PAGE, default_timeout=60), secrets, "zhao").run()
    assert "江滨楼长" in at.selectbox(key="saved_pick").options
