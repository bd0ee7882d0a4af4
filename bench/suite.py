"""The benchmark suite: `python -m bench` (or `make bench`). See docs/benchmarks.md.

    python -m bench                          # scales 1, 10, 100, 1000 (the 1000x loads take many minutes)
    python -m bench --quick                  # scales 1 and 100 only
    python -m bench --scales 1,10,100,1000 --load-only   # the load rounds and the cost growth table only
    python -m bench --scales 1,10,100,1000 --load-only --big-rounds 3   # fewer rounds from 1000× on
    python -m bench --scales 1,100 --skip-server --skip-apptest
    python -m bench --etl-big                # also the 1M-row CSV benchmark of bench.etl_bench
    python -m bench --fair [-- --pairs 7]    # only the fair-sharing benchmark (bench.fair, issue 16)
    python -m bench --front [-- --pairs 7]   # only the paired browser measurements (bench.front, issue 15)
    python -m bench --front -- --growth      # only the per-page cost growth table (bench.front, issue 15)

For each scale N it (1) generates N times the sample's records as CSV ledgers (etl.sample_scale),
(2) loads them with our loader and, for comparison, with DuckDB's own read_csv, in interleaved
rounds (bench/pairs.py: each round runs both, each in a fresh process; the ratio is the median of
the per-round ratios, with its spread and the load average; the database of the last round is
cached under bench/out/scale_N/ and rebuilt when the loader's code or SQL changes), (3) times every metric query of every page: ours (the metric function with a
cursor), the same SQL straight into DuckDB (the floor) and a plain pandas baseline, cold (new
connection, empty DuckDB buffers) and warm, (4) runs each page through AppTest, cold and warm, and
(5) at the largest scale, measures the server's memory with 20 concurrent browser sessions.
It prints the tables and rewrites the generated part of docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import math
import os
import resource
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from pathlib import Path

from bench.pairs import cpu_time, load_text, median_seconds, rounds, run_job, text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:generated:start -->", "<!-- bench:generated:end -->"
TARGETS = {"warm_ms": 200, "cold_ms": 1500, "overhead": 1.5, "load_ratio": 0.5, "server_mb": 1024}
LOAD_TARGET_SCALES = (100, 1000)  # where the load ratio target applies (issue 15)
SESSIONS = 20


# ------------------------------------------------------------------ helpers

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _digest(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(paths):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def generator_fingerprint() -> str:
    """The code and reference data the scaled ledgers depend on (generator, sample model)."""
    return _digest([*(ROOT / "etl").glob("sample*.py"), *(ROOT / "data" / "reference").glob("*")])


def fingerprint() -> str:
    """What a cached scaled database depends on: the ledgers, the loader, its SQL and the marts."""
    return _digest([*(ROOT / "etl").glob("*.py"), *(ROOT / "etl" / "sql").glob("*.sql"),
                    *(ROOT / "data" / "reference").glob("*")])


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 1)


# ------------------------------------------------------------------ (1)+(2) ledgers, load, DuckDB reader

def job_generate(folder: str, scale: int) -> dict:
    from etl.sample_scale import generate_scaled

    started = time.perf_counter()
    written = generate_scaled(Path(folder), scale=scale)
    return {"seconds": time.perf_counter() - started, "files": len(written.files), "rows": written.rows}


def job_load(folder: str, db: str, chunks: int) -> dict:
    """Our loader: all files in one load_files call, or one call per community group (bounded memory)."""
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from etl.extract import ledger_files
    from etl.load import load_files

    files = ledger_files([Path(folder)])
    groups = [files] if chunks <= 1 else [[p for p in files if f"_g{g}_" in p.name] for g in range(chunks)]
    Path(db).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    totals = {"rows_read": 0, "new": 0, "rejected": 0}
    for i, group in enumerate(groups):
        report = load_files(group, Path(db), dataset="bench-scale" if i == len(groups) - 1 else None,
                            limits=None)  # scaled files exceed the intake limits (the office's --no-limits)
        for k in totals:
            totals[k] += report.totals()[k]
    return {"seconds": time.perf_counter() - started, "cpu": cpu_time() - cpu, **totals,
            "rows": totals["rows_read"], "calls": len(groups), "rss_mb": _peak_rss_mb(),
            "db_mb": Path(db).stat().st_size / 2**20}


def job_load_parsed(folder: str, db: str, chunks: int) -> dict:
    """Our loader with every file parsed before its clock starts (parse_file answered from memory):
    what the rest of a load costs (storing the rows with their hashes, keys, marts, commit, publish),
    the floor that no faster parser could take a load below. Groups as job_load, each parsed just
    before it loads (one group's records in memory at a time); no parse workers (they would parse)."""
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from etl import load
    from etl.extract import ledger_files
    from etl.pipeline import content_hash, parse_file
    from etl.reference import load_reference

    ref = load_reference()
    files = ledger_files([Path(folder)])
    groups = [files] if chunks <= 1 else [[p for p in files if f"_g{g}_" in p.name] for g in range(chunks)]
    Path(db).unlink(missing_ok=True)
    seconds = cpu = 0.0
    totals = {"rows_read": 0, "new": 0, "rejected": 0}
    for i, group in enumerate(groups):
        parsed = {}
        for path in group:
            data = path.read_bytes()
            parsed[path.name] = parse_file(path, ref, data=data, digest=content_hash(data), limits=None)
        load.parse_file = lambda path, *args, _parsed=parsed, **kwargs: _parsed[Path(path).name]
        started, cpu0 = time.perf_counter(), cpu_time()
        report = load.load_files(group, Path(db), dataset="bench-scale" if i == len(groups) - 1 else None,
                                 limits=None, processes=0)
        seconds += time.perf_counter() - started
        cpu += cpu_time() - cpu0
        for k in totals:
            totals[k] += report.totals()[k]
        del parsed
    return {"seconds": seconds, "cpu": cpu, **totals, "rows": totals["rows_read"], "calls": len(groups),
            "rss_mb": _peak_rss_mb()}


def job_duck_read(folder: str, db: str) -> dict:
    """DuckDB's own reader on the same files: one table per ledger kind, read_csv of its files."""
    import duckdb

    files = sorted(Path(folder).glob("*.csv"))
    kinds = sorted({p.name.split("_g")[0] for p in files})
    Path(db).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    con = duckdb.connect(db)
    con.execute("SET enable_progress_bar = false")
    rows = 0
    for kind in kinds:
        paths = [str(p) for p in files if p.name.split("_g")[0] == kind]
        con.execute(f"CREATE TABLE {kind} AS SELECT * FROM read_csv({paths!r})")
        rows += con.execute(f"SELECT count(*) FROM {kind}").fetchone()[0]
    con.execute("CHECKPOINT")
    con.close()
    seconds, cpu = time.perf_counter() - started, cpu_time() - cpu
    Path(db).unlink(missing_ok=True)
    return {"seconds": seconds, "cpu": cpu, "rows": rows, "rss_mb": _peak_rss_mb()}


def ensure_scale(scale: int, rebuild: bool = False, count: int = 5) -> dict:
    """The scaled ledgers and database (cached), with the load rounds that built it."""
    folder = OUT / f"scale_{scale}"
    ledgers, db, info_path = folder / "ledgers", folder / "db.duckdb", folder / "build.json"
    fp = fingerprint()
    if not rebuild and info_path.exists() and db.exists():
        info = json.loads(info_path.read_text())
        if info.get("fingerprint") == fp and info.get("rounds", {}).get("count", 0) >= count:
            info["cached"] = True
            return info
    folder.mkdir(parents=True, exist_ok=True)
    gen = None
    done = ledgers / ".complete"
    stamp = f"{scale}:{generator_fingerprint()}"
    if rebuild or not done.exists() or done.read_text() != stamp:
        print(f"[{scale}x] 生成台账……", flush=True)
        shutil.rmtree(ledgers, ignore_errors=True)
        gen = run_job(job_generate, str(ledgers), scale)
        done.write_text(stamp)
    size = sum(p.stat().st_size for p in ledgers.glob("*.csv")) / 2**20
    chunks = 5 if scale >= 300 else 1
    print(f"[{scale}x] 载入：ours（{chunks} 次 load_files）、DuckDB read_csv 与预先解析的 ours 交替 {count} 轮",
          flush=True)
    result = rounds({"ours": (job_load, (str(ledgers), str(db), chunks)),
                     "duck": (job_duck_read, (str(ledgers), str(folder / "duck.duckdb"))),
                     "parsed": (job_load_parsed, (str(ledgers), str(folder / "parsed.duckdb"), chunks))},
                    reference="duck", count=count)
    (folder / "parsed.duckdb").unlink(missing_ok=True)
    ours = result["runs"]["ours"][-1]  # the run that left db.duckdb
    info = {"scale": scale, "fingerprint": fp, "built_at": datetime.now().isoformat(timespec="seconds"),
            "csv_mb": size, "generate": gen, "ours": ours, "duck": result["runs"]["duck"][-1], "db": str(db),
            "rounds": result, "load_ratio": statistics.median(result["ratios"]["ours"])}
    info_path.write_text(json.dumps(info, indent=1))
    info["cached"] = False
    return info


# ------------------------------------------------------------------ (3) metric queries

class Recorder:
    """A cursor stand-in that records every statement a metric function runs."""

    def __init__(self, cur) -> None:
        self._cur = cur
        self.log: list[tuple[str, object]] = []

    def execute(self, sql, params=None):
        self.log.append((sql, params))
        return self._cur.execute(sql, params) if params is not None else self._cur.execute(sql)

    def __getattr__(self, name):
        return getattr(self._cur, name)


def _run_page(cur, calls) -> None:
    from chuangshu import metrics

    for name, args in calls:
        getattr(metrics, name)(cur, *args)


def _replay(cur, statements) -> None:
    for sql, params in statements:
        (cur.execute(sql, params) if params is not None else cur.execute(sql)).fetchall()


def _timed(fn, repeat: int) -> tuple[float, float]:
    """(first run, median of the next ``repeat`` runs) in seconds."""
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    runs = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t0)
    return first, statistics.median(runs)


