"""The published briefing: one static, self-contained HTML page of the headline figures and trends, for crowds.

A hall of 200 people opening the dashboard at once would start 200 Streamlit sessions; the
briefing is a file. Each time a load is published it is written beside the database
(``guicheng.duckdb`` → ``guicheng.briefing.html``, atomically) and the dashboard's server hands
out its bytes at ``/briefing`` without a session per reader (chuangshu/serve.py), so it can also
be copied to any ordinary web server. Phone-first (360–414 px, two figures a row, tap a figure
for its 口径), charts as inline SVG (chuangshu/svgchart.py), inline CSS, no script, no font or
image from anywhere: it opens with no network. It carries the sample-data label, the as-of date,
partial periods labelled and hatched as on the dashboard, and no personal data (no names, phone
numbers or case descriptions: only aggregates of the metric layer, community and compound names).

**When it is written** (layers stay one-way: etl never calls the dashboard):

* the dashboard server watches the published database's version (chuangshu.db: one stat every
  :data:`WATCH_S` seconds) and rewrites a stale briefing, at start and after every load,
  whoever published it (the 数据上报 page, ``python -m etl load``, a copied file);
* the 数据上报 page rewrites it right after its commit (:func:`refresh`);
* ``python -m chuangshu.briefing`` writes it from the command line (cron after a CLI load, or
  when no dashboard runs).

The briefing covers the whole programme up to the data's last day (the default filters), for the
whole sub-district — or, when the administrator scopes it to one community (chuangshu/sharing.py),
for that community only, built on its scoped database (no ranking among communities).
"""
from __future__ import annotations

import argparse
import html
import logging
import os
import re
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import duckdb
import pandas as pd

from chuangshu import db as dbmod
from chuangshu import fmt, metrics, phone, sharing, svgchart, theme
from chuangshu.filters import Filters
from chuangshu.paths import db_path

log = logging.getLogger(__name__)
SUFFIX = ".briefing.html"
WATCH_S = 5.0
TOP_COMMUNITIES = 10
VERSION_META = "chuangshu-source"
SOURCE = "来源：各社区上报台账（创熟台账库）"
LEAD_KEYS = ("volunteers", "associations")  # beside 受理事项 and 办结率, before the first chart
TEAM_KEYS = ("communities", "building_heads", "lane_street_heads", "compounds_with_heads")
ORG_KEYS = ("self_gov_groups", "social_orgs", "red_committees", "stations", "wechat_groups")
SERVICE_KEYS = ("resolved", "on_time_rate", "satisfaction_rate", "open_backlog")


def path_for(database: Path | None = None) -> Path:
    """Where the briefing of ``database`` (default: the configured one) is written: beside it."""
    database = Path(database or db_path())
    return database.with_name(database.stem + SUFFIX)


# --- the page -----------------------------------------------------------------------------------

@dataclass
class Content:
    """Everything the page shows, from the metric layer (kept for the tests, which compare it)."""

    f: Filters
    community: str | None
    info: dict
    headline: pd.DataFrame
    totals: dict
    by_year: pd.DataFrame
    categories: pd.DataFrame
    ranking: pd.DataFrame
    ranking_label: str
    ranking_total: int  # rows before the top TOP_COMMUNITIES were taken
    orgs: pd.DataFrame


def gather(cur: duckdb.DuckDBPyConnection, community: str | None = None) -> Content:
    """The briefing's figures for the data's default window (one community's when ``community``)."""
    f = metrics.data_span(cur).default()
    if community:
        f = f.only(community)
    table = metrics.category_table(cur, f)
    if community:
        full = metrics.compound_cases(cur, f, community)
        label = "compound"
    else:
        full = metrics.community_ranking(cur, f)
        label = "short_name"
    ranking = full.head(TOP_COMMUNITIES)
    return Content(f=f, community=community, info=metrics.dataset_info(cur), headline=metrics.headline(cur, f),
                   totals=metrics.totals_of(table), by_year=metrics.cases_by_year(cur, f), categories=table,
                   ranking=ranking, ranking_label=label, ranking_total=len(full), orgs=metrics.organization_flows(cur, f))


