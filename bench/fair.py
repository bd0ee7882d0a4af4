"""Fair sharing (issue 16): a viewer's page load while 6 analysts × 3 tabs run heavy queries.

    python -m bench --fair                    # or: python -m bench.fair
    python -m bench.fair --pairs 7 --db FILE  # more pairs, another database
    python -m bench.fair --app-root DIR       # the server from another checkout (e.g. before the change)

What it does (one run, a few minutes; writes its section of docs/benchmarks.md):

1. **Server** – ``python -m chuangshu.serve`` on 127.0.0.1 (sample database unless ``--db``) with
   users configured: one viewer (查看者) and six analysts (分析员).
2. **Analysts** – 6 analysts × 3 tabs, each tab its own Streamlit session that signs in as its
   analyst, opens 即席查询 and puts a heavy query in the editor: tabs 1 and 3 a 496-column
   ``SELECT`` (31 × ``cases.*``: a wide result of text, dates and numbers), tab 2 a three-way
   cross join of ``cases`` (CPU until the time limit). While the load is on, each tab presses
   运行查询 again as soon as its last run has finished. The tabs are, by default
   (``--analysts protocol``), Streamlit protocol clients: one process (``nice 19``) holding 18
   websockets that send exactly what the browser sends (the sign-in form, the page switch, the
   editor's text and the button's trigger, as ``BackMsg`` protobufs) and read every message the
   server sends back (each result in full), without drawing anything. ``--analysts chromium``
   uses 18 real chromium tabs instead (6 contexts × 3 pages, the chromium at ``nice 19``).
3. **Viewer** – chromium at normal priority; each measurement is a new browser context (a new
   session): open the address, sign in as the viewer, time until the overview's 14 数读 KPI
   values are painted (as ``bench/paint.py``).
4. **Interleaved pairs** – idle (analyst tabs open, no query running), then loaded (the load on
   for ``WARMUP_S`` first, so queries are in flight), ``--pairs`` times; per pair the ratio
   loaded / idle; the median ratio and its spread; the load average at each measurement.
5. **Memory** – RSS of the server process (and of its process tree: the query workers) sampled
   every 0.5 s: idle before the analysts, with their tabs open, peak while loaded; then every
   analyst tab runs the wide query once more, one tab at a time (so each finishes within its
   time limit and every tab holds a 496-column result: the reported case), RSS is read, the
   analysts' tabs are closed (all 18 at once) and RSS is read 30 s and 3 min later. The audit
   log gives the outcome of every analyst query during the run.
6. **Cost of one wide result** – in a fresh process: the 496-column result at the old 64 MB and
   the new 16 MB limit: DataFrame bytes, pickled bytes (the worker's transfer format), the
   Arrow IPC bytes ``st.dataframe`` sends, and the process's RSS after receiving, rendering,
   releasing and trimming.

Why the analysts are protocol clients (and niced): in real use every analyst's browser is on their
own PC. Here 18 chromium tabs drawing 500-column grids share the server's two cores: measured with
``--analysts chromium``, they alone keep the load average at 15–20 and make the *idle* viewer load
10–20 s instead of 3 s, and, at the same nice level as the query workers, they starve the workers
too. The protocol clients make the server do all the work a browser tab makes it do (sessions,
sign-in, page runs, the queries, serialising every result and sending it over the websocket) at
a small fraction of the CPU.

Not a test: a benchmark, on a shared machine. Compare ratios within one run.
"""
from __future__ import annotations

import argparse
import collections
import json
import multiprocessing as mp
import os
import re
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "benchmarks.md"
OUT = ROOT / "bench" / "out"
START, END = "<!-- bench:fair:start -->", "<!-- bench:fair:end -->"
KPIS = 14  # the 数读 cards on the overview
ANALYSTS, TABS = 6, 3
WARMUP_S = 6.0  # load on this long before the loaded measurement
DRAIN_S = 9.0  # after the load is switched off: the last queries end (5 s limit + grace + render)
AFTER_CLOSE_S = (30, 180)
TARGET_RATIO = 2.0
VIEWER_PASSWORD = "viewer-password-1"
WIDE_SQL = "SELECT " + ", ".join(["c.*"] * 31) + " FROM cases c CROSS JOIN range(2)"
CROSS_SQL = "SELECT count(*) AS n, max(a.description || b.description) AS m FROM cases a, cases b, cases c"
TAB_SQL = [WIDE_SQL, CROSS_SQL, WIDE_SQL]
MB = 1024 * 1024


