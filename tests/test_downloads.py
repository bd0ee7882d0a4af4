"""Short-lived downloads (chuangshu.downloads): built only when clicked, random URLs, gone seconds
after the download — not alive for the browser session plus two minutes.

The storage is tested as a table on a fake clock; every page's download buttons through AppTest
(each is deferred and its file builds off the script thread); and a real server in a real
browser: download, close the tab, and the URL is gone within seconds (marked ``browser``).
"""
from __future__ import annotations

import ast
import io
import shutil
import time
import urllib.error
import urllib.request
from pathlib import Path

import openpyxl
import pytest
from streamlit.runtime.media_file_storage import MediaFileKind, MediaFileStorageError
from streamlit.testing.v1 import AppTest

from chuangshu import downloads
from deferred import Deferred, deferred_downloads  # noqa: F401 - a fixture

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
D = MediaFileKind.DOWNLOADABLE


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def storage() -> tuple[downloads.ShortLivedMediaStorage, Clock]:
    clock = Clock()
    return downloads.ShortLivedMediaStorage("/media", first_fetch_s=60, after_fetch_s=10, clock=clock), clock


def served(store: downloads.ShortLivedMediaStorage, file_id: str) -> bool:
    try:
        store.get_file(file_id + ".xlsx")
    except MediaFileStorageError:
        return False
    return True


# --------------------------------------------------------------------------- the storage, on a fake clock


@pytest.mark.parametrize(("steps", "case"), [
    # (seconds after the file was made, served?)
    ([(0, True), (5, True), (9.9, True), (10, False)], "fetched at once: gone 10 s after the first request"),
    ([(0, True), (0.1, True), (0.2, True), (9, True), (10.1, False)], "the page's check and the download both get it"),
    ([(30, True), (39, True), (40.1, False)], "fetched late: 10 s after that"),
    ([(59.9, True), (69.8, True), (69.9, False)], "first request just in time"),
    ([(60, False)], "never fetched: gone 60 s after it was made"),
])
def test_a_download_lives_briefly(steps: list[tuple[float, bool]], case: str) -> None:
    store, clock = storage()
    file_id = store.load_and_get_id(b"data", XLSX, D, "数据.xlsx")
    assert store.get_url(file_id) == f"/media/{file_id}.xlsx"  # making the URL is not a request
    start = clock.now
    for after, want in steps:
        clock.now = start + after
        assert served(store, file_id) is want, (case, after)
    assert store.downloads() == 0 if not want else 1


def test_download_ids_are_random_and_media_ids_are_not() -> None:
    store, _ = storage()
    a = store.load_and_get_id(b"same bytes", XLSX, D, "a.xlsx")
    b = store.load_and_get_id(b"same bytes", XLSX, D, "a.xlsx")
    assert a != b and len(a) == 32 and int(a, 16) >= 0  # two sessions never share a URL
    m1 = store.load_and_get_id(b"png", "image/png", MediaFileKind.MEDIA)
    m2 = store.load_and_get_id(b"png", "image/png", MediaFileKind.MEDIA)
    assert m1 == m2  # images on a page keep Streamlit's content ids and never expire
    store._clock.now += 3600  # type: ignore[attr-defined]
    assert store.get_file(m1 + ".png").content == b"png"
    assert not served(store, a) and store.downloads() == 0


def test_deleting_forgets_the_deadline() -> None:
    store, _ = storage()
    file_id = store.load_and_get_id(b"x", XLSX, D, "x.xlsx")
    store.delete_file(file_id)
    store.delete_file(file_id)  # twice is fine, as in Streamlit
    assert not served(store, file_id) and store.downloads() == 0


def test_install_replaces_the_servers_media_storage(monkeypatch: pytest.MonkeyPatch) -> None:
    from streamlit.web.server import server

    monkeypatch.setattr(server, "MemoryMediaFileStorage", server.MemoryMediaFileStorage)
    downloads.install()
    assert server.MemoryMediaFileStorage is downloads.ShortLivedMediaStorage
    assert hasattr(server.Server("x.py", False)._runtime.media_file_mgr._storage, "downloads")


# --------------------------------------------------------------------------- every download is built on click


def download_calls() -> list[tuple[str, int, ast.expr | None]]:
    """(file, line, the data argument) of every st.download_button call in the product code."""
    out = []
    for path in [ROOT / "dashboard.py", *sorted((ROOT / "chuangshu").glob("*.py")), *sorted((ROOT / "pages").glob("*.py"))]:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "download_button":
                data = next((k.value for k in node.keywords if k.arg == "data"), node.args[1] if len(node.args) > 1 else None)
                out.append((str(path.relative_to(ROOT)), node.lineno, data))
    return out


def test_every_download_button_in_the_code_gets_a_callable() -> None:
    calls = download_calls()
    assert len(calls) >= 7
    bytes_now = [f"{f}:{line}" for f, line, data in calls if not isinstance(data, (ast.Lambda, ast.Attribute))]
    assert not bytes_now, "pass data=lambda: … so the file is built on the click (chuangshu.downloads)"


