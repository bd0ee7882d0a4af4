"""What users feel in a real browser, paired against a bare Streamlit app: `python -m bench --front`.

Four measurements, each from interleaved pairs (ours, reference, ours, reference…; the order alternates
from pair to pair) on two running servers, the median of the per-pair ratios and their spread:

- cold first paint: a new browser context (empty HTTP cache, new session) to the 数读 figures and the
  first chart painted. Reference: a bare page with the same 14 metric cards (label, value, delta,
  help, border), and a bare page with the cards plus the same plotly chart;
- warm page switch: a click in the sidebar navigation (总览 → 事项) to the new page settled;
  reference: the bare cards page → the bare cards + chart page;
- filter change: a category picked in (then removed from) the sidebar multiselect to the page settled;
  reference: the same multiselect on the bare chart page, which rescales its figures;
- drill-down: a community picked on 事项 to its case list painted; reference: a bare selectbox that
  shows a table of the same rows.

Times are taken inside the page: an init script polls on every animation frame for the element the
measurement waits for and records ``performance.now()`` at the next frame after it appears (the frame
that paints it). "Settled" means the script state is notRunning after a run, no element is stale and
the page's own marker is on screen. The server's caches are warm (one unmeasured visit first): this is
the front end's cost plus the rerun's, which is what a user waits for.

`python -m bench --front -- --growth` also times every page through AppTest (cold: caches cleared;
warm: the same run again) at 1×, 10× and 100× (the bench/out/scale_N databases of bench.suite) and
writes the growth table with each page's slope (log-log, 1× → largest scale).
"""
from __future__ import annotations

import argparse
import json
import math
import os
import re
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from appserver import CHROMIUM_ARGS, AppServer, free_port  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:front:start -->", "<!-- bench:front:end -->"
GSTART, GEND = "<!-- bench:growth:start -->", "<!-- bench:growth:end -->"
KPIS = 14  # the 数读 cards
TARGETS = {"first_paint": 1.5, "switch_s": 1.0, "filter_s": 1.0}
VIEW = {"width": 1440, "height": 900}
# A chart painted: a plotly trace, or a column of a chart we draw as SVG (chuangshu.svgchart, 总览's first chart).
CHART = ".js-plotly-plot .main-svg .trace, .sc-fig svg rect > title"

# The reference: a bare multipage Streamlit app with the same elements, reading its figures from a file.
BARE_APP = '''
import io, json, os
import pandas as pd
import plotly.io as pio
import streamlit as st

st.set_page_config(layout="wide")
D = json.loads(open(os.environ["BARE_DATA"], encoding="utf-8").read())
scale = 1 + len(st.sidebar.multiselect("事项类别", D["categories"], key="cat"))

def cards():
    for start in range(0, len(D["cards"]), 5):
        cols = st.columns(5)
        for col, c in zip(cols, D["cards"][start:start + 5]):
            col.metric(c["label"], c["value"] if scale == 1 else f"{scale}x", delta=c["delta"], help=c["help"],
                       border=True)

def page_cards():
    st.title("卡片")
    cards()

def page_chart():
    st.title("图表")
    cards()
    st.plotly_chart(pio.from_json(D["figure"]), width="stretch")

def page_drill():
    st.title("逐级")
    pick = st.selectbox("社区", D["communities"], index=None, placeholder="选择一个社区", key="drill")
    if pick:
        st.dataframe(pd.read_json(io.StringIO(D["rows"])), hide_index=True, height=420)

st.navigation([st.Page(page_cards, title="卡片", default=True),
               st.Page(page_chart, title="图表", url_path="chart"),
               st.Page(page_drill, title="逐级", url_path="drill")]).run()
'''

