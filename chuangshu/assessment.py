"""考核: targets, the 创熟指数, the league table with peer groups and rank changes, movers, the 预警 list,
and the rows behind any of their figures.

Part of the metric layer: the metrics are declared in chuangshu.metrics (label, unit, 口径, which way
is better), computed here from the marts by the named queries of sql/assessment.sql, and read by the
考核 page, the KPI cards' target status, the deck, the big screen and the phone view alike. The rules
(weights, caps, thresholds, peer groups, minimum cases) are reference data (the views
assessment_metrics, assessment_settings, peer_groups, alert_rules, targets); an administrator's
target edits come in as an :class:`chuangshu.targets.Overlay` argument. docs/assessment.md explains
every formula; tests/test_assessment.py recomputes them independently with pandas.
"""
from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from typing import Any

import duckdb
import pandas as pd

from chuangshu import fmt
from chuangshu.filters import GRAINS, Filters, Span, span_at
from chuangshu.metrics import METRICS, TARGETABLE, due_month, rate
from chuangshu.queries import rows as fetch_rows
from chuangshu.queries import run
from chuangshu.targets import NO_OVERLAY, Overlay
from etl.catalogue import LEDGER_TITLES

SUBDISTRICT = "全街道"  # the sub-district's row: every community's counts summed
HISTORIC_OWN = "历史（本社区）"
HISTORIC_WHOLE = "历史（全街道）"  # the sub-district's own history
HISTORIC_MEDIAN = "历史（街道中位数）"
# Each 考核 metric as a ratio of assessment_base columns, times a scale (per-month metrics divide by the span's months).
NUMDEN: dict[str, tuple[str, str, float]] = {
    "resolution_rate": ("received_resolved", "received", 100.0),
    "on_time_rate": ("on_time", "resolved", 100.0),
    "follow_up_rate": ("followed_up", "resolved", 100.0),
    "satisfaction_rate": ("satisfied", "rated", 100.0),
    "repeat_rate": ("repeats", "with_compound", 100.0),
    "overdue_open_rate": ("open_overdue", "open_end", 100.0),
    "head_coverage": ("compounds_with_heads", "compounds", 100.0),
    "heads_per_100_households": ("heads_hh", "households_hh", 100.0),
    "organizations_per_1000_households": ("organizations", "households", 1000.0),
    "participation_per_100_households": ("participants", "households", 100.0),
    "ledger_on_time_rate": ("ledgers_on_time", "ledgers", 100.0),
}
PER_MONTH = frozenset({"participation_per_100_households"})
CASE_METRICS = ("resolution_rate", "on_time_rate", "follow_up_rate", "satisfaction_rate", "repeat_rate",
                "overdue_open_rate")
OFFICE_ONLY = frozenset({"ledger_on_time_rate"})  # needs the submissions view (not in a community's copy)
OFFICE_ALERTS = frozenset({"ledger_on_time_rate", "overdue_ledger"})  # rows a community account may not open
# What `counted` (the numerator) means in a case metric's rows.
COUNTED = {"resolution_rate": "期末已办结", "on_time_rate": "按时办结", "follow_up_rate": "期末前已回访",
           "satisfaction_rate": "满意或基本满意", "repeat_rate": "重复事项", "overdue_open_rate": "已超时限"}
# Status of a judged cell: symbol, word, colour (never colour alone: the symbol and word say it too).
STATUS = {"met": ("✓", "达标", "green"), "near": ("△", "接近", "orange"), "missed": ("×", "未达标", "red")}
NOT_JUDGED = ("·", "未评", "gray")
# Light backgrounds of a judged cell on the page and in the deck (the symbol and word say it too).
BACKGROUND = {"met": "#DCFCE7", "near": "#FEF3C7", "missed": "#FEE2E2"}
DIRECTION = {"higher": "不低于", "lower": "不高于"}
# Short headers of the league table's metric columns (page and deck alike).
SHORT = {"resolution_rate": "办结率", "on_time_rate": "按时办结", "follow_up_rate": "回访率", "satisfaction_rate": "满意率",
         "repeat_rate": "重复率", "overdue_open_rate": "在办超时", "head_coverage": "楼长覆盖",
         "heads_per_100_households": "每百户楼长", "organizations_per_1000_households": "每千户组织",
         "participation_per_100_households": "月均参与", "ledger_on_time_rate": "按时上报"}


def cell_text(metric: str, value: Any, state: str | None) -> str:
    """'96.4% ✓' for a judged cell, '96.4% ·' for one that is not judged, '—' without a value."""
    if fmt.missing(value):
        return fmt.DASH
    m = METRICS[metric]
    shown = fmt.pct(value) if m.kind == "rate" else f"{float(value):,.2f}"  # one column, one precision
    symbol = STATUS.get(state or "", NOT_JUDGED)[0]
    return f"{shown} {symbol}"


# --- the rules, from reference data ------------------------------------------------------------------

@dataclass(frozen=True)
class IndexMetric:
    """One metric of the 创熟指数: its dimension (服务/创熟), weight and smallest scored denominator."""

    metric: str
    dimension: str
    weight: float
    min_base: int


@dataclass(frozen=True)
class PeerGroup:
    name: str
    label: str
    low: int
    high: int | None


@dataclass(frozen=True)
class Config:
    """The 考核 rules: assessment_settings, assessment_metrics and peer_groups."""

    cap: float = 1.2
    amber: float = 0.9
    min_cases: dict[str, int] = field(default_factory=lambda: {"month": 5, "quarter": 10, "year": 30})
    min_weight_share: float = 0.5
    history_months: int = 12
    history_min_months: int = 6
    monthly_ledgers: tuple[str, ...] = ()  # from assessment_settings (monthly_ledgers)
    lag_months: int = 1
    metrics: tuple[IndexMetric, ...] = ()
    groups: tuple[PeerGroup, ...] = ()

    def group_of(self, households: float | None) -> PeerGroup | None:
        """The peer group of a community with ``households`` households."""
        if households is None or (isinstance(households, float) and math.isnan(households)):
            return None
        return next((g for g in self.groups if g.low <= households and (g.high is None or households <= g.high)), None)


