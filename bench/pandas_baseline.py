"""The plain-pandas baseline: what most Streamlit apps do.

Read the public views into DataFrames (``SELECT * FROM view``, typically behind st.cache_data),
then compute each page's numbers with pandas on every rerun. The functions compute the same
figures as the metric layer for the default filters (window 2011-01-01 .. 2022-06-30, all
communities and categories); ``check`` compares a few of them with the metric layer so that the
baseline is known to do the same work.
"""
from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from chuangshu.filters import Filters
from chuangshu.metrics import CATEGORY_METRIC, ORG_METRIC, snapshot_dates

VIEWS = {  # which views each page reads
    "overview": ("cases", "volunteers", "organizations", "categories", "communities", "mobilisation_2020", "meta"),
    "cases": ("cases", "categories", "communities", "meta"),
    "teams": ("volunteers", "communities", "compounds", "meta"),
    "organizations": ("volunteers", "organizations", "cases", "categories", "communities", "meta"),
    "projects": ("micro_projects", "activities", "meta"),
    "community": ("cases", "volunteers", "organizations", "activities", "communities", "compounds", "meta"),
    "milestones": ("cases", "milestones", "meta"),
    "quality": ("cases", "volunteers", "organizations", "activities", "micro_projects", "communities", "compounds",
                "load_batches", "rejects", "submissions", "meta"),
    "bigscreen": ("cases", "volunteers", "organizations", "categories", "communities", "compounds", "milestones",
                  "meta"),
}
DATES = {"cases": ("reported_on", "resolved_on", "followed_up_on"), "volunteers": ("appointed_on", "left_on"),
         "organizations": ("founded_on", "dissolved_on"), "micro_projects": ("applied_on", "completed_on"),
         "activities": ("held_on",)}


def read_view(con, view: str) -> pd.DataFrame:
    """One view as a DataFrame, dates as datetime64 (what an app's cached loader returns)."""
    df = con.execute(f"SELECT * FROM {view}").df()
    for col in DATES.get(view, ()):
        df[col] = pd.to_datetime(df[col])
    return df


def _ts(d: date) -> pd.Timestamp:
    return pd.Timestamp(d)


def _active(df: pd.DataFrame, start: str, end: str, at: pd.Timestamp) -> pd.Series:
    return (df[start] <= at) & (df[end].isna() | (df[end] > at))


def headline(fr: dict, f: Filters) -> dict:
    c, v, o = fr["cases"], fr["volunteers"], fr["organizations"]
    s, e = _ts(f.start), _ts(f.end)
    p = f.shifted()
    ps, pe = _ts(p.start), _ts(p.end)
    out: dict[str, dict] = {}
    resolved = c[c["resolved_on"].between(s, e)]
    cur = resolved.groupby("category").size()
    prior = c[c["resolved_on"].between(ps, pe)].groupby("category").size()
    by_year = resolved.groupby([resolved["category"], resolved["resolved_on"].dt.year]).size()
    years = range(f.year_from, f.end.year + 1)
    for cat, key in CATEGORY_METRIC.items():
        out[key] = {"value": int(cur.get(cat, 0)), "prior": int(prior.get(cat, 0)),
                    "spark": [int(by_year.get((cat, y), 0)) for y in years]}
    dates = [*snapshot_dates(f), p.end]
    for at in dates:
        t = _ts(at)
        av = v[_active(v, "appointed_on", "left_on", t)]
        out.setdefault("volunteers", {})[at] = av["person_id"].nunique()
        out.setdefault("building_heads", {})[at] = av.loc[av["role"] == "楼长", "person_id"].nunique()
        out.setdefault("lane_street_heads", {})[at] = av.loc[av["role"].isin(["巷长", "街长"]), "person_id"].nunique()
        heads = av[(av["role"] == "楼长") & av["compound"].notna()]
        out.setdefault("compounds_with_heads", {})[at] = len(heads[["community", "compound"]].drop_duplicates())
        kinds = o[_active(o, "founded_on", "dissolved_on", t)].groupby("kind").size()
        for kind, key in ORG_METRIC.items():
            out.setdefault(key, {})[at] = int(kinds.get(kind, 0))
    out["communities"] = len(fr["communities"])
    return out