# Installed before any page script: records when the KPIs and the first chart are painted.
PAINT_JS = """
(() => {
  const need = %s;
  const CHART = %s;
  window.__paint = {};
  const tick = () => {
    const p = window.__paint;
    const main = document.querySelector('[data-testid="stMain"]');
    if (main) {
      if (p.kpi === undefined && main.querySelectorAll('[data-testid="stMetricValue"]').length >= %d)
        requestAnimationFrame(() => { p.kpi = p.kpi ?? performance.now(); });
      if (need.chart && p.chart === undefined && main.querySelector(CHART))
        requestAnimationFrame(() => { p.chart = p.chart ?? performance.now(); });
    }
    const done = p.kpi !== undefined && (!need.chart || p.chart !== undefined);
    if (done) p.done = Math.max(p.kpi, p.chart ?? 0); else requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})();
"""

# Start a settle watch (after the click is scheduled): resolves at the first painted frame where a run has
# happened, the script is notRunning, nothing is stale and ``marker`` (a CSS selector or heading text) is shown.
SETTLE_JS = """
([marker, text, minCount, timeoutMs]) => new Promise((resolve, reject) => {
  const app = document.querySelector('[data-testid="stApp"]');
  let ran = false;
  const obs = new MutationObserver(() => { if (app.getAttribute('data-test-script-state') === 'running') ran = true; });
  obs.observe(app, {attributes: true, attributeFilter: ['data-test-script-state']});
  const t0 = performance.now();
  window.__go();
  const tick = () => {
    const state = app.getAttribute('data-test-script-state');
    if (state === 'running') ran = true;
    const main = document.querySelector('[data-testid="stMain"]');
    const marks = main ? [...main.querySelectorAll(marker)] : [];
    const shown = text ? marks.some(e => e.textContent.includes(text)) : marks.length >= minCount;
    if (ran && state === 'notRunning' && shown && !document.querySelector('[data-stale="true"]')) {
      requestAnimationFrame(() => { obs.disconnect(); resolve(performance.now() - t0); });
      return;
    }
    if (performance.now() - t0 > timeoutMs) { obs.disconnect(); reject(new Error('did not settle: ' + marker)); return; }
    requestAnimationFrame(tick);
  };
  requestAnimationFrame(tick);
})
"""


def _reference_data(db: Path, folder: Path) -> Path:
    """The bare app's figures: the same 数读 cards, trend figure and drill-down rows as ours."""
    os.environ["CHUANGSHU_DB"] = str(db)
    from chuangshu import charts, db as dbmod, fmt, metrics
    from chuangshu.filters import Filters

    cur = dbmod.published().cursor()
    try:
        span = metrics.data_span(cur)
        f = span.default()
        head = metrics.headline(cur, f)
        head = head[head["group"] == "数读"]
        cards = []
        for r in head.to_dict("records"):
            m = metrics.METRICS[r["key"]]
            cards.append({"label": r["label"], "value": fmt.metric_value(r["value"], r["unit"], m.kind),
                          "delta": fmt.delta_short(r.get("delta_pct"))[0], "help": "口径：" + r["definition"]})
        trend = metrics.cases_by_year(cur, f)
        fig = charts.bars(trend, "year", "resolved", "各类事项逐年受理并办结的数量", color="category",
                          x_title="登记年份", y_title="办结事项（件）")
        ranking = metrics.community_ranking(cur, f)
        community = str(ranking["community"].iloc[0])
        rows = metrics.case_list(cur, f, community, None)
        categories = metrics.category_labels(cur)
    finally:
        cur.close()
    assert isinstance(f, Filters)
    path = folder / "bare.json"
    path.write_text(json.dumps({"cards": cards, "figure": fig.to_json(), "communities": list(ranking["community"][:6]),
                                "rows": rows.to_json(date_format="iso"), "categories": list(categories.values())},
                               ensure_ascii=False), encoding="utf-8")
    return path


