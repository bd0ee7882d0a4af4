"""The real loader on tiny real files: every row accounted for, reloads, crashes, bad files, privacy.

Each test writes its ledgers into ``tmp_path``, loads them with ``etl.load.load_files`` (or the
CLI) into a temporary DuckDB file, and asserts exact rows, row numbers and Chinese reasons.
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from datetime import date
from pathlib import Path

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import FIXTURES, query, write_csv, write_xlsx

import etl.load
from chuangshu.db import PublishedDatabase
from etl.__main__ import main as cli
from etl.load import load_files
from etl.pipeline import parse_file
from etl.privacy import person_id, reset_salt_cache
from etl.reference import allowed, load_reference

ROOT = Path(__file__).resolve().parent.parent
TODAY = date(2022, 6, 30)
REF = load_reference()
HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
KNOWN_COMPOUND = next(r["compound"] for r in REF.tables["compounds"] if r["community"] == "桂南社区")
CATEGORIES = allowed(REF.categories)


def load(paths, db: Path, **kw):
    return load_files([Path(p) for p in paths], db, today=TODAY, **kw)


def case_rows(db: Path) -> list[tuple]:
    return query(db, "SELECT community, case_id, compound, category, reported_on, resolved_on, source_file, "
                     "source_sheet, source_row FROM case_records ORDER BY source_file, source_sheet, source_row")


def rejects(db: Path, file: str | None = None) -> list[tuple]:
    sql = "SELECT source_file, sheet, row_number, ledger_kind, reason FROM rejects"
    if file:
        return query(db, sql + " WHERE source_file = ? ORDER BY sheet, row_number", [file])
    return query(db, sql + " ORDER BY source_file, sheet, row_number")


def all_tables(db: Path) -> dict[str, list[tuple]]:
    """Every base table's rows, sorted (for before/after comparisons)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [r[0] for r in con.execute(
            "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' ORDER BY 1").fetchall()]
        return {t: sorted(con.execute(f"SELECT * FROM {t}").fetchall(), key=repr) for t in names}
    finally:
        con.close()


def d(text: str) -> date:
    return date.fromisoformat(text)


# ------------------------------------------------------------------ every row accounted for

# One sheet as a clerk fills it in: (spreadsheet row, cells, expected) where expected is
# "db" or the exact reject reason. Rows without an entry are titles, blanks or footers.
SHEET = [
    (1, ["桂南社区2021年矛盾纠纷调解台账"], None),
    (2, ["填报单位：桂南社区居委会"], None),
    (3, HEADER, None),
    (4, ["GN-001", "桂南", KNOWN_COMPOUND, "纠纷", "2021-03-05", "2021/3/9"], "db"),
    (5, [], None),
    (6, ["GN-002", "桂南社区", None, "卫生", date(2021, 3, 6), None], "db"),
    (7, ["GN-003", "桂北", None, "卫生", "2021-03-05"], "社区「桂北」不在街道 45 个社区名单中，请核对社区名称"),
    (8, ["GN-004", "桂南", None, "卫生", "2021-02-30"],
     "登记日期「2021-02-30」不是有效日期，请按 2021-03-05 的格式填写"),
    (9, [None, "桂南", None, "卫生", "2021-03-05"], "事项编号为空，请补填"),
    (10, ["GN-005", "桂南", None, "噪音", "2021-03-05"], f"类别「噪音」无法识别，请填写：{CATEGORIES}"),
    (11, ["GN-006", "桂南", None, "卫生", "2021-03-05", "2021-03-01"],
     "办结日期（2021-03-01）早于登记日期（2021-03-05），请核对"),
    (12, ["GN-001", "桂南", None, "卫生", "2021-04-01"],
     "事项编号「GN-001」与第4行重复，同一社区内不能重复，请核对"),
    (13, ["GN-007", " 桂南 ", "  新建 小区 ", "停车难", 44261], "db"),
    (14, ["GN-008", "桂南", None, "卫生", None], "登记日期为空，请补填（格式如 2021-03-05）"),
    (15, ["GN-009", "桂南", None, "卫生", "2023-01-01"],
     "登记日期「2023-01-01」超出合理范围（2000-01-01 至 2022-06-30），请核对"),
    (16, ["GN-010", "桂南", None, None, "２０２１年３月５日"], "类别为空，请补填（如 邻里矛盾、加装电梯）"),
    (17, ["GN-011", "", None, "加装电梯", "20210305"], "社区为空，请补填"),
    (18, ["GN-012", "桂北", None, "卫生", "2021-13-01"],
     "社区「桂北」不在街道 45 个社区名单中，请核对社区名称；登记日期「2021-13-01」不是有效日期，请按 2021-03-05 的格式填写"),
    (19, [], None),
    (20, [None, None, None, None, None, None, "21"], None),  # only a column outside the header: not data
    (21, ["合计", "共14条"], None),
    (22, ["填表人：张三", None, "审核人：李四", None, "填报日期：2021年12月31日"], None),
    (23, ["填表人：", "张三", "审核人：", "李四", "填报日期：", "2021-12-31"], None),
]
EXPECTED_DB = [
    ("桂南社区", "GN-001", KNOWN_COMPOUND, "邻里矛盾", d("2021-03-05"), d("2021-03-09"), "桂南.xlsx", "2021", 4),
    ("桂南社区", "GN-002", None, "环境卫生", d("2021-03-06"), None, "桂南.xlsx", "2021", 6),
    ("桂南社区", "GN-007", "新建小区", "停车", d("2021-03-06"), None, "桂南.xlsx", "2021", 13),
]