def category_table(fr: dict, f: Filters) -> pd.DataFrame:
    c, k = fr["cases"], fr["categories"]
    s, e = _ts(f.start), _ts(f.end)
    rec = c["reported_on"].between(s, e)
    res = c["resolved_on"].between(s, e)
    days = (c["resolved_on"] - c["reported_on"]).dt.days
    sla = c["category"].map(k.set_index("category")["sla_days"])
    fu = res & (c["followed_up_on"] <= e)
    frame = pd.DataFrame({
        "category": c["category"], "received": rec, "received_resolved": rec & (c["resolved_on"] <= e),
        "resolved": res, "on_time": res & (days <= sla),
        "open_backlog": (c["reported_on"] <= e) & (c["resolved_on"].isna() | (c["resolved_on"] > e)),
        "with_outcome": res & c["outcome"].notna(), "success": res & (c["outcome"] == "成功"),
        "followed_up": fu, "rated": fu & c["satisfaction"].notna(),
        "satisfied": fu & c["satisfaction"].isin(["满意", "基本满意"])})
    out = frame.groupby("category").sum()
    out["median_days"] = days[res].groupby(c.loc[res, "category"]).median()
    # repeats: same compound and category within 90 days
    r = c[c["compound"].notna() & (c["reported_on"] <= e)].sort_values(
        ["community", "compound", "category", "reported_on", "case_id"])
    prev = r.groupby(["community", "compound", "category"])["reported_on"].shift()
    inwin = r["reported_on"] >= s
    out["repeats"] = ((r["reported_on"] - prev).dt.days.le(90) & inwin).groupby(r["category"]).sum()
    return k.merge(out.reset_index(), on="category", how="left").fillna(0)


def service_totals(table: pd.DataFrame) -> dict:
    s = table.sum(numeric_only=True)
    return {"received": int(s["received"]), "resolved": int(s["resolved"]), "open_backlog": int(s["open_backlog"]),
            "resolution_rate": s["received_resolved"] / s["received"] * 100}


def cases_by_year(fr: dict, f: Filters, community: str | None = None) -> pd.DataFrame:
    c = fr["cases"]
    e = _ts(f.end)
    w = c[c["reported_on"].between(_ts(f.start), e)]
    if community:
        w = w[w["community"] == community]
    return w.assign(year=w["reported_on"].dt.year, resolved=w["resolved_on"] <= e).groupby(
        ["year", "category"]).agg(received=("case_id", "size"), resolved=("resolved", "sum")).reset_index()


def cases_by_month(fr: dict, f: Filters) -> pd.DataFrame:
    c = fr["cases"]
    e = _ts(f.end)
    w = c[c["reported_on"].between(_ts(f.start), e)]
    return w.assign(month=w["reported_on"].dt.to_period("M"), resolved=w["resolved_on"] <= e).groupby(
        "month").agg(received=("case_id", "size"), resolved=("resolved", "sum")).reset_index()


def backlog_ageing(fr: dict, f: Filters) -> pd.DataFrame:
    c = fr["cases"]
    e = _ts(f.end)
    o = c[(c["reported_on"] <= e) & (c["resolved_on"].isna() | (c["resolved_on"] > e))]
    age = (e - o["reported_on"]).dt.days
    bucket = pd.cut(age, [-1, 30, 90, 180, 365, np.inf], labels=[1, 2, 3, 4, 5])
    return o.groupby([bucket, o["category"]], observed=True).size().reset_index(name="n")