def _e(text: object) -> str:
    return html.escape(str(text), quote=True)


def render(c: Content, *, generated_at: datetime, source_version: str = "", link: str | None = None) -> str:
    """The briefing's HTML for ``c`` (a whole, self-contained document)."""
    f = c.f
    sample = c.info.get("dataset") == "sample"
    scope = c.community or "桂城街道（全部社区）"
    rows = c.headline.set_index("key")

    def kpis(keys: tuple[str, ...] | list[str]) -> str:
        return "".join(phone.headline_tile({"key": k, **rows.loc[k].to_dict()}) for k in keys if k in rows.index)

    case_keys = [k for k in metrics.CATEGORY_METRIC.values() if k in rows.index]
    lead = (phone.tile("received", c.totals.get("received")) + phone.tile("resolution_rate", c.totals.get("resolution_rate"))
            + kpis(LEAD_KEYS))
    service = "".join(phone.tile(k, c.totals.get(k)) for k in SERVICE_KEYS)
    partial = f.partial_year is not None
    note = f'<p class="note">{_e(fmt.partial_note(f.end))}。</p>' if partial else ""

    trend = svgchart.year_bars(c.by_year, "received", "各类事项逐年受理（件）", color="category", look=LOOK)
    orgs = svgchart.year_bars(c.orgs, "founded", "每年新成立的组织（个，不含楼道微信群）", color="kind", look=LOOK)
    what = "小区" if c.community else "社区"
    rank = svgchart.ranking(c.ranking, c.ranking_label, "received",
                            metrics.top_title("受理事项", what, len(c.ranking), c.ranking_total) + "（件）", look=LOOK, height=None,
                            row_px=26, color="#2F6690")
    empty = '<p class="note">所选范围内没有事项记录。</p>'
    badge = '<span class="badge">示例数据</span>' if sample else ""
    sample_note = ('<p class="sample">示例数据：本简报的数字由示例台账生成，仅用于演示，不代表真实工作数据。</p>'
                   if sample else "")
    link_line = f'<p>在线看板：{_e(link)}</p>' if link else ""
    published = fmt.timestamp_cn(c.info.get("published_at"))
    return f"""<!doctype html>
<html lang="zh-CN"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="{VERSION_META}" content="{_e(source_version)}">
<meta name="robots" content="noindex">
<title>桂城“创熟”治理数据简报 · {_e(scope)} · 截至{fmt.date_cn(f.as_of)}</title>
<style>{CSS}{phone.CSS}</style></head>
<body><main>
<header><h1>桂城“创熟”治理数据简报</h1>{badge}
<p class="meta">{_e(scope)} · 数据截至 <b>{fmt.date_cn(f.as_of)}</b> · {_e(f.years_text())}</p>
<p class="meta">数据更新于 {_e(published)}</p>{sample_note}</header>
<p class="hint">点一下数字可看它的口径（怎么算的）。</p>
<section id="kpis"><h2>数读</h2><div class="kpis">{lead}</div>
{trend.html() if not _blank(c.by_year, "received") else empty}{note if not _blank(c.by_year, "received") else ""}
<h3>各类事项（区间内办结累计）</h3><div class="kpis">{kpis(case_keys)}</div>
<p class="note">{_e(f.years_text())}区间内办结的累计数；同比为与上年同期（同样的月日）相比。</p></section>
<section id="cases"><h2>事项办理</h2><div class="kpis">{service}</div>
<h3>分类别办理情况</h3>
{phone.category_table(c.categories)}
<p class="note">「—」表示无法计算（没有可作分母的事项）。</p></section>
<section id="ranking"><h2>{what}排名</h2>{rank.html() if not _blank(c.ranking, "received") else empty}
<p class="note">按登记日期计，{_e(f.years_text())}受理的事项。</p></section>
<section id="teams"><h2>队伍与组织</h2><div class="kpis">{kpis(TEAM_KEYS)}{kpis(ORG_KEYS)}</div>
{orgs.html() if not _blank(c.orgs, "founded") else ""}{note if not _blank(c.orgs, "founded") else ""}
<p class="note">三长按统计日在任计，组织按统计日在册（已成立未撤销）计。</p></section>
<footer><p>{_e(SOURCE)}；口径与看板相同（指标定义见看板「指标口径」）。</p>
<p>本页为静态简报，生成于 {_e(fmt.timestamp_cn(generated_at))}；不含个人信息。</p>{link_line}</footer>
</main></body></html>
"""


