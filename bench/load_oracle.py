"""What the loader stores, table by table: the oracle that keeps a faster loader honest.

    python -m bench.load_oracle                        # this tree's loader against the fixture's commit
    python -m bench.load_oracle --ref main --corpora sample,edge,resend,scaled:10
    python -m bench.load_oracle --write-fixture        # tests/fixtures/load_oracle.json from the reference

A *corpus* is a list of load steps (each a list of ledger files) built once, by this tree's
generators, into a folder; both loaders load the very same files. ``sample`` is the bundled
sample (216 files, 593 sheets); ``edge`` is a few small workbooks and CSVs with every kind of
cell a clerk can type (numbers in text fields, phones as numbers, dates as Excel dates and as
text, full-width forms, blanks, footers, example rows, duplicates, bad values) in both readers'
paths, plus refused files; ``resend`` loads files and then changed versions of them (new,
changed, unchanged and removed rows, a removed sheet, an identical file); ``scaled:N`` is
``generate_scaled(scale=N)`` loaded one community group at a time (what the 1000× benchmark
does), then one group resent with changes.

A load's result is every table of the database (record tables with their lineage and row
hashes, marts, rejects, batch log, submissions, meta, reference tables), rows sorted, minus the
columns that hold the wall clock (``loaded_at``, ``applied_at``, meta ``published_at``). The
reference loader runs from ``git archive`` of a commit (under bench/out/, git-ignored: the
repository's worktrees are not touched) in a subprocess; this file is run there as a script,
so it imports nothing from bench/.

tests/test_load_oracle.py loads the same corpora with the current code and compares each
table's digest with tests/fixtures/load_oracle.json, which ``--write-fixture`` writes from
the reference commit (salt ``test-salt``, as in tests/conftest.py).
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import pickle
import shutil
import subprocess
import sys
import tempfile
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
FIXTURE = ROOT / "tests" / "fixtures" / "load_oracle.json"
TODAY = date(2026, 11, 27)  # the loader's "today" in every oracle load (dates after it are refused)
VOLATILE = {("batch_log", "loaded_at"), ("submission_log", "loaded_at"), ("schema_migrations", "applied_at")}
TEST_CORPORA = ("sample", "edge", "resend", "scaled:2")
TEST_SALT = "test-salt"


# ------------------------------------------------------------------ corpora

def build_corpus(name: str, folder: Path, sample: Path | None = None) -> list[dict]:
    """Write corpus ``name`` into ``folder``; its load steps: [{"files": [...], "limits": bool}].

    ``sample``: the sample ledgers (seed 2022) if already generated (the tests' session fixture)."""
    folder.mkdir(parents=True, exist_ok=True)
    if name == "sample":
        from etl.extract import ledger_files

        if sample is None:
            from etl.sample import generate

            sample = folder / "ledgers"
            generate(sample, seed=2022)
        return [{"files": [str(p) for p in ledger_files([sample])], "limits": True}]
    if name == "edge":
        return [{"files": [str(p) for p in _edge_files(folder)], "limits": True}]
    if name == "resend":
        return _resend_steps(folder)
    if name.startswith("scaled:"):
        return _scaled_steps(folder, int(name.split(":", 1)[1]))
    raise ValueError(f"unknown corpus {name!r}")


def _scaled_steps(folder: Path, scale: int) -> list[dict]:
    from etl.sample_scale import generate_scaled

    written = generate_scaled(folder / "ledgers", scale=scale)
    groups = sorted({int(n.split("_g")[1].split("_")[0]) for n in written.files})
    steps = [{"files": [str(p) for p in written.paths(g)], "limits": False} for g in groups]
    # one group's case file again, with rows changed, removed and added (a resend of a month)
    first = next(p for p in written.paths(groups[0]) if p.name.startswith("cases_"))
    lines = first.read_text(encoding="utf-8").splitlines(keepends=True)
    head, body = lines[0], lines[1:]
    changed = [line.replace(",成功,", ",不成功,", 1) if i % 7 == 0 else line for i, line in enumerate(body)]
    kept = [line for i, line in enumerate(changed) if i % 11 != 5]
    resend = folder / "resend" / first.name
    resend.parent.mkdir(parents=True, exist_ok=True)
    resend.write_text(head + "".join(kept), encoding="utf-8")
    steps.append({"files": [str(resend)], "limits": False})
    return steps


CASE_HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "处理力量", "事项描述", "处理结果",
               "回访日期", "满意度", "备注"]
