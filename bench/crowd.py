"""A hall of phone readers at once: `python -m bench.crowd [--db FILE] [--ns 20,100,200] [--pairs 5]`.

N readers (a handful of real browser pages, plain clients for the rest, all on loopback, all released
by one barrier) open
  * the briefing on our server (``/briefing?code=…``, the static file served by chuangshu.briefing_http
    inside the dashboard's own server, with its access-code check), paired with the reference: the
    same file on an ordinary web server (the standard library's threaded file server, :data:`REFERENCE`), the floor for serving bytes;
  * the live overview (``/``): the browser pages load the app; the plain clients speak Streamlit's own
    websocket protocol (one session each, as a browser tab is), so every reader costs a script run.

Time to first figure: briefing — the bytes of the first chart (``<svg class="sc"``) have arrived (plain
client) or the chart is in the page (browser); live — the first KPI (an ``st.metric``) has arrived
(websocket) or is painted (``stMetricValue`` in the page). p50/p95 per path per N; the briefing's
ratio ours/reference from interleaved pairs (ours first on even pairs, reference first on odd), median
of per-pair ratios of p95 and their spread; the 1-minute load average before and after each N.
The live path is run fewer times (``--live-rounds``): at N=200 one round is 200 script runs.
Writes its section of docs/benchmarks.md. Not a test: a benchmark, on a shared machine.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import re
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from appserver import CHROMIUM_ARGS, AppServer, free_port  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:crowd:start -->", "<!-- bench:crowd:end -->"
CODE = "crowd123"
FIGURE = re.compile(rb'<svg[^>]*\sclass="sc"')  # the first chart's opening tag
TIMEOUT_S = 600.0
# The reference: the standard library's threaded file server, with a listen backlog for a crowd (its
# default of 5 would make a hall of readers wait for TCP retries, and measure that instead of serving).
REFERENCE = """
import functools, http.server, sys
class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 1024
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[2])
Server(("127.0.0.1", int(sys.argv[1])), handler).serve_forever()
"""
PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@dataclass
class Round:
    """One round: every reader's seconds to first figure (None: failed or timed out)."""

    path: str
    n: int
    times: list[float | None] = field(default_factory=list)
    load_before: float = 0.0
    browsers: int = 0  # the first ``browsers`` readers are browser pages

    def part(self, browser: bool) -> Round:
        """The browser readers' or the plain clients' times alone."""
        return Round(self.path, self.n, self.times[:self.browsers] if browser else self.times[self.browsers:])

    @property
    def ok(self) -> list[float]:
        return sorted(t for t in self.times if t is not None)

    def pct(self, q: float) -> float | None:
        ok = self.ok
        if len(ok) < len(self.times):  # a failed reader counts as slower than all others
            return None if q * len(self.times) > len(ok) else ok[min(len(ok) - 1, int(q * len(self.times)))]
        return ok[min(len(ok) - 1, int(round(q * (len(ok) - 1))))]


# --- clients ---------------------------------------------------------------------------------------

async def http_first_figure(host: str, port: int, target: str, gate: asyncio.Event) -> float | None:
    """Seconds from the barrier until the first chart's bytes have arrived (plain HTTP/1.1, identity)."""
    await gate.wait()
    t0 = time.perf_counter()
    try:
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET {target} HTTP/1.1\r\nHost: {host}:{port}\r\nUser-Agent: crowd-bench\r\n"
                     "Accept: text/html\r\nConnection: close\r\n\r\n".encode())
        await writer.drain()
        seen = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(65536), TIMEOUT_S)
            if not chunk:
                break
            seen += chunk
            if seen.startswith(b"HTTP/1.1 200") or seen.startswith(b"HTTP/1.0 200"):
                if FIGURE.search(seen):
                    elapsed = time.perf_counter() - t0
                    writer.close()
                    return elapsed
        writer.close()
        return None
    except (OSError, asyncio.TimeoutError):
        return None


async def ws_first_metric(port: int, gate: asyncio.Event) -> float | None:
    """Seconds from the barrier until a Streamlit session has sent the overview's first KPI (st.metric)."""
    import websockets
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    await gate.wait()
    t0 = time.perf_counter()
    try:
        async with websockets.connect(f"ws://127.0.0.1:{port}/_stcore/stream", subprotocols=["streamlit"],
                                      origin=f"http://127.0.0.1:{port}", max_size=None,
                                      open_timeout=TIMEOUT_S, ping_interval=None) as ws:
            msg = BackMsg()
            msg.rerun_script.query_string = ""
            msg.rerun_script.page_script_hash = ""
            await ws.send(msg.SerializeToString())
            deadline = t0 + TIMEOUT_S
            while time.perf_counter() < deadline:
                data = await asyncio.wait_for(ws.recv(), deadline - time.perf_counter())
                fwd = ForwardMsg()
                fwd.ParseFromString(data)
                kind = fwd.WhichOneof("type")
                if kind == "delta" and fwd.delta.WhichOneof("type") == "new_element" \
                        and fwd.delta.new_element.WhichOneof("type") == "metric":
                    return time.perf_counter() - t0
                if kind == "script_finished":
                    return None  # finished without a KPI: a failure, not a time
    except Exception:  # noqa: BLE001 - any failure of a reader is recorded as a failure
        return None
    return None