# ------------------------------------------------------------------ server


def _rss_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _tree_rss_kb(pid: int) -> int:
    from bench.suite import _tree_rss_kb as tree

    return tree(pid)


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The dashboard (``python -m chuangshu.serve``) from ``app_root``, with users configured."""

    def __init__(self, app_root: Path, db: Path, state: Path, secrets: Path,
                 extra_env: dict[str, str] | None = None) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "CHUANGSHU_DB": str(db), "CHUANGSHU_STATE_DIR": str(state),
               "STREAMLIT_SECRETS_FILES": str(secrets), "CHUANGSHU_SALT": "bench-salt",
               "PYTHONPATH": str(app_root), **(extra_env or {})}
        self.log = open(state / "server.log", "w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "chuangshu.serve", "--server.headless", "true", "--server.address", "127.0.0.1",
             "--server.port", str(self.port), "--browser.gatherUsageStats", "false",
             "--server.fileWatcherType", "none"],
            cwd=app_root, env=env, stdout=self.log, stderr=subprocess.STDOUT)

    def wait_healthy(self, timeout: float = 90) -> None:
        import urllib.request

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited with {self.proc.returncode}; see {self.log.name}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise TimeoutError("server did not become healthy")

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


class Sampler(threading.Thread):
    """RSS of the server process and of its process tree every 0.5 s, tagged with the phase."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.phase = "start"
        self.samples: list[tuple[float, str, int, int]] = []
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.samples.append((time.monotonic(), self.phase, _rss_kb(self.pid), _tree_rss_kb(self.pid)))
            time.sleep(0.5)

    def now(self) -> tuple[float, float]:
        return _rss_kb(self.pid) / 1024, _tree_rss_kb(self.pid) / 1024

    def peak(self, phase_prefix: str) -> tuple[float, float]:
        rows = [s for s in self.samples if s[1].startswith(phase_prefix)]
        if not rows:
            return 0.0, 0.0
        return max(r[2] for r in rows) / 1024, max(r[3] for r in rows) / 1024


def write_secrets(path: Path) -> None:
    """A viewer and six analysts (cheap scrypt: sign-in is part of the viewer's measured load)."""
    from chuangshu.auth import hash_password

    lines = ['[users.viewer]', 'name = "查看员"', 'role = "viewer"',
             f'password_hash = "{hash_password(VIEWER_PASSWORD, n=2**14)}"', ""]
    for i in range(1, ANALYSTS + 1):
        lines += [f"[users.analyst{i}]", f'name = "分析员{i}"', 'role = "analyst"',
                  f'password_hash = "{hash_password(f"analyst-password-{i}", n=2**14)}"', ""]
    path.write_text("\n".join(lines), encoding="utf-8")


# ------------------------------------------------------------------ browsers


def _chromium_args() -> list[str]:
    sys.path.insert(0, str(ROOT / "tests"))
    from appserver import CHROMIUM_ARGS

    return [*CHROMIUM_ARGS, "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
            "--disable-backgrounding-occluded-windows"]


def _script_idle(page) -> bool:
    return page.evaluate(
        "() => { const a = document.querySelector('[data-testid=\"stApp\"]');"
        " return !!a && a.getAttribute('data-test-script-state') === 'notRunning'; }")


def _wait_idle(page, timeout_s: float = 120) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if _script_idle(page):
            page.wait_for_timeout(300)
            if _script_idle(page):
                return
        page.wait_for_timeout(100)
    raise TimeoutError("script did not finish")


def sign_in(page, url: str, username: str, password: str, timeout_s: float = 120) -> None:
    page.goto(url, timeout=timeout_s * 1000)
    page.get_by_label("用户名").fill(username, timeout=timeout_s * 1000)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()


def _kpis_painted(page, deadline: float) -> None:
    while time.monotonic() < deadline:
        n = page.evaluate("document.querySelectorAll('[data-testid=stMetricValue]').length")
        if n >= KPIS:
            return
        page.wait_for_timeout(50)
    raise TimeoutError("KPIs were not painted")


