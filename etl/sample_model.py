"""Sample-data model: the as-of date, published targets, reference data and the true records."""
from __future__ import annotations

import csv
import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

from chuangshu.paths import reference_dir
from etl.kinds import KINDS as LEDGER_KINDS

AS_OF = date(2022, 6, 30)
HISTORY_START = date(2013, 1, 1)
PROGRAMME_START = date(2011, 8, 1)

# Figures the sample reproduces exactly at AS_OF (the newspaper feature's 数读 box).
RESOLVED_CASES = {"加装电梯": 139, "邻里矛盾": 1463, "环境卫生": 1247, "治安": 185,
                  "公共设施": 1839, "安全隐患": 368, "停车": 536}
ACTIVE_VOLUNTEERS = {"楼长": 2142, "巷长": 30, "街长": 14}
ACTIVE_ORGS = {"街坊会": 51, "自治小组": 58, "社团": 233, "红色业委会": 7, "创熟加油站": 38,
               "楼道微信群": 1426}
BUILDING_HEAD_COMPOUNDS = 149

# Ledger kinds: code -> the template's Chinese name (from the catalogue, etl/kinds.py).
KINDS = {kind.name: kind.title for kind in LEDGER_KINDS}

# Case-number prefixes (pinyin initials) per community short name.
COMMUNITY_CODES = {
    "同德": "TD", "桂南": "GN", "翠颐": "CY", "怡海": "YH", "桂雅": "GYA", "灯湖": "DH", "桂花": "GH",
    "江滨": "JB", "桂园": "GYU", "桂江": "GJ", "桂平": "GP", "桂东": "GD", "桂中": "GZ", "桂湖": "GHU",
    "桂景": "GJI", "桂兴": "GX", "桂澜": "GL", "翠湖": "CH", "翠影": "CYI", "海景": "HJ", "海华": "HH",
    "海联": "HL", "海舟": "HZ", "宝翠": "BC", "宝石": "BS", "文华": "WH", "文翰": "WHA", "映月": "YY",
    "千禧": "QX", "锦园": "JY", "锦华": "JH", "瀚天": "HT", "天佑": "TY", "凤鸣": "FM", "华翠": "HC",
    "虹岭": "HLI", "新桂": "XG", "石翠": "SC", "怡景": "YJ", "南苑": "NY", "夏北": "XB", "平西": "PX",
    "叠南": "DN", "石龙": "SL", "简村": "JC",
}


@dataclass(frozen=True)
class Community:
    """One of the 45 communities."""

    name: str
    short: str
    aliases: tuple[str, ...]
    kind: str
    households: int
    named: bool

    @property
    def code(self) -> str:
        """Pinyin-initials prefix used in case numbers."""
        return COMMUNITY_CODES[self.short]

    @property
    def is_village(self) -> bool:
        """True for 村居社区."""
        return self.kind == "村居社区"


@dataclass(frozen=True)
class Compound:
    """A residential compound (小区) or lane/street (街巷)."""

    community: str
    name: str
    kind: str
    households: int
    buildings: int
    has_heads: bool
    managed: bool
    named: bool


@dataclass(frozen=True)
class Category:
    """A canonical case category with its synonyms and service-level days."""

    name: str
    synonyms: tuple[str, ...]
    sla_days: int


@dataclass
class Reference:
    """Reference tables the generator works from (read from data/reference)."""

    communities: list[Community]
    compounds: list[Compound]
    categories: dict[str, Category]
    handler_synonyms: dict[str, tuple[str, ...]]
    role_synonyms: dict[str, tuple[str, ...]]
    org_kind_synonyms: dict[str, tuple[str, ...]]
    activity_kind_synonyms: dict[str, tuple[str, ...]]
    _by_community: dict[tuple[str, str | None], list[Compound]] = field(default_factory=dict, repr=False)
    _by_name: dict[str, Community] = field(default_factory=dict, repr=False)

    def compounds_of(self, community: str, kind: str | None = None) -> list[Compound]:
        """Compounds of a community, optionally only of one kind (cached)."""
        key = (community, kind)
        if key not in self._by_community:
            self._by_community[key] = [c for c in self.compounds
                                       if c.community == community and (kind is None or c.kind == kind)]
        return self._by_community[key]

    def community(self, name: str) -> Community:
        """Look a community up by its full name."""
        if not self._by_name:
            self._by_name.update({c.name: c for c in self.communities})
        return self._by_name[name]


def _rows(path: Path) -> list[dict[str, str]]:
    """Rows of a UTF-8 reference CSV."""
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


def _split(value: str) -> tuple[str, ...]:
    """Split a '|'-separated synonym list."""
    return tuple(s for s in (value or "").split("|") if s)