def _blank(df: pd.DataFrame, column: str) -> bool:
    return df.empty or not pd.to_numeric(df[column], errors="coerce").fillna(0).any()


LOOK = phone.LOOK
CSS = f"""
*, *::before, *::after {{ box-sizing: border-box; }}
html {{ -webkit-text-size-adjust: 100%; text-size-adjust: 100%; }}
body {{ margin: 0; background: #F4F6F8; color: {theme.INK}; font-family: {theme.FONT};
  font-size: 15px; line-height: 1.55; }}
main {{ max-width: 640px; margin: 0 auto; padding: 14px 14px 28px; }}
header h1 {{ font-size: 20px; margin: 0 8px 2px 0; display: inline; }}
.badge {{ display: inline-block; border: 1.5px solid {theme.ACCENT}; color: {theme.ACCENT}; border-radius: 5px;
  padding: 0 6px; font-size: 13px; font-weight: 700; vertical-align: 2px; }}
.meta {{ margin: 2px 0; color: {theme.MUTED}; font-size: 13.5px; }}
.meta b {{ color: {theme.INK}; }}
.sample {{ margin: 6px 0 0; color: {theme.ACCENT}; font-size: 13px; }}
.hint {{ font-size: 13px; color: {theme.MUTED}; margin: 8px 0 0; }}
h2 {{ font-size: 17px; margin: 18px 0 8px; padding-left: 8px; border-left: 4px solid {theme.ACCENT}; }}
h3 {{ font-size: 15px; margin: 14px 0 6px; }}
section {{ background: white; border-radius: 10px; padding: 4px 12px 10px; margin-top: 12px; }}
footer {{ font-size: 12.5px; color: {theme.MUTED}; margin-top: 16px; }}
footer p {{ margin: 4px 0; }}
"""


# --- writing it ----------------------------------------------------------------------------------

_lock = threading.Lock()


def source_version(database: Path) -> str:
    """The identity of the published file the briefing is built from (changes with every load)."""
    return dbmod.file_version(database)


def written_version(target: Path) -> str | None:
    """The source version recorded in a written briefing, or None (missing, unreadable, foreign)."""
    try:
        with open(target, encoding="utf-8") as fh:
            head = fh.read(2048)
    except OSError:
        return None
    found = re.search(rf'<meta name="{VERSION_META}" content="([^"]*)">', head)
    return html.unescape(found.group(1)) if found else None


def build(database: Path | None = None, settings: sharing.Sharing | None = None,
          generated_at: datetime | None = None) -> tuple[str, str]:
    """(HTML, source version) of the briefing of ``database`` under the sharing ``settings``."""
    database = Path(database or db_path())
    settings = settings or sharing.load()
    published = dbmod.published(database)
    version = published.version()
    if settings.community:
        from chuangshu import scope

        cur = scope.scoped(settings.community, published).cursor()
    else:
        cur = published.cursor()
    try:
        content = gather(cur, settings.community)
    finally:
        cur.close()
    key = f"{version}|{settings.community or ''}"
    page = render(content, generated_at=generated_at or datetime.now(), source_version=key,
                  link=settings.phone_link())
    return page, key


