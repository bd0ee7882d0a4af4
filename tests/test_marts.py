"""The marts are exact: every mart-based metric query returns what its detail-view original returned.

tests/fixtures/detail_metrics.sql keeps the original queries (scans of the cases, volunteers,
organizations and activities views) as the oracle. Both run on the sample database built by the
real ETL and on a copy with the cases the sample lacks: a person serving in two communities,
overlapping, touching and empty terms, cases resolved the day they were reported.
"""
from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pandas as pd
import pytest

from chuangshu.assessment import spans
from chuangshu.filters import Filters, span_at
from chuangshu.metrics import snapshot_dates
from chuangshu.queries import named_queries
from etl import marts

ORACLE = Path(__file__).parent / "fixtures" / "detail_metrics.sql"
_NAME = re.compile(r"^--\s*name:\s*(\w+)\s*$", re.MULTILINE)


def oracle_queries() -> dict[str, str]:
    parts = _NAME.split(ORACLE.read_text(encoding="utf-8"))
    return {name: body.strip().rstrip(";") for name, body in zip(parts[1::2], parts[2::2])}


FILTERS = {
    "default": Filters(),
    "2015-2019": Filters(as_of=date(2019, 12, 31), year_from=2015, year_to=2019),
    "mid-month, 3 communities": Filters(as_of=date(2017, 3, 15), year_from=2014, year_to=2017,
                                        communities=("桂南社区", "灯湖社区", "叠南社区")),
    "one year, 2 categories": Filters(as_of=date(2021, 8, 9), year_from=2021, year_to=2021,
                                      categories=("邻里矛盾", "停车")),
    "early, 1 community, 1 category": Filters(as_of=date(2014, 2, 10), year_from=2013, year_to=2014,
                                              communities=("桂南社区",), categories=("环境卫生",)),
    "window ends before as-of": Filters(as_of=date(2022, 6, 30), year_from=2016, year_to=2018),
}


def params(f: Filters) -> dict[str, object]:
    dates = sorted({*snapshot_dates(f), f.shifted().end, date(2010, 6, 1)})
    # the 考核 spans of the as-of date: this month (partial mid-month), last month, the 12 before, and
    # this quarter and year (partial); the warnings at the window's end
    periods = [*spans(f.as_of, "month"), span_at(f.as_of, "quarter"), span_at(f.as_of, "year")]
    return {**f.params(), "dates": dates, "cutoff": f.as_of - timedelta(days=30),
            "starts": [p.start for p in periods], "ends": [p.end for p in periods], "last": f.as_of,
            "slack": 0, "window": 90, "n": 2, "days": 0}


def _run(cur: duckdb.DuckDBPyConnection, sql: str, p: dict[str, object]) -> pd.DataFrame:
    used = set(re.findall(r"\$(\w+)", sql))
    df = cur.execute(sql, {k: v for k, v in p.items() if k in used}).df()
    return df.sort_values(list(df.columns), na_position="first").reset_index(drop=True) if len(df) else df


EDGES = """
-- a person who also serves in another community, overlapping in time
INSERT INTO volunteer_records
SELECT * REPLACE ('灯湖社区' AS community, NULL AS compound, appointed_on + 30 AS appointed_on)
FROM volunteer_records WHERE community = '桂南社区' AND left_on IS NULL ORDER BY person_id LIMIT 3;
-- a second, overlapping term in the same role; a touching term; an empty term
INSERT INTO volunteer_records
SELECT * REPLACE (appointed_on + 100 AS appointed_on, appointed_on + 400 AS left_on)
FROM volunteer_records WHERE community = '叠南社区' AND role = '楼长' ORDER BY person_id LIMIT 5;
INSERT INTO volunteer_records
SELECT * REPLACE (left_on AS appointed_on, left_on + 200 AS left_on)
FROM volunteer_records WHERE left_on IS NOT NULL ORDER BY person_id LIMIT 5;
INSERT INTO volunteer_records
SELECT * REPLACE (appointed_on AS left_on) FROM volunteer_records ORDER BY person_id DESC LIMIT 3;
-- a compound whose every 楼长 left on 30 June 2016 (楼长空缺)
UPDATE volunteer_records SET appointed_on = least(appointed_on, DATE '2015-01-01'), left_on = DATE '2016-06-30'
WHERE role = '楼长' AND community = '桂南社区'
  AND compound = (SELECT min(compound) FROM volunteer_records WHERE role = '楼长' AND community = '桂南社区');
-- cases resolved on the day they were reported; an organisation without members
INSERT INTO case_records
SELECT * REPLACE (case_id || '-same-day' AS case_id, reported_on AS resolved_on, reported_on AS followed_up_on)
FROM case_records WHERE resolved_on IS NOT NULL ORDER BY case_id LIMIT 20;
UPDATE organization_records SET members = NULL WHERE org_id IN (SELECT org_id FROM organization_records LIMIT 5);
"""


