"""Faults around a load (issue 16 item 7): leftovers of killed loads are removed by the next load
(only those whose process is gone), and disk-full or permission faults end in a Chinese message
with the database unchanged and no partial file."""
from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

import hostile_files as h
from conftest import query

import etl.load
from etl.__main__ import main as cli
from etl.api import LoadFailed, load_files
from etl.load import building_path, process_alive, remove_leftovers

ROOT = Path(__file__).resolve().parent.parent
DISK_FULL = "磁盘空间不足，本次载入已取消，数据库未改动；请清理数据目录所在的磁盘后重试"


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def leftovers(db: Path) -> list[str]:
    return sorted(p.name for p in db.parent.iterdir() if ".building-" in p.name)


@pytest.fixture
def db(tmp_path: Path) -> Path:
    """A small published database (one good file loaded)."""
    path = tmp_path / "t.duckdb"
    good = tmp_path / h.good_csv()[0]
    good.write_bytes(h.good_csv()[1])
    assert load_files([good], path).published
    return path


def another_file(tmp_path: Path) -> Path:
    path = tmp_path / "桂南社区_新.csv"
    path.write_bytes(h.csv_bytes([h.HEADER, ["N-1", "桂南", "", "卫生", "2021-04-01", ""]]))
    return path


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    assert not process_alive(child.pid)
    return child.pid


# ------------------------------------------------------------------ leftovers

def test_the_next_load_removes_leftovers_of_dead_loads_only(db: Path, tmp_path: Path) -> None:
    gone = building_path(db, dead_pid())
    gone.write_bytes(b"half a database")
    gone.with_name(gone.name + ".wal").write_bytes(b"wal")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        alive = building_path(db, sleeper.pid)
        alive.write_bytes(b"someone else's")
        unrelated = db.with_name(f".{db.name}.building-notapid")
        unrelated.write_bytes(b"not ours to judge")
        report = load_files([another_file(tmp_path)], db)
        assert sorted(report.cleaned) == sorted([gone.name, gone.name + ".wal"])
        assert leftovers(db) == sorted([alive.name, unrelated.name])
    finally:
        sleeper.kill()
        sleeper.wait()
    assert query(db, "SELECT case_id FROM cases ORDER BY 1") == [("G-1",), ("G-2",), ("N-1",)]


def test_the_cli_says_it_cleaned_up(db: Path, tmp_path: Path, data_dir: Path,
                                    capsys: pytest.CaptureFixture) -> None:
    building_path(db, dead_pid()).write_bytes(b"x")
    assert cli(["load", str(another_file(tmp_path)), "--db", str(db), "--quiet"]) == 0
    assert "已清理 1 个中断的载入留下的临时文件。" in capsys.readouterr().out
    assert leftovers(db) == []


def test_a_zombie_counts_as_gone() -> None:
    child = subprocess.Popen(["true"])
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # exited, not yet reaped: a zombie
        try:
            with open(f"/proc/{child.pid}/stat", "rb") as fh:
                if fh.read().rsplit(b")", 1)[-1].split()[0] == b"Z":
                    break
        except OSError:
            break
        time.sleep(0.01)
    assert not process_alive(child.pid)
    child.wait()
    assert process_alive(os.getpid()) and not process_alive(0) and not process_alive(-1)


def _big_ledger(tmp_path: Path, rows: int = 150_000) -> Path:
    path = tmp_path / "桂南社区_大台账.csv"
    body = "".join(f"K-{i},桂南,,卫生,2021-03-01,\n" for i in range(rows))
    path.write_bytes((",".join(h.HEADER) + "\n" + body).encode())
    return path


