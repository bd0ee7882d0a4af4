"""ETL benchmark: the bundled sample against its reading floor, and a 1,000,000-row case ledger
against DuckDB's own reader and pandas, every ratio from interleaved rounds (bench/pairs.py).

    python -m bench.etl_bench                 # everything, 5 rounds (a few minutes on 2 cores)
    python -m bench.etl_bench --rows 200000   # smaller big case
    python -m bench.etl_bench --rounds 7      # more rounds
    python -m bench.etl_bench --profile       # also cProfile our load of the big CSV (one extra run)

Each run is a fresh interpreter (multiprocessing "spawn"), so its peak RSS is its own, imports
included; the time is taken around the work only. Every round runs every contender once, in an
order that rotates from round to round, and each contender's ratio is taken against the
reference of the same round; the median of the per-round ratios and their spread are reported
with the load average at the start of each round. The big CSV is written once (vectorised with
numpy/pandas) under bench/out/ (git-ignored) and reused by every contender. Results are printed
as a Markdown table for docs/benchmarks.md.
"""
from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

from bench.pairs import cpu_time, load_text, rounds, run_job, text

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "处理力量", "事项描述", "处理结果",
          "回访日期", "满意度", "备注"]
TARGETS = {"sample": 0.3, "big": 0.5}  # sample: ours / reading floor; big: ours / DuckDB read_csv
ETL_START, ETL_END = "<!-- bench:etl:start -->", "<!-- bench:etl:end -->"


# ------------------------------------------------------------------ the big ledger

