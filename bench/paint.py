"""Time to the overview's KPIs painted in a real browser: `python -m bench.paint [--db FILE]`.

Cold: from starting the server process to all 数读 KPI values visible in a new browser page
(includes the first metric queries). Warm: a new page on the running server (cache warm).
Writes its section of docs/benchmarks.md. Not a test: a benchmark, on a shared machine.
"""
from __future__ import annotations

import argparse
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

from appserver import CHROMIUM_ARGS, AppServer  # noqa: E402

DOC = ROOT / "docs" / "benchmarks.md"
START, END = "<!-- bench:paint:start -->", "<!-- bench:paint:end -->"
KPIS = 14  # the 数读 cards


def _painted(page, deadline: float) -> float:
    """Seconds until the KPI values are visible (polled every 50 ms)."""
    t0 = time.perf_counter()
    while time.perf_counter() < deadline:
        n = page.evaluate("document.querySelectorAll('[data-testid=stMetricValue]').length")
        if n >= KPIS:
            return time.perf_counter() - t0
        page.wait_for_timeout(50)
    raise TimeoutError("KPIs were not painted")


def measure(db: Path, runs: int) -> dict[str, list[float]]:
    """Cold (server start → KPIs) and warm (new page → KPIs) seconds, ``runs`` times each."""
    from playwright.sync_api import sync_playwright

    cold: list[float] = []
    warm: list[float] = []
    with sync_playwright() as p, tempfile.TemporaryDirectory() as state:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for _ in range(runs):
            t0 = time.perf_counter()
            server = AppServer(db, Path(state))
            try:
                server.wait_healthy()
                page = browser.new_page(viewport={"width": 1440, "height": 900})
                page.goto(server.url)
                _painted(page, time.monotonic() + 60)
                cold.append(time.perf_counter() - t0)
                page.close()
                for _ in range(2):
                    page = browser.new_page(viewport={"width": 1440, "height": 900})
                    t1 = time.perf_counter()
                    page.goto(server.url)
                    _painted(page, time.monotonic() + 60)
                    warm.append(time.perf_counter() - t1)
                    page.close()
            finally:
                server.close()
        browser.close()
    return {"cold": cold, "warm": warm}


def render(result: dict[str, list[float]], db: Path) -> str:
    """The Markdown section."""
    med = {k: statistics.median(v) for k, v in result.items()}
    return "\n".join([
        START,
        "## Overview KPIs painted in a browser",
        "",
        f"`python -m bench.paint` (database: `{db.name}`; Debian chromium, 1440×900). Target: under 5 s.",
        "",
        "| measurement | median | runs | target met |",
        "|---|---:|---:|---|",
        f"| cold: server start → 数读 KPIs visible | {med['cold']:.2f} s | {len(result['cold'])} | "
        f"{'yes' if med['cold'] < 5 else '**no**'} |",
        f"| warm: new page → 数读 KPIs visible | {med['warm']:.2f} s | {len(result['warm'])} | "
        f"{'yes' if med['warm'] < 5 else '**no**'} |",
        END,
    ])


def write_doc(section: str) -> None:
    """Replace (or append) this benchmark's section of docs/benchmarks.md."""
    text = DOC.read_text(encoding="utf-8") if DOC.exists() else "# Benchmarks\n"
    if START in text:
        text = re.sub(re.escape(START) + ".*?" + re.escape(END), lambda _: section, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n" + section + "\n"
    DOC.write_text(text, encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.paint", description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, default=None, help="database (default: build the sample in a temp dir)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--no-doc", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        db = args.db
        if db is None:
            from etl.bootstrap import generate_sample
            from etl.extract import ledger_files
            from etl.load import load_files

            db = Path(tmp) / "sample.duckdb"
            load_files(ledger_files([generate_sample(Path(tmp) / "ledgers")]), db, dataset="sample")
        result = measure(db, args.runs)
        section = render(result, db)
    print(section)
    if not args.no_doc:
        write_doc(section)
    return 0


if __name__ == "__main__":
    sys.exit(main())