def job_queries(db: str, repeat: int, pandas_too: bool, per_call: bool = True) -> dict:
    """Per page: ours, floor and pandas, cold and warm (ms); per call: ours and floor warm (ms)."""
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from bench import pandas_baseline as pb
    from bench.pages_spec import PAGES
    from chuangshu import metrics
    from chuangshu.db import connect_locked

    out: dict = {"pages": {}, "calls": {}}
    for page, calls in PAGES.items():
        # ours, cold: a new connection (new database instance, empty buffer pool), then warm runs
        t0 = time.perf_counter()
        con = connect_locked(Path(db))
        cur = con.cursor()
        rec = Recorder(cur)
        _run_page(rec, calls)
        ours_cold = time.perf_counter() - t0
        statements = list(rec.log)
        _, ours_warm = _timed(lambda: _run_page(cur, calls), repeat)
        for name, args in calls:
            key = f"{name}{'' if not args or args == (pb.Filters(),) else '*'}"
            if per_call and key not in out["calls"]:
                r = Recorder(cur)
                getattr(metrics, name)(r, *args)
                _, w = _timed(lambda: getattr(metrics, name)(cur, *args), repeat)
                _, fw = _timed(lambda: _replay(cur, r.log), repeat)
                out["calls"][key] = {"ours_ms": _ms(w), "floor_ms": _ms(fw), "statements": len(r.log)}
        cur.close()
        con.close()
        del con, cur, rec
        gc.collect()
        # the floor: the same statements, straight into DuckDB
        t0 = time.perf_counter()
        con = connect_locked(Path(db))
        cur = con.cursor()
        _replay(cur, statements)
        floor_cold = time.perf_counter() - t0
        _, floor_warm = _timed(lambda: _replay(cur, statements), repeat)
        cur.close()
        con.close()
        del con, cur
        gc.collect()
        out["pages"][page] = {"statements": len(statements), "ours_cold_ms": _ms(ours_cold),
                              "ours_warm_ms": _ms(ours_warm), "floor_cold_ms": _ms(floor_cold),
                              "floor_warm_ms": _ms(floor_warm)}
    if pandas_too:
        import duckdb

        views = sorted({v for vs in pb.VIEWS.values() for v in vs})
        con = duckdb.connect(db, read_only=True)
        con.execute("SET enable_progress_bar = false")
        frames, read_s = {}, {}
        for v in views:
            t0 = time.perf_counter()
            frames[v] = pb.read_view(con, v)
            read_s[v] = time.perf_counter() - t0
        out["pandas_check"] = pb.check(frames, con.cursor())
        con.close()
        for page in PAGES:
            first, warm = _timed(lambda: pb.page(page, frames), repeat)
            out["pages"][page]["pandas_cold_ms"] = _ms(sum(read_s[v] for v in pb.VIEWS[page]) + first)
            out["pages"][page]["pandas_warm_ms"] = _ms(warm)
        out["pandas_read_ms"] = {v: _ms(s) for v, s in read_s.items()}
    out["rss_mb"] = _peak_rss_mb()
    return out


