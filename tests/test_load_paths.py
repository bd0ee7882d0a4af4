"""The loader's two ways through each step give the same result: rows and frames, one sheet and
several, Python and DuckDB for ids and repeated keys (tests/test_load_oracle.py checks whole loads)."""
from __future__ import annotations

import csv
import io
import random
import time
from datetime import date

import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.load_oracle import _csv_text, _edge_rows
from etl import pipeline, privacy
from etl.extract import read_csv_grid
from etl.header import find_header, grid_rows
from etl.kinds import BY_NAME
from etl.reference import load_reference
from etl.transform import Rows, sheet_region, transform

REF = load_reference()
TODAY = date(2026, 11, 27)


def _records(result) -> tuple[list[dict], list[tuple[int, list[str]]]]:
    rejects = [(row, [p.message() for p in problems]) for row, problems in result.rejects]
    return result.records.to_pylist(), rejects


@pytest.mark.parametrize("repeat", [1, 90])
@pytest.mark.parametrize("kind", list(BY_NAME))
def test_rows_and_frames_give_the_same_records(kind: str, repeat: int) -> None:
    """The same CSV cells read as a frame (the CSV path) and as rows (a workbook's path); repeated
    90 times, the CSV path checks its text columns once per distinct value (REPEATS_FROM rows)."""
    table = _edge_rows()[kind]
    text = _csv_text([table[0], *[r for _ in range(repeat) for r in table[1:]]])
    frame = read_csv_grid(text.encode("utf-8"))
    rows = [list(r) for r in csv.reader(io.StringIO(text))]
    width = max(map(len, rows))
    rows = [r + [""] * (width - len(r)) for r in rows]
    match, _ = find_header(grid_rows(rows))
    region_rows, region_frame = sheet_region(rows, match), sheet_region(frame, match)
    assert isinstance(region_rows, Rows) and not isinstance(region_frame, Rows)
    by_rows = transform(region_rows, match.kind, REF, TODAY)
    by_frame = transform(region_frame, match.kind, REF, TODAY)
    assert by_rows.records.schema == by_frame.records.schema
    assert _records(by_rows) == _records(by_frame) and by_rows.rows_read == by_frame.rows_read


def _workbook_rows(kind: str) -> list[list[object]]:
    return [list(r) for r in _edge_rows()[kind]]


@pytest.mark.parametrize("kind", list(BY_NAME))
def test_sheets_transformed_together_equal_one_by_one(kind: str) -> None:
    """Rows.join: the sheets of one kind in a file in one transform give each sheet's records and rejects."""
    table = _workbook_rows(kind)
    sheets = {"一": table[:4], "二": [table[0], *table[4:]], "三": [table[0][:-1], *[r[:-1] for r in table[1:3]]]}
    parts, singles = [], []
    for name, grid in sheets.items():
        match, _ = find_header(grid_rows(grid))
        region = sheet_region(grid, match)
        parts.append((name, region))
        result = transform(region, match.kind, REF, TODAY)
        singles.append((name, result))
    joined = Rows.join(parts)
    together = transform(joined, BY_NAME[kind], REF, TODAY)
    expected_records = [dict(r, source_sheet=name) for name, result in singles for r in result.records.to_pylist()]
    assert together.records.to_pylist() == expected_records
    expected_rejects = [(name, row, [p.message() for p in problems])
                        for name, result in singles for row, problems in result.rejects]
    got = [(parts[joined.sheet_index(pos)][0], row, [p.message() for p in problems])
           for pos, (row, problems) in zip(together.reject_positions, together.rejects)]
    assert got == expected_rejects


KEY_VALUES = st.sampled_from(["a", "b", "桂南社区", "", None])


@settings(max_examples=100, deadline=None)
@given(rows=st.lists(st.tuples(KEY_VALUES, KEY_VALUES), max_size=60))
def test_repeated_keys_by_duckdb_equal_the_python_dict(rows) -> None:
    table = pa.table({"k1": pa.array([r[0] for r in rows], pa.large_string()),
                      "k2": pa.array([r[1] for r in rows], pa.large_string())})
    small = pipeline._first_of_keys(table, ["k1", "k2"])
    saved = pipeline.PYTHON_KEYS_UP_TO
    pipeline.PYTHON_KEYS_UP_TO = -1
    try:
        large = pipeline._first_of_keys(table, ["k1", "k2"])
    finally:
        pipeline.PYTHON_KEYS_UP_TO = saved
    assert large == small


TEXT = st.text(alphabet=st.sampled_from(list("ab 桂南社区张三１２|/😀é\u0301")), max_size=8)