def write_big_cases_csv(path: Path, rows: int, seed: int = 7) -> Path:
    """A realistic case ledger (template headers, UTF-8) with ``rows`` data rows, built column-wise."""
    import numpy as np
    import pandas as pd

    from etl.reference import load_reference

    ref = load_reference()
    rng = np.random.default_rng(seed)
    communities = [r["community"] for r in ref.tables["communities"]]
    short = {r["community"]: r["short_name"] for r in ref.tables["communities"]}
    compounds = {c: [r["compound"] for r in ref.tables["compounds"] if r["community"] == c] or ["新苑"]
                 for c in communities}

    com_idx = rng.integers(0, len(communities), rows)
    com_names = np.array(communities, dtype=object)[com_idx]
    # 70 % full name, 30 % short name (the clerk's habit), no change in meaning
    written = np.where(rng.random(rows) < 0.7, com_names,
                       np.array([short[c] for c in communities], dtype=object)[com_idx])
    # compound: one of the community's (plus 2 % new names the reference does not know yet)
    compound = np.empty(rows, dtype=object)
    pick = rng.random(rows)
    for i, c in enumerate(communities):
        mask = com_idx == i
        names = np.array(compounds[c], dtype=object)
        compound[mask] = names[(pick[mask] * len(names)).astype(int)]
    compound[rng.random(rows) < 0.02] = "新建小区"
    compound[rng.random(rows) < 0.05] = ""

    categories = ["加装电梯", "邻里纠纷", "邻里矛盾", "小区卫生", "环境卫生", "治安", "公共设施维护",
                  "安全隐患", "停车难", "其他"]
    category = np.array(categories, dtype=object)[rng.integers(0, len(categories), rows)]

    day0 = np.datetime64("2012-01-01")
    reported = day0 + rng.integers(0, 3800, rows).astype("timedelta64[D]")
    resolved = reported + rng.integers(0, 90, rows).astype("timedelta64[D]")
    open_case = rng.random(rows) < 0.12
    followed = resolved + rng.integers(1, 30, rows).astype("timedelta64[D]")

    def as_text(days: np.ndarray, blank: np.ndarray) -> np.ndarray:
        """ISO dates, with 15 % written as clerks do (2021年3月5日, 2021/3/5, 2021.3.5, 20210305)."""
        ts = pd.DatetimeIndex(days)
        iso = np.asarray(ts.strftime("%Y-%m-%d"), dtype=object)
        y, m, d = ts.year.astype(str), ts.month.astype(str), ts.day.astype(str)
        styles = rng.random(len(days))
        out = iso.copy()
        cn = styles < 0.06
        out[cn] = (y + "年" + m + "月" + d + "日")[cn]
        slash = (styles >= 0.06) & (styles < 0.10)
        out[slash] = (y + "/" + m + "/" + d)[slash]
        dot = (styles >= 0.10) & (styles < 0.13)
        out[dot] = (y + "." + m + "." + d)[dot]
        compact = (styles >= 0.13) & (styles < 0.15)
        out[compact] = np.asarray(ts.strftime("%Y%m%d"), dtype=object)[compact]
        out[blank] = ""
        return out

    handlers = np.array(["街坊会", "自治小组", "楼长", "巷长", "调解工作室", "联席会议", "党员", "物业", "社区",
                         "街坊会、楼长", "楼长、物业", "党员、街坊会、社区"], dtype=object)
    outcomes = np.array(["成功", "成功", "成功", "不成功", "转办"], dtype=object)
    satisfaction = np.array(["满意", "满意", "基本满意", "不满意", ""], dtype=object)
    topics = np.array(["楼上噪音扰民", "楼道堆放杂物", "加装电梯意见不一", "宠物粪便", "车位被占", "路灯不亮",
                       "化粪池堵塞", "装修漏水", "高空抛物", "公共区域绿化"], dtype=object)
    seq = pd.Series(np.arange(1, rows + 1)).astype(str).to_numpy(dtype=object)
    short_arr = np.array([short[c] for c in communities], dtype=object)[com_idx]
    topic = topics[rng.integers(0, len(topics), rows)]
    frame = pd.DataFrame({
        "事项编号": short_arr + "-" + seq,
        "社区": written,
        "小区": compound,
        "类别": category,
        "登记日期": as_text(reported, np.zeros(rows, bool)),
        "办结日期": as_text(resolved, open_case),
        "处理力量": handlers[rng.integers(0, len(handlers), rows)],
        "事项描述": topic + "，居民反映第" + seq + "号问题，已协调处理",
        "处理结果": np.where(open_case, "", outcomes[rng.integers(0, len(outcomes), rows)]),
        "回访日期": as_text(followed, open_case | (rng.random(rows) < 0.3)),
        "满意度": np.where(open_case, "", satisfaction[rng.integers(0, len(satisfaction), rows)]),
        "备注": np.where(rng.random(rows) < 0.1, "重点跟进", ""),
    }, columns=HEADER)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.to_csv(path, index=False, encoding="utf-8")
    return path


# ------------------------------------------------------------------ contenders (each in its own process)

def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def job_ours(csv_path: str, db_path: str, profile: str | None = None, skip_marts: bool = False) -> dict:
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from etl.load import load_files

    if skip_marts:  # the loader alone: marts.build (etl/sql/marts.sql) replaced by a no-op in this process
        from etl import marts

        marts.build = lambda con, full=False: None

    # warm-up on the first lines (imports, reference data, schema), then the real thing
    tiny = Path(db_path).with_name("warm.csv")
    with open(csv_path, encoding="utf-8") as fh:
        tiny.write_text("".join(fh.readline() for _ in range(3)), encoding="utf-8")
    load_files([tiny], Path(db_path).with_name("warm.duckdb"), limits=None)
    Path(db_path).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    if profile:
        import cProfile

        prof = cProfile.Profile()
        report = prof.runcall(load_files, [Path(csv_path)], Path(db_path), limits=None)
        prof.dump_stats(profile)
    else:
        report = load_files([Path(csv_path)], Path(db_path), limits=None)  # 166 MB: past the intake limits
    seconds = time.perf_counter() - started
    cpu = cpu_time() - cpu
    totals = report.totals()
    return {"seconds": seconds, "cpu": cpu, "rows": totals["rows_read"], "loaded": totals["new"],
            "rejected": totals["rejected"], "rss_mb": _peak_rss_mb()}


