"""The global filters every page shares, their defaults, their URL form and their bounds.

A window runs from 1 January of ``year_from`` to the end of ``year_to``, never past the
as-of date; its years are :class:`Period` objects that know whether they are complete
(a year cut short by the as-of date is *partial* and is labelled and drawn as such).
:class:`Bounds` are what the loaded data allows: filters from a link are corrected to
them, with a note in Chinese for every correction, instead of being obeyed.
"""
from __future__ import annotations

import calendar
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date

from chuangshu import fmt

DEFAULT_AS_OF = date(2022, 6, 30)
PROGRAMME_START_YEAR = 2011


@dataclass(frozen=True)
class Period:
    """One year of a window: the days of it inside the window, and whether that is the whole year."""

    year: int
    start: date
    end: date

    @property
    def complete(self) -> bool:
        """True when the window covers the whole year (windows always start on 1 January)."""
        return self.start == date(self.year, 1, 1) and self.end == date(self.year, 12, 31)

    @property
    def label(self) -> str:
        """'2021年', or for a partial year '2022年（1—6月）' / '2022年（截至6月15日）'."""
        return fmt.period_label(self.year, None if self.complete else self.end)


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

    def periods(self) -> list[Period]:
        """The window's years, oldest first; the last one is partial when the as-of date cuts it short."""
        if self.end < self.start:
            return []
        return [Period(y, date(y, 1, 1), min(date(y, 12, 31), self.end)) for y in range(self.year_from, self.end.year + 1)]

    @property
    def partial_year(self) -> Period | None:
        """The window's last year when it is not complete, else None."""
        periods = self.periods()
        return periods[-1] if periods and not periods[-1].complete else None

    @property
    def partial_month(self) -> date | None:
        """First day of the window's last month when the window ends before that month's end, else None."""
        end = self.end
        if end < self.start or end.day == calendar.monthrange(end.year, end.month)[1]:
            return None
        return end.replace(day=1)

    def shifted(self, years: int = -1) -> "Filters":
        """The same window a year earlier (for year-over-year comparisons: the same months and days)."""
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

    def years_text(self) -> str:
        """'2011—2022年', or '2022年' for a one-year window."""
        if self.year_from == self.year_to:
            return f"{self.year_from}年"
        return f"{self.year_from}—{self.year_to}年"

    def describe(self, with_as_of: bool = True, *, years: bool = True, communities: bool = True,
                 categories: bool = True, labels: Mapping[str, str] | None = None) -> str:
        """The filters in words, for captions, slide footers and exports.

        A dimension switched off is left out (``communities=False`` says 全街道: the figure is the
        whole sub-district's); ``labels`` maps category keys to the full names shown to users.
        """
        parts = [f"截至{fmt.date_cn(self.as_of)}"] if with_as_of else []
        if years:
            parts.append(self.years_text())
        if communities:
            parts.append("、".join(self.communities) if self.communities else "全部社区")
        else:
            parts.append("全街道")
        if self.categories and categories:
            parts.append("、".join((labels or {}).get(c, c) for c in self.categories))
        return "；".join(parts)


GRAINS: dict[str, str] = {"month": "月", "quarter": "季", "year": "年"}  # the 考核 periods, as the switch reads
_MONTHS = {"month": 1, "quarter": 3, "year": 12}


def _month_end(day: date) -> date:
    return day.replace(day=calendar.monthrange(day.year, day.month)[1])