@settings(max_examples=50, deadline=None)
@given(rows=st.lists(st.tuples(TEXT, TEXT, st.one_of(TEXT, st.none()), st.one_of(TEXT, st.none()),
                               st.one_of(TEXT, st.none())), min_size=1, max_size=30))
def test_ids_hashed_by_duckdb_equal_pythons(rows) -> None:
    """person_id and the organisation/activity ids: DuckDB's sha256 gives Python's digests."""
    columns = [pa.array([r[i] for r in rows], pa.large_string()) for i in range(5)]
    python = privacy.person_id_array(*columns).to_pylist()
    joined = pa.array(["|".join(str(v) for v in r) for r in rows], pa.large_string())
    python_ids = privacy.joined_id_array("A", joined).to_pylist()
    saved = privacy.DUCKDB_FROM
    privacy.DUCKDB_FROM = 0
    try:
        assert privacy.person_id_array(*columns).to_pylist() == python
        assert privacy.joined_id_array("A", joined).to_pylist() == python_ids
    finally:
        privacy.DUCKDB_FROM = saved
    assert python == privacy.person_ids(*[[r[i] for r in rows] for i in range(5)])


def test_a_big_file_takes_the_duckdb_paths_and_loads_the_same(tmp_path) -> None:
    """Above the thresholds (ids from 1,000 rows, repeated keys from 5,000) a file still gives the rows
    the per-row functions give."""
    from etl.privacy import stable_id

    rnd = random.Random(7)
    header = ["活动名称", "社区", "类型", "活动日期", "参与人数"]
    lines = [header] + [[f"活动{i}", rnd.choice(["桂南", "同德社区"]), "志愿服务",
                         f"2021-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}", str(i % 90)] for i in range(6000)]
    lines.append(list(lines[10]))  # a repeated key
    path = tmp_path / "活动.csv"
    path.write_text("\n".join(",".join(r) for r in lines) + "\n", encoding="utf-8")
    parsed = pipeline.parse_file(path, REF, today=TODAY, limits=None)
    records = parsed.records["activities"].to_pylist()
    assert len(records) == 6000 and [r.row_number for r in parsed.rejects] == [6002]
    for r in records[:50]:
        assert r["activity_id"] == stable_id("A", r["community"], r["name"], r["held_on"])


def test_which_keys_name_their_community() -> None:
    from etl.load import key_names_community

    assert {k.name: key_names_community(k) for k in BY_NAME.values()} == {
        "cases": True, "volunteers": True, "organizations": True, "micro_projects": False, "activities": True}


def test_a_resent_file_that_moved_to_new_communities(tmp_path) -> None:
    """The new-communities path: the earlier version's rows count as removed, the new ones as new."""
    from conftest import query, write_csv

    from etl.load import load_files

    head = ["事项编号", "社区", "类别", "登记日期"]
    path = write_csv(tmp_path / "事项.csv", [head, ["A-1", "桂南", "治安", "2021-03-01"],
                                            ["A-2", "桂南", "治安", "2021-03-02"]])
    other = write_csv(tmp_path / "其他.csv", [head, ["B-1", "同德", "治安", "2021-03-01"]])
    db = tmp_path / "t.duckdb"
    load_files([path, other], db, today=TODAY)
    write_csv(path, [head, ["A-1", "凤鸣", "治安", "2021-03-01"], ["A-3", "凤鸣", "治安", "2021-03-05"],
                     ["A-4", "凤鸣", "治安", "2021-03-06"]])
    report = load_files([path], db, today=TODAY)
    (summary,) = report.files
    assert (summary.new, summary.changed, summary.unchanged, summary.removed) == (3, 0, 0, 2)
    assert query(db, "SELECT community, case_id FROM cases ORDER BY ALL") == [
        ("凤鸣社区", "A-1"), ("凤鸣社区", "A-3"), ("凤鸣社区", "A-4"), ("同德社区", "B-1")]


def test_the_private_copy_is_the_published_file(tmp_path) -> None:
    """copy_database: a reflink where the filesystem clones files, else the bytes; either way the same file."""
    from etl.load import copy_database

    src = tmp_path / "a.duckdb"
    src.write_bytes(bytes(range(256)) * 5000)
    dst = tmp_path / "b.duckdb"
    dst.write_bytes(b"old")
    assert copy_database(src, dst) in ("reflink", "copy")
    assert dst.read_bytes() == src.read_bytes()


@pytest.mark.parametrize(("rows", "cores", "load", "threads"), [
    (14_000, 8, 0.0, 1),        # the sample: one thread whatever the machine
    (1_400_000, 2, 1.0, 2),     # idle machine (the load itself is the one running job): every core
    (1_400_000, 2, 2.0, 1),     # one other busy job on two cores
    (1_400_000, 2, 7.5, 1),     # a crowded machine: never fewer than one
    (1_400_000, 16, 4.0, 13),
])
def test_duckdb_threads_for_a_load(rows: int, cores: int, load: float, threads: int) -> None:
    from etl.load import load_threads

    assert load_threads(rows, cores, load) == threads