def community_ranking(fr: dict, f: Filters) -> pd.DataFrame:
    c, m = fr["cases"], fr["communities"]
    s, e = _ts(f.start), _ts(f.end)
    rec = c["reported_on"].between(s, e)
    res = c["resolved_on"].between(s, e)
    g = pd.DataFrame({"community": c["community"], "received": rec, "received_resolved": rec & (c["resolved_on"] <= e),
                      "resolved": res}).groupby("community").sum()
    g["median_days"] = (c["resolved_on"] - c["reported_on"]).dt.days[res].groupby(c.loc[res, "community"]).median()
    df = m.merge(g.reset_index(), on="community", how="left").fillna({"received": 0})
    df["received_per_1000"] = 1000 * df["received"] / df["households"]
    return df.sort_values(["received", "community"], ascending=[False, True])


def matrix(fr: dict, f: Filters) -> pd.DataFrame:
    c = fr["cases"]
    w = c[c["reported_on"].between(_ts(f.start), _ts(f.end))]
    return w.pivot_table(index="community", columns="category", values="case_id", aggfunc="size", fill_value=0)


def volunteer_summary(fr: dict, f: Filters) -> dict:
    v, m, k = fr["volunteers"], fr["communities"], fr["compounds"]
    av = v[_active(v, "appointed_on", "left_on", _ts(f.end))]
    by_comm = av.groupby(["community", "role"]).agg(n=("person_id", "nunique")).reset_index().merge(m, on="community")
    heads = av[av["role"] == "楼长"].groupby(["community", "compound"])["person_id"].nunique().rename("heads")
    cov = k[k["kind"] == "小区"].merge(heads.reset_index(), on=["community", "compound"], how="left").fillna({"heads": 0})
    people = av["person_id"].nunique()
    party = av.loc[av["is_party_member"], "person_id"].nunique()
    return {"total": people, "party_share": 100 * party / people, "by_community": by_comm, "coverage": cov}


def flows(df: pd.DataFrame, group: str, start: str, end: str, f: Filters) -> pd.DataFrame:
    s, e = _ts(f.start), _ts(f.end)
    a = df[df[start].between(s, e)].groupby([df[start].dt.year, group]).size().rename("in")
    b = df[df[end].between(s, e)].groupby([df[end].dt.year, group]).size().rename("out")
    return pd.concat([a, b], axis=1).fillna(0)


def org_by_kind(fr: dict, f: Filters) -> pd.DataFrame:
    o = fr["organizations"]
    ao = o[_active(o, "founded_on", "dissolved_on", _ts(f.end))]
    return ao.groupby(["community", "kind"]).size().reset_index(name="n")


def micro_projects(fr: dict, f: Filters) -> dict:
    p = fr["micro_projects"]
    e = _ts(f.end)
    w = p[p["applied_on"].between(_ts(f.start), e)].assign(
        funds=lambda d: d["amount_yuan"].astype(float).where(d["is_funded"], 0),
        done=lambda d: d["is_funded"] & (d["completed_on"] <= e))
    agg = dict(applications=("project_id", "size"), funded=("is_funded", "sum"), funds_yuan=("funds", "sum"),
               completed=("done", "sum"))
    return {"year": w.groupby(w["applied_on"].dt.year).agg(**agg),
            "round": w.groupby(w["review_round"].fillna("（未填批次）")).agg(**agg),
            "community": w.groupby("community").agg(**agg)}


def activities_by_year(fr: dict, f: Filters) -> pd.DataFrame:
    a = fr["activities"]
    w = a[a["held_on"].between(_ts(f.start), _ts(f.end))]
    return w.groupby([w["held_on"].dt.year, "kind"]).agg(activities=("activity_id", "size"),
                                                         participants=("participants", "sum"))


