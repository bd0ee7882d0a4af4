"""The metric layer: every number the dashboard, slides, big screen and exports show.

Each metric has a name, a unit and a 口径 (definition) in Chinese; the functions below
compute them from the public views with the named queries in sql/metrics.sql. Pages
never compute numbers themselves, so a figure reads the same everywhere.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import accumulate
from typing import Any

import duckdb
import pandas as pd

from chuangshu import fmt
from chuangshu.filters import Bounds, Filters
from chuangshu.queries import rows as fetch_rows
from chuangshu.queries import run

MIN_CASES_FOR_RATE = 30  # a community needs this many cases in the window to enter a rate ranking


@dataclass(frozen=True)
class Metric:
    """A named number: label and unit as users read them, and its definition (口径)."""

    key: str
    label: str
    unit: str
    definition: str
    kind: str = "count"  # count | rate | days | money | score
    better: str | None = None  # "higher" | "lower": which way is better (metrics that can have a target)


def _m(key: str, label: str, unit: str, definition: str, kind: str = "count") -> tuple[str, Metric]:
    return key, Metric(key, label, unit, definition, kind)


_RESOLVED = "登记在事项台账、办结日期在统计区间内（默认 2011 年起至统计日）的{what}，按办结（已处理完毕）计，不论结果是否成功；仍在办理中的不计入。"
_ACTIVE_ORG = "组织名册中成立日期不晚于统计日、且在统计日尚未撤销的{what}数量。"

METRICS: dict[str, Metric] = dict([
    _m("communities", "社区", "个", "纳入“创熟”工作的社区数（每个社区设党群服务中心），来自街道社区名单。"),
    _m("compounds_with_heads", "实行楼长制小区", "个", "统计日有在任楼长的小区数（三长名册中职务为楼长、任职日期不晚于统计日且未离任）。"),
    _m("wechat_groups", "楼道微信群", "个", _ACTIVE_ORG.format(what="楼道微信群")),
    _m("associations", "街坊志愿互助会", "个", _ACTIVE_ORG.format(what="街坊志愿互助会（街坊会）")),
    _m("self_gov_groups", "小区自治小组", "个", _ACTIVE_ORG.format(what="小区自治小组")),
    _m("volunteers", "三长志愿者", "名", "统计日在任的楼长、巷长、街长人数（三长名册中任职日期不晚于统计日且未离任；同一人按一人计）。"),
    _m("building_heads", "其中楼长", "名", "统计日在任的楼长人数。"),
    _m("lane_street_heads", "其中巷长、街长", "名", "统计日在任的巷长与街长人数。"),
    _m("social_orgs", "社团组织", "个", _ACTIVE_ORG.format(what="社团组织")),
    _m("red_committees", "红色业委会", "个", _ACTIVE_ORG.format(what="红色业委会")),
    _m("stations", "“创熟”加油站", "个", _ACTIVE_ORG.format(what="“创熟”加油站")),
    _m("elevators", "旧楼加装电梯", "条", _RESOLVED.format(what="加装电梯协调事项（按楼道计，一条楼道一部电梯）")),
    _m("disputes", "邻里矛盾", "宗", _RESOLVED.format(what="邻里矛盾纠纷调处事项")),
    _m("hygiene", "小区卫生问题", "个", _RESOLVED.format(what="小区环境卫生问题")),
    _m("security", "治安案件", "起", _RESOLVED.format(what="协助处理的治安案件")),
    _m("facilities", "公共设施维护", "处", _RESOLVED.format(what="公共设施维护事项")),
    _m("safety", "安全问题", "个", _RESOLVED.format(what="安全隐患问题")),
    _m("parking", "停车难问题", "起", _RESOLVED.format(what="停车难问题")),
    _m("received", "受理事项", "件", "登记日期在统计区间内的事项数（含仍在办理中的）。"),
    _m("resolved", "办结事项", "件", "办结日期在统计区间内的事项数。办结＝处理完毕，不代表问题一定解决。"),
    _m("resolution_rate", "办结率", "%", "统计区间内登记的事项中，截至统计区间末已办结的比例。分母：区间内登记的事项数。", "rate"),
    _m("median_days", "办结用时中位数", "天", "区间内办结的事项，从登记到办结的天数的中位数。", "days"),
    _m("on_time_rate", "按时办结率", "%", "区间内办结的事项中，用时不超过该类别服务时限（见类别表 sla_days）的比例。分母：区间内办结的事项数。", "rate"),
    _m("open_backlog", "在办事项", "件", "统计区间末仍未办结的事项数（登记不晚于区间末，办结日期为空或晚于区间末）。"),
    _m("mediation_success_rate", "调解成功率", "%", "区间内办结的邻里矛盾中，处理结果为「成功」的比例。分母：已填写处理结果的办结事项。", "rate"),
    _m("follow_up_rate", "回访率", "%", "区间内办结的事项中，统计区间末前已回访的比例。分母：区间内办结的事项数。", "rate"),
    _m("satisfaction_rate", "满意率", "%", "已回访并评价的事项中，评价为「满意」或「基本满意」的比例。分母：有满意度评价的回访事项。", "rate"),
    _m("repeat_rate", "重复事项率", "%", "区间内登记、填写了小区的事项中，同一小区同一类别在此前 90 天内（含同一天）已有事项的比例。分母：区间内登记且填写了小区的事项数（未填小区的不计入分母和分子）。", "rate"),
    _m("received_per_1000", "每千户受理事项", "件", "区间内登记的事项数 ÷ 社区户数 × 1000，便于不同规模社区比较。"),
    _m("party_share", "党员占比", "%", "统计日在任三长中党员（含预备党员）的比例。分母：在任三长人数。", "rate"),
    _m("heads_per_compound", "每小区楼长", "名", "统计日在任楼长数 ÷ 有在任楼长的小区数。"),
    _m("heads_per_100_households", "每百户楼长", "名", "统计日在任楼长数 ÷ 所在小区户数 × 100（仅计有户数资料的小区）。"),
    _m("applications", "微创熟申报", "个", "申报日期在统计区间内的微创熟项目申报数。"),
    _m("approval_rate", "立项率", "%", "区间内申报的项目中获立项资助的比例。分母：区间内申报数。", "rate"),
    _m("funds_granted", "资助金额", "万元", "区间内申报并立项的项目资助金额合计（元 ÷ 10000）。", "money"),
    _m("completion_rate", "结项率", "%", "区间内立项的项目中，统计区间末前已结项的比例。分母：立项数。", "rate"),
    _m("activities", "开展活动", "场", "活动日期在统计区间内的活动场次。"),
    _m("participants", "参与人次", "人次", "区间内活动参与人数合计。"),
    _m("volunteers_per_100_households", "每百户三长", "名", "统计日在任三长人数 ÷ 社区户数 × 100。"),
    _m("organizations_active", "在册组织", "个", "统计日在册（已成立未撤销）的各类组织数，不含楼道微信群。"),
    _m("rejected_rows", "退回行", "行", "未能载入的台账行数（整份无法读取的文件计一行），每行的文件、工作表、行号和原因见退回清单。"),
    _m("stale_communities", "近 30 天无事项登记的社区", "个", "统计截至日前 30 天内没有任何事项登记的社区数，可能漏报或未上报。"),
])

CATEGORY_METRIC = {"加装电梯": "elevators", "邻里矛盾": "disputes", "环境卫生": "hygiene", "治安": "security",
                   "公共设施": "facilities", "安全隐患": "safety", "停车": "parking"}
ORG_METRIC = {"街坊会": "associations", "自治小组": "self_gov_groups", "社团": "social_orgs",
              "红色业委会": "red_committees", "创熟加油站": "stations", "楼道微信群": "wechat_groups"}
HEADLINE = ("associations", "self_gov_groups", "volunteers", "building_heads", "social_orgs", "red_committees",
            "stations", "elevators", "disputes", "hygiene", "security", "facilities", "safety", "parking")
SCOPE = ("communities", "compounds_with_heads", "wechat_groups", "lane_street_heads")


def rate(numerator: float, denominator: float) -> float | None:
    """A percentage, or None when the denominator is zero (shown as 「—」)."""
    return None if not denominator else 100.0 * numerator / denominator


def snapshot_dates(f: Filters) -> list[date]:
    """Year-ends inside the window plus the window's end (for sparklines of stock metrics)."""
    return [p.end for p in f.periods()] or [f.end]


