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
)


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
    return ref


def allowed(table: dict[str, str]) -> str:
    """The canonical names of a synonym table, for messages: 「加装电梯、邻里矛盾……」."""
    return "、".join(dict.fromkeys(table.values()))