def viewer_load(browser, url: str, timeout_s: float = 120) -> float:
    """Seconds from opening the address in a new session to the overview's KPIs painted (sign-in included)."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    try:
        page = context.new_page()
        t0 = time.perf_counter()
        deadline = time.monotonic() + timeout_s
        sign_in(page, url, "viewer", VIEWER_PASSWORD, timeout_s)
        _kpis_painted(page, deadline)
        return time.perf_counter() - t0
    finally:
        context.close()


def analysts_main(url: str, wrapper: str, control: dict, report: mp.Queue) -> None:
    """The analysts' browser (own process): 6 contexts × 3 tabs on 即席查询, rerunning while ``load`` is set."""
    from playwright.sync_api import sync_playwright

    load, stop = control["load"], control["stop"]
    clicks = collections.Counter()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=wrapper, args=_chromium_args())
            tabs = []
            for a in range(1, ANALYSTS + 1):
                context = browser.new_context(viewport={"width": 1280, "height": 800})
                for t in range(TABS):
                    page = context.new_page()
                    sign_in(page, url, f"analyst{a}", f"analyst-password-{a}", 300)
                    page.get_by_test_id("stSidebarNav").get_by_text("即席查询").click(timeout=300_000)
                    page.wait_for_selector(".st-key-sql textarea", timeout=300_000)
                    _wait_idle(page, 300)
                    area = page.locator(".st-key-sql textarea")
                    area.fill(TAB_SQL[t])
                    area.press("Control+Enter")
                    _wait_idle(page, 300)
                    tabs.append({"page": page, "kind": "wide" if TAB_SQL[t] == WIDE_SQL else "cross", "last": 0.0})
            report.put(("ready", len(tabs)))
            while not stop.is_set():
                if not load.is_set():
                    time.sleep(0.2)
                    continue
                for tab in tabs:
                    if not load.is_set() or stop.is_set():
                        break
                    if time.monotonic() - tab["last"] < 1.0:
                        continue
                    try:
                        if _script_idle(tab["page"]):
                            tab["page"].get_by_role("button", name="运行查询").click(timeout=5000)
                            tab["last"] = time.monotonic()
                            clicks[tab["kind"]] += 1
                    except Exception:  # noqa: BLE001 - a slow tab: try again next round
                        tab["last"] = time.monotonic()
                time.sleep(0.05)
            report.put(("clicks", dict(clicks)))
            closed = time.monotonic()
            browser.close()  # every analyst tab goes at once
            report.put(("closed", time.monotonic() - closed))
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        report.put(("error", repr(exc)[:500]))


