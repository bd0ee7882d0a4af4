"""The published briefing: written on every publish (intake commit, the server's watcher, the CLI), its
numbers those of the metric layer, partial periods labelled, no personal data, self-contained, and
served only as the administrator decides (chuangshu/sharing.py, docs/access.md).

Real-browser checks (no network, phone widths, screenshots) are in tests/test_screens.py.
"""
from __future__ import annotations

import json
import os
import re
import shutil
import time
from datetime import date, datetime
from pathlib import Path

import duckdb
import openpyxl
import pytest
from lxml import html as lhtml

from chuangshu import briefing, briefing_http, fmt, intake, metrics, sharing
from conftest import write_xlsx
from svg_read import charts

GENERATED = datetime(2026, 12, 1, 9, 30)


@pytest.fixture
def published(sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private copy of the sample database, configured as the dashboard's, with its own state folder."""
    target = tmp_path / "db" / "guicheng.duckdb"
    target.parent.mkdir()
    shutil.copyfile(sample_db, target)
    monkeypatch.setenv("CHUANGSHU_DB", str(target))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path / "state"))
    for name in sharing.ENV.values():
        monkeypatch.delenv(name, raising=False)
    return target


@pytest.fixture(scope="module")
def brief(sample_db: Path, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The briefing of the sample, whole sub-district."""
    folder = tmp_path_factory.mktemp("brief")
    db = folder / "guicheng.duckdb"
    shutil.copyfile(sample_db, db)
    html, _ = briefing.build(db, sharing.Sharing(), generated_at=GENERATED)
    return html


@pytest.fixture(scope="module")
def expected(cur) -> dict:
    """The metric layer's answers for the briefing's window (the data's default filters)."""
    f = metrics.data_span(cur).default()
    return {"f": f, "headline": metrics.headline(cur, f).set_index("key"), "totals": metrics.service_totals(cur, f),
            "table": metrics.category_table(cur, f), "by_year": metrics.cases_by_year(cur, f),
            "ranking": metrics.community_ranking(cur, f), "orgs": metrics.organization_flows(cur, f)}


# --- numbers -----------------------------------------------------------------------------------------

def test_every_figure_equals_the_metric_layer(brief: str, expected: dict) -> None:
    doc = lhtml.fromstring(brief)
    tiles = doc.xpath("//details[@data-key]")
    assert len(tiles) >= 20
    head, totals = expected["headline"], expected["totals"]
    for tile in tiles:
        key = tile.get("data-key")
        m = metrics.METRICS[key]
        value = head.loc[key, "value"] if key in head.index else totals[key]
        raw = tile.get("data-value")
        assert (raw == "") == fmt.missing(value), key
        if raw:
            assert float(raw) == pytest.approx(float(value), rel=1e-5), key
        shown = tile.xpath('.//span[@class="v"]')[0].text_content()
        assert shown == fmt.metric_value(value, m.unit, m.kind).replace(" ", ""), key
        assert m.definition in tile.text_content(), key  # tap to read the 口径
        if key in head.index:
            assert (fmt.delta(head.loc[key, "delta_pct"]) or "同比 —") in tile.text_content(), key
    shown_keys = {t.get("data-key") for t in tiles}
    assert set(metrics.HEADLINE) <= shown_keys and {"received", "resolution_rate", "satisfaction_rate"} <= shown_keys


def test_the_category_table_equals_the_metric_layer(brief: str, expected: dict) -> None:
    doc = lhtml.fromstring(brief)
    rows = doc.xpath("//table[@class='cats']/tbody/tr")
    table = expected["table"]
    assert [r.get("data-category") for r in rows] == list(table["category"])
    for row, want in zip(rows, table.to_dict("records")):
        cells = row.xpath("./td")
        assert [c.text_content() for c in cells] == [fmt.count(want["received"]), fmt.pct(want["resolution_rate"]),
                                                      fmt.days(want["median_days"])]
        assert float(cells[0].get("data-value")) == want["received"]


def test_the_charts_equal_the_metric_layer_and_label_the_partial_year(brief: str, expected: dict) -> None:
    found = {c.title: c for c in charts(brief)}
    trend = found["各类事项逐年受理（件）"]
    by_year, f = expected["by_year"], expected["f"]
    assert trend.ylabels == [p.label for p in f.periods()]
    assert trend.ylabels[-1] == "2022年（1—6月）"
    totals = by_year.groupby("period", sort=False)["received"].sum()
    assert trend.values == [fmt.count(totals[p]) for p in trend.ylabels]
    bars = {tip for tip, _ in trend.bars}
    for r in by_year[by_year["received"] > 0].to_dict("records"):
        assert f"{r['period']} · {r['label']}：{r['received']:,}" in bars
    assert all(hatched == tip.startswith("2022年（1—6月）") for tip, hatched in trend.bars)
    assert "不完整年份（斜线、浅色）" in trend.legend
    assert fmt.partial_note(f.end) in brief
    ranking = found["受理事项最多的 10 个社区（件）"]
    top = expected["ranking"].head(10)
    assert ranking.ylabels == list(top["short_name"])
    assert ranking.values == [fmt.count(v) for v in top["received"]]
    orgs = found["每年新成立的组织（个，不含楼道微信群）"]
    per_year = expected["orgs"].groupby("period", sort=False)["founded"].sum()
    assert orgs.values == [fmt.count(per_year[p]) for p in orgs.ylabels]


def test_labels_sample_as_of_and_scope(brief: str) -> None:
    text = lhtml.fromstring(brief).text_content()
    assert "示例数据" in text and "仅用于演示" in text
    assert "数据截至 2022年6月30日" in " ".join(text.split())
    assert "桂城街道（全部社区）" in text and "2011—2022年" in text
    assert "生成于 2026年12月1日 09:30" in text


def test_a_community_briefing_holds_that_community_only(published: Path, expected: dict, cur) -> None:
    html, key = briefing.build(published, sharing.Sharing(community="夏北社区"), generated_at=GENERATED)
    assert key.endswith("|夏北社区")
    text = lhtml.fromstring(html).text_content()
    assert "夏北社区" in text and "桂城街道（全部社区）" not in text
    others = [s for s in expected["ranking"]["short_name"] if s != "夏北"]
    assert not [s for s in others if s in text], "another community is named in a one-community briefing"
    found = {c.title: c for c in charts(html)}
    compounds = len(metrics.compound_cases(cur, expected["f"].only("夏北社区"), "夏北社区"))
    assert compounds <= briefing.TOP_COMMUNITIES  # all its compounds are shown: not a "最多的 N 个" list
    assert "各小区受理事项（件）" in found and not [t for t in found if "最多的" in t]


# --- self-contained, no personal data ------------------------------------------------------------------

def test_self_contained_no_script_no_outside_address(brief: str) -> None:
    assert "<script" not in brief.lower()
    assert not re.search(r"""(src|href)\s*=\s*["'](?!data:|#)""", brief, re.IGNORECASE)
    assert not re.search(r"url\((?!#|data:)", brief)  # no font or image from elsewhere in the CSS
    body = brief.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert "@import" not in body and "http://" not in body and "https://" not in body


def test_no_name_or_phone_number(brief: str, sample_ledgers: Path, cur) -> None:
    """No person's name (as written in the ledgers, or masked as stored) and no phone number."""
    names, phones = set(), set()
    for book in sample_ledgers.glob("*_三长名册.xlsx"):  # every sheet, whatever its clerk called the columns
        for sheet in openpyxl.load_workbook(book, read_only=True).worksheets:
            rows = list(sheet.iter_rows(values_only=True))
            header = next((r for r in rows if r and ({"姓名", "名字"} & set(r))), None)
            if header is None:
                continue
            at_name = next(i for i, h in enumerate(header) if h in ("姓名", "名字"))
            at_phone = next(i for i, h in enumerate(header) if h and ("电话" in str(h) or "手机" in str(h)))
            for r in rows[rows.index(header) + 1:]:
                if r and r[at_name]:
                    names.add(str(r[at_name]).strip())
                if r and r[at_phone]:
                    phones.add(re.sub(r"\D", "", str(r[at_phone])))
    masked = {n for (n,) in cur.execute("SELECT DISTINCT name_masked FROM volunteers").fetchall() if n}
    assert len(names) > 1000 and len(phones) > 1000 and masked
    from etl.sample_people import REAL_PEOPLE

    text = lhtml.fromstring(brief).text_content()
    assert not [n for n in names | REAL_PEOPLE if len(n) >= 2 and n in text]
    assert not [n for n in masked if n in text]
    assert not [p for p in phones if p in brief]
    assert not re.search(r"(?<!\d)1[3-9]\d{9}(?!\d)", brief)  # any mobile number


# --- written on publish -----------------------------------------------------------------------------

def test_written_atomically_beside_the_database_and_only_when_stale(published: Path) -> None:
    target = briefing.path_for(published)
    assert target == published.with_name("guicheng.briefing.html")
    assert briefing.is_stale(published)
    assert briefing.refresh(published) == target
    assert briefing.written_version(target) == f"{briefing.source_version(published)}|"
    assert not briefing.is_stale(published)
    mtime = target.stat().st_mtime_ns
    assert briefing.refresh(published) is None and target.stat().st_mtime_ns == mtime  # current: not rewritten
    assert sorted(p.name for p in published.parent.iterdir() if not p.name.startswith(".")) == \
        ["guicheng.briefing.html", "guicheng.duckdb"]  # no temporary file left behind


def _ledger(tmp_path: Path) -> bytes:
    header = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
    rows = [["桂南社区2022年事项登记台账"], header] + [
        [f"GN-Z{i}", "桂南", None, "停车", "2022-06-0" + str(i), "2022-06-2" + str(i)] for i in range(1, 8)]
    return write_xlsx(tmp_path / "桂南社区_事项台账_增补.xlsx", {"2022年": rows}).read_bytes()


def test_the_intake_commit_rewrites_the_briefing(published: Path, tmp_path: Path) -> None:
    briefing.refresh(published)
    before = briefing.written_version(briefing.path_for(published))
    old_page = briefing.path_for(published).read_text(encoding="utf-8")
    preview = intake.preview_uploads([("桂南社区_事项台账_增补.xlsx", _ledger(tmp_path))], published,
                                     today=date(2022, 6, 30))
    report = intake.commit(preview, published, today=date(2022, 6, 30))
    assert report is not None and report.published
    after = briefing.written_version(briefing.path_for(published))
    assert after != before and after == f"{briefing.source_version(published)}|"
    new_page = briefing.path_for(published).read_text(encoding="utf-8")
    con = duckdb.connect(str(published), read_only=True)
    try:
        parking = metrics.headline(con.cursor(), metrics.data_span(con.cursor()).default()).set_index("key")
    finally:
        con.close()
    value = parking.loc["parking", "value"]
    assert f'data-key="parking" data-value="{value:.6g}"' in new_page
    assert f'data-key="parking" data-value="{value - 7:.6g}"' in old_page  # seven more 停车 cases resolved


def test_the_servers_watcher_rewrites_it_after_any_publish(published: Path) -> None:
    watcher = briefing.start_watcher(published, interval=0.2)
    try:
        target = briefing.path_for(published)
        deadline = time.monotonic() + 60
        while briefing.is_stale(published) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not briefing.is_stale(published), "the watcher did not write the briefing at start"
        first = briefing.written_version(target)
        fresh = published.with_name("next.duckdb")  # a load published by another process: an atomic swap
        shutil.copyfile(published, fresh)
        con = duckdb.connect(str(fresh))
        con.execute("UPDATE meta SET value = '2030-01-02 03:04:05' WHERE key = 'published_at'")
        con.close()
        os.replace(fresh, published)
        deadline = time.monotonic() + 60
        while briefing.written_version(target) == first and time.monotonic() < deadline:
            time.sleep(0.2)
        assert briefing.written_version(target) != first
        assert "数据更新于 2030年1月2日 03:04" in target.read_text(encoding="utf-8")
    finally:
        watcher.stop()
        watcher.join(10)


def test_the_command_line_writes_it(published: Path, capsys: pytest.CaptureFixture) -> None:
    assert briefing.main(["--db", str(published)]) == 0
    assert "已生成简报" in capsys.readouterr().out and briefing.path_for(published).exists()
    assert briefing.main(["--db", str(published), "--if-stale"]) == 0
    assert "简报已是最新" in capsys.readouterr().out
    assert briefing.main(["--db", str(published.with_name("none.duckdb"))]) == 2
    assert "没有找到数据库" in capsys.readouterr().err


def test_a_failure_never_breaks_the_load(published: Path, monkeypatch: pytest.MonkeyPatch,
                                         caplog: pytest.LogCaptureFixture) -> None:
    def broken(*_a, **_k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(briefing, "write", broken)
    assert briefing.refresh(published) is None
    assert "briefing could not be written" in caplog.text


# --- who may read it ------------------------------------------------------------------------------------

@pytest.mark.parametrize(("settings", "scoped", "served"), [
    (sharing.Sharing(), False, False),  # off by default
    (sharing.Sharing(briefing="public"), False, True),
    (sharing.Sharing(briefing="code", code="abc12345"), False, True),
    (sharing.Sharing(briefing="public"), True, False),  # a community-scoped deployment: not the sub-district's
    (sharing.Sharing(briefing="code", code="abc12345"), True, False),
    (sharing.Sharing(briefing="public", community="桂南社区"), True, True),  # ... unless scoped too
    (sharing.Sharing(briefing="off", community="桂南社区"), True, False),
])
def test_the_access_rule(settings: sharing.Sharing, scoped: bool, served: bool) -> None:
    assert sharing.decision(settings, scoped).served is served


@pytest.mark.parametrize(("conf", "scoped"), [
    ({}, False),
    ({"users": {"a": {"role": "viewer"}, "b": {"role": "admin"}}}, False),
    ({"users": {"a": {"role": "viewer", "community": "桂南社区"}}}, True),
    ({"oidc_roles": {"default_role": "viewer", "x@y.cn": "analyst"}}, False),
    ({"oidc_roles": {"x@y.cn": {"role": "viewer", "community": "桂南社区"}}}, True),
])
def test_a_community_scoped_deployment_is_recognised(conf: dict, scoped: bool) -> None:
    assert sharing.scoped_deployment(conf) is scoped


def _settings_file(state: Path, **values) -> None:
    state.mkdir(parents=True, exist_ok=True)
    (state / sharing.FILE_NAME).write_text(json.dumps(values), encoding="utf-8")


def test_served_only_as_the_setting_says(published: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    state = tmp_path / "state"
    briefing.refresh(published)
    body = briefing.path_for(published).read_bytes()
    monkeypatch.setattr(briefing_http, "_secrets", lambda: {})
    assert briefing_http.answer(None)[0] == 404  # no settings at all: off
    _settings_file(state, briefing="off")
    status, page, headers = briefing_http.answer(None)
    assert status == 404 and "简报未开放" in page.decode() and page != body
    _settings_file(state, briefing="public")
    status, page, headers = briefing_http.answer(None)
    assert (status, page) == (200, body)
    assert "default-src 'none'" in headers["Content-Security-Policy"]
    assert briefing_http.answer(None, headers["ETag"])[0] == 304
    _settings_file(state, briefing="code", code="k7m2p9q4")
    assert briefing_http.answer(None)[0] == 403 and briefing_http.answer("wrong")[0] == 403
    assert briefing_http.answer("k7m2p9q4")[:2] == (200, body)
    _settings_file(state, briefing="code")  # a code link without a code would open to anyone: off
    assert briefing_http.answer(None)[0] == 404
    monkeypatch.setattr(briefing_http, "_secrets",
                        lambda: {"users": {"z": {"role": "viewer", "community": "桂南社区", "password_hash": "x"}}})
    _settings_file(state, briefing="public")
    status, page, _ = briefing_http.answer(None)
    assert status == 404 and "全街道简报不对外开放" in page.decode()


@pytest.mark.parametrize(("accept", "method", "gzipped", "empty"), [
    (None, "GET", False, False), ("gzip, deflate, br", "GET", True, False), ("br", "GET", False, False),
    ("gzip;q=0", "GET", False, False), ("gzip;q=0.5", "GET", True, False), ("*", "GET", True, False),
    ("gzip", "HEAD", True, True)])
def test_the_asgi_front_serves_the_same_bytes_gzipped_once(published: Path, tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch, accept: str | None,
                                                           method: str, gzipped: bool, empty: bool) -> None:
    """The server's fast path (no Starlette middleware): the file's bytes, gzip only where accepted, HEAD empty."""
    import asyncio
    import gzip

    briefing.refresh(published)
    body = briefing.path_for(published).read_bytes()
    monkeypatch.setattr(briefing_http, "_secrets", lambda: {})
    _settings_file(tmp_path / "state", briefing="code", code="k7m2p9q4")
    sent: list[dict] = []

    async def send(message: dict) -> None:
        sent.append(message)

    async def passed_on(scope, receive, send) -> None:
        sent.append({"passed": scope["path"]})

    front = briefing_http.Front(passed_on, "/briefing")
    headers = [(b"accept-encoding", accept.encode())] if accept else []
    scope = {"type": "http", "path": "/briefing", "method": method, "query_string": b"code=k7m2p9q4",
             "headers": headers}
    asyncio.run(front(scope, None, send))
    start, payload = sent
    got = dict(start["headers"])
    assert start["status"] == 200 and (got.get(b"content-encoding") == b"gzip") is gzipped
    assert b"default-src 'none'" in got[b"content-security-policy"] and got[b"vary"] == b"Accept-Encoding"
    if empty:
        assert payload["body"] == b""
    else:
        assert (gzip.decompress(payload["body"]) if gzipped else payload["body"]) == body
        assert int(got[b"content-length"]) == len(payload["body"])
    if gzipped:  # compressed once per version of the file, not per request
        assert briefing_http.GZIP.get(body, got[b"etag"].decode()) is briefing_http.GZIP.get(body, got[b"etag"].decode())
    sent.clear()
    asyncio.run(front({**scope, "headers": [(b"if-none-match", got[b"etag"])]}, None, send))
    assert sent[0]["status"] == 304 and sent[1]["body"] == b""
    sent.clear()
    asyncio.run(front({**scope, "query_string": b"code=wrong"}, None, send))
    assert sent[0]["status"] == 403
    for other in ({**scope, "path": "/briefingx"}, {**scope, "method": "POST"}, {**scope, "type": "websocket"}):
        sent.clear()
        asyncio.run(front(other, None, send))
        assert sent == [{"passed": other["path"]}]


def test_environment_variables_win_and_bad_values_are_not_obeyed(tmp_path: Path) -> None:
    path = tmp_path / "sharing.json"
    path.write_text(json.dumps({"public_url": "10.0.0.5:8501/", "briefing": "public"}), encoding="utf-8")
    s = sharing.load({}, path)
    assert (s.public_url, s.briefing, s.fixed) == ("http://10.0.0.5:8501", "public", frozenset())
    assert s.briefing_link() == "http://10.0.0.5:8501/briefing" and s.phone_link() == "http://10.0.0.5:8501/m"
    env = {"CHUANGSHU_BRIEFING": "code", "CHUANGSHU_BRIEFING_CODE": "abc 12", "CHUANGSHU_PUBLIC_URL": "https://x.cn"}
    s = sharing.load(env, path)
    assert s.briefing_link() == "https://x.cn/briefing?code=abc%2012" and s.fixed == {"briefing", "code", "public_url"}
    assert sharing.load({"CHUANGSHU_BRIEFING": "everyone"}, path).briefing == "off"  # unknown: the safe side
    path.write_text(json.dumps({"public_url": "not an address", "briefing": "everyone"}), encoding="utf-8")
    assert sharing.load({}, path) == sharing.Sharing()
    path.write_text("{broken", encoding="utf-8")
    assert sharing.load({}, path) == sharing.Sharing()


@pytest.mark.parametrize(("text", "url"), [
    ("192.168.1.20:8501", "http://192.168.1.20:8501"), ("https://screen.gc.gov.cn/", "https://screen.gc.gov.cn"),
    ("  http://[::1]:8501 ", "http://[::1]:8501"), ("", None)])
def test_public_addresses(text: str, url: str | None) -> None:
    assert sharing.normalise_url(text) == url


@pytest.mark.parametrize("text", ["http://", "http://a b", "http://x.cn/?a=1", "ftp//x", "ftp://x.cn", "x.cn#top"])
def test_addresses_that_are_refused(text: str) -> None:
    with pytest.raises(sharing.SettingError, match="不是有效的网址"):
        sharing.normalise_url(text)


def test_settings_are_saved_privately_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "sharing.json"
    s = sharing.Sharing(public_url="http://10.0.0.5:8501", briefing="code", code=sharing.new_code())
    sharing.save(s, path)
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert sharing.load({}, path) == s
    with pytest.raises(sharing.SettingError, match="需要访问码"):
        sharing.save(sharing.Sharing(briefing="code"), path)
    assert len(sharing.new_code()) == 8 and sharing.new_code() != sharing.new_code()


def test_the_qr_codes_carry_the_link() -> None:
    import segno

    url = "http://192.168.1.20:8501/briefing?code=k7m2p9q4"
    svg = sharing.qr_svg(url)
    expected = segno.make(url, error="m").svg_inline(scale=1, border=2, dark="#0B1220", light="#FFFFFF", omitsize=True)
    assert svg.split(">", 1)[1] == expected.split(">", 1)[1]  # the same modules as segno's encoding of the link
    png = sharing.qr_png(url)
    assert png.startswith(b"\x89PNG") and len(png) > 200
    assert sharing.qr_img(url).startswith('<img class="qr" alt="二维码" src="data:image/svg+xml;base64,')
