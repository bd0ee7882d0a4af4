"""考核 (chuangshu/assessment.py): scores, ranks, peer groups and rank changes against an independent pandas
computation from the public views; each warning rule on crafted ledgers that should and should not
trigger it, and with raised thresholds in the reference data; administrators' target edits (refused
for viewers and analysts, audited, seen by other sessions, kept across reloads); the rows behind a
figure; the community-account view; the 考核 page and its click-through."""
from __future__ import annotations

import calendar
import functools
import json
import shutil
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from chuangshu import assessment, auth, scope, targets
from chuangshu.assessment import SUBDISTRICT, Drill
from chuangshu.filters import Filters
from chuangshu.metrics import METRICS, TARGETABLE
from conftest import write_csv
from etl.api import load_files, load_reference

ROOT = Path(__file__).resolve().parent.parent
APP = str(ROOT / "dashboard.py")
ADMIN = auth.User("boss", "街道办", "admin")
VIEWER = auth.User("wang", "王五", "viewer")
ANALYST = auth.User("li", "李四", "analyst")
KINDS = {k: METRICS[k].kind for k in TARGETABLE}


# --- an independent computation of the league table from the public views ---------------------------------

@dataclass(frozen=True)
class P:
    start: date
    end: date

    @property
    def months(self) -> float:
        return ((self.end - self.start).days + 1) / (365.25 / 12)


def periods(as_of: date, grain: str) -> tuple[P, P, list[P]]:
    """(current, previous, the 12 months before the current one), with pandas periods."""
    freq = {"month": "M", "quarter": "Q", "year": "Y"}[grain]
    cur = pd.Period(as_of, freq)
    prev = cur - 1
    first = pd.Period(cur.start_time, "M")
    months = [first - k for k in range(12, 0, -1)]
    as_p = lambda q, cap=None: P(q.start_time.date(), min(q.end_time.date(), cap) if cap else q.end_time.date())  # noqa: E731
    return as_p(cur, as_of), as_p(prev), [as_p(m) for m in months]


