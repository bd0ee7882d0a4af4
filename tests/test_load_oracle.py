"""The loader stores exactly what the reference loader stored: every table, row for row.

tests/fixtures/load_oracle.json holds, per corpus (bench/load_oracle.py: the sample, edge-case
workbooks and CSVs in every reader's path, a resend with changed, removed and unchanged rows, and
the 2× scaled sample loaded one community group at a time then partly resent), a digest of each
table's sorted rows and of the per-file reports, written by the loader of the commit it names
(``python -m bench.load_oracle --write-fixture``). A faster loader must leave them all unchanged;
``python -m bench.load_oracle`` shows the differing rows against that commit.
"""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench import load_oracle as oracle

FIXTURE = json.loads(oracle.FIXTURE.read_text(encoding="utf-8"))


def test_the_fixture_was_written_with_the_tests_salt():
    assert FIXTURE["salt"] == oracle.TEST_SALT and FIXTURE["today"] == oracle.TODAY.isoformat()
    assert set(FIXTURE["corpora"]) == set(oracle.TEST_CORPORA)


@pytest.mark.parametrize("corpus", oracle.TEST_CORPORA)
def test_every_table_equals_the_reference_loaders(corpus: str, tmp_path: Path, sample_ledgers: Path,
                                                  data_dir: Path) -> None:
    reports, tables = oracle.load_corpus(corpus, tmp_path, sample=sample_ledgers if corpus == "sample" else None)
    expected = FIXTURE["corpora"][corpus]
    ours = oracle.digests(tables)
    differ = {t: (ours.get(t), expected["tables"].get(t)) for t in set(ours) | set(expected["tables"])
              if ours.get(t) != expected["tables"].get(t)}
    assert not differ, (f"{corpus}: tables differ from {FIXTURE['commit'][:12]} (ours, reference): {differ}; "
                        "run `python -m bench.load_oracle` for the rows")
    assert oracle.report_digest(reports) == expected["reports"], reports