@pytest.fixture(scope="module", params=["sample", "edges"])
def mart_cur(request: pytest.FixtureRequest, sample_db: Path, tmp_path_factory: pytest.TempPathFactory):
    """A read-only cursor on the sample database, or on a copy with the edge cases added."""
    path = sample_db
    if request.param == "edges":
        path = tmp_path_factory.mktemp("marts") / "edges.duckdb"
        shutil.copyfile(sample_db, path)
        con = duckdb.connect(str(path))
        con.execute("BEGIN")
        con.execute(EDGES)
        marts.build(con)
        con.execute("COMMIT")
        assert con.execute("SELECT count(*) FROM agg_volunteer_multi").fetchall()[0][0] > 0
        assert con.execute("SELECT count(*) FROM (SELECT 1 FROM volunteers WHERE role = '楼长' "  # merged terms
                           "GROUP BY community, compound, person_id HAVING count(*) > 1)").fetchall()[0][0] > 0
        con.close()
    con = duckdb.connect(str(path), read_only=True)
    yield con.cursor()
    con.close()


@pytest.mark.parametrize("name", sorted(oracle_queries()))
@pytest.mark.parametrize("case", list(FILTERS))
def test_mart_query_equals_detail_query(mart_cur: duckdb.DuckDBPyConnection, name: str, case: str) -> None:
    p = params(FILTERS[case])
    p["community"] = "桂南社区"
    want = _run(mart_cur, oracle_queries()[name], p)
    got = _run(mart_cur, named_queries()[name], p)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)  # HUGEINT sums came back as float64
    assert len(want) or name in {"backlog_ageing", "repeat_cases"} or name.startswith("alert_"), \
        "a case that tests nothing"


@pytest.mark.parametrize("name", sorted(n for n in oracle_queries() if n.startswith("alert_")))
def test_each_warning_query_is_compared_on_rows(mart_cur: duckdb.DuckDBPyConnection, name: str,
                                                request: pytest.FixtureRequest) -> None:
    """A warning fires only at some dates: over all filter sets each warning query has rows to compare
    (the sample has no compound that lost all its 楼长: the edges copy adds one)."""
    if name == "alert_head_vacancies" and request.node.callspec.params["mart_cur"] == "sample":
        pytest.skip("the sample has no 楼长 vacancy; the edges copy has one")
    found = 0
    for f in FILTERS.values():
        p = params(f)
        found += len(_run(mart_cur, oracle_queries()[name], p))
    assert found, f"{name} returned nothing on any filter set: the comparison tests nothing"


def test_compounds_seen_equals_the_records(mart_cur: duckdb.DuckDBPyConnection) -> None:
    want = mart_cur.execute("""
        SELECT community, compound FROM cases WHERE compound IS NOT NULL
        UNION SELECT community, compound FROM volunteers WHERE compound IS NOT NULL
        UNION SELECT community, compound FROM organizations WHERE compound IS NOT NULL ORDER BY ALL""").fetchall()
    assert mart_cur.execute("SELECT * FROM agg_compounds_seen ORDER BY ALL").fetchall() == want
    assert want


def test_every_mart_is_built_and_documented(mart_cur: duckdb.DuckDBPyConnection) -> None:
    doc = (Path(__file__).parents[1] / "docs" / "aggregates.md").read_text(encoding="utf-8")
    for name in marts.TABLES:
        rows = mart_cur.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0]
        assert rows > 0 or name == "agg_volunteer_multi", name  # the sample has nobody in two communities
        assert f"`{name}`" in doc, f"{name} is not described in docs/aggregates.md"


def test_the_metric_layer_reads_no_detail_view_where_a_mart_exists() -> None:
    """Guard against a slow path coming back: these queries must read marts, not record views."""
    for name in oracle_queries():
        sql = named_queries()[name]
        for view in ("cases", "volunteers", "organizations", "activities"):
            assert not re.search(rf"\b(FROM|JOIN)\s+{view}\b", sql), (name, view)