class ProtocolTab:
    """One analyst tab as a Streamlit protocol client: a websocket speaking the browser's BackMsg/ForwardMsg."""

    def __init__(self, url: str) -> None:
        self.url = url.replace("http://", "ws://") + "/_stcore/stream"
        self.widgets: dict[tuple[str, str], str] = {}  # (element type, label) -> widget id
        self.pages: dict[str, str] = {}  # url path -> page script hash
        self.running = False
        self.finished = False
        self.received = 0
        self.ws = None
        self.reader = None

    async def open(self) -> None:
        import asyncio

        from websockets.asyncio.client import connect

        self.ws = await connect(self.url, subprotocols=["streamlit"], max_size=None, open_timeout=120,
                                ping_timeout=None)
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

        try:
            async for data in self.ws:
                self.received += len(data)
                msg = ForwardMsg()
                msg.ParseFromString(data)
                kind = msg.WhichOneof("type")
                if kind == "session_status_changed":
                    self.running = msg.session_status_changed.script_is_running
                elif kind == "script_finished":
                    self.finished = True
                elif kind == "navigation":
                    self.pages.update({p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages})
                elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
                    element = msg.delta.new_element
                    which = element.WhichOneof("type")
                    if which in ("text_input", "text_area", "button"):
                        widget = getattr(element, which)
                        self.widgets[(which, widget.label)] = widget.id
        except Exception:  # noqa: BLE001 - the connection closed
            pass

    async def rerun(self, states: list[tuple[str, str, object]] = (), page: str = "") -> None:
        """What the browser sends when a widget changes: the page and the widgets' values."""
        from streamlit.proto.BackMsg_pb2 import BackMsg

        msg = BackMsg()
        msg.rerun_script.query_string = ""
        msg.rerun_script.page_script_hash = page
        for widget_id, field, value in states:
            state = msg.rerun_script.widget_states.widgets.add()
            state.id = widget_id
            setattr(state, field, value)
        self.finished = False
        await self.ws.send(msg.SerializeToString())

    async def done(self, timeout_s: float = 300, until=None) -> None:
        """Until the script run has finished (no new one started for a moment) and ``until()`` holds."""
        import asyncio

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            if self.finished and not self.running and (until is None or until()):
                await asyncio.sleep(0.3)
                if self.finished and not self.running:
                    return
        raise TimeoutError("script run did not finish")

    async def sign_in_to_query(self, username: str, password: str, sql: str) -> None:
        await self.open()
        await self.rerun()
        await self.done(until=lambda: ("button", "登录") in self.widgets)
        user, secret = self.widgets[("text_input", "用户名")], self.widgets[("text_input", "密码")]
        await self.rerun([(user, "string_value", username), (secret, "string_value", password),
                          (self.widgets[("button", "登录")], "trigger_value", True)])
        await self.done(until=lambda: "query" in self.pages)
        await self.rerun(page=self.pages["query"])
        await self.done(until=lambda: ("button", "运行查询") in self.widgets)
        self.sql = sql
        self.editor = next(v for (kind, label), v in self.widgets.items() if kind == "text_area" and label.startswith("SQL"))
        self.button = self.widgets[("button", "运行查询")]

    async def run_query(self, sql: str | None = None) -> None:
        """Press 运行查询 with the heavy query (or ``sql``) in the editor, and wait for the page to finish."""
        await self.rerun([(self.editor, "string_value", sql or self.sql), (self.button, "trigger_value", True)],
                         page=self.pages["query"])
        await self.done()

    async def close(self) -> None:
        await self.ws.close()


def analysts_protocol_main(url: str, control: dict, report: mp.Queue) -> None:
    """The analysts (own process, nice 19): 18 protocol tabs, rerunning their query while ``load`` is set."""
    import asyncio

    os.nice(19)
    load, stop, fill = control["load"], control["stop"], control["fill"]
    clicks: collections.Counter = collections.Counter()

    async def tab_loop(tab: ProtocolTab, kind: str) -> None:
        while not stop.is_set() and not fill.is_set():
            if not load.is_set():
                await asyncio.sleep(0.2)
                continue
            clicks[kind] += 1
            try:
                await tab.run_query()
            except TimeoutError:
                clicks["stuck"] += 1

    async def run() -> None:
        tabs = [ProtocolTab(url) for _ in range(ANALYSTS * TABS)]
        await asyncio.gather(*[tab.sign_in_to_query(f"analyst{i // TABS + 1}", f"analyst-password-{i // TABS + 1}",
                                                    TAB_SQL[i % TABS]) for i, tab in enumerate(tabs)])
        report.put(("ready", len(tabs)))
        await asyncio.gather(*[tab_loop(tab, "wide" if TAB_SQL[i % TABS] == WIDE_SQL else "cross")
                               for i, tab in enumerate(tabs)])
        report.put(("clicks", {**clicks, "received_mb": round(sum(t.received for t in tabs) / MB)}))
        if fill.is_set():  # every tab gets a wide result, one tab at a time
            started, before = time.monotonic(), sum(t.received for t in tabs)
            for tab in tabs:
                await tab.run_query(WIDE_SQL)
            report.put(("filled", {"seconds": round(time.monotonic() - started, 1),
                                   "received_mb": round((sum(t.received for t in tabs) - before) / MB, 1)}))
            while not stop.is_set():
                await asyncio.sleep(0.2)
        closing = time.monotonic()
        await asyncio.gather(*[tab.close() for tab in tabs])  # every analyst tab goes at once
        report.put(("closed", time.monotonic() - closing))

    try:
        asyncio.run(run())
    except Exception as exc:  # noqa: BLE001 - reported to the parent
        report.put(("error", repr(exc)[:500]))


