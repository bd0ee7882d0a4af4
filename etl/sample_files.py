"""Plan the sample's files (which community keeps what, in which layout and style) and build their sheets."""
from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd

from etl.sample_io import EXCEL_DATE_FORMATS, SheetLayout, default_footer_lines
from etl.sample_model import AS_OF, KINDS, Community, Reference, Truth
from etl.sample_people import NameBook
from etl.sample_rows import (ALIASES, CELLS, COLUMNS, EXTRAS, FUNDED_VOCABS, OPTIONAL, PARTY_VOCABS, FileStyle,
                             Row, RowContext, extra_value)

CATEGORY_SHEETS = {"加装电梯": "加装电梯", "邻里矛盾": "矛盾纠纷", "环境卫生": "环境卫生", "治安": "治安",
                   "公共设施": "设施维护", "安全隐患": "安全隐患", "停车": "停车", "其他": "其他"}
CATEGORY_TITLES = {"邻里矛盾": "矛盾纠纷调解台账", "加装电梯": "旧楼加装电梯协调台账"}
KIND_TITLES = {"cases": "“创熟”事项登记台账", "volunteers": "“楼长-巷长-街长”队伍名册",
               "organizations": "组织名册", "micro_projects": "“微创熟”项目台账", "activities": "活动台账"}
FILE_LABELS = KINDS  # file names carry the ledger's title (etl/kinds.py)
OMITTED_FIELDS = {"备注": ("remark",), "回访日期": ("followed_up_on", "satisfaction"), "满意度": (),
                  "成员数": ("members",), "组织方": ("organizer",)}
ENCODING_CODES = {"utf-8": "csv_utf8", "utf-8-sig": "csv_utf8_bom", "gbk": "csv_gbk", "gb18030": "csv_gb18030"}


class Variety:
    """Random choices that still show every option at least once: the first picks work through a queue."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.queues: dict[str, list[Any]] = {}

    def pick(self, dim: str, options: dict[Any, float]) -> Any:
        """An option: the next not-yet-seen one while any is left, else a weighted draw."""
        if dim not in self.queues:
            queue = [k for k, w in options.items() if w > 0]
            self.rng.shuffle(queue)
            self.queues[dim] = queue
        queue = self.queues[dim]
        for value in queue:
            if options.get(value, 0) > 0:
                queue.remove(value)
                return value
        keys = [k for k, w in options.items() if w > 0]
        return self.rng.choices(keys, weights=[options[k] for k in keys])[0]


@dataclass
class SheetPlan:
    """One sheet to write: its kind (None: an empty sheet), records and title."""

    name: str
    kind: str | None
    records: list[Any] = field(default_factory=list)
    title: str = ""
    report_date: date = AS_OF
    rows: list[Row] = field(default_factory=list)
    layout: SheetLayout | None = None
    codes: set[str] = field(default_factory=set)


@dataclass
class FilePlan:
    """One file to write."""

    name: str
    community: str
    style: FileStyle
    sheets: list[SheetPlan]
    codes: set[str] = field(default_factory=set)

    @property
    def kinds(self) -> list[str]:
        """Ledger kinds in the file, in sheet order."""
        return list(dict.fromkeys(s.kind for s in self.sheets if s.kind))


def make_style(v: Variety, rng: random.Random, kinds: list[str], csv_file: bool) -> FileStyle:
    """Draw a clerk's habits for a file holding the given kinds."""
    s = FileStyle(fmt="csv" if csv_file else "xlsx")
    if csv_file:
        s.encoding = v.pick("csv_encoding", {"utf-8": 1, "utf-8-sig": 2, "gbk": 2, "gb18030": 1})
        s.date_style = v.pick("date_style_csv", {"iso": 3, "slash": 3, "dot": 1, "cn": 2, "compact": 1,
                                                 "fullwidth": 0.3})
    else:
        s.date_style = v.pick("date_style", {"excel": 12, "serial": 1, "iso": 2, "slash": 2, "dot": 1, "cn": 2,
                                             "compact": 0.5, "fullwidth": 0.3, "mixed": 0.5})
        s.excel_date_format = rng.choice(EXCEL_DATE_FORMATS)
        s.empty_sheet = v.pick("empty_sheet", {False: 6, True: 1})
    s.title_rows = v.pick("title_rows", {0: 4, 1: 4, 2: 2})
    s.merge_title = s.title_rows > 0 and not csv_file and v.pick("merge_title", {True: 2, False: 1})
    footer = v.pick("footer", {"none": 5, "total": 1.5, "sign": 2, "both": 1.5})
    s.footer_total, s.footer_sign = footer in ("total", "both"), footer in ("sign", "both")
    s.footer_one_row = rng.random() < 0.3
    s.blank_rows = v.pick("blank_rows", {False: 3, True: 1})
    s.shuffle_columns = v.pick("column_order", {False: 4, True: 1})
    s.extras = v.pick("extras", {False: 2, True: 1.5})
    s.aliases = v.pick("aliases", {False: 3, True: 1})
    s.community_form = v.pick("community_form", {"full": 8, "short": 2, "alias": 1})
    s.alias_pick = rng.randrange(12)
    s.messy = v.pick("messy", {False: 3, True: 1})
    s.synonyms = v.pick("synonyms", {False: 2, True: 1})
    if set(kinds) & set(OPTIONAL):
        s.omit_optional = v.pick("omit_optional", {False: 4, True: 1})
    if "volunteers" in kinds:
        s.party_vocab = v.pick("party_vocab", {p: w for p, w in zip(PARTY_VOCABS, (5, 3, 2, 1, 1))})
        if not csv_file:
            s.phone_as_number = v.pick("phone_as_number", {False: 5, True: 1})
    if "micro_projects" in kinds:
        s.funded_vocab = v.pick("funded_vocab", {p: w for p, w in zip(FUNDED_VOCABS, (3, 2, 2))})
        s.amount_style = v.pick("amount_style", {"number": 4, "wan": 2, "comma": 2, "text": 1, "mixed": 1})
    return s