class Views:
    """The public views as DataFrames."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        get = lambda sql: cur.execute(sql).df()  # noqa: E731
        self.cases = get("SELECT c.*, k.sla_days FROM cases c JOIN categories k USING (category)")
        for col in ("reported_on", "resolved_on", "followed_up_on"):
            self.cases[col] = pd.to_datetime(self.cases[col])
        c = self.cases.sort_values(["community", "compound", "category", "reported_on", "case_id"])
        prev = c.groupby(["community", "compound", "category"], dropna=False)["reported_on"].shift()
        self.cases["repeat"] = (c["compound"].notna() & ((c["reported_on"] - prev).dt.days <= 90)).reindex(self.cases.index)
        self.vol = get("SELECT * FROM volunteers WHERE role = '楼长' AND compound IS NOT NULL")
        self.orgs = get("SELECT * FROM organizations WHERE kind <> '楼道微信群'")
        self.acts = get("SELECT * FROM activities")
        self.comm = get("SELECT * FROM communities ORDER BY community")
        self.compounds = get("SELECT * FROM compounds WHERE kind = '小区'")
        self.subs = get("SELECT * FROM submissions")
        self.targets = get("SELECT * FROM targets")
        self.targets["scope"] = self.targets["scope"].fillna("")
        self.weights = get("SELECT * FROM assessment_metrics ORDER BY sort_order")
        self.settings = dict(cur.execute("SELECT setting, value FROM assessment_settings").fetchall())
        self.groups = get("SELECT * FROM peer_groups")

    def counts(self, p: P) -> pd.DataFrame:
        s, e = pd.Timestamp(p.start), pd.Timestamp(p.end)
        c = self.cases
        rep = c["reported_on"].between(s, e)
        res = c["resolved_on"].between(s, e)
        fu = res & (c["followed_up_on"] <= e)
        open_ = (c["reported_on"] <= e) & (c["resolved_on"].isna() | (c["resolved_on"] > e))
        age = (e - c["reported_on"]).dt.days
        frame = pd.DataFrame({
            "community": c["community"], "received": rep, "received_resolved": rep & (c["resolved_on"] <= e),
            "resolved": res, "on_time": res & ((c["resolved_on"] - c["reported_on"]).dt.days <= c["sla_days"]),
            "followed_up": fu, "rated": fu & c["satisfaction"].notna(),
            "satisfied": fu & c["satisfaction"].isin(["满意", "基本满意"]),
            "with_compound": rep & c["compound"].notna(), "repeats": rep & c["repeat"].fillna(False),
            "open_end": open_, "open_overdue": open_ & (age > c["sla_days"])})
        out = frame.groupby("community").sum()
        v = self.vol
        serving = v[(pd.to_datetime(v["appointed_on"]) <= e) & (v["left_on"].isna() | (pd.to_datetime(v["left_on"]) > e))]
        heads = serving.groupby(["community", "compound"])["person_id"].nunique().rename("heads").reset_index()
        heads = heads.merge(self.compounds[["community", "compound", "households"]], on=["community", "compound"])
        hh = heads[heads["households"].fillna(0) > 0]
        out = out.join(heads.groupby("community").size().rename("compounds_with_heads"), how="outer")
        out = out.join(hh.groupby("community")["heads"].sum().rename("heads_hh"), how="outer")
        out = out.join(hh.groupby("community")["households"].sum().rename("households_hh"), how="outer")
        o = self.orgs
        active = o[(pd.to_datetime(o["founded_on"]) <= e) & (o["dissolved_on"].isna() | (pd.to_datetime(o["dissolved_on"]) > e))]
        out = out.join(active.groupby("community").size().rename("organizations"), how="outer")
        a = self.acts
        held = a[pd.to_datetime(a["held_on"]).between(s, e)]
        out = out.join(held.groupby("community")["participants"].sum().rename("participants"), how="outer")
        kinds = self.settings["monthly_ledgers"].split("|")
        lag = int(self.settings["ledger_lag_months"])
        due = (pd.Period(p.end, "M") - lag).start_time
        latest = self.subs[self.subs["ledger_kind"].isin(kinds)].groupby(["community", "ledger_kind"])["month_to"].max()
        on_time = (pd.to_datetime(latest) >= due).groupby("community").sum().rename("ledgers_on_time")
        out = out.join(on_time, how="outer")
        out = self.comm.set_index("community")[["households", "compounds"]].join(out).fillna(0)
        out["ledgers"] = len(kinds)
        total = out.sum().to_frame(SUBDISTRICT).T
        return pd.concat([total, out]).astype("float64")


RATIO = {"resolution_rate": ("received_resolved", "received", 100), "on_time_rate": ("on_time", "resolved", 100),
         "follow_up_rate": ("followed_up", "resolved", 100), "satisfaction_rate": ("satisfied", "rated", 100),
         "repeat_rate": ("repeats", "with_compound", 100), "overdue_open_rate": ("open_overdue", "open_end", 100),
         "head_coverage": ("compounds_with_heads", "compounds", 100),
         "heads_per_100_households": ("heads_hh", "households_hh", 100),
         "organizations_per_1000_households": ("organizations", "households", 1000),
         "participation_per_100_households": ("participants", "households", 100),
         "ledger_on_time_rate": ("ledgers_on_time", "ledgers", 100)}


def values(v: Views, counts: pd.DataFrame, p: P) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """(value, numerator, denominator) per community (rows) and metric (columns)."""
    val, num, den = {}, {}, {}
    for m in v.weights["metric"]:
        n, d, scale = RATIO[m]
        per = scale / p.months if m == "participation_per_100_households" else scale
        num[m], den[m] = counts[n], counts[d]
        val[m] = (per * counts[n] / counts[d]).where(counts[d] > 0)
    return pd.DataFrame(val), pd.DataFrame(num), pd.DataFrame(den)


def expected_league(cur: duckdb.DuckDBPyConnection, as_of: date, grain: str, group: str | None = None,
                    edits: dict | None = None) -> pd.DataFrame:
    """The league table computed from the public views with pandas only."""
    v = Views(cur)
    st = {k: float(x) if k not in ("monthly_ledgers",) else x for k, x in v.settings.items()}
    cap, amber = st["score_cap"], st["amber_ratio"]
    minimum = int(st[f"min_cases_{grain}"])
    now_p, prev_p, hist_p = periods(as_of, grain)
    mins = dict(zip(v.weights["metric"], v.weights["min_base"]))
    weights = dict(zip(v.weights["metric"], v.weights["weight"]))
    now_c, prev_c = v.counts(now_p), v.counts(prev_p)
    now_v, now_n, now_d = values(v, now_c, now_p)
    prev_v, _, prev_d = values(v, prev_c, prev_p)
    hist = [tuple(part.to_dict() for part in values(v, v.counts(p), p)) for p in hist_p]  # {metric: {community: x}}
    groups = {}
    for r in v.comm.itertuples():
        hit = v.groups[(v.groups["households_from"] <= r.households)
                       & (v.groups["households_to"].isna() | (v.groups["households_to"] >= r.households))]
        groups[r.community] = hit["peer_group"].iloc[0] if len(hit) else None
    tgt = {(r.metric, r.scope_kind, r.scope, r.period): r.target for r in v.targets.itertuples()}
    said = {(r.metric, r.scope_kind, r.scope, r.period): r.source for r in v.targets.itertuples()}
    tgt.update(edits or {})
    label = {"month": "月", "quarter": "季", "year": "年"}[grain]
    better = {m: METRICS[m].better for m in weights}

    @functools.cache
    def median(m: str) -> float | None:
        """The sub-district median of the communities' pooled history (the fallback target)."""
        pooled = []
        for community in v.comm["community"]:
            n = sum(h[1][m][community] for h in hist)
            d = sum(h[2][m][community] for h in hist)
            if d and d >= mins[m]:
                pooled.append(RATIO[m][2] * (1 / len(hist) if m == "participation_per_100_households" else 1) * n / d)
        med = float(np.median(pooled)) if pooled else None
        return med if med is not None and (med > 0 or better[m] == "lower") else None

    @functools.cache
    def target(c: str, m: str) -> tuple[float | None, str | None]:
        """(target, the source shown beside it)."""
        scopes = ([("社区", c)] if c != SUBDISTRICT else []) + \
                 ([("同类组", groups[c])] if c != SUBDISTRICT and groups[c] else []) + [("街道", "")]
        for kind, name in scopes:
            for period in (label, "全部"):
                key = (m, kind, name, period)
                if key in tgt:
                    where = {"社区": "，本社区", "同类组": f"，同类组「{name}」", "街道": ""}[kind]
                    return tgt[key], None if key in (edits or {}) else f"{said[key]}{where}"
        vals = [h[0][m][c] for h in hist if h[2][m][c] > 0 and h[2][m][c] >= mins[m]]
        if len(vals) >= int(st["history_min_months"]):
            sd = float(np.std(vals, ddof=1)) if len(vals) > 1 else 0.0
            t = max(0.0, np.mean(vals) - sd if better[m] == "higher" else np.mean(vals) + sd)
            if t > 0 or better[m] == "lower":
                return t, "历史（全街道）" if c == SUBDISTRICT else "历史（本社区）"
        med = median(m)
        return med, None if med is None else "历史（街道中位数）"

    def judge(vals: pd.DataFrame, dens: pd.DataFrame, c: str, m: str, t: float | None) -> float | None:
        x = vals.loc[c, m]
        if t is None or pd.isna(x) or not (dens.loc[c, m] > 0 and dens.loc[c, m] >= mins[m]):
            return None
        raw = (cap if t <= 0 else x / t) if better[m] == "higher" else (cap if x <= 0 else (0.0 if t <= 0 else t / x))
        return max(0.0, min(cap, raw))

    rows = []
    for c in [SUBDISTRICT, *v.comm["community"]]:
        row = {"community": c, "peer_group": groups.get(c)}
        idx = {}
        for when, vals, dens in (("now", now_v, now_d), ("prev", prev_v, prev_d)):
            scores = {m: judge(vals, dens, c, m, target(c, m)[0]) for m in weights}
            w = sum(weights[m] for m, s in scores.items() if s is not None)
            idx[when] = 100 * sum(weights[m] * s for m, s in scores.items() if s is not None) / w \
                if w and w >= st["min_weight_share"] * sum(weights.values()) else None
            if when == "now":
                for m, s in scores.items():
                    row[f"{m}__status"] = None if s is None else "met" if s >= 1 - 1e-9 else "near" if s >= amber else "missed"
                    row[m] = now_v.loc[c, m]
                    row[f"{m}__target"], row[f"{m}__source"] = target(c, m)
        row["received"] = now_c.loc[c, "received"]
        row["index_now"], row["index_prev"] = idx["now"], idx["prev"]
        row["ok_now"] = c != SUBDISTRICT and now_c.loc[c, "received"] >= minimum and idx["now"] is not None
        row["ok_prev"] = c != SUBDISTRICT and prev_c.loc[c, "received"] >= minimum and idx["prev"] is not None
        rows.append(row)
    df = pd.DataFrame(rows).set_index("community")
    pool = df.index != SUBDISTRICT
    if group:
        pool &= df["peer_group"] == group
    for when in ("now", "prev"):
        ok = pool & df[f"ok_{when}"]
        df[f"rank_{when}"] = df.loc[ok, f"index_{when}"].astype(float).rank(ascending=False, method="min")
    df["peer_rank"] = np.nan
    if group is None:
        for g in set(groups.values()) - {None}:
            ok = (df["peer_group"] == g) & df["ok_now"]
            df.loc[ok, "peer_rank"] = df.loc[ok, "index_now"].astype(float).rank(ascending=False, method="min")
    df["change"] = df["rank_prev"] - df["rank_now"]
    return df