def assessment_config(cur: duckdb.DuckDBPyConnection) -> Config:
    """The 考核 rules as loaded from reference data (defaults for any setting left out)."""
    settings: dict[str, str] = {}
    metrics: list[IndexMetric] = []
    groups: list[PeerGroup] = []
    for part, key, text, number, number2, _, _ in fetch_rows(cur, "assessment_reference", {}):
        if part == "setting":
            settings[key] = text
        elif part == "metric" and key in NUMDEN:
            metrics.append(IndexMetric(key, text, float(number or 0), int(number2 or 0)))
        elif part == "peer_group":
            groups.append(PeerGroup(key, text, int(number or 0), None if number2 is None else int(number2)))
    base = Config()

    def num(key: str, default: float) -> float:
        try:
            return float(settings[key])
        except (KeyError, TypeError, ValueError):
            return default

    return Config(
        cap=num("score_cap", base.cap), amber=num("amber_ratio", base.amber),
        min_cases={g: int(num(f"min_cases_{g}", base.min_cases[g])) for g in GRAINS},
        min_weight_share=num("min_weight_share", base.min_weight_share),
        history_months=int(num("history_months", base.history_months)),
        history_min_months=int(num("history_min_months", base.history_min_months)),
        monthly_ledgers=tuple(k for k in (settings.get("monthly_ledgers") or "").split("|") if k)
        or base.monthly_ledgers,
        lag_months=int(num("ledger_lag_months", base.lag_months)),
        metrics=tuple(metrics), groups=tuple(groups))


# --- targets -------------------------------------------------------------------------------------------

def targets(cur: duckdb.DuckDBPyConnection, overlay: Overlay = NO_OVERLAY) -> pd.DataFrame:
    """Every explicit target: the defaults (targets view) with the administrators' edits on top.

    One row per key (metric, scope_kind, scope, period): target, source, note, ``origin`` (默认 /
    修改), who edited it and when, ``default`` (the current default of an edited key, else the target),
    ``conflict`` (the default changed since the edit) and ``direction_ok`` (the row's direction agrees
    with the metric's: rows that disagree are listed but scored the metric's way)."""
    df = run(cur, "assessment_targets", {})
    df["scope"] = df["scope"].fillna("").astype("str")
    df["note"] = df["note"].fillna("").astype("str")
    df["origin"] = "默认"
    df["default"] = df["target"].astype("float64")
    df["edited_by"], df["edited_at"], df["conflict"] = "", "", False
    rows = df.to_dict("records")
    index = {(r["metric"], r["scope_kind"], r["scope"], r["period"]): r for r in rows}
    for e in overlay.entries:
        if e.metric not in TARGETABLE:
            continue
        row = index.get(e.key)
        if row is None:
            row = {"metric": e.metric, "scope_kind": e.scope_kind, "scope": e.scope, "period": e.period,
                   "direction": DIRECTION[METRICS[e.metric].better or "higher"], "default": None}
            rows.append(row)
            index[e.key] = row
        row.update(target=e.target, source=e.source, note=e.note, origin="修改", edited_by=e.edited_by,
                   edited_at=e.edited_at, conflict=row["default"] != e.base)
    out = pd.DataFrame(rows, columns=[*df.columns])
    out = out[out["metric"].isin(TARGETABLE)].reset_index(drop=True)
    out["direction_ok"] = [d == DIRECTION[METRICS[m].better] for m, d in zip(out["metric"], out["direction"])]
    out["label"] = [METRICS[m].label for m in out["metric"]]
    order = {"metric": list(TARGETABLE), "scope_kind": ["街道", "同类组", "社区"], "period": ["全部", "月", "季", "年"]}
    keys = [[order[k].index(v) if v in order[k] else len(order[k]) for v in out[k]] for k in order]
    out = out.assign(_m=keys[0], _k=keys[1], _p=keys[2])
    return out.sort_values(["_m", "_k", "scope", "_p"], kind="stable").drop(columns=["_m", "_k", "_p"]).reset_index(drop=True)


@dataclass(frozen=True)
class Target:
    """The target a figure is judged against, and where it comes from (shown beside it)."""

    value: float
    source: str  # 政策 / 历史 / 自定, or HISTORIC_OWN / HISTORIC_WHOLE / HISTORIC_MEDIAN
    scope: str  # 街道, 同类组「小型」, 本社区
    origin: str = "默认"  # 默认 / 修改 / 计算

    @property
    def text(self) -> str:
        if self.origin == "计算":  # a historic target's source already says whose history it is
            return self.source
        where = "" if self.scope == "街道" else f"，{self.scope}"
        how = "，管理员修改" if self.origin == "修改" else ""
        return f"{self.source}{where}{how}"


def target_index(table: pd.DataFrame) -> dict[tuple[str, str, str, str], Target]:
    """The targets table as a lookup: (metric, scope_kind, scope, period) -> Target."""
    shown = {"社区": "本社区", "街道": "街道"}
    return {(m, k, sc, p): Target(float(t), str(src), shown.get(k, f"同类组「{sc}」"), str(o))
            for m, k, sc, p, t, src, o in zip(table["metric"], table["scope_kind"], table["scope"], table["period"],
                                              table["target"], table["source"], table["origin"])}


def explicit_target(index: dict[tuple[str, str, str, str], Target], metric: str, community: str | None,
                    group: str | None, grain: str | None) -> Target | None:
    """The explicit target of ``metric`` for a community (None: the sub-district) and a 考核 grain (None: a
    page's window, which only 全部 targets apply to): the most specific scope first — the community,
    its peer group, the sub-district — and within a scope the grain's own period before 全部."""
    periods = [GRAINS[grain], "全部"] if grain else ["全部"]
    scopes = ([("社区", community)] if community else []) + ([("同类组", group)] if group else []) + [("街道", "")]
    for kind, name in scopes:
        for period in periods:
            hit = index.get((metric, kind, name, period))
            if hit is not None:
                return hit
    return None


def historic(values: Sequence[float], better: str) -> float | None:
    """Mean − 1 sd (sample sd; higher is better) or mean + 1 sd (lower is better) of the monthly values, ≥ 0."""
    values = [float(v) for v in values]
    if not values:
        return None
    mean = sum(values) / len(values)
    sd = math.sqrt(sum((v - mean) ** 2 for v in values) / (len(values) - 1)) if len(values) > 1 else 0.0
    return max(0.0, mean - sd if better == "higher" else mean + sd)


