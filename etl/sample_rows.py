"""Turn true records into ledger rows the way a clerk types them, and make the deliberately bad rows."""
from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from etl.sample_io import TEXT_DATE_STYLES, fmt_text_date
from etl.sample_model import (ActivityRecord, CaseRecord, OrgRecord, ProjectRecord, Reference, Truth,
                              VolunteerRecord)
from etl.sample_people import NameBook

# Template headers per ledger kind, in template order, and the aliases seen in real files.
COLUMNS = {
    "cases": ("事项编号", "社区", "小区", "类别", "登记日期", "办结日期", "处理力量", "事项描述", "处理结果",
              "回访日期", "满意度", "备注"),
    "volunteers": ("姓名", "职务", "社区", "小区", "楼栋", "联系电话", "政治面貌", "任职日期", "离任日期"),
    "organizations": ("名称", "类型", "社区", "小区", "成立日期", "成员数", "撤销日期"),
    "micro_projects": ("项目编号", "项目名称", "社区", "申报主体", "申报日期", "评审批次", "评审得分", "是否立项",
                       "资助金额", "完成日期"),
    "activities": ("活动名称", "社区", "类型", "活动日期", "参与人数", "组织方"),
}
ALIASES = {
    "cases": {"事项编号": ("编号", "案件编号", "登记编号"), "社区": ("所属社区", "社区名称"),
              "小区": ("小区名称", "所属小区", "街巷"), "类别": ("事项类别", "问题类型", "类型"),
              "登记日期": ("受理日期", "发生日期", "日期"), "办结日期": ("完成日期", "解决日期"),
              "处理力量": ("处理主体", "参与力量", "牵头"), "事项描述": ("问题描述", "内容", "简要情况"),
              "处理结果": ("调解结果", "办理结果"), "回访日期": ("回访时间",), "满意度": ("回访评价", "群众评价"),
              "备注": ("说明",)},
    "volunteers": {"姓名": ("名字",), "职务": ("类型", "角色"), "社区": ("所属社区",),
                   "小区": ("小区/街巷", "街巷", "所属小区"), "楼栋": ("楼号", "座"), "联系电话": ("电话", "手机"),
                   "政治面貌": ("是否党员",), "任职日期": ("上任日期", "聘任日期"), "离任日期": ("卸任日期",)},
    "organizations": {"名称": ("组织名称",), "类型": ("组织类型",), "社区": ("所属社区",), "小区": ("所属小区",),
                      "成立日期": ("成立时间",), "成员数": ("人数", "成员人数"), "撤销日期": ("注销日期",)},
    "micro_projects": {"项目编号": ("编号",), "项目名称": ("名称",), "社区": ("所属社区",),
                       "申报主体": ("申报单位", "实施主体"), "申报日期": ("申请日期",), "评审批次": ("批次",),
                       "评审得分": ("得分",), "是否立项": ("评审结果",), "资助金额": ("扶持金额（元）", "金额"),
                       "完成日期": ("结项日期",)},
    "activities": {"活动名称": ("名称", "主题"), "社区": ("所属社区",), "类型": ("活动类型",),
                   "活动日期": ("日期", "开展时间"), "参与人数": ("人数", "参加人次"), "组织方": ("主办", "承办")},
}
EXTRAS = {"cases": ("经办人", "网格"), "volunteers": ("性别", "备注"), "organizations": ("负责人", "备注"),
          "micro_projects": ("联系人", "备注"), "activities": ("活动地点", "备注")}
# Optional columns a file may leave out; the true record then has no value for them.
OPTIONAL = {"cases": (("备注",), ("回访日期", "满意度")), "organizations": (("成员数",),),
            "activities": (("组织方",),)}
PARTY_VOCABS = (("党员", "群众"), ("中共党员", "群众"), ("是", "否"), ("√", ""), ("党员", ""))
FUNDED_VOCABS = (("是", "否"), ("立项", "否"), ("通过", "不通过"))
PARTY_CODES = {"党员": "party_word", "中共党员": "party_full", "是": "party_yes_no", "√": "party_tick"}
FUNDED_CODES = {"是": "funded_yes_no", "立项": "funded_lixiang", "通过": "funded_tongguo"}
UNKNOWN_COMMUNITIES = ("桂北社区", "南庄社区", "大沥社区")


