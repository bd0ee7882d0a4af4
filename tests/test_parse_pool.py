"""A load parses its files in turn, on threads or in forked workers, with the same rows (etl/parse_pool.py)."""
from __future__ import annotations

import gc
import os
import pickle
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bench import load_oracle as oracle
from etl import load, parse_pool
from etl.kinds import CASES, KINDS
from etl.parse_pool import parse_in_order, parse_processes, parse_workers

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = oracle.json.loads(oracle.FIXTURE.read_text(encoding="utf-8"))


@pytest.mark.parametrize(("sizes", "cores", "workers"), [
    ([80_000] * 25, 2, 0),          # the 1× CSVs (2 MiB): one thread
    ([750_000] * 25, 2, 2),         # 10× (18 MiB): two
    ([200 * 2**20], 1, 0),          # one core: one thread
    ([None, 17 * 2**20], 4, 2),     # an unreadable file counts nothing
])
def test_parse_workers_for_a_load(sizes, cores: int, workers: int) -> None:
    work = [(None, None if n is None else b"x" * n, None) for n in sizes]
    assert parse_workers(work, cores) == workers


@pytest.mark.parametrize(("files", "cores", "fork_ok", "processes"), [
    (216, 2, True, 2),     # the sample from the CLI on this machine kind: two workers
    (216, 16, True, 4),    # a big server: at most four (the loader stages their results on one thread)
    (216, 1, True, 0),     # one core: nothing to gain
    (216, 2, False, 0),    # the dashboard server (other threads run): never fork
    (7, 2, True, 0),       # an upload of a few files: forking costs more than it saves
    (8, 2, True, 2),
])
def test_parse_processes_for_a_load(files: int, cores: int, fork_ok: bool, processes: int) -> None:
    assert parse_processes([(Path(f"{i}.xlsx"), b"x", None) for i in range(files)], cores, fork_ok) == processes


@pytest.mark.parametrize(("sizes", "processes"), [
    ({".xlsx": [3 * 2**20] * 10}, 2),                      # many big workbooks: workers
    ({".csv": [2 * 2**20] * 10}, 0),                       # 20 MiB of CSV: two threads (parse_workers)
    ({".csv": [2**20] * 10, ".xlsx": [2**20] * 10}, 2),    # 10 MiB of CSV among workbooks: workers
])
def test_big_csvs_stay_on_threads(sizes: dict[str, list[int]], processes: int) -> None:
    work = [(Path(f"{s}-{i}{suffix}"), b"x" * s, None) for suffix, ns in sizes.items() for i, s in enumerate(ns)]
    assert parse_processes(work, 2, True) == processes


def test_only_a_process_with_no_other_thread_may_fork() -> None:
    code = ("import threading, time\nfrom etl.parse_pool import may_fork\nprint(may_fork())\n"
            "threading.Thread(target=time.sleep, args=(0.5,)).start()\nprint(may_fork())\n")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_files_come_back_in_order_whichever_way() -> None:
    def parse(n: int) -> int:
        time.sleep(0.001 * (n % 3))
        return n

    assert list(parse_in_order([(n,) for n in range(9)], parse, 2)) == list(range(9))
    assert list(parse_in_order([(n,) for n in range(3)], parse, 0)) == [0, 1, 2]


def test_a_catalogue_kind_comes_back_from_a_worker_as_the_same_object() -> None:
    for kind in KINDS:
        assert pickle.loads(pickle.dumps(kind)) is kind
    import dataclasses
    other = dataclasses.replace(CASES, title="测试用")  # a test catalogue's kind travels by value
    back = pickle.loads(pickle.dumps(other))
    assert back == other and back is not other