def _nice_wrapper(folder: Path) -> str:
    path = folder / "chromium-nice19"
    path.write_text('#!/bin/sh\nexec nice -n 19 /usr/bin/chromium "$@"\n')
    path.chmod(0o755)
    return str(path)


# ------------------------------------------------------------------ cost of one wide result


def job_result_cost(db: str, max_mb: float) -> dict:
    """One 496-column result at a byte limit, in a fresh process: its sizes and this process's RSS."""
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    import gc
    import pickle

    from streamlit import dataframe_util

    from chuangshu import query_runner
    from chuangshu.memtrim import trim_memory

    def rss() -> float:
        return _rss_kb(os.getpid()) / 1024

    query_runner.run_query("SELECT 1", db=db, audit=False)  # a warm worker, imports done
    trim_memory()
    out: dict = {"max_mb": max_mb, "rss_start_mb": rss()}
    t0 = time.perf_counter()
    result = query_runner.run_query(WIDE_SQL, db=db, audit=False, timeout_s=60, max_bytes=int(max_mb * MB))
    out["query_s"] = time.perf_counter() - t0
    df = result.df
    out.update(rows=len(df), columns=len(df.columns), truncated=result.truncated, nbytes_mb=result.nbytes / MB,
               rss_received_mb=rss())
    trim_memory()
    out["rss_received_trimmed_mb"] = rss()
    kinds = collections.Counter(
        f"{dt.name}{'/' + dt.storage if getattr(dt, 'storage', None) else ''}" for dt in df.dtypes)
    out["dtypes"] = dict(kinds)
    t0 = time.perf_counter()
    arrow = dataframe_util.convert_pandas_df_to_arrow_bytes(df)  # what st.dataframe sends
    out["arrow_s"] = time.perf_counter() - t0
    out["arrow_mb"] = len(arrow) / MB
    out["rss_rendered_mb"] = rss()
    del arrow
    trim_memory()
    out["rss_rendered_trimmed_mb"] = rss()
    out["pickle_mb"] = len(pickle.dumps(df, protocol=5)) / MB
    del df
    result.release("bench")
    del result
    gc.collect()
    out["rss_released_mb"] = rss()
    trim_memory()
    out["rss_trimmed_mb"] = rss()
    return out


# ------------------------------------------------------------------ the run