def job_duckdb(csv_path: str, db_path: str, profile: str | None = None) -> dict:
    import duckdb

    Path(db_path).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    con = duckdb.connect(db_path)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv('{csv_path}')")
    con.execute("CHECKPOINT")
    rows = con.execute("SELECT count(*) FROM t").fetchone()[0]
    con.close()
    return {"seconds": time.perf_counter() - started, "cpu": cpu_time() - cpu, "rows": rows,
            "rss_mb": _peak_rss_mb()}


def job_pandas(csv_path: str, db_path: str, profile: str | None = None) -> dict:
    import duckdb
    import pandas as pd

    Path(db_path).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    frame = pd.read_csv(csv_path, dtype=str, keep_default_na=False)
    unparsed = 0
    for col in ("登记日期", "办结日期", "回访日期"):
        text = frame[col].replace("", None)
        frame[col] = pd.to_datetime(text, errors="coerce")
        unparsed += int((frame[col].isna() & text.notna()).sum())
    con = duckdb.connect(db_path)
    con.register("frame", frame)
    con.execute("CREATE TABLE t AS SELECT * FROM frame")
    con.execute("CHECKPOINT")
    con.close()
    return {"seconds": time.perf_counter() - started, "cpu": cpu_time() - cpu, "rows": len(frame),
            "unparsed_dates": unparsed,
            "rss_mb": _peak_rss_mb()}


def job_sample(sample_dir: str, db_path: str, profile: str | None = None) -> dict:
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    from etl.extract import ledger_files
    from etl.load import load_files

    files = ledger_files([Path(sample_dir)])
    load_files(files[:1], Path(db_path))  # warm-up
    Path(db_path).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    report = load_files(files, Path(db_path))
    seconds = time.perf_counter() - started
    cpu = cpu_time() - cpu
    totals = report.totals()
    return {"seconds": seconds, "cpu": cpu, "rows": totals["rows_read"], "files": len(report.files),
            "loaded": totals["new"], "rejected": totals["rejected"], "rss_mb": _peak_rss_mb()}


def job_sample_floor(sample_dir: str, db_path: str, profile: str | None = None) -> dict:
    """The reading floor of the sample: every workbook sheet read by python-calamine into a grid
    (what our reader starts from) and every CSV read by DuckDB's read_csv into a table of a file
    database (UTF-8, or byte for byte as Latin-1 when it is GBK: the same amount of work), checkpointed."""
    import duckdb
    import python_calamine as calamine

    from etl.extract import ledger_files

    files = ledger_files([Path(sample_dir)])
    warm = next(p for p in files if p.suffix == ".xlsx")  # warm-up: the first workbook, and DuckDB itself
    calamine.CalamineWorkbook.from_path(str(warm)).get_sheet_by_name(
        calamine.CalamineWorkbook.from_path(str(warm)).sheet_names[0]).to_python()
    duckdb.connect().close()
    Path(db_path).unlink(missing_ok=True)
    started = time.perf_counter()
    cpu = cpu_time()
    con = duckdb.connect(db_path)
    con.execute("SET enable_progress_bar = false")
    cells = 0
    for i, path in enumerate(files):
        if path.suffix.lower() == ".csv":
            try:
                path.read_bytes().decode("utf-8")
                encoding = "utf-8"
            except UnicodeDecodeError:
                encoding = "latin-1"
            con.execute(f"CREATE TABLE t{i} AS SELECT * FROM read_csv(?, encoding = '{encoding}', all_varchar = true, "
                        "header = false, null_padding = true)", [str(path)])
            cells += con.execute(f"SELECT count(*) FROM t{i}").fetchone()[0]
        else:
            workbook = calamine.CalamineWorkbook.from_path(str(path))
            for name in workbook.sheet_names:
                cells += len(workbook.get_sheet_by_name(name).to_python(skip_empty_area=False))
    con.execute("CHECKPOINT")
    con.close()
    seconds = time.perf_counter() - started
    cpu = cpu_time() - cpu
    Path(db_path).unlink(missing_ok=True)
    return {"seconds": seconds, "cpu": cpu, "rows": cells, "files": len(files), "rss_mb": _peak_rss_mb()}