@pytest.fixture
def forked(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every load of two files or more parses them in two forked workers; the workers' count per load."""
    used: list[int] = []

    def two(work, *args) -> int:
        used.append(2 if len(work) >= 2 else 0)
        return used[-1]

    monkeypatch.setattr(load, "parse_processes", two)
    return used


@pytest.mark.parametrize("corpus", ["sample", "edge", "resend", "scaled:2"])
def test_forked_workers_store_the_reference_loaders_rows(corpus: str, forked: list[int], tmp_path: Path,
                                                         sample_ledgers: Path, data_dir: Path) -> None:
    reports, tables = oracle.load_corpus(corpus, tmp_path, sample=sample_ledgers if corpus == "sample" else None)
    assert 2 in forked  # (the test would pass in turn too: make sure the workers ran)
    expected = FIXTURE["corpora"][corpus]
    ours = oracle.digests(tables)
    assert {t: d for t, d in ours.items() if d != expected["tables"].get(t)} == {}
    assert set(ours) == set(expected["tables"])
    assert oracle.report_digest(reports) == expected["reports"]


def test_a_worker_that_dies_leaves_its_file_to_the_loader(forked: list[int], monkeypatch: pytest.MonkeyPatch,
                                                          tmp_path: Path, sample_ledgers: Path, data_dir: Path,
                                                          caplog: pytest.LogCaptureFixture) -> None:
    real = parse_pool._child_parse

    def dies_on_one(path, data, digest):
        if "桂园社区" in Path(path).name:  # killed (out of memory, say) in the middle of one file
            os._exit(9)
        return real(path, data, digest)

    monkeypatch.setattr(parse_pool, "_child_parse", dies_on_one)  # (the workers are forked: they inherit it)
    with caplog.at_level("WARNING", logger="etl.parse_pool"):
        reports, tables = oracle.load_corpus("sample", tmp_path, sample=sample_ledgers)
    assert any("parsing it in the loader" in r.getMessage() and "桂园社区" in r.getMessage() for r in caplog.records)
    expected = FIXTURE["corpora"]["sample"]
    assert oracle.digests(tables) == expected["tables"]
    assert oracle.report_digest(reports) == expected["reports"]


def test_the_cli_parses_in_workers(tmp_path: Path, sample_ledgers: Path) -> None:
    """`python -m etl load` of the sample forks its parse workers (two cores or more) and loads every file."""
    if parse_pool.cores() < 2:
        pytest.skip("one core: the CLI parses in turn")
    probe = ("import runpy, sys\nfrom etl import parse_pool\nreal = parse_pool.process_pool\n"
             "def seen(n, *a):\n    print('workers', n, file=sys.stderr)\n    return real(n, *a)\n"
             "parse_pool.process_pool = seen\nimport etl.load\netl.load.process_pool = seen\n"
             "sys.argv = ['etl', 'load', '--quiet', '--db', sys.argv[1], sys.argv[2]]\n"
             "runpy.run_module('etl', run_name='__main__')\n")
    env = {**os.environ, "CHUANGSHU_SALT": "test-salt", "CHUANGSHU_DATA_DIR": str(tmp_path)}
    done = subprocess.run([sys.executable, "-c", probe, str(tmp_path / "cli.duckdb"), str(sample_ledgers)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "workers 2" in done.stderr or "workers 3" in done.stderr or "workers 4" in done.stderr
    assert "216" in done.stdout or "216" in done.stderr


def test_the_loader_collects_as_before_once_its_workers_are_forked() -> None:
    """process_pool freezes the heap only for the fork: the workers' collector never walks the
    loader's objects, and the loader's own collector is back as it was (frozen or not) at once."""
    from etl.reference import load_reference

    ref = load_reference()
    gc.unfreeze()  # (a loader that froze nothing itself)
    with parse_pool.process_pool(2, ref, None, None) as pool:
        assert pool is not None
        assert gc.get_freeze_count() == 0
        assert pool.executor.submit(gc.get_freeze_count).result() > 0  # a worker's heap: frozen
    kept = [[i] for i in range(100)]
    gc.freeze()  # a server that froze its heap (chuangshu/heap.py) keeps it frozen
    try:
        with parse_pool.process_pool(2, ref, None, None):
            pass
        walked = {id(o) for o in gc.get_objects()}  # (the frozen generation is not listed)
        assert not walked & {id(o) for o in kept}
    finally:
        gc.unfreeze()


def test_workers_that_cannot_start_leave_the_files_to_the_loader(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                                                 sample_ledgers: Path, data_dir: Path) -> None:
    """No semaphores (a container without /dev/shm), no processes left: the load parses in turn."""
    def refused(*args, **kwargs):
        raise OSError(38, "Function not implemented")

    monkeypatch.setattr(load, "parse_processes", lambda work, *a: 2)
    monkeypatch.setattr(parse_pool, "ProcessPoolExecutor", refused)
    gc.unfreeze()
    reports, tables = oracle.load_corpus("sample", tmp_path, sample=sample_ledgers)
    assert oracle.digests(tables) == FIXTURE["corpora"]["sample"]["tables"]
    assert gc.get_freeze_count() == 0


def _scratch_state() -> tuple[bool, list[str]]:
    from etl import scratch

    fresh = scratch._con is None
    ids = scratch.column("SELECT md5(v) FROM t", t=__import__("pyarrow").table({"v": ["a", "b"]})).to_pylist()
    return fresh, ids


def test_a_worker_opens_its_own_scratch_duckdb() -> None:
    """The parent's scratch DuckDB (etl/scratch.py) came along with the fork but not its threads: a
    worker never uses it, it opens its own, and computes the same values."""
    from etl import scratch
    from etl.reference import load_reference

    parent = scratch.column("SELECT md5(v) FROM t", t=__import__("pyarrow").table({"v": ["a", "b"]})).to_pylist()
    assert scratch._con is not None
    with parse_pool.process_pool(2, load_reference(), None, None) as pool:
        fresh, ids = pool.executor.submit(_scratch_state).result(timeout=60)
    assert fresh and ids == parent