class OursServer(AppServer):
    """Our dashboard served from another checkout (``root``: e.g. main before a change), for a before/after run."""

    def __init__(self, db: Path, state_dir: Path, root: Path) -> None:  # noqa: D107 - mirrors AppServer
        import subprocess

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CHUANGSHU_DB": str(db), "CHUANGSHU_STATE_DIR": str(state_dir)}
        self.log = open(state_dir / f"ours-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chuangshu.serve", "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)


class BareServer(AppServer):
    """The bare reference app on a free port."""

    def __init__(self, folder: Path, data: Path) -> None:  # noqa: D107 - mirrors AppServer
        import subprocess

        script = folder / "bare_app.py"
        script.write_text(BARE_APP, encoding="utf-8")
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(folder / f"bare-{self.port}.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--browser.gatherUsageStats", "false", "--server.fileWatcherType", "none"],
            cwd=folder, env={**os.environ, "BARE_DATA": str(data)}, stdout=self.log, stderr=subprocess.STDOUT)


# ------------------------------------------------------------------ browser steps

def cold_paint(browser, url: str, chart: bool) -> dict[str, float]:
    """Seconds from navigation start to the KPIs (and the first chart) painted, in a new context."""
    context = browser.new_context(viewport=VIEW)
    try:
        page = context.new_page()
        page.add_init_script(PAINT_JS % (json.dumps({"chart": chart}), json.dumps(CHART), KPIS))
        page.goto(url, wait_until="commit")
        page.wait_for_function("window.__paint && window.__paint.done", timeout=120_000, polling=100)
        p = page.evaluate("window.__paint")
        return {k: p[k] / 1000 for k in ("kpi", "chart", "done") if k in p}
    finally:
        context.close()


def settle(page, go_js: str, marker: str, text: str | None = None, min_count: int = 1, action=None,
           timeout_ms: int = 180_000) -> float:
    """Seconds from running ``go_js`` in the page (then ``action``, a Playwright step such as a key press)
    to the page settled with ``marker`` shown."""
    page.bring_to_front()  # a background tab's animation frames are throttled
    page.evaluate("js => { window.__go = new Function(js); }", go_js)
    try:
        if action is None:
            return page.evaluate(SETTLE_JS, [marker, text, min_count, timeout_ms]) / 1000
        page.evaluate(f"args => {{ window.__settle = ({SETTLE_JS})(args); }}", [marker, text, min_count, timeout_ms])
        action()
        return page.evaluate("window.__settle") / 1000
    except Exception:
        (ROOT / "bench" / "out").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ROOT / "bench" / "out" / "front-failed.png"))
        raise


def wait_settled(page, marker: str, text: str | None = None) -> None:
    """Until the first run has finished and ``marker`` is shown (no timing)."""
    page.wait_for_function(
        """([m, t]) => { const a = document.querySelector('[data-testid="stApp"]');
            const els = [...document.querySelectorAll('[data-testid="stMain"] ' + m)];
            return a && a.getAttribute('data-test-script-state') === 'notRunning' && els.length
                   && (!t || els.some(e => e.textContent.includes(t)))
                   && !document.querySelector('[data-stale="true"]'); }""",
        arg=[marker, text], timeout=120_000, polling=100)


NAV = "[...document.querySelectorAll('[data-testid=stSidebarNav] a')].find(a => a.textContent.trim().endsWith(%s)).click();"


LOST: dict[str, int] = {}  # page switches that did not happen (the click was lost), per contender


def switch(page, to: str, heading: str, who: str = "") -> float:
    """A click on the sidebar's link ``to`` to the page settled with its title ``heading``. A click that
    leads nowhere within 60 s is counted in :data:`LOST` (reported) and clicked once more."""
    try:
        return settle(page, NAV % json.dumps(to), "h1", heading, timeout_ms=60_000)
    except Exception:
        LOST[who] = LOST.get(who, 0) + 1
        print(f"page switch to {to} lost ({who}); clicking again", flush=True)
        return settle(page, NAV % json.dumps(to), "h1", heading)