def score(value: float | None, target: float | None, better: str, cap: float) -> float | None:
    """value ÷ target (target ÷ value when lower is better), at most ``cap``; None when either is missing."""
    if fmt.missing(value) or fmt.missing(target):
        return None
    value, target = float(value), float(target)
    if better == "higher":
        raw = cap if target <= 0 else value / target
    else:
        raw = cap if value <= 0 else (0.0 if target <= 0 else target / value)
    return max(0.0, min(cap, raw))


def status(s: float | None, amber: float) -> str | None:
    """met (score ≥ 1), near (≥ amber), missed, or None (not judged)."""
    if fmt.missing(s):
        return None
    return "met" if s >= 1 - 1e-9 else "near" if s >= amber else "missed"


def status_text(state: str | None) -> str:
    """'✓ 达标', '△ 接近', '× 未达标' or '· 未评'."""
    symbol, word, _ = STATUS.get(state or "", NOT_JUDGED)
    return f"{symbol} {word}"


def target_text(metric: str, target: float | None) -> str:
    """'目标 ≥ 90.0%' / '目标 ≤ 20.0%' / '目标 —'."""
    m = METRICS[metric]
    if fmt.missing(target):
        return "无目标"
    sign = "≥" if m.better == "higher" else "≤"
    return f"目标 {sign} {fmt.metric_value(target, m.unit, m.kind)}"


# --- the league table --------------------------------------------------------------------------------

def scope_of(f: Filters) -> Filters:
    """The part of the sidebar's filters the 考核 uses (the as-of date and the communities): callers pass
    this, so that changing the years or categories neither recomputes nor re-caches the league table."""
    return Filters(as_of=f.as_of, year_from=f.as_of.year, year_to=f.as_of.year, communities=f.communities)


def is_office(cur: duckdb.DuckDBPyConnection) -> bool:
    """True on the published database; False on a community's private copy, which has no load records
    (submissions) and no other community: its 考核 shows no ranks and nothing compared."""
    return bool(fetch_rows(cur, "has_submissions", {})[0][0])


def spans(as_of: date, grain: str, history_months: int = 12) -> list[Span]:
    """The spans one league table reads: the current period, the previous one, then the history months."""
    current = span_at(as_of, grain)
    return [current, current.previous(), *current.months_before(history_months)]


def _ledger_counts(ledger: pd.DataFrame, communities: Sequence[str], ends: Sequence[date], cfg: Config) -> pd.DataFrame:
    """Per span end and community: how many monthly ledgers reach their due month, of how many."""
    latest = {(c, k): m for c, k, m in zip(ledger["community"], ledger["ledger_kind"], ledger["latest_month"])}
    out = []
    for pid, end in enumerate(ends):
        due = due_month(end, cfg.lag_months)
        for c in communities:
            on_time = sum(1 for k in cfg.monthly_ledgers
                          if not fmt.missing(latest.get((c, k))) and pd.Timestamp(latest[(c, k)]).date() >= due)
            out.append((pid, c, on_time, len(cfg.monthly_ledgers)))
    return pd.DataFrame(out, columns=["pid", "community", "ledgers_on_time", "ledgers"])


def base_counts(cur: duckdb.DuckDBPyConnection, periods: Sequence[Span], cfg: Config, office: bool) -> pd.DataFrame:
    """assessment_base for ``periods`` (plus the ledger counts for the office), with the sub-district's row
    (every community summed) under the community SUBDISTRICT."""
    df = run(cur, "assessment_base", {"starts": [p.start for p in periods], "ends": [p.end for p in periods],
                                      "last": max(p.end for p in periods)})
    if office:
        ledger = run(cur, "ledger_latest", {"kinds": list(cfg.monthly_ledgers)})
        df = df.merge(_ledger_counts(ledger, sorted(set(df["community"])), [p.end for p in periods], cfg),
                      on=["pid", "community"], how="left")
    else:
        df["ledgers_on_time"], df["ledgers"] = 0, 0
    numeric = [c for c in df.columns if c not in ("pid", "community")]
    whole = df.groupby("pid", as_index=False)[numeric].sum()
    whole["community"] = SUBDISTRICT
    return pd.concat([whole[df.columns], df], ignore_index=True)


def metric_values(counts: pd.DataFrame, periods: Sequence[Span], cfg: Config) -> pd.DataFrame:
    """Long frame: pid, community, metric, num, den, value (None without a denominator), scored (den ≥ min_base)."""
    months = {pid: p.months for pid, p in enumerate(periods)}
    mins = {m.metric: m.min_base for m in cfg.metrics}
    parts = []
    for metric in [m.metric for m in cfg.metrics]:
        num_col, den_col, scale = NUMDEN[metric]
        part = counts[["pid", "community", num_col, den_col]].rename(columns={num_col: "num", den_col: "den"})
        part = part.assign(metric=metric)
        factor = [scale / months[p] if metric in PER_MONTH else scale for p in part["pid"]]
        part["value"] = [f * n / d if d else None for f, n, d in zip(factor, part["num"], part["den"])]
        part["scored"] = [bool(d) and d >= mins[metric] for d in part["den"]]
        parts.append(part)
    out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(
        columns=["pid", "community", "num", "den", "metric", "value", "scored"])
    out["value"] = out["value"].astype("Float64")
    return out[["pid", "community", "metric", "num", "den", "value", "scored"]]