def community_profile(fr: dict, f: Filters, community: str) -> pd.DataFrame:
    rank = community_ranking(fr, f).set_index("community")
    v = fr["volunteers"]
    vols = v[_active(v, "appointed_on", "left_on", _ts(f.end))].groupby("community")["person_id"].nunique()
    o = fr["organizations"]
    orgs = o[_active(o, "founded_on", "dissolved_on", _ts(f.end))].groupby("community").size()
    a = fr["activities"]
    acts = a[a["held_on"].between(_ts(f.start), _ts(f.end))].groupby("community").size()
    df = rank.assign(volunteers=vols, organizations=orgs, activities=acts).fillna(0)
    df["volunteers_per_100_households"] = 100 * df["volunteers"] / df["households"]
    return pd.DataFrame({"value": df.loc[community], "median": df.median(numeric_only=True),
                         "rank": df.rank(numeric_only=True).loc[community]})


def compound_cases(fr: dict, f: Filters, community: str) -> pd.DataFrame:
    c = fr["cases"]
    w = c[c["community"] == community]
    e = _ts(f.end)
    return pd.DataFrame({"compound": w["compound"].fillna("（未填小区）"),
                         "received": w["reported_on"].between(_ts(f.start), e),
                         "open": (w["reported_on"] <= e) & (w["resolved_on"].isna() | (w["resolved_on"] > e))}
                        ).groupby("compound").sum()


def quality(fr: dict, f: Filters) -> dict:
    """The 数据质量 page's figures, as metrics.data_quality, reject_rows and overdue_submissions give them."""
    v = fr["volunteers"]
    latest = {"cases": fr["cases"].groupby("community")["reported_on"].max(),
              "volunteers": v.assign(d=v[["appointed_on", "left_on"]].max(axis=1)).groupby("community")["d"].max(),
              "organizations": fr["organizations"].groupby("community")["founded_on"].max(),
              "activities": fr["activities"].groupby("community")["held_on"].max(),
              "micro_projects": fr["micro_projects"].groupby("community")["applied_on"].max()}
    comm = fr["communities"]["community"]
    fresh = pd.DataFrame({"community": comm, "cases_latest": comm.map(latest["cases"]),
                          "activities_latest": comm.map(latest["activities"]),
                          "any_latest": pd.concat([comm.map(s) for s in latest.values()], axis=1).max(axis=1)})
    fresh = fresh.sort_values(["cases_latest", "community"], na_position="first").reset_index(drop=True)
    fresh["stale"] = fresh["cases_latest"].isna() | (fresh["cases_latest"] < _ts(f.as_of) - pd.Timedelta(days=30))
    rj = fr["rejects"]
    by_file = (rj.assign(file_error=rj["row_number"].isna()).groupby("source_file")
               .agg(rejects=("reason", "size"), file_errors=("file_error", "sum"), example=("reason", "min"))
               .reset_index().sort_values(["rejects", "source_file"], ascending=[False, True]))
    reject_list = rj.sort_values(["source_file", "sheet", "row_number"], na_position="first")
    sub = fr["submissions"]
    sub = sub[sub["ledger_kind"] == "cases"].sort_values("loaded_at")
    latest_sub = sub.groupby("community").agg(latest_month=("month_to", "max"), last_loaded_at=("loaded_at", "max"),
                                              last_file=("source_file", "last"), submissions=("source_file", "size"))
    due = pd.Timestamp(date(f.as_of.year, f.as_of.month, 1)) - pd.DateOffset(months=1)
    late = fr["communities"][["community"]].merge(latest_sub, left_on="community", right_index=True, how="left")
    late["latest_month"] = pd.to_datetime(late["latest_month"])
    late["months_behind"] = ((due.year - late["latest_month"].dt.year) * 12
                             + due.month - late["latest_month"].dt.month)
    late = late[late["latest_month"].isna() | (late["latest_month"] < due)].sort_values(
        ["latest_month", "community"], na_position="first")
    batches = fr["load_batches"].sort_values("batch_id", ascending=False)
    new = fr["compounds"][~fr["compounds"]["is_known"].astype(bool)].sort_values(["community", "compound"])
    return {"fresh": fresh, "stale_count": int(fresh["stale"].sum()), "rejects_by_file": by_file,
            "reject_total": int(by_file["rejects"].sum()), "reject_rows": reject_list, "late": late,
            "batches": batches, "new_compounds": new}


