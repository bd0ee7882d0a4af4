"""Rows inserted as their files are staged (etl.load.InsertAhead) end up exactly as the staged path
leaves them: every table and every per-file count, load after load, in the cases where a kind is
inserted ahead, where it is taken back half-way, and where it never qualifies."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from bench.load_oracle import CASE_HEADER, _csv_text, dump
from etl import load
from etl.kinds import BY_NAME

TODAY = date(2026, 11, 27)


def _case(case_id: str, community: str, reported: str, category: str = "治安", resolved: str = "") -> list[str]:
    return [case_id, community, "", category, reported, resolved, "", "", "", "", "", ""]


def _write(folder: Path, name: str, rows: list[list[str]]) -> Path:
    path = folder / name
    path.write_text(_csv_text([CASE_HEADER, *rows]), encoding="utf-8")
    return path


# Each scenario: loads in turn, each a list of (file name, case rows). The expected path per load:
# "ahead" (cases inserted ahead), "back" (inserted ahead, then taken back), "staged" (never ahead).
SCENARIOS = {
    "a key in two files of one load: the later file wins": [
        ([("a.csv", [_case("K-1", "桂南社区", "2021-03-01"), _case("K-2", "桂南社区", "2021-03-02")]),
          ("b.csv", [_case("K-1", "桂南社区", "2021-04-01", "环境卫生"), _case("K-3", "桂南社区", "2021-04-02")])],
         "ahead"),
    ],
    "a group of new communities, then a file of a stored one": [
        ([("g0.csv", [_case("K-1", "桂南社区", "2021-03-01")])], "ahead"),
        ([("g1.csv", [_case("K-1", "同德社区", "2021-03-01")]),
          ("g0b.csv", [_case("K-1", "桂南社区", "2021-05-01"), _case("K-9", "同德社区", "2021-05-02")])], "back"),
    ],
    "a stored community first: never ahead": [
        ([("g0.csv", [_case("K-1", "桂南社区", "2021-03-01")])], "ahead"),
        ([("g0b.csv", [_case("K-1", "桂南社区", "2021-03-01", "环境卫生")]),
          ("g1.csv", [_case("K-2", "同德社区", "2021-03-03")])], "staged"),
    ],
    "a resent file now naming only a new community": [
        ([("x.csv", [_case("K-1", "桂南社区", "2021-03-01"), _case("K-2", "桂南社区", "2021-03-05")]),
          ("y.csv", [_case("K-7", "同德社区", "2021-03-01")])], "ahead"),
        ([("x.csv", [_case("K-1", "灯湖社区", "2021-06-01")])], "ahead"),  # x's 桂南 rows go, 同德 stays
    ],
    "new groups, each with a key repeated across its files": [
        ([("g0.csv", [_case("K-1", "桂南社区", "2021-03-01")])], "ahead"),
        ([("g1.csv", [_case("K-1", "同德社区", "2021-03-01")]),
          ("g1b.csv", [_case("K-1", "同德社区", "2021-03-09", "环境卫生")])], "ahead"),
    ],
}


def _run(scenario, folder: Path, db: Path, ahead: bool, monkeypatch) -> tuple[list, dict, list[str]]:
    """Load every step; the reports, every table, and which path the cases took at each load."""
    paths_taken: list[str] = []
    offer = load.InsertAhead.offer
    state = {}

    def spy(self, con, kind, frame):
        if not ahead:
            return self.take_back(con, kind)
        offer(self, con, kind, frame)
        if self.inserted.get("cases"):
            state["inserted"] = True

    monkeypatch.setattr(load.InsertAhead, "offer", spy)
    finish = load._finish_ahead
    monkeypatch.setattr(load, "_finish_ahead", lambda con, kind, s, a: (state.__setitem__("finished", True),
                                                                          finish(con, kind, s, a))[1])
    reports = []
    for n, (files, _) in enumerate(scenario):
        step = folder / f"step{n}"
        step.mkdir()
        state.clear()
        report = load.load_files([_write(step, name, rows) for name, rows in files], db, today=TODAY)
        reports.append(sorted((f.file, f.status, f.new, f.changed, f.unchanged, f.removed, f.rejected)
                              for f in report.files))
        taken = "ahead" if state.get("finished") else "back" if state.get("inserted") else "staged"
        paths_taken.append(taken)
    return reports, dump(db), paths_taken


@pytest.mark.parametrize("batch", [1, load.AHEAD_ROWS])
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_inserting_ahead_stores_what_the_staged_path_stores(name: str, batch: int, tmp_path: Path,
                                                            monkeypatch) -> None:
    """Each file inserted as it is staged (batch 1), or these small files kept for one insert at flush."""
    scenario = SCENARIOS[name]
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.setattr(load, "AHEAD_ROWS", batch)
    ours = _run(scenario, tmp_path / "a", tmp_path / "a.duckdb", True, monkeypatch)
    monkeypatch.undo()
    staged = _run(scenario, tmp_path / "b", tmp_path / "b.duckdb", False, monkeypatch)
    if batch == 1:
        assert ours[2] == [path for _, path in scenario], "the scenario no longer takes the path it tests"
    else:  # nothing went in before the stored community turned up: never ahead
        assert ours[2] == [path.replace("back", "staged") for _, path in scenario]
    assert ours[0] == staged[0]
    assert ours[1] == staged[1]


def test_the_later_file_wins_and_counts_once(tmp_path: Path) -> None:
    scenario = SCENARIOS["a key in two files of one load: the later file wins"]
    files = [_write(tmp_path, name, rows) for name, rows in scenario[0][0]]
    report = load.load_files(files, tmp_path / "db.duckdb", today=TODAY)
    assert sorted((f.file, f.new) for f in report.files) == [("a.csv", 1), ("b.csv", 2)]
    con = duckdb.connect(str(tmp_path / "db.duckdb"), read_only=True)
    assert con.execute("SELECT case_id, category, source_file FROM cases ORDER BY case_id").fetchall() == [
        ("K-1", "环境卫生", "b.csv"), ("K-2", "治安", "a.csv"), ("K-3", "治安", "b.csv")]


def test_a_key_twice_in_one_batch_is_refused(tmp_path: Path) -> None:
    """Parsing keeps a file's first row of a key; should two reach the table anyway, the load stops."""
    con = duckdb.connect(str(tmp_path / "db.duckdb"))
    load.create_schema(con)
    kind = BY_NAME["cases"]
    row = ("('桂南社区', 'K-1', '治安', DATE '2021-03-05', 'a.csv', 'x', {b})")
    for batch in (1, 1):
        con.execute("INSERT INTO case_records (community, case_id, category, reported_on, source_file, row_hash, "
                    f"batch_id) VALUES {row.format(b=batch)}")
    ahead = load.InsertAhead(first_batch=1, types={}, empty={"cases"}, stored={}, inserted={"cases": 1})
    con.register("_files", duckdb.sql("SELECT 'a.csv' AS source_file").arrow())
    with pytest.raises(RuntimeError, match="内部错误：事项台账中键"):
        load._finish_ahead(con, kind, {"a.csv": load.FileSummary("a.csv", "已载入")}, ahead)