def _historic_targets(values: pd.DataFrame, history: Sequence[int], cfg: Config, compare: bool) -> dict:
    """(community, metric) -> Target from the history months: own mean − sd when enough months are
    scored, else (office only) the median over communities of their pooled history value. A historic
    target of 0 for a metric where higher is better says nothing and is not used."""
    hist = values[values["pid"].isin(list(history))]
    series: dict[tuple[str, str], list[tuple[float, float, float | None, bool]]] = {}
    for c, m, num, den, value, scored in zip(hist["community"], hist["metric"], hist["num"], hist["den"],
                                             hist["value"], hist["scored"]):
        series.setdefault((c, m), []).append((float(num), float(den), None if fmt.missing(value) else float(value),
                                              bool(scored)))
    mins = {m.metric: m.min_base for m in cfg.metrics}
    out: dict[tuple[str, str], Target] = {}
    pooled: dict[str, list[float]] = {}
    for (community, metric), months in series.items():
        better = METRICS[metric].better or "higher"
        ok = [v for _, _, v, scored in months if scored and v is not None]
        if len(ok) >= cfg.history_min_months:
            value = historic(ok, better)
            if value is not None and (value > 0 or better == "lower"):
                own = community != SUBDISTRICT
                out[(community, metric)] = Target(value, HISTORIC_OWN if own else HISTORIC_WHOLE,
                                                  "本社区" if own else "街道", "计算")
        if community != SUBDISTRICT:
            num, den = sum(x[0] for x in months), sum(x[1] for x in months)
            if den and den >= mins[metric]:
                factor = 1.0 / len(months) if metric in PER_MONTH else 1.0
                pooled.setdefault(metric, []).append(NUMDEN[metric][2] * factor * num / den)
    if compare:
        medians = {m: float(statistics.median(v)) for m, v in pooled.items() if v}
        for (community, metric) in series:
            median = medians.get(metric)
            if (community, metric) not in out and median is not None and (median > 0 or METRICS[metric].better == "lower"):
                out[(community, metric)] = Target(median, HISTORIC_MEDIAN, "街道", "计算")
    return out


@dataclass(frozen=True)
class League:
    """A league table: the span it judges, the previous one, the metrics, one row per community and the cells."""

    grain: str
    span: Span
    previous: Span
    compare: bool
    group: str | None
    metrics: pd.DataFrame  # metric, label, unit, kind, better, dimension, weight, min_base, definition
    table: pd.DataFrame  # one row per community shown (the sub-district first); see league_table
    cells: pd.DataFrame  # community, metric, num, den, value, target, target_source, score, status (current span)
    prev_cells: pd.DataFrame  # the same for the previous span, judged against the same targets
    movers: pd.DataFrame  # direction (up/down), community, short_name, rank, prev_rank, change
    min_cases: int
    ranked_of: int
    notes: tuple[str, ...] = ()
    amber: float = 0.9


def _judge(values: pd.DataFrame, pid: int, chosen: dict, cfg: Config) -> pd.DataFrame:
    cur = values[values["pid"] == pid].copy()
    targets_ = [chosen.get((c, m)) for c, m in zip(cur["community"], cur["metric"])]
    cur["target"] = [None if t is None else t.value for t in targets_]
    cur["target_source"] = [None if t is None else t.text for t in targets_]
    cur["score"] = [score(v if ok else None, t, METRICS[m].better or "higher", cfg.cap)
                    for v, ok, t, m in zip(cur["value"], cur["scored"], cur["target"], cur["metric"])]
    cur["status"] = pd.Series([status(s, cfg.amber) for s in cur["score"]], index=cur.index, dtype="object")
    return cur


def _index(cells: pd.DataFrame, cfg: Config, weights_all: float) -> dict[str, float | None]:
    weights = {m.metric: m.weight for m in cfg.metrics}
    sums: dict[str, list[float]] = {}
    for community, metric, s in zip(cells["community"], cells["metric"], cells["score"]):
        acc = sums.setdefault(community, [0.0, 0.0])
        if s is not None and not fmt.missing(s):
            acc[0] += weights[metric] * float(s)
            acc[1] += weights[metric]
    return {c: (100 * ws / w if w and w >= cfg.min_weight_share * weights_all else None) for c, (ws, w) in sums.items()}


def _ranks(index: dict[str, float | None], eligible: set[str], pool: Sequence[str]) -> dict[str, int]:
    scores = pd.Series({c: index[c] for c in pool if c in eligible and index.get(c) is not None}, dtype="float64")
    return {c: int(r) for c, r in scores.rank(ascending=False, method="min").items()}


def change_label(change: int | None, ranked: bool, was_ranked: bool) -> str:
    """'↑3', '↓2', '持平', '新进' (ranked now, not before) or '—'."""
    if not ranked:
        return fmt.DASH
    if not was_ranked or change is None:
        return "新进"
    return "持平" if change == 0 else f"↑{change}" if change > 0 else f"↓{-change}"


