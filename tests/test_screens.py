"""Every screen in the room, in a real browser (Debian's chromium): the big screen at projector sizes, the phone
view at phone widths, the briefing with no network. One server for the module (a private copy of the sample,
with a public address and the briefing open by access code). Screenshots go to tests/artifacts/.

What "fits" means is measured in the page (tests/screen_checks.py): nothing outside the viewport, no page
scrolling, no text wider than its box, no clipping container hiding content, no chart text leaving its chart
or lying over another, the stage's blocks and tiles apart.

To keep the suite's time down, the pages of a test load in parallel and the big screen's sizes after
the first (1366×768) are reached by resizing the window: the stage script follows a resize exactly as
on a fresh load (a projector changing resolution), and nothing the server draws depends on the width.
"""
from __future__ import annotations

import gzip
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page

from chuangshu import bigscreen_ui, briefing, phone_ui, sharing
from screen_checks import FITS, PHONE

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
CODE = "k7m2p9q4"
PUBLIC = "http://192.168.1.20:8501"
SCREENS = [(1366, 768), (1920, 1080), (390, 844), (1024, 768), (3840, 2160)]  # 16:9 at three sizes, 4:3, a phone
SHOTS = [(1366, 768), (1920, 1080), (390, 844)]  # screenshots of every view (the others are measured only)
PHONES = [(360, 740), (414, 896)]