def _add_months(first: date, months: int) -> date:
    n = first.year * 12 + first.month - 1 + months
    return date(n // 12, n % 12 + 1, 1)


@dataclass(frozen=True)
class Span:
    """A 考核 period: a month, quarter or year from its first day to ``end`` — its natural end, or the
    as-of date when that falls inside it (then it is partial and labelled so: 2022年6月（截至15日））."""

    grain: str
    start: date
    end: date

    @property
    def natural_end(self) -> date:
        """The period's last day (31 March for the first quarter)."""
        return _month_end(_add_months(self.start, _MONTHS[self.grain] - 1))

    @property
    def complete(self) -> bool:
        return self.end == self.natural_end

    @property
    def months(self) -> float:
        """Its length in months of 30.44 days (a per-month average over any period divides by this)."""
        return ((self.end - self.start).days + 1) / (365.25 / 12)

    @property
    def label(self) -> str:
        """2022年6月, 2022年第2季度, 2022年; partial: 2022年6月（截至15日）, 2022年第2季度（截至6月15日）, 2022年（1—6月）."""
        end = None if self.complete else self.end
        if self.grain == "month":
            return fmt.month_label(self.start, end)
        if self.grain == "quarter":
            return fmt.quarter_label(self.start, end)
        return fmt.period_label(self.start.year, end)

    def previous(self) -> "Span":
        """The whole period before this one."""
        start = _add_months(self.start, -_MONTHS[self.grain])
        return Span(self.grain, start, _month_end(_add_months(start, _MONTHS[self.grain] - 1)))

    def months_before(self, n: int) -> list["Span"]:
        """The ``n`` whole months before this period's start, oldest first."""
        firsts = [_add_months(self.start, -i) for i in range(n, 0, -1)]
        return [Span("month", m, _month_end(m)) for m in firsts]


def span_at(as_of: date, grain: str) -> Span:
    """The month, quarter or year that holds ``as_of``, up to ``as_of``."""
    if grain not in GRAINS:
        raise ValueError(f"unknown grain {grain!r}")
    first = {"month": as_of.replace(day=1), "quarter": date(as_of.year, 3 * ((as_of.month - 1) // 3) + 1, 1),
             "year": date(as_of.year, 1, 1)}[grain]
    return Span(grain, first, as_of)


def _shift(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February
        return day.replace(year=day.year + years, day=28)


@dataclass(frozen=True)
class Bounds:
    """What the loaded data allows: as-of dates from ``first`` to ``last`` (the data's first and last days)."""

    first: date = date(PROGRAMME_START_YEAR, 1, 1)
    last: date = DEFAULT_AS_OF

    @property
    def first_year(self) -> int:
        """The year slider's lower end: the programme's first year (or the data's, if earlier)."""
        return min(PROGRAMME_START_YEAR, self.first.year)

    def default(self) -> Filters:
        """The filters of a plain link: everything from the programme's start to the data's last day."""
        as_of = self.last
        return Filters(as_of=as_of, year_from=min(self.first_year, as_of.year), year_to=as_of.year)

    def clamp_as_of(self, day: date) -> date:
        return min(max(day, self.first), self.last)

    def correct(self, f: Filters) -> tuple[Filters, list[str]]:
        """``f`` moved inside the bounds (as-of within the data, years up to the as-of year), with a
        Chinese note for each change."""
        notes: list[str] = []
        as_of = self.clamp_as_of(f.as_of)
        if as_of != f.as_of:
            where = "晚于数据的最后一天" if f.as_of > self.last else "早于数据的第一天"
            notes.append(f"统计截至日期 {fmt.date_cn(f.as_of)} {where}，已改为 {fmt.date_cn(as_of)}。")
        low, high = self.first_year, as_of.year
        a, b = sorted((f.year_from, f.year_to))
        a, b = min(max(a, low), high), min(max(b, low), high)
        if (a, b) != (f.year_from, f.year_to):
            asked = f"{f.year_from}—{f.year_to}年"
            shown = Filters(year_from=a, year_to=b).years_text()
            if f.year_from > f.year_to and (a, b) == (f.year_to, f.year_from):
                notes.append(f"年份范围 {asked} 起止颠倒，已改为 {shown}。")
            else:
                notes.append(f"年份范围 {asked} 超出数据范围（{low}年至{fmt.date_cn(as_of)}），已改为 {shown}。")
        return replace(f, as_of=as_of, year_from=a, year_to=b), notes


def to_query_params(f: Filters, default: Filters | None = None) -> dict[str, str]:
    """URL form: only what differs from the default, so a plain link stays plain."""
    base = default or Filters()
    out: dict[str, str] = {}
    if f.as_of != base.as_of:
        out["asof"] = f.as_of.isoformat()
    if (f.year_from, f.year_to) != (base.year_from, f.as_of.year):
        out["years"] = f"{f.year_from}-{f.year_to}"
    if f.communities:
        out["c"] = ",".join(f.communities)
    if f.categories:
        out["k"] = ",".join(f.categories)
    return out


def parse_query_params(q: Mapping[str, str], communities: Sequence[str], categories: Sequence[str],
                       bounds: Bounds | None = None) -> tuple[Filters, list[str]]:
    """Filters from URL parameters, corrected to ``bounds``, and a Chinese note for everything that was
    malformed, unknown or out of range (a link is corrected, never obeyed blindly)."""
    bounds = bounds or Bounds()
    base = bounds.default()
    notes: list[str] = []
    as_of = base.as_of
    raw = str(q.get("asof", "") or "").strip()
    if raw:
        try:
            as_of = date.fromisoformat(raw)
        except ValueError:
            notes.append(f"链接中的统计截至日期「{raw[:20]}」无法识别，已改用 {fmt.date_cn(as_of)}。")
    year_from, year_to = base.year_from, as_of.year
    raw = str(q.get("years", "") or "").strip()
    if raw:
        try:
            a, b = (int(x) for x in raw.split("-", 1)) if "-" in raw else (int(raw), int(raw))  # 2021 = 2021-2021
            if not (1900 <= a <= 2999 and 1900 <= b <= 2999):
                raise ValueError(raw)
            year_from, year_to = a, b
        except ValueError:
            notes.append(f"链接中的年份范围「{raw[:20]}」无法识别，已改用全部年份。")
    comms = _known(q.get("c", ""), communities, "社区", "社区名单", notes)
    cats = _known(q.get("k", ""), categories, "事项类别", "类别名单", notes)
    f, corrected = bounds.correct(Filters(as_of, year_from, year_to, comms, cats))
    return f, notes + corrected


def _known(raw: object, allowed: Sequence[str], what: str, where: str, notes: list[str]) -> tuple[str, ...]:
    asked = [x for x in str(raw or "").split(",") if x.strip()]
    kept = tuple(dict.fromkeys(x for x in asked if x in allowed))
    unknown = [x for x in asked if x not in allowed]
    if unknown:
        names = "、".join(f"「{x[:20]}」" for x in unknown[:3]) + ("等" if len(unknown) > 3 else "")
        notes.append(f"链接中的{what}{names}不在{where}中，已忽略。")
    return kept


def from_query_params(q: Mapping[str, str], communities: Sequence[str], categories: Sequence[str],
                      bounds: Bounds | None = None) -> Filters:
    """Parse URL parameters leniently: anything unknown or malformed falls back to the default."""
    return parse_query_params(q, communities, categories, bounds)[0]
