"""The public views, catalogued once: names, Chinese titles, access classes, column documentation.

Part of the ledger catalogue (etl/kinds.py declares the kinds). Every public view of
etl/sql/views.sql is listed here in the order analysts see them, with its access class:

* ``LEDGER``: one ledger kind's rows (the view has the kind's name); public;
* ``REFERENCE``: reference data (communities, compounds, categories, milestones...); public;
* ``ADMIN``: load records of the whole sub-district (rejects, load_batches, submissions):
  never in a community-scoped copy.

A view with a ``community`` column that is not ADMIN holds, for a community-scoped user, only
that community's rows (chuangshu/scope.py); the others are copied whole. The data dictionary
(chuangshu/dictionary.py, docs/data-dictionary.md), the 即席查询 schema browser, the scoped
copies, the query runner's list of views, the marts' inputs and the 数据质量 page's ledger list
are all derived from here; tests/test_catalogue.py checks that no module keeps its own copy and
that the views built by views.sql have exactly these columns and types.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import NamedTuple

from etl.kinds import ACTIVITIES, BY_NAME, CASES, KINDS, MICRO_PROJECTS, ORGANIZATIONS, VOLUNTEERS, LedgerKind

LEDGER, REFERENCE, ADMIN = "ledger", "reference", "admin"
ACCESS_TITLES = {LEDGER: "台账 ledger", REFERENCE: "参考数据 reference", ADMIN: "载入记录 load records"}


class Column(NamedTuple):
    """One column of a public view, as the data dictionary documents it."""

    name: str
    type: str  # DuckDB type as DESCRIBE reports it
    zh: str
    en: str


@dataclass(frozen=True)
class View:
    """A public view: name, Chinese title, English summary, access class and columns (in order)."""

    name: str
    title: str
    en: str
    access: str
    columns: tuple[Column, ...]
    kind: str | None = None  # the ledger kind whose rows it shows (LEDGER views)
    zh: str = ""  # summary in Chinese, for users (the English one is for the docs): from _ZH_SUMMARIES

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def per_community(self) -> bool:
        """A community-scoped user sees only their community's rows of this view."""
        return self.access != ADMIN and "community" in self.column_names


def _stored(kind: LedgerKind, name: str, zh: str, en: str) -> Column:
    """A ledger view column that is a stored column: its type is the storage type."""
    return Column(name, kind.column_type(name), zh, en)


_LINEAGE = (
    Column("source_file", "VARCHAR", "来源文件名（替换数据时以文件为单位）",
           "Name of the ledger file the row came from (the unit of replacement)"),
    Column("source_sheet", "VARCHAR", "来源工作表名", "Worksheet inside the source file"),
    Column("source_row", "INTEGER", "来源行号（与台账中看到的行号一致）",
           "Row number in the sheet, as the clerk sees it"),
)

