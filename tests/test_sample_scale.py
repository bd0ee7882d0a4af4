"""The scaled sample (etl.sample_scale): N copies of the sample's records, loadable with zero rejects.

Copy k ≥ 1 of a record has all its dates moved by one δ (within ±180 days and the kind's date
range); what must stay exact is checked here: totals over the whole range, the figures at the
as-of date, every duration, copy 0, and the date range of each kind.
"""
from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date
from pathlib import Path

import duckdb
import numpy as np
import pytest

from chuangshu import metrics
from chuangshu.filters import Filters
from etl.__main__ import main as etl_main
from etl.kinds import BY_NAME
from etl.load import load_files
from etl.sample import build_truth
from etl.sample_model import load_reference
from etl.sample_scale import (DATE_COLUMNS, KIND_ORDER, MAX_SHIFT_DAYS, _scaled_columns, _truth_frames,
                               generate_scaled)

SCALE = 2
# Written header of each true-record date column.
HEADERS = {"reported_on": "登记日期", "resolved_on": "办结日期", "followed_up_on": "回访日期",
           "appointed_on": "任职日期", "left_on": "离任日期", "founded_on": "成立日期", "dissolved_on": "撤销日期",
           "applied_on": "申报日期", "completed_on": "完成日期", "held_on": "活动日期"}
# Loaded tables: their date columns and the durations (earlier, later) the copies must keep.
DURATIONS = {"case_records": (("reported_on", "resolved_on"), ("resolved_on", "followed_up_on")),
             "volunteer_records": (("appointed_on", "left_on"),),
             "organization_records": (("founded_on", "dissolved_on"),),
             "micro_project_records": (("applied_on", "completed_on"),)}
# Whole-range totals per table: the GROUP BY columns and the summed measure (no dates involved).
TOTALS = {"case_records": ("community, category, outcome, satisfaction, resolved_on IS NULL, followed_up_on IS NULL",
                          "count(*)"),
          "volunteer_records": ("community, role, is_party_member, left_on IS NULL", "count(*)"),
          "organization_records": ("community, kind, dissolved_on IS NULL", "sum(coalesce(members, 0))"),
          "micro_project_records": ("community, is_funded, completed_on IS NULL", "sum(coalesce(amount_yuan, 0))"),
          "activity_records": ("community, kind", "sum(coalesce(participants, 0))")}
DATE_COLS = {"case_records": ("reported_on", "resolved_on", "followed_up_on"),
             "volunteer_records": ("appointed_on", "left_on"), "organization_records": ("founded_on", "dissolved_on"),
             "micro_project_records": ("applied_on", "completed_on"), "activity_records": ("held_on",)}


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory):
    folder = tmp_path_factory.mktemp("scaled")
    written = generate_scaled(folder / "ledgers", scale=SCALE, seed=2022)
    report = load_files(written.paths(), folder / "scaled.duckdb")
    return written, report, folder / "scaled.duckdb"


