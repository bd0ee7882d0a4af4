"""Shared test setup: a fixed salt, a private data folder, and tiny ledger builders.

Ledger fixtures are written per test into ``tmp_path`` (a few rows each), so every edge
case is a small, readable table in the test itself.
"""
from __future__ import annotations

import csv
import io
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

os.environ["CHUANGSHU_SALT"] = "test-salt"

import duckdb  # noqa: E402
import pytest  # noqa: E402
import xlsxwriter  # noqa: E402

from etl.privacy import reset_salt_cache  # noqa: E402

reset_salt_cache()

FIXTURES = Path(__file__).parent / "fixtures"
CASE_HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty data folder (database, sample, local state) private to one test."""
    folder = tmp_path / "data"
    folder.mkdir()
    monkeypatch.setenv("CHUANGSHU_DATA_DIR", str(folder))
    monkeypatch.delenv("CHUANGSHU_DB", raising=False)
    monkeypatch.delenv("CHUANGSHU_SAMPLE_DIR", raising=False)
    return folder


def write_xlsx(path: Path, sheets: dict[str, Sequence[Sequence[Any]]],
               merges: dict[str, Sequence[str]] | None = None) -> Path:
    """A workbook with one sheet per entry; row 0 of each list is spreadsheet row 1.

    Dates and datetimes become real Excel dates; merges are ranges such as "A1:F1"
    (the first cell keeps the text, as Excel does).
    """
    workbook = xlsxwriter.Workbook(str(path))
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for name, rows in sheets.items():
        sheet = workbook.add_worksheet(name)
        for r, row in enumerate(rows):
            for c, value in enumerate(row):
                if value is None:
                    continue
                if hasattr(value, "year") and hasattr(value, "day"):
                    sheet.write_datetime(r, c, value, date_format)
                else:
                    sheet.write(r, c, value)
        for rng in (merges or {}).get(name, ()):
            first = rows[_cell_row(rng)][0] if rows else ""
            sheet.merge_range(rng, first)
    workbook.close()
    return path


def _cell_row(rng: str) -> int:
    return int("".join(ch for ch in rng.split(":")[0] if ch.isdigit())) - 1


def write_csv(path: Path, rows: Sequence[Sequence[Any]], encoding: str = "utf-8") -> Path:
    """A CSV with one physical line per row (an empty row is an empty line)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for row in rows:
        if row:
            writer.writerow(["" if v is None else v for v in row])
        else:
            buffer.write("\r\n")
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def query(db: Path, sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    """Run one read-only query on a database file and close it again (loads swap the file)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql, list(params)).fetchall()
    finally:
        con.close()


# --- the sample database, built once per test session by the real generator and loader ---

@pytest.fixture(scope="session")
def sample_ledgers(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled sample ledgers (seed 2022), generated once per session."""
    from etl.sample import generate

    folder = tmp_path_factory.mktemp("sample") / "ledgers"
    generate(folder, seed=2022)
    return folder


@pytest.fixture(scope="session")
def sample_db(sample_ledgers: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A database built from the sample by the real ETL (dataset = sample)."""
    from etl.extract import ledger_files
    from etl.load import load_files

    db = tmp_path_factory.mktemp("db") / "sample.duckdb"
    load_files(ledger_files([sample_ledgers]), db, dataset="sample")
    return db


@pytest.fixture(scope="session", autouse=True)
def no_configured_users(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Tests never read a developer's .streamlit/secrets.toml: Streamlit reads an empty secrets
    file, so the app runs as the single local user unless a test configures users itself."""
    from streamlit import config

    empty = tmp_path_factory.mktemp("secrets") / "secrets.toml"
    empty.write_text("", encoding="utf-8")
    config.set_option("secrets.files", [str(empty)])
    os.environ["STREAMLIT_SECRETS_FILES"] = str(empty)  # for the servers the browser tests start
    return empty


@pytest.fixture(scope="module")
def cur(sample_db: Path):
    """A read-only cursor on the sample database (metric and deck tests)."""
    con = duckdb.connect(str(sample_db), read_only=True)
    yield con.cursor()
    con.close()


@pytest.fixture(scope="session")
def app_state_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Local state (saved queries, audit log) for app tests."""
    return tmp_path_factory.mktemp("state")


@pytest.fixture(scope="session")
def app_url(sample_db: Path, app_state_dir: Path):
    """A real Streamlit server on the sample database."""
    from appserver import AppServer

    server = AppServer(sample_db, app_state_dir)
    try:
        server.wait_healthy()
        yield server.url
    finally:
        server.close()


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    """Debian's chromium (never a downloaded browser), with the flags this network needs."""
    from appserver import CHROMIUM_ARGS

    return {**browser_type_launch_args, "executable_path": "/usr/bin/chromium", "args": CHROMIUM_ARGS}


@pytest.fixture
def nav_apptest(monkeypatch: pytest.MonkeyPatch):
    """Make AppTest rerun dashboard.py (st.navigation) on every run, as the real server does.

    AppTest resets Streamlit's "uses a pages/ directory" flag before each run, so with our
    pages/ folder every rerun after the first takes the legacy multipage path and runs the
    page script alone, without the entry point's sidebar filters. The server keeps the flag
    False once st.navigation has run; this fixture makes the legacy path run the entry point.
    """
    from streamlit.runtime.scriptrunner import script_runner

    def run_entry_point(main_script_path: str) -> None:
        code = compile(Path(main_script_path).read_text(encoding="utf-8"), main_script_path, "exec")
        exec(code, {"__name__": "__main__", "__file__": main_script_path})  # noqa: S102

    monkeypatch.setattr(script_runner, "_mpa_v1", run_entry_point)