# ------------------------------------------------------------------ report

def machine() -> str:
    import duckdb
    import numpy
    import pandas

    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return (f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB RAM; {platform.system()} {platform.release()}; "
            f"Python {platform.python_version()}, pandas {pandas.__version__}, numpy {numpy.__version__}, "
            f"duckdb {duckdb.__version__}")


def sample_rounds(sample: Path, work: Path, count: int) -> dict:
    """Interleaved rounds of our load of the sample and its reading floor."""
    return rounds({"floor": (job_sample_floor, (str(sample), str(work / "floor.duckdb"))),
                   "ours": (job_sample, (str(sample), str(work / "sample.duckdb")))},
                  reference="floor", count=count, rate=lambda r: 1 / r["seconds"])


def big_rounds(csv_path: Path, work: Path, count: int) -> dict:
    """Interleaved rounds of the four contenders on the big case CSV."""
    db = str(work / "big.duckdb")
    return rounds({"duck": (job_duckdb, (str(csv_path), db)), "pandas": (job_pandas, (str(csv_path), db)),
                   "ours": (job_ours, (str(csv_path), db)), "loader": (job_ours, (str(csv_path), db, None, True))},
                  reference="duck", count=count)


def _med(result: dict, name: str, key: str = "seconds") -> float:
    return statistics.median(r[key] for r in result["runs"][name])


CPU_NOTE = (" CPU time is the process's (its threads) plus its forked parse workers' (etl/parse_pool.py: ours "
            "parses the sample's files in one worker per core), so ours' CPU exceeds its wall time.")


def sample_lines(r: dict, generated: float) -> list[str]:
    ours, floor = r["runs"]["ours"][0], r["runs"]["floor"][0]
    return [
        "| Sample (216 ledgers, 593 sheets) | Median time | Ours / floor (median, spread) | CPU time | "
        "Ours / floor in CPU time | Peak RSS | Notes |",
        "|---|---:|---:|---:|---:|---:|---|",
        f"| reading floor: python-calamine grids + DuckDB `read_csv` of the CSVs | {_med(r, 'floor'):.2f} s | 1.00 | "
        f"{_med(r, 'floor', 'cpu'):.2f} s | 1.00 | "
        f"{max(x['rss_mb'] for x in r['runs']['floor']):.0f} MiB | {floor['rows']:,} rows read |",
        f"| **ours: `load_files`** (limits, validation, ids, marts, atomic publish) | {_med(r, 'ours'):.2f} s | "
        f"**{text(r['ratios']['ours'])}** | {_med(r, 'ours', 'cpu'):.2f} s | {text(r['cpu_ratios']['ours'])} | "
        f"{max(x['rss_mb'] for x in r['runs']['ours']):.0f} MiB | "
        f"{ours['loaded']:,} rows loaded, {ours['rejected']} rejected; sample generated in {generated:.1f} s |",
        "", f"Load average at the start of the rounds: {load_text(r)}. Target: ≥ {TARGETS['sample']}. "
        "Each run is a fresh interpreter timed after its imports and a one-file warm-up (ours: one ledger "
        "loaded; the floor: one workbook read and DuckDB opened), so neither pays imports; a user's "
        "`python -m etl load` also pays them (docs/benchmarks.md, Findings)." + CPU_NOTE,
    ]