def by_year(records: list[Any], when: Callable[[Any], date], comm: Community, kind: str) -> list[SheetPlan]:
    """One sheet per year, titled like 桂南社区2021年活动台账."""
    years = sorted({when(r).year for r in records})
    return [SheetPlan(f"{y}年", kind, [r for r in records if when(r).year == y],
                      f"{comm.name}{y}年{KIND_TITLES[kind]}", min(date(y + 1, 1, 8), AS_OF))
            for y in years]


def case_sheets(layout: str, cases: list[Any], comm: Community) -> list[SheetPlan]:
    """Sheets of a community's case ledger in the given layout."""
    if layout == "by_year":
        return by_year(cases, lambda c: c.reported_on, comm, "cases")
    if layout == "by_category":
        cats = [c for c in CATEGORY_SHEETS if any(r.category == c for r in cases)]
        return [SheetPlan(CATEGORY_SHEETS[c], "cases", [r for r in cases if r.category == c],
                          f"{comm.name}{CATEGORY_TITLES.get(c, CATEGORY_SHEETS[c] + '台账')}") for c in cats]
    y0, y1 = cases[0].reported_on.year, cases[-1].reported_on.year
    return [SheetPlan("事项台账" if layout != "csv" else "", "cases", cases,
                      f"{comm.name}{KIND_TITLES['cases']}（{y0}—{y1}年）")]


def volunteer_sheets(layout: str, vols: list[Any], comm: Community) -> list[SheetPlan]:
    """Sheets of a community's 三长 roster."""
    title = comm.name + KIND_TITLES["volunteers"]
    if layout == "by_status":
        return [SheetPlan(n, "volunteers", [v for v in vols if (v.left_on is None) == serving], title)
                for n, serving in (("在任", True), ("离任", False))]
    if layout == "by_role":
        return [SheetPlan(f"{role}名册", "volunteers", [v for v in vols if v.role == role], f"{comm.name}{role}名册")
                for role in ("楼长", "巷长", "街长") if any(v.role == role for v in vols)]
    if layout == "by_compound":
        places = list(dict.fromkeys(v.compound for v in vols))
        sheets = [SheetPlan(p[:31], "volunteers", [v for v in vols if v.compound == p]) for p in places]
        for sheet in sheets:
            sheet.title = f"{comm.name}{sheet.name}{sheet.records[0].role}名册"
        return sheets
    return [SheetPlan("三长名册", "volunteers", vols, title)]


def org_sheets(layout: str, orgs: list[Any], comm: Community) -> list[SheetPlan]:
    """Sheets of a community's organisation register."""
    if layout == "by_kind":
        kinds = list(dict.fromkeys(o.kind for o in orgs))
        return [SheetPlan(k, "organizations", [o for o in orgs if o.kind == k], f"{comm.name}{k}名册") for k in kinds]
    return [SheetPlan("组织名册", "organizations", orgs, comm.name + KIND_TITLES["organizations"])]


def simple_sheets(layout: str, records: list[Any], comm: Community, kind: str,
                  when: Callable[[Any], date]) -> list[SheetPlan]:
    """Sheets of the micro-project or activity ledger: one sheet, or one per year."""
    if layout == "by_year":
        return by_year(records, when, comm, kind)
    return [SheetPlan(FILE_LABELS[kind], kind, records, comm.name + KIND_TITLES[kind])]