VOLUNTEER_HEADER = ["姓名", "职务", "社区", "小区", "楼栋", "联系电话", "政治面貌", "任职日期", "离任日期"]
ORG_HEADER = ["名称", "类型", "社区", "小区", "成立日期", "成员数", "撤销日期"]
PROJECT_HEADER = ["项目编号", "项目名称", "社区", "申报主体", "申报日期", "评审批次", "评审得分", "是否立项",
                  "资助金额", "完成日期"]
ACTIVITY_HEADER = ["活动名称", "社区", "类型", "活动日期", "参与人数", "组织方"]


def _edge_rows() -> dict[str, list[list[object]]]:
    """Rows with the cells clerks type, per kind (header first): Python values as a workbook holds them."""
    d, dt = date, datetime
    cases = [
        CASE_HEADER,
        ["E-1", "桂南社区", "桂花苑", "邻里纠纷", d(2021, 3, 1), d(2021, 3, 9), "街坊会、楼长", "楼上噪音", "调解成功",
         d(2021, 3, 20), "满意", ""],
        [1002, "桂南", " 新苑 ", "卫生", "2021-03-02", "2021年3月5日", "物业", "电话 13800138000 已联系", "成功",
         "", "基本满意", "重点跟进"],
        [1003.0, "桂南社区居委会", None, "加装电梯", dt(2021, 4, 1, 9, 30), None, "联席会议", "  多余  空格  ", None,
         None, None, None],
        ["Ｅ－４", "同德", "松涛公馆", "治安", 44300, "2021/5/1", "楼长、物业", "全角：ＡＢＣ１２３", "转办", "2021.5.9",
         "很满意", "备注\n换行"],
        ["E-5", "同德社区", "", "停车难", "2021-06-31", "", "", "", "", "", "", ""],  # invalid date
        ["E-6", "同德社区", "", "邻里矛盾", "2021-06-10", "2021-06-01", "", "", "", "", "", ""],  # date order
        ["E-7", "不存在社区", "", "邻里矛盾", "2021-06-10", "", "", "", "", "", "", ""],  # unknown community
        ["E-8", "同德社区", "", "", "2021-06-11", "", "", "", "", "", "", ""],  # missing category
        ["E-1", "桂南社区", "", "邻里矛盾", "2021-06-12", "", "", "", "", "", "", ""],  # duplicate key
        ["E-9", "同德社区", "", "环境卫生", "2031-01-01", "", "", "", "", "", "", ""],  # after today
        ["E-10", "同德社区", "", "环境卫生", True, "", "", 12.5, "", "", "", 7],
        ["", "", "", "", "", "", "", "", "", "", "", ""],
        ["合计", "", "", "", "", "", "", "", "", "", "", ""],
        ["填表人：张三", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    volunteers = [
        VOLUNTEER_HEADER,
        ["张三", "楼长", "桂南社区", "桂花苑", "3座", 13800138000, "党员", d(2019, 5, 1), None],
        ["李 四", "栋长", "桂南", "桂花苑", 12, "138-0013-8001", "群众", "2019-05-02", "2020-01-01"],
        ["王五", "巷长", "同德社区", "", "东巷", 13800138002.0, "", "2018/1/1", ""],
        ["欧阳·娜娜", "街长", "同德社区", None, None, "１３８００１３８００３", "预备党员", 43000, None],
        ["赵六", "楼长", "同德社区", "松涛公馆", "1栋", "", "是", "2020-02-02", "2019-01-01"],  # date order
        ["张三", "楼长", "桂南社区", "桂花苑", "3座", 13800138000, "党员", d(2019, 5, 1), None],  # duplicate
        ["", "楼长", "同德社区", "", "", "", "", "2020-01-01", ""],  # missing name
        ["钱七", "不是职务", "同德社区", "", "", "", "", "2020-01-01", ""],
    ]
    organizations = [
        ORG_HEADER,
        ["桂花苑街坊会", "街坊会", "桂南社区", "桂花苑", d(2018, 1, 1), 25, None],
        ["读书会（1）", "社团组织", "桂南", "", "2019-03-03", "30人", ""],
        ["自治小组", "自治小组", "同德社区", "松涛公馆", "2017-07-07", 12.0, "2020-01-01"],
        ["红色业委会", "红色业委会", "同德社区", "", "2021-01-01", -3, ""],  # negative members
        ["桂花苑街坊会", "街坊会", "桂南社区", "", "2018-02-02", 5, None],  # same org twice
    ]
    projects = [
        PROJECT_HEADER,
        ["M-1", "楼道美化", "桂南社区", "桂花苑街坊会", d(2022, 3, 1), "2022年第一批", 88.5, "是", 20000, d(2022, 9, 1)],
        [2, "睦邻花园", "同德", "", "2022-03-02", "", "90", "否", "", ""],
        ["M-3", "长者饭堂", "同德社区", "", "2022-03-03", "", 101, "立项", "1.5万", ""],  # score out of range
        ["M-4", "儿童之家", "同德社区", "", "2022-03-04", "", "", "", "", ""],  # missing is_funded
        ["M-5", "微更新", "同德社区", "", "2022-03-05", "", 75, "是", "3,000元", "2022-01-01"],  # date order
    ]
    activities = [
        ACTIVITY_HEADER,
        ["邻里节", "桂南社区", "邻里节活动", d(2021, 10, 1), 120, "桂花苑街坊会"],
        ["义诊", "桂南", "志愿活动", "2021-10-02", "80", ""],
        ["义诊", "桂南社区", "志愿服务", "2021-10-02", 81, ""],  # duplicate (same community, name, day)
        ["读书分享", "同德社区", "文体活动", 44500.0, None, None],
        ["宣讲会", "同德社区", "不存在类型", "2021-10-05", 10, ""],
    ]
    return {"cases": cases, "volunteers": volunteers, "organizations": organizations,
            "micro_projects": projects, "activities": activities}


def _write_xlsx(path: Path, sheets: dict[str, list[list[object]]], title: str | None = None) -> Path:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    workbook.set_properties({"created": datetime(2026, 1, 1)})  # the same bytes every time (content_hash)
    day = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        offset = 0
        if title:  # a title row above the header, as many ledgers have
            sheet.write(0, 0, title)
            offset = 2
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if isinstance(value, (date, datetime)):
                    sheet.write_datetime(r + offset, c, value, day)
                else:
                    sheet.write(r + offset, c, value)
    workbook.close()
    return path


def _csv_text(rows: list[list[object]], sep: str = ",") -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=sep, lineterminator="\r\n")
    for row in rows:
        writer.writerow(["" if v is None else v.isoformat() if isinstance(v, (date, datetime)) else v for v in row])
    return buffer.getvalue()


def _communities() -> list[str]:
    """Short names of reference communities whose full name is the short name + 社区 (aliases follow suit)."""
    import csv

    with open(ROOT / "data" / "reference" / "communities.csv", encoding="utf-8") as fh:
        return [r["short_name"] for r in csv.DictReader(fh) if r["community"] == r["short_name"] + "社区"]


def _relabel(table: list[list[object]], first: str, second: str, tag: str) -> list[list[object]]:
    """The edge rows with 桂南/同德 replaced by two other communities and text ids tagged, so that
    every file's rows have keys of their own (else the later file's rows replace the earlier's)."""
    out = [table[0]]
    for row in table[1:]:
        cells = []
        for i, v in enumerate(row):
            if isinstance(v, str):
                v = v.replace("桂南", first).replace("同德", second)
                if i == 0 and table[0][0] == "项目编号" and v:
                    v = f"{tag}{v}"
            cells.append(v)
        out.append(cells)
    return out


def _edge_files(folder: Path) -> list[Path]:
    communities = _communities()
    out: list[Path] = []
    variants = ("xlsx_a", "xlsx_b", "utf8", "bom", "gbk", "tab", "ragged", "wide")
    for kind, rows in _edge_rows().items():
        for v, variant in enumerate(variants):
            table = _relabel(rows, communities[2 * v], communities[2 * v + 1], f"{variant}-")
            if variant == "xlsx_a":
                half = (len(table) + 1) // 2
                out.append(_write_xlsx(folder / f"{variant}_{kind}.xlsx", {
                    "第一页": table[:half], "第二页": [table[0], *table[half:]], "空白": [],
                    "说明": [["本表说明"], ["请按模板填写"]]}, title=f"{kind} 台账（2021年）"))
                continue
            if variant == "xlsx_b":
                out.append(_write_xlsx(folder / f"{variant}_{kind}.xlsx", {"Sheet1": table}))
                continue
            text = _csv_text(table, sep="\t" if variant == "tab" else ",")
            path = folder / f"{variant}_{kind}.csv"
            if variant == "bom":
                path.write_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"))
            elif variant == "gbk":
                path.write_bytes(text.encode("gb18030"))
            elif variant == "ragged":  # a blank line and a short line: the general CSV reader
                lines = text.splitlines(keepends=True)
                lines.insert(2, "\r\n")
                lines.insert(4, "孤立的一格\r\n")
                path.write_text("".join(lines), encoding="utf-8")
            elif variant == "wide":  # wider than WIDE_COLUMNS: read as rows of strings
                path.write_text(_csv_text([list(r) + [""] * 300 for r in table]), encoding="utf-8")
            else:
                path.write_text(text, encoding="utf-8")
            out.append(path)
    (folder / "empty.csv").write_bytes(b"")
    (folder / "no_header.csv").write_text("a,b,c\r\n1,2,3\r\n", encoding="utf-8")
    (folder / "not_a_workbook.xlsx").write_text("这不是 Excel", encoding="utf-8")
    out += [folder / "empty.csv", folder / "no_header.csv", folder / "not_a_workbook.xlsx"]
    for fixture in ("far_cell.xls", "encrypted.xlsx"):
        source = ROOT / "tests" / "fixtures" / fixture
        if source.exists():
            shutil.copyfile(source, folder / fixture)
            out.append(folder / fixture)
    return out


def _resend_steps(folder: Path) -> list[dict]:
    rows = _edge_rows()
    first, second = folder / "first", folder / "second"
    first.mkdir(parents=True, exist_ok=True)
    second.mkdir(parents=True, exist_ok=True)
    cases, volunteers = rows["cases"], rows["volunteers"]
    step1 = [_write_xlsx(first / "桂南社区_事项.xlsx", {"一月": cases[:4], "二月": [cases[0], *cases[4:7]]}),
             _write_xlsx(first / "桂南社区_三长.xlsx", {"名册": volunteers}),
             first / "同德社区_活动.csv", first / "同德社区_组织.csv"]
    (first / "同德社区_活动.csv").write_text(_csv_text(rows["activities"]), encoding="utf-8")
    (first / "同德社区_组织.csv").write_text(_csv_text(rows["organizations"]), encoding="utf-8")
    changed = [list(r) for r in cases[:4]]
    changed[1][8] = "不成功"  # a changed row
    del changed[3]  # a removed row
    changed.append(["E-11", "桂南社区", "", "治安", "2021-07-01", "", "", "", "", "", "", ""])  # a new row
    step2 = [_write_xlsx(second / "桂南社区_事项.xlsx", {"一月": changed}),  # sheet 二月 removed
             second / "桂南社区_三长.xlsx", second / "同德社区_活动.csv", second / "同德社区_组织.csv",
             _write_xlsx(second / "同德社区_事项.xlsx", {"Sheet1": [cases[0], ["E-1", "同德社区", "", "治安",
                                                                           "2021-07-02", "", "", "", "", "", "", ""]]})]
    shutil.copyfile(first / "桂南社区_三长.xlsx", second / "桂南社区_三长.xlsx")  # identical bytes: 未变化
    shutil.copyfile(first / "同德社区_活动.csv", second / "同德社区_活动.csv")
    (second / "同德社区_组织.csv").write_text(_csv_text(rows["organizations"][:3]), encoding="utf-8")
    return [{"files": [str(p) for p in step1], "limits": True}, {"files": [str(p) for p in step2], "limits": True}]


# ------------------------------------------------------------------ loading and dumping

def run_steps(steps: list[dict], db: Path) -> list[list[tuple]]:
    """Load every step into ``db`` (with the loader importable as ``etl``); the per-file reports."""
    from etl.load import load_files

    reports = []
    for step in steps:
        kwargs = {} if step["limits"] else {"limits": None}
        report = load_files([Path(p) for p in step["files"]], db, today=TODAY, **kwargs)
        reports.append(sorted((f.file, f.status, f.rows_read, f.new, f.changed, f.unchanged, f.removed, f.rejected,
                               f.message) for f in report.files))
    return reports


def dump(db: Path) -> dict[str, list[tuple]]:
    """Every table's rows, sorted, without the wall-clock columns."""
    import duckdb

    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = [r[0] for r in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' "
                                            "AND NOT temporary ORDER BY table_name").fetchall()]
        out = {}
        for table in tables:
            cols = [r[0] for r in con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = $t "
                                              "AND schema_name = 'main' ORDER BY column_index", {"t": table}).fetchall()
                    if (table, r[0]) not in VOLATILE]
            where = " WHERE key <> 'published_at'" if table == "meta" else ""
            select = ", ".join(f'"{c}"' for c in cols)
            rows = con.execute(f'SELECT {select} FROM "{table}"{where} ORDER BY ALL').fetchall()
            out[table] = [tuple(cols), *rows]
        return out
    finally:
        con.close()