def league_table(cur: duckdb.DuckDBPyConnection, f: Filters, grain: str = "month", overlay: Overlay = NO_OVERLAY,
                 group: str | None = None, compare: bool = True) -> League:
    """The 考核 league table for the ``grain`` period that holds the as-of date.

    Every community (or every community of peer ``group``) is scored on the 创熟指数's metrics against
    its targets (explicit, else historic), ranked by the index among those with at least
    min_cases_<grain> cases received in the period, and compared with its rank in the previous
    period under the same targets. The rows shown follow the sidebar's communities (the ranks do
    not: they are always among the whole pool); the sub-district's row comes first, then the ranked
    communities by rank, then the unranked ones. ``compare=False``
    (a community account) returns its own row without index, ranks, movers or anything computed
    from other communities (docs/assessment.md).
    """
    cfg = assessment_config(cur)
    compare = compare and is_office(cur)
    periods = spans(f.as_of, grain, cfg.history_months)
    counts = base_counts(cur, periods, cfg, office=compare)
    if not compare:
        counts = counts[counts["community"] != SUBDISTRICT]
        cfg = replace(cfg, metrics=tuple(m for m in cfg.metrics if m.metric not in OFFICE_ONLY))
    values = metric_values(counts, periods, cfg)
    info = counts[counts["pid"] == 0].set_index("community")
    groups = {c: cfg.group_of(h) for c, h in zip(info.index, info["households"]) if c != SUBDISTRICT}
    explicit = target_index(targets(cur, overlay))
    hist = _historic_targets(values, range(2, len(periods)), cfg, compare)
    chosen: dict[tuple[str, str], Target] = {}
    for community in info.index:
        g = groups.get(community)
        for m in cfg.metrics:
            t = explicit_target(explicit, m.metric, None if community == SUBDISTRICT else community,
                                g.name if g else None, grain) or hist.get((community, m.metric))
            if t is not None:
                chosen[(community, m.metric)] = t
    now, before = _judge(values, 0, chosen, cfg), _judge(values, 1, chosen, cfg)
    weights_all = sum(m.weight for m in cfg.metrics)
    index_now, index_before = _index(now, cfg, weights_all), _index(before, cfg, weights_all)
    minimum = cfg.min_cases[grain]
    received = dict(zip(info.index, info["received"]))
    received_before = counts[counts["pid"] == 1].set_index("community")["received"].to_dict()
    pool = [c for c in info.index if c != SUBDISTRICT and (group is None or (groups.get(c) and groups[c].name == group))]
    eligible = {c for c in pool if received.get(c, 0) >= minimum} if compare else set()
    eligible_before = {c for c in pool if received_before.get(c, 0) >= minimum} if compare else set()
    rank_now, rank_before = _ranks(index_now, eligible, pool), _ranks(index_before, eligible_before, pool)
    peer_now = {}
    for g in cfg.groups:
        peer_now.update(_ranks(index_now, eligible, [c for c in pool if groups.get(c) == g]))

    # a league table reads top-down: ranked communities by rank (ties in reference order), then the unranked
    order = {c: i for i, c in enumerate(pool)}
    shown = sorted((c for c in pool if not f.communities or c in f.communities),
                   key=lambda c: (c not in rank_now, rank_now.get(c, 0), order[c]))
    if compare and (group is None):
        shown = [SUBDISTRICT, *shown]
    names = dict(fetch_rows(cur, "assessment_short_names", {}))
    rows = []
    wide = {(c, m): (v, st_, t) for c, m, v, st_, t in zip(now["community"], now["metric"], now["value"], now["status"],
                                                          now["target"])}
    for c in shown:
        g = groups.get(c)
        rank, prev = rank_now.get(c), rank_before.get(c)
        change = None if rank is None or prev is None else prev - rank
        if not compare:
            why = "创熟指数与排名仅街道办账号可见（它们由各社区的数字比较得出）"
        elif c == SUBDISTRICT:
            why = "全街道合计，不参与排名"
        elif received.get(c, 0) < minimum:
            why = f"样本不足：本期受理 {int(received.get(c, 0))} 件，少于 {minimum} 件，不排名"
        elif index_now.get(c) is None:
            why = "参与评价的指标不足（没有目标或分母不足），不计指数"
        else:
            why = None
        row = {"community": c, "short_name": names.get(c, c), "peer_group": g.name if g else None,
               "received": int(received.get(c, 0)), "eligible": c in eligible,
               "index": index_now.get(c) if compare and (c == SUBDISTRICT or c in eligible) else None,
               "prev_index": index_before.get(c) if compare and (c == SUBDISTRICT or c in eligible_before) else None,
               "rank": rank, "peer_rank": peer_now.get(c), "prev_rank": prev, "change": change,
               "change_label": change_label(change, rank is not None, prev is not None) if compare else fmt.DASH,
               "rank_label": str(rank) if rank is not None else ("样本不足" if compare and c != SUBDISTRICT
                                                                and received.get(c, 0) < minimum else fmt.DASH),
               "why": why}
        for m in cfg.metrics:
            value, state, target = wide.get((c, m.metric), (None, None, None))
            row[m.metric] = None if fmt.missing(value) else float(value)
            row[f"{m.metric}__status"] = state
            row[f"{m.metric}__target"] = None if fmt.missing(target) else float(target)
        rows.append(row)
    table = pd.DataFrame(rows)
    movers = _movers(table[table["community"] != SUBDISTRICT]) if compare else _movers(table.iloc[0:0])
    metrics_df = pd.DataFrame([{"metric": m.metric, "label": METRICS[m.metric].label, "unit": METRICS[m.metric].unit,
                                "kind": METRICS[m.metric].kind, "better": METRICS[m.metric].better,
                                "dimension": m.dimension, "weight": m.weight, "min_base": m.min_base,
                                "definition": METRICS[m.metric].definition} for m in cfg.metrics])
    notes = []
    if not periods[0].complete:
        notes.append(f"{periods[0].label}不是完整的{GRAINS[grain]}：比率按已过去的天数计，每百户月均参与人次按天数折算")
    if not compare:
        notes.append("社区账号不显示台账按时上报率（需要全街道的上报记录）；历史目标只用本社区自己的数据")
    cells = now[now["community"].isin(shown)].drop(columns=["pid"]).reset_index(drop=True)
    prev_cells = before[before["community"].isin(shown)].drop(columns=["pid"]).reset_index(drop=True)
    return League(grain, periods[0], periods[1], compare, group, metrics_df, table, cells, prev_cells, movers,
                  minimum, len(rank_now), tuple(notes), cfg.amber)


def _movers(table: pd.DataFrame, n: int = 5) -> pd.DataFrame:
    moved = table.dropna(subset=["change"])
    up = moved[moved["change"] > 0].sort_values(["change", "rank", "community"], ascending=[False, True, True]).head(n)
    down = moved[moved["change"] < 0].sort_values(["change", "rank", "community"], ascending=[True, True, True]).head(n)
    out = pd.concat([up.assign(direction="up"), down.assign(direction="down")], ignore_index=True)
    cols = ["direction", "community", "short_name", "rank", "prev_rank", "change", "change_label", "index"]
    return out[cols] if len(out) else pd.DataFrame(columns=cols)


def league_brief(cur: duckdb.DuckDBPyConnection, f: Filters, grain: str = "month", overlay: Overlay = NO_OVERLAY,
                 compare: bool = True, n: int = 5) -> dict[str, object]:
    """The 考核 headline for small screens (phone view, big screen, deck): the period, the sub-district's
    index and its change, the top and bottom ``n`` ranked communities, the movers, the alerts by rule."""
    league = league_table(cur, f, grain, overlay, compare=compare)
    t = league.table
    whole = t[t["community"] == SUBDISTRICT]
    ranked = t.dropna(subset=["rank"]).sort_values(["rank", "community"])
    found = alerts(cur, f, overlay, compare)
    return {"period": league.span.label, "previous": league.previous.label,
            "index": None if whole.empty else whole["index"].iloc[0],
            "prev_index": None if whole.empty else whole["prev_index"].iloc[0],
            "top": ranked.head(n).reset_index(drop=True), "bottom": ranked.tail(n).iloc[::-1].reset_index(drop=True),
            "movers": league.movers, "ranked_of": league.ranked_of,
            "alerts": found.groupby("title", sort=False).size().to_dict() if len(found) else {},
            "alert_total": len(found)}


