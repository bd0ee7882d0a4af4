"""The global filters every page shares, their defaults, and their URL form."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date
from collections.abc import Mapping

DEFAULT_AS_OF = date(2022, 6, 30)
PROGRAMME_START_YEAR = 2011


@dataclass(frozen=True)
class Filters:
    """As-of date, year range, communities and categories (empty tuple = all)."""

    as_of: date = DEFAULT_AS_OF
    year_from: int = PROGRAMME_START_YEAR
    year_to: int = DEFAULT_AS_OF.year
    communities: tuple[str, ...] = field(default_factory=tuple)
    categories: tuple[str, ...] = field(default_factory=tuple)

    @property
    def start(self) -> date:
        """First day of the window."""
        return date(self.year_from, 1, 1)

    @property
    def end(self) -> date:
        """Last day of the window: the end of year_to, but never after the as-of date."""
        return min(date(self.year_to, 12, 31), self.as_of)

    def shifted(self, years: int = -1) -> "Filters":
        """The same window a year earlier (for year-over-year comparisons)."""
        return replace(self, as_of=_shift(self.as_of, years), year_from=self.year_from + years,
                       year_to=self.year_to + years)

    def only(self, community: str) -> "Filters":
        """The same filters narrowed to one community (profiles, drill-downs, one-community decks)."""
        return replace(self, communities=(community,))

    def params(self) -> dict[str, object]:
        """Bound parameters for the named queries."""
        prior = self.shifted()
        return {"as_of": self.as_of, "start": self.start, "end": self.end,
                "prior_start": prior.start, "prior_end": prior.end,
                "communities": list(self.communities), "categories": list(self.categories)}

    def is_default(self) -> bool:
        return self == Filters()

    def describe(self, with_as_of: bool = True) -> str:
        """The filters in words, for captions, slide footers and exports."""
        parts = [f"截至{self.as_of.year}年{self.as_of.month}月{self.as_of.day}日"] if with_as_of else []
        parts.append(f"{self.year_from}—{self.year_to}年")
        parts.append("、".join(self.communities) if self.communities else "全部社区")
        if self.categories:
            parts.append("、".join(self.categories))
        return "；".join(parts)


def _shift(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


def to_query_params(f: Filters) -> dict[str, str]:
    """URL form: only what differs from the default, so a plain link stays plain."""
    out: dict[str, str] = {}
    if f.as_of != DEFAULT_AS_OF:
        out["asof"] = f.as_of.isoformat()
    if (f.year_from, f.year_to) != (PROGRAMME_START_YEAR, DEFAULT_AS_OF.year):
        out["years"] = f"{f.year_from}-{f.year_to}"
    if f.communities:
        out["c"] = ",".join(f.communities)
    if f.categories:
        out["k"] = ",".join(f.categories)
    return out


def from_query_params(q: Mapping[str, str], communities: list[str], categories: list[str]) -> Filters:
    """Parse URL parameters leniently: anything unknown or malformed falls back to the default."""
    f = Filters()
    try:
        as_of = date.fromisoformat(q.get("asof", "")) if q.get("asof") else f.as_of
    except ValueError:
        as_of = f.as_of
    year_from, year_to = f.year_from, f.year_to
    if "years" in q:
        try:
            a, b = (int(x) for x in str(q["years"]).split("-", 1))
            if PROGRAMME_START_YEAR <= a <= b <= 2100:
                year_from, year_to = a, b
        except ValueError:
            pass
    comms = tuple(c for c in str(q.get("c", "")).split(",") if c in communities)
    cats = tuple(c for c in str(q.get("k", "")).split(",") if c in categories)
    return Filters(as_of, year_from, year_to, comms, cats)