def test_a_big_file_is_inserted_on_every_core_and_the_stage_goes_back_to_one(tmp_path: Path, monkeypatch) -> None:
    """A file of SMALL_LOAD rows or more is inserted on the machine's cores (1000×: a group's cases
    file), the same rows; the rest of the stage stays on one DuckDB thread."""
    monkeypatch.setattr(load, "SMALL_LOAD", 2)
    monkeypatch.setattr(load, "AHEAD_ROWS", 1)
    seen = []
    insert = load._insert_from

    def spy(con, *a, **k):
        seen.append(con.execute("SELECT current_setting('threads')").fetchall()[0][0])
        return insert(con, *a, **k)

    monkeypatch.setattr(load, "_insert_from", spy)
    monkeypatch.setattr(load.os, "cpu_count", lambda: 2)
    files = [_write(tmp_path, "a.csv", [_case("K-1", "桂南社区", "2021-03-01"), _case("K-2", "桂南社区", "2021-03-02")]),
             _write(tmp_path, "b.csv", [_case("K-3", "桂南社区", "2021-03-03")])]
    after = []
    offer = load.InsertAhead.offer

    def offered(self, con, kind, frame):
        offer(self, con, kind, frame)
        after.append(con.execute("SELECT current_setting('threads')").fetchall()[0][0])

    monkeypatch.setattr(load.InsertAhead, "offer", offered)
    report = load.load_files(files, tmp_path / "db.duckdb", today=TODAY)
    assert seen == [2, 1] and after == [1, 1]  # (at flush the threads are what _size_threads set)
    assert sorted((f.file, f.new) for f in report.files) == [("a.csv", 2), ("b.csv", 1)]