def sheet_grid(width: int = 7) -> list[list]:
    grid: list[list] = []
    for number, cells, _ in SHEET:
        assert number == len(grid) + 1
        grid.append(list(cells) + [None] * (width - len(cells)) if cells else [])
    return grid


def test_every_data_row_ends_in_the_db_or_in_rejects_with_its_row_number(tmp_path: Path):
    grid = sheet_grid()
    path = write_xlsx(tmp_path / "桂南.xlsx", {"2021": grid}, merges={"2021": ["A1:F1"]})
    db = tmp_path / "t.duckdb"
    report = load([path], db)

    assert case_rows(db) == EXPECTED_DB
    expected_rejects = [("桂南.xlsx", "2021", n, "cases", why) for n, _, why in SHEET if why not in (None, "db")]
    assert rejects(db) == expected_rejects
    data_rows = {n for n, _, why in SHEET if why is not None}
    assert {r[-1] for r in case_rows(db)} | {r[2] for r in rejects(db)} == data_rows

    (f,) = report.files
    assert (f.status, f.rows_read, f.new, f.changed, f.unchanged, f.removed, f.rejected) == \
        ("已载入", 14, 3, 0, 0, 0, 11)
    assert query(db, "SELECT source_file, status, rows_read, rows_new, rows_rejected, ledger_kinds "
                     "FROM load_batches") == [("桂南.xlsx", "已载入", 14, 3, 11, "cases")]


def test_the_same_sheet_as_csv_gives_the_same_rows_with_line_numbers(tmp_path: Path):
    grid = [[c.isoformat() if isinstance(c, date) else c for c in row] for row in sheet_grid()]
    path = write_csv(tmp_path / "桂南.csv", grid)
    db = tmp_path / "t.duckdb"
    load([path], db)
    assert case_rows(db) == [(*r[:6], "桂南.csv", None, r[8]) for r in EXPECTED_DB]
    assert rejects(db) == [("桂南.csv", None, n, "cases", why) for n, _, why in SHEET if why not in (None, "db")]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gbk", "gb18030"])
def test_csv_encodings(tmp_path: Path, encoding: str):
    rows = [
        ["桂南社区事项台账（2021年）"],
        HEADER + ["事项描述"],
        [],
        ["GN-1", "桂南社区", "翠林家园", "旧楼加装电梯", "2021年3月5日", "", "协调加装电梯，居民满意"],
        [],
        [],
        ["GN-2", "桂南", "", "邻里纠纷", "2021.3.6", "2021-03-08", "噪音扰民：楼上装修"],
        ["GN-3", "桂北", "", "邻里纠纷", "2021.3.6", "", ""],
        ["合计", "3"],
    ]
    if encoding == "gb18030":
        rows[3][-1] = "吉祥的𠮷字（GBK 没有）"
    path = write_csv(tmp_path / f"cases-{encoding}.csv", rows, encoding=encoding)
    db = tmp_path / "t.duckdb"
    load([path], db)
    got = query(db, "SELECT case_id, category, reported_on, resolved_on, description, source_row FROM cases "
                    "ORDER BY case_id")
    assert got == [
        ("GN-1", "加装电梯", d("2021-03-05"), None, rows[3][-1], 4),
        ("GN-2", "邻里矛盾", d("2021-03-06"), d("2021-03-08"), "噪音扰民：楼上装修", 7),
    ]
    assert rejects(db) == [(path.name, None, 8, "cases", "社区「桂北」不在街道 45 个社区名单中，请核对社区名称")]


def test_tab_separated_text_file(tmp_path: Path):
    path = tmp_path / "cases.txt"
    path.write_text("\t".join(HEADER) + "\nGN-1\t桂南\t\t卫生\t2021-03-05\t\n", encoding="utf-8")
    db = tmp_path / "t.duckdb"
    load([path], db)
    assert query(db, "SELECT case_id, category, source_row FROM cases") == [("GN-1", "环境卫生", 2)]


def test_several_sheets_empty_sheet_and_a_sheet_without_header(tmp_path: Path):
    path = write_xlsx(tmp_path / "桂南.xlsx", {
        "2020": [["2020年台账"], HEADER, ["GN-1", "桂南", None, "卫生", "2020-05-01"]],
        "空表": [],
        "说明": [["填表说明"], ["1. 日期请按 2021-03-05 填写", "2. 社区填全称"]],
        "2021": [HEADER, ["GN-2", "桂南", None, "卫生", "2021-05-01"],
                 ["GN-1", "桂南", None, "停车", "2021-05-02"]],
        "活动": [["活动名称", "社区", "类型", "活动日期", "参与人数"],
                 ["邻里节", "桂南", "邻里节", "2021-10-01", "约200人"]],
    })
    db = tmp_path / "t.duckdb"
    report = load([path], db)
    assert case_rows(db) == [
        ("桂南社区", "GN-1", None, "环境卫生", d("2020-05-01"), None, "桂南.xlsx", "2020", 3),
        ("桂南社区", "GN-2", None, "环境卫生", d("2021-05-01"), None, "桂南.xlsx", "2021", 2),
    ]
    assert query(db, "SELECT name, kind, held_on, participants, source_sheet, source_row FROM activities") == [
        ("邻里节", "邻里节", d("2021-10-01"), 200, "活动", 2)]
    assert rejects(db) == [
        ("桂南.xlsx", "2021", 3, "cases", "事项编号「GN-1」与工作表「2020」第3行重复，同一社区内不能重复，请核对"),
        ("桂南.xlsx", "说明", None, None, "工作表未找到可识别的表头（前 30 行中没有台账表头），请使用街道下发的台账模板"),
    ]
    (f,) = report.files
    assert (f.status, f.kinds, f.rows_read, f.new, f.rejected) == ("已载入", "活动台账、事项台账", 4, 3, 2)