async def browser_first(browser, url: str, selector: str, gate: asyncio.Event) -> float | None:
    """Seconds from the barrier until ``selector`` is in a new phone-sized page."""
    page = await browser.new_page(**PHONE)
    try:
        await gate.wait()
        t0 = time.perf_counter()
        await page.goto(url, wait_until="commit", timeout=TIMEOUT_S * 1000)
        await page.wait_for_selector(selector, state="attached", timeout=TIMEOUT_S * 1000)
        return time.perf_counter() - t0
    except Exception:  # noqa: BLE001
        return None
    finally:
        await page.close()


async def one_round(browser, path: str, n: int, browsers: int, ours: AppServer, ref_port: int) -> Round:
    """N readers of one path, released at once (when the machine is quiet: what the last round left, its
    browser pages closing, our server finishing live script runs, is not this round's)."""
    await quiet_machine()
    gate = asyncio.Event()
    k = min(browsers, n)
    r = Round(path, n, load_before=os.getloadavg()[0], browsers=k)
    if path == "live":
        url = ours.url + "/"
        tasks = [browser_first(browser, url, '[data-testid="stMetricValue"]', gate) for _ in range(k)]
        tasks += [ws_first_metric(ours.port, gate) for _ in range(n - k)]
    else:
        port = ours.port if path == "briefing" else ref_port
        target = f"/briefing?code={CODE}" if path == "briefing" else "/briefing.html"
        tasks = [browser_first(browser, f"http://127.0.0.1:{port}{target}", "svg.sc", gate) for _ in range(k)]
        tasks += [http_first_figure("127.0.0.1", port, target, gate) for _ in range(n - k)]
    futures = [asyncio.ensure_future(t) for t in tasks]
    await asyncio.sleep(1.0)  # the browser pages are open and waiting
    gate.set()
    r.times = list(await asyncio.gather(*futures))
    return r


# --- the run ---------------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_busy_idle() -> tuple[int, int]:
    """(busy, idle) jiffies of the whole machine so far (Linux /proc/stat)."""
    values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]
    return sum(values) - idle, idle