# Each ledger kind's view: Chinese title, English summary, columns in the view's order (lineage added).
_LEDGER_VIEWS: dict[LedgerKind, tuple[str, str, tuple[Column, ...]]] = {
    CASES: (
        "个案（居民诉求）",
        "One row per case (a resident's request or problem) from the communities' case ledgers.",
        (
            _stored(CASES, "case_id", "个案编号（在社区内唯一）", "Case number, unique within its community"),
            _stored(CASES, "community", "所属社区（标准名称）", "Community (standard name)"),
            _stored(CASES, "compound", "所在小区（可为空）", "Residential compound, if recorded"),
            _stored(CASES, "category", "诉求类别：加装电梯、邻里矛盾、环境卫生、治安、公共设施、安全隐患、停车、其他",
                    "Category: lift retrofit, neighbour dispute, sanitation, public order, facilities, safety hazard, "
                    "parking, other"),
            _stored(CASES, "reported_on", "受理（登记）日期", "Date the case was reported/registered"),
            _stored(CASES, "resolved_on", "办结日期；为空表示仍在办理", "Date resolved; empty while still open"),
            Column("status", "VARCHAR", "办理状态：办理中 / 已办结（由办结日期推出）",
                   "Status derived from resolved_on: 办理中 (open) or 已办结 (resolved)"),
            _stored(CASES, "handled_by", "处理主体：街坊会、自治小组、楼长、巷长、调解工作室、联席会议、物业、社区等；"
                    "多个主体用“、”分隔",
                    "Who handled it (neighbourhood association, self-governance group, building head, mediation "
                    "room, property company, community...); several are joined with 、"),
            _stored(CASES, "outcome", "处理结果（如 成功、不成功、转办）", "Outcome (e.g. succeeded, failed, referred)"),
            _stored(CASES, "followed_up_on", "回访日期", "Date of the follow-up visit"),
            _stored(CASES, "satisfaction", "回访满意度（如 满意、基本满意、不满意）",
                    "Satisfaction at follow-up (satisfied, mostly satisfied, dissatisfied)"),
            _stored(CASES, "description", "事项描述", "Description of the matter"),
            _stored(CASES, "remark", "备注", "Remarks"),
        ),
    ),
    VOLUNTEERS: (
        "楼长、巷长、街长名册",
        "One row per appointment of a building, lane or street head (a person may hold several).",
        (
            _stored(VOLUNTEERS, "person_id", "人员编号（脱敏后的稳定标识）", "Stable pseudonymous person id"),
            _stored(VOLUNTEERS, "name_masked", "姓名（已脱敏，如“陈*”）", "Masked name"),
            _stored(VOLUNTEERS, "role", "角色：楼长 / 巷长 / 街长", "Role: building head, lane head or street head"),
            _stored(VOLUNTEERS, "community", "所属社区", "Community"),
            _stored(VOLUNTEERS, "compound", "所在小区", "Residential compound"),
            _stored(VOLUNTEERS, "building", "负责的楼栋或巷道", "Building or lane looked after"),
            _stored(VOLUNTEERS, "is_party_member", "是否党员", "Member of the Communist Party of China"),
            _stored(VOLUNTEERS, "appointed_on", "任职日期", "Date appointed"),
            _stored(VOLUNTEERS, "left_on", "离任日期；为空表示仍在任", "Date left; empty while still serving"),
        ),
    ),
    ORGANIZATIONS: (
        "社区组织",
        "Community organisations: neighbourhood associations, self-governance groups, clubs, red owners' "
        "committees, 创熟 stations, building chat groups.",
        (
            _stored(ORGANIZATIONS, "org_id", "组织编号", "Organisation id"),
            _stored(ORGANIZATIONS, "name", "组织名称", "Name"),
            _stored(ORGANIZATIONS, "kind", "组织类型：街坊会、自治小组、社团、红色业委会、创熟加油站、楼道微信群",
                    "Kind: neighbourhood association, self-governance group, club, red owners' committee, "
                    "创熟 station, building WeChat group"),
            _stored(ORGANIZATIONS, "community", "所属社区", "Community"),
            _stored(ORGANIZATIONS, "compound", "所在小区（可为空）", "Residential compound, if any"),
            _stored(ORGANIZATIONS, "founded_on", "成立日期", "Date founded"),
            _stored(ORGANIZATIONS, "dissolved_on", "解散或停止活动日期；为空表示仍在活动", "Date dissolved; empty while active"),
            _stored(ORGANIZATIONS, "members", "成员人数", "Number of members"),
        ),
    ),
    MICRO_PROJECTS: (
        "“微创熟”项目",
        "Applications to the 微创熟 micro-project fund, with review result and grant.",
        (
            _stored(MICRO_PROJECTS, "project_id", "项目编号", "Project id"),
            _stored(MICRO_PROJECTS, "name", "项目名称", "Project name"),
            _stored(MICRO_PROJECTS, "community", "所属社区", "Community"),
            _stored(MICRO_PROJECTS, "applicant", "申报主体", "Applicant (group or organisation)"),
            _stored(MICRO_PROJECTS, "applied_on", "申报日期", "Date applied"),
            _stored(MICRO_PROJECTS, "review_round", "评审批次", "Review round"),
            _stored(MICRO_PROJECTS, "score", "评审得分", "Review score"),
            _stored(MICRO_PROJECTS, "is_funded", "是否获得资助", "Whether the project was funded"),
            _stored(MICRO_PROJECTS, "amount_yuan", "资助金额（元）", "Grant in yuan"),
            _stored(MICRO_PROJECTS, "completed_on", "完成日期；为空表示未完成", "Date completed; empty if not (yet) completed"),
        ),
    ),
    ACTIVITIES: (
        "社区活动",
        "Community activities: neighbourhood festivals, volunteering, culture, policy talks, epidemic duty...",
        (
            _stored(ACTIVITIES, "activity_id", "活动编号", "Activity id"),
            _stored(ACTIVITIES, "name", "活动名称", "Activity name"),
            _stored(ACTIVITIES, "community", "所属社区", "Community"),
            _stored(ACTIVITIES, "kind", "活动类型：邻里节、志愿服务、文化活动、宣讲、防疫、其他",
                    "Kind: neighbourhood festival, volunteering, culture, policy talk, epidemic duty, other"),
            _stored(ACTIVITIES, "held_on", "举办日期", "Date held"),
            _stored(ACTIVITIES, "participants", "参与人数（人次）", "Number of participants"),
            _stored(ACTIVITIES, "organizer", "主办方", "Organiser"),
        ),
    ),
}