def test_header_only_file_loads_with_no_rows(tmp_path: Path):
    path = write_csv(tmp_path / "空台账.csv", [["桂南社区台账"], HEADER, [], ["合计", "0"]])
    db = tmp_path / "t.duckdb"
    report = load([path], db)
    assert (report.files[0].status, report.files[0].rows_read, report.files[0].new) == ("已载入", 0, 0)
    assert case_rows(db) == [] and rejects(db) == []


# ------------------------------------------------------------------ all five kinds, values normalised

def test_all_five_kinds_end_to_end(tmp_path: Path):
    files = [
        write_csv(tmp_path / "volunteers.csv", [
            ["姓名", "职务", "社区", "小区", "楼栋", "联系电话", "政治面貌", "任职日期", "离任日期"],
            ["陈大文", "栋长", "桂南", "翠林家园", "3座", "138 0013 8000", "中共党员", "2019/5/1", ""],
            ["李小红", "巷长", "江滨村", "大道东一巷", "", "", "群众", "2020-01-01", "2021-01-01"],
            ["王五", "组长", "桂南", "", "", "", "", "2020-01-01", ""],
        ]),
        write_csv(tmp_path / "orgs.csv", [
            ["组织名称", "组织类型", "所属社区", "所属小区", "成立时间", "成员人数", "注销日期"],
            ["翠林家园街坊会", "街坊志愿互助会", "桂南", "翠林家园", "2016-03-01", "约50人", ""],
            ["桂南加油站", "“创熟”加油站", "桂南", "", "2018.6.1", "", ""],
            ["旧群", "微信群", "桂南", "", "2018.6.1", "-3", ""],
        ]),
        write_csv(tmp_path / "projects.csv", [
            ["项目编号", "项目名称", "社区", "申报主体", "申报日期", "评审批次", "评审得分", "是否立项", "扶持金额（元）",
             "完成日期"],
            ["WX-2016-001", "楼道美化", "桂南", "翠林家园街坊会", "2016-04-01", "2016年第2批", "86.5", "立项",
             "1.5万", "2016-12-01"],
            ["WX-2016-002", "长者饭堂", "桂南", "", "2016-04-02", "2016年第2批", "60", "不通过", "", ""],
            ["WX-2016-003", "花园", "桂南", "", "2016-04-03", "", "150", "是", "￥15,000元", ""],
            ["WX-2016-004", "书屋", "桂南", "", "2016-04-03", "", "", "待定", "", ""],
        ]),
        write_csv(tmp_path / "activities.csv", [
            ["主题", "所属社区", "活动类型", "开展时间", "参加人次", "主办"],
            ["邻里节", "桂南", "邻里节活动", "2021-10-01", "200人次", "桂南社区"],
            ["防疫值守", "桂南", "疫情防控", "2022-04-01", "", ""],
        ]),
    ]
    db = tmp_path / "t.duckdb"
    load(files, db)
    pid = person_id("桂南社区", "陈大文", "13800138000", "3座", "翠林家园")
    assert query(db, "SELECT person_id, name_masked, role, community, compound, building, is_party_member, "
                     "appointed_on, left_on, source_row FROM volunteers ORDER BY source_row") == [
        (pid, "陈*文", "楼长", "桂南社区", "翠林家园", "3座", True, d("2019-05-01"), None, 2),
        (person_id("江滨社区", "李小红", "", None, "大道东一巷"), "李*红", "巷长", "江滨社区", "大道东一巷", None,
         False, d("2020-01-01"), d("2021-01-01"), 3),
    ]
    assert query(db, "SELECT name, kind, community, compound, founded_on, members FROM organizations "
                     "ORDER BY name") == [
        ("桂南加油站", "创熟加油站", "桂南社区", None, d("2018-06-01"), None),
        ("翠林家园街坊会", "街坊会", "桂南社区", "翠林家园", d("2016-03-01"), 50),
    ]
    assert query(db, "SELECT project_id, applicant, review_round, score, is_funded, CAST(amount_yuan AS VARCHAR), "
                     "completed_on FROM micro_projects ORDER BY 1") == [
        ("WX-2016-001", "翠林家园街坊会", "2016年第2批", 86.5, True, "15000.00", d("2016-12-01")),
        ("WX-2016-002", None, "2016年第2批", 60.0, False, None, None),
    ]
    assert query(db, "SELECT name, kind, held_on, participants, organizer FROM activities ORDER BY held_on") == [
        ("邻里节", "邻里节", d("2021-10-01"), 200, "桂南社区"),
        ("防疫值守", "防疫", d("2022-04-01"), None, None),
    ]
    assert [r[1:] for r in rejects(db)] == [
        (None, 4, "organizations", "成员数「-3」不是有效数字，请只填写数字（如 50）"),
        (None, 4, "micro_projects", "评审得分「150」超出范围（0 至 100），请核对"),
        (None, 5, "micro_projects", "是否立项「待定」无法识别，请填写：是（立项）或 否（不通过）"),
        (None, 4, "volunteers", f"职务「组长」无法识别，请填写：{allowed(REF.roles)}"),
    ]


# ------------------------------------------------------------------ compounds and communities