@dataclass
class FileStyle:
    """A clerk's habits for one file (every sheet of it)."""

    fmt: str = "xlsx"
    encoding: str | None = None
    title_rows: int = 0
    merge_title: bool = False
    footer_total: bool = False
    footer_sign: bool = False
    footer_one_row: bool = False
    blank_rows: bool = False
    shuffle_columns: bool = False
    extras: bool = False
    aliases: bool = False
    date_style: str = "excel"
    excel_date_format: str = "yyyy-mm-dd"
    community_form: str = "full"
    alias_pick: int = 0
    messy: bool = False
    synonyms: bool = False
    omit_optional: bool = False
    party_vocab: tuple[str, str] = ("党员", "群众")
    funded_vocab: tuple[str, str] = ("是", "否")
    amount_style: str = "number"
    phone_as_number: bool = False
    empty_sheet: bool = False


@dataclass
class Row:
    """One data row: its cells by template header, and either the true record or the reason it is bad."""

    cells: dict[str, Any]
    record: Any = None
    reason: str | None = None
    detail: str = ""


@dataclass
class RowContext:
    """Renders values for one sheet and notes which variations actually occur in it."""

    ref: Reference
    truth: Truth
    style: FileStyle
    rng: random.Random
    used: set[str] = field(default_factory=set)

    def community(self, name: str) -> str:
        """Community as the clerk writes it (full, short or alias; sometimes with stray spaces)."""
        comm = self.ref.community(name)
        alias = comm.aliases[self.style.alias_pick % len(comm.aliases)] if comm.aliases else comm.name
        text = {"full": comm.name, "short": comm.short, "alias": alias}[self.style.community_form]
        if self.style.community_form != "full":
            self.used.add(f"community_{self.style.community_form}")
        if self.style.messy and self.rng.random() < 0.1:
            return self.spaced(text, "community")
        return text

    def spaced(self, text: str, what: str) -> str:
        """Text with a stray ASCII or full-width space around it."""
        if self.rng.random() < 0.4:
            self.used.add(f"{what}_fullwidth_space")
            return text + "\u3000" if self.rng.random() < 0.5 else "\u3000" + text
        self.used.add(f"{what}_space")
        return self.rng.choice((" " + text, text + " ", " " + text + " "))

    def compound(self, name: str | None) -> str | None:
        """Compound as written (sometimes with stray spaces)."""
        if name is None:
            return None
        if any(name == new for _, new in self.truth.new_compounds):
            self.used.add("new_compound")
        if self.style.messy and self.rng.random() < 0.1:
            return self.spaced(name, "compound")
        return name

    def synonym(self, canonical: str, synonyms: tuple[str, ...], code: str, rate: float = 0.5) -> str:
        """The canonical word, or one of its synonyms when the file uses them."""
        if self.style.synonyms and synonyms and self.rng.random() < rate:
            self.used.add(code)
            return self.rng.choice(synonyms)
        return canonical

    def handlers(self, text: str | None) -> str | None:
        """处理力量 with synonyms for the handlers."""
        if text is None:
            return None
        if "、" in text:
            self.used.add("handler_pair")
        return "、".join(self.synonym(h, self.ref.handler_synonyms.get(h, ()), "handler_synonym", 0.3)
                        for h in text.split("、"))

    def party(self, member: bool) -> str:
        """政治面貌 in the file's vocabulary (an occasional 预备党员)."""
        yes, no = self.style.party_vocab
        self.used.add(PARTY_CODES[yes])
        if not member and no == "":
            self.used.add("party_blank_for_no")
        if member and yes in ("党员", "中共党员") and self.rng.random() < 0.03:
            self.used.add("party_probationary")
            return "预备党员"
        return yes if member else no

    def amount(self, value: int | None) -> Any:
        """资助金额 as typed: 15000, "15000", "15,000" or "1.5万"."""
        if value is None:
            return None
        style = self.style.amount_style
        if style == "mixed":
            style = self.rng.choice(("number", "wan", "comma", "text"))
        if style != "number":
            self.used.add(f"amount_{style}")
        return {"number": value, "text": str(value), "comma": f"{value:,}", "wan": f"{value / 10000:g}万"}[style]

    def phone(self, phone: str | None) -> Any:
        """联系电话 as text, or as a number where the clerk typed it so."""
        if phone is None:
            self.used.add("phone_missing")
            return None
        if self.style.phone_as_number and self.style.fmt == "xlsx":
            self.used.add("phone_as_number")
            return int(phone)
        return phone