LAYOUT_CODES = {"by_year": "sheets_by_year", "by_category": "sheets_by_category", "by_role": "sheets_by_role",
                "by_status": "sheets_by_status", "by_compound": "sheets_by_compound", "by_kind": "sheets_by_kind"}


class Planner:
    """Decides every community's files, their layouts and styles."""

    def __init__(self, ref: Reference, truth: Truth, rng: random.Random) -> None:
        self.ref = ref
        self.truth = truth
        self.rng = rng
        self.variety = Variety(rng)

    def plan(self) -> list[FilePlan]:
        """All files of the sample (the communities visited in a shuffled order, listed in reference order)."""
        order = list(self.ref.communities)
        self.rng.shuffle(order)
        per_comm = {c.name: self.community_files(c) for c in order}
        return [f for c in self.ref.communities for f in per_comm[c.name]]

    def _of(self, records: list[Any], comm: Community) -> list[Any]:
        """Records of one community."""
        return [r for r in records if r.community == comm.name]

    def community_files(self, comm: Community) -> list[FilePlan]:
        """The files one community sends in."""
        v, t = self.variety, self.truth
        files = self.case_files(comm)
        has_lanes = bool(self.ref.compounds_of(comm.name, "街巷"))
        combined = v.pick("combined", {False: 9, True: 1})
        vols, orgs, acts = self._of(t.volunteers, comm), self._of(t.organizations, comm), self._of(t.activities, comm)
        if combined:
            sheets = [SheetPlan("三长名册", "volunteers", vols, comm.name + KIND_TITLES["volunteers"]),
                      SheetPlan("组织名册", "organizations", orgs, comm.name + KIND_TITLES["organizations"]),
                      SheetPlan("活动台账", "activities", acts, comm.name + KIND_TITLES["activities"])]
            files.append(self.file(f"{comm.name}_创熟工作台账汇总.xlsx", comm, sheets, {"multi_kind_workbook"}))
        else:
            lay = v.pick("vol_layout", {"single": 5, "by_status": 2, "by_compound": 1.5,
                                        "by_role": 2 if has_lanes else 0, "csv": 1.2})
            files.append(self.kind_file(comm, "volunteers", lay, volunteer_sheets(lay, vols, comm)))
            lay = v.pick("org_layout", {"single": 5, "by_kind": 3, "csv": 1.2})
            files.append(self.kind_file(comm, "organizations", lay, org_sheets(lay, orgs, comm)))
            lay = v.pick("act_layout", {"single": 5, "by_year": 3, "csv": 1.5})
            files.append(self.kind_file(comm, "activities", lay,
                                        simple_sheets(lay, acts, comm, "activities", lambda a: a.held_on)))
        projects = self._of(t.micro_projects, comm)
        lay = v.pick("proj_layout", {"single": 6, "by_year": 2, "csv": 1.2})
        files.append(self.kind_file(comm, "micro_projects", lay,
                                    simple_sheets(lay, projects, comm, "micro_projects", lambda p: p.applied_on)))
        return files

    def case_files(self, comm: Community) -> list[FilePlan]:
        """The community's case ledger: one file in some layout, or two files split by period."""
        cases = self._of(self.truth.cases, comm)
        lay = self.variety.pick("case_layout", {"single": 5, "by_year": 3, "by_category": 1.5, "split_files": 0.6,
                                                "csv": 1.2})
        if lay != "split_files":
            return [self.kind_file(comm, "cases", lay, case_sheets(lay, cases, comm))]
        early = [c for c in cases if c.reported_on.year <= 2018]
        late = [c for c in cases if c.reported_on.year > 2018]
        return [self.file(f"{comm.name}_事项台账_{part[0].reported_on.year}-{part[-1].reported_on.year}.xlsx", comm,
                          case_sheets("single", part, comm), {"files_split_by_period"}) for part in (early, late)]

    def kind_file(self, comm: Community, kind: str, layout: str, sheets: list[SheetPlan]) -> FilePlan:
        """A file holding one ledger kind."""
        label = FILE_LABELS[kind]
        if kind == "cases" and sheets:
            years = [r.reported_on.year for s in sheets for r in s.records]
            label += f"_{min(years)}-{max(years)}"
        if layout == "csv":
            return self.file(f"{comm.name}_{label}.csv", comm, sheets, set(), csv_file=True)
        codes = {LAYOUT_CODES[layout]} if layout in LAYOUT_CODES else set()
        return self.file(f"{comm.name}_{label}.xlsx", comm, sheets, codes)

    def file(self, name: str, comm: Community, sheets: list[SheetPlan], codes: set[str],
             csv_file: bool = False) -> FilePlan:
        """A file with a freshly drawn style (and a leftover empty sheet where the style says so)."""
        style = make_style(self.variety, self.rng, [s.kind for s in sheets if s.kind], csv_file)
        sheets = [s for s in sheets if s.records]
        if style.empty_sheet:
            sheets.append(SheetPlan(self.rng.choice(("Sheet2", "Sheet3", "空白")), None, codes={"empty_sheet"}))
        codes = codes | ({ENCODING_CODES[style.encoding]} if csv_file else {"xlsx"})
        return FilePlan(name, comm.name, style, sheets, codes)