def pick_option(page, widget, label: str, marker: str, min_count: int = 1, who: str = "",
                fallback: str | None = None) -> float:
    """Open a select/multiselect (``widget(page)``: its locator), type ``label`` and time its pick (Enter).
    A pick that starts no run within 60 s is counted in :data:`LOST` and, given a ``fallback`` option,
    done again with that one (timed)."""
    widget(page).click()
    page.keyboard.type(label)  # typing filters the options to this one; Enter picks it (as tests/ do)
    page.get_by_role("option", name=label, exact=True).wait_for(timeout=120_000)
    try:
        took = settle(page, "", marker, None, min_count, action=lambda: page.keyboard.press("Enter"),
                      timeout_ms=60_000 if fallback else 180_000)
    except Exception:
        if not fallback:
            raise
        LOST[f"{who} pick"] = LOST.get(f"{who} pick", 0) + 1
        print(f"pick of {label} lost ({who}); picking {fallback}", flush=True)
        page.keyboard.press("Escape")
        return pick_option(page, widget, fallback, marker, min_count, who)
    page.keyboard.press("Escape")
    return took


def clear_multiselect(page, marker: str) -> float:
    """Time the click on the sidebar's 事项类别 multiselect's 「Clear all」 to the page settled."""
    button = (page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="事项类别")
              .locator("[aria-label=\"Clear all\"]"))
    button.wait_for(timeout=120_000)
    return settle(page, "", marker, action=lambda: button.click())


def SIDEBAR_SELECT(page):  # noqa: N802 - a constant-like locator factory
    return page.get_by_test_id("stSidebar").get_by_test_id("stMultiSelect").filter(has_text="事项类别").first


def DRILL_SELECT(page):  # noqa: N802
    return page.get_by_test_id("stMain").get_by_test_id("stSelectbox").filter(has_text="社区").first


STEPS = ("paint", "switch", "filter", "drill")


