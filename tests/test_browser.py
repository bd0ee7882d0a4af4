"""End to end in a real browser (Debian's chromium via Playwright): every page, a filter, a drill-down.

Screenshots of every page are saved under tests/artifacts/ for review.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
PAGES = [("", "总览"), ("cases", "事项"), ("teams", "队伍"), ("organizations", "组织"), ("projects", "项目与活动"),
         ("community", "社区画像"), ("milestones", "大事记"), ("quality", "数据质量"), ("query", "即席查询")]


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
    page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="社区").first.click()
    page.keyboard.type("桂南")
    page.get_by_role("option", name="桂南社区", exact=True).click()
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


def test_cases_drill_down_to_case_list(app_url: str, page: Page) -> None:
    page.set_viewport_size({"width": 1440, "height": 900})
    page.goto(f"{app_url}/cases")
    wait_idle(page)
    page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="社区").first.click()
    page.keyboard.type("桂南")
    page.get_by_role("option", name="桂南社区", exact=True).click()
    wait_idle(page)
    expect(page.get_by_text(re.compile(r"桂南社区\*\*|桂南社区 各小区|桂南社区各小区")).first).to_be_visible()
    expect(page.get_by_text(re.compile("事项清单")).first).to_be_visible()
    assert_no_error(page, "cases-drill")
    page.screenshot(path=str(ARTIFACTS / "cases-drill-down.png"), full_page=True)