def digests(tables: dict[str, list[tuple]]) -> dict[str, str]:
    """Per table: row count and a SHA-256 of its columns and sorted rows."""
    return {t: f"{len(rows) - 1}:{hashlib.sha256(repr(rows).encode()).hexdigest()[:24]}" for t, rows in tables.items()}


def report_digest(reports: list[list[tuple]]) -> str:
    """A SHA-256 of the per-file reports of every step (status and new/changed/unchanged/removed counts)."""
    return hashlib.sha256(repr([[tuple(r) for r in step] for step in reports]).encode()).hexdigest()[:24]


def load_corpus(name: str, work: Path, sample: Path | None = None) -> tuple[list[list[tuple]], dict[str, list[tuple]]]:
    """Build and load one corpus with the current code (in this process): reports and tables."""
    steps = build_corpus(name, work / "files", sample)
    db = work / "oracle.duckdb"
    reports = run_steps(steps, db)
    return reports, dump(db)


# ------------------------------------------------------------------ the reference loader in a subprocess

def reference_tree(ref: str) -> Path:
    """``git archive`` of ``ref`` under bench/out/ (made once per commit)."""
    sha = subprocess.run(["git", "rev-parse", "--verify", f"{ref}^{{commit}}"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout.strip()
    tree = OUT / f"ref-{sha[:12]}"
    if not (tree / ".complete").exists():
        shutil.rmtree(tree, ignore_errors=True)
        tree.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", sha], cwd=ROOT, check=True, capture_output=True).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        (tree / ".complete").write_text(sha)
    return tree


def run_tree(tree: Path, steps: list[dict], work: Path, salt: str) -> tuple[list, dict[str, list[tuple]]]:
    """Load ``steps`` with the loader of ``tree`` in a fresh interpreter; its reports and tables."""
    spec, result = work / "steps.json", work / "result.pickle"
    spec.write_text(json.dumps(steps, ensure_ascii=False))
    env = {**os.environ, "PYTHONPATH": str(tree), "CHUANGSHU_SALT": salt, "CHUANGSHU_DATA_DIR": str(work / "data")}
    for key in ("CHUANGSHU_DB", "CHUANGSHU_SAMPLE_DIR", "CHUANGSHU_STATE_DIR"):
        env.pop(key, None)
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "child", str(spec), str(work / "db.duckdb"),
                    str(result)], cwd=tree, env=env, check=True)
    with open(result, "rb") as fh:
        return pickle.load(fh)


