"""End to end in a real browser (Debian's chromium via Playwright): every page, a filter, a drill-down.

Screenshots of every page are saved under tests/artifacts/ for review.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
PAGES = [("", "总览"), ("assessment", "考核"), ("cases", "事项"), ("teams", "队伍"), ("organizations", "组织"),
         ("projects", "项目与活动"), ("community", "社区画像"), ("milestones", "大事记"), ("quality", "数据质量"),
         ("query", "即席查询"), ("targets", "目标设置")]


def choose(page: Page, box: Locator, typed: str, option: str) -> None:
    """Pick `option` in a select box by typing: the list re-renders while it filters, so wait for the one
    match and take it with Enter (clicking a node that is being replaced is flaky)."""
    options = page.get_by_role("option")
    for attempt in range(3):  # a rerun that lands between the click and the typing closes the list: reopen it
        box.click()
        page.keyboard.type(typed)
        try:
            expect(options).to_have_count(1, timeout=5_000)
            break
        except AssertionError:
            if attempt == 2:
                raise
            page.keyboard.press("Escape")
            wait_idle(page)
    expect(page.get_by_role("option", name=option, exact=True)).to_be_visible()
    page.keyboard.press("Enter")


def wait_idle(page: Page, timeout_s: float = 90) -> None:
    """Wait until the script has finished and the page has stopped changing for a moment."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=30_000)
    probe = """() => {
        const app = document.querySelector('[data-testid="stApp"]');
        const busy = !app || app.getAttribute('data-test-script-state') !== 'notRunning'
            || document.querySelector('[data-testid="stSkeletonElement"], [data-testid="stAppSkeleton"]');
        const n = document.querySelectorAll('[data-testid="stMain"] [data-testid]').length;
        return busy ? -1 : n;
    }"""
    deadline = time.monotonic() + timeout_s
    last, stable = None, 0
    while time.monotonic() < deadline:
        n = page.evaluate(probe)
        stable = stable + 1 if n > 0 and n == last else 0
        if stable >= 4:
            return
        last = n
        page.wait_for_timeout(400)
    raise TimeoutError("the page did not settle")


def assert_no_error(page: Page, name: str) -> None:
    exceptions = page.locator('[data-testid="stException"]')
    errors = page.locator('[data-testid="stAlertContentError"]')
    if exceptions.count() or errors.count():
        page.screenshot(path=str(ARTIFACTS / f"FAILED-{name}.png"), full_page=True)
    assert exceptions.count() == 0, exceptions.first.inner_text()
    assert errors.count() == 0, errors.first.inner_text()


@pytest.mark.parametrize(("path", "title"), PAGES)
def test_every_page_renders(app_url: str, page: Page, path: str, title: str) -> None:
    page.set_viewport_size({"width": 1440, "height": 2600})  # tall, so the screenshot shows the whole page
    page.goto(f"{app_url}/{path}")
    wait_idle(page)
    expect(page.get_by_role("heading", name=title, exact=True).first).to_be_visible()
    assert_no_error(page, path or "overview")
    page.screenshot(path=str(ARTIFACTS / f"page-{path or 'overview'}.png"), full_page=True)


def metric_values(page: Page) -> list[str]:
    return page.evaluate("[...document.querySelectorAll('[data-testid=stMetricValue]')].map(e => e.textContent)")


def test_overview_shows_published_figures_and_filter_changes_them(app_url: str, page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(app_url)
    wait_idle(page)
    values = metric_values(page)
    for expected in ("51 个", "58 个", "2,186 名", "2,142 名", "233 个", "7 个", "38 个", "139 条", "1,463 宗",
                     "1,247 个", "185 起", "1,839 处", "368 个", "536 起", "45 个", "149 个"):
        assert expected in values, (expected, values)
    expect(page.get_by_text("示例数据").first).to_be_visible()
    choose(page, page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="社区").first,
           "桂南", "桂南社区")
    page.keyboard.press("Escape")
    wait_idle(page)
    assert "c=" in page.url
    filtered = metric_values(page)
    assert "2,186 名" not in filtered and filtered != values
    assert_no_error(page, "overview-filtered")
    page.screenshot(path=str(ARTIFACTS / "overview-filtered.png"), full_page=True)
    page.goto(page.url)  # the filtered view is shareable by link
    wait_idle(page)
    assert metric_values(page) == filtered