def render_rows(sheet: SheetPlan, ctx: RowContext) -> None:
    """Render the sheet's good rows from its records."""
    sheet.rows = [Row(CELLS[sheet.kind](r, ctx), record=r) for r in sheet.records]


def choose_columns(kind: str, style: FileStyle, rng: random.Random) -> tuple[list[str], list[str], dict[str, str]]:
    """(template columns kept, extra columns, header aliases) for one sheet."""
    columns = list(COLUMNS[kind])
    if style.omit_optional and kind in OPTIONAL:
        for group in OPTIONAL[kind]:
            if rng.random() < 0.7 or group is OPTIONAL[kind][0]:
                columns = [c for c in columns if c not in group]
    if style.shuffle_columns:
        head = columns[:1] if rng.random() < 0.5 else []
        rest = [c for c in columns if c not in head]
        rng.shuffle(rest)
        columns = head + rest
    extras = ["序号"] + [rng.choice(EXTRAS[kind])] if style.extras else []
    aliases: dict[str, str] = {}
    if style.aliases:
        for c in columns:
            if c in ALIASES[kind] and rng.random() < 0.6:
                aliases[c] = rng.choice(ALIASES[kind][c])
        if not aliases:
            aliases[columns[0]] = ALIASES[kind][columns[0]][0]
    return columns, extras, aliases


def build_layout(sheet: SheetPlan, file: FilePlan, names: NameBook, rng: random.Random) -> None:
    """Turn the sheet's rows into a SheetLayout (columns, extras, titles, footer, blank rows)."""
    style = file.style
    if sheet.kind is None:
        sheet.layout = SheetLayout(name=sheet.name, df=None)
        return
    columns, extras, aliases = choose_columns(sheet.kind, style, rng)
    omitted = [c for c in COLUMNS[sheet.kind] if c not in columns]
    for row in sheet.rows:
        for col in omitted:
            if row.record is not None:
                for attr in OMITTED_FIELDS.get(col, ()):
                    setattr(row.record, attr, None)
    data: list[list[Any]] = []
    for i, row in enumerate(sheet.rows):
        extra = [i + 1] + [extra_value(sheet.kind, e, row.cells, names, rng) for e in extras[1:]] if extras else []
        values = [row.cells.get(c) for c in columns]
        data.append(extra[:1] + values + extra[1:] if extras else values)
    headers = (extras[:1] + columns + extras[1:]) if extras else columns
    df = pd.DataFrame(data, columns=headers, dtype=object)
    title = [sheet.title] if style.title_rows >= 1 else []
    if style.title_rows == 2:
        title.append(f"填报单位：{file.community}居委会　　　　　　统计截至：{sheet.report_date.year}年"
                     f"{sheet.report_date.month}月{sheet.report_date.day}日")
    blank = sorted(rng.sample(range(len(df) - 1), min(len(df) - 1, rng.randint(1, 3)))) if style.blank_rows else []
    footer = default_footer_lines(names.any_name(), names.any_name(), sheet.report_date) if style.footer_sign else []
    sheet.layout = SheetLayout(sheet.name, df, title=title, merge_title=style.merge_title,
                               footer_total=style.footer_total, footer_lines=footer,
                               footer_one_row=style.footer_one_row, blank_after=blank, date_style=style.date_style,
                               excel_date_format=style.excel_date_format, aliases=aliases)
    sheet.codes |= sheet_codes(style, title, blank, extras, aliases, omitted, columns, sheet.kind)


def sheet_codes(style: FileStyle, title: list[str], blank: list[int], extras: list[str], aliases: dict[str, str],
                omitted: list[str], columns: list[str], kind: str) -> set[str]:
    """Variation codes that a written sheet shows."""
    codes = {f"date_{style.date_style}"}
    if title:
        codes.add("title_row" if len(title) == 1 else "title_rows_multi")
        if style.merge_title and style.fmt == "xlsx":
            codes.add("title_merged")
    codes |= {c for c, on in (("footer_total", style.footer_total), ("footer_signature", style.footer_sign),
                              ("blank_rows", bool(blank)), ("extra_columns", bool(extras)),
                              ("header_aliases", bool(aliases)), ("optional_columns_missing", bool(omitted))) if on}
    if columns != [c for c in COLUMNS[kind] if c in columns]:
        codes.add("column_order")
    return codes