_OTHER_VIEWS: tuple[View, ...] = (
    View("communities", "社区", "The communities of Guicheng sub-district (reference data).", REFERENCE, (
        Column("community", "VARCHAR", "社区标准名称", "Standard community name"),
        Column("short_name", "VARCHAR", "简称", "Short name"),
        Column("kind", "VARCHAR", "社区类型（如城市社区、村居社区）", "Kind of community (urban, village-type...)"),
        Column("households", "INTEGER", "户数", "Number of households"),
        Column("named_in_article", "BOOLEAN", "是否在公开报道中被提及", "Named in the published account of the programme"),
        Column("compounds", "BIGINT", "辖内登记的小区数（类型为“小区”）", "Number of registered compounds of kind 小区"),
    )),
    View("compounds", "小区", "Residential compounds: the reference list plus compounds seen in the ledgers but not "
         "yet registered (is_known = false).", REFERENCE, (
        Column("community", "VARCHAR", "所属社区", "Community"),
        Column("compound", "VARCHAR", "小区名称", "Compound name"),
        Column("kind", "VARCHAR", "类型：小区 / 街巷；未登记的为空", "Kind: compound (小区) or lane (街巷); empty if unregistered"),
        Column("households", "INTEGER", "户数", "Number of households"),
        Column("buildings", "INTEGER", "楼栋数", "Number of buildings"),
        Column("has_building_heads", "BOOLEAN", "是否已设楼长", "Whether building heads are in place"),
        Column("property_managed", "BOOLEAN", "是否有物业管理", "Whether a property company manages it"),
        Column("named_in_article", "BOOLEAN", "是否在公开报道中被提及", "Named in the published account of the programme"),
        Column("is_known", "BOOLEAN", "是否在参考名单中登记（否 = 仅在台账中出现）",
               "In the reference list (false = only seen in ledgers)"),
    )),
    View("categories", "诉求类别", "Case categories with their reporting label, unit and service deadline.", REFERENCE, (
        Column("category", "VARCHAR", "类别（个案表中使用的名称）", "Category as used in cases"),
        Column("label", "VARCHAR", "统计口径名称", "Label used in reports"),
        Column("unit", "VARCHAR", "计量单位（条、宗、个、起、处、件）", "Counting unit"),
        Column("sla_days", "INTEGER", "办理时限（天）", "Target days to resolve"),
        Column("sort_order", "INTEGER", "排序", "Display order"),
    )),
    View("milestones", "大事记", "Milestones of the 创熟 programme since 2011.", REFERENCE, (
        Column("happened_on", "DATE", "日期", "Date"),
        Column("precision", "VARCHAR", "日期精度：day / month / year", "Precision of the date: day, month or year"),
        Column("title", "VARCHAR", "事件", "Event"),
        Column("detail", "VARCHAR", "说明", "Details"),
    )),
    View("mobilisation_2020", "2020 年群防群治动员力量", "Forces mobilised for the 2020 epidemic response (published "
         "figures).", REFERENCE, (
        Column("item", "VARCHAR", "项目", "Item"),
        Column("figure", "INTEGER", "数量", "Figure"),
        Column("unit", "VARCHAR", "单位", "Unit"),
        Column("sort_order", "INTEGER", "排序", "Display order"),
    )),
    View("targets", "考核目标", "Targets of the 考核 (assessment) metrics: the versioned defaults from "
         "data/reference/targets.csv (an administrator's edits in the dashboard are kept apart, in the local state "
         "folder, and win over these; docs/assessment.md).", REFERENCE, (
        Column("metric", "VARCHAR", "指标代码（见 docs/metrics.md）", "Metric key (docs/metrics.md)"),
        Column("scope_kind", "VARCHAR", "适用范围：街道 / 同类组 / 社区", "Scope: sub-district, peer group or community"),
        Column("scope", "VARCHAR", "同类组或社区的名称；街道为空", "Peer group or community name; empty for the sub-district"),
        Column("period", "VARCHAR", "适用的考核期：全部 / 月 / 季 / 年", "Assessment period it applies to: all, month, "
               "quarter or year"),
        Column("target", "DOUBLE", "目标值（比率按百分数填写，如 95 表示 95%）", "Target value (rates in percent: 95 = 95%)"),
        Column("direction", "VARCHAR", "方向：不低于（越高越好）/ 不高于（越低越好）", "Direction: at least (higher is "
               "better) or at most (lower is better)"),
        Column("source", "VARCHAR", "目标来源：政策 / 历史 / 自定", "Source of the target: policy, history or set locally"),
        Column("note", "VARCHAR", "说明", "Note"),
    )),
    View("assessment_metrics", "创熟指数指标与权重", "The metrics of the 创熟指数 (assessment index), their dimension, "
         "weight and the smallest denominator for which a community's value is scored.", REFERENCE, (
        Column("metric", "VARCHAR", "指标代码", "Metric key"),
        Column("dimension", "VARCHAR", "维度：服务 / 创熟", "Dimension: service or 创熟 (community building)"),
        Column("weight", "DOUBLE", "权重", "Weight in the index"),
        Column("min_base", "INTEGER", "最少件数：分母少于此数不评价", "Smallest denominator for the value to be scored"),
        Column("sort_order", "INTEGER", "排序", "Display order"),
        Column("note", "VARCHAR", "说明", "Note"),
    )),
    View("assessment_settings", "考核设置", "Settings of the 考核: score cap, amber band, minimum cases per period, "
         "historic-target window, monthly ledgers.", REFERENCE, (
        Column("setting", "VARCHAR", "设置项", "Setting"),
        Column("value", "VARCHAR", "取值", "Value"),
        Column("note", "VARCHAR", "说明", "Note"),
    )),
    View("peer_groups", "同类社区组", "Peer groups of communities by household count, so that a small community is "
         "ranked among its peers.", REFERENCE, (
        Column("peer_group", "VARCHAR", "同类组", "Peer group"),
        Column("label", "VARCHAR", "名称（含户数范围）", "Label with the household range"),
        Column("households_from", "INTEGER", "户数下限（含）", "Lowest household count (inclusive)"),
        Column("households_to", "INTEGER", "户数上限（含）；为空表示不设上限", "Highest household count (inclusive); "
               "empty: no upper bound"),
        Column("sort_order", "INTEGER", "排序", "Display order"),
    )),
    View("alert_rules", "预警规则", "The 预警 (warning) rules with their thresholds: overdue open cases, repeat hot "
         "spots, compounds without a 楼长, rates below target or dropping month on month, overdue ledgers.", REFERENCE, (
        Column("rule", "VARCHAR", "规则代码", "Rule key"),
        Column("title", "VARCHAR", "规则名称", "Rule title"),
        Column("threshold", "DOUBLE", "阈值", "Threshold"),
        Column("unit", "VARCHAR", "阈值单位", "Unit of the threshold"),
        Column("window_days", "INTEGER", "窗口天数（重复报事热点）", "Window in days (repeat hot spots)"),
        Column("min_base", "INTEGER", "最少件数：分母少于此数不预警（比率规则）", "Smallest denominator (rate rules)"),
        Column("applies_to", "VARCHAR", "适用的指标（用 | 分隔）", "Metrics the rule applies to, separated by |"),
        Column("enabled", "BOOLEAN", "是否启用", "Whether the rule is on"),
        Column("sort_order", "INTEGER", "排序", "Display order"),
        Column("note", "VARCHAR", "说明", "Note"),
    )),
    View("rejects", "导入被拒行", "Ledger rows the loader could not accept, with the reason.", ADMIN, (
        Column("source_file", "VARCHAR", "来源文件名", "Source file"),
        Column("sheet", "VARCHAR", "工作表", "Worksheet"),
        Column("row_number", "INTEGER", "行号", "Row number in the sheet"),
        Column("ledger_kind", "VARCHAR", "台账类型", "Kind of ledger"),
        Column("reason", "VARCHAR", "拒收原因", "Why the row was rejected"),
        Column("batch_id", "INTEGER", "导入批次号", "Load batch"),
    )),
    View("load_batches", "导入批次", "One row per loaded (or refused) ledger file.", ADMIN, (
        Column("batch_id", "INTEGER", "导入批次号", "Load batch id"),
        Column("source_file", "VARCHAR", "来源文件名", "Source file"),
        Column("content_hash", "VARCHAR", "文件内容哈希", "Hash of the file content"),
        Column("ledger_kinds", "VARCHAR", "文件包含的台账类型", "Kinds of ledger found in the file"),
        Column("loaded_at", "TIMESTAMP", "导入时间", "When it was loaded"),
        Column("status", "VARCHAR", "导入状态", "Load status"),
        Column("rows_read", "INTEGER", "读取行数", "Rows read"),
        Column("rows_new", "INTEGER", "新增行数", "New rows"),
        Column("rows_changed", "INTEGER", "变更行数", "Changed rows"),
        Column("rows_unchanged", "INTEGER", "未变行数", "Unchanged rows"),
        Column("rows_removed", "INTEGER", "删除行数", "Removed rows"),
        Column("rows_rejected", "INTEGER", "被拒行数", "Rejected rows"),
        Column("message", "VARCHAR", "说明或错误信息", "Message"),
    )),
    View("submissions", "台账上报记录", "Which community sent which ledger for which months: one row per loaded file "
         "and ledger kind (a resent file adds a row, so this is the submission history).", ADMIN, (
        Column("community", "VARCHAR", "上报社区（文件中行数最多的社区）", "Community whose rows dominate the file"),
        Column("ledger_kind", "VARCHAR", "台账类型：" + "、".join(f"{k.name} {k.title}" for k in KINDS),
               "Ledger kind: " + ", ".join(k.name for k in KINDS)),
        Column("month_from", "DATE", "覆盖的最早月份（月初日期，按"
               + "/".join(k.field(k.main_date).header.removesuffix("日期") for k in KINDS) + "日期）",
               "First month covered (first day), by the kind's main date"),
        Column("month_to", "DATE", "覆盖的最晚月份（月初日期）", "Last month covered (first day)"),
        Column("rows", "INTEGER", "该文件该类台账载入的行数", "Rows of this kind loaded from the file"),
        Column("community_rows", "INTEGER", "其中属于上报社区的行数", "Of which belong to the dominant community"),
        Column("loaded_at", "TIMESTAMP", "载入时间", "When the file was loaded"),
        Column("source_file", "VARCHAR", "来源文件名", "Source file"),
        Column("batch_id", "INTEGER", "导入批次号", "Load batch"),
    )),
)

