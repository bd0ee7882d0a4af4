"""Reference data (data/reference/*.csv): the names every ledger value is checked against."""
from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

from etl.paths import reference_dir
from etl.normalise import squeeze


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _synonyms(rows: list[dict[str, str]], key: str) -> dict[str, str]:
    """Map every spelling (canonical name and '|'-separated synonyms) to the canonical name."""
    table: dict[str, str] = {}
    for row in rows:
        canonical = row[key]
        for name in [canonical, *(row.get("synonyms") or row.get("aliases") or "").split("|")]:
            if name.strip():
                table[squeeze(name)] = canonical
    return table


@dataclass
class Reference:
    """All reference tables, as rows (for loading) and as lookup tables (for normalising)."""

    folder: Path
    tables: dict[str, list[dict[str, str]]] = field(default_factory=dict)
    communities: dict[str, str] = field(default_factory=dict)
    categories: dict[str, str] = field(default_factory=dict)
    roles: dict[str, str] = field(default_factory=dict)
    org_kinds: dict[str, str] = field(default_factory=dict)
    activity_kinds: dict[str, str] = field(default_factory=dict)
    handlers: dict[str, str] = field(default_factory=dict)


FILES = (
    "communities", "compounds", "categories", "roles", "org_kinds",
    "activity_kinds", "handlers", "milestones", "mobilisation_2020",
    "targets", "assessment_metrics", "assessment_settings", "peer_groups", "alert_rules",
)
# The 考核 tables' fixed vocabularies (docs/assessment.md): what a targets.csv row may say.
SCOPE_KINDS = ("街道", "同类组", "社区")
PERIODS = ("全部", "月", "季", "年")
DIRECTIONS = ("不低于", "不高于")
SOURCES = ("政策", "历史", "自定")


def load_reference(folder: Path | None = None) -> Reference:
    """Read every reference CSV and build the synonym tables."""
    folder = Path(folder or reference_dir())
    ref = Reference(folder=folder, tables={name: _rows(folder, f"{name}.csv") for name in FILES})
    ref.communities = _synonyms(ref.tables["communities"], "community")
    for row in ref.tables["communities"]:
        ref.communities[squeeze(row["short_name"])] = row["community"]
    ref.categories = _synonyms(ref.tables["categories"], "category")
    ref.roles = _synonyms(ref.tables["roles"], "role")
    ref.org_kinds = _synonyms(ref.tables["org_kinds"], "kind")
    ref.activity_kinds = _synonyms(ref.tables["activity_kinds"], "kind")
    ref.handlers = _synonyms(ref.tables["handlers"], "handler")
    check_assessment(ref)
    return ref


def _number(value: str, where: str, what: str, *, blank: bool = False) -> float | None:
    text = (value or "").strip()
    if not text and blank:
        return None
    try:
        return float(text)
    except ValueError:
        raise ValueError(f"{where}：{what}“{text}”不是数字，请填写数字") from None


def check_assessment(ref: Reference) -> None:
    """The 考核 reference tables are consistent: known words, numbers where numbers belong, targets that
    name a known community or peer group; a ValueError in Chinese names the file, the row and the fix."""
    t = ref.tables
    groups = {r["peer_group"] for r in t["peer_groups"]}
    communities = {r["community"] for r in t["communities"]}
    for i, row in enumerate(t["targets"], start=2):
        where = f"参考数据 targets.csv 第 {i} 行"
        for column, allowed_words in (("scope_kind", SCOPE_KINDS), ("period", PERIODS),
                                      ("direction", DIRECTIONS), ("source", SOURCES)):
            if row[column] not in allowed_words:
                raise ValueError(f"{where}：{column}“{row[column]}”无效，应为 {'、'.join(allowed_words)} 之一")
        _number(row["target"], where, "目标值")
        scope = (row.get("scope") or "").strip()
        if row["scope_kind"] == "社区" and scope not in communities:
            raise ValueError(f"{where}：社区“{scope}”不在 communities.csv 中，请填写社区标准名称")
        if row["scope_kind"] == "同类组" and scope not in groups:
            raise ValueError(f"{where}：同类组“{scope}”不在 peer_groups.csv 中，应为 {'、'.join(sorted(groups))} 之一")
        if row["scope_kind"] == "街道" and scope:
            raise ValueError(f"{where}：范围为“街道”时 scope 应留空")
    for i, row in enumerate(t["assessment_metrics"], start=2):
        where = f"参考数据 assessment_metrics.csv 第 {i} 行"
        if (_number(row["weight"], where, "权重") or 0) < 0:
            raise ValueError(f"{where}：权重不能为负数")
        _number(row["min_base"], where, "最少件数")
    for i, row in enumerate(t["peer_groups"], start=2):
        where = f"参考数据 peer_groups.csv 第 {i} 行"
        _number(row["households_from"], where, "户数下限")
        _number(row["households_to"], where, "户数上限", blank=True)
    for i, row in enumerate(t["alert_rules"], start=2):
        where = f"参考数据 alert_rules.csv 第 {i} 行"
        _number(row["threshold"], where, "阈值")
        _number(row["window_days"], where, "窗口天数", blank=True)
        _number(row["min_base"], where, "最少件数", blank=True)


def allowed(table: dict[str, str]) -> str:
    """The canonical names of a synonym table, for messages: 「加装电梯、邻里矛盾……」."""
    return "、".join(dict.fromkeys(table.values()))