# ------------------------------------------------------------------ (4) AppTest

def job_apptest(db: str, timeout: int) -> dict:
    """Each page through AppTest (dashboard.py + st.navigation, as tests/conftest.py's nav_apptest):
    cold = Streamlit's cache cleared and a new database connection; warm = the same run again."""
    tmp = Path(tempfile.mkdtemp(prefix="bench-apptest-"))
    os.environ.update({"CHUANGSHU_DB": db, "CHUANGSHU_STATE_DIR": str(tmp), "CHUANGSHU_SALT": "bench-salt"})
    secrets = tmp / "secrets.toml"
    secrets.write_text("")
    from streamlit import config

    config.set_option("secrets.files", [str(secrets)])
    from streamlit.runtime.scriptrunner import script_runner
    from streamlit.testing.v1 import AppTest

    def run_entry_point(main_script_path: str) -> None:
        code = compile(Path(main_script_path).read_text(encoding="utf-8"), main_script_path, "exec")
        exec(code, {"__name__": "__main__", "__file__": main_script_path})  # noqa: S102

    script_runner._mpa_v1 = run_entry_point
    import streamlit as st

    from bench.pages_spec import SCRIPTS
    from chuangshu import db as dbmod

    at = AppTest.from_file(str(ROOT / "dashboard.py"), default_timeout=timeout)
    at.run()
    out = {}
    for page, script in SCRIPTS.items():
        st.cache_data.clear()
        dbmod._databases.clear()
        gc.collect()
        t0 = time.perf_counter()
        at.switch_page(script).run()
        cold = time.perf_counter() - t0
        errors = [e.message for e in at.exception] + [e.value for e in at.error]
        t0 = time.perf_counter()
        at.run()
        warm = time.perf_counter() - t0
        out[page] = {"cold_ms": _ms(cold), "warm_ms": _ms(warm), "errors": errors[:2]}
    return out