def same(a: object, b: object) -> bool:
    """Equal, or both missing (None and NaN alike)."""
    return (pd.isna(a) and pd.isna(b)) if pd.isna(a) or pd.isna(b) else a == b


CASES = {
    "month, month end": (date(2022, 6, 30), "month", None),
    "month, mid-month as-of": (date(2022, 6, 15), "month", None),
    "quarter, mid-month as-of": (date(2021, 9, 15), "quarter", None),
    "year, year end": (date(2021, 12, 31), "year", None),
    "month, peer group 中型": (date(2022, 5, 31), "month", "中型"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_league_table_equals_an_independent_computation(cur: duckdb.DuckDBPyConnection, case: str) -> None:
    as_of, grain, group = CASES[case]
    league = assessment.league_table(cur, Filters(as_of=as_of), grain, group=group)
    want = expected_league(cur, as_of, grain, group)
    got = league.table.set_index("community")
    cells = league.cells.set_index(["community", "metric"])
    shown = [c for c in want.index if c == SUBDISTRICT and group is None or want.loc[c, "peer_group"] == group
             or group is None]
    place = {c: i for i, c in enumerate(shown)}
    order = sorted(shown, key=lambda c: (c != SUBDISTRICT, pd.isna(want.loc[c, "rank_now"]),
                                         0 if pd.isna(want.loc[c, "rank_now"]) else want.loc[c, "rank_now"], place[c]))
    assert list(got.index) == order  # the sub-district, then by rank, then the unranked
    for c in shown:
        w, g = want.loc[c], got.loc[c]
        assert g["received"] == w["received"], c
        for m in league.metrics["metric"]:
            assert (pd.isna(g[m]) and pd.isna(w[m])) or g[m] == pytest.approx(w[m], rel=1e-9), (c, m)
            assert same(g[f"{m}__status"], w[f"{m}__status"]), (c, m)
            cell = cells.loc[(c, m)]  # the target and the source shown beside it (historic ones labelled as such)
            assert same(cell["target_source"], w[f"{m}__source"]), (c, m)
            assert (pd.isna(cell["target"]) and pd.isna(w[f"{m}__target"])) \
                or cell["target"] == pytest.approx(w[f"{m}__target"], rel=1e-9), (c, m)
        if w["ok_now"] or c == SUBDISTRICT:
            assert g["index"] == pytest.approx(w["index_now"], rel=1e-9), c
        else:
            assert pd.isna(g["index"]), c
        for mine, theirs in (("rank", "rank_now"), ("prev_rank", "rank_prev"), ("change", "change")):
            assert (pd.isna(g[mine]) and pd.isna(w[theirs])) or g[mine] == w[theirs], (c, mine)
        if group is None and c != SUBDISTRICT:
            assert (pd.isna(g["peer_rank"]) and pd.isna(w["peer_rank"])) or g["peer_rank"] == w["peer_rank"], c
            assert g["peer_group"] == w["peer_group"], c
    assert league.ranked_of == int(want["rank_now"].notna().sum())
    assert league.ranked_of > 3, "a comparison with (almost) nobody ranked tests little"
    sources = {s.split("，")[0] for s in league.cells["target_source"].dropna()}
    assert {"自定", "历史（本社区）", "历史（街道中位数）" if group is None else "自定"} <= sources, \
        "every kind of target is compared"
    moved = want.dropna(subset=["change"])
    ups = moved[moved["change"] > 0].sort_values(["change", "rank_now"], ascending=[False, True]).head(5)
    downs = moved[moved["change"] < 0].sort_values(["change", "rank_now"], ascending=[True, True]).head(5)
    for direction, want_movers in (("up", ups), ("down", downs)):
        got_movers = league.movers[league.movers["direction"] == direction]
        assert list(got_movers["community"]) == list(want_movers.index), direction
        assert list(got_movers["change"]) == list(want_movers["change"]), direction


@pytest.mark.parametrize(("index", "eligible", "want"), [
    ({"甲": 90.0, "乙": 95.0, "丙": 90.0, "丁": 80.0}, "甲乙丙丁", {"乙": 1, "甲": 2, "丙": 2, "丁": 4}),  # ties share
    ({"甲": 120.0, "乙": 120.0}, "甲乙", {"甲": 1, "乙": 1}),  # both at the cap
    ({"甲": 90.0, "乙": None, "丙": 95.0}, "甲乙丙", {"丙": 1, "甲": 2}),  # no index: no rank
    ({"甲": 90.0, "乙": 99.0}, "甲", {"甲": 1}),  # 样本不足 (not eligible): no rank, and nobody pushed down
])
def test_ranks_share_ties_and_skip_the_unranked(index: dict, eligible: str, want: dict) -> None:
    """The sample has no tied index; capped scores make ties real (every metric at the cap gives 120)."""
    assert assessment._ranks(index, set(eligible), list(index)) == want


@pytest.mark.parametrize(("change", "ranked", "was_ranked", "label"), [
    (3, True, True, "↑3"), (-2, True, True, "↓2"), (0, True, True, "持平"), (None, True, False, "新进"),
    (None, False, True, "—"), (None, False, False, "—"),
])
def test_change_labels(change: int | None, ranked: bool, was_ranked: bool, label: str) -> None:
    assert assessment.change_label(change, ranked, was_ranked) == label


def test_a_community_with_too_few_cases_shows_no_rank(cur: duckdb.DuckDBPyConnection) -> None:
    league = assessment.league_table(cur, Filters(as_of=date(2022, 6, 30)), "month")
    t = league.table.set_index("community")
    few = t[(t.index != SUBDISTRICT) & (t["received"] < league.min_cases)]
    assert len(few), "the sample has communities with few cases in a month"
    assert few["rank"].isna().all() and few["index"].isna().all()
    assert set(few["rank_label"]) == {"样本不足"}
    assert all(w.startswith("样本不足") for w in few["why"])
    # ... while their figures are still shown, judged only where the denominator is large enough
    assert few["head_coverage"].notna().any()


def test_a_target_edit_changes_the_scores(cur: duckdb.DuckDBPyConnection) -> None:
    edit = targets.Override("resolution_rate", "街道", "", "月", 10.0, "政策", edited_by="boss")
    overlay = targets.Overlay(1, (edit,))
    league = assessment.league_table(cur, Filters(), "month", overlay)
    want = expected_league(cur, Filters().as_of, "month", edits={("resolution_rate", "街道", "", "月"): 10.0})
    got = league.table.set_index("community")
    for c in want.index:
        assert same(got.loc[c, "resolution_rate__status"], want.loc[c, "resolution_rate__status"]), c
    cell = league.cells[(league.cells["community"] == SUBDISTRICT) & (league.cells["metric"] == "resolution_rate")]
    assert cell["target"].iloc[0] == 10 and "管理员修改" in cell["target_source"].iloc[0]


def test_spans_honour_the_as_of_date() -> None:
    from chuangshu.filters import span_at

    assert span_at(date(2022, 6, 15), "month").label == "2022年6月（截至15日）"
    assert span_at(date(2022, 6, 30), "month").label == "2022年6月"
    assert span_at(date(2022, 5, 31), "quarter").label == "2022年第2季度（4—5月）"
    assert span_at(date(2022, 6, 30), "year").label == "2022年（1—6月）"
    assert span_at(date(2022, 6, 15), "quarter").previous().label == "2022年第1季度"
    assert [s.label for s in span_at(date(2022, 2, 10), "month").months_before(2)] == ["2021年12月", "2022年1月"]


@pytest.mark.parametrize(("value", "target", "better", "score", "state"), [
    (95, 90, "higher", 95 / 90, "met"), (85, 90, "higher", 85 / 90, "near"), (50, 90, "higher", 50 / 90, "missed"),
    (200, 90, "higher", 1.2, "met"), (10, 20, "lower", 1.2, "met"), (21, 20, "lower", 20 / 21, "near"),
    (0, 20, "lower", 1.2, "met"), (5, 0, "lower", 0.0, "missed"), (None, 90, "higher", None, None),
    (50, None, "higher", None, None),
])
def test_score_and_status(value, target, better, score, state) -> None:
    s = assessment.score(value, target, better, 1.2)
    assert (s is None and score is None) or s == pytest.approx(score)
    assert assessment.status(s, 0.9) == state


def test_historic_target_is_mean_minus_one_sd() -> None:
    assert assessment.historic([80, 90, 100], "higher") == pytest.approx(90 - 10)
    assert assessment.historic([10, 20, 30], "lower") == pytest.approx(20 + 10)
    assert assessment.historic([1, 1, 1, 1, 9], "higher") == 0.0  # never below zero


def test_shipped_targets_point_the_metrics_way(cur: duckdb.DuckDBPyConnection) -> None:
    table = assessment.targets(cur)
    assert len(table) and table["direction_ok"].all()
    assert set(table["metric"]) <= set(TARGETABLE)
    weights = cur.execute("SELECT metric FROM assessment_metrics").fetchall()
    assert {m for m, in weights} == set(assessment.NUMDEN)


# --- KPI cards' targets ----------------------------------------------------------------------------------------

OWN = targets.Overlay(1, (targets.Override("head_coverage", "社区", "天佑社区", "全部", 70.0, "政策", edited_by="boss"),))


@pytest.mark.parametrize(("communities", "overlay", "metric", "target", "source"), [
    ((), None, "head_coverage", 90.0, "自定"),  # all communities: the sub-district's
    (("天佑社区",), None, "head_coverage", 80.0, "自定，同类组「小型」"),  # a small community: its peer group's
    (("桂南社区",), None, "head_coverage", 90.0, "自定"),  # a large one: no group target, the sub-district's
    (("天佑社区", "桂南社区"), None, "head_coverage", 90.0, "自定"),  # two communities: the sub-district's
    (("天佑社区",), OWN, "head_coverage", 70.0, "政策，本社区，管理员修改"),  # its own, edited, before the group's
    (("桂南社区",), OWN, "head_coverage", 90.0, "自定"),  # another community's edit does not apply
    ((), None, "resolution_rate", 90.0, "自定"),  # a card's window is not a 考核 period: 全部, never 月 (50)
    ((), None, "heads_per_100_households", None, None),  # no explicit target: a card shows none (no history)
])
def test_card_targets_choose_the_most_specific_explicit_target(cur: duckdb.DuckDBPyConnection, communities: tuple,
                                                               overlay, metric: str, target, source) -> None:
    got = assessment.card_targets(cur, Filters(communities=communities), overlay or targets.NO_OVERLAY).get(metric)
    assert (got and (got["target"], got["source"])) == ((target, source) if target is not None else None)


CARD = {"target": 90.0, "text": "目标 ≥ 90.0%", "amber": 0.9, "cap": 1.2}
LOW = {"target": 20.0, "text": "目标 ≤ 20.0%", "amber": 0.9, "cap": 1.2}


@pytest.mark.parametrize(("metric", "value", "target", "state", "words"), [
    ("resolution_rate", 95.0, CARD, "met", "✓ 达标 · 目标 ≥ 90.0%"),
    ("resolution_rate", 85.0, CARD, "near", "△ 接近 · 目标 ≥ 90.0%"),
    ("resolution_rate", 60.0, CARD, "missed", "× 未达标 · 目标 ≥ 90.0%"),
    ("resolution_rate", None, CARD, None, "目标 ≥ 90.0%"),  # no value: the target named, no status
    ("repeat_rate", 15.0, LOW, "met", "✓ 达标 · 目标 ≤ 20.0%"),  # lower is better
    ("repeat_rate", 25.0, LOW, "missed", "× 未达标 · 目标 ≤ 20.0%"),
    ("resolution_rate", 95.0, None, None, None),  # no target: nothing on the card
])
def test_a_card_is_judged_against_its_target(metric: str, value, target, state, words) -> None:
    assert assessment.judge_card(metric, value, target) == (state, words)


# --- warnings on crafted ledgers -----------------------------------------------------------------------------

CASE_HEADER = ["事项编号", "社区", "小区", "类别", "登记日期", "办结日期"]
VOL_HEADER = ["姓名", "职务", "社区", "小区", "楼栋", "联系电话", "政治面貌", "任职日期", "离任日期"]
ACT_HEADER = ["主题", "所属社区", "活动类型", "开展时间", "参加人次", "主办"]
AS_OF = date(2022, 6, 30)


def ledgers(folder: Path, fire: bool) -> list[Path]:
    """桂南社区: one overdue case, a compound with three 停车 cases in 90 days, a compound whose 楼长 left,
    activities up to March; 江滨社区: May all resolved, June none resolved; 海舟社区: two cases open longer
    than 桂南社区's (the later one with the lower number). ``fire=False``: the same situations just short of
    each rule."""
    folder.mkdir(parents=True, exist_ok=True)
    gn = [CASE_HEADER,
          ["GN-1", "桂南社区", "金地珑悦", "环境卫生", "2022-05-01" if fire else "2022-06-20", ""],
          ["GN-2", "桂南社区", "翠林家园", "停车", "2022-04-10" if fire else "2022-03-01", "2022-04-11" if fire else "2022-03-02"],
          ["GN-3", "桂南社区", "翠林家园", "停车", "2022-05-10", "2022-05-11"],
          ["GN-4", "桂南社区", "翠林家园", "停车", "2022-06-10", "2022-06-11"]]
    jb = [CASE_HEADER] + [[f"JB-5{i}", "江滨社区", "", "邻里矛盾", f"2022-05-0{i}", f"2022-05-1{i}"] for i in range(1, 6)] \
        + [[f"JB-6{i}", "江滨社区", "", "邻里矛盾", f"2022-06-0{i}", "" if fire else f"2022-06-1{i}"] for i in range(1, 6)]
    hz = [CASE_HEADER, ["HZ-1", "海舟社区", "", "邻里矛盾", "2022-04-01" if fire else "2022-06-10", ""],
          ["HZ-2", "海舟社区", "", "邻里矛盾", "2022-03-01" if fire else "2022-06-05", ""]]
    vol = [VOL_HEADER, ["陈大文", "楼长", "桂南社区", "碧水雅居", "3座", "13800138000", "群众", "2020-01-01", "2022-04-01"]]
    if not fire:
        vol.append(["李小红", "楼长", "桂南社区", "碧水雅居", "5座", "13800138001", "群众", "2021-01-01", ""])
    act = [ACT_HEADER, ["邻里节", "桂南社区", "邻里节", "2021-10-01", "200", "桂南社区"],
           ["宣讲", "桂南社区", "宣讲", "2022-03-15" if fire else "2022-05-20", "30", "桂南社区"]]
    return [write_csv(folder / "桂南社区_事项台账.csv", gn), write_csv(folder / "江滨社区_事项台账.csv", jb),
            write_csv(folder / "海舟社区_事项台账.csv", hz),
            write_csv(folder / "桂南社区_三长名册.csv", vol), write_csv(folder / "桂南社区_活动台账.csv", act)]


RAISED = {"overdue_open": "60", "repeat_hotspot": "4", "head_vacancy": "120", "below_target": "60",
          "mom_drop": "100", "overdue_ledger": "3"}


def reference(folder: Path, thresholds: dict[str, str] | None = None, disabled: set[str] = frozenset()) -> Path:
    """A copy of the reference data with some warning thresholds changed or rules switched off."""
    shutil.copytree(ROOT / "data" / "reference", folder)
    rules = pd.read_csv(folder / "alert_rules.csv", dtype=str, keep_default_na=False)
    for rule, value in (thresholds or {}).items():
        rules.loc[rules["rule"] == rule, "threshold"] = value
    rules.loc[rules["rule"].isin(disabled), "enabled"] = "0"
    rules.to_csv(folder / "alert_rules.csv", index=False)
    return folder


@pytest.fixture(scope="module")
def warning_dbs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("warnings")
    out = {}
    for name, fire, ref in (("fire", True, None), ("silent", False, None),
                            ("raised", True, reference(root / "raised-ref", RAISED)),
                            ("disabled", True, reference(root / "off-ref", disabled=set(RAISED)))):
        db = root / f"{name}.duckdb"
        load_files(ledgers(root / name, fire), db, ref=load_reference(ref) if ref else None, limits=None)
        out[name] = db
    return out


WHERE = {  # each rule and the warning it should raise on the crafted ledgers
    "overdue_open": "桂南社区",
    "repeat_hotspot": "桂南社区 · 翠林家园 · 停车难问题",
    "head_vacancy": "桂南社区 · 碧水雅居",
    "below_target": "江滨社区 · 办结率",
    "mom_drop": "江滨社区 · 办结率",
    "overdue_ledger": "桂南社区 · 活动台账",
}


@functools.cache
def warnings_in(db: Path) -> pd.DataFrame:
    """The warnings of a crafted database at AS_OF (computed once per database: the rule tests share them)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return assessment.alerts(con.cursor(), Filters(as_of=AS_OF))
    finally:
        con.close()


@pytest.mark.parametrize("rule", list(WHERE))
@pytest.mark.parametrize(("db", "fires"), [("fire", True), ("silent", False), ("raised", False), ("disabled", False)])
def test_each_warning_rule_fires_exactly_when_it_should(warning_dbs: dict[str, Path], rule: str, db: str,
                                                        fires: bool) -> None:
    found = warnings_in(warning_dbs[db])
    hit = found[(found["rule"] == rule) & (found["where"] == WHERE[rule])]
    assert len(hit) == (1 if fires else 0), found[["rule", "where", "value"]].to_string()


def test_warnings_name_rule_threshold_value_and_rows(warning_dbs: dict[str, Path]) -> None:
    found = warnings_in(warning_dbs["fire"]).set_index(["rule", "where"])
    expect = {
        "overdue_open": ("超过服务时限", "1 件超时未办结，最久已办理 60 天（小区卫生问题，时限 15 天）"),
        "repeat_hotspot": ("同一小区同一类别 90 天内 ≥ 3 次", "近 90 天登记 3 次（2022年4月10日—2022年6月10日）"),
        "head_vacancy": ("小区无在任楼长 ≥ 30 天", "已空缺 90 天（2022年4月1日最后一位楼长离任）"),
        "mom_drop": ("比上月下降超过 10 个百分点", "2022年6月 0.0%，2022年5月 100.0%，下降 100.0 个百分点"),
        "overdue_ledger": ("落后于应报月份", "已报至 2022年3月，落后 2 个月（应报至 2022年5月）"),
    }
    for rule, (threshold, value) in expect.items():
        row = found.loc[(rule, WHERE[rule])]
        assert (row["threshold"], row["value"]) == (threshold, value), rule
    assert found.loc[("below_target", WHERE["below_target"]), "value"].startswith("2022年6月 0.0%，目标 ≥ 50.0%")
    con = duckdb.connect(str(warning_dbs["fire"]), read_only=True)
    try:
        for rule in WHERE:
            rows = assessment.rows(con.cursor(), found.loc[(rule, WHERE[rule]), "drill"])
            assert len(rows.frame), rule
            assert "source_file" in rows.frame.columns and "source_file" in rows.columns, rule
            if rule != "overdue_ledger":  # a submission is a file, not a row
                assert rows.frame["source_row"].notna().all(), rule
        oldest = assessment.rows(con.cursor(), found.loc[("overdue_open", "桂南社区"), "drill"]).frame
        assert list(oldest["case_id"]) == ["GN-1"] and list(oldest["source_file"]) == ["桂南社区_事项台账.csv"]
        assert list(oldest["source_row"]) == [2]
    finally:
        con.close()


@pytest.mark.parametrize(("db", "communities", "cases", "lines"), [
    ("fire", ["海舟社区", "桂南社区"], ["HZ-2", "HZ-1"], [3, 2]),
    ("raised", ["海舟社区"], ["HZ-2"], [3]),  # 60 days' slack: only the case open 121 days (HZ-1: 90, not more)
    ("silent", [], [], []),
])
def test_overdue_cases_come_oldest_first(warning_dbs: dict[str, Path], db: str, communities: list[str],
                                         cases: list[str], lines: list[int]) -> None:
    """超时未办结: the communities by their oldest open case (海舟社区 121 days before 桂南社区 60, against the
    names' order), and behind a warning its cases oldest first (HZ-2 before HZ-1, against their numbers),
    with their source lines."""
    found = warnings_in(warning_dbs[db])
    overdue = found[found["rule"] == "overdue_open"]
    assert list(overdue["where"]) == communities
    for drill in overdue["drill"].head(1):
        con = duckdb.connect(str(warning_dbs[db]), read_only=True)
        try:
            rows = assessment.rows(con.cursor(), drill).frame
        finally:
            con.close()
        assert (list(rows["case_id"]), list(rows["source_row"])) == (cases, lines)


def test_thresholds_are_read_from_the_reference_data(warning_dbs: dict[str, Path]) -> None:
    con = duckdb.connect(str(warning_dbs["raised"]), read_only=True)
    try:
        rules = assessment.alert_rules_table(con.cursor()).set_index("rule")
    finally:
        con.close()
    assert {r: f"{rules.loc[r, 'threshold']:g}" for r in RAISED} == RAISED


# --- the rows behind a league cell -------------------------------------------------------------------------------

@pytest.mark.parametrize("metric", assessment.CASE_METRICS)
def test_the_rows_behind_a_cell_count_to_its_figure(cur: duckdb.DuckDBPyConnection, metric: str) -> None:
    league = assessment.league_table(cur, Filters(as_of=date(2022, 6, 15)), "quarter")
    for community in ("桂南社区", SUBDISTRICT):
        cell = league.cells[(league.cells["community"] == community) & (league.cells["metric"] == metric)].iloc[0]
        drill = Drill("metric", metric, None if community == SUBDISTRICT else community, league.span.end,
                      league.span.start)
        rows = assessment.rows(cur, drill)
        assert len(rows.frame) == cell["den"], (community, metric)
        assert (rows.frame["counted"] == "是").sum() == cell["num"], (community, metric)
        assert rows.frame["source_file"].notna().all() and rows.frame["source_row"].notna().all()
        assert rows.definition == METRICS[metric].definition


@pytest.mark.parametrize(("metric", "column"), [("head_coverage", "compounds_with_heads"),
                                                 ("organizations_per_1000_households", "organizations"),
                                                 ("participation_per_100_households", "participants")])
def test_the_rows_behind_a_stock_cell(cur: duckdb.DuckDBPyConnection, metric: str, column: str) -> None:
    league = assessment.league_table(cur, Filters(), "quarter")
    cell = league.cells[(league.cells["community"] == "桂南社区") & (league.cells["metric"] == metric)].iloc[0]
    rows = assessment.rows(cur, Drill("metric", metric, "桂南社区", league.span.end, league.span.start))
    assert len(rows.frame) and rows.frame["source_file"].notna().all() and rows.frame["source_row"].notna().all()
    if metric == "head_coverage":
        assert rows.frame["compound"].nunique() == cell["num"]  # 楼长 serving, by compound
        assert len(rows.extra) == cell["den"] - cell["num"]  # the compounds without one
    elif metric == "participation_per_100_households":
        assert rows.frame["participants"].fillna(0).sum() == cell["num"]
    else:
        assert len(rows.frame) == cell["num"]


# --- administrators' target edits ------------------------------------------------------------------------------

def save(user: auth.User | None, state: Path, value: float = 95.0, version: int = 0, **key) -> targets.Overlay:
    spec = {"metric": "resolution_rate", "scope_kind": "街道", "scope": "", "period": "全部", **key}
    return targets.set_target(user, **spec, target=value, source="政策", note="2022年考核文件", base=90.0,
                              expected_version=version, targetable=KINDS, client="10.0.0.8",
                              file=state / "assessment" / "targets.json")


@pytest.mark.parametrize("user", [VIEWER, ANALYST, auth.User("zhang", "张三", "viewer", "桂南社区"), None])
def test_a_target_edit_is_refused_for_anyone_but_an_admin(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                          user: auth.User | None) -> None:
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path))
    with pytest.raises(targets.NotAllowed, match="只有街道办管理员"):
        save(user, tmp_path)
    assert not (tmp_path / "assessment" / "targets.json").exists()
    assert targets.history() == []


def test_a_target_edit_is_saved_audited_and_versioned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path))
    file = tmp_path / "assessment" / "targets.json"
    first = save(ADMIN, tmp_path, 95.0)
    assert first.version == 1 and targets.load(file).entries[0].target == 95.0
    second = save(ADMIN, tmp_path, 93.0, version=1)
    assert second.version == 2 and targets.load(file).get(("resolution_rate", "街道", "", "全部")).target == 93.0
    with pytest.raises(targets.TargetEditError, match="其他管理员修改"):
        save(ADMIN, tmp_path, 80.0, version=1)  # made against an older version: refused
    with pytest.raises(targets.TargetEditError, match="不能超过 100"):
        save(ADMIN, tmp_path, 120.0, version=2)
    log = targets.history()
    assert [(e["action"], e["user"], e["client"], e["old"] and e["old"]["target"], e["new"]["target"]) for e in log] == [
        ("set", "boss", "10.0.0.8", 95.0, 93.0), ("set", "boss", "10.0.0.8", None, 95.0)]
    assert log[0]["metric"] == "resolution_rate" and log[0]["default"] == 90.0
    third = targets.remove_target(ADMIN, ("resolution_rate", "街道", "", "全部"), expected_version=2, file=file)
    assert third.version == 3 and third.entries == ()
    assert targets.history()[0]["action"] == "remove"
    lines = (tmp_path / "audit" / "targets.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3 and all(json.loads(line)["when"] for line in lines)


def test_a_target_edit_survives_a_reload_and_is_flagged_when_the_default_moves(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The overlay lives outside the database: a new load (here with a changed default) keeps the edit, and the
    edit is marked because the default it replaced has changed since."""
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path / "state"))
    db = tmp_path / "db.duckdb"
    files = ledgers(tmp_path / "ledgers", fire=True)  # a few rows: the targets come from the reference data
    load_files(files, db, limits=None)
    save(ADMIN, tmp_path / "state", 95.0)
    ref = shutil.copytree(ROOT / "data" / "reference", tmp_path / "ref")
    text = (ref / "targets.csv").read_text(encoding="utf-8")
    (ref / "targets.csv").write_text(text.replace("resolution_rate,街道,,全部,90,", "resolution_rate,街道,,全部,92,"),
                                     encoding="utf-8")
    report = load_files(files, db, ref=load_reference(ref), limits=None)
    assert report.published  # a new version of the database replaced the old file
    con = duckdb.connect(str(db), read_only=True)
    try:
        table = assessment.targets(con.cursor(), targets.load())
    finally:
        con.close()
    row = table[(table["metric"] == "resolution_rate") & (table["scope_kind"] == "街道") & (table["period"] == "全部")]
    assert row[["target", "origin", "default", "conflict"]].iloc[0].tolist() == [95.0, "修改", 92.0, True]


@pytest.fixture
def private_state(sample_db: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> Path:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(tmp_path))
    return tmp_path


def test_a_saved_target_is_seen_by_another_session_at_once(private_state: Path) -> None:
    admin = AppTest.from_file(APP, default_timeout=120).run()
    admin.switch_page("pages/targets.py").run()
    assert not admin.exception and not admin.error
    admin.selectbox(key="tf_metric").set_value("resolution_rate").run()
    admin.number_input(key="tf_target_resolution_rate").set_value(99.0)
    admin.selectbox(key="tf_source").set_value("政策")
    admin.button(key="tf_save").click().run()
    assert not admin.exception and not admin.error, [e.value for e in admin.error]
    assert any("已保存" in s.value for s in admin.success)
    other = AppTest.from_file(APP, default_timeout=120).run()  # a second browser session
    other.switch_page("pages/cases.py").run()
    card = next(m for m in other.metric if m.label == "办结率")
    assert "目标 ≥ 99.0%" in card.proto.delta
    log = json.loads((private_state / "audit" / "targets.jsonl").read_text(encoding="utf-8").splitlines()[-1])
    assert (log["user"], log["metric"], log["new"]["target"]) == ("local", "resolution_rate", 99.0)


# --- community accounts ----------------------------------------------------------------------------------------

def test_a_community_account_sees_its_own_row_without_ranks(sample_db: Path) -> None:
    cur = scope.scoped("桂南社区", sample_db).cursor()
    league = assessment.league_table(cur, Filters().only("桂南社区"), "month", compare=False)
    assert list(league.table["community"]) == ["桂南社区"]
    assert league.table[["index", "rank", "prev_rank", "change"]].isna().all().all()
    assert league.movers.empty and "ledger_on_time_rate" not in set(league.metrics["metric"])
    assert not league.cells["target_source"].fillna("").str.contains("街道中位数").any()
    found = assessment.alerts(cur, Filters().only("桂南社区"), compare=False)
    assert set(found["community"]) <= {"桂南社区"} and "overdue_ledger" not in set(found["rule"])


def test_a_community_account_cannot_open_other_rows() -> None:
    from chuangshu import ui

    with pytest.raises(scope.ScopeError):
        ui.scoped_args("rows", (Drill("metric", "resolution_rate", "江滨社区", AS_OF),), "桂南社区")
    with pytest.raises(scope.ScopeError):
        ui.scoped_args("rows", (Drill("alert", "overdue_ledger", "桂南社区", AS_OF),), "桂南社区")
    with pytest.raises(scope.ScopeError):
        ui.scoped_args("rows", (Drill("metric", "resolution_rate", None, AS_OF),), "桂南社区")
    assert ui.scoped_args("rows", (Drill("metric", "resolution_rate", "桂南社区", AS_OF),), "桂南社区")


# --- the 考核 page ----------------------------------------------------------------------------------------------

@pytest.fixture
def page(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch, nav_apptest: None) -> AppTest:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    at = AppTest.from_file(APP, default_timeout=120).run()
    at.switch_page("pages/assessment.py").run()
    assert not at.exception and not at.error
    return at


def test_the_page_shows_the_metric_layers_league(page: AppTest, cur: duckdb.DuckDBPyConnection) -> None:
    league = assessment.league_table(cur, Filters(), "month", targets.load())
    table = page.dataframe[0].value
    assert list(table["community"]) == list(league.table["community"])
    assert table["rank"].tolist() == league.table["rank_label"].tolist()
    assert table["change"].tolist() == league.table["change_label"].tolist()
    assert any(h.value == f"{league.span.label}考核" for h in page.subheader)
    sidebar_links = [link.proto.label for link in page.get("page_link")]
    found = assessment.alerts(cur, Filters())
    assert f"预警 {len(found):,} 条" in sidebar_links
    assert {m.label: m.value for m in page.metric}["预警"] == f"{len(found):,} 条"


def test_a_clicked_red_cell_leads_to_its_rows_and_source_lines(page: AppTest) -> None:
    frame = page.dataframe[0].value
    row = list(frame["community"]).index("桂南社区")
    page.session_state["league"] = {"selection": {"rows": [], "columns": [], "cells": [[row, "resolution_rate"]]}}
    page.run()
    assert not page.exception and not page.error
    heading = [m.value for m in page.markdown if m.value.startswith("**桂南社区 · ")]
    assert heading and "办结率" in heading[0]
    assert any(c.value.startswith("口径：") for c in page.caption)
    rows = page.dataframe[1].value
    assert {"source_file", "source_row", "counted"} <= set(rows.columns) and len(rows)
    page.session_state["alerts"] = {"selection": {"rows": [0], "columns": [], "cells": []}}
    page.run()
    assert not page.exception
    assert any("source_row" in d.value.columns for d in page.dataframe[2:])


def test_the_definitions_show_every_weight_and_formula(page: AppTest, cur: duckdb.DuckDBPyConnection) -> None:
    """口径 on the page: the index's formula, and per metric its weight and min_base from the reference data
    and its definition from the registry; every warning rule with its threshold."""
    reference = cur.execute("SELECT metric, weight, min_base FROM assessment_metrics ORDER BY sort_order").df()
    (shown,) = [d.value for d in page.dataframe if "weight" in d.value.columns]
    assert list(shown["label"]) == [METRICS[m].label for m in reference["metric"]]
    assert list(shown["weight"]) == list(reference["weight"]) and list(shown["min_base"]) == list(reference["min_base"])
    assert list(shown["definition"]) == [METRICS[m].definition for m in reference["metric"]]
    assert any(METRICS["assessment_index"].definition in m.value for m in page.markdown)
    rules = cur.execute("SELECT title FROM alert_rules ORDER BY sort_order").fetchall()
    (listed,) = [d.value for d in page.dataframe if "threshold_text" in d.value.columns]
    assert list(listed["title"]) == [t for t, in rules] and listed["threshold_text"].notna().all()


@pytest.mark.parametrize(("day", "grain", "heading"), [
    (15, "month", "2022年6月（截至15日）考核"), (15, "quarter", "2022年第2季度（截至6月15日）考核"),
    (30, "year", "2022年（1—6月）考核"),
])
def test_the_page_follows_the_as_of_date_and_the_period(page: AppTest, cur: duckdb.DuckDBPyConnection, day: int,
                                                         grain: str, heading: str) -> None:
    """The sidebar's as-of date and the page's switch choose the period; a cut-short one says so, and the
    table is the metric layer's for that date (a mid-month date counts the days so far)."""
    page.selectbox(key="f_as_of_d").set_value(day).run()
    page.radio(key="assess_grain").set_value(grain).run()
    assert not page.exception and not page.error
    assert heading in [h.value for h in page.subheader]
    league = assessment.league_table(cur, Filters(as_of=date(2022, 6, day)), grain, targets.load())
    shown = page.dataframe[0].value
    assert list(shown["community"]) == list(league.table["community"])
    assert list(shown["rank"]) == list(league.table["rank_label"])


def test_the_period_switch_and_peer_groups(page: AppTest) -> None:
    page.radio(key="assess_grain").set_value("quarter").run()
    assert any(h.value == "2022年第2季度考核" for h in page.subheader)
    page.selectbox(key="assess_group").set_value("小型").run()
    assert not page.exception
    table = page.dataframe[0].value
    assert "全街道" not in list(table["community"]) and len(table) == 15


def test_a_community_account_on_the_page(sample_db: Path, app_state_dir: Path, monkeypatch: pytest.MonkeyPatch,
                                         nav_apptest: None) -> None:
    monkeypatch.setenv("CHUANGSHU_DB", str(sample_db))
    monkeypatch.setenv("CHUANGSHU_STATE_DIR", str(app_state_dir))
    auth.LIMITER.reset()
    h = auth.hash_password("correct-horse-1", n=2**10)
    at = AppTest.from_file(APP, default_timeout=120)
    at.secrets.update({"users": {"zhang": {"name": "张三", "role": "viewer", "community": "桂南社区",
                                           "password_hash": h}}})
    at.session_state["auth_username"] = "zhang"
    at.run()
    at.switch_page("pages/assessment.py").run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    league = at.dataframe[0].value
    assert list(league["community"]) == ["桂南社区"] and league["index"].isna().all()
    assert set(league["rank"]) == set(league["change"]) == {"—"}
    assert at.selectbox(key="assess_group").disabled
    assert not any(h.value == "名次变化最大的社区" for h in at.subheader)
    assert any("仅街道办账号可见" in c.value for c in at.caption)
    for frame in at.dataframe:
        if "community" in frame.value.columns:
            assert set(frame.value["community"].dropna()) <= {"桂南社区"}


def test_the_brief_for_small_screens_agrees_with_the_league(cur: duckdb.DuckDBPyConnection) -> None:
    brief = assessment.league_brief(cur, Filters(), "month")
    league = assessment.league_table(cur, Filters(), "month")
    ranked = league.table.dropna(subset=["rank"]).sort_values(["rank", "community"])
    assert list(brief["top"]["community"]) == list(ranked["community"].head(5))
    assert list(brief["bottom"]["community"]) == list(ranked["community"].tail(5))[::-1]
    assert brief["period"] == "2022年6月" and brief["ranked_of"] == league.ranked_of
    assert brief["alert_total"] == len(assessment.alerts(cur, Filters())) == sum(brief["alerts"].values())


def test_the_shown_table_says_why_a_community_has_no_rank(cur: duckdb.DuckDBPyConnection) -> None:
    """The page's cells themselves (a null cell shows empty in the grid whatever the styler says): an unranked
    community reads 样本不足, a newly ranked one 新进, the others their rank and ↑3 / ↓2 / 持平."""
    from chuangshu import assessment_ui

    league = assessment.league_table(cur, Filters(), "month")
    frame = assessment_ui.league_frame(league).set_index("community")
    t = league.table.set_index("community")
    few = t[(t.index != SUBDISTRICT) & (t["received"] < league.min_cases)].index
    assert len(few) and set(frame.loc[few, "rank"]) == {"样本不足"}
    ranked = t["rank"].notna()
    assert (frame.loc[ranked, "rank"] == t.loc[ranked, "rank"].astype(int).astype(str)).all()
    assert frame["rank"].notna().all() and frame["change"].notna().all()
    new = t[ranked & t["prev_rank"].isna()].index
    assert len(new) and set(frame.loc[new, "change"]) == {"新进"}