def data_span(cur: duckdb.DuckDBPyConnection) -> Bounds:
    """What the loaded data allows the filters to ask for: its first and last day (defaults when empty)."""
    first, last = fetch_rows(cur, "data_span", {})[0]
    default = Bounds()
    last = min(last, date.today()) if last is not None else default.last
    first = min(first, last) if first is not None else min(default.first, last)
    return Bounds(first=first, last=last)


def category_labels(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """Category key -> full name (旧楼加装电梯), in the canonical order."""
    return dict(fetch_rows(cur, "category_labels", {}))


def with_periods(df: pd.DataFrame, f: Filters, groups: Sequence[str] = ()) -> pd.DataFrame:
    """A per-year frame with every year of the window (zero where nothing happened, for each group
    present), each year labelled with its period (``period``: 2021年, 2022年（1—6月）) and flagged
    ``partial`` when the as-of date cuts it short: the one rule every trend follows."""
    periods = {p.year: p for p in f.periods()}
    if df.empty:
        return df.assign(period=pd.Series(dtype="str"), partial=pd.Series(dtype="bool"))
    groups = [g for g in groups if g in df.columns]
    values = [c for c in df.columns if c not in ("year", *groups)]
    if groups:
        combos = df[groups].drop_duplicates()
        if "sort_order" in combos.columns:  # categories: the canonical order
            combos = combos.sort_values("sort_order", kind="stable")
        combos = combos.reset_index(drop=True)
        combos["_order"] = range(len(combos))
        grid = combos.merge(pd.DataFrame({"year": list(periods)}), how="cross")
    else:
        grid = pd.DataFrame({"year": list(periods), "_order": 0})
    out = grid.merge(df, on=["year", *groups], how="left").sort_values(["year", "_order"], kind="stable")
    for col in values:
        if pd.api.types.is_numeric_dtype(df[col]):
            out[col] = out[col].fillna(0).astype(df[col].dtype)
    out["period"] = [periods[y].label for y in out["year"]]
    out["partial"] = [not periods[y].complete for y in out["year"]]
    return out.drop(columns="_order").reset_index(drop=True)


CASE_KEYS = {key: category for category, key in CATEGORY_METRIC.items()}  # headline keys that count cases


def headline_keys(f: Filters) -> list[str]:
    """The headline and scope figures shown for ``f``: a category filter leaves out the other categories' cases."""
    return [k for k in (*HEADLINE, *SCOPE) if k not in CASE_KEYS or not f.categories or CASE_KEYS[k] in f.categories]


def headline(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """The 数读 KPIs and scope figures: value, prior-year value, delta %, sparkline of the same measure.

    Case figures count resolved cases in the window (the sparkline is their running total at each
    year's end); stocks are counted at the window's end (the sparkline at each year's end). With a
    category filter only the chosen categories' case figures are returned. Year-over-year compares
    the same window a year earlier: the same months and days, so a partial year meets a partial year.
    """
    p = f.params()
    prior_end = f.shifted().end
    dates = snapshot_dates(f)
    p_dates = {**p, "dates": sorted({*dates, prior_end})}
    values: dict[str, dict] = {}

    def put(key: str, value: float, prior: float | None, spark: list[float]) -> None:
        values[key] = {"value": value, "prior": prior, "spark": spark}

    # one round trip (sql/metrics.sql headline_facts), read as plain tuples: no DataFrame work per KPI
    facts = fetch_rows(cur, "headline_facts", p_dates)
    resolved: dict[str, tuple[int, int]] = {}
    by_year: dict[tuple[str, int], int] = {}
    stocks: dict[tuple[str, str | None, date], int] = {}
    n_comm = 0
    for part, key, at, year, n, n_prior in facts:
        if part == "resolved":
            resolved[key] = (int(n), int(n_prior))
        elif part == "resolved_year":
            by_year[(key, year)] = int(n)
        elif part == "communities":
            n_comm = int(n)
        else:
            stocks[(part, key, at)] = int(n)
    years = list(range(f.year_from, f.end.year + 1))
    for category, key in CATEGORY_METRIC.items():
        current, prior = resolved.get(category, (0, 0))
        # the card is the window's running total, so its sparkline is too: the total at each year's
        # end (the last point at the window's end equals the card), never a partial year's dip
        put(key, current, prior, list(accumulate(by_year.get((category, y), 0) for y in years)))

    def stock(part: str, kinds: tuple[str | None, ...], key: str) -> None:
        get = lambda d: sum(stocks.get((part, k, d), 0) for k in kinds)  # noqa: E731
        put(key, get(f.end), get(prior_end), [get(d) for d in dates])

    stock("volunteers", (None,), "volunteers")
    stock("volunteers", ("楼长",), "building_heads")
    stock("volunteers", ("巷长", "街长"), "lane_street_heads")
    for kind, key in ORG_METRIC.items():
        stock("organizations", (kind,), key)
    stock("heads", (None,), "compounds_with_heads")
    put("communities", n_comm, n_comm, [n_comm] * len(dates))

    rows = []
    for key in headline_keys(f):
        m, v = METRICS[key], values[key]
        delta = rate(v["value"] - v["prior"], v["prior"]) if v["prior"] is not None else None
        rows.append({"key": key, "label": m.label, "unit": m.unit, "value": v["value"], "prior": v["prior"],
                     "delta_pct": delta, "spark": v["spark"], "definition": m.definition,
                     "group": "数读" if key in HEADLINE else "范围"})
    return pd.DataFrame(rows)


def category_table(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Per category: received, resolved, resolution and on-time rates, median days, backlog, service quality."""
    df = run(cur, "category_summary", f.params())
    repeats = run(cur, "repeat_cases", f.params()).set_index("category")
    df["resolution_rate"] = [rate(a, b) for a, b in zip(df["received_resolved"], df["received"])]
    df["on_time_rate"] = [rate(a, b) for a, b in zip(df["on_time"], df["resolved"])]
    df["mediation_success_rate"] = [rate(a, b) for a, b in zip(df["success"], df["with_outcome"])]
    df["follow_up_rate"] = [rate(a, b) for a, b in zip(df["followed_up"], df["resolved"])]
    df["satisfaction_rate"] = [rate(a, b) for a, b in zip(df["satisfied"], df["rated"])]
    df["repeats"] = [int(repeats["repeats"].get(c, 0)) for c in df["category"]]
    df["repeat_base"] = [int(repeats["received"].get(c, 0)) for c in df["category"]]  # cases with a compound
    df["repeat_rate"] = [rate(r, b) for r, b in zip(df["repeats"], df["repeat_base"])]
    return df


def service_totals(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, float | None]:
    """Sub-district totals of the case metrics over the categories in scope."""
    return totals_of(category_table(cur, f))


def totals_of(table: pd.DataFrame) -> dict[str, float | None]:
    """service_totals from a category_table result (pages get it from the cached table: no query)."""
    disputes = table[table["category"] == "邻里矛盾"]
    s = table.sum(numeric_only=True)
    return {
        "received": int(s["received"]), "resolved": int(s["resolved"]), "open_backlog": int(s["open_backlog"]),
        "resolution_rate": rate(s["received_resolved"], s["received"]),
        "on_time_rate": rate(s["on_time"], s["resolved"]),
        "mediation_success_rate": rate(disputes["success"].sum(), disputes["with_outcome"].sum()),
        "follow_up_rate": rate(s["followed_up"], s["resolved"]),
        "satisfaction_rate": rate(s["satisfied"], s["rated"]),
        "repeat_rate": rate(s["repeats"], s["repeat_base"]),  # cases without a compound cannot repeat
    }


def cases_by_year(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Received and resolved cases per reporting year and category, every year of the window (period, partial)."""
    return with_periods(run(cur, "cases_by_year", f.params()), f, ("category", "label", "sort_order"))


def cases_by_month(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Received and resolved cases per reporting month (trend under the milestones): months without
    cases between the first and the last are zero; the last month is ``partial`` when the window
    ends inside it, and ``period`` names each month (2022年6月（截至15日）)."""
    df = run(cur, "cases_by_month", f.params())
    if df.empty:
        return df.assign(period=pd.Series(dtype="str"), partial=pd.Series(dtype="bool"))
    months = pd.date_range(df["month"].min(), df["month"].max(), freq="MS").date
    df = pd.DataFrame({"month": months}).merge(df.assign(month=pd.to_datetime(df["month"]).dt.date),
                                                on="month", how="left")
    df[["received", "resolved"]] = df[["received", "resolved"]].fillna(0).astype("int64")
    cut = f.partial_month
    df["partial"] = [m == cut for m in df["month"]]
    df["period"] = [fmt.month_label(m, f.end if m == cut else None) for m in df["month"]]
    return df


def backlog_ageing(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Open cases at the window's end by age bucket and category."""
    return run(cur, "backlog_ageing", f.params())


def community_ranking(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Cases per community with rates per 1,000 households; rates only where n ≥ MIN_CASES_FOR_RATE."""
    df = run(cur, "community_cases", f.params())
    df["received_per_1000"] = [round(1000 * r / h, 1) if h else None for r, h in zip(df["received"], df["households"])]
    df["eligible"] = df["received"] >= MIN_CASES_FOR_RATE
    df["resolution_rate"] = [rate(a, b) if ok else None
                             for a, b, ok in zip(df["received_resolved"], df["received"], df["eligible"])]
    return df


def community_rate_ranking(cur: duckdb.DuckDBPyConnection, f: Filters, top: int = 15) -> pd.DataFrame:
    """The communities with the most cases per 1,000 households, highest first."""
    return top_rates(community_ranking(cur, f), top)


def top_rates(ranking: pd.DataFrame, top: int = 15) -> pd.DataFrame:
    """community_rate_ranking from a community_ranking result (no query)."""
    return ranking.dropna(subset=["received_per_1000"]).sort_values(
        ["received_per_1000", "community"], ascending=[False, True]).head(top).reset_index(drop=True)


def community_category_matrix(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Cases received per community × category (for the heatmap), all cells present; columns are the
    categories' full names in the canonical order, as in every table."""
    df = run(cur, "community_category_matrix", f.params())
    if df.empty:
        return pd.DataFrame(index=pd.Index([], name="community", dtype="str"))
    order = df.drop_duplicates("label").sort_values("sort_order")["label"].tolist()
    matrix = df.set_index(["community", "label"])["received"].unstack("label", fill_value=0)
    matrix = matrix[order]
    matrix.columns.name = None
    return matrix


def compound_cases(cur: duckdb.DuckDBPyConnection, f: Filters, community: str) -> pd.DataFrame:
    """Drill-down: one community's compounds with received, resolved and open cases."""
    return run(cur, "compound_cases", {**f.params(), "community": community})


CASE_PAGE = 200  # cases per page of the drill-down's list


def case_list(cur: duckdb.DuckDBPyConnection, f: Filters, community: str, compound: str | None = None,
              page: int = 0) -> pd.DataFrame:
    """Drill-down: page ``page`` (from 0, CASE_PAGE rows) of the cases of one community (optionally one
    compound), newest first; the ``total`` column counts all of them (every case reachable, page by page)."""
    return run(cur, "case_list", {**f.params(), "community": community, "compound": compound,
                                  "limit": CASE_PAGE, "offset": max(page, 0) * CASE_PAGE})


def volunteer_summary(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, object]:
    """Teams: active by role, party share, coverage per compound and per 100 households."""
    by_comm = run(cur, "volunteers_by_community", f.params())
    coverage = run(cur, "coverage", f.params())
    with_heads = coverage[coverage["heads"] > 0]
    heads = int(with_heads["heads"].sum())
    hh = with_heads["households"].fillna(0)
    by_role = by_comm.groupby("role")[["n", "party"]].sum()
    total = run(cur, "volunteers_at", {**f.params(), "dates": [f.end]})
    total_row = total[total["role"].isna()]
    people = int(total_row["n"].sum())
    party = int(total_row["party"].sum())
    return {
        "total": people, "party_share": rate(party, people), "by_role": by_role,
        "by_community": by_comm, "coverage": coverage,
        "compounds_with_heads": len(with_heads),
        "heads_per_compound": round(heads / len(with_heads), 1) if len(with_heads) else None,
        "heads_per_100_households": round(100 * with_heads.loc[hh > 0, "heads"].sum() / hh.sum(), 2) if hh.sum() else None,
    }


def volunteer_flows(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Appointments and departures per year and role, every year of the window (period, partial)."""
    return with_periods(run(cur, "volunteer_flows", f.params()), f, ("role",))


def organizations_by_kind(cur: duckdb.DuckDBPyConnection, f: Filters, wechat: bool = False) -> pd.DataFrame:
    """Active organisations at the window's end by kind and community (WeChat groups apart)."""
    df = run(cur, "organizations_by_community", f.params())
    return df[(df["kind"] == "楼道微信群") == wechat].reset_index(drop=True)


def organization_flows(cur: duckdb.DuckDBPyConnection, f: Filters, wechat: bool = False) -> pd.DataFrame:
    """Organisations founded and dissolved per year of the window and kind (founding timeline; WeChat
    groups apart), every year of the window (period, partial)."""
    df = run(cur, "organization_flows", f.params())
    return with_periods(df[(df["kind"] == "楼道微信群") == wechat].reset_index(drop=True), f, ("kind",))


def micro_projects(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, pd.DataFrame]:
    """微创熟: by year, by review round and by community, with approval and completion rates."""
    out = {name: run(cur, f"micro_projects_by_{name}", f.params()) for name in ("year", "round", "community")}
    out["year"] = with_periods(out["year"], f)  # every year of the window, before the rates
    for df in out.values():
        df["approval_rate"] = [rate(a, b) for a, b in zip(df["funded"], df["applications"])]
        df["funds_wan"] = (df["funds_yuan"] / 10000).round(2)
    for name in ("year", "community"):
        df = out[name]
        df["completion_rate"] = [rate(a, b) for a, b in zip(df["completed"], df["funded"])]
    return out


def micro_project_totals(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, float | None]:
    """Totals for the window: applications, approval rate, funds granted (万元), completion rate."""
    df = run(cur, "micro_projects_by_year", f.params())
    return {"applications": int(df["applications"].sum()),
            "approval_rate": rate(df["funded"].sum(), df["applications"].sum()),
            "funds_granted": float(df["funds_yuan"].sum()) / 10000,
            "completion_rate": rate(df["completed"].sum(), df["funded"].sum())}


def activities_by_year(cur: duckdb.DuckDBPyConnection, f: Filters) -> pd.DataFrame:
    """Activities and participants per year and kind, every year of the window (period, partial)."""
    return with_periods(run(cur, "activities_by_year", f.params()), f, ("kind",))


PROFILE_METRICS = ("received_per_1000", "resolution_rate", "median_days", "volunteers_per_100_households",
                   "organizations_active", "activities")


def community_profile(cur: duckdb.DuckDBPyConnection, f: Filters, community: str,
                      compare: bool = True) -> pd.DataFrame:
    """One community's KPIs against the sub-district median, with its rank (rates need n ≥ MIN_CASES_FOR_RATE).

    ``compare=False`` (community-scoped users) leaves median, rank and ranked_of empty: they
    would reveal other communities' figures.
    """
    df = run(cur, "community_profile", {**f.params(), "communities": []})
    df["received_per_1000"] = 1000 * df["received"] / df["households"]
    df["resolution_rate"] = [rate(a, b) if b >= MIN_CASES_FOR_RATE else None
                             for a, b in zip(df["received_resolved"], df["received"])]
    df["volunteers_per_100_households"] = 100 * df["volunteers"] / df["households"]
    df["organizations_active"] = df["organizations"]
    lower_is_better = {"median_days"}
    rows = []
    me = df[df["community"] == community]
    if me.empty:
        return pd.DataFrame()
    for key in PROFILE_METRICS:
        col = df[key].astype("Float64")
        ranked = col.rank(ascending=key in lower_is_better, method="min")
        m = METRICS[key]
        value = me[key].iloc[0]
        why = None
        if pd.isna(value):
            why = (f"{community}在所选范围内受理不足 {MIN_CASES_FOR_RATE} 件，不计比率，也不参与排名。"
                   if key == "resolution_rate" else "所选范围内没有可计算的记录。")
        rows.append({"key": key, "label": m.label, "unit": m.unit, "definition": m.definition, "why": why,
                     "value": None if pd.isna(value) else float(value),
                     "median": float(col.median()) if compare and col.notna().any() else None,
                     "rank": None if not compare or pd.isna(value) else int(ranked[me.index[0]]),
                     "ranked_of": int(col.notna().sum()) if compare else None,
                     "cases": int(me["received"].iloc[0])})
    return pd.DataFrame(rows)


def milestones(cur: duckdb.DuckDBPyConnection, as_of: date | None = None) -> pd.DataFrame:
    """The programme's milestones 2011–2022 up to ``as_of`` (none after the as-of date), with the date as
    precise as it is known (2013年, 2011年8月)."""
    df = run(cur, "milestones", {})
    if as_of is not None:
        df = df[pd.to_datetime(df["happened_on"]) <= pd.Timestamp(as_of)].reset_index(drop=True)
    df["when"] = [_when(d, p) for d, p in zip(df["happened_on"], df["precision"])]
    return df


def _when(day: date, precision: str) -> str:
    """2013-01-01 with year precision -> 2013年; month -> 2011年8月; day -> 2015年8月27日."""
    if precision == "year":
        return f"{day.year}年"
    if precision == "month":
        return f"{day.year}年{day.month}月"
    return f"{day.year}年{day.month}月{day.day}日"


def mobilisation_2020(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The 2020 epidemic mobilisation figures (published, reference data)."""
    return run(cur, "mobilisation_2020", {})


def data_quality(cur: duckdb.DuckDBPyConnection, f: Filters) -> dict[str, object]:
    """Load batches, rejects per file, stale communities, new compounds, freshness."""
    fresh = run(cur, "freshness", {"cutoff": f.as_of - timedelta(days=30)})
    meta = dataset_info(cur)
    return {
        "batches": run(cur, "load_batches", {}),
        "rejects_by_file": (rejects := run(cur, "rejects_by_file", {})),
        "reject_total": int(rejects["rejects"].sum()),
        "stale_count": int(fresh["stale"].sum()),
        "freshness": fresh,
        "stale": fresh[fresh["stale"]],
        "new_compounds": run(cur, "new_compounds", {}),
        "meta": meta,
    }


def reject_rows(cur: duckdb.DuckDBPyConnection, file: str | None = None) -> pd.DataFrame:
    """Reject list (file, sheet, row, reason), optionally for one file."""
    return run(cur, "reject_rows", {"file": file})


def dataset_info(cur: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """meta table: db_version, published_at, dataset ('sample' for the bundled sample)."""
    return dict(fetch_rows(cur, "db_meta", {}))


OVERDUE_LAG_MONTHS = 1  # by default the month before the as-of date's month must be covered
OVERDUE_DEFINITION = ("按台账上报记录（submissions）：社区已上报的该类台账中，最晚覆盖的月份（登记日期等主日期所在月）"
                      "早于应报月份（统计截至日所在月往前推「允许滞后」个月），或从未上报，即为逾期未报。"
                      "上报社区按文件中行数最多的社区计。")
METRICS["overdue_communities"] = Metric("overdue_communities", "逾期未报社区", "个", OVERDUE_DEFINITION)


# --- 考核 (docs/assessment.md): the metrics of the 创熟指数 and which way is better -------------------

_PERIOD = "考核期（按月、季或年，截至统计截至日）"
METRICS.update(dict([
    _m("overdue_open_rate", "在办超时率", "%", f"{_PERIOD}末仍在办理的事项中，已办理天数超过该类别服务时限（sla_days）的比例。"
       "分母：期末在办事项（没有在办事项时无法计算，不参与评价）。", "rate"),
    _m("head_coverage", "楼长覆盖率", "%", "期末有在任楼长的小区数 ÷ 小区名单中的小区数（类型为“小区”）。", "rate"),
    _m("organizations_per_1000_households", "每千户在册组织", "个",
       "期末在册（已成立未撤销）的组织数（不含楼道微信群）÷ 社区户数 × 1000。"),
    _m("participation_per_100_households", "每百户月均参与人次", "人次",
       f"{_PERIOD}内活动参与人次 ÷ 社区户数 × 100 ÷ 考核期月数（按天数折算，30.44 天为一个月），不同长度的考核期可以比较。"),
    _m("ledger_on_time_rate", "台账按时上报率", "%",
       "按月上报的台账（考核设置 monthly_ledgers，默认事项台账与活动台账）中，最晚覆盖的月份已达到应报月份"
       "（期末所在月往前推允许滞后的月数）的比例，依据台账上报记录（submissions）。", "rate"),
    _m("assessment_index", "创熟指数", "分",
       "各考核指标得分的加权平均 × 100：得分 = 实际值 ÷ 目标（越低越好的指标为 目标 ÷ 实际值），封顶 score_cap（默认 1.2）；"
       "权重见 assessment_metrics；分母不足最少件数或没有目标的指标不计入，参与计算的权重不足一半时不计指数。"
       "100 分表示各项恰好达到目标。", "score"),
    _m("alerts", "预警", "条", "按预警规则（alert_rules）在统计截至日触发的预警条数：超时未办结、重复报事热点、楼长空缺、"
       "低于目标、环比下降、逾期未报。"),
]))
BETTER = {"resolution_rate": "higher", "on_time_rate": "higher", "follow_up_rate": "higher",
          "satisfaction_rate": "higher", "mediation_success_rate": "higher", "repeat_rate": "lower",
          "overdue_open_rate": "lower", "head_coverage": "higher", "heads_per_100_households": "higher",
          "organizations_per_1000_households": "higher", "participation_per_100_households": "higher",
          "ledger_on_time_rate": "higher", "median_days": "lower", "approval_rate": "higher",
          "completion_rate": "higher", "party_share": "higher", "volunteers_per_100_households": "higher"}
for _key, _way in BETTER.items():
    METRICS[_key] = replace(METRICS[_key], better=_way)
TARGETABLE = tuple(k for k, m in METRICS.items() if m.better)  # metrics a target can be set for


def due_month(as_of: date, lag_months: int = OVERDUE_LAG_MONTHS) -> date:
    """First day of the month a community's ledgers must reach by ``as_of``."""
    months = as_of.year * 12 + as_of.month - 1 - lag_months
    return date(months // 12, months % 12 + 1, 1)


def overdue_submissions(cur: duckdb.DuckDBPyConnection, f: Filters, kind: str = "cases",
                        lag_months: int = OVERDUE_LAG_MONTHS) -> pd.DataFrame:
    """逾期未报: communities (in the filter) whose latest submitted ``kind`` ledger ends before the due month."""
    return run(cur, "overdue_submissions", {"kind": kind, "due": due_month(f.as_of, lag_months),
                                            "communities": list(f.communities)})


# Metrics computed from another metric's result without a query of their own: ui.get serves
# them from the cached base result, so a page showing both pays for one computation.
DERIVED: dict[str, tuple[str, Callable[..., Any]]] = {
    "service_totals": ("category_table", totals_of),
    "community_rate_ranking": ("community_ranking", top_rates),
}


def top_title(measure: str, noun: str, shown: int, total: int, owner: str = "") -> str:
    """A ranking chart's title: "最多的 N 个" only when the chart cuts a longer list, else "各…" (a chart of
    all six compounds, or of the one community selected, is not a top list)."""
    if shown < total:
        return f"{owner}{measure}最多的 {shown} 个{noun}"
    return f"{owner}各{noun}{measure}"


def rate_ranking_title(shown: int, total: int) -> str:
    """The per-1,000-households ranking chart's title, saying how many communities it shows."""
    if total <= 1:
        return "每千户受理事项"
    if shown < total:
        return f"每千户受理事项最多的 {shown} 个社区（共 {total} 个）"
    return f"各社区每千户受理事项（{total} 个社区）"


def rate_ranking_note(shown: int, total: int) -> str:
    """What the per-1,000-households ranking counts (the note under its chart)."""
    base = "每千户受理事项 = 区间内受理事项 ÷ 社区户数 × 1000，便于不同规模的社区比较；按从多到少排列"
    return base + (f"，下载的数据含全部 {total} 个社区" if shown < total else "")