@pytest.fixture(scope="module")
def server(sample_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """The dashboard (python -m chuangshu.serve) on a copy of the sample, QR codes and briefing configured."""
    from appserver import AppServer

    folder = tmp_path_factory.mktemp("screens")
    db = folder / "db" / "guicheng.duckdb"
    db.parent.mkdir()
    shutil.copyfile(sample_db, db)
    state = folder / "state"
    state.mkdir()
    settings(state, public_url=PUBLIC, briefing="code", code=CODE)
    env = {name: "" for name in sharing.ENV.values()}  # the settings file decides, not the caller's environment
    app = AppServer(db, state, extra_env=env)
    try:
        app.wait_healthy()
        app.db, app.state = db, state  # type: ignore[attr-defined]
        yield app
    finally:
        app.close()


def settings(state: Path, **values: str) -> None:
    (state / sharing.FILE_NAME).write_text(json.dumps(values), encoding="utf-8")


def settle(page: Page, selector: str, timeout_s: float = 90) -> None:
    """Wait until the script has run, ``selector`` is there and the page has stopped changing."""
    page.wait_for_selector('[data-testid="stApp"][data-test-script-state="notRunning"]', timeout=timeout_s * 1000)
    page.wait_for_selector(selector, timeout=timeout_s * 1000)
    last, stable = None, 0
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and stable < 3:
        n = page.evaluate("document.querySelectorAll('[data-testid=stMain] *').length")
        stable = stable + 1 if n == last else 0
        last = n
        page.wait_for_timeout(300)
    page.wait_for_timeout(300)  # fonts and layout after the last change


def decoded(png: Path) -> list[str]:
    """What the QR codes in a screenshot say (zbarimg), [] when zbarimg is not installed."""
    if not shutil.which("zbarimg"):
        return []
    out = subprocess.run(["zbarimg", "-q", "--raw", str(png)], capture_output=True, text=True, timeout=60)
    return out.stdout.split()


# --- the big screen ------------------------------------------------------------------------------------

def staged(page: Page, width: int, height: int) -> None:
    """Resize the window (as a projector changing resolution would) and wait for the stage to follow."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(
        "([w, h]) => { const s = getComputedStyle(document.documentElement);"
        " const W = parseFloat(s.getPropertyValue('--bs-w')), H = parseFloat(s.getPropertyValue('--bs-h')),"
        " k = parseFloat(s.getPropertyValue('--bs-s'));"
        " return innerWidth === w && Math.abs(W * k - w) < 1 && Math.abs(H * k - h) < 1; }", arg=[width, height])


EDGES = [("one-community", "view=3&c=夏北社区"), ("empty", "view=2&asof=2012-03-31&years=2011-2012&k=加装电梯"),
         ("milestones-2016", "view=5&asof=2016-06-15&years=2011-2016"),
         ("all-filters", "view=1&asof=2021-09-15&years=2019-2021&c=夏北社区,桂南社区&k=停车,邻里矛盾")]


def test_the_big_screen_fits_every_screen(server, browser: Browser) -> None:
    """Every view, loaded at 1366×768, then on every screen size in turn (the stage follows the window, as on a
    projector changing resolution); the edges (one community, an empty range, an early date, all filters) at 1366×768."""
    pages, edge_pages = [], []
    problems: list[str] = []
    try:
        for number, _ in enumerate(bigscreen_ui.VIEWS, start=1):  # every page loads at once, then settles
            pages.append(browser.new_page(viewport={"width": 1366, "height": 768}))
            pages[-1].goto(f"{server.url}/bigscreen?view={number}", wait_until="commit")
        for _, query in EDGES:
            edge_pages.append(browser.new_page(viewport={"width": 1366, "height": 768}))
            edge_pages[-1].goto(f"{server.url}/bigscreen?{query}", wait_until="commit")
        for page, view in zip(pages, bigscreen_ui.VIEWS):
            charted = view.key in ("trend", "ranking", "teams", "milestones")
            settle(page, ".st-key-bs-view svg.sc" if charted else ".st-key-bs-view .bs-head")
            assert page.locator(".bs-title").inner_text().startswith(view.title)
        for page, (name, _) in zip(edge_pages, EDGES):
            settle(page, ".st-key-bs-view .bs-head")
            page.screenshot(path=str(ARTIFACTS / f"bigscreen-edge-{name}.png"))
            problems += [f"{name}: {p}" for p in page.evaluate(FITS)]
        assert "所选范围内" in edge_pages[1].locator(".st-key-bs-view").inner_text()  # the empty range says so
        one = edge_pages[0].locator(".st-key-bs-view")  # one community: its compounds are ranked, by name
        assert one.locator(".bs-title").inner_text().startswith("小区排名") and "夏北社区各小区" in one.inner_text()
        for width, height in SCREENS:
            for number, (page, view) in enumerate(zip(pages, bigscreen_ui.VIEWS), start=1):
                staged(page, width, height)
                problems += [f"{width}×{height} {view.key}: {p}" for p in page.evaluate(FITS)]
                if (width, height) in SHOTS:
                    shot = ARTIFACTS / f"bigscreen-{width}x{height}-{number}-{view.key}.png"
                    page.screenshot(path=str(shot))
                    if view.key == "qr" and width >= 1366 and shutil.which("zbarimg"):
                        # the large code always reads; the corner one (112 design px) at 1920 wide
                        found = decoded(shot).count(f"{PUBLIC}/briefing?code={CODE}")
                        assert found >= (2 if width >= 1920 else 1), (width, decoded(shot))
    finally:
        for page in pages + edge_pages:
            page.close()
    assert not problems, "\n".join(problems)


# --- the phone view ------------------------------------------------------------------------------------

def phone_page(browser: Browser, width: int, height: int) -> Page:
    return browser.new_page(viewport={"width": width, "height": height}, is_mobile=True, has_touch=True,
                            device_scale_factor=2, user_agent=(
                                "Mozilla/5.0 (Linux; Android 13; V2232A) AppleWebKit/537.36 (KHTML, like Gecko) "
                                "Chrome/126.0 Mobile Safari/537.36 MicroMessenger/8.0.47.2560 WeChat/arm64 "
                                "NetType/WIFI Language/zh_CN"))


def full_screenshot(page: Page, path: Path, width: int) -> None:
    """The whole page (Streamlit scrolls inside its main block: grow the window to the content)."""
    tall = page.evaluate("Math.max(document.documentElement.scrollHeight, "
                         "document.querySelector('[data-testid=stMain]')?.scrollHeight || 0)")
    page.set_viewport_size({"width": width, "height": int(tall) + 40})
    page.wait_for_function(f"innerHeight === {int(tall) + 40}")
    page.screenshot(path=str(path), full_page=True)


def test_the_phone_view_reads_on_a_phone(server, browser: Browser) -> None:
    """Every section at 360×740 (WeChat on a small Android) and 414×896; the overview reached as a phone user
    reaches it, from a desktop page's offer."""
    (w0, h0), *others = PHONES
    pages = []
    problems = []
    try:
        for section in phone_ui.SECTIONS:
            page = phone_page(browser, w0, h0)
            first = section is phone_ui.SECTIONS[0]
            page.goto(f"{server.url}/cases" if first else f"{server.url}/m?s={section.key}", wait_until="commit")
            pages.append(page)
        settle(pages[0], '[data-testid="stPageLink"]')
        pages[0].get_by_text("在手机上看？打开手机版").click()
        pages[0].wait_for_url("**/m**")
        for page, section in zip(pages, phone_ui.SECTIONS):
            settle(page, ".sc-fig svg.sc")
            for width, height in PHONES:
                if (width, height) != (w0, h0):
                    page.set_viewport_size({"width": width, "height": height})
                    page.wait_for_function(f"innerWidth === {width}")
                result = page.evaluate(PHONE)
                problems += [f"{width}×{height} {section.key}: {p}" for p in result["problems"]]
                top = result["firstChartTop"]
                assert top is not None and top < height, f"{section.key}: the first chart starts at {top} px"
                page.screenshot(path=str(ARTIFACTS / f"phone-{width}x{height}-{section.key}-first-screen.png"))
            tile = page.locator("details.kpi").first
            tile.locator("summary").tap()  # a tap, not a hover, opens the definition
            assert tile.evaluate("d => d.open") and "口径" in tile.inner_text()
            tile.locator("summary").tap()
            assert not tile.evaluate("d => d.open")
            full_screenshot(page, ARTIFACTS / f"phone-{w0}-{section.key}.png", w0)
    finally:
        for page in pages:
            page.close()
    assert not problems, "\n".join(problems)


# --- the briefing ------------------------------------------------------------------------------------------

def test_the_briefing_opens_with_no_network(server, browser: Browser) -> None:
    """Served: the page asks for nothing but itself; the file: opens with the browser offline."""
    url = f"{server.url}/briefing?code={CODE}"
    (w0, h0), *_ = PHONES
    page = phone_page(browser, w0, h0)
    asked: list[str] = []

    def only_the_briefing(route) -> None:
        asked.append(route.request.url)
        route.continue_() if route.request.url == url else route.abort()

    page.route("**/*", only_the_briefing)
    try:
        page.goto(url)
        page.wait_for_load_state("load")
        assert asked == [url], asked  # the page asks for nothing else: no script, font, image or style
        assert page.locator("details.kpi").count() >= 20 and page.locator("svg.sc").count() == 3
        assert page.get_by_text("示例数据").first.is_visible()
        tile = page.locator("details.kpi[data-key=volunteers]")
        tile.locator("summary").tap()
        assert "在任的楼长、巷长、街长人数" in tile.inner_text()
        for width, height in PHONES:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_function(f"innerWidth === {width}")
            result = page.evaluate(PHONE)
            assert result["problems"] == [], (width, result["problems"])
            assert result["firstChartTop"] is not None and result["firstChartTop"] < height
            page.screenshot(path=str(ARTIFACTS / f"briefing-{width}x{height}.png"), full_page=True)
    finally:
        page.close()
    # the file itself, copied anywhere: no server, no network
    context = browser.new_context(viewport={"width": 360, "height": 740}, is_mobile=True, has_touch=True)
    context.set_offline(True)
    page = context.new_page()
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    try:
        page.goto(briefing.path_for(server.db).as_uri())
        page.wait_for_load_state("load")
        assert not failed and page.locator("svg.sc").count() == 3
        assert page.evaluate(PHONE)["problems"] == []
    finally:
        context.close()


def status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=30) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_the_briefing_is_written_by_the_server_and_served_only_as_set(server) -> None:
    target = briefing.path_for(server.db)
    assert target.exists() and not briefing.is_stale(server.db, sharing.load({}, server.state / sharing.FILE_NAME))
    url = f"{server.url}/briefing"
    try:
        assert status(f"{url}?code={CODE}") == 200
        assert status(url) == 403 and status(f"{url}?code=wrong") == 403
        settings(server.state, public_url=PUBLIC, briefing="off")
        assert status(f"{url}?code={CODE}") == 404
        settings(server.state, public_url=PUBLIC, briefing="public")
        assert status(url) == 200
        with urllib.request.urlopen(url, timeout=30) as r:
            assert r.read() == target.read_bytes()
            assert "default-src 'none'" in r.headers["Content-Security-Policy"]
        with urllib.request.urlopen(urllib.request.Request(url, headers={"Accept-Encoding": "gzip"}), timeout=30) as r:
            assert r.headers["Content-Encoding"] == "gzip" and gzip.decompress(r.read()) == target.read_bytes()
    finally:
        settings(server.state, public_url=PUBLIC, briefing="code", code=CODE)