def test_unknown_compound_is_kept_and_listed_unknown_community_rejected(tmp_path: Path):
    path = write_csv(tmp_path / "c.csv", [
        HEADER,
        ["1", "桂南", KNOWN_COMPOUND, "卫生", "2021-03-05"],
        ["2", "桂南", " 桂南 新苑 ", "卫生", "2021-03-05"],
        ["3", "桂南", "桂南新苑", "卫生", "2021-03-06"],
        ["4", "不存在社区", "桂南新苑", "卫生", "2021-03-06"],
    ])
    db = tmp_path / "t.duckdb"
    load([path], db)
    assert query(db, "SELECT case_id, compound FROM cases ORDER BY case_id") == [
        ("1", KNOWN_COMPOUND), ("2", "桂南新苑"), ("3", "桂南新苑")]
    assert query(db, "SELECT community, compound, kind, is_known FROM compounds WHERE NOT is_known") == [
        ("桂南社区", "桂南新苑", None, False)]
    assert query(db, "SELECT is_known FROM compounds WHERE community = '桂南社区' AND compound = ?",
                 [KNOWN_COMPOUND]) == [(True,)]
    assert rejects(db) == [("c.csv", None, 5, "cases", "社区「不存在社区」不在街道 45 个社区名单中，请核对社区名称")]


# ------------------------------------------------------------------ reloads

@pytest.mark.parametrize("big", [False, True], ids=["one thread", "every core"])
def test_files_are_read_and_hashed_in_order_on_one_thread_or_every_core(tmp_path: Path, monkeypatch, big: bool):
    """_split_unchanged reads and hashes a big load's files on every core (largest first) and a small
    one's in turn: the same work, in the same order, with the same unchanged and unreadable files."""
    path = write_xlsx(tmp_path / "桂南.xlsx", {"2021": sheet_grid()})
    db = tmp_path / "t.duckdb"
    load([path], db)
    files = [write_csv(tmp_path / f"{name}.csv",
                       [HEADER, *([f"{name}-{i}", "桂园", None, "卫生", "2021-05-05"] for i in range(rows))])
             for name, rows in (("a", 1), ("b", 50), ("c", 3))]
    given = tmp_path / "given.csv"  # bytes handed over by the intake page, not on disk
    missing = tmp_path / "gone.csv"
    paths = [files[0], path, missing, given, files[1], files[2]]
    contents = {given: files[2].read_bytes().replace(b"c-", b"g-")}
    threads: set[str] = set()
    digest = etl.load.content_hash
    monkeypatch.setattr(etl.load, "content_hash", lambda data: threads.add(threading.current_thread().name)
                        or digest(data))
    monkeypatch.setattr(etl.load, "PARSE_AHEAD_BYTES", 0 if big else 1 << 40)
    monkeypatch.setattr(etl.load, "cores", lambda: 2)
    report = etl.load.LoadReport(db)
    known, work = etl.load._split_unchanged(paths, db, report, contents)
    def expected(p: Path) -> tuple:
        if p == missing:
            return p, None, None
        data = contents[p] if p == given else p.read_bytes()
        return p, data, digest(data)

    assert work == [expected(p) for p in paths if p != path]
    assert [(f.file, f.status) for f in report.files] == [("桂南.xlsx", "未变化")]
    assert known["桂南.xlsx"] == digest(path.read_bytes())
    assert all(name.startswith("read") for name in threads) if big else threads == {"MainThread"}
    # the readers are gone before the loader may fork parse workers (etl.parse_pool.may_fork)
    assert not [t for t in threading.enumerate() if t.name.startswith("read")]


def test_loading_the_same_file_again_changes_nothing(tmp_path: Path):
    path = write_xlsx(tmp_path / "桂南.xlsx", {"2021": sheet_grid()})
    db = tmp_path / "t.duckdb"
    first = load([path], db)
    before, stat = all_tables(db), os.stat(db)
    again = load([path], db)
    assert [(f.file, f.status, f.message) for f in again.files] == [("桂南.xlsx", "未变化", "与已载入的版本相同")]
    assert again.files[0].kinds == first.files[0].kinds != ""  # the report's 台账 column: what it held
    assert again.published is False and first.published is True
    assert all_tables(db) == before
    assert (os.stat(db).st_ino, os.stat(db).st_mtime_ns) == (stat.st_ino, stat.st_mtime_ns)

    # loaded together with a new file: the unchanged one keeps its rows, batch ids included
    other = write_csv(tmp_path / "other.csv", [HEADER, ["X-1", "桂园", None, "卫生", "2021-05-05"]])
    third = load([path, other], db)
    assert [(f.file, f.status) for f in third.files] == [("桂南.xlsx", "未变化"), ("other.csv", "已载入")]
    after = all_tables(db)
    assert [r for r in after["case_records"] if r[12] == "桂南.xlsx"] == before["case_records"]
    assert [r for r in after["reject_records"] if r[1] == "桂南.xlsx"] == before["reject_records"]