EDGE_VIEWS = [  # (screenshot, address): the edges issue 11 found broken, as a user opens them
    ("edge-years-2023-2026-overview", "?years=2023-2026"),
    ("edge-years-2023-2026-cases", "cases?years=2023-2026"),
    ("edge-profile-one-community", "community?c=夏北社区&years=2022-2022"),
    ("edge-overview-category", "?k=停车"),
    ("edge-bigscreen-one-community", "bigscreen?view=3&c=夏北社区"),
]


@pytest.mark.parametrize(("name", "address"), EDGE_VIEWS)
def test_edges_render_honestly(app_url: str, page: Page, name: str, address: str) -> None:
    """Impossible ranges are corrected with a note, one community is named as the scope, a category filter
    keeps only its own case cards; no traceback, no error box, nothing English or undefined on screen."""
    big = address.startswith("bigscreen")
    page.set_viewport_size({"width": 1920, "height": 1080} if big else {"width": 1440, "height": 2400})
    page.goto(f"{app_url}/{address}")
    wait_idle(page)
    assert_no_error(page, name)
    text = page.locator("body").inner_text()
    for bad in ("nan", "None", "NaT", "Traceback", "TypeError", "Ask Google"):
        assert not re.search(rf"(?<![A-Za-z]){bad}(?![A-Za-z])", text), (bad, name)
    if "2023-2026" in address:
        expect(page.get_by_text("链接中的筛选条件已按数据范围调整").first).to_be_visible()
        assert "years=2022-2022" in page.url  # the link now says what is shown
    if name == "edge-profile-one-community":
        assert "全部社区" not in page.get_by_test_id("stCaptionContainer").first.inner_text()
        expect(page.get_by_text("第 9 / 45 名").first).to_be_visible()
    if name == "edge-overview-category":
        assert "停车难问题" in text and "邻里矛盾\n" not in text and "1,463 宗" not in text
    if big:
        expect(page.locator(".bs-title")).to_contain_text("小区排名")
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=not big)



NO_MATCH = [  # (the box, what a user types that matches no option): Streamlit writes "No results" there
    ('.st-key-f_communities input', "不存在"),  # a multiselect
    ('[class*="-datebox"] input', "1999"),  # a select box (统计截至, the year)
]


@pytest.mark.parametrize(("box", "typed"), NO_MATCH)
def test_a_search_without_a_match_says_so_in_chinese(app_url: str, page: Page, box: str, typed: str) -> None:
    """Streamlit hard-codes "No results" in its select boxes; the page's stylesheet (ui.global_style) hides it
    and writes 没有匹配的选项 in its place: read as the browser paints it (text hidden, ::after content)."""
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(app_url)
    wait_idle(page)
    page.locator(box).first.click()
    page.keyboard.type(typed)
    empty = page.locator('[role="listbox"][data-empty="true"] [role="option"] span').first
    expect(empty).to_be_attached()
    painted = empty.evaluate("""e => ({size: getComputedStyle(e).fontSize,
                                       after: getComputedStyle(e, '::after').content})""")
    assert painted == {"size": "0px", "after": '"没有匹配的选项"'}, painted
    page.screenshot(path=str(ARTIFACTS / f"no-match-{typed}.png"))

def test_cases_drill_down_to_case_list(app_url: str, page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{app_url}/cases")
    wait_idle(page)
    choose(page, page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="社区").first,
           "桂南", "桂南社区")
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"桂南社区\*\*|桂南社区 各小区|桂南社区各小区")).first).to_be_visible()
    expect(page.get_by_text(re.compile("事项清单")).first).to_be_visible()
    assert_no_error(page, "cases-drill")
    page.screenshot(path=str(ARTIFACTS / "cases-drill-down.png"), full_page=True)