# --- card targets ---------------------------------------------------------------------------------------

def card_targets(cur: duckdb.DuckDBPyConnection, f: Filters, overlay: Overlay = NO_OVERLAY) -> dict[str, dict]:
    """The explicit targets (period 全部) that the KPI cards of ``f`` are judged against: for one community
    its own, its peer group's or the sub-district's; otherwise the sub-district's. metric -> target, the
    target's words (目标 ≥ 90.0%), its source, amber and cap."""
    table = targets(cur, overlay)
    if table.empty:
        return {}
    index = target_index(table)
    cfg = assessment_config(cur)
    community = f.communities[0] if len(f.communities) == 1 else None
    group = None
    if community:
        hh = fetch_rows(cur, "assessment_households", {"community": community})
        g = cfg.group_of(hh[0][0]) if hh else None
        group = g.name if g else None
    out = {}
    for metric in sorted(set(table["metric"])):
        t = explicit_target(index, metric, community, group, None)
        if t is not None:
            out[metric] = {"target": t.value, "text": target_text(metric, t.value), "source": t.text,
                           "amber": cfg.amber, "cap": cfg.cap}
    return out


def judge_card(metric: str, value: float | None, target: dict | None) -> tuple[str | None, str | None]:
    """(status, words) of a card's value against its target: ('met', '✓ 达标 · 目标 ≥ 90.0%'), (None, None) without one.

    The status comes first: a narrow card cuts the end of the line, and the status is what must stay."""
    if not target:
        return None, None
    s = score(value, target["target"], METRICS[metric].better or "higher", target["cap"])
    state = status(s, target["amber"])
    return state, (f"{status_text(state)} · " if state else "") + target["text"]


# --- warnings -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Drill:
    """What rows to show behind a figure: a league cell (kind 'metric') or a warning (kind 'alert')."""

    kind: str
    key: str
    community: str | None  # None: the whole sub-district
    end: date
    start: date | None = None
    compound: str | None = None
    category: str | None = None
    window: int = 90
    slack: float = 0
    kinds: tuple[str, ...] = ()
    title: str = ""


def _threshold(value: float, unit: str) -> str:
    number = f"{value:g}"
    return f"{number} {unit}".strip()


def alerts(cur: duckdb.DuckDBPyConnection, f: Filters, overlay: Overlay = NO_OVERLAY, compare: bool = True) -> pd.DataFrame:
    """The 预警 list at the as-of date for the filters' communities: one row per warning with its rule,
    title, where (社区 / 小区 / 类别), the rule's threshold, the value that triggered it, a severity
    for ordering (the oldest, the most, the furthest first) and the Drill to its rows. Rules and
    thresholds come from the alert_rules view; disabled rules are skipped."""
    end = f.as_of
    comms = list(f.communities)
    compare = compare and is_office(cur)
    out: list[dict] = []
    rules = run(cur, "alert_rules", {})
    cfg = assessment_config(cur)
    for r in rules[rules["enabled"].fillna(False)].to_dict("records"):
        rule, threshold, unit = r["rule"], float(r["threshold"] or 0), r["unit"] or ""

        def add(community: str | None, where: str, value: str, severity: float, drill: Drill) -> None:
            out.append({"rule": rule, "title": r["title"], "order": int(r["sort_order"] or 0),
                        "community": community or SUBDISTRICT, "where": where,
                        "threshold": _rule_threshold(rule, threshold, unit, r), "value": value,
                        "severity": float(severity), "drill": drill})

        if rule == "overdue_open":
            for c, n, days, label, sla in fetch_rows(cur, "alert_overdue_open",
                                                     {"end": end, "slack": threshold, "communities": comms}):
                add(c, c, f"{n} 件超时未办结，最久已办理 {days:,} 天（{label}，时限 {sla} 天）", days,
                    Drill("alert", rule, c, end, slack=threshold, title=f"{c}超时未办结的事项"))
        elif rule == "repeat_hotspot":
            window = int(r["window_days"] or 90)
            for c, compound, category, label, n, first, last in fetch_rows(
                    cur, "alert_repeat_hotspots", {"end": end, "window": window, "n": max(1, int(threshold)),
                                                   "communities": comms}):
                add(c, f"{c} · {compound} · {label}", f"近 {window} 天登记 {n} 次（{fmt.date_cn(first)}—{fmt.date_cn(last)}）",
                    n, Drill("alert", rule, c, end, compound=compound, category=category, window=window,
                             title=f"{c}{compound}近 {window} 天的{label}事项"))
        elif rule == "head_vacancy":
            for c, compound, since, days in fetch_rows(cur, "alert_head_vacancies",
                                                        {"end": end, "days": int(threshold), "communities": comms}):
                add(c, f"{c} · {compound}", f"已空缺 {days:,} 天（{fmt.date_cn(since)}最后一位楼长离任）", days,
                    Drill("alert", rule, c, end, compound=compound, title=f"{c}{compound}的楼长记录"))
        elif rule in ("below_target", "mom_drop"):
            out += _rate_alerts(cur, f, overlay, compare, r)
        elif rule == "overdue_ledger" and compare:
            due = due_month(end, cfg.lag_months)
            latest = run(cur, "ledger_latest", {"kinds": list(cfg.monthly_ledgers)})
            known = {(c, k): (m, file) for c, k, m, file in latest.itertuples(index=False)}
            names = [c for c, in fetch_rows(cur, "assessment_communities", {})]
            for c in names:
                if comms and c not in comms:
                    continue
                for kind in cfg.monthly_ledgers:
                    month, _ = known.get((c, kind), (None, None))
                    title = _ledger_title(kind)
                    if fmt.missing(month):
                        add(c, f"{c} · {title}", f"从未上报（应报至 {fmt.month_cn(due)}）", 10_000,
                            Drill("alert", rule, c, end, kinds=(kind,), title=f"{c}{title}的上报记录"))
                        continue
                    month = pd.Timestamp(month).date()
                    behind = (due.year - month.year) * 12 + due.month - month.month
                    if behind > threshold:
                        add(c, f"{c} · {title}", f"已报至 {fmt.month_cn(month)}，落后 {behind} 个月（应报至 {fmt.month_cn(due)}）",
                            behind, Drill("alert", rule, c, end, kinds=(kind,), title=f"{c}{title}的上报记录"))
    cols = ["rule", "title", "order", "community", "where", "threshold", "value", "severity", "drill"]
    df = pd.DataFrame(out, columns=cols)
    if df.empty:
        return df
    return df.sort_values(["order", "severity", "where"], ascending=[True, False, True], kind="stable").reset_index(drop=True)