def test_a_corrected_file_replaces_its_earlier_version(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    other = write_csv(tmp_path / "桂园.csv", [HEADER, ["GY-1", "桂园", None, "卫生", "2021-05-05"]])
    (tmp_path / "v1").mkdir()
    v1 = write_csv(tmp_path / "v1" / "桂南.csv", [
        HEADER,
        ["GN-1", "桂南", None, "卫生", "2021-03-01"],
        ["GN-2", "桂南", None, "卫生", "2021-03-02"],
        ["GN-3", "桂南", None, "卫生", "2021-03-03"],
        ["GN-4", "桂南", None, "卫生", "2021-02-30"],
    ])
    load([other, v1], db)
    assert rejects(db, "桂南.csv") == [
        ("桂南.csv", None, 5, "cases", "登记日期「2021-02-30」不是有效日期，请按 2021-03-05 的格式填写")]

    (tmp_path / "v2").mkdir()
    v2 = write_csv(tmp_path / "v2" / "桂南.csv", [
        ["桂南社区台账（更正版）"],
        HEADER,
        ["GN-1", "桂南", None, "卫生", "2021-03-01"],          # unchanged (now on line 3)
        ["GN-2", "桂南", None, "停车", "2021-03-02"],          # changed
        ["GN-4", "桂南", None, "卫生", "2021-02-28"],          # corrected: was a reject, now new
        ["GN-5", "桂南", None, "卫生", "2021-03-05", "2021-03-01"],  # new reject
    ])
    report = load([v2], db)
    (f,) = report.files
    assert (f.status, f.new, f.changed, f.unchanged, f.removed, f.rejected) == ("已载入", 1, 1, 1, 1, 1)
    assert query(db, "SELECT case_id, category, reported_on, source_row FROM cases WHERE source_file = '桂南.csv' "
                     "ORDER BY case_id") == [
        ("GN-1", "环境卫生", d("2021-03-01"), 3),
        ("GN-2", "停车", d("2021-03-02"), 4),
        ("GN-4", "环境卫生", d("2021-02-28"), 5),
    ]
    assert rejects(db, "桂南.csv") == [
        ("桂南.csv", None, 6, "cases", "办结日期（2021-03-01）早于登记日期（2021-03-05），请核对")]
    assert query(db, "SELECT case_id FROM cases WHERE source_file = '桂园.csv'") == [("GY-1",)]

    # a version with no data rows left removes everything the file gave
    v3 = write_csv(tmp_path / "桂南.csv", [HEADER])
    (f,) = load([v3], db).files
    assert (f.new, f.changed, f.unchanged, f.removed, f.rejected) == (0, 0, 0, 3, 0)
    assert query(db, "SELECT count(*) FROM cases WHERE source_file = '桂南.csv'") == [(0,)]
    assert rejects(db, "桂南.csv") == []


def test_an_unreadable_resend_keeps_the_earlier_rows_and_is_retried(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    good = write_csv(tmp_path / "桂南.csv", [HEADER, ["GN-1", "桂南", None, "卫生", "2021-03-01"]])
    good_bytes = good.read_bytes()
    load([good], db)
    good.write_bytes(b"")
    (f,) = load([good], db).files
    assert (f.status, f.message) == ("无法读取", "文件为空（0 字节），请在 Excel 中重新保存后上报")
    assert query(db, "SELECT case_id FROM cases") == [("GN-1",)]
    good.write_bytes(good_bytes)
    (f,) = load([good], db).files
    assert (f.status, f.unchanged) == ("已载入", 1)
    assert rejects(db) == []


# ------------------------------------------------------------------ all or nothing

def test_a_crash_in_the_middle_leaves_the_old_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "t.duckdb"
    a = write_csv(tmp_path / "a.csv", [HEADER, ["A-1", "桂南", None, "卫生", "2021-03-01"]])
    load([a], db)
    before, version = all_tables(db), query(db, "SELECT value FROM meta WHERE key = 'db_version'")

    b = write_csv(tmp_path / "b.csv", [HEADER, ["B-1", "桂南", None, "卫生", "2021-03-01"]])
    c = write_csv(tmp_path / "c.csv", [HEADER, ["C-1", "桂南", None, "卫生", "2021-03-01"]])
    real, calls = etl.load.flush, []

    def flaky(con, staged):  # a crash after both files' rows were written into the private copy
        real(con, staged)
        calls.append([s.file for _, _, s, _ in staged.log])
        raise RuntimeError("崩溃（模拟）")

    monkeypatch.setattr(etl.load, "flush", flaky)
    with pytest.raises(RuntimeError, match="模拟"):
        load([b, c], db)
    assert calls == [["b.csv", "c.csv"]]
    assert all_tables(db) == before
    assert query(db, "SELECT value FROM meta WHERE key = 'db_version'") == version
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".t.duckdb")) == []

    monkeypatch.setattr(etl.load, "flush", real)
    report = load([b, c], db)
    assert [f.status for f in report.files] == ["已载入", "已载入"]
    assert query(db, "SELECT case_id FROM cases ORDER BY 1") == [("A-1",), ("B-1",), ("C-1",)]


