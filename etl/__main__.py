"""Command line: python -m etl sample|load|ensure-sample|template (see --help)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from chuangshu.paths import db_path, sample_dir


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
        from tqdm import tqdm

        from etl.extract import ledger_files
        from etl.load import load_files, print_summary

        files = ledger_files(args.paths)
        missing = [p for p in args.paths if not p.exists()]
        if missing:
            print("找不到：" + "、".join(map(str, missing)), file=sys.stderr)
            return 2
        if not files:
            print("没有找到台账文件（.xlsx / .xls / .csv）", file=sys.stderr)
            return 2
        progress = None if args.quiet else (lambda it: tqdm(it, desc="载入台账", unit="个文件"))
        try:
            report = load_files(files, args.db or db_path(), dataset=args.dataset, progress=progress)
        except ValueError as exc:
            print(str(exc), file=sys.stderr)
            return 2
        print_summary(report)
        return 1 if any(f.status == "无法读取" for f in report.files) else 0
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


if __name__ == "__main__":
    sys.exit(main())