@pytest.mark.parametrize(("rows", "cores", "others", "load", "threads"), [
    (14_000, 8, 0.0, 0.0, 1),         # the sample: one thread whatever the machine
    (2_850_000, 2, 0.02, 2.3, 2),     # a 1000× group after the loads before it: the load average lags, the machine is free
    (2_850_000, 2, 0.76, 1.1, 1),     # another job took three quarters of a core while this load parsed
    (2_850_000, 2, 0.49, 1.0, 2),
    (2_850_000, 2, 1.9, 0.5, 1),      # never fewer than one
    (2_850_000, 16, 3.2, 9.0, 13),    # a big server: what the others leave
])
def test_duckdb_threads_from_what_other_jobs_used(rows: int, cores: int, others: float, load: float,
                                                  threads: int) -> None:
    from etl.load import load_threads

    assert load_threads(rows, cores, load, others) == threads


def test_what_other_jobs_used_while_a_load_parsed() -> None:
    from etl.load import CpuClock, cpu_clock, others_busy

    start = CpuClock(wall=100.0, busy=1000.0, own=50.0)
    assert others_busy(start, CpuClock(wall=110.0, busy=1018.0, own=65.0)) == pytest.approx(0.3)
    assert others_busy(start, CpuClock(wall=110.0, busy=1010.0, own=65.0)) == 0.0  # (tick rounding: never below 0)
    assert others_busy(start, CpuClock(wall=100.5, busy=1001.0, own=50.2)) is None  # too short to tell
    assert others_busy(None, start) is None and others_busy(start, None) is None
    before = cpu_clock()
    assert before is not None  # Linux: /proc/stat
    spin = time.process_time() + 0.3
    while time.process_time() < spin:  # this process's own work: not another job's
        pass
    after = cpu_clock()
    assert after.own - before.own >= 0.3 and after.busy - before.busy >= 0.2


def test_the_load_sets_its_threads_from_the_clock(monkeypatch: pytest.MonkeyPatch) -> None:
    import duckdb
    import pyarrow as pa

    from etl import load

    con = duckdb.connect()
    con.execute("SET threads = 1")
    con.execute("BEGIN")
    load.create_schema(con, "")
    staged = load.Staged()
    staged.frames["cases"] = [pa.table({"n": pa.array(range(load.SMALL_LOAD))})]
    start = load.CpuClock(wall=0.0, busy=0.0, own=0.0)
    monkeypatch.setattr(load.os, "cpu_count", lambda: 2)
    monkeypatch.setattr(load, "cpu_clock", lambda: load.CpuClock(wall=10.0, busy=19.0, own=18.8))
    assert load._size_threads(con, staged, start) == 2
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 2
    monkeypatch.setattr(load, "cpu_clock", lambda: load.CpuClock(wall=10.0, busy=19.0, own=9.0))  # others: 1 core
    assert load._size_threads(con, staged, start) == 1
    assert con.execute("SELECT current_setting('threads')").fetchone()[0] == 1
    con.close()


ARROW_DATES = ["2021-03-05", "2021/3/5", "2021.3.5", "2021年3月5日", "2021年3月5", "2021-3/5", "2021年12月31日",
               "2020-02-29", "2000-01-01", "2026-11-27"]
PYTHON_DATES = ["2021-02-29", "2021-04-31", "2021-0-5", "2021-13-01", "2021-1-00", "0000-01-01", "2021-003-05",
                "1999-12-31", "2026-11-28", "9999/12/31",  # invalid or out of range: parse_date says why
                "2021/03/05 ", "２０２１-03-05", "2021/3/5 10:00", "20210305", "44000", "21-3-5", "2021年3月5日日", ""]


@pytest.mark.parametrize(("text", "by_arrow"), [(t, True) for t in ARROW_DATES] + [(t, False) for t in PYTHON_DATES])
def test_plain_dates_by_arrow_equal_parse_date(text: str, by_arrow: bool) -> None:
    """The CSV path's Arrow dates give what parse_date gives, and leave every other text to it."""
    from etl.errors import CellError
    from etl.transform import _date_in_range, _plain_dates

    parsed, given = _plain_dates(TODAY)(pa.array([text], pa.large_string()))
    assert bool(given[0]) == by_arrow
    if by_arrow:
        assert parsed.to_pylist() == [_date_in_range(text, TODAY)]
    else:
        assert parsed.to_pylist() == [None]
        try:
            _date_in_range(text, TODAY)
        except CellError:
            pass