@pytest.fixture(scope="module")
def single(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The 1× output of the same generator (all columns filled as at N×), loaded."""
    folder = tmp_path_factory.mktemp("single")
    written = generate_scaled(folder / "ledgers", scale=1, seed=2022)
    assert load_files(written.paths(), folder / "single.duckdb").totals()["rejected"] == 0
    return folder / "single.duckdb"


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


def _query(db: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def test_figures_at_the_as_of_date_are_n_times_the_sample_figures(scaled, sample_db: Path) -> None:
    """No moved date crosses the data end, so stocks and totals at the as-of date stay exactly N×."""
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


@pytest.mark.parametrize("table", list(TOTALS))
def test_totals_over_the_whole_range_are_n_times(scaled, single: Path, table: str) -> None:
    _, _, db = scaled
    by, measure = TOTALS[table]
    sql = f"SELECT {by}, count(*), {measure} FROM {table} GROUP BY ALL"
    one = {row[:-2]: row[-2:] for row in _query(single, sql)}
    many = {row[:-2]: row[-2:] for row in _query(db, sql)}
    assert many == {key: (SCALE * n, SCALE * m) for key, (n, m) in one.items()}


@pytest.mark.parametrize("table", list(DURATIONS))
def test_durations_are_kept(scaled, single: Path, table: str) -> None:
    """The multiset of each duration at N× is the 1× multiset N times (so medians and SLA rates are kept)."""
    _, _, db = scaled
    for earlier, later in DURATIONS[table]:
        sql = (f"SELECT date_diff('day', {earlier}, {later}) AS d, count(*) FROM {table} "
               f"WHERE {later} IS NOT NULL GROUP BY d")
        one, many = dict(_query(single, sql)), dict(_query(db, sql))
        assert many == {d: SCALE * n for d, n in one.items()}, (table, later)


@pytest.mark.parametrize("table", list(DATE_COLS))
def test_dates_stay_in_the_kinds_range_and_are_spread(scaled, single: Path, table: str) -> None:
    """Every date of a kind within the 1× range of that kind, and the copies really moved."""
    _, _, db = scaled
    cols = DATE_COLS[table]
    lows, highs = ", ".join(f"min({c})" for c in cols), ", ".join(f"max({c})" for c in cols)
    span = f"SELECT least({lows}), greatest({highs}) FROM {table}"
    assert _query(db, span) == _query(single, span)
    # with δ = 0 the copies would add no new date (per community: the whole range is nearly full)
    first = f"SELECT count(DISTINCT {cols[0]}), count(DISTINCT (community, {cols[0]})) FROM {table}"
    (days_one, pairs_one), (days_many, pairs_many) = _query(single, first)[0], _query(db, first)[0]
    assert days_many > days_one, (days_one, days_many)
    assert pairs_many > 1.5 * pairs_one, (pairs_one, pairs_many)


def test_command_line(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    assert etl_main(["sample", "--scale", "2", "--out", str(tmp_path)]) == 0
    assert "2 倍规模" in capsys.readouterr().out
    assert len(list(tmp_path.glob("cases_g*_x2.csv"))) == 5


# ------------------------------------------------------------------ per record (the generator's columns)

_STYLED = re.compile(r"^(\d{4})(?:-(\d{2})-(\d{2})|年(\d{1,2})月(\d{1,2})日"
                     r"|/(\d{1,2})/(\d{1,2})|\.(\d{1,2})\.(\d{1,2}))$")


def _ordinals(texts: np.ndarray) -> np.ndarray:
    """Written dates (ISO or a clerk's style) as ordinals, -1 for blank."""
    out = np.full(len(texts), -1, dtype=np.int64)
    for i, text in enumerate(texts):
        if text:
            m = _STYLED.match(text)
            assert m, text
            month, day = [int(g) for g in m.groups()[1:] if g is not None]
            out[i] = date(int(m[1]), month, day).toordinal()
    return out


@pytest.fixture(scope="module")
def truth_frames():
    return _truth_frames(2022)


def _columns(truth_frames, kind: str, scale: int) -> dict[str, np.ndarray]:
    ref = load_reference()
    short = {c.name: c.short for c in ref.communities}
    return _scaled_columns(kind, truth_frames[kind], scale, np.random.default_rng(2022), short, 2022)


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_each_copy_moves_all_dates_of_a_record_by_one_shift(truth_frames, kind: str) -> None:
    scale = 3
    df = truth_frames[kind]
    n = len(df)
    cols = _columns(truth_frames, kind, scale)
    original = {c: np.array([d.toordinal() if isinstance(d, date) else -1 for d in df[c]]) for c in DATE_COLUMNS[kind]}
    written = {c: _ordinals(cols[HEADERS[c]]).reshape(scale, n) for c in DATE_COLUMNS[kind]}
    present = np.stack([original[c] >= 0 for c in original])
    lo = min(v[v >= 0].min() for v in original.values())
    hi = max(v.max() for v in original.values())
    first = DATE_COLUMNS[kind][0]  # always filled
    assert (original[first] >= 0).all()
    for c in original:
        assert (written[c][0] == original[c]).all(), c  # copy 0 is the record itself
        for k in range(scale):
            assert ((written[c][k] == -1) == (original[c] == -1)).all(), c  # blank stays blank
    for k in range(1, scale):
        delta = written[first][k] - original[first]
        for c in original:
            moved = written[c][k] - original[c]
            assert (moved[original[c] >= 0] == delta[original[c] >= 0]).all(), (c, k)  # one δ per record
        assert np.abs(delta).max() <= MAX_SHIFT_DAYS
        assert (delta != 0).mean() > 0.9, k  # the copies really move
        assert np.abs(delta).mean() > 0.3 * MAX_SHIFT_DAYS, k  # spread over about ±180 days
        shifted = np.stack([original[c] for c in original]) + delta
        assert (shifted[present] >= lo).all() and (shifted[present] <= hi).all()  # within the kind's range


@pytest.mark.parametrize("kind", KIND_ORDER)
def test_shift_does_not_depend_on_the_scale(truth_frames, kind: str) -> None:
    """Copy k gets the same dates at every scale (2× is the first two copies of 3×)."""
    n = len(truth_frames[kind])
    two, three = _columns(truth_frames, kind, 2), _columns(truth_frames, kind, 3)
    for c in DATE_COLUMNS[kind]:
        if c != "reported_on":  # 登记日期 also varies in style, drawn per row
            assert (two[HEADERS[c]] == three[HEADERS[c]][:2 * n]).all(), c
    if kind == "cases":
        assert (_ordinals(two["登记日期"]) == _ordinals(three["登记日期"][:2 * n])).all()


def test_non_iso_case_dates_survive_the_shift(truth_frames) -> None:
    """About 15 % of 登记日期 are still written in the clerks' styles, in every copy."""
    n = len(truth_frames["cases"])
    reported = _columns(truth_frames, "cases", 3)["登记日期"].reshape(3, n)
    for k in range(3):
        styled = np.array([not re.match(r"^\d{4}-\d{2}-\d{2}$", t) for t in reported[k]])
        assert 0.10 < styled.mean() < 0.20, k
        assert {t[4] for t in reported[k][styled]} == {"年", "/", "."}, k


def test_keys_with_dates_stay_unique(truth_frames) -> None:
    """Activities (community + name + date) and 三长 (person + role + appointment) move together per key group."""
    scale = 3
    act = _columns(truth_frames, "activities", scale)
    full = {c.short: c.name for c in load_reference().communities}
    community = np.array([full.get(c, c) for c in act["社区"]], dtype=object)
    keys = Counter(zip(community, act["活动名称"], act["活动日期"]))
    assert max(keys.values()) == 1
    vol = _columns(truth_frames, "volunteers", scale)
    keys = Counter(zip(vol["联系电话"], vol["职务"], vol["任职日期"]))
    assert max(keys.values()) == 1