def measure(db: Path, pairs: int, root: Path | None = None, steps: tuple[str, ...] = STEPS,
            log=lambda *a: print(*a, flush=True)) -> dict:
    """Every measurement, ``pairs`` interleaved pairs each; raw seconds per contender (ours from ``root``,
    default this checkout)."""
    from playwright.sync_api import sync_playwright

    out: dict = {"paint": {"ours": [], "bare": [], "bare_chart": []}, "switch": {"ours": [], "bare": []},
                 "filter": {"ours": [], "bare": []}, "drill": {"ours": [], "bare": []}}
    with tempfile.TemporaryDirectory() as tmp, sync_playwright() as p:
        folder = Path(tmp)
        data = _reference_data(db, folder)
        communities = json.loads(data.read_text(encoding="utf-8"))["communities"]
        labels = json.loads(data.read_text(encoding="utf-8"))["categories"]
        ours = OursServer(db, folder, root) if root else AppServer(db, folder)
        bare = BareServer(folder, data)
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        try:
            ours.wait_healthy()
            bare.wait_healthy()
            cold_paint(browser, ours.url, True)  # warm the servers' caches and Python imports (not measured)
            cold_paint(browser, bare.url + "/chart", True)
            warm = browser.new_page(viewport=VIEW)
            warm.goto(ours.url + "/cases")
            wait_settled(warm, "h1", "事项")
            warm.close()
            for i in range(pairs if "paint" in steps else 0):
                runs = [("ours", lambda: cold_paint(browser, ours.url, True)),
                        ("bare", lambda: cold_paint(browser, bare.url, False)),
                        ("bare_chart", lambda: cold_paint(browser, bare.url + "/chart", True))]
                for name, fn in (runs if i % 2 == 0 else runs[::-1]):
                    out["paint"][name].append(fn())
                log(f"paint {i + 1}/{pairs}: " + ", ".join(f"{k} {v[-1]['done']:.2f}s" for k, v in out["paint"].items()))
            ctx, ctx_bare = browser.new_context(viewport=VIEW), browser.new_context(viewport=VIEW)
            po, pb = ctx.new_page(), ctx_bare.new_page()
            po.goto(ours.url)
            wait_settled(po, ".js-plotly-plot, .sc-fig")  # the whole first view, its chart included
            pb.goto(bare.url)
            wait_settled(pb, "h1", "卡片")
            for i in range(pairs if "switch" in steps else 0):  # page switch, both directions; only → 事项 / → 图表 reported
                order = [("ours", lambda: switch(po, "事项", "事项", "ours"), lambda: switch(po, "总览", "总览", "ours")),
                         ("bare", lambda: switch(pb, "图表", "图表", "bare"), lambda: switch(pb, "卡片", "卡片", "bare"))]
                for name, there, back in (order if i % 2 == 0 else order[::-1]):
                    out["switch"][name].append(there())
                    back()
                log(f"switch {i + 1}/{pairs}: ours {out['switch']['ours'][-1]:.2f}s bare {out['switch']['bare'][-1]:.2f}s")
            if "filter" in steps:  # filters: ours on 总览, the reference on its chart page
                switch(pb, "图表", "图表")
            for i in range(pairs if "filter" in steps else 0):
                label = labels[i % len(labels)]
                order = [("ours", po, "[data-testid=stMetricValue]"), ("bare", pb, ".js-plotly-plot .main-svg")]
                for name, page, marker in (order if i % 2 == 0 else order[::-1]):
                    took = pick_option(page, SIDEBAR_SELECT, label, marker, who=name,
                                       fallback=labels[(i + 3) % len(labels)])
                    undo = clear_multiselect(page, marker)
                    out["filter"][name] += [took, undo]
                log(f"filter {i + 1}/{pairs}: ours {out['filter']['ours'][-2]:.2f}/{out['filter']['ours'][-1]:.2f}s "
                    f"bare {out['filter']['bare'][-2]:.2f}/{out['filter']['bare'][-1]:.2f}s")
            if "drill" in steps:
                switch(po, "事项", "事项")
                switch(pb, "逐级", "逐级")
            for i in range(pairs if "drill" in steps else 0):
                community = communities[i % len(communities)]
                order = [("ours", po, 2), ("bare", pb, 1)]  # ours: the compounds and the case list
                for name, page, tables in (order if i % 2 == 0 else order[::-1]):
                    out["drill"][name].append(pick_option(page, DRILL_SELECT, community, "[data-testid=stDataFrame]",
                                                          min_count=tables + (name == "ours"), who=name,
                                                          fallback=communities[(i + 3) % len(communities)]))
                log(f"drill {i + 1}/{pairs}: ours {out['drill']['ours'][-1]:.2f}s bare {out['drill']['bare'][-1]:.2f}s")
            ctx.close()
            ctx_bare.close()
        finally:
            browser.close()
            ours.close()
            bare.close()
    return out


# ------------------------------------------------------------------ growth (AppTest per page and scale)

def growth(scales: list[int], sessions: int = 3, log=lambda *a: print(*a, flush=True)) -> dict:
    """Each page's cold and warm AppTest time (median of ``sessions``) at each scale (bench.suite's databases)."""
    from bench.suite import ensure_scale, job_apptest, run_job

    out: dict = {}
    for s in scales:
        info = ensure_scale(s)
        runs = [run_job(job_apptest, info["db"], 600) for _ in range(sessions)]
        out[str(s)] = {page: {k: statistics.median(r[page][k] for r in runs) for k in ("cold_ms", "warm_ms")}
                       for page in runs[0]}
        log(f"[{s}x] " + ", ".join(f"{p} {v['cold_ms']:.0f}/{v['warm_ms']:.0f}" for p, v in out[str(s)].items()))
    return out