def test_intake_upload_preview_error_report_and_commit(sample_db: Path, tmp_path: Path, page: Page) -> None:
    """数据上报 in a real browser, on a private copy of the sample (the commit publishes a new version)."""
    import shutil

    import openpyxl
    from appserver import AppServer
    from conftest import query, write_xlsx

    db = tmp_path / "db" / "guicheng.duckdb"
    db.parent.mkdir()
    shutil.copyfile(sample_db, db)
    state = tmp_path / "state"
    state.mkdir()
    header = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
    messy = write_xlsx(tmp_path / "桂南社区_事项台账_2022.xlsx", {"2022年": [
        ["桂南社区2022年事项登记台账"], header,
        ["GN-B1", "桂南", None, "纠纷", "2022-05-05", "2022-05-09"],
        ["GN-B2", "桂北", None, "卫生", "2022-05-06", None],
        ["GN-B3", "桂南", None, "噪音", "2022-05-07", None],
        ["GN-B4", "桂南", None, "停车", "2022-05-08", None],
        ["填表人：张三", None, "审核人：李四"]]}, merges={"2022年": ["A1:F1"]})
    server = AppServer(db, state)
    try:
        server.wait_healthy()
        page.set_viewport_size({"width": 1440, "height": 1700})
        page.goto(f"{server.url}/intake")
        wait_idle(page)
        expect(page.get_by_role("heading", name="数据上报", exact=True).first).to_be_visible()
        page.get_by_test_id("stFileUploaderDropzoneInput").set_input_files([
            {"name": messy.name, "mimeType": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "buffer": messy.read_bytes()},
            {"name": "照片.xlsx", "mimeType": "image/png", "buffer": b"\x89PNG\r\n\x1a\n" + b"\0" * 64}])
        wait_idle(page)
        expect(page.get_by_role("heading", name="预览").first).to_be_visible()
        cells = page.get_by_test_id("stDataFrame").first.locator("td").all_inner_texts()
        assert cells[:12] == [messy.name, "可载入", "事项台账", "桂南社区", "2022-05", "4", "2", "0", "0", "0", "2",
                              "有 2 行无法载入，请下载问题说明发回社区更正"], cells
        assert "已拒收" in cells
        expect(page.get_by_role("alert").filter(has_text="文件内容是 PNG 图片，不是 Excel 台账")).to_be_visible()
        reasons = " ".join(page.get_by_test_id("stDataFrame").locator("td").all_inner_texts())
        assert "社区「桂北」不在街道 45 个社区名单中，请核对社区名称" in reasons
        assert "类别「噪音」无法识别" in reasons
        page.screenshot(path=str(ARTIFACTS / "intake.png"), full_page=True)

        button = page.get_by_role("button", name="下载问题说明")
        expect(button).to_be_enabled()
        with page.expect_download(timeout=60_000) as download:  # two busy cores: give the server time
            button.click()
        assert download.value.suggested_filename == "桂南社区_事项台账_2022_问题说明.xlsx"
        saved = tmp_path / download.value.suggested_filename
        download.value.save_as(saved)
        report = openpyxl.load_workbook(saved)
        assert report.sheetnames == ["问题汇总", "2022年"]
        ws = report["2022年"]
        assert ws["G2"].value == "问题说明" and ws["G4"].value.startswith("社区「桂北」")
        assert {c.coordinate for row in ws.iter_rows() for c in row if c.fill.fill_type == "solid"} == {"B4", "D5"}

        page.get_by_role("button", name="确认入库（1 个文件）").click()
        wait_idle(page)
        expect(page.get_by_test_id("stAlertContentSuccess")).to_contain_text("已入库 1 个文件")
        assert_no_error(page, "intake")
        assert query(db, "SELECT case_id FROM cases WHERE source_file = ? ORDER BY 1", [messy.name]) == \
            [("GN-B1",), ("GN-B4",)]
        page.goto(f"{server.url}/quality")  # the dashboard shows the new load at once
        wait_idle(page)
        expect(page.get_by_role("heading", name="逾期未报")).to_be_visible()
        # the tables draw after the script ends; on a busy machine that takes a moment
        expect(page.get_by_test_id("stDataFrame").locator("td").filter(has_text=messy.name).first) \
            .to_be_attached(timeout=30_000)
    finally:
        server.close()