def _audit_outcomes(state: Path, since: float, until: float) -> dict:
    """Outcomes of the analysts' queries between two wall-clock times (from the audit log)."""
    path = state / "audit" / "queries.jsonl"
    counts: collections.Counter = collections.Counter()
    if not path.exists():
        return {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            entry = json.loads(line)
            when = datetime.fromisoformat(entry["when"]).timestamp()
        except (ValueError, KeyError):
            continue
        if since <= when <= until:
            kind = "wide" if "range(2)" in entry.get("sql", "") else "cross"
            outcome = entry.get("outcome")
            if outcome == "ok" and entry.get("truncated"):
                outcome = "ok, truncated"
            counts[f"{kind}: {outcome}"] += 1
    return dict(sorted(counts.items()))


def measure(db: Path, app_root: Path, pairs: int, analysts_mode: str = "protocol",
            extra_env: dict[str, str] | None = None) -> dict:
    from playwright.sync_api import sync_playwright

    tmp = Path(tempfile.mkdtemp(prefix="bench-fair-"))
    state = tmp / "state"
    state.mkdir()
    secrets = tmp / "secrets.toml"
    write_secrets(secrets)
    server = Server(app_root, db, state, secrets, extra_env)
    ctx = mp.get_context("spawn")
    control = {"load": ctx.Event(), "stop": ctx.Event(), "fill": ctx.Event()}
    report: mp.Queue = ctx.Queue()
    out: dict = {"pairs": [], "app_root": str(app_root), "db": db.name, "analysts": analysts_mode,
                 "env": extra_env or {}}
    sampler = Sampler(server.proc.pid)
    analysts = None
    try:
        server.wait_healthy()
        sampler.start()
        with sync_playwright() as pw:
            viewer = pw.chromium.launch(executable_path="/usr/bin/chromium", args=_chromium_args())
            for _ in range(2):  # warm: the metric cache, the sign-in path
                viewer_load(viewer, server.url)
            out["viewer_alone_s"] = [_timed(viewer_load, viewer, server.url) for _ in range(3)]
            out["rss_idle_mb"], out["tree_idle_mb"] = sampler.now()
            sampler.phase = "opening"
            if analysts_mode == "chromium":
                analysts = ctx.Process(target=analysts_main, args=(server.url, _nice_wrapper(tmp), control, report))
            else:
                analysts = ctx.Process(target=analysts_protocol_main, args=(server.url, control, report))
            t_open = time.monotonic()
            analysts.start()
            kind, value = report.get(timeout=900)
            if kind != "ready":
                raise RuntimeError(f"analysts failed: {value}")
            out["tabs"] = value
            out["open_s"] = time.monotonic() - t_open
            time.sleep(3)
            out["rss_tabs_open_mb"], out["tree_tabs_open_mb"] = sampler.now()
            load_start = time.time()
            for i in range(pairs):
                sampler.phase = f"idle{i}"
                la_idle = os.getloadavg()[0]
                idle = _timed(viewer_load, viewer, server.url)
                sampler.phase = f"loaded{i}"
                control["load"].set()
                time.sleep(WARMUP_S)
                la_loaded = os.getloadavg()[0]
                loaded = _timed(viewer_load, viewer, server.url)
                la_after = os.getloadavg()[0]
                control["load"].clear()
                sampler.phase = f"drain{i}"
                time.sleep(DRAIN_S)
                pair = {"idle_s": idle, "loaded_s": loaded, "load_idle": la_idle, "load_loaded": la_loaded,
                        "load_after": la_after,
                        "ratio": (loaded / idle) if idle and loaded else None}
                out["pairs"].append(pair)
                print(f"[fair] pair {i + 1}: idle {_fmt_s(idle)}, loaded {_fmt_s(loaded)}, "
                      f"ratio {pair['ratio'] or float('nan'):.2f}, load {la_idle:.1f}/{la_loaded:.1f}", flush=True)
            out["outcomes"] = _audit_outcomes(state, load_start, time.time())
            out["rss_loaded_peak_mb"], out["tree_loaded_peak_mb"] = sampler.peak("loaded")
            if analysts_mode == "protocol":
                sampler.phase = "filling"
                fill_start = time.time()
                control["fill"].set()
                while True:
                    kind, value = report.get(timeout=900)
                    if kind == "clicks":
                        out["clicks"] = value
                    if kind in ("filled", "error"):
                        out["filled"] = value
                        break
                time.sleep(3)
                out["fill_outcomes"] = _audit_outcomes(state, fill_start, time.time())
            out["rss_before_close_mb"], out["tree_before_close_mb"] = sampler.now()
            sampler.phase = "closing"
            control["stop"].set()
            while True:
                kind, value = report.get(timeout=120)
                if kind == "clicks":
                    out["clicks"] = value
                if kind in ("closed", "error"):
                    out["close"] = value
                    break
            analysts.join(60)
            closed_at = time.monotonic()
            for after in AFTER_CLOSE_S:
                sampler.phase = f"after{after}"
                time.sleep(max(0.0, closed_at + after - time.monotonic()))
                out[f"rss_after_{after}s_mb"], out[f"tree_after_{after}s_mb"] = sampler.now()
                print(f"[fair] {after} s after the analysts' tabs closed: server {out[f'rss_after_{after}s_mb']:.0f} MiB"
                      f" (with workers {out[f'tree_after_{after}s_mb']:.0f} MiB)", flush=True)
            out["viewer_after_close_s"] = _timed(viewer_load, viewer, server.url)
            viewer.close()
    finally:
        sampler.stop.set()
        control["stop"].set()
        if analysts is not None and analysts.is_alive():
            analysts.terminate()
        server.close()
    ratios = [p["ratio"] for p in out["pairs"] if p["ratio"]]
    failed = sum(1 for p in out["pairs"] if not p["loaded_s"])
    out["failed_loaded"] = failed
    if ratios:
        out["median_ratio"] = statistics.median(ratios + [float("inf")] * failed)
        out["ratio_min"], out["ratio_max"] = min(ratios), (max(ratios) if not failed else float("inf"))
    out["rss_samples"] = [(round(t - sampler.samples[0][0], 1), ph, kb // 1024, tkb // 1024)
                          for t, ph, kb, tkb in sampler.samples[::4]] if sampler.samples else []
    return out


def _timed(fn, *args) -> float | None:
    try:
        return fn(*args)
    except Exception as exc:  # noqa: BLE001 - a page that never painted is recorded as a failure
        print(f"[fair] page load failed: {str(exc)[:120]}", flush=True)
        return None


def _fmt_s(v: float | None) -> str:
    return "failed" if v is None else f"{v:.2f} s"


# ------------------------------------------------------------------ report


def render(results: dict) -> str:
    """The Markdown section of docs/benchmarks.md."""
    lines = [START, "### Generated: a viewer's page load while analysts run heavy queries", ""]
    add = lines.append
    add(f"Generated by `python -m bench.fair {results['argv']}` on {results['finished']}; "
        f"machine: {results['machine']}. Method and reasons: the prose above and `bench/fair.py`'s docstring; base = main before the change.\n")
    for label, run in results["runs"].items():
        add(f"#### {label}\n")
        add(f"Server from `{run['app_root']}`, database `{run['db']}`; {run.get('tabs', 0)} analyst tabs "
            f"({ANALYSTS} analysts × {TABS}, {run.get('analysts', 'chromium')}); viewer page load = new session "
            "→ sign-in → 14 KPIs painted.\n")
        alone = [v for v in run.get("viewer_alone_s", []) if v]
        if alone:
            add(f"Viewer alone (no analyst tabs yet): {', '.join(f'{v:.2f}' for v in alone)} s.\n")
        add("| Pair | Idle | Loaded | Loaded / idle | Load average (idle / loaded / after) |")
        add("|---:|---:|---:|---:|---|")
        for i, p in enumerate(run["pairs"], 1):
            ratio = f"{p['ratio']:.2f}" if p["ratio"] else "—"
            add(f"| {i} | {_fmt_s(p['idle_s'])} | {_fmt_s(p['loaded_s'])} | {ratio} | "
                f"{p['load_idle']:.1f} / {p['load_loaded']:.1f} / {p['load_after']:.1f} |")
        if "median_ratio" in run:
            met = run["median_ratio"] <= TARGET_RATIO
            add(f"\n**Median loaded / idle: {run['median_ratio']:.2f}** (spread {run['ratio_min']:.2f}–"
                f"{run['ratio_max']:.2f}; target ≤ {TARGET_RATIO:g}: {'met' if met else '**not met**'}). "
                f"Loaded page loads that failed (no KPIs within 120 s): {run['failed_loaded']}.\n")
        add("| Server RSS (MiB) | Server process | With query workers |")
        add("|---|---:|---:|")
        held = ("every analyst tab holding a 496-column result" if run.get("filled")
                else "after the last loaded phase")
        for key, label2 in [("idle", "idle, viewer only"), ("tabs_open", f"{run.get('tabs', 0)} analyst tabs open"),
                            ("loaded_peak", "peak while loaded"), ("before_close", held),
                            ("after_30s", "30 s after the analysts' tabs closed"),
                            ("after_180s", "3 min after the analysts' tabs closed")]:
            if f"rss_{key}_mb" in run:
                add(f"| {label2} | {run[f'rss_{key}_mb']:,.0f} | {run[f'tree_{key}_mb']:,.0f} |")
        add("")
        if run.get("filled"):
            per_tab = (run["rss_before_close_mb"] - run["rss_tabs_open_mb"]) / max(1, run.get("tabs", 1))
            add(f"Every tab running the wide query once, one after another: {run['filled']['seconds']:.0f} s, "
                f"{run['filled']['received_mb']:.0f} MB sent to the tabs; outcomes "
                + ", ".join(f"{k} {v}" for k, v in run.get("fill_outcomes", {}).items())
                + f". Server process per tab holding its result: **{per_tab:.0f} MiB** (RSS over the tabs-open level).\n")
        if run.get("outcomes"):
            add("Analyst queries during the pairs (audit log): " + ", ".join(
                f"{k} {v}" for k, v in run["outcomes"].items()) + ".\n")
        if run.get("clicks"):
            add("Runs started by the analyst tabs: " + ", ".join(f"{k} {v}" for k, v in run["clicks"].items()) + ".\n")
        if run.get("viewer_after_close_s"):
            add(f"Viewer page load after the analysts left: {run['viewer_after_close_s']:.2f} s.\n")
    cost = results.get("result_cost")
    if cost:
        add("#### Cost of one 496-column result in the dashboard process\n")
        add("`job_result_cost`: a fresh process runs the wide `SELECT` through `run_query` at a byte limit, "
            "then does what the page does with it (`st.dataframe`'s Arrow IPC serialisation), releases it "
            "and trims the heap.\n")
        add("| Limit | Rows × columns | DataFrame | Pickled (worker → dashboard) | Arrow IPC (to the browser) | "
            "RSS before | received (trimmed) | rendered (trimmed) | released, untrimmed | trimmed |")
        add("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|")
        for c in cost:
            add(f"| {c['max_mb']:g} MB | {c['rows']:,} × {c['columns']} | {c['nbytes_mb']:.1f} MB | "
                f"{c['pickle_mb']:.1f} MB | {c['arrow_mb']:.1f} MB | {c['rss_start_mb']:.0f} | "
                f"{c['rss_received_mb']:.0f} ({c['rss_received_trimmed_mb']:.0f}) | "
                f"{c['rss_rendered_mb']:.0f} ({c['rss_rendered_trimmed_mb']:.0f}) | {c['rss_released_mb']:.0f} | "
                f"{c['rss_trimmed_mb']:.0f} |")
        add("\nColumn types: " + ", ".join(f"{k} {v}" for k, v in cost[0]["dtypes"].items()) + ".\n")
    add(END)
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def _sample_db(folder: Path) -> Path:
    from etl.bootstrap import generate_sample
    from etl.extract import ledger_files
    from etl.load import load_files

    db = folder / "sample.duckdb"
    load_files(ledger_files([generate_sample(folder / "ledgers")]), db, dataset="sample")
    return db


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench.fair", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="database (default: the sample, built in a temp dir)")
    parser.add_argument("--pairs", type=int, default=5, help="interleaved idle/loaded pairs (at least 5)")
    parser.add_argument("--app-root", type=Path, action="append", default=None,
                        help="checkout to serve (repeatable: one run each; default: this one)")
    parser.add_argument("--analysts", choices=("protocol", "chromium"), default="protocol",
                        help="analyst tabs as Streamlit protocol clients (default) or real chromium tabs")
    parser.add_argument("--env", action="append", default=[], metavar="NAME=VALUE",
                        help="environment for the server (repeatable), e.g. CHUANGSHU_QUERY_NICE=0")
    parser.add_argument("--skip-cost", action="store_true", help="skip the one-result cost table")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from bench.suite import machine, run_job

    roots = [p.resolve() for p in (args.app_root or [ROOT])]
    extra_env = dict(item.split("=", 1) for item in args.env)
    results: dict = {"argv": " ".join(argv), "machine": machine(), "runs": {}}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db.resolve() if args.db else run_job(_sample_db_job, tmp)
        if not args.skip_cost:
            results["result_cost"] = [run_job(job_result_cost, str(db), mb) for mb in (64, 16)]
            for c in results["result_cost"]:
                print(f"[fair] one wide result at {c['max_mb']:g} MB: {c}", flush=True)
        for root in roots:
            label = ("This checkout" if root == ROOT else f"Server from {root.name}") + "".join(
                f", {k}={v}" for k, v in extra_env.items())
            results["runs"][label] = measure(Path(db), root, max(1, args.pairs), args.analysts, extra_env)
    results["finished"] = datetime.now().strftime("%Y-%m-%d %H:%M")
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "fair.json").write_text(json.dumps(results, indent=1, ensure_ascii=False, default=str))
    section = render(results)
    print("\n" + section)
    if not args.no_doc:
        write_doc(section)
    return 0


def _sample_db_job(folder: str) -> str:
    return str(_sample_db(Path(folder)))


if __name__ == "__main__":
    sys.exit(main())
