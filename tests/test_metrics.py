"""The metric layer against the published figures (facts.md) and against independent pandas counts."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from chuangshu import metrics
from chuangshu.filters import Filters

FACTS = {  # published figures, cumulative as of 2022-06-30 (facts.md: "exact")
    "communities": 45, "compounds_with_heads": 149, "associations": 51, "self_gov_groups": 58,
    "volunteers": 2186, "building_heads": 2142, "lane_street_heads": 44, "social_orgs": 233,
    "red_committees": 7, "stations": 38, "elevators": 139, "disputes": 1463, "hygiene": 1247,
    "security": 185, "facilities": 1839, "safety": 368, "parking": 536,
}


@pytest.fixture(scope="module")
def frames(cur) -> dict[str, pd.DataFrame]:
    """The public views as plain DataFrames: the independent side of every comparison."""
    return {v: cur.execute(f"SELECT * FROM {v}").df()
            for v in ("cases", "volunteers", "organizations", "categories", "communities", "micro_projects",
                      "compounds")}


@pytest.mark.parametrize(("key", "expected"), FACTS.items())
def test_default_view_reproduces_published_figures(cur, key: str, expected: int) -> None:
    head = metrics.headline(cur, Filters()).set_index("key")
    assert head.loc[key, "value"] == expected


def test_wechat_groups_over_1400_and_five_case_sum(cur) -> None:
    head = metrics.headline(cur, Filters()).set_index("key")
    assert head.loc["wechat_groups", "value"] > 1400
    assert sum(head.loc[k, "value"] for k in metrics.CATEGORY_METRIC.values()) == 5777


def test_open_cases_and_departed_volunteers_exist_beside_the_figures(frames) -> None:
    cases, vols = frames["cases"], frames["volunteers"]
    assert cases["resolved_on"].isna().sum() > 0
    assert vols["left_on"].notna().sum() > 0


def _active(df: pd.DataFrame, start: str, end: str, at: date) -> pd.DataFrame:
    at_ts = pd.Timestamp(at)
    s, e = pd.to_datetime(df[start]), pd.to_datetime(df[end])
    return df[(s <= at_ts) & (e.isna() | (e > at_ts))]


FILTERS = [
    Filters(),
    Filters(as_of=date(2020, 12, 31), year_from=2018, year_to=2020),
    Filters(communities=("桂南社区", "江滨社区")),
    Filters(as_of=date(2019, 6, 30), year_from=2011, year_to=2019, communities=("灯湖社区",)),
]


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.describe())
def test_headline_equals_independent_pandas_count(cur, frames, f: Filters) -> None:
    head = metrics.headline(cur, f).set_index("key")
    cases = frames["cases"]
    if f.communities:
        cases = cases[cases["community"].isin(f.communities)]
    resolved = pd.to_datetime(cases["resolved_on"])
    in_window = cases[(resolved >= pd.Timestamp(f.start)) & (resolved <= pd.Timestamp(f.end))]
    for category, key in metrics.CATEGORY_METRIC.items():
        assert head.loc[key, "value"] == (in_window["category"] == category).sum(), key
    vols = frames["volunteers"]
    orgs = frames["organizations"]
    if f.communities:
        vols = vols[vols["community"].isin(f.communities)]
        orgs = orgs[orgs["community"].isin(f.communities)]
    active = _active(vols, "appointed_on", "left_on", f.end)
    assert head.loc["volunteers", "value"] == active["person_id"].nunique()
    assert head.loc["building_heads", "value"] == active[active["role"] == "楼长"]["person_id"].nunique()
    heads = active[(active["role"] == "楼长") & active["compound"].notna()]
    assert head.loc["compounds_with_heads", "value"] == len(heads[["community", "compound"]].drop_duplicates())
    live = _active(orgs, "founded_on", "dissolved_on", f.end)
    for kind, key in metrics.ORG_METRIC.items():
        assert head.loc[key, "value"] == (live["kind"] == kind).sum(), key


@pytest.mark.parametrize("f", FILTERS, ids=lambda f: f.describe())
def test_category_table_equals_independent_pandas_count(cur, frames, f: Filters) -> None:
    table = metrics.category_table(cur, f).set_index("category")
    cases = frames["cases"].copy()
    if f.communities:
        cases = cases[cases["community"].isin(f.communities)]
    rep, res = pd.to_datetime(cases["reported_on"]), pd.to_datetime(cases["resolved_on"])
    start, end = pd.Timestamp(f.start), pd.Timestamp(f.end)
    sla = frames["categories"].set_index("category")["sla_days"]
    for category in table.index:
        mine = cases["category"] == category
        received = mine & (rep >= start) & (rep <= end)
        resolved = mine & (res >= start) & (res <= end)
        days = (res - rep).dt.days
        assert table.loc[category, "received"] == received.sum()
        assert table.loc[category, "resolved"] == resolved.sum()
        done = (received & (res <= end)).sum()
        expected_rate = None if not received.sum() else 100 * done / received.sum()
        assert table.loc[category, "resolution_rate"] == pytest.approx(expected_rate)
        if resolved.sum():
            assert table.loc[category, "median_days"] == pytest.approx(days[resolved].median())
            on_time = (resolved & (days <= sla[category])).sum()
            assert table.loc[category, "on_time_rate"] == pytest.approx(100 * on_time / resolved.sum())
        backlog = mine & (rep <= end) & (res.isna() | (res > end))
        assert table.loc[category, "open_backlog"] == backlog.sum()


def test_resolved_is_not_confused_with_successful(cur) -> None:
    table = metrics.category_table(cur, Filters()).set_index("category")
    disputes = table.loc["邻里矛盾"]
    assert disputes["success"] < disputes["resolved"]
    assert 0 < disputes["mediation_success_rate"] < 100


def test_year_over_year_compares_the_same_window_a_year_earlier(cur) -> None:
    f = Filters(year_from=2021, year_to=2021, as_of=date(2021, 12, 31))
    this = metrics.headline(cur, f).set_index("key")
    last = metrics.headline(cur, Filters(year_from=2020, year_to=2020, as_of=date(2020, 12, 31))).set_index("key")
    assert this.loc["disputes", "prior"] == last.loc["disputes", "value"]
    assert this.loc["volunteers", "prior"] == last.loc["volunteers", "value"]


def test_community_ranking_applies_minimum_count_rule(cur) -> None:
    ranking = metrics.community_ranking(cur, Filters(year_from=2022, year_to=2022))
    small = ranking[ranking["received"] < metrics.MIN_CASES_FOR_RATE]
    assert small["resolution_rate"].isna().all()
    assert len(ranking) == 45


def test_micro_project_totals_equal_pandas(cur, frames) -> None:
    totals = metrics.micro_project_totals(cur, Filters())
    mp = frames["micro_projects"]
    mp = mp[pd.to_datetime(mp["applied_on"]) <= pd.Timestamp(date(2022, 6, 30))]
    assert totals["applications"] == len(mp)
    funded = mp[mp["is_funded"]]
    assert totals["funds_granted"] == pytest.approx(float(funded["amount_yuan"].astype(float).sum()) / 10000)


def test_metric_docs_are_generated_from_the_registry() -> None:
    from chuangshu import metric_docs

    assert metric_docs.DOC.read_text(encoding="utf-8") == metric_docs.to_markdown(), \
        "docs/metrics.md is stale: run python -m chuangshu.metric_docs"


def test_every_metric_shown_has_a_definition_and_unit() -> None:
    for m in metrics.METRICS.values():
        assert m.label and m.unit and len(m.definition) > 10, m.key



@pytest.mark.parametrize(("shown", "total", "owner", "noun", "title"), [
    (15, 45, "", "社区", "受理事项最多的 15 个社区"),  # the top of a longer list
    (10, 23, "桂南社区", "小区", "桂南社区受理事项最多的 10 个小区"),
    (6, 6, "夏北社区", "小区", "夏北社区各小区受理事项"),  # every compound shown: not a top list
    (1, 1, "", "社区", "各社区受理事项"),  # one community selected: no "最多的 1 个"
    (0, 0, "", "小区", "各小区受理事项"),  # nothing to rank (the chart shows its empty state)
])
def test_a_ranking_title_says_top_only_when_it_cuts_the_list(shown: int, total: int, owner: str, noun: str,
                                                              title: str) -> None:
    assert metrics.top_title("受理事项", noun, shown, total, owner) == title

# --- totals-level rates against independent counts (each written from its 口径, not from the SQL) ------

TOTALS_FILTERS = [
    *FILTERS,
    Filters(categories=("停车", "邻里矛盾")),
    Filters(as_of=date(2021, 9, 15), year_from=2019, year_to=2021, communities=("夏北社区", "桂南社区"),
            categories=("停车", "邻里矛盾")),
    Filters(as_of=date(2012, 12, 31), year_from=2011, year_to=2012),  # before the first case
]


def _window(f: Filters) -> tuple[pd.Timestamp, pd.Timestamp]:
    return pd.Timestamp(f.start), pd.Timestamp(f.end)


def _pct(num: float, den: float) -> float | None:
    return None if not den else 100 * num / den


def _repeats(cases: pd.DataFrame) -> pd.Series:
    """Per case: an earlier case (or one of the same day) of the same compound and category at most 90 days before."""
    c = cases[cases["compound"].notna()].copy()
    c["day"] = pd.to_datetime(c["reported_on"])
    c = c.sort_values(["community", "compound", "category", "day", "case_id"])
    gap = c.groupby(["community", "compound", "category"])["day"].diff().dt.days
    return (gap <= 90).reindex(cases.index, fill_value=False)


@pytest.mark.parametrize("f", TOTALS_FILTERS, ids=lambda f: f.describe())
def test_service_totals_equal_independent_counts(cur, frames, f: Filters) -> None:
    totals = metrics.service_totals(cur, f)
    cases = frames["cases"]
    repeat = _repeats(cases)  # looks back across all the community's cases, not only the window's
    if f.communities:
        cases = cases[cases["community"].isin(f.communities)]
    if f.categories:
        cases = cases[cases["category"].isin(f.categories)]
    start, end = _window(f)
    rep, res = pd.to_datetime(cases["reported_on"]), pd.to_datetime(cases["resolved_on"])
    fu = pd.to_datetime(cases["followed_up_on"])
    received = (rep >= start) & (rep <= end)
    resolved = (res >= start) & (res <= end)
    sla = cases["category"].map(frames["categories"].set_index("category")["sla_days"])
    disputes = resolved & (cases["category"] == "邻里矛盾")
    followed = resolved & (fu <= end)
    rated = followed & cases["satisfaction"].notna()
    with_compound = received & cases["compound"].notna()
    assert totals["received"] == received.sum()
    assert totals["resolved"] == resolved.sum()
    assert totals["open_backlog"] == ((rep <= end) & (res.isna() | (res > end))).sum()
    expected = {
        "resolution_rate": _pct((received & (res <= end)).sum(), received.sum()),
        "on_time_rate": _pct((resolved & ((res - rep).dt.days <= sla)).sum(), resolved.sum()),
        "mediation_success_rate": _pct((disputes & (cases["outcome"] == "成功")).sum(),
                                       (disputes & cases["outcome"].notna()).sum()),
        "follow_up_rate": _pct(followed.sum(), resolved.sum()),
        "satisfaction_rate": _pct((rated & cases["satisfaction"].isin(["满意", "基本满意"])).sum(), rated.sum()),
        "repeat_rate": _pct((with_compound & repeat.loc[cases.index]).sum(), with_compound.sum()),
    }
    for key, value in expected.items():
        assert totals[key] == pytest.approx(value), key


def test_repeat_rate_excludes_cases_without_a_compound_at_the_totals_level_too(cur, frames) -> None:
    totals = metrics.service_totals(cur, Filters())
    table = metrics.category_table(cur, Filters())
    assert totals["repeat_rate"] == pytest.approx(100 * table["repeats"].sum() / table["repeat_base"].sum())
    all_received = 100 * table["repeats"].sum() / table["received"].sum()
    assert totals["repeat_rate"] > all_received  # 19.7 % on the sample, not the 17.4 % of all cases


@pytest.mark.parametrize("f", TOTALS_FILTERS, ids=lambda f: f.describe())
def test_project_and_team_totals_equal_independent_counts(cur, frames, f: Filters) -> None:
    start, end = _window(f)
    mp = frames["micro_projects"]
    vols = frames["volunteers"]
    if f.communities:
        mp = mp[mp["community"].isin(f.communities)]
        vols = vols[vols["community"].isin(f.communities)]
    applied = mp[(pd.to_datetime(mp["applied_on"]) >= start) & (pd.to_datetime(mp["applied_on"]) <= end)]
    funded = applied[applied["is_funded"].astype(bool)]
    done = funded[pd.to_datetime(funded["completed_on"]) <= end]
    totals = metrics.micro_project_totals(cur, f)
    assert totals["applications"] == len(applied)
    assert totals["approval_rate"] == pytest.approx(_pct(len(funded), len(applied)))
    assert totals["completion_rate"] == pytest.approx(_pct(len(done), len(funded)))
    assert totals["funds_granted"] == pytest.approx(float(funded["amount_yuan"].astype(float).sum()) / 10000)

    summary = metrics.volunteer_summary(cur, f)
    active = _active(vols, "appointed_on", "left_on", f.end)
    people = active["person_id"].nunique()
    party = active.loc[active["is_party_member"].astype(bool), "person_id"].nunique()
    assert summary["total"] == people
    assert summary["party_share"] == pytest.approx(_pct(party, people))
    heads = (active[(active["role"] == "楼长") & active["compound"].notna()]
             .groupby(["community", "compound"])["person_id"].nunique().rename("heads").reset_index())
    compounds = frames["compounds"]
    heads = heads.merge(compounds[compounds["kind"] == "小区"], on=["community", "compound"])
    with_heads = heads[heads["heads"] > 0]
    expected = round(with_heads["heads"].sum() / len(with_heads), 1) if len(with_heads) else None
    assert summary["compounds_with_heads"] == len(with_heads)
    assert summary["heads_per_compound"] == pytest.approx(expected)
    known = with_heads[with_heads["households"].fillna(0) > 0]
    per_100 = round(100 * known["heads"].sum() / known["households"].sum(), 2) if len(known) else None
    assert summary["heads_per_100_households"] == pytest.approx(per_100)
