"""Hostile input in a real browser: a saved query's description and name shown as plain text, and
the no-users mode on a server listening on every address (``::``) letting in this machine's
IPv4 and IPv6 loopback, nothing else. Screenshots under tests/artifacts/."""
from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import quote, urlsplit

import pytest
from playwright.sync_api import Page, expect

from chuangshu import signin

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).parent / "artifacts"
NAME = "[请重新登录](http://evil.example/n)"
DESCRIPTION = ("![](http://evil.example/pixel.png) 会话已过期，[请重新登录](http://evil.example/login) "
               "<img src=http://evil.example/p2.png> **粗体** :red[红字] www.evil.example")


def test_saved_query_description_and_name_render_as_plain_text(sample_db: Path, tmp_path: Path, page: Page) -> None:
    from appserver import AppServer
    from test_browser import wait_idle

    state = tmp_path / "state"
    state.mkdir()
    (state / "saved_queries.json").write_text(json.dumps({"version": 2, "queries": [{
        "name": NAME, "description": DESCRIPTION, "sql": "SELECT count(*) AS n FROM cases", "params": [],
        "owner": "zhao", "scope": "桂南社区"}]}, ensure_ascii=False), encoding="utf-8")
    server = AppServer(sample_db, state)
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    try:
        server.wait_healthy()
        page.set_viewport_size({"width": 1440, "height": 1400})
        page.goto(f"{server.url}/query?q={quote(NAME)}")
        wait_idle(page)
        main = page.get_by_test_id("stMain")
        expect(main.get_by_text(f"说明：{DESCRIPTION}", exact=True)).to_be_visible()
        expect(main.get_by_text(f"编辑常用查询 {NAME}")).to_be_visible()  # the name, literally (in a code span)
        page.screenshot(path=str(ARTIFACTS / "query-plain-description.png"), full_page=True)
        header = main.get_by_text("编辑常用查询").first
        header.click()  # open the form: the name in its label and in the delete tick
        page.set_viewport_size({"width": 1440, "height": 2400})
        expect(main.get_by_text(f"确认删除 {NAME}")).to_be_visible()
        header.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "query-plain-name.png"))
        bad = page.locator('img[src*="evil"], a[href*="evil"], strong:has-text("粗体")')
        assert bad.count() == 0, [bad.nth(i).evaluate("e => e.outerHTML") for i in range(bad.count())]
        assert not [u for u in requests if urlsplit(u).hostname == "evil.example"]  # no tracking pixel fetched
    finally:
        server.close()


@pytest.mark.parametrize("host", ["127.0.0.1", "[::1]"])
def test_no_users_mode_on_every_address_lets_this_machine_in(sample_db: Path, tmp_path: Path, page: Page,
                                                             host: str) -> None:
    from appserver import AppServer
    from test_browser import wait_idle

    state = tmp_path / "state"
    state.mkdir()
    server = AppServer(sample_db, state, address="::")
    try:
        server.wait_healthy()
        page.goto(f"http://{host}:{server.port}/")
        wait_idle(page)
        expect(page.get_by_role("heading", name="总览", exact=True).first).to_be_visible()
        assert page.get_by_text(signin.MSG_REMOTE).count() == 0
        expect(page.get_by_text(signin.MSG_LOCAL_MODE)).to_be_visible()
    finally:
        server.close()
