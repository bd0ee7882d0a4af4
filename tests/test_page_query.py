"""The 即席查询 page, driven with Streamlit's AppTest on the sample database."""
from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import audit, query_runner
from chuangshu import saved_queries as sq

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
    assert len(at.sidebar.expander) == 13  # schema browser: one per public view
    assert not at.error


def test_missing_database_shows_a_message(state_dir, monkeypatch, tmp_path):
    monkeypatch.setenv("CHUANGSHU_DB", str(tmp_path / "missing.duckdb"))
    at = AppTest.from_file(PAGE, default_timeout=60).run()
    assert not at.exception
    assert any("还没有找到分析数据库" in w.value for w in at.warning)
    assert len(at.sidebar.expander) == 13  # the data dictionary is still there


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