@pytest.fixture
def env(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> Path:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    return sample_db


def test_chart_data_downloads_are_built_on_click(env: Path, deferred_downloads: Deferred) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    files, images = [], []
    for page in ("pages/overview.py", "pages/cases.py", "pages/teams.py"):
        at.switch_page(page).run()
        assert not at.exception and not at.error
        files += deferred_downloads.files(at, "下载数据")
        images += [b.proto for b in at.get("download_button") if b.proto.label in ("PNG 图片", "SVG 矢量图")]
    assert len(files) >= 5 and images
    for _, data in files:
        assert openpyxl.load_workbook(io.BytesIO(data)).active.max_row >= 2
    assert all(p.deferred_file_id and not p.url for p in images)  # rendered only when clicked (kaleido)


def test_slides_are_handed_over_on_click(env: Path, deferred_downloads: Deferred) -> None:
    at = AppTest.from_file(APP, default_timeout=180).run()
    at.switch_page("pages/export.py").run()
    at.checkbox(key="export_pdf").uncheck().run()
    at.button(key="export_generate").click().run()
    assert not at.exception and not at.error
    ((label, data),) = deferred_downloads.files(at)
    assert label == "下载 PPTX" and data == at.session_state["export_result"]["pptx"]


def test_sql_downloads_carry_the_parameters_although_built_off_the_script_thread(
        env: Path, deferred_downloads: Deferred) -> None:
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/query.py").run()
    at.text_area(key="sql").input("SELECT community, count(*) AS n FROM cases WHERE community = $c GROUP BY 1").run()
    at.text_input(key="param_c").input("桂南社区")
    at.button(key="run").click().run()
    assert not at.exception and not at.error
    files = dict(deferred_downloads.files(at))
    assert set(files) == {"下载 CSV", "下载 Excel"}
    assert "桂南社区" in files["下载 CSV"].decode("utf-8-sig")
    info = openpyxl.load_workbook(io.BytesIO(files["下载 Excel"]))["查询说明"]
    assert ("参数 $c", "桂南社区") in [(r[0].value, r[1].value) for r in info.iter_rows()]


def test_intake_error_report_is_built_on_click(sample_db: Path, tmp_path: Path, app_state_dir: Path,
                                               monkeypatch: pytest.MonkeyPatch, nav_apptest: None,
                                               deferred_downloads: Deferred) -> None:
    from conftest import write_xlsx

    db = tmp_path / "db" / "guicheng.duckdb"
    db.parent.mkdir()
    shutil.copyfile(sample_db, db)
    monkeypatch.setenv("CHUANGSHU_DB", str(db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    ledger = write_xlsx(tmp_path / "l.xlsx", {"2022": [
        ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"],
        ["GN-A1", "桂南", None, "卫生", "2022-13-01", None]]}).read_bytes()
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/intake.py").run()
    at.get("file_uploader")[0].set_value([("桂南社区_事项台账_2022.xlsx", ledger, XLSX)]).run()
    assert not at.exception
    ((_, report),) = deferred_downloads.files(at, "下载问题说明（Excel，可发回社区更正）")
    assert "问题汇总" in openpyxl.load_workbook(io.BytesIO(report)).sheetnames


# --------------------------------------------------------------------------- a real server, a real browser


def status(url: str) -> int:
    """The HTTP status of a plain request (no cookies, no session)."""
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code


def gone_after(url: str, limit_s: float) -> float:
    """Seconds until ``url`` answers 404 (polling), or fail after ``limit_s``."""
    start = time.monotonic()
    while time.monotonic() - start < limit_s:
        if status(url) == 404:
            return time.monotonic() - start
        time.sleep(0.25)
    raise AssertionError(f"{url} still served {limit_s:.0f} s later")


@pytest.mark.browser
@pytest.mark.parametrize(("path", "button", "suffix"), [
    ("", "下载数据", ".xlsx"),
    ("export", "下载 PPTX", ".pptx"),
])
def test_a_download_is_gone_seconds_after_the_tab_closed(sample_db: Path, tmp_path: Path, browser, path: str,
                                                         button: str, suffix: str) -> None:
    from appserver import AppServer
    from test_browser import wait_idle

    state = tmp_path / "state"
    state.mkdir()
    server = AppServer(sample_db, state)
    try:
        server.wait_healthy()
        context = browser.new_context(accept_downloads=True)
        page = context.new_page()
        page.set_viewport_size({"width": 1440, "height": 1600})
        page.goto(f"{server.url}/{path}")
        wait_idle(page)
        assert not page.locator('a[href*="/media/"]').count()  # nothing built before a click
        if path == "export":
            page.get_by_text("同时生成 PDF").click()  # the PDF is not needed here
            page.get_by_role("button", name="生成汇报材料").click()
            wait_idle(page, 180)
        with page.expect_download(timeout=90_000) as info:
            page.get_by_role("button", name=button).first.click()
        download = info.value
        url = download.url
        assert "/media/" in url and url.endswith(suffix)
        assert Path(download.path()).stat().st_size > 1000
        downloaded_at = time.monotonic()
        context.close()  # the tab goes without signing out; the session lives on on the server
        waited = gone_after(url, downloads.AFTER_FETCH_S + 20)
        total = time.monotonic() - downloaded_at
        print(f"{suffix}: 404 {total:.1f} s after the download ({waited:.1f} s after the tab closed)")
        assert total <= downloads.AFTER_FETCH_S + 5
    finally:
        server.close()