# Each view's summary in Chinese: what the 即席查询 schema browser shows users (tests: every view has one).
_ZH_SUMMARIES: dict[str, str] = {
    "cases": "每行一件事项（居民诉求或问题），来自各社区的事项台账。",
    "volunteers": "每行一次楼长、巷长或街长的任职（一人可有多次任职）。",
    "organizations": "社区组织：街坊会、小区自治小组、社团、红色业委会、“创熟”加油站、楼道微信群。",
    "micro_projects": "“微创熟”项目的申报，含评审结果和资助金额。",
    "activities": "社区活动：邻里节、志愿服务、文化活动、宣讲、防疫值守等。",
    "communities": "桂城街道的社区（参考数据）。",
    "compounds": "小区：街道小区名单，以及台账中出现、尚未登记的小区（is_known = false）。",
    "categories": "事项类别，含统计用名称、计量单位和服务时限。",
    "milestones": "2011 年以来“创熟”工作的大事记。",
    "mobilisation_2020": "2020 年疫情防控动员参与群防群治的力量（街道公布数字）。",
    "targets": "考核指标的目标：data/reference/targets.csv 中的默认值（管理员在看板中的修改另存于本机状态目录，优先于此）。",
    "assessment_metrics": "创熟指数包含的指标、所属维度、权重，以及社区参与评价所需的最少件数。",
    "assessment_settings": "考核设置：单项得分上限、黄灯区间、各考核期的最少受理事项、历史目标的月份数、按月上报的台账。",
    "peer_groups": "按户数划分的同类社区组：小社区在同类组内比较。",
    "alert_rules": "预警规则及阈值：超时未办结、重复报事热点、楼长空缺、低于目标或环比下降、逾期未报。",
    "rejects": "载入时未能接收的台账行及原因。",
    "load_batches": "每个载入（或被拒收）的台账文件一行。",
    "submissions": "哪个社区上报了哪类台账、覆盖哪些月份：每个载入文件、每类台账一行（重报的文件再加一行）。",
}