def test_small_files_wait_to_go_in_together(tmp_path: Path, monkeypatch) -> None:
    """Rows wait until AHEAD_ROWS of them are staged (one statement for several small files); the
    rest go in at flush."""
    monkeypatch.setattr(load, "AHEAD_ROWS", 3)
    inserts = []
    insert = load._insert_from

    def spy(con, table, source, *a, **k):
        inserts.append(con.execute(f"SELECT count(*) FROM {source}").fetchall()[0][0])
        return insert(con, table, source, *a, **k)

    monkeypatch.setattr(load, "_insert_from", spy)
    files = [_write(tmp_path, f"{n}.csv", [_case(f"K-{n}a", "桂南社区", "2021-03-01"),
                                           _case(f"K-{n}b", "桂南社区", "2021-03-02")]) for n in range(3)]
    report = load.load_files(files, tmp_path / "db.duckdb", today=TODAY)
    assert inserts == [4, 2]
    assert sorted((f.file, f.new) for f in report.files) == [("0.csv", 2), ("1.csv", 2), ("2.csv", 2)]


def test_rows_inserted_ahead_count_once_when_sizing_the_threads(monkeypatch) -> None:
    """_size_threads counts the tables as the load found them plus the staged rows: rows already
    inserted ahead are not counted twice (a load just under SMALL_LOAD stays on one thread)."""
    import pyarrow as pa

    con = duckdb.connect()
    con.execute("BEGIN")
    load.create_schema(con)
    n = load.SMALL_LOAD - 1
    con.execute("INSERT INTO case_records (community, case_id, category, reported_on, source_file, row_hash, batch_id) "
                "SELECT '桂南社区', 'K-' || range, '治安', DATE '2021-03-05', 'a.csv', 'x', 1 FROM range(?)", [n])
    staged = load.Staged(ahead=load.InsertAhead(first_batch=1, types={}, empty={"cases"}, stored={}, stored_rows=0))
    staged.frames["cases"] = [pa.table({"n": pa.array(range(n))})]
    monkeypatch.setattr(load.os, "cpu_count", lambda: 2)
    idle = load.CpuClock(wall=0.0, busy=0.0, own=0.0)
    monkeypatch.setattr(load, "cpu_clock", lambda: load.CpuClock(wall=10.0, busy=0.0, own=0.0))
    assert load._size_threads(con, staged, idle) == 1
    staged.ahead.stored_rows = 1  # one stored row more: SMALL_LOAD rows in all
    assert load._size_threads(con, staged, idle) == 2


def test_progress_counts_a_file_when_it_is_staged(tmp_path: Path) -> None:
    """The CLI's bar knows the number of files and moves as each is staged, not when it is handed
    to a parse thread (several are parsed ahead of the one being staged)."""
    seen: list = []

    def progress(items):
        seen.append(len(items))
        for parsed in items:
            seen.append(parsed.name)
            yield parsed

    files = [_write(tmp_path, f"{n}.csv", [_case(f"K-{n}", "桂南社区", "2021-03-01")]) for n in range(3)]
    load.load_files(files, tmp_path / "db.duckdb", today=TODAY, progress=progress)
    assert seen == [3, "0.csv", "1.csv", "2.csv"]