async def quiet_machine(idle_share: float = 0.8, limit_s: float = 120.0) -> None:
    """Wait until the machine's cores are at least ``idle_share`` idle over half a second (at most ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        busy0, idle0 = _cpu_busy_idle()
        await asyncio.sleep(0.5)
        busy1, idle1 = _cpu_busy_idle()
        total = (busy1 - busy0) + (idle1 - idle0)
        if total and (idle1 - idle0) / total >= idle_share:
            return


async def settle(pid: int, busy: float = 0.05, limit_s: float = 300.0) -> None:
    """Wait until process ``pid`` uses under ``busy`` of a core over a second (at most ``limit_s``)."""
    deadline = time.monotonic() + limit_s
    while time.monotonic() < deadline:
        before = cpu_seconds(pid)
        await asyncio.sleep(1.0)
        if cpu_seconds(pid) - before < busy:
            return


def sample_db(folder: Path) -> Path:
    """The bundled sample (seed 2022) loaded by the real ETL."""
    from etl.extract import ledger_files
    from etl.load import load_files
    from etl.sample import generate

    generate(folder / "ledgers", seed=2022)
    db = folder / "db" / "guicheng.duckdb"
    db.parent.mkdir(parents=True)
    load_files(ledger_files([folder / "ledgers"]), db, dataset="sample")
    return db


async def run(db: Path, ns: list[int], pairs: int, live_rounds: dict[int, int], browsers: int) -> list[Round]:
    from playwright.async_api import async_playwright

    from chuangshu import briefing, sharing

    rounds: list[Round] = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        state = work / "state"
        state.mkdir()
        served_db = work / "db" / "guicheng.duckdb"
        served_db.parent.mkdir()
        shutil.copyfile(db, served_db)
        (state / sharing.FILE_NAME).write_text(json.dumps(
            {"public_url": "http://127.0.0.1:8501", "briefing": "code", "code": CODE}), encoding="utf-8")
        ours = AppServer(served_db, state, extra_env={name: "" for name in sharing.ENV.values()})
        web = work / "web"
        web.mkdir()
        ref_port = free_port()
        ref = subprocess.Popen([sys.executable, "-c", REFERENCE, str(ref_port), str(web)],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ours.wait_healthy()
            target = briefing.path_for(served_db)
            deadline = time.monotonic() + 60
            while not target.exists() and time.monotonic() < deadline:  # the server's watcher writes it
                await asyncio.sleep(0.5)
            shutil.copyfile(target, web / "briefing.html")  # the same bytes on an ordinary web server
            async with async_playwright() as p:
                browser = await p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                await one_round(browser, "live", browsers, browsers, ours, ref_port)  # warm: caches, first run
                await settle(ours.proc.pid)
                await one_round(browser, "briefing", browsers, browsers, ours, ref_port)
                for n in ns:
                    for i in range(pairs):
                        order = ("briefing", "reference") if i % 2 == 0 else ("reference", "briefing")
                        for path in order:
                            rounds.append(await one_round(browser, path, n, browsers, ours, ref_port))
                            print(describe(rounds[-1]), flush=True)
                    for _ in range(live_rounds.get(n, 1)):
                        rounds.append(await one_round(browser, "live", n, browsers, ours, ref_port))
                        print(describe(rounds[-1]), flush=True)
                        # the live readers leave after their first KPI, but their script runs go on: the
                        # next round starts when our server has finished them (it would measure them too)
                        await settle(ours.proc.pid)
                await browser.close()
        finally:
            ours.close()
            ref.terminate()
            ref.wait(10)
    return rounds


def fmt_s(x: float | None) -> str:
    return "—" if x is None else f"{x:.2f}"


def describe(r: Round) -> str:
    failed = sum(t is None for t in r.times)
    return (f"{r.path:9s} N={r.n:3d}  p50 {fmt_s(r.pct(0.5))} s  p95 {fmt_s(r.pct(0.95))} s  max {fmt_s(max(r.ok, default=None))} s"
            f"  failed {failed}  load {r.load_before:.1f}")


def table(rounds: list[Round], ns: list[int], pairs: int, browsers: int, load_after: dict[int, float]) -> str:
    """The generated section of docs/benchmarks.md."""
    lines = [START, "",
             f"Generated by `python -m bench.crowd` on {time.strftime('%Y-%m-%d %H:%M')} (this machine: "
             f"{os.cpu_count()} cores, shared). Seconds to first figure; {browsers} readers per round are real "
             "browser pages (390×844), the rest plain clients; all released at once. "
             "p50/p95 over all readers of all rounds of that path and N; a failed reader counts as slowest.", "",
             "| N | path | rounds | p50 s | p95 s | max s | p95 browser pages s | p95 plain clients s | failed "
             "| load avg before → after |",
             "|---:|---|---:|---:|---:|---:|---:|---:|---:|---|"]
    for n in ns:
        for path in ("briefing", "reference", "live"):
            rs = [r for r in rounds if r.n == n and r.path == path]
            if not rs:
                continue
            merged = Round(path, n, [t for r in rs for t in r.times])
            in_browser = Round(path, n, [t for r in rs for t in r.part(True).times])
            plain = Round(path, n, [t for r in rs for t in r.part(False).times])
            failed = sum(t is None for t in merged.times)
            name = {"briefing": "briefing, our server", "reference": "briefing, plain web server (reference)",
                    "live": "live overview (Streamlit sessions)"}[path]
            lines.append(f"| {n} | {name} | {len(rs)} | {fmt_s(merged.pct(0.5))} | {fmt_s(merged.pct(0.95))} | "
                         f"{fmt_s(max(merged.ok, default=None))} | {fmt_s(in_browser.pct(0.95))} | {fmt_s(plain.pct(0.95))} | {failed} | "
                         f"{rs[0].load_before:.1f} → {load_after.get(n, 0):.1f} |")
    lines += ["", "Briefing, ours ÷ reference, per interleaved pair (p95 of the pair's two rounds):", "",
              "| N | pairs | median ratio of p95 | spread (min–max) |", "|---:|---:|---:|---|"]
    for n in ns:
        ours = [r for r in rounds if r.n == n and r.path == "briefing"]
        refs = [r for r in rounds if r.n == n and r.path == "reference"]
        ratios = [a.pct(0.95) / b.pct(0.95) for a, b in zip(ours, refs)
                  if a.pct(0.95) is not None and b.pct(0.95)]
        if ratios:
            lines.append(f"| {n} | {len(ratios)} | {statistics.median(ratios):.2f} | "
                         f"{min(ratios):.2f}–{max(ratios):.2f} |")
    lines += ["", END]
    return "\n".join(lines)


def write_doc(section: str) -> None:
    text = DOC.read_text(encoding="utf-8")
    if START in text and END in text:
        text = text[:text.index(START)] + section + text[text.index(END) + len(END):]
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--db", type=Path, help="a database to serve (default: the sample, built once)")
    ap.add_argument("--ns", default="20,100,200")
    ap.add_argument("--pairs", type=int, default=5)
    ap.add_argument("--live-rounds", default="20:3,100:1,200:1", help="rounds of the live path per N")
    ap.add_argument("--browsers", type=int, default=5, help="real browser pages among the readers")
    ap.add_argument("--no-doc", action="store_true", help="print only; leave docs/benchmarks.md alone")
    args = ap.parse_args(argv)
    ns = [int(x) for x in args.ns.split(",")]
    live = {int(k): int(v) for k, v in (x.split(":") for x in args.live_rounds.split(","))}
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db or sample_db(Path(tmp))
        rounds = asyncio.run(run(db, ns, args.pairs, live, args.browsers))
    load_after = {}
    for n in ns:  # the load average when the next N began (or at the end)
        later = [r for r in rounds if r.n > n]
        load_after[n] = later[0].load_before if later else os.getloadavg()[0]
    section = table(rounds, ns, args.pairs, args.browsers, load_after)
    print(section)
    if not args.no_doc:
        write_doc(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