# ------------------------------------------------------------------ (5) server memory

def _tree_rss_kb(pid: int) -> int:
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            for task in Path(f"/proc/{p}/task").iterdir():
                kids = (task / "children").read_text().split()
                todo.extend(int(k) for k in kids)
        except (OSError, ValueError):
            continue
    return total


def server_memory(db: str, sessions: int = SESSIONS, timeout: float = 300) -> dict:
    """RSS of the streamlit server (and its children) with ``sessions`` pages open at once in chromium."""
    sys.path.insert(0, str(ROOT / "tests"))
    from appserver import CHROMIUM_ARGS, AppServer
    from playwright.sync_api import sync_playwright

    from bench.pages_spec import URLS

    tmp = Path(tempfile.mkdtemp(prefix="bench-server-"))
    secrets = tmp / "secrets.toml"
    secrets.write_text("")
    server = AppServer(Path(db), tmp, extra_env={"STREAMLIT_SECRETS_FILES": str(secrets),
                                                   "CHUANGSHU_SALT": "bench-salt"})
    peak = {"kb": 0}
    stop = threading.Event()

    def sample() -> None:
        while not stop.is_set():
            peak["kb"] = max(peak["kb"], _tree_rss_kb(server.proc.pid))
            time.sleep(0.2)

    result: dict = {"sessions": sessions}
    try:
        server.wait_healthy()
        result["idle_mb"] = _tree_rss_kb(server.proc.pid) / 1024
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        paths = list(URLS.values())
        started = time.perf_counter()
        with sync_playwright() as pw:
            # background tabs must not be throttled, or 20 tabs on 2 cores take minutes to render
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=[
                *CHROMIUM_ARGS, "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
                "--disable-backgrounding-occluded-windows"])
            try:
                context = browser.new_context()
                pages = []
                for i in range(sessions):
                    page = context.new_page()
                    page.goto(server.url + paths[i % len(paths)], wait_until="commit", timeout=timeout * 1000)
                    pages.append(page)
                rendered = 0
                for page in pages:
                    try:
                        # every page, the big screen included (it has no h1), renders element containers
                        page.wait_for_selector("[data-testid='stElementContainer']", state="attached",
                                               timeout=timeout * 1000)
                        page.wait_for_function(  # the script has finished (as tests/test_browser.py waits)
                            "() => document.querySelector('[data-testid=\"stApp\"]')"
                            "?.getAttribute('data-test-script-state') === 'notRunning'", timeout=timeout * 1000)
                        rendered += 1
                    except Exception as exc:  # noqa: BLE001 - reported, not fatal
                        result.setdefault("errors", []).append(str(exc)[:200])
                result["rendered"] = rendered
                result["all_rendered_s"] = round(time.perf_counter() - started, 1)
                time.sleep(2)
                result["steady_mb"] = _tree_rss_kb(server.proc.pid) / 1024
            finally:
                browser.close()
        stop.set()
        sampler.join(2)
        result["peak_mb"] = peak["kb"] / 1024
    finally:
        stop.set()
        server.close()
    return result


# ------------------------------------------------------------------ report

def machine() -> str:
    from bench.etl_bench import machine as m

    return m()