def test_bigscreen_fills_1920x1080_hides_chrome_and_rotates(app_url: str, page: Page) -> None:
    page.set_viewport_size({"width": 1920, "height": 1080})
    page.goto(f"{app_url}/bigscreen?interval=600")
    wait_idle(page)
    expect(page.locator(".bs-title")).to_contain_text("数读")
    for chrome in ("stSidebar", "stHeader", "stToolbar"):
        expect(page.get_by_test_id(chrome)).to_be_hidden()
    expect(page.get_by_text("数据更新于").first).to_be_visible()
    expect(page.locator(".bs-badge")).to_have_text("示例数据")
    width, height = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.scrollHeight]")
    assert (width, height) == (1920, 1080), "the screen fits 1920×1080 without scrolling"
    footer = page.locator(".bs-foot").bounding_box()
    assert footer and footer["y"] + footer["height"] <= 1080
    assert_no_error(page, "bigscreen")
    page.screenshot(path=str(ARTIFACTS / "bigscreen.png"))
    # the views rotate on their own (?interval=5: every five seconds)
    page.goto(f"{app_url}/bigscreen?interval=5")
    expect(page.locator(".bs-title")).to_contain_text("数读", timeout=60_000)
    expect(page.locator(".bs-title")).to_contain_text("事项趋势", timeout=15_000)
    expect(page.locator(".st-key-bs-view svg.sc").first).to_be_visible()  # the big screen draws SVG charts
    expect(page.locator(".bs-title")).to_contain_text("社区排名", timeout=15_000)
    assert_no_error(page, "bigscreen-rotated")
    page.screenshot(path=str(ARTIFACTS / "bigscreen-ranking.png"))


def test_bigscreen_reloads_when_a_new_load_is_published(sample_db: Path, tmp_path: Path, page: Page) -> None:
    import os
    import shutil

    import duckdb

    from appserver import AppServer

    served = tmp_path / "db" / "guicheng.duckdb"
    served.parent.mkdir()
    shutil.copy(sample_db, served)
    server = AppServer(served, tmp_path)
    try:
        server.wait_healthy()
        page.set_viewport_size({"width": 1920, "height": 1080})
        page.goto(f"{server.url}/bigscreen?view=1")
        wait_idle(page)
        expect(page.locator(".bs-meta")).to_contain_text("数据更新于")
        assert "2030年1月2日 03:04" not in page.locator(".bs-meta").inner_text()
        fresh = tmp_path / "db" / "next.duckdb"  # a new load, published by an atomic swap as the loader does
        shutil.copy(served, fresh)
        con = duckdb.connect(str(fresh))
        con.execute("UPDATE meta SET value = '2030-01-02 03:04:05' WHERE key = 'published_at'")
        con.close()
        os.replace(fresh, served)
        expect(page.locator(".bs-meta")).to_contain_text("2030年1月2日 03:04", timeout=30_000)
        assert_no_error(page, "bigscreen-reloaded")
    finally:
        server.close()