def _ledger_title(kind: str) -> str:
    return LEDGER_TITLES.get(kind, kind)


def _rule_threshold(rule: str, threshold: float, unit: str, r: dict) -> str:
    """The rule and its threshold in words, as the warning list shows them."""
    t = _threshold(threshold, unit)
    if rule == "overdue_open":
        return "超过服务时限" if threshold == 0 else f"超过服务时限 {t} 以上"
    if rule == "repeat_hotspot":
        return f"同一小区同一类别 {int(r['window_days'] or 90)} 天内 ≥ {threshold:g} 次"
    if rule == "head_vacancy":
        return f"小区无在任楼长 ≥ {t}"
    if rule == "below_target":
        return "低于目标" if threshold == 0 else f"低于目标超过 {t}"
    if rule == "mom_drop":
        return f"比上月下降超过 {t}"
    if rule == "overdue_ledger":
        return "落后于应报月份" if threshold == 0 else f"落后于应报月份超过 {t}"
    return t


def _rate_alerts(cur: duckdb.DuckDBPyConnection, f: Filters, overlay: Overlay, compare: bool, r: dict) -> list[dict]:
    """低于目标 and 环比下降 over the as-of month's league cells (and the month before)."""
    rule, threshold, unit = r["rule"], float(r["threshold"] or 0), r["unit"] or ""
    metrics = [m for m in str(r["applies_to"] or "").split("|") if m in NUMDEN]
    min_base = int(r["min_base"] or 0)
    league = league_table(cur, Filters(as_of=f.as_of, communities=f.communities), "month", overlay, compare=compare)
    before = league.prev_cells.set_index(["community", "metric"])
    out = []
    cells = league.cells
    if f.communities:
        cells = cells[cells["community"] != SUBDISTRICT]
    for c in cells.itertuples(index=False):
        if c.metric not in metrics or c.den < min_base or fmt.missing(c.value):
            continue
        m = METRICS[c.metric]
        sign = 1 if m.better == "higher" else -1
        where = f"{c.community} · {m.label}"
        drill = Drill("metric", c.metric, None if c.community == SUBDISTRICT else c.community, league.span.end,
                      league.span.start, title=f"{c.community}{league.span.label}{m.label}")
        if rule == "below_target":
            if fmt.missing(c.target):
                continue
            gap = sign * (float(c.target) - float(c.value))
            if gap > threshold:
                out.append(_alert(r, c.community, where, f"{league.span.label} {fmt.pct(c.value)}，{target_text(c.metric, c.target)}"
                                  f"（{c.target_source}），差 {gap:.1f} 个百分点", gap, drill))
        else:
            prev = before.loc[(c.community, c.metric)] if (c.community, c.metric) in before.index else None
            if prev is None or prev["den"] < min_base or fmt.missing(prev["value"]):
                continue
            drop = sign * (float(prev["value"]) - float(c.value))
            if drop > threshold:
                out.append(_alert(r, c.community, where, f"{league.span.label} {fmt.pct(c.value)}，"
                                  f"{league.previous.label} {fmt.pct(prev['value'])}，"
                                  f"{'下降' if sign > 0 else '上升'} {drop:.1f} 个百分点", drop, drill))
    return out


def _alert(r: dict, community: str, where: str, value: str, severity: float, drill: Drill) -> dict:
    return {"rule": r["rule"], "title": r["title"], "order": int(r["sort_order"] or 0), "community": community,
            "where": where, "threshold": _rule_threshold(r["rule"], float(r["threshold"] or 0), r["unit"] or "", r),
            "value": value, "severity": float(severity), "drill": drill}