def page(name: str, fr: dict, f: Filters = Filters()) -> object:
    """Compute one page's numbers from the frames (the dataset badge reads meta)."""
    from bench.pages_spec import PROFILE_COMMUNITY

    meta = dict(fr["meta"].itertuples(index=False, name=None))
    if name == "overview":
        return meta, headline(fr, f), fr["mobilisation_2020"], cases_by_year(fr, f)
    if name == "cases":
        table = category_table(fr, f)
        ranking = community_ranking(fr, f)
        return (meta, service_totals(table), cases_by_year(fr, f), table, backlog_ageing(fr, f), ranking,
                ranking.sort_values("received_per_1000", ascending=False).head(15), matrix(fr, f))
    if name == "teams":
        return meta, volunteer_summary(fr, f), flows(fr["volunteers"], "role", "appointed_on", "left_on", f)
    if name == "organizations":
        o = fr["organizations"]
        return (meta, headline(fr, f), org_by_kind(fr, f), flows(o, "kind", "founded_on", "dissolved_on", f))
    if name == "projects":
        return meta, micro_projects(fr, f), activities_by_year(fr, f)
    if name == "community":
        return (meta, community_profile(fr, f, PROFILE_COMMUNITY), compound_cases(fr, f, PROFILE_COMMUNITY),
                cases_by_year(fr, f, PROFILE_COMMUNITY))
    if name == "milestones":
        return meta, fr["milestones"], cases_by_month(fr, f)
    if name == "quality":
        return meta, quality(fr, f)
    if name == "bigscreen":
        table = category_table(fr, f)
        o = fr["organizations"]
        return (headline(fr, f), cases_by_year(fr, f), community_ranking(fr, f), service_totals(table),
                volunteer_summary(fr, f), flows(o, "kind", "founded_on", "dissolved_on", f), cases_by_month(fr, f),
                fr["milestones"], meta)
    raise KeyError(name)


def check(fr: dict, cur) -> list[str]:
    """Differences between a few baseline figures and the metric layer's (empty list: the same)."""
    from chuangshu import metrics

    f = Filters()
    bad = []
    head = metrics.headline(cur, f).set_index("key")["value"]
    mine = headline(fr, f)
    for key in (*CATEGORY_METRIC.values(), "volunteers", "building_heads", "compounds_with_heads", "wechat_groups"):
        got = mine[key]["value"] if "value" in mine[key] else mine[key][f.end]
        if int(got) != int(head[key]):
            bad.append(f"headline {key}: pandas {got} vs metrics {head[key]}")
    ours = metrics.service_totals(cur, f)
    pd_tot = service_totals(category_table(fr, f))
    for key in ("received", "resolved", "open_backlog"):
        if int(ours[key]) != int(pd_tot[key]):
            bad.append(f"service_totals {key}: pandas {pd_tot[key]} vs metrics {ours[key]}")
    vs = metrics.volunteer_summary(cur, f)
    if vs["total"] != volunteer_summary(fr, f)["total"]:
        bad.append("volunteer_summary total differs")
    if "submissions" in fr:  # the quality page's frames were read
        dq, mine_q = metrics.data_quality(cur, f), quality(fr, f)
        if (dq["stale_count"], dq["reject_total"], len(dq["new_compounds"])) != \
                (mine_q["stale_count"], mine_q["reject_total"], len(mine_q["new_compounds"])):
            bad.append("data_quality differs")
        if len(metrics.overdue_submissions(cur, f)) != len(mine_q["late"]):
            bad.append("overdue_submissions differs")
    return bad