def slope(x: list[int], y: list[float]) -> float:
    """Least-squares slope of log(y) on log(x): 0 flat, 1 linear in the data."""
    lx, ly = [math.log(v) for v in x], [math.log(max(v, 1e-3)) for v in y]
    mx, my = statistics.mean(lx), statistics.mean(ly)
    return sum((a - mx) * (b - my) for a, b in zip(lx, ly)) / sum((a - mx) ** 2 for a in lx)


# ------------------------------------------------------------------ report

def ratio_stats(ours: list[float], ref: list[float]) -> tuple[float, float, float]:
    """Median of the per-pair ratios and their spread (min, max)."""
    r = [a / b for a, b in zip(ours, ref)]
    return statistics.median(r), min(r), max(r)


def _pairs_row(name: str, ours: list[float], ref: list[float], target: str, met: bool | None) -> str:
    if not ours:
        return f"| {name} | – | – | – | 0 | not run |"
    med, lo, hi = ratio_stats(ours, ref)
    flag = "" if met is None else (" yes" if met else " **no**")
    return (f"| {name} | {statistics.median(ours):.2f} s | {statistics.median(ref):.2f} s | {med:.2f}× "
            f"({lo:.2f}–{hi:.2f}) | {len(ours)} | {target}{flag} |")


def render(result: dict) -> str:
    """The Markdown section of the paired browser measurements."""
    paint = result["paint"]
    ours_done = [r["done"] for r in paint["ours"]]
    ours_kpi = [r["kpi"] for r in paint["ours"]]
    bare = [r["done"] for r in paint["bare"]]
    bare_chart = [r["done"] for r in paint["bare_chart"]]
    fp = ratio_stats(ours_done, bare)[0] if ours_done else math.inf
    sw, fl, dr = result["switch"], result["filter"], result["drill"]
    return "\n".join([
        START,
        "## What users feel: paired browser measurements (issue 15)",
        "",
        f"`python -m bench --front` on `{result['db']}`, ours served from {result.get('root', 'this checkout')} "
        f"({result['finished']}; {result['machine']}; load average "
        f"{result['load_start']:.2f} at the start, {result['load_end']:.2f} at the end). Debian chromium, 1440×900, "
        "servers warm; interleaved pairs (the order alternates), ratio = ours / reference per pair, median and "
        "(min–max) spread. Reference: a bare Streamlit app with the same 14 metric cards (and the same chart, in "
        "plotly). A chart counts as painted when a plotly trace or a bar of a chart we draw as SVG is on screen.",
        "",
        "| measurement | ours p50 | reference p50 | ratio p50 (spread) | pairs | target |",
        "|---|---:|---:|---:|---:|---|",
        _pairs_row("cold first screen: the 14 数读 KPIs painted vs bare 14 cards", ours_kpi, bare,
                   f"≤ {TARGETS['first_paint']}×", bool(ours_kpi) and ratio_stats(ours_kpi, bare)[0] <= TARGETS["first_paint"]),
        _pairs_row("cold: KPIs + first chart painted vs bare 14 cards", ours_done, bare,
                   f"≤ {TARGETS['first_paint']}×", fp <= TARGETS["first_paint"]),
        _pairs_row("cold: KPIs + first chart painted vs bare cards + the same chart (plotly)", ours_done, bare_chart,
                   "–", None),
        _pairs_row("warm page switch 总览 → 事项 vs bare cards → cards + chart", sw["ours"], sw["bare"],
                   "≤ 1 s p50", bool(sw["ours"]) and statistics.median(sw["ours"]) <= TARGETS["switch_s"]),
        _pairs_row("filter change (category on / off) on 总览 vs bare multiselect", fl["ours"], fl["bare"],
                   "≤ 1 s p50", bool(fl["ours"]) and statistics.median(fl["ours"]) <= TARGETS["filter_s"]),
        _pairs_row("drill-down: community → case list on 事项 vs bare selectbox → table", dr["ours"], dr["bare"],
                   "–", None),
        "",
        (f"Page switches or picks lost (no run within 60 s; clicked again, or another community picked): {result['lost']}." if result.get("lost")
         else "No page switch or pick was lost."),
        "",
        "Ours, per pair (s): first paint " + ", ".join(f"{v:.2f}" for v in ours_done)
        + "; page switch " + ", ".join(f"{v:.2f}" for v in sw["ours"])
        + "; filter " + ", ".join(f"{v:.2f}" for v in fl["ours"])
        + "; drill-down " + ", ".join(f"{v:.2f}" for v in dr["ours"]) + ".",
        END,
    ])


