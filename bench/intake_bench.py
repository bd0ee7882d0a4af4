"""Intake limits benchmark: what the checks cost on real ledgers, and how fast hostile files are refused.

    python -m bench.intake_bench            # about a minute on 2 cores
    python -m bench.intake_bench --pairs 9

1. **Overhead on the sample.** Every file of the bundled sample is parsed by ``parse_file`` with
   the intake limits (``LIMITS``) and without (``limits=None``), interleaved: pair k runs all files
   with, then all files without (odd pairs the other way round). Reported: the median of the
   per-pair ratios (with / without) and their spread. Parsing only: the database work of a load
   is the same either way.
2. **Measuring a big legitimate workbook.** A 150,000-row × 12-column xlsx: ``check_file`` (which
   decompresses and scans every worksheet) against calamine reading the same sheet into a grid,
   interleaved pairs as above.
3. **Time to a verdict** for the hostile files of tests/hostile_files.py (best of 3).

Times are CPU seconds of this process (``time.process_time``): on a shared 2-core machine wall
time swings by 2× between runs, CPU time far less. The load average is recorded before and after.
Results are printed as Markdown for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _pairs(first, second, pairs: int) -> tuple[float, float, float, list[float]]:
    """Interleaved pairs of two callables: (median ratio first/second, min, max, per-pair seconds of first)."""
    ratios, firsts = [], []
    for k in range(pairs):
        order = (first, second) if k % 2 == 0 else (second, first)
        took = {}
        for fn in order:
            started = time.process_time()
            fn()
            took[fn] = time.process_time() - started
        ratios.append(took[first] / took[second])
        firsts.append(took[first])
    return statistics.median(ratios), min(ratios), max(ratios), firsts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=5)
    args = parser.parse_args(argv)
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    sys.path.insert(0, str(ROOT / "tests"))
    import hostile_files as h
    import python_calamine as calamine
    import xlsxwriter

    from etl.api import LIMITS, check_file, ledger_files, load_reference, parse_file
    from etl.sample import generate

    load_before = os.getloadavg()[0]
    ref = load_reference()
    lines = []
    with tempfile.TemporaryDirectory() as tmp:
        generate(Path(tmp) / "ledgers", seed=2022)
        files = [(p, p.read_bytes()) for p in ledger_files([Path(tmp) / "ledgers"])]

        def run(limits):
            return lambda: [parse_file(p, ref, data=d, limits=limits) for p, d in files]

        median, low, high, _ = _pairs(run(LIMITS), run(None), args.pairs)
        lines += ["| measurement | median ratio | spread | pairs |", "|---|---:|---|---:|",
                  f"| sample ({len(files)} files): parse with limits / without | {median:.3f} | "
                  f"{low:.3f}–{high:.3f} | {args.pairs} |"]

        buffer = io.BytesIO()
        book = xlsxwriter.Workbook(buffer, {"in_memory": True})
        sheet = book.add_worksheet("S")
        for r in range(150_000):
            sheet.write_row(r, 0, [f"GN-{r}", "桂南社区", "小区", "卫生", "2021-03-05", 12, "描述文字" * 3, 3.5,
                                   "x", "y", "z", "w"])
        book.close()
        big = buffer.getvalue()

        def read():
            calamine.CalamineWorkbook.from_filelike(io.BytesIO(big)).get_sheet_by_name("S").to_python()

        median, low, high, _ = _pairs(lambda: check_file("big.xlsx", big), read, args.pairs)
        lines.append(f"| 150,000 × 12 xlsx ({len(big) / 1e6:.1f} MB): check_file / calamine reading it | "
                     f"{median:.3f} | {low:.3f}–{high:.3f} | {args.pairs} |")

    lines += ["", "| hostile file | size | verdict in (CPU, best of 3) | verdict |", "|---|---:|---:|---|"]
    for build in (lambda: h.wide_csv(50_000), lambda: h.wide_csv(200_000), h.million_row_xlsx, h.million_row_csv,
                  h.single_cell_xlsx, h.long_cell_csv, h.zip_bomb, h.far_cell_xlsx, h.far_cell_xls):
        name, data = build()
        best = float("inf")
        for _ in range(3):
            started = time.process_time()
            parsed = parse_file(Path(name), ref, data=data)
            best = min(best, time.process_time() - started)
        verdict = parsed.error.message() if parsed.error else "已解析"
        lines.append(f"| {name} | {len(data) / 1e6:.2f} MB | {best * 1e3:,.0f} ms | {verdict[:40]}… |")
    lines.append("")
    lines.append(f"Load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after.")
    print("\n".join(lines))
    return 0


if __name__ == "__main__":
    sys.exit(main())