def _start_and_signal(db: Path, tmp_path: Path, sig: int) -> tuple[int, subprocess.CompletedProcess]:
    """Start a CLI load of a big file and send ``sig`` while its private copy exists: (pid, result)."""
    env = {**os.environ, "CHUANGSHU_SALT": "test-salt", "CHUANGSHU_DATA_DIR": str(tmp_path / "data")}
    (tmp_path / "data").mkdir(exist_ok=True)
    proc = subprocess.Popen([sys.executable, "-m", "etl", "load", str(_big_ledger(tmp_path)), "--db", str(db),
                             "--quiet"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    building = building_path(db, proc.pid)
    deadline = time.monotonic() + 120
    while not building.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert building.exists(), "the load finished (or never started) before it could be interrupted"
    time.sleep(0.2)  # into the parsing
    proc.send_signal(sig)
    out, err = proc.communicate(timeout=120)
    return proc.pid, subprocess.CompletedProcess(proc.args, proc.returncode, out, err)


def test_a_load_killed_mid_way_leaves_its_copy_and_the_next_load_removes_it(db: Path, tmp_path: Path) -> None:
    before = digest(db)
    pid, run = _start_and_signal(db, tmp_path, signal.SIGKILL)
    assert run.returncode == -signal.SIGKILL
    left = leftovers(db)
    assert building_path(db, pid).name in left and all(x.startswith(building_path(db, pid).name) for x in left)
    assert digest(db) == before  # the published database was never touched
    report = load_files([another_file(tmp_path)], db)
    assert sorted(report.cleaned) == left and leftovers(db) == []
    assert query(db, "SELECT count(*) FROM cases WHERE case_id LIKE 'K-%'") == [(0,)]


def test_sigterm_ends_a_cli_load_without_leaving_anything(db: Path, tmp_path: Path) -> None:
    before = digest(db)
    _, run = _start_and_signal(db, tmp_path, signal.SIGTERM)
    assert run.returncode == 128 + signal.SIGTERM, run.stderr
    assert run.stderr.strip() == "载入已中止（收到终止信号），数据库未改动。"
    assert leftovers(db) == [] and digest(db) == before


# ------------------------------------------------------------------ disk full and similar faults

def _enospc_copy(src, dst, *a, **k):
    """shutil.copyfile on a full disk: half the file written, then ENOSPC."""
    data = Path(src).read_bytes()
    Path(dst).write_bytes(data[: len(data) // 2])
    raise OSError(errno.ENOSPC, "No space left on device")


FAULTS = {  # where it happens -> (what to patch, replacement, Chinese message)
    "copying the database": (shutil, "copyfile", _enospc_copy, DISK_FULL),
    "writing the new version (DuckDB)": (
        etl.load.marts, "build",
        lambda con, **kw: (_ for _ in ()).throw(duckdb.IOException('Could not write file "x": No space left on device')),
        DISK_FULL),
    # what a real full disk gave (tmpfs with room for the copy only): DuckDB's checkpoint fails as a FatalException
    "checkpointing the new version (DuckDB fatal)": (
        etl.load.marts, "build",
        lambda con, **kw: (_ for _ in ()).throw(duckdb.FatalException(
            'FATAL Error: Failed to create checkpoint because of error: Could not write file "x": '
            "No space left on device")),
        DISK_FULL),
    "syncing before publishing": (
        etl.load, "_fsync", lambda path: (_ for _ in ()).throw(OSError(errno.ENOSPC, "No space left on device")),
        DISK_FULL),
    "a read-only data folder": (
        shutil, "copyfile", lambda *a, **k: (_ for _ in ()).throw(PermissionError(errno.EROFS, "Read-only file system")),
        "没有写入数据目录的权限（或磁盘为只读），本次载入已取消，数据库未改动；请检查数据目录的权限后重试"),
    "an I/O error": (
        shutil, "copyfile", lambda *a, **k: (_ for _ in ()).throw(OSError(errno.EIO, "Input/output error")),
        "读写数据目录时出错（系统错误 EIO），本次载入已取消，数据库未改动；请检查磁盘后重试"),
}


@pytest.mark.parametrize("where", FAULTS)
def test_a_fault_ends_in_a_chinese_message_and_no_partial_file(where: str, db: Path, tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    target, name, replacement, message = FAULTS[where]
    before, files_before = digest(db), sorted(p.name for p in tmp_path.iterdir())
    monkeypatch.setattr(target, name, replacement)
    with pytest.raises(LoadFailed) as caught:
        load_files([another_file(tmp_path)], db)
    assert str(caught.value) == message
    assert digest(db) == before and leftovers(db) == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted({*files_before, "桂南社区_新.csv"})


def test_the_cli_reports_a_full_disk_in_chinese(db: Path, tmp_path: Path, data_dir: Path,
                                                monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture):
    monkeypatch.setattr(shutil, "copyfile", _enospc_copy)
    assert cli(["load", str(another_file(tmp_path)), "--db", str(db), "--quiet"]) == 2
    captured = capsys.readouterr()
    assert captured.err.strip() == DISK_FULL and "Traceback" not in captured.err + captured.out
    assert leftovers(db) == []


PREVIEW_FAULTS = {  # where it happens -> (what to patch, replacement)
    "copying the database": (shutil, "copyfile", _enospc_copy),
    "writing the staged rows (DuckDB fatal)": (
        etl.load, "flush",
        lambda con, staged: (_ for _ in ()).throw(duckdb.FatalException(
            'FATAL Error: Failed to create checkpoint because of error: Could not write file "x": '
            "No space left on device"))),
}


@pytest.mark.parametrize("where", PREVIEW_FAULTS)
def test_a_preview_on_a_full_disk_says_so(where: str, db: Path, tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from chuangshu.intake import preview_uploads

    monkeypatch.setattr(*PREVIEW_FAULTS[where])
    with pytest.raises(LoadFailed, match="^磁盘空间不足，预览未完成，数据库未改动；请清理数据目录所在的磁盘后重试$"):
        new = another_file(tmp_path)
        preview_uploads([(new.name, new.read_bytes())], db)


def test_scratch_folders_of_dead_previews_are_removed(db: Path, tmp_path: Path) -> None:
    import tempfile

    from chuangshu.intake import preview_uploads

    gone = Path(tempfile.mkdtemp(prefix=f"chuangshu-preview-{dead_pid()}-"))
    (gone / "preview.duckdb").write_bytes(b"half")
    mine = Path(tempfile.mkdtemp(prefix=f"chuangshu-preview-{os.getpid()}-"))  # a live process's: kept
    try:
        new = another_file(tmp_path)
        assert preview_uploads([(new.name, new.read_bytes())], db).files[0].status == "可载入"
        assert not gone.exists() and mine.exists()
    finally:
        shutil.rmtree(mine, ignore_errors=True)
        shutil.rmtree(gone, ignore_errors=True)