BIG_TABLE = 200_000  # rows: beyond, a table travels back as its digest only (memory)


def child(spec: str, db: str, result: str) -> None:
    """Run in the subprocess: load the steps with the ``etl`` on PYTHONPATH, pickle the outcome
    (a table of more than BIG_TABLE rows as its digest: compare() then names it without its rows)."""
    steps = json.loads(Path(spec).read_text())
    Path(db).unlink(missing_ok=True)
    reports = run_steps(steps, Path(db))
    tables = dump(Path(db))
    tables = {t: rows if len(rows) <= BIG_TABLE else [("digest",), (digests({t: rows})[t],)]
              for t, rows in tables.items()}
    with open(result, "wb") as fh:
        pickle.dump((reports, tables), fh)


def compare(ours: tuple[list, dict], theirs: tuple[list, dict], label: str) -> list[str]:
    """Differences between two outcomes, in words (empty: identical)."""
    problems = []
    if ours[0] != theirs[0]:
        for step, (a, b) in enumerate(zip(ours[0], theirs[0])):
            for x, y in zip(a, b):
                if x != y:
                    problems.append(f"{label}: step {step + 1} report differs: ours {x} / reference {y}")
                    break
    for table in sorted(set(ours[1]) | set(theirs[1])):
        a, b = ours[1].get(table), theirs[1].get(table)
        if a == b:
            continue
        if a is None or b is None:
            problems.append(f"{label}: table {table} only in {'reference' if a is None else 'ours'}")
            continue
        if a[0] != b[0]:
            problems.append(f"{label}: {table} columns differ: {a[0]} / {b[0]}")
            continue
        if a[0] == ("digest",):  # a big table came back as its digest only (BIG_TABLE)
            problems.append(f"{label}: {table} differs: digest (rows:sha256) ours {a[1][0]} / reference {b[1][0]}")
            continue
        only_a, only_b = sorted(set(a[1:]) - set(b[1:]), key=repr), sorted(set(b[1:]) - set(a[1:]), key=repr)
        problems.append(f"{label}: {table} differs ({len(a) - 1} / {len(b) - 1} rows); ours only: {only_a[:3]}; "
                        f"reference only: {only_b[:3]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["child"]:
        child(*argv[1:4])
        return 0
    sys.path.insert(0, str(ROOT))
    parser = argparse.ArgumentParser(prog="python -m bench.load_oracle", description=__doc__.splitlines()[0])
    parser.add_argument("--ref", default=None, help="reference commit (default: the fixture's)")
    parser.add_argument("--corpora", default="sample,edge,resend,scaled:2,scaled:10",
                        help="comma-separated: sample, edge, resend, scaled:N (e.g. scaled:100)")
    parser.add_argument("--write-fixture", action="store_true",
                        help=f"write {FIXTURE.relative_to(ROOT)} from the reference (corpora {','.join(TEST_CORPORA)})")
    args = parser.parse_args(argv)
    fixture = json.loads(FIXTURE.read_text()) if FIXTURE.exists() else {}
    ref = args.ref or fixture.get("commit") or "main"
    tree = reference_tree(ref)
    sha = (tree / ".complete").read_text()
    corpora = TEST_CORPORA if args.write_fixture else tuple(c for c in args.corpora.split(",") if c)
    salt = TEST_SALT if args.write_fixture else "oracle-salt"
    os.environ["CHUANGSHU_SALT"] = salt
    from etl.privacy import reset_salt_cache

    reset_salt_cache()
    OUT.mkdir(parents=True, exist_ok=True)
    problems: list[str] = []
    written = {"commit": sha, "salt": salt, "today": TODAY.isoformat(), "corpora": {}}
    for name in corpora:
        with tempfile.TemporaryDirectory(prefix="oracle-", dir=OUT) as scratch:
            work = Path(scratch)
            steps = build_corpus(name, work / "files")
            ref_work, our_work = work / "ref", work / "ours"
            ref_work.mkdir()
            our_work.mkdir()
            theirs = run_tree(tree, steps, ref_work, salt)
            if args.write_fixture:
                written["corpora"][name] = {"reports": report_digest(theirs[0]), "tables": digests(theirs[1])}
                print(f"{name}: {len(theirs[1])} tables from {sha[:12]}", flush=True)
                continue
            ours = run_tree(ROOT, steps, our_work, salt)
            found = compare(ours, theirs, name)
            problems += found
            rows = sum(int(r[1][0].split(":")[0]) if r[0] == ("digest",) else len(r) - 1
                       for t, r in ours[1].items() if t.endswith("_records") and t != "reject_records")
            print(f"{name}: {'identical' if not found else f'{len(found)} differences'} "
                  f"({len(ours[1])} tables, {rows:,} record rows, {len(steps)} loads)", flush=True)
    if args.write_fixture:
        FIXTURE.write_text(json.dumps(written, ensure_ascii=False, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"已写入 {FIXTURE.relative_to(ROOT)}")
        return 0
    for line in problems:
        print(line)
    print(f"reference {sha[:12]}: " + ("every table identical" if not problems else f"{len(problems)} differences"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