def big_lines(r: dict, rows: int, size: float) -> list[str]:
    notes = {"duck": "types sniffed, dates not understood",
             "pandas": f"{r['runs']['pandas'][0]['unparsed_dates']:,} non-ISO dates lost to NaT",
             "ours": f"{r['runs']['ours'][0]['rejected']:,} rejected",
             "loader": "marts replaced by a no-op in that process"}
    names = {"duck": "DuckDB `CREATE TABLE t AS SELECT * FROM read_csv(...)`",
             "pandas": "pandas `read_csv` + `to_datetime` + DuckDB insert",
             "ours": "**ours: `load_files`** (validate, normalise, ids, marts, publish)",
             "loader": "ours without `marts.build` (the loader alone)"}
    lines = [f"| {rows:,}-row case CSV ({size:.0f} MiB) | Median time | Rows/s | vs DuckDB (median, spread) "
             "| CPU time | vs DuckDB in CPU time | Peak RSS | Notes |", "|---|---:|---:|---:|---:|---:|---:|---|"]
    for name in ("duck", "pandas", "ours", "loader"):
        seconds = _med(r, name)
        ratio = "1.00" if name == "duck" else text(r["ratios"][name])
        cpu = "1.00" if name == "duck" else text(r["cpu_ratios"][name])
        lines.append(f"| {names[name]} | {seconds:.2f} s | {rows / seconds:,.0f} | {ratio} | {_med(r, name, 'cpu'):.2f} s "
                     f"| {cpu} | "
                     f"{max(x['rss_mb'] for x in r['runs'][name]):,.0f} MiB | {notes[name]} |")
    lines += ["", f"Load average at the start of the rounds: {load_text(r)}. Target for ours: ≥ {TARGETS['big']}."]
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.etl_bench", description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=5, help="interleaved rounds (each runs every contender once)")
    parser.add_argument("--skip-sample", action="store_true")
    parser.add_argument("--skip-big", action="store_true")
    parser.add_argument("--profile", action="store_true", help="cProfile our load of the big CSV (an extra run)")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--doc", action="store_true", help="also write the results into docs/benchmarks.md")
    args = parser.parse_args(argv)
    os.environ.setdefault("CHUANGSHU_SALT", "bench-salt")
    args.out.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="etl-bench-", dir=args.out))
    print(f"机器：{machine()}；开始时负载 {os.getloadavg()[0]:.1f}", flush=True)
    sections: list[list[str]] = []
    try:
        if not args.skip_sample:
            from etl.sample import generate

            sample = work / "sample"
            started = time.perf_counter()
            generate(sample)
            generated = time.perf_counter() - started
            print("示例台账：ours 与读取下限（calamine + DuckDB read_csv）交替运行", flush=True)
            sections.append(sample_lines(sample_rounds(sample, work, args.rounds), generated))
        if not args.skip_big:
            csv_path = args.out / f"cases_{args.rows}.csv"
            if not csv_path.exists():
                started = time.perf_counter()
                write_big_cases_csv(csv_path, args.rows)
                print(f"已生成 {csv_path}（{csv_path.stat().st_size / 2**20:.0f} MiB，"
                      f"{time.perf_counter() - started:.1f} s）", flush=True)
            size = csv_path.stat().st_size / 2**20
            print(f"{args.rows:,} 行事项台账：DuckDB、pandas、ours、ours（不建 marts）交替运行", flush=True)
            sections.append(big_lines(big_rounds(csv_path, work, args.rounds), args.rows, size))
            if args.profile:
                prof = str(work / "ours.prof")
                run_job(job_ours, str(csv_path), str(work / "big.duckdb"), prof)
                import pstats

                pstats.Stats(prof).sort_stats("cumulative").print_stats(30)
                pstats.Stats(prof).sort_stats("tottime").print_stats(20)
        print(f"\n机器：{machine()}；结束时负载 {os.getloadavg()[0]:.1f}\n")
        for lines in sections:
            print("\n".join(lines) + "\n")
        if args.doc and sections:
            from datetime import datetime

            from bench.suite import write_doc

            head = (f"Generated by `python -m bench.etl_bench {' '.join(argv or sys.argv[1:])}` on "
                    f"{datetime.now():%Y-%m-%d %H:%M}. Machine: {machine()}.\n")
            write_doc(head + "\n" + "\n\n".join("\n".join(lines) for lines in sections), ETL_START, ETL_END,
                      "## ETL benchmark (generated)")
            print("已写入 docs/benchmarks.md")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
