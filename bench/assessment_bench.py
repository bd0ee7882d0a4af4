"""考核 at scale: the league table and the warnings from the marts against the same figures from the record
views (the detail-view originals kept as the oracle in tests/fixtures/detail_metrics.sql).

    .venv/bin/python -m etl sample --scale 100 --out /tmp/x100/ledgers
    .venv/bin/python -m etl load /tmp/x100/ledgers --db /tmp/x100/db.duckdb --no-limits
    .venv/bin/python -m bench.assessment_bench /tmp/x100/db.duckdb --pairs 7

Ratios come from interleaved pairs (ours, reference, ours, reference…): the median of the per-pair
ratios and their spread, with the load average at the start and the end (the machine is shared).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import time
from pathlib import Path

from chuangshu import assessment
from chuangshu.db import connect_locked
from chuangshu.filters import Filters
from chuangshu.queries import named_queries

ORACLE = Path(__file__).resolve().parent.parent / "tests" / "fixtures" / "detail_metrics.sql"
QUERIES = ("assessment_base", "alert_overdue_open", "alert_repeat_hotspots", "alert_head_vacancies")


def oracle() -> dict[str, str]:
    parts = re.split(r"^--\s*name:\s*(\w+)\s*$", ORACLE.read_text(encoding="utf-8"), flags=re.MULTILINE)
    return {n: b.strip().rstrip(";") for n, b in zip(parts[1::2], parts[2::2])}


def params(f: Filters) -> dict:
    spans = assessment.spans(f.as_of, "month")
    return {**f.params(), "starts": [s.start for s in spans], "ends": [s.end for s in spans], "last": f.as_of,
            "slack": 0, "window": 90, "n": 3, "days": 30}


def run(cur, sql: str, p: dict) -> float:
    used = set(re.findall(r"\$(\w+)", sql))
    t0 = time.perf_counter()
    cur.execute(sql, {k: v for k, v in p.items() if k in used}).fetchall()
    return time.perf_counter() - t0


def pairs(ours, reference, n: int) -> dict:
    """Interleaved timings: medians (ms), the median of per-pair ratios reference/ours and its spread."""
    a, b = [], []
    ours(), reference()  # warm both
    for _ in range(n):
        a.append(ours())
        b.append(reference())
    ratios = [y / x for x, y in zip(a, b)]
    return {"ours_ms": 1000 * statistics.median(a), "reference_ms": 1000 * statistics.median(b),
            "ratio": statistics.median(ratios), "ratio_min": min(ratios), "ratio_max": max(ratios)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db", type=Path)
    parser.add_argument("--pairs", type=int, default=7)
    args = parser.parse_args(argv)
    con = connect_locked(args.db)
    cur = con.cursor()
    f = Filters()
    p = params(f)
    cases = cur.execute("SELECT count(*) FROM cases").fetchall()[0][0]
    print(f"database {args.db}: {cases:,} cases; load average {os.getloadavg()[0]:.1f}")
    print("| Query | Marts (ms) | Record views (ms) | Views ÷ marts: median (min–max) |")
    print("|---|---:|---:|---:|")
    originals = oracle()
    for name in QUERIES:
        mine, theirs = named_queries()[name], originals[name]
        r = pairs(lambda: run(cur, mine, p), lambda: run(cur, theirs, p), args.pairs)
        print(f"| `{name}` | {r['ours_ms']:.1f} | {r['reference_ms']:.1f} | "
              f"{r['ratio']:.1f}× ({r['ratio_min']:.1f}–{r['ratio_max']:.1f}) |")
    print()
    print("| Call | Warm (ms, median of the pairs' first member) |")
    print("|---|---:|")
    for label, call in (("league_table month", lambda: assessment.league_table(cur, f, "month")),
                        ("league_table quarter", lambda: assessment.league_table(cur, f, "quarter")),
                        ("league_table year", lambda: assessment.league_table(cur, f, "year")),
                        ("alerts", lambda: assessment.alerts(cur, f))):
        call()
        times = []
        for _ in range(args.pairs):
            t0 = time.perf_counter()
            call()
            times.append(time.perf_counter() - t0)
        print(f"| `{label}` | {1000 * statistics.median(times):.0f} |")
    print(f"\nload average at the end {os.getloadavg()[0]:.1f}")
    con.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