def load_reference(folder: Path | None = None) -> Reference:
    """Read the reference CSVs."""
    folder = folder or reference_dir()
    communities = [Community(r["community"], r["short_name"], _split(r["aliases"]), r["kind"],
                             int(r["households"]), r["named_in_article"] == "1")
                   for r in _rows(folder / "communities.csv")]
    compounds = [Compound(r["community"], r["compound"], r["kind"], int(r["households"]), int(r["buildings"]),
                          r["has_building_heads"] == "1", r["property_managed"] == "1",
                          r["named_in_article"] == "1")
                 for r in _rows(folder / "compounds.csv")]
    categories = {r["category"]: Category(r["category"], _split(r["synonyms"]), int(r["sla_days"]))
                  for r in _rows(folder / "categories.csv")}
    return Reference(
        communities=communities, compounds=compounds, categories=categories,
        handler_synonyms={r["handler"]: _split(r["synonyms"]) for r in _rows(folder / "handlers.csv")},
        role_synonyms={r["role"]: _split(r["synonyms"]) for r in _rows(folder / "roles.csv")},
        org_kind_synonyms={r["kind"]: _split(r["synonyms"]) for r in _rows(folder / "org_kinds.csv")},
        activity_kind_synonyms={r["kind"]: _split(r["synonyms"]) for r in _rows(folder / "activity_kinds.csv")},
    )


@dataclass
class Source:
    """Where a record was written: file, sheet (None for CSV) and the row number the clerk sees."""

    file: str = ""
    sheet: str | None = None
    row: int = 0


@dataclass
class CaseRecord:
    """One case (事项) as the loader should store it."""

    community: str
    case_id: str
    compound: str | None
    category: str
    reported_on: date
    resolved_on: date | None
    handled_by: str | None
    description: str
    outcome: str | None
    followed_up_on: date | None
    satisfaction: str | None
    remark: str | None
    source: Source = field(default_factory=Source)


@dataclass
class VolunteerRecord:
    """One appointment of a 楼长 / 巷长 / 街长."""

    name: str
    role: str
    community: str
    compound: str | None
    building: str | None
    phone: str | None
    is_party_member: bool
    appointed_on: date
    left_on: date | None
    gender: str
    source: Source = field(default_factory=Source)


@dataclass
class OrgRecord:
    """One organisation (街坊会, 自治小组, 社团, ...)."""

    name: str
    kind: str
    community: str
    compound: str | None
    founded_on: date
    members: int | None
    dissolved_on: date | None
    source: Source = field(default_factory=Source)


@dataclass
class ProjectRecord:
    """One 微创熟 micro-project application."""

    project_id: str
    name: str
    community: str
    applicant: str
    applied_on: date
    review_round: str
    score: float
    is_funded: bool
    amount_yuan: int | None
    completed_on: date | None
    source: Source = field(default_factory=Source)


@dataclass
class ActivityRecord:
    """One activity (邻里节, volunteer service, culture, epidemic duty...)."""

    name: str
    community: str
    kind: str
    held_on: date
    participants: int | None
    organizer: str | None
    source: Source = field(default_factory=Source)


@dataclass
class Truth:
    """All true records of the sample, per ledger kind."""

    cases: list[CaseRecord] = field(default_factory=list)
    volunteers: list[VolunteerRecord] = field(default_factory=list)
    organizations: list[OrgRecord] = field(default_factory=list)
    micro_projects: list[ProjectRecord] = field(default_factory=list)
    activities: list[ActivityRecord] = field(default_factory=list)
    new_compounds: list[tuple[str, str]] = field(default_factory=list)
    case_id_styles: dict[str, str] = field(default_factory=dict)


def rng_for(seed: int, stage: str) -> random.Random:
    """A random generator for one stage, independent of the others (string seeds are stable)."""
    return random.Random(f"{seed}:{stage}")


def random_day(rng: random.Random, start: date, end: date) -> date:
    """A uniformly random day in [start, end]."""
    if end < start:
        raise ValueError(f"empty range {start}..{end}")
    return start + timedelta(days=rng.randint(0, (end - start).days))


def month_end(d: date) -> date:
    """Last day of d's month."""
    nxt = date(d.year + (d.month == 12), d.month % 12 + 1, 1)
    return nxt - timedelta(days=1)


# Words that only fit some years (垃圾分类 from 2019, 民法典 from 2020, vaccines from 2021...).
YEAR_BOUND_WORDS = {"党史": (2021, 2021), "垃圾分类": (2019, 2100), "民法典": (2020, 2100), "疫苗": (2021, 2100),
                    "智慧门禁": (2019, 2100), "核酸": (2020, 2100)}


def fits_year(text: str, year: int) -> bool:
    """Whether a name or description fits the year (no 垃圾分类 in 2014)."""
    return all(low <= year <= high for word, (low, high) in YEAR_BOUND_WORDS.items() if word in text)


def weighted(rng: random.Random, items: dict[str, float]) -> str:
    """Pick a key with probability proportional to its weight."""
    keys = list(items)
    return rng.choices(keys, weights=[items[k] for k in keys])[0]