def test_scoped_viewer_signs_in_and_sees_only_their_community(sample_db: Path, tmp_path: Path, page: Page) -> None:
    """A server with users configured: sign-in screen, a community viewer's pages and numbers, sign-out."""
    import duckdb

    from appserver import AppServer
    from chuangshu import auth, fmt, metrics
    from chuangshu.filters import Filters

    home, password = "桂南社区", "zhang-password-1"
    secrets = tmp_path / "secrets.toml"
    secrets.write_text(
        f'[users.zhang]\nname = "张三"\nrole = "viewer"\ncommunity = "{home}"\n'
        f'password_hash = "{auth.hash_password(password)}"\n', encoding="utf-8")
    con = duckdb.connect(str(sample_db), read_only=True)
    try:
        head = metrics.headline(con.cursor(), Filters(communities=(home,)))
        everything = metrics.headline(con.cursor(), Filters())
    finally:
        con.close()
    expected = [fmt.metric_value(r.value, r.unit, metrics.METRICS[r.key].kind) for r in head.itertuples()]
    whole = {r.key: fmt.metric_value(r.value, r.unit, metrics.METRICS[r.key].kind) for r in everything.itertuples()}
    state = tmp_path / "state"
    state.mkdir()
    server = AppServer(sample_db, state, extra_env={"STREAMLIT_SECRETS_FILES": str(secrets)})
    try:
        server.wait_healthy()
        page.set_viewport_size({"width": 1440, "height": 1000})
        # the first request of the server asks for the SQL page directly: only the sign-in screen comes back
        page.goto(f"{server.url}/query")
        wait_idle(page)
        expect(page.get_by_label("用户名")).to_be_visible()
        assert page.locator("textarea").count() == 0 and not metric_values(page)
        page.goto(server.url)
        wait_idle(page)
        expect(page.get_by_role("button", name="登录")).to_be_visible()
        assert page.get_by_test_id("stSidebarNav").count() == 0
        page.get_by_label("用户名").fill("zhang")
        page.get_by_label("密码", exact=True).fill("wrong-password")
        page.get_by_role("button", name="登录").click()
        wait_idle(page)
        expect(page.get_by_text(auth.MSG_BAD_LOGIN)).to_be_visible()
        page.screenshot(path=str(ARTIFACTS / "login.png"), full_page=True)

        page.get_by_label("用户名").fill("zhang")
        page.get_by_label("密码", exact=True).fill(password)
        page.get_by_role("button", name="登录").click()
        wait_idle(page)
        expect(page.get_by_role("heading", name="总览", exact=True).first).to_be_visible()
        sidebar = page.get_by_test_id("stSidebar")
        expect(sidebar.get_by_text("当前用户：张三 · 查看者 · 桂南社区")).to_be_visible()
        nav = page.get_by_test_id("stSidebarNav").inner_text()
        assert "总览" in nav and "事项" in nav
        for hidden in ("即席查询", "数据质量", "数据上报"):
            assert hidden not in nav, (hidden, nav)
        values = metric_values(page)
        for value in expected:
            assert value in values, (value, values)
        assert whole["volunteers"] not in values  # 2,186 名 is the whole sub-district
        expect(page.get_by_text(f"· {home}").first).to_be_visible()  # the caption says whose numbers they are
        assert_no_error(page, "scoped")
        page.screenshot(path=str(ARTIFACTS / "scoped.png"), full_page=True)

        page.get_by_test_id("stSidebarNav").get_by_text("社区画像").click()  # no comparison with the others
        wait_idle(page)
        expect(page.get_by_role("heading", name="社区画像", exact=True).first).to_be_visible()
        expect(page.get_by_text("仅街道办账号可见")).to_be_visible()
        assert page.get_by_test_id("stMetricDelta").count() == 0  # no 「街道中位数 … · 第 n 名」 under the cards
        assert_no_error(page, "scoped-community")

        page.get_by_test_id("stSidebar").get_by_role("button", name="退出登录").click()
        wait_idle(page)
        expect(page.get_by_label("用户名")).to_be_visible()
        assert not metric_values(page)
    finally:
        server.close()


def test_league_table_and_warnings_lead_to_the_rows_behind_a_red_cell(app_url: str, page: Page) -> None:
    """考核: the league table and the warning list (screenshots), then one click on the sub-district's red
    办结率 cell opens its figure, 口径 and the case rows with their source file and row number."""
    from chuangshu.assessment_ui import WIDTHS

    page.set_viewport_size({"width": 1920, "height": 1400})
    page.goto(f"{app_url}/assessment")
    wait_idle(page)
    assert_no_error(page, "assessment")
    table = page.get_by_test_id("stDataFrame").first
    table.screenshot(path=str(ARTIFACTS / "assessment-league.png"))
    warnings = page.get_by_test_id("stDataFrame").nth(3)  # league, the two movers tables, the warnings
    warnings.scroll_into_view_if_needed()
    warnings.screenshot(path=str(ARTIFACTS / "assessment-warnings.png"))
    text = page.locator("body").inner_text()
    assert "✓ 达标（绿）" in text and "超时未办结" in text and "上升最多" in text
    table.scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    box = table.bounding_box()
    before = sum(WIDTHS[c] for c in ("community", "peer_group", "received", "index", "rank", "change"))
    page.mouse.click(box["x"] + before + WIDTHS["metric"] / 2, box["y"] + 35 + 17)  # row 全街道, column 办结率
    wait_idle(page)
    panel = page.get_by_text("全街道 · 2022年6月 · 办结率", exact=False).first
    expect(panel).to_be_visible()
    body = page.locator("body").inner_text()
    assert "口径：统计区间内登记的事项中" in body and "× 未达标" in body
    rows = page.get_by_test_id("stDataFrame").nth(1)
    expect(rows).to_contain_text("来源文件")
    expect(rows).to_contain_text("行号")
    assert_no_error(page, "assessment-clicked")
    page.screenshot(path=str(ARTIFACTS / "assessment-clicked.png"), full_page=True)