def alert_rules_table(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The warning rules as loaded (alert_rules view), with each threshold in words."""
    df = run(cur, "alert_rules", {})
    df["threshold_text"] = [_rule_threshold(r["rule"], float(r["threshold"] or 0), r["unit"] or "", r)
                            for r in df.to_dict("records")]
    df["enabled_text"] = ["启用" if e else "停用" for e in df["enabled"].fillna(False)]
    return df


def alert_count(cur: duckdb.DuckDBPyConnection, f: Filters, overlay: Overlay = NO_OVERLAY, compare: bool = True) -> int:
    """How many warnings fire at the as-of date (the sidebar's badge)."""
    return len(alerts(cur, f, overlay, compare))


# --- the rows behind a figure -------------------------------------------------------------------------

@dataclass(frozen=True)
class Rows:
    """The rows behind a figure: a heading, the 口径, the rows, how to show their columns, a note."""

    title: str
    definition: str
    frame: pd.DataFrame
    columns: dict[str, tuple[str, str]]
    note: str = ""
    extra: pd.DataFrame | None = None  # e.g. the compounds without a 楼长
    extra_columns: dict[str, tuple[str, str]] | None = None


SOURCE_COLUMNS = {"source_file": ("来源文件", "text"), "source_sheet": ("工作表", "text"), "source_row": ("行号", "count")}


def rows(cur: duckdb.DuckDBPyConnection, drill: Drill) -> Rows:
    """The records behind a league cell or a warning, with their source file, sheet and row number."""
    p = {"community": drill.community, "start": drill.start, "end": drill.end}
    where = drill.community or SUBDISTRICT
    who = {"community": ("社区", "text")} if drill.community is None else {}
    if drill.kind == "metric" and drill.key in CASE_METRICS:
        frame = run(cur, "assessment_case_rows", {**p, "metric": drill.key})
        m = METRICS[drill.key]
        cols = {"case_id": ("事项编号", "text"), **who, "compound": ("小区", "text"), "label": ("类别", "text"),
                "reported_on": ("登记日期", "date"), "resolved_on": ("办结日期", "date"), "status": ("期末状态", "text"),
                "days": ("办理天数", "count"), "sla_days": ("服务时限（天）", "count")}
        if drill.key in ("follow_up_rate", "satisfaction_rate"):
            cols.update({"followed_up_on": ("回访日期", "date"), "satisfaction": ("满意度", "text")})
        cols.update({"counted": (COUNTED[drill.key], "text"), **SOURCE_COLUMNS})
        counted = int((frame["counted"] == "是").sum())
        note = (f"分母 {len(frame):,} 件，其中「{COUNTED[drill.key]}」{counted:,} 件；"
                f"{'拉低' if m.better == 'higher' else '拉高'}比率的事项排在前面" + ("（最多显示 2,000 件）" if len(frame) >= 2000 else ""))
        return Rows(drill.title or f"{where}{m.label}", m.definition, frame, cols, note)
    if drill.kind == "metric" and drill.key in ("head_coverage", "heads_per_100_households"):
        frame = run(cur, "assessment_head_rows", p)
        extra = run(cur, "assessment_uncovered", p)
        m = METRICS[drill.key]
        cols = {**who, "compound": ("小区", "text"), "building": ("楼栋", "text"), "name_masked": ("楼长", "text"),
                "appointed_on": ("任职日期", "date"), **SOURCE_COLUMNS}
        note = f"期末在任楼长 {len(frame):,} 名；小区名单中没有在任楼长的小区 {len(extra):,} 个（见下表）"
        return Rows(drill.title or f"{where}{m.label}", m.definition, frame, cols, note, extra,
                    {**who, "compound": ("没有在任楼长的小区", "text"), "households": ("户数", "count")})
    if drill.kind == "metric" and drill.key == "organizations_per_1000_households":
        frame = run(cur, "assessment_org_rows", p)
        m = METRICS[drill.key]
        cols = {**who, "name": ("组织名称", "text"), "kind": ("类型", "text"), "compound": ("小区", "text"),
                "founded_on": ("成立日期", "date"), "members": ("成员", "count"), **SOURCE_COLUMNS}
        return Rows(drill.title or f"{where}{m.label}", m.definition, frame, cols, f"期末在册组织 {len(frame):,} 个")
    if drill.kind == "metric" and drill.key == "participation_per_100_households":
        frame = run(cur, "assessment_activity_rows", p)
        m = METRICS[drill.key]
        cols = {**who, "name": ("活动名称", "text"), "kind": ("类型", "text"), "held_on": ("举办日期", "date"),
                "participants": ("参与人次", "count"), "organizer": ("主办方", "text"), **SOURCE_COLUMNS}
        total = int(frame["participants"].fillna(0).sum()) if len(frame) else 0
        return Rows(drill.title or f"{where}{m.label}", m.definition, frame, cols,
                    f"本期活动 {len(frame):,} 场，参与 {total:,} 人次")
    if (drill.kind == "metric" and drill.key == "ledger_on_time_rate") or drill.key == "overdue_ledger":
        kinds = list(drill.kinds) or list(assessment_config(cur).monthly_ledgers)
        frame = run(cur, "assessment_ledger_rows", {"community": drill.community, "kinds": kinds})
        frame["ledger_kind"] = [_ledger_title(k) for k in frame["ledger_kind"]]
        frame["month_from"] = [fmt.month_cn(pd.Timestamp(d).date()) if not fmt.missing(d) else None for d in frame["month_from"]]
        frame["month_to"] = [fmt.month_cn(pd.Timestamp(d).date()) if not fmt.missing(d) else None for d in frame["month_to"]]
        m = METRICS["ledger_on_time_rate"]
        cols = {**who, "ledger_kind": ("台账", "text"), "month_from": ("覆盖自", "text"), "month_to": ("覆盖至", "text"),
                "rows": ("行数", "count"), "loaded_at": ("载入时间", "datetime"), "source_file": ("来源文件", "text")}
        due = due_month(drill.end, assessment_config(cur).lag_months)
        return Rows(drill.title or f"{where}{m.label}", m.definition, frame, cols,
                    f"应报至 {fmt.month_cn(due)}；上报记录按文件计（一个文件一行），没有行号")
    if drill.key == "overdue_open":
        frame = run(cur, "alert_overdue_rows", {**p, "slack": drill.slack})
        cols = {"case_id": ("事项编号", "text"), "compound": ("小区", "text"), "label": ("类别", "text"),
                "reported_on": ("登记日期", "date"), "days": ("已办理天数", "count"), "sla_days": ("服务时限（天）", "count"),
                "handled_by": ("处理力量", "text"), "description": ("事项描述", "text"), **SOURCE_COLUMNS}
        return Rows(drill.title, "统计截至日仍在办理、已办理天数超过该类别服务时限（类别表 sla_days）的事项，最久的在前。",
                    frame, cols, f"共 {len(frame):,} 件")
    if drill.key == "repeat_hotspot":
        frame = run(cur, "alert_hotspot_rows", {**p, "compound": drill.compound, "category": drill.category,
                                                 "window": drill.window})
        cols = {"case_id": ("事项编号", "text"), "label": ("类别", "text"), "reported_on": ("登记日期", "date"),
                "resolved_on": ("办结日期", "date"), "description": ("事项描述", "text"), **SOURCE_COLUMNS}
        return Rows(drill.title, f"同一小区同一类别在统计截至日前 {drill.window} 天内登记的事项。", frame, cols,
                    f"共 {len(frame):,} 件")
    if drill.key == "head_vacancy":
        frame = run(cur, "alert_vacancy_rows", {**p, "compound": drill.compound})
        cols = {"building": ("楼栋", "text"), "name_masked": ("楼长", "text"), "appointed_on": ("任职日期", "date"),
                "left_on": ("离任日期", "date"), **SOURCE_COLUMNS}
        return Rows(drill.title, "该小区的全部楼长任职记录，最近离任的在前：统计截至日已没有在任楼长。", frame, cols,
                    f"共 {len(frame):,} 条任职记录")
    raise KeyError(drill.key)