def write(database: Path | None = None, settings: sharing.Sharing | None = None) -> Path:
    """Write the briefing beside ``database`` (atomically: readers see the old file or the new one)."""
    database = Path(database or db_path())
    target = path_for(database)
    page, _ = build(database, settings)
    fd, tmp = tempfile.mkstemp(prefix=".briefing-", suffix=".html", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(page)
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return target


def is_stale(database: Path | None = None, settings: sharing.Sharing | None = None) -> bool:
    """True when the briefing is missing or was built from another load (or another scope)."""
    database = Path(database or db_path())
    settings = settings or sharing.load()
    try:
        current = f"{source_version(database)}|{settings.community or ''}"
    except FileNotFoundError:
        return False  # no database, nothing to brief
    return written_version(path_for(database)) != current


def refresh(database: Path | None = None) -> Path | None:
    """Rewrite the briefing if it is stale; its path when written, else None. Never raises: a failure
    is logged (the load it follows has succeeded and stays published)."""
    database = Path(database or db_path())
    try:
        with _lock:
            settings = sharing.load()
            if not is_stale(database, settings):
                return None
            target = write(database, settings)
        log.info("briefing written: %s", target)
        return target
    except Exception:  # noqa: BLE001 - a briefing must never break a load or the server
        log.exception("briefing could not be written for %s", database)
        return None


class Watcher(threading.Thread):
    """Rewrites the briefing whenever the published database changes (one stat every ``interval`` s)."""

    def __init__(self, database: Path | None = None, interval: float = WATCH_S) -> None:
        super().__init__(name="briefing-watcher", daemon=True)
        self.database = Path(database or db_path())
        self.interval = interval
        self.stopped = threading.Event()

    def run(self) -> None:
        """Check now, then every interval, until stopped."""
        while not self.stopped.is_set():
            refresh(self.database)
            self.stopped.wait(self.interval)

    def stop(self) -> None:
        """End the loop (tests)."""
        self.stopped.set()


def start_watcher(database: Path | None = None, interval: float = WATCH_S) -> Watcher:
    """Start the background watcher (chuangshu.serve does, before the server starts)."""
    watcher = Watcher(database, interval)
    watcher.start()
    return watcher


# --- serving it -----------------------------------------------------------------------------------

class Cache:
    """The briefing's bytes in memory, reread only when the file changes (one stat per request)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._key: tuple | None = None
        self._body: bytes | None = None

    def get(self, target: Path) -> tuple[bytes, str] | None:
        """(bytes, ETag) of the file at ``target``, or None when there is none."""
        try:
            st = os.stat(target)
        except OSError:
            return None
        key = (st.st_ino, st.st_mtime_ns, st.st_size)
        with self._lock:
            if key != self._key:
                try:
                    self._body = Path(target).read_bytes()
                except OSError:
                    return None
                self._key = key
            assert self._body is not None
            return self._body, '"' + "-".join(str(k) for k in key) + '"'


def main(argv: list[str] | None = None) -> int:
    """``python -m chuangshu.briefing [--db PATH] [--if-stale]``: write the briefing beside the database."""
    parser = argparse.ArgumentParser(prog="python -m chuangshu.briefing",
                                     description="生成静态简报（写在数据库旁边）")
    parser.add_argument("--db", type=Path, default=None, help="数据库文件（默认：看板使用的数据库）")
    parser.add_argument("--if-stale", action="store_true", help="简报已是最新时不重写")
    args = parser.parse_args(argv)
    database = Path(args.db or db_path())
    if not database.exists():
        print(f"没有找到数据库 {database}：请先载入台账（python -m etl load …）。", file=sys.stderr)
        return 2
    if args.if_stale and not is_stale(database):
        print(f"简报已是最新：{path_for(database)}")
        return 0
    started = time.perf_counter()
    target = write(database)
    print(f"已生成简报 {target}（{time.perf_counter() - started:.1f} 秒）")
    return 0


if __name__ == "__main__":
    sys.exit(main())