CHANGES = """
-- a case edited and one removed in 桂南社区; a new case in 灯湖社区
UPDATE case_records SET resolved_on = NULL, row_hash = 'edited'
WHERE case_id = (SELECT min(case_id) FROM case_records WHERE community = '桂南社区' AND resolved_on IS NOT NULL);
DELETE FROM case_records WHERE case_id = (SELECT max(case_id) FROM case_records WHERE community = '桂南社区');
INSERT INTO case_records SELECT * REPLACE (case_id || '-new' AS case_id, 'new' AS row_hash)
FROM case_records WHERE community = '灯湖社区' ORDER BY case_id LIMIT 1;
-- a 叠南社区 volunteer starts serving in 石龙社区 too (their 叠南社区 stock changes with it)
INSERT INTO volunteer_records SELECT * REPLACE ('石龙社区' AS community, NULL AS compound, 'moved' AS row_hash)
FROM volunteer_records WHERE community = '叠南社区' AND left_on IS NULL ORDER BY person_id LIMIT 1;
"""


def test_incremental_marts_equal_a_full_build(sample_db: Path, tmp_path: Path) -> None:
    """After a load that touches a few communities, recomputing only those gives the full build's marts."""
    copies = []
    for name in ("incremental", "full"):
        path = tmp_path / f"{name}.duckdb"
        shutil.copyfile(sample_db, path)
        con = duckdb.connect(str(path))
        con.execute("BEGIN")
        con.execute(CHANGES)
        copies.append(con)
    incremental, full = copies
    changed = marts.build(incremental)
    assert changed == sorted(["桂南社区", "灯湖社区", "石龙社区"]), changed  # 叠南社区: stock rebuilt as multi changed
    marts._build_all(full)
    for name in marts.TABLES:
        got = incremental.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall()
        assert got == full.execute(f"SELECT * FROM {name} ORDER BY ALL").fetchall(), name
    assert marts.build(incremental) == []  # nothing changed since: nothing recomputed
    for con in copies:
        con.execute("ROLLBACK")
        con.close()


def test_a_new_marts_version_rebuilds_everything(sample_db: Path, tmp_path: Path) -> None:
    path = tmp_path / "old.duckdb"
    shutil.copyfile(sample_db, path)
    con = duckdb.connect(str(path))
    try:
        assert marts.build(con) == []
        con.execute("UPDATE meta SET value = 'older' WHERE key = 'marts_version'")
        assert marts.build(con) is None
    finally:
        con.close()


def test_a_database_from_older_code_is_upgraded_on_start(sample_db: Path, tmp_path: Path) -> None:
    """chuangshu.serve calls ensure_current: a database without (current) marts gets them, atomically."""
    from chuangshu import metrics
    from etl.bootstrap import ensure_current

    path = tmp_path / "old.duckdb"
    shutil.copyfile(sample_db, path)
    con = duckdb.connect(str(path))
    con.execute("DROP TABLE agg_case_reported")
    con.execute("DELETE FROM meta WHERE key = 'marts_version'")
    con.close()
    report = ensure_current(path)
    assert report is not None and report.published
    assert ensure_current(path) is None  # current now: nothing to do
    con = duckdb.connect(str(path), read_only=True)
    try:
        assert metrics.headline(con.cursor(), Filters()).set_index("key").loc["communities", "value"] == 45
    finally:
        con.close()


def _stored_order(sql: str) -> str | None:
    """The column a mart's statement sorts by last (its outermost ORDER BY), if any."""
    head, found, tail = sql.rpartition("ORDER BY")
    return tail.split(",")[0].strip() if found and ")" not in tail else None


@pytest.mark.parametrize("name", [n for n, sql in marts.statements().items() if _stored_order(sql)])
def test_a_sorted_mart_is_stored_in_its_order(sample_db: Path, tmp_path: Path, name: str) -> None:
    """Zone maps skip row groups only when a mart is stored sorted by its date: the build lets DuckDB
    drop the insertion order inside each statement, never the ORDER BY's (nor the caller's setting)."""
    db = tmp_path / "db.duckdb"
    shutil.copyfile(sample_db, db)
    con = duckdb.connect(str(db))
    con.execute("BEGIN")
    marts.build(con, full=True)
    assert con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0] is True
    column = _stored_order(marts.statements()[name]).split(".")[-1]
    disorder = con.execute(f"SELECT count(*) FROM (SELECT {column} AS v, lag({column}) OVER (ORDER BY rowid) AS p "
                           f"FROM {name}) WHERE v < p").fetchall()[0][0]
    assert con.execute(f"SELECT count(*) FROM {name}").fetchall()[0][0] > 0 or name == "agg_volunteer_multi"
    assert disorder == 0