def test_a_reader_keeps_reading_while_loads_publish(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    first = write_csv(tmp_path / "f0.csv", [HEADER, ["F0-1", "桂南", None, "卫生", "2021-03-01"]])
    load([first], db)
    reader = PublishedDatabase(db)
    seen: list[int] = []
    errors: list[BaseException] = []
    stop = threading.Event()

    def read_loop():
        while not stop.is_set():
            try:
                cur = reader.cursor()
                seen.append(cur.execute("SELECT count(*) FROM cases").fetchone()[0])
                cur.execute("SELECT community, count(*) FROM cases GROUP BY ALL").fetchall()
                cur.close()
            except BaseException as exc:  # noqa: BLE001 - any error is a failure
                errors.append(exc)
                return

    thread = threading.Thread(target=read_loop)
    thread.start()
    try:
        for i in range(1, 6):
            rows = [HEADER] + [[f"F{i}-{k}", "桂南", None, "卫生", "2021-03-01"] for k in range(1, 51)]
            load([write_csv(tmp_path / f"f{i}.csv", rows)], db)
            time.sleep(0.05)
        deadline = time.time() + 10
        while (not seen or seen[-1] != 251) and time.time() < deadline and not errors:
            time.sleep(0.02)
    finally:
        stop.set()
        thread.join(timeout=30)
    assert errors == []
    assert seen[0] >= 1 and seen[-1] == 251
    assert seen == sorted(seen)  # never goes back to an older version
    assert set(seen) <= {1, 51, 101, 151, 201, 251}
    cur = reader.cursor()
    assert cur.execute("SELECT count(*) FROM cases").fetchone() == (251,)
    cur.close()


# ------------------------------------------------------------------ files that cannot be read

def _bad_files(tmp_path: Path) -> dict[str, tuple[Path, str]]:
    noise = tmp_path / "乱码.xlsx"
    noise.write_bytes(bytes(range(256)) * 8)
    empty = tmp_path / "空文件.xlsx"
    empty.write_bytes(b"")
    encrypted = tmp_path / "加密.xlsx"
    encrypted.write_bytes((FIXTURES / "encrypted.xlsx").read_bytes())
    no_header = write_xlsx(tmp_path / "无表头.xlsx", {"Sheet1": [["桂南社区台账"], ["序号", "摘要", "数值"], [1, "x", 2]]})
    partial = write_csv(tmp_path / "缺列.csv", [["事项编号", "社区", "类别"], ["1", "桂南", "卫生"]])
    blank = write_xlsx(tmp_path / "空白.xlsx", {"Sheet1": [], "Sheet2": []})
    word = tmp_path / "总结.docx"
    word.write_bytes(b"PK\x03\x04 not really a docx")
    blank_csv = tmp_path / "空行.csv"
    blank_csv.write_bytes(b"\r\n\r\n")
    csv_as_xlsx = tmp_path / "改名.xlsx"
    csv_as_xlsx.write_text(",".join(HEADER) + "\n", encoding="utf-8")
    return {
        "noise": (noise, "文件内容是二进制文件，不是 Excel 台账（可能改过扩展名），请上报原始台账文件"),
        "empty": (empty, "文件为空（0 字节），请在 Excel 中重新保存后上报"),
        "encrypted": (encrypted, "文件设有打开密码，系统无法读取，请取消密码后重新上报"),
        "no_header": (no_header, "未找到可识别的表头（前 30 行中没有台账表头），请使用街道下发的台账模板"),
        "partial": (partial, "未找到可识别的表头（疑似事项台账，缺少必填列：登记日期），请使用街道下发的台账模板"),
        "blank": (blank, "未找到可识别的表头（文件中没有任何内容），请使用街道下发的台账模板"),
        "blank_csv": (blank_csv, "未找到可识别的表头（文件中没有任何内容），请使用街道下发的台账模板"),
        "word": (word, "不支持的文件类型「.docx」，请上报 .xlsx、.xls 或 .csv 格式的台账"),
        "csv_as_xlsx": (csv_as_xlsx, "文件内容是纯文本（可能是 CSV），扩展名却是 .xlsx：请把扩展名改为 .csv 后重新上报"),
    }


BAD = ["noise", "empty", "encrypted", "no_header", "partial", "blank", "blank_csv", "word", "csv_as_xlsx"]


@pytest.mark.parametrize("which", BAD)
def test_a_bad_file_is_reported_by_name_and_the_others_still_load(tmp_path: Path, which: str):
    bad, message = _bad_files(tmp_path)[which]
    good1 = write_csv(tmp_path / "好1.csv", [HEADER, ["G-1", "桂南", None, "卫生", "2021-03-01"]])
    good2 = write_csv(tmp_path / "好2.csv", [HEADER, ["G-2", "桂南", None, "卫生", "2021-03-01"]])
    db = tmp_path / "t.duckdb"
    report = load([good1, bad, good2], db)
    assert [(f.file, f.status, f.message) for f in report.files] == [
        ("好1.csv", "已载入", ""), (bad.name, "无法读取", message), ("好2.csv", "已载入", "")]
    assert query(db, "SELECT case_id FROM cases ORDER BY 1") == [("G-1",), ("G-2",)]
    assert rejects(db) == [(bad.name, None, None, None, message)]
    assert query(db, "SELECT status, message FROM load_batches WHERE source_file = ?", [bad.name]) == [
        ("无法读取", message)]


def test_the_encrypted_fixture_is_a_real_encrypted_workbook():
    data = (FIXTURES / "encrypted.xlsx").read_bytes()
    assert data[:8] == bytes.fromhex("d0cf11e0a1b11ae1")          # OLE container, not a zip
    assert "EncryptionInfo".encode("utf-16-le") in data
    assert "EncryptedPackage".encode("utf-16-le") in data


# ------------------------------------------------------------------ privacy

PEOPLE = [  # name, phone as written, phone digits
    ("陈大文", "13800138000", "13800138000"),
    ("欧阳晓明", "139-2233-4455", "13922334455"),
    ("黎小凤", "0757-86221234", "075786221234"),
    ("司马相如", "", ""),
]


def roster(path: Path, people=PEOPLE, appointed="2019-05-01", extra=()):
    rows = [["桂南社区三长名册"], ["姓名", "职务", "社区", "小区", "楼栋", "联系电话", "政治面貌", "任职日期"]]
    rows += [[name, "楼长", "桂南", "翠林家园", f"{i + 1}座", phone, "党员", appointed]
             for i, (name, phone, _) in enumerate(people)]
    rows += list(extra)
    return write_xlsx(path, {"名册": rows})


def test_no_phone_and_no_full_name_anywhere_in_the_database(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    extra = [
        ["赵钱孙", "楼长", "桂南", "翠林家园", "9座", "13712345678", "党员", "2021-02-30"],   # rejected: date
        ["陈大文", "楼长", "桂南", "翠林家园", "1座", "13800138000", "党员", "2019-05-01"],   # rejected: duplicate
        ["周吴郑", "楼长", "桂北", "翠林家园", "9座", "13612345678", "", "2019-05-01"],     # rejected: community
    ]
    load([roster(tmp_path / "名册.xlsx", extra=extra)], db)
    assert query(db, "SELECT name_masked FROM volunteers ORDER BY source_row") == [
        ("陈*文",), ("欧**明",), ("黎*凤",), ("司**如",)]
    assert [r[2:] for r in rejects(db)] == [
        (7, "volunteers", "任职日期「2021-02-30」不是有效日期，请按 2021-03-05 的格式填写"),
        (8, "volunteers", "人员「陈*文（楼长，2019-05-01）」与第3行重复，同一社区同一职务同一任职日期内不能重复，请核对"),
        (9, "volunteers", "社区「桂北」不在街道 45 个社区名单中，请核对社区名称"),
    ]
    secrets = [name for name, _, _ in PEOPLE] + ["赵钱孙", "周吴郑"]
    secrets += [digits for _, _, digits in PEOPLE if digits] + ["13712345678", "13612345678", "139-2233-4455"]

    con = duckdb.connect(str(db), read_only=True)
    try:
        columns = con.execute("SELECT table_name, column_name FROM duckdb_columns() WHERE schema_name = 'main' "
                              "AND data_type = 'VARCHAR' AND table_name IN (SELECT table_name FROM duckdb_tables())"
                              ).fetchall()
        assert len(columns) > 30
        for table, column in columns:
            for secret in secrets:
                hits = con.execute(f'SELECT count(*) FROM {table} WHERE contains("{column}", ?)', [secret]).fetchone()
                assert hits == (0,), (table, column, secret)
    finally:
        con.close()
    raw = db.read_bytes()  # the loader CHECKPOINTs before publishing: everything is in the file
    assert not list(tmp_path.glob("t.duckdb.wal"))
    for secret in secrets:
        assert secret.encode("utf-8") not in raw, secret
        assert secret.encode("utf-16-le") not in raw, secret


def test_person_id_is_stable_across_reloads_and_files(tmp_path: Path):
    db = tmp_path / "t.duckdb"
    load([roster(tmp_path / "名册.xlsx")], db)
    ids_v1 = query(db, "SELECT building, person_id FROM volunteers ORDER BY building")
    assert len({pid for _, pid in ids_v1}) == 4

    # corrected roster (new appointment date, same people): same ids
    load([roster(tmp_path / "名册.xlsx", appointed="2019-06-01")], db)
    assert query(db, "SELECT building, person_id FROM volunteers ORDER BY building") == ids_v1

    # the same people in a second file, as CSV with phones written differently: same ids
    other = write_csv(tmp_path / "巷长.csv", [
        ["姓名", "职务", "社区", "小区", "楼栋", "电话", "任职日期"],
        ["陈 大文", "巷长", "桂南社区", "翠林家园", "", "138 0013 8000", "2020-01-01"],
        ["欧阳晓明", "巷长", "桂南", "", "", "13922334455", "2020-01-01"],
        ["司马相如", "巷长", "桂南", "翠林家园", "4座", "", "2020-01-01"],   # no phone: building anchors
        ["司马相如", "街长", "桂南", "翠林家园", "5座", "", "2020-01-01"],   # other building: another person
    ])
    load([other], db)
    by_file = query(db, "SELECT source_file, role, person_id FROM volunteers ORDER BY source_file, source_row")
    v1 = dict(ids_v1)
    assert by_file[4:] == [
        ("巷长.csv", "巷长", v1["1座"]), ("巷长.csv", "巷长", v1["2座"]), ("巷长.csv", "巷长", v1["4座"]),
        ("巷长.csv", "街长", person_id("桂南社区", "司马相如", "", "5座", "翠林家园"))]
    assert by_file[7][2] != v1["4座"]


def test_person_id_depends_on_the_salt(monkeypatch: pytest.MonkeyPatch):
    base = person_id("桂南社区", "陈大文", "13800138000", None, None)
    assert base.startswith("P") and len(base) == 16 and "13800138000" not in base
    monkeypatch.setenv("CHUANGSHU_SALT", "another-installation")
    reset_salt_cache()
    try:
        assert person_id("桂南社区", "陈大文", "13800138000", None, None) != base
    finally:
        monkeypatch.setenv("CHUANGSHU_SALT", "test-salt")
        reset_salt_cache()
    assert person_id("桂南社区", "陈大文", "13800138000", None, None) == base


# ------------------------------------------------------------------ command line

def test_cli_load_exit_codes_and_summary(tmp_path: Path, capsys: pytest.CaptureFixture):
    db = tmp_path / "out" / "t.duckdb"
    (tmp_path / "in").mkdir()
    write_csv(tmp_path / "in" / "a.csv", [HEADER, ["A-1", "桂南", None, "卫生", "2021-03-01"],
                                          ["A-2", "桂北", None, "卫生", "2021-03-01"]])
    write_xlsx(tmp_path / "in" / "b.xlsx", {"S": [["标题"], HEADER, ["B-1", "桂南", None, "卫生", "2021-03-01"]]})
    (tmp_path / "in" / "readme.md").write_text("not a ledger")
    (tmp_path / "in" / "~$b.xlsx").write_bytes(b"excel lock file")

    assert cli(["load", str(tmp_path / "in"), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "a.csv" in out and "b.xlsx" in out and "readme" not in out and "~$" not in out
    assert "合计 2 个文件：读取 3 行，新增 2，变更 0，未变 0，移除 0，退回 1。" in out
    assert f"已发布数据库 {db}（版本 1）" in out

    assert cli(["load", str(tmp_path / "in"), "--db", str(db), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert out.count("未变化") == 2 and "没有变化，数据库未改动。" in out

    bad = tmp_path / "bad.xlsx"
    bad.write_bytes(b"")
    assert cli(["load", str(bad), str(tmp_path / "in" / "a.csv"), "--db", str(db), "--quiet"]) == 1
    out = capsys.readouterr().out
    assert "无法读取" in out and "文件为空（0 字节）" in out and "（版本 2）" in out

    assert cli(["load", str(tmp_path / "nowhere"), "--db", str(db), "--quiet"]) == 2
    assert "找不到：" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert cli(["load", str(tmp_path / "empty"), "--db", str(db), "--quiet"]) == 2
    assert "没有找到台账文件" in capsys.readouterr().err

    (tmp_path / "in2").mkdir()
    write_csv(tmp_path / "in2" / "a.csv", [HEADER, ["A-9", "桂南", None, "卫生", "2021-03-01"]])
    assert cli(["load", str(tmp_path / "in"), str(tmp_path / "in2"), "--db", str(db), "--quiet"]) == 2
    assert "同一批次中有重名文件：a.csv" in capsys.readouterr().err
    assert query(db, "SELECT case_id FROM cases ORDER BY 1") == [("A-1",), ("B-1",)]


def test_cli_as_a_module(tmp_path: Path):
    path = write_csv(tmp_path / "a.csv", [HEADER, ["A-1", "桂南", None, "卫生", "2021-03-01"]])
    env = {**os.environ, "CHUANGSHU_SALT": "test-salt", "CHUANGSHU_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "etl", "load", str(path), "--db", str(tmp_path / "t.duckdb")],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "合计 1 个文件：读取 1 行，新增 1，变更 0，未变 0，移除 0，退回 0。" in run.stdout
    assert query(tmp_path / "t.duckdb", "SELECT case_id FROM cases") == [("A-1",)]


# ------------------------------------------------------------------ property: nothing lost silently

ROW_KINDS = {  # a row a clerk might write -> True if it must load, False if it must be rejected
    "ok": (lambda i: [f"P-{i}", "桂南", "", "卫生", "2021-03-05"], True),
    "ok_text_date": (lambda i: [f"P-{i}", "桂南社区", "新苑", "纠纷", "2021年3月5日"], True),
    "bad_date": (lambda i: [f"P-{i}", "桂南", "", "卫生", "2021-02-30"], False),
    "bad_community": (lambda i: [f"P-{i}", "桂北", "", "卫生", "2021-03-05"], False),
    "no_id": (lambda i: ["", "桂南", "新苑", "卫生", "2021-03-05"], False),
    "no_category": (lambda i: [f"P-{i}", "桂南", "", "", "2021-03-05"], False),
}


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.integers(0, 4),
       body=st.lists(st.sampled_from([*ROW_KINDS, "blank"]), max_size=25),
       footer=st.booleans(),
       as_excel=st.booleans())
def test_every_row_is_kept_or_rejected_by_its_row_number(tmp_path: Path, titles, body, footer, as_excel):
    rows: list[list] = [[f"标题{i}"] for i in range(titles)] + [HEADER[:5]]
    expected: dict[int, bool] = {}
    for i, kind in enumerate(body):
        if kind == "blank":
            rows.append([])
            continue
        make, loads = ROW_KINDS[kind]
        rows.append(make(i))
        expected[len(rows)] = loads
    if footer:
        rows += [["合计", f"共{len(expected)}条"], ["填表人：张三", "审核人：李四"]]
    name = "p.xlsx" if as_excel else "p.csv"
    path = write_xlsx(tmp_path / name, {"S": rows}) if as_excel else write_csv(tmp_path / name, rows)
    parsed = parse_file(path, REF, today=TODAY)
    assert parsed.error is None
    kept = [] if "cases" not in parsed.records else parsed.records["cases"]["source_row"].to_pylist()
    rejected = [r.row_number for r in parsed.rejects]
    assert sorted(kept + rejected) == sorted(expected)
    assert sorted(kept) == sorted(n for n, ok in expected.items() if ok)
    assert all(r.reason() for r in parsed.rejects)
    assert parsed.rows_read == len(expected)


def test_two_readers_of_one_file_share_its_locked_instance(sample_db: Path) -> None:
    """A second reader of the same published file (the briefing writer beside the pages) gets the
    process's open DuckDB instance: already configured and locked, not an error."""
    for reader in (PublishedDatabase(sample_db), PublishedDatabase(sample_db)):
        cur = reader.cursor()
        try:
            assert cur.execute("SELECT count(*) FROM cases").fetchone()[0] > 0
            with pytest.raises(duckdb.Error, match="locked"):
                cur.execute("SET memory_limit = '64GB'")
        finally:
            cur.close()