def render_growth(result: dict) -> str:
    """The Markdown growth table: each page's cold and warm time per scale and the slope."""
    scales = sorted(int(s) for s in result["growth"])
    pages = list(result["growth"][str(scales[0])])
    head = " | ".join(f"{s}× cold / warm" for s in scales)
    lines = [GSTART, "## Cost growth per page (issue 15)", "",
             f"`python -m bench --front -- --growth` ({result['finished']}; load average {result['load_start']:.2f} → "
             f"{result['load_end']:.2f}). Each page through AppTest (server side: queries, figures, elements; no "
             f"browser), median of {result['sessions']} session(s); slope = log-log least squares over the scales (0 flat, 1 linear).", "",
             f"| page | {head} | slope cold | slope warm |", "|---|" + "---:|" * (len(scales) + 2)]
    for page in pages:
        cells = " | ".join(f"{result['growth'][str(s)][page]['cold_ms']:.0f} / "
                           f"{result['growth'][str(s)][page]['warm_ms']:.0f} ms" for s in scales)
        sc = slope(scales, [result["growth"][str(s)][page]["cold_ms"] for s in scales])
        sw = slope(scales, [result["growth"][str(s)][page]["warm_ms"] for s in scales])
        lines.append(f"| {page} | {cells} | {sc:.2f} | {sw:.2f} |")
    lines.append(GEND)
    return "\n".join(lines)


def write_doc(section: str, start: str, end: str) -> None:
    """Replace (or append) one generated section of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if start in text:
        text = re.sub(re.escape(start) + ".*?" + re.escape(end), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench --front", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="database (default: bench/out/scale_1, built if missing)")
    parser.add_argument("--pairs", type=int, default=7)
    parser.add_argument("--root", type=Path, default=None,
                        help="serve ours from this checkout instead (e.g. main, for a before/after run)")
    parser.add_argument("--steps", default=",".join(STEPS), help="which measurements (default: all)")
    parser.add_argument("--growth", action="store_true", help="only the per-page growth table (AppTest)")
    parser.add_argument("--scales", default="1,10,100")
    parser.add_argument("--sessions", type=int, default=3, help="AppTest sessions per scale (growth)")
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from bench.suite import ensure_scale, machine

    result: dict = {"machine": machine(), "load_start": os.getloadavg()[0]}
    if args.growth:
        result["growth"] = growth([int(s) for s in args.scales.split(",")], args.sessions)
        result["sessions"] = args.sessions
    else:
        db = args.db or Path(ensure_scale(1)["db"])
        result["db"] = db.name if args.db else "bench/out/scale_1 (the sample, 1×)"
        result.update(measure(db, args.pairs, args.root, tuple(args.steps.split(","))))
        result["root"] = str(args.root) if args.root else "this checkout"
        result["lost"] = dict(LOST)
    result["load_end"] = os.getloadavg()[0]
    result["finished"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    out = ROOT / "bench" / "out"
    out.mkdir(parents=True, exist_ok=True)
    (out / ("growth.json" if args.growth else "front.json")).write_text(json.dumps(result, indent=1, ensure_ascii=False))
    section = render_growth(result) if args.growth else render(result)
    print(section)
    if not args.no_doc:
        write_doc(section, *((GSTART, GEND) if args.growth else (START, END)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