def case_cells(r: CaseRecord, ctx: RowContext) -> dict[str, Any]:
    """Cells of a case row."""
    cat = ctx.ref.categories[r.category]
    return {"事项编号": r.case_id, "社区": ctx.community(r.community), "小区": ctx.compound(r.compound),
            "类别": ctx.synonym(r.category, cat.synonyms, "category_synonym"), "登记日期": r.reported_on,
            "办结日期": r.resolved_on, "处理力量": ctx.handlers(r.handled_by), "事项描述": r.description,
            "处理结果": r.outcome, "回访日期": r.followed_up_on, "满意度": r.satisfaction, "备注": r.remark}


def volunteer_cells(r: VolunteerRecord, ctx: RowContext) -> dict[str, Any]:
    """Cells of a 三长 row."""
    return {"姓名": r.name, "职务": ctx.synonym(r.role, ctx.ref.role_synonyms.get(r.role, ()), "role_synonym", 0.3),
            "社区": ctx.community(r.community), "小区": ctx.compound(r.compound), "楼栋": r.building,
            "联系电话": ctx.phone(r.phone), "政治面貌": ctx.party(r.is_party_member), "任职日期": r.appointed_on,
            "离任日期": r.left_on, "性别": r.gender}


def org_cells(r: OrgRecord, ctx: RowContext) -> dict[str, Any]:
    """Cells of an organisation row."""
    kind = ctx.synonym(r.kind, ctx.ref.org_kind_synonyms.get(r.kind, ()), "org_kind_synonym", 0.3)
    return {"名称": r.name, "类型": kind, "社区": ctx.community(r.community), "小区": ctx.compound(r.compound),
            "成立日期": r.founded_on, "成员数": r.members, "撤销日期": r.dissolved_on}


def project_cells(r: ProjectRecord, ctx: RowContext) -> dict[str, Any]:
    """Cells of a micro-project row."""
    yes, no = ctx.style.funded_vocab
    ctx.used.add(FUNDED_CODES[yes])
    score: Any = int(r.score) if float(r.score).is_integer() else r.score
    return {"项目编号": r.project_id, "项目名称": r.name, "社区": ctx.community(r.community), "申报主体": r.applicant,
            "申报日期": r.applied_on, "评审批次": r.review_round, "评审得分": score,
            "是否立项": yes if r.is_funded else no, "资助金额": ctx.amount(r.amount_yuan), "完成日期": r.completed_on}


def activity_cells(r: ActivityRecord, ctx: RowContext) -> dict[str, Any]:
    """Cells of an activity row."""
    kind = ctx.synonym(r.kind, ctx.ref.activity_kind_synonyms.get(r.kind, ()), "activity_kind_synonym", 0.3)
    return {"活动名称": r.name, "社区": ctx.community(r.community), "类型": kind, "活动日期": r.held_on,
            "参与人数": r.participants, "组织方": r.organizer}


CELLS = {"cases": case_cells, "volunteers": volunteer_cells, "organizations": org_cells,
         "micro_projects": project_cells, "activities": activity_cells}


def extra_value(kind: str, column: str, cells: dict[str, Any], names: NameBook, rng: random.Random) -> Any:
    """A value for a column nobody asked for."""
    if column in ("经办人", "负责人", "联系人"):
        return names.any_name()
    if column == "网格":
        return f"第{rng.randint(1, 12)}网格"
    if column == "性别":
        return cells.get("性别")
    if column == "活动地点":
        return rng.choice(("社区党群服务中心", "社区广场", "文化室", "小区架空层"))
    return rng.choice(("", "", "", "已核实", "待补充资料", "见附件"))


def invalid_date_text(d: date, style: str) -> str:
    """A date in d's month that cannot exist (2月30日, 4月31日, 1月32日), typed in the sheet's style."""
    day = {2: 30, 4: 31, 6: 31, 9: 31, 11: 31}.get(d.month, 32)
    return fmt_text_date(d.year, d.month, day, style if style in TEXT_DATE_STYLES else "iso")


