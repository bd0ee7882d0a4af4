"""Hostile input in a real browser: a saved query's description and name shown as plain text, and
the no-users mode on a server listening on every address (``::``) letting in this machine's
IPv4 and IPv6 loopback, nothing else. Screenshots under tests/artifacts/."""
from __future__ import annotations

import ipaddress
import json
import socket
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


def lan_address(family: socket.AddressFamily) -> str | None:
    """This machine's own non-loopback address of ``family`` (the one it would send from), or None.

    A UDP "connect" sends nothing; it only picks the route and so the source address."""
    target = ("192.0.2.1", 9) if family == socket.AF_INET else ("2001:db8::1", 9)
    try:
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.connect(target)
            ip = s.getsockname()[0]
    except OSError:
        return None
    address = ipaddress.ip_address(ip.split("%", 1)[0])
    if address.is_loopback or address.is_unspecified or address.is_link_local:
        return None
    return ip if family == socket.AF_INET else f"[{ip}]"


HOSTS = {  # how the browser reaches the server on :: -> let in as this machine?
    "127.0.0.1": (lambda: "127.0.0.1", True),
    "[::1]": (lambda: "[::1]", True),
    # the same machine through its network address arrives from that address, like another machine:
    # only loopback counts as local, so this is refused (what a colleague on the LAN would see)
    "LAN IPv4": (lambda: lan_address(socket.AF_INET), False),
    "LAN IPv6": (lambda: lan_address(socket.AF_INET6), False),
}


@pytest.mark.parametrize("case", HOSTS)
def test_no_users_mode_on_every_address_lets_this_machine_in(sample_db: Path, tmp_path: Path, page: Page,
                                                             case: str) -> None:
    from appserver import AppServer
    from test_browser import wait_idle

    address, local = HOSTS[case]
    host = address()
    if host is None:
        pytest.skip(f"this machine has no {case} address")
    state = tmp_path / "state"
    state.mkdir()
    server = AppServer(sample_db, state, address="::")
    try:
        server.wait_healthy()
        page.goto(f"http://{host}:{server.port}/")
        wait_idle(page)
        if local:
            expect(page.get_by_role("heading", name="总览", exact=True).first).to_be_visible()
            assert page.get_by_text(signin.MSG_REMOTE).count() == 0
            expect(page.get_by_text(signin.MSG_LOCAL_MODE)).to_be_visible()
        else:
            expect(page.get_by_text(signin.MSG_REMOTE)).to_be_visible()
            assert page.get_by_role("heading", name="总览", exact=True).count() == 0
            assert page.get_by_text(signin.MSG_LOCAL_MODE).count() == 0
    finally:
        server.close()