def render_load(results: dict) -> str:
    """The load part of docs/benchmarks.md: load rounds per scale, how load time grows, the load target."""
    lines: list[str] = []
    add = lines.append
    scales = sorted(results["scales"], key=int)
    add(f"Generated by `python -m bench {results['argv']}` on {results['finished']} "
        f"(load average {results['load_start']:.1f} at the start, {results['load_end']:.1f} at the end).\n")
    add(f"Machine: {results['machine']}.\n")
    add("Rounds finished (a scale's rounds are cached while the loader is unchanged): "
        + "; ".join(f"{s}× {results['scales'][s]['build']['built_at'].replace('T', ' ')[:16]}" for s in scales) + ".\n")
    add("### Scaled data and load throughput (interleaved rounds)\n")
    add("Each round loads the scale's ledgers with ours (`load_files`, one call per community group at 300× and "
        "above) and with DuckDB's `read_csv` (one table per ledger kind), each in a fresh process, in alternating "
        "order; the ratio is ours / DuckDB in rows per second, the median of the per-round ratios with their "
        "spread; CPU time is the process's (DuckDB's threads included) and its parse workers'. A third "
        "contender in the same rounds, *ours with the files parsed beforehand*, runs the same loads with every "
        "file's parse done before the clock starts: the rest of a load (storing rows and their hashes, keys, "
        "marts, commit, publish), the ratio no faster parser could take ours above.\n")
    add("| Scale | Rows (all ledgers) | CSV | Generate | Ours `load_files` (median) | DuckDB `read_csv` (median) | "
        "**Ours / DuckDB** | Ours / DuckDB in CPU time | Ours, parsed beforehand (median) | "
        "Parsed beforehand / DuckDB | Load average | Ours peak RSS | DB size |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for s in scales:
        b = results["scales"][s]["build"]
        r = b["rounds"]
        o, d = b["ours"], b["duck"]
        gen = f"{b['generate']['seconds']:.1f} s" if b.get("generate") else "cached"
        ours_s, duck_s = median_seconds(r, "ours"), median_seconds(r, "duck")
        parsed = r["ratios"].get("parsed")  # (rounds cached before this contender existed have none)
        parsed_s = f"{median_seconds(r, 'parsed'):.1f} s" if parsed else "–"
        parsed_ratio = text(parsed) if parsed else "–"
        add(f"| {s}× | {o['rows_read']:,} | {b['csv_mb']:.0f} MiB | {gen} | {ours_s:.1f} s "
            f"({o['rows_read'] / ours_s:,.0f} rows/s, {o['rejected']} rejected) | {duck_s:.1f} s "
            f"({d['rows'] / duck_s:,.0f} rows/s) | **{text(r['ratios']['ours'])}** | "
            f"{text(r['cpu_ratios']['ours']) if r.get('cpu_ratios', {}).get('ours') else '–'} | "
            f"{parsed_s} | {parsed_ratio} | {load_text(r)} | "
            f"{max(x['rss_mb'] for x in r['runs']['ours']):,.0f} MiB | {o['db_mb']:,.0f} MiB |")
    add("")
    add("### How load time grows with the data\n")
    add("Slope: log(time ratio) / log(scale ratio) from the previous scale (1 = linear, the goal for loads; "
        "below 1 means fixed costs still dominate). Wall time swings with the machine's load average, which "
        "may differ between scales' rounds; CPU time (the process's, DuckDB's threads and parse workers included) much less.\n")
    add("| Scale | Rows | Ours (median) | Slope | Ours CPU (median) | Slope | DuckDB `read_csv` (median) | Slope "
        "| DuckDB CPU (median) | Slope |")
    add("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    previous = None
    for s in scales:
        b = results["scales"][s]["build"]
        r = b["rounds"]
        now = [median_seconds(r, "ours"), _median_cpu(r, "ours"), median_seconds(r, "duck"), _median_cpu(r, "duck")]
        if previous is None:
            slopes = ["–"] * 4
        else:
            span = math.log(int(s) / previous[0])
            slopes = [f"{math.log(a / b_) / span:.2f}" if a and b_ else "–" for a, b_ in zip(now, previous[1])]
        cells = " | ".join(f"{t:.2f} s | {sl}" if t else f"– | {sl}" for t, sl in zip(now, slopes))
        add(f"| {s}× | {b['ours']['rows_read']:,} | {cells} |")
        previous = (int(s), now)
    add("")
    row = load_target(results)
    add("| Target | Result | Met |")
    add("|---|---|---|")
    add(f"| {row[0]} | {row[1]} | {'yes' if row[2] else '**no**'} |")
    return "\n".join(lines)


def _median_cpu(result: dict, name: str) -> float | None:
    """The median CPU time of a contender's runs (None where the runs did not report it)."""
    cpu = [r["cpu"] for r in result["runs"][name] if "cpu" in r]
    return statistics.median(cpu) if cpu else None


def load_target(results: dict) -> tuple[str, str, bool]:
    """The load throughput target: ≥ 0.5 of DuckDB's read_csv at 100× and 1000× (median of the rounds)."""
    scales = sorted(results["scales"], key=int)
    judged = [s for s in scales if int(s) in LOAD_TARGET_SCALES] or scales
    return (f"load throughput ≥ {TARGETS['load_ratio']}× DuckDB's read_csv at "
            f"{' and '.join(f'{s}×' for s in LOAD_TARGET_SCALES)} (median of interleaved rounds, same files)",
            "; ".join(f"{s}×: {text(results['scales'][s]['build']['rounds']['ratios']['ours'])}" for s in scales),
            all(results["scales"][s]["build"]["load_ratio"] >= TARGETS["load_ratio"] for s in judged))


def render(results: dict) -> str:
    """The generated Markdown section of docs/benchmarks.md (queries, pages, server; the loads are in
    render_load's section)."""
    from bench.pages_spec import PAGES

    lines: list[str] = []
    add = lines.append
    scales = sorted(results["scales"], key=int)
    add(f"Generated by `python -m bench {results['argv']}` on {results['finished']} "
        f"(load average {results['load_start']:.1f} at the start, {results['load_end']:.1f} at the end).\n")
    add(f"Machine: {results['machine']}.\n")
    for s in scales:
        q = results["scales"][s].get("queries")
        if not q:
            continue
        add(f"### Metric queries per page at {s}× (ms; all of a page's metric calls together)\n")
        add("| Page | Statements | Ours warm | Floor warm | Ours / floor | pandas warm | Ours cold | Floor cold | "
            "pandas cold | Ours vs pandas (warm / cold) |")
        add("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for page in PAGES:
            r = q["pages"][page]
            pw, pc = r.get("pandas_warm_ms"), r.get("pandas_cold_ms")
            vs = (f"{pw / r['ours_warm_ms']:.1f}× / {pc / r['ours_cold_ms']:.1f}× faster" if pw else "–")
            add(f"| {page} | {r['statements']} | {r['ours_warm_ms']:.1f} | {r['floor_warm_ms']:.1f} | "
                f"{r['ours_warm_ms'] / r['floor_warm_ms']:.2f} | {pw if pw is not None else '–'} | "
                f"{r['ours_cold_ms']:.1f} | {r['floor_cold_ms']:.1f} | {pc if pc is not None else '–'} | {vs} |")
        if q.get("pandas_check"):
            add(f"\npandas baseline differs from the metric layer: {q['pandas_check']}")
        add("")
    big = max((s for s in scales if results["scales"][s].get("queries", {}).get("calls")), key=int, default=None)
    q = results["scales"][big].get("queries") if big else None
    if q:
        add(f"Per metric call at {big}× (warm, ms): ours / floor (statements)\n")
        add("| Call | Ours | Floor | Ours / floor | Statements |")
        add("|---|---:|---:|---:|---:|")
        for k, r in sorted(q["calls"].items(), key=lambda kv: -kv[1]["ours_ms"]):
            add(f"| `{k}` | {r['ours_ms']:.1f} | {r['floor_ms']:.1f} | {r['ours_ms'] / max(r['floor_ms'], 0.01):.2f} "
                f"| {r['statements']} |")
        add("")
    if any(results["scales"][s].get("apptest") for s in scales):
        add("### Page script runs through AppTest (ms)\n")
        add("Cold: Streamlit's cache cleared and a new database connection; warm: the same page rerun "
            "(every `ui.get` a cache hit).\n")
        add("| Page | " + " | ".join(f"{s}× cold | {s}× warm" for s in scales
                                   if results["scales"][s].get("apptest")) + " |")
        add("|---|" + "---:|---:|" * sum(1 for s in scales if results["scales"][s].get("apptest")))
        for page in PAGES:
            cells = []
            for s in scales:
                a = results["scales"][s].get("apptest")
                if a:
                    r = a[page]
                    mark = " ⚠" if r["errors"] else ""
                    cells.append(f"{r['cold_ms']:,.0f}{mark} | {r['warm_ms']:,.0f}")
            add(f"| {page} | " + " | ".join(cells) + " |")
        add("")
    srv = results.get("server")
    if srv:
        add(f"### Server memory with {srv['sessions']} concurrent browser sessions ({srv['scale']}×)\n")
        add("| Idle server | Peak while 20 sessions render | Steady with 20 sessions open | Rendered | Time to render all |")
        add("|---:|---:|---:|---:|---:|")
        add(f"| {srv.get('idle_mb', 0):,.0f} MiB | {srv.get('peak_mb', 0):,.0f} MiB | {srv.get('steady_mb', 0):,.0f} MiB "
            f"| {srv.get('rendered', 0)}/{srv['sessions']} | {srv.get('all_rendered_s', '–')} s |")
        if srv.get("errors"):
            add(f"\nErrors: {srv['errors'][:3]}")
        add("")
    add("### Targets\n")
    add("| Target | Result | Met |")
    add("|---|---|---|")
    for row in targets(results):
        add(f"| {row[0]} | {row[1]} | {'yes' if row[2] else '**no**'} |")
    return "\n".join(lines)


def targets(results: dict) -> list[tuple[str, str, bool]]:
    scales = sorted(results["scales"], key=int)
    big = scales[-1]
    rows = []
    q = results["scales"][big].get("queries")
    if q:
        pages = q["pages"]
        worst_w = max(pages.items(), key=lambda kv: kv[1]["ours_warm_ms"])
        worst_c = max(pages.items(), key=lambda kv: kv[1]["ours_cold_ms"])
        rows.append((f"{big}×: every page's queries < {TARGETS['warm_ms']} ms warm",
                     f"slowest {worst_w[0]} {worst_w[1]['ours_warm_ms']:.0f} ms",
                     worst_w[1]["ours_warm_ms"] < TARGETS["warm_ms"]))
        rows.append((f"{big}×: every page's queries < {TARGETS['cold_ms']} ms cold",
                     f"slowest {worst_c[0]} {worst_c[1]['ours_cold_ms']:.0f} ms",
                     worst_c[1]["ours_cold_ms"] < TARGETS["cold_ms"]))
        over = max(pages.items(), key=lambda kv: kv[1]["ours_warm_ms"] / kv[1]["floor_warm_ms"])
        ratio = over[1]["ours_warm_ms"] / over[1]["floor_warm_ms"]
        rows.append((f"{big}×: overhead over raw DuckDB < {TARGETS['overhead']}× (warm, per page)",
                     f"highest {over[0]} {ratio:.2f}×", ratio < TARGETS["overhead"]))
    slower = []
    for s in scales:
        qs = results["scales"][s].get("queries")
        if qs and "pandas_warm_ms" in next(iter(qs["pages"].values())):
            for p, r in qs["pages"].items():
                for mode in ("warm", "cold"):
                    if r[f"ours_{mode}_ms"] >= r[f"pandas_{mode}_ms"]:
                        slower.append(f"{s}× {p} {mode}")
    if any(results["scales"][s].get("queries") for s in scales):
        rows.append(("faster than the pandas baseline at every scale (every page, warm and cold)",
                     "all faster" if not slower else "slower: " + ", ".join(slower), not slower))
    rows.append(load_target(results))
    srv = results.get("server")
    if srv:
        rows.append((f"server memory < 1 GiB with {srv['sessions']} sessions ({srv['scale']}×)",
                     f"peak {srv.get('peak_mb', 0):,.0f} MiB", srv.get("peak_mb", 1e9) < TARGETS["server_mb"]
                     and srv.get("rendered") == srv["sessions"]))
    return rows


def write_doc(section: str, start: str = START, end: str = END, heading: str = "## Generated results") -> None:
    """Replace the block between ``start`` and ``end`` in docs/benchmarks.md (appended under ``heading``
    when the file has none)."""
    doc = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    block = f"{start}\n{section}\n{end}"
    if start in doc and end in doc:
        doc = doc[:doc.index(start)] + block + doc[doc.index(end) + len(end):]
    else:
        doc = doc.rstrip() + f"\n\n{heading}\n\n" + block + "\n"
    DOC.write_text(doc, encoding="utf-8")


LOAD_START, LOAD_END = "<!-- bench:load:start -->", "<!-- bench:load:end -->"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--scales", default="1,10,100,1000", help="comma-separated multiples of the sample")
    parser.add_argument("--rounds", type=int, default=5, help="interleaved load rounds per scale (ours, DuckDB)")
    parser.add_argument("--big-rounds", type=int, default=None,
                        help="load rounds at 1000× and above (default: --rounds); one 1000× round (ours, DuckDB) "
                             "takes 5–10 minutes on 2 shared cores")
    parser.add_argument("--load-only", action="store_true",
                        help="only the load rounds and the cost growth table (skips queries, AppTest, server)")
    parser.add_argument("--quick", action="store_true", help="scales 1 and 100 only")
    parser.add_argument("--repeat", type=int, default=5, help="warm runs per measurement (the median is reported)")
    parser.add_argument("--rebuild", action="store_true", help="regenerate and reload the scaled databases")
    parser.add_argument("--skip-queries", action="store_true")
    parser.add_argument("--skip-pandas", action="store_true")
    parser.add_argument("--skip-apptest", action="store_true")
    parser.add_argument("--skip-server", action="store_true")
    parser.add_argument("--server-scale", type=int, default=None,
                        help="scale for the server memory run (default: the largest scale up to 100)")
    parser.add_argument("--per-call", action="store_true", help="per-call breakdown at 1000× too (slow)")
    parser.add_argument("--etl-big", action="store_true",
                        help="also run bench.etl_bench (sample and 1M-row CSV, interleaved rounds)")
    parser.add_argument("--no-doc", action="store_true", help="print only; do not rewrite docs/benchmarks.md")
    parser.add_argument("--fair", action="store_true",
                        help="run only the fair-sharing benchmark (bench.fair: viewer page load while 6 analysts × "
                             "3 tabs run heavy queries); the options after -- go to it")
    parser.add_argument("--front", action="store_true",
                        help="run only the paired browser measurements (bench.front: first paint, page switch, "
                             "filter change, drill-down against a bare Streamlit app); the options after -- go to it")
    args, rest = parser.parse_known_args(argv)
    if args.front:
        from bench.front import main as front_main

        return front_main([a for a in rest if a != "--"] + (["--no-doc"] if args.no_doc else []))
    if args.fair:
        from bench.fair import main as fair_main

        return fair_main([a for a in rest if a != "--"] + (["--no-doc"] if args.no_doc else []))
    if rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    if args.load_only:
        args.skip_queries = args.skip_apptest = args.skip_server = True
    scales = [1, 100] if args.quick else sorted({int(s) for s in args.scales.split(",") if s.strip()})
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    OUT.mkdir(parents=True, exist_ok=True)
    results: dict = {"argv": " ".join(argv), "machine": machine(), "load_start": os.getloadavg()[0], "scales": {}}
    print(f"机器：{results['machine']}；开始时负载 {results['load_start']:.1f}", flush=True)
    if args.etl_big:
        from bench.etl_bench import main as etl_main

        etl_main([])
    for s in scales:
        entry: dict = {"build": ensure_scale(s, args.rebuild, _rounds_at(s, args))}
        b = entry["build"]
        print(f"[{s}x] 载入：ours {median_seconds(b['rounds'], 'ours'):.1f} s，DuckDB "
              f"{median_seconds(b['rounds'], 'duck'):.1f} s，比值 {text(b['rounds']['ratios']['ours'])}"
              f"{'（缓存）' if b.get('cached') else ''}", flush=True)
        if not args.skip_queries:
            repeat = args.repeat if s < 1000 else 1
            entry["queries"] = run_job(job_queries, b["db"], repeat, not args.skip_pandas,
                                       s < 1000 or args.per_call)
            for p, r in entry["queries"]["pages"].items():
                print(f"[{s}x] {p:14s} ours {r['ours_warm_ms']:8.1f} / {r['ours_cold_ms']:8.1f} ms  "
                      f"floor {r['floor_warm_ms']:8.1f} / {r['floor_cold_ms']:8.1f} ms  "
                      f"pandas {r.get('pandas_warm_ms', '–')} / {r.get('pandas_cold_ms', '–')} ms", flush=True)
        if not args.skip_apptest:
            entry["apptest"] = run_job(job_apptest, b["db"], 600)
            print(f"[{s}x] AppTest: " + ", ".join(f"{p} {r['cold_ms']:.0f}/{r['warm_ms']:.0f}"
                                                 for p, r in entry["apptest"].items()), flush=True)
        results["scales"][str(s)] = entry
        _save(results, args, final=False)  # partial results survive an interrupted long run
    if not args.skip_server:
        scale = args.server_scale or max([s for s in scales if s <= 100] or scales[:1])
        info = results["scales"].get(str(scale), {}).get("build") or ensure_scale(scale, count=_rounds_at(scale, args))
        srv = server_memory(info["db"])
        srv["scale"] = scale
        results["server"] = srv
        print(f"服务器内存（{SESSIONS} 个会话，{scale}x）：{srv}", flush=True)
    _save(results, args, final=True)
    return 0


def _rounds_at(scale: int, args: argparse.Namespace) -> int:
    """The load rounds at ``scale``: --big-rounds from 1000× on (when given), else --rounds."""
    return args.big_rounds if scale >= 1000 and args.big_rounds else args.rounds


def _save(results: dict, args: argparse.Namespace, final: bool) -> None:
    results["load_end"] = os.getloadavg()[0]
    results["finished"] = datetime.now().strftime("%Y-%m-%d %H:%M") + ("" if final else " (partial)")
    (OUT / ("results-load.json" if args.load_only else "results.json")).write_text(
        json.dumps(results, indent=1, ensure_ascii=False, default=str))
    load_section = render_load(results)
    section = None if args.load_only else render(results)
    if final:
        print("\n" + load_section + ("" if section is None else "\n\n" + section))
    if not args.no_doc:
        write_doc(load_section, LOAD_START, LOAD_END, "## Loads at scale (generated)")
        if section is not None:
            write_doc(section)
        if final:
            print(f"\n已写入 {DOC.relative_to(ROOT)}")


if __name__ == "__main__":
    sys.exit(main())
