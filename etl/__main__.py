"""Command line: python -m etl sample|load|ensure-sample|template (see --help)."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
from contextlib import contextmanager
from pathlib import Path

from etl.paths import db_path, local_state_dir, sample_dir

LOG_NAME = "etl.log"  # in the local state folder: tracebacks of files that failed, for the office


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m etl", description="创熟台账 ETL")
    sub = parser.add_subparsers(dest="command", required=True)
    p_sample = sub.add_parser("sample", help="生成示例台账（确定性，可复现）")
    p_sample.add_argument("--out", type=Path, default=None, help="输出目录（默认 data/sample）")
    p_sample.add_argument("--seed", type=int, default=2022)
    p_sample.add_argument("--scale", type=int, default=1, help="放大倍数（基准测试用）")
    p_load = sub.add_parser("load", help="载入台账文件或目录")
    p_load.add_argument("paths", nargs="+", type=Path)
    p_load.add_argument("--db", type=Path, default=None, help="数据库文件（默认 data/guicheng.duckdb）")
    p_load.add_argument("--dataset", default=None, help="数据集标记，如 sample")
    p_load.add_argument("--quiet", action="store_true", help="不显示进度条")
    p_load.add_argument("--limit", action="append", default=[], metavar="名称=数值",
                        help="放宽（或收紧）一项载入限制，可重复，如 --limit rows=500000 --limit file_bytes=200MB"
                             "（名称见 docs/intake.md）")
    p_load.add_argument("--no-limits", action="store_true",
                        help="不检查任何载入限制（文件大小、行列数、单元格长度、处理时限）：只用于街道办核实过的大文件")
    p_ensure = sub.add_parser("ensure-sample", help="数据库不存在时用示例数据构建")
    p_ensure.add_argument("--force", action="store_true", help="重新生成示例并重建数据库")
    p_template = sub.add_parser("template", help="生成供社区填写的台账模板（.xlsx）")
    p_template.add_argument("kind", help="台账：cases/volunteers/organizations/micro_projects/activities 或 事项台账 等")
    p_template.add_argument("--community", default=None, help="社区（小区下拉列表只列该社区的小区）")
    p_template.add_argument("--out", type=Path, default=None, help="输出文件（默认 <社区>_<台账>_模板.xlsx）")
    args = parser.parse_args(argv)

    if args.command == "sample":
        out = args.out or sample_dir()
        if args.scale > 1:
            from etl.sample_scale import generate_scaled

            written = generate_scaled(out, scale=args.scale, seed=args.seed)
            print(f"已生成 {args.scale} 倍规模示例数据：{written}")
            return 0
        from etl.sample import generate

        manifest = generate(out, seed=args.seed)
        print(f"已生成示例台账：{out}（{len(getattr(manifest, 'files', []) or [])} 个文件）")
        return 0
    if args.command == "load":
        return _load(args)
    if args.command == "template":
        from etl.template import write

        try:
            out = write(args.kind, args.out, args.community)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print(f"已生成模板：{out}")
        return 0
    if args.command == "ensure-sample":
        from etl.bootstrap import ensure_sample_db
        from etl.load import print_summary

        report = ensure_sample_db(force=args.force)
        if report is None:
            print(f"数据库已存在：{db_path()}")
        else:
            print_summary(report)
        return 0
    return 2


def _load(args: argparse.Namespace) -> int:
    """`load`: every file on its own (a refused or unreadable one is reported, the others load)."""
    from tqdm import tqdm

    from etl.api import LIMITS, LoadFailed, ledger_files, load_files, print_summary, with_overrides

    if args.no_limits and args.limit:
        print("--no-limits 与 --limit 不能同时使用", file=sys.stderr)
        return 2
    try:
        limits = None if args.no_limits else with_overrides(LIMITS, args.limit)
    except ValueError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    missing = [p for p in args.paths if not p.exists()]
    if missing:
        print("找不到：" + "、".join(map(str, missing)), file=sys.stderr)
        return 2
    files = ledger_files(args.paths)
    if not files:
        print("没有找到台账文件（.xlsx / .xls / .csv）", file=sys.stderr)
        return 2
    if limits is None:
        print("注意：已关闭载入限制（--no-limits），大文件可能占用较多内存和时间。", file=sys.stderr)
    progress = None if args.quiet else (lambda it: tqdm(it, desc="载入台账", unit="个文件"))
    with _file_log() as log_path, _stop_signals() as stop:
        try:
            report = load_files(files, args.db or db_path(), dataset=args.dataset, progress=progress, limits=limits)
        except BaseException as exc:  # noqa: BLE001 - every way a load ends early gets a sentence, not a traceback
            if stop.signum is not None:  # SIGTERM or Ctrl-C, as SystemExit or as DuckDB's "interrupted"
                print("载入已中止（收到终止信号），数据库未改动。", file=sys.stderr)
                return 128 + stop.signum
            if isinstance(exc, (ValueError, LoadFailed)):  # duplicate names, schema, disk full: Chinese already
                print(str(exc), file=sys.stderr)
                return 2
            if not isinstance(exc, Exception):
                raise
            logging.getLogger("etl").exception("load failed")
            print(f"载入失败（内部错误），数据库未改动；详细信息已记录在 {log_path}", file=sys.stderr)
            return 2
    print_summary(report)
    if any(f.status == "无法读取" for f in report.files) and log_path.exists() and log_path.stat().st_size:
        print(f"（个别文件的详细错误记录在 {log_path}）", file=sys.stderr)
    return 1 if any(f.status == "无法读取" for f in report.files) else 0


@contextmanager
def _file_log():
    """Send the ETL's warnings and tracebacks to a log file for this run, not to the terminal."""
    path = local_state_dir() / LOG_NAME
    handler = logging.FileHandler(path, encoding="utf-8", delay=True)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("etl")
    saved = logger.propagate
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield path
    finally:
        logger.removeHandler(handler)
        logger.propagate = saved
        handler.close()


class _Stop:
    """Which stop signal arrived during the load (None: none)."""

    signum: int | None = None


@contextmanager
def _stop_signals():
    """SIGTERM and Ctrl-C end the load like an exception: the loader removes its private copy
    before exiting, and the caller learns which signal it was (DuckDB turns an interrupt inside a
    query into its own error, so the signal is remembered here)."""
    stop = _Stop()

    def handler(signum: int, frame: object) -> None:
        stop.signum = signum
        raise SystemExit(128 + signum)

    try:
        previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}
    except ValueError:  # not the main thread (called from a test runner's thread): leave them
        yield stop
        return
    try:
        yield stop
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


if __name__ == "__main__":
    sys.exit(main())
