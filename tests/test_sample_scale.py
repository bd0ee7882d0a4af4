"""The scaled sample (etl.sample_scale): N copies of the sample's records, loadable with zero rejects."""
from __future__ import annotations

import csv
from pathlib import Path

import duckdb
import pytest

from chuangshu import metrics
from chuangshu.filters import Filters
from etl.__main__ import main as etl_main
from etl.kinds import BY_NAME
from etl.load import load_files
from etl.sample import build_truth
from etl.sample_model import load_reference
from etl.sample_scale import generate_scaled

SCALE = 2


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("scaled")
    written = generate_scaled(folder / "ledgers", scale=SCALE, seed=2022)
    report = load_files(written.paths(), folder / "scaled.duckdb")
    return written, report, folder / "scaled.duckdb"


def test_row_counts_are_n_times_the_sample(scaled) -> None:
    written, _, _ = scaled
    truth, _ = build_truth(load_reference(), 2022)
    for kind, n in written.rows.items():
        assert n == SCALE * len(getattr(truth, kind)), kind
        assert sum(rows for k, rows in written.files.values() if k == kind) == n
    for name, (kind, rows) in written.files.items():
        with open(written.out_dir / name, encoding="utf-8", newline="") as fh:
            lines = list(csv.reader(fh))
        assert lines[0] == [f.header for f in BY_NAME[kind].fields], name  # the template's headers
        assert len(lines) - 1 == rows, name
    assert len(written.files) == 5 * len(written.rows)  # a few files per kind, unique names


def test_loads_with_zero_rejects(scaled) -> None:
    written, report, db = scaled
    totals = report.totals()
    assert totals["rejected"] == 0
    assert totals["new"] == sum(written.rows.values())
    con = duckdb.connect(str(db), read_only=True)
    try:
        for kind, n in written.rows.items():
            assert con.execute(f"SELECT count(*) FROM {BY_NAME[kind].table}").fetchone()[0] == n, kind
        assert con.execute("SELECT count(*) FROM rejects").fetchone()[0] == 0
    finally:
        con.close()


def test_figures_are_n_times_the_sample_figures(scaled, sample_db: Path) -> None:
    _, _, db = scaled
    values = {}
    for path in (sample_db, db):
        con = duckdb.connect(str(path), read_only=True)
        try:
            values[path] = metrics.headline(con.cursor(), Filters()).set_index("key")["value"]
        finally:
            con.close()
    one, many = values[sample_db], values[db]
    for key in metrics.HEADLINE:
        assert many[key] == SCALE * one[key], key
    assert many["communities"] == one["communities"] == 45


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert etl_main(["sample", "--scale", "2", "--out", str(tmp_path)]) == 0
    assert "2 倍规模" in capsys.readouterr().out
    assert len(list(tmp_path.glob("cases_g*_x2.csv"))) == 5