class BadRows:
    """Builds the rows the loader must reject, each from a plausible neighbour row."""

    def __init__(self, names: NameBook, case_styles: dict[str, str]) -> None:
        self.ctx: RowContext | None = None
        self.names = names
        self.case_styles = case_styles
        self.counter = 0

    def _fresh_case_id(self, community: str, year: int) -> str:
        """A case number no good row of the community uses."""
        self.counter += 1
        code = self.ctx.ref.community(community).code
        return self.case_styles[community].format(code=code, y=year, n=900 + self.counter)

    def make(self, ctx: RowContext, kind: str, reason: str, rows: list[Row], community: str) -> tuple[Row, int]:
        """A bad row of the given kind and reason, and the earliest index it may be inserted at."""
        self.ctx = ctx
        good = [i for i, r in enumerate(rows) if r.record is not None]
        base_index = self.ctx.rng.choice(good[: max(1, len(good) // 2)]) if reason == "duplicate_key" \
            else self.ctx.rng.choice(good)
        cells = dict(rows[base_index].cells)
        getattr(self, f"_{kind}")(reason, cells, rows, base_index, community)
        detail = {"duplicate_key": str(cells.get("事项编号"))}.get(reason, "")
        return Row(cells, reason=reason, detail=detail), (base_index + 1 if reason == "duplicate_key" else 0)

    def _cases(self, reason: str, cells: dict, rows: list[Row], base: int, community: str) -> None:
        """Break a case row."""
        original: CaseRecord = rows[base].record
        other = self.ctx.rng.choice([r for r in rows if r.record is not None and r.record is not original])
        if reason == "duplicate_key":
            cells.update({k: v for k, v in other.cells.items() if k != "事项编号"})
            return
        cells["事项编号"] = self._fresh_case_id(community, original.reported_on.year)
        self._common(reason, cells, "登记日期", "类别")
        if reason == "resolved_before_reported":
            cells["办结日期"] = original.reported_on - timedelta(days=self.ctx.rng.randint(3, 40))
            cells["回访日期"] = cells["满意度"] = None
        elif reason == "unknown_category":
            cells["类别"] = self.ctx.rng.choice(("违章搭建", "噪音污染", "物业费"))

    def _common(self, reason: str, cells: dict, date_col: str, required_col: str) -> None:
        """The reasons every kind can have: unknown community, missing required value, impossible date."""
        if reason == "unknown_community":
            cells["社区"] = self.ctx.rng.choice(UNKNOWN_COMMUNITIES)
        elif reason == "missing_required":
            cells[self.ctx.rng.choice((date_col, required_col))] = None
        elif reason == "invalid_date":
            cells[date_col] = invalid_date_text(cells[date_col], self.ctx.style.date_style)

    def _volunteers(self, reason: str, cells: dict, rows: list[Row], base: int, community: str) -> None:
        """Break a 三长 row (with a fresh person, so no identity collides)."""
        cells["姓名"] = self.names.name(community, cells.get("性别") or "女")
        cells["联系电话"] = self.names.phone()
        cells["离任日期"] = None
        self._common(reason, cells, "任职日期", "职务")

    def _organizations(self, reason: str, cells: dict, rows: list[Row], base: int, community: str) -> None:
        """Break an organisation row (with a new name)."""
        self.counter += 1
        cells.update({"名称": f"{self.ctx.ref.community(community).short}社区青年志愿服务{self.counter}队",
                      "类型": "社团", "小区": None, "撤销日期": None})
        self._common(reason, cells, "成立日期", "类型")

    def _micro_projects(self, reason: str, cells: dict, rows: list[Row], base: int, community: str) -> None:
        """Break a micro-project row (with a project number nobody uses)."""
        self.counter += 1
        original: ProjectRecord = rows[base].record
        cells["项目编号"] = original.project_id.rsplit("-", 1)[0] + f"-9{self.counter:02d}"
        self._common(reason, cells, "申报日期", "是否立项")

    def _activities(self, reason: str, cells: dict, rows: list[Row], base: int, community: str) -> None:
        """Break an activity row."""
        self._common(reason, cells, "活动日期", "类型")