VIEWS: tuple[View, ...] = tuple(replace(view, zh=_ZH_SUMMARIES.get(view.name, "")) for view in (
    *(View(kind.view, *_LEDGER_VIEWS[kind][:2], LEDGER, _LEDGER_VIEWS[kind][2] + _LINEAGE, kind=kind.name)
      for kind in KINDS), *_OTHER_VIEWS))
BY_VIEW: dict[str, View] = {view.name: view for view in VIEWS}

# ---- derived lists: every module takes its list from here (tests/test_catalogue.py scans for copies)
PUBLIC_VIEWS: tuple[str, ...] = tuple(BY_VIEW)  # what an unscoped analyst may query
LEDGER_VIEWS: tuple[str, ...] = tuple(v.name for v in VIEWS if v.access == LEDGER)
REFERENCE_VIEWS: tuple[str, ...] = tuple(v.name for v in VIEWS if v.access == REFERENCE)
ADMIN_VIEWS: tuple[str, ...] = tuple(v.name for v in VIEWS if v.access == ADMIN)
COMMUNITY_VIEWS: tuple[str, ...] = tuple(v.name for v in VIEWS if v.per_community)  # narrowed per community
SHARED_VIEWS: tuple[str, ...] = tuple(v.name for v in VIEWS if v.access != ADMIN and not v.per_community)
MART_VIEWS: tuple[str, ...] = tuple(k.view for k in KINDS if k.marts)  # the ledger views the marts read
MART_SOURCES: tuple[str, ...] = tuple(k.table for k in KINDS if k.marts)  # fingerprinted for incremental marts
LEDGER_TITLES: dict[str, str] = {k.name: k.title for k in KINDS}  # kind -> 事项台账, 三长名册...
STORAGE_TABLES: tuple[str, ...] = tuple(k.table for k in KINDS)


def kind_of(view: str) -> LedgerKind | None:
    """The ledger kind a view shows (None for reference and admin views)."""
    name = BY_VIEW[view].kind
    return BY_NAME[name] if name else None
