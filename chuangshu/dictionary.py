"""Data dictionary of the public views: the one place for column meanings.

``VIEWS`` maps each public view (etl/sql/views.sql) to its Chinese title, an English
description and its columns as ``(column, type, Chinese description, English
description)``. The 即席查询 schema browser reads it, and ``python -m chuangshu.dictionary``
writes docs/data-dictionary.md from it. tests/test_query_runner.py checks that it lists
exactly the columns (and types) the views have.
"""
from __future__ import annotations

import sys
from pathlib import Path
from typing import NamedTuple

from chuangshu.paths import ROOT


class Column(NamedTuple):
    name: str
    type: str  # DuckDB type as DESCRIBE reports it
    zh: str
    en: str


class View(NamedTuple):
    zh_title: str
    en: str
    columns: list[Column]
    zh: str = ""  # the Chinese description users read (the 即席查询 schema browser)


_LINEAGE = [
    Column("source_file", "VARCHAR", "来源文件名（替换数据时以文件为单位）",
           "Name of the ledger file the row came from (the unit of replacement)"),
    Column("source_sheet", "VARCHAR", "来源工作表名", "Worksheet inside the source file"),
    Column("source_row", "INTEGER", "来源行号（与台账中看到的行号一致）",
           "Row number in the sheet, as the clerk sees it"),
]

VIEWS: dict[str, View] = {
    "cases": View(
        "个案（居民诉求）",
        "One row per case (a resident's request or problem) from the communities' case ledgers.",
        [
            Column("case_id", "VARCHAR", "个案编号（在社区内唯一）", "Case number, unique within its community"),
            Column("community", "VARCHAR", "所属社区（标准名称）", "Community (standard name)"),
            Column("compound", "VARCHAR", "所在小区（可为空）", "Residential compound, if recorded"),
            Column("category", "VARCHAR", "诉求类别：加装电梯、邻里矛盾、环境卫生、治安、公共设施、安全隐患、停车、其他",
                   "Category: lift retrofit, neighbour dispute, sanitation, public order, facilities, safety hazard, parking, other"),
            Column("reported_on", "DATE", "受理（登记）日期", "Date the case was reported/registered"),
            Column("resolved_on", "DATE", "办结日期；为空表示仍在办理", "Date resolved; empty while still open"),
            Column("status", "VARCHAR", "办理状态：办理中 / 已办结（由办结日期推出）",
                   "Status derived from resolved_on: 办理中 (open) or 已办结 (resolved)"),
            Column("handled_by", "VARCHAR", "处理主体：街坊会、自治小组、楼长、巷长、调解工作室、联席会议、物业、社区等；多个主体用“、”分隔",
                   "Who handled it (neighbourhood association, self-governance group, building head, mediation room, property company, community...); several are joined with 、"),
            Column("outcome", "VARCHAR", "处理结果（如 成功、不成功、转办）", "Outcome (e.g. succeeded, failed, referred)"),
            Column("followed_up_on", "DATE", "回访日期", "Date of the follow-up visit"),
            Column("satisfaction", "VARCHAR", "回访满意度（如 满意、基本满意、不满意）",
                   "Satisfaction at follow-up (satisfied, mostly satisfied, dissatisfied)"),
            Column("description", "VARCHAR", "事项描述", "Description of the matter"),
            Column("remark", "VARCHAR", "备注", "Remarks"),
            *_LINEAGE,
        ],
    ),
    "volunteers": View(
        "楼长、巷长、街长名册",
        "One row per appointment of a building, lane or street head (a person may hold several).",
        [
            Column("person_id", "VARCHAR", "人员编号（脱敏后的稳定标识）", "Stable pseudonymous person id"),
            Column("name_masked", "VARCHAR", "姓名（已脱敏，如“陈*”）", "Masked name"),
            Column("role", "VARCHAR", "角色：楼长 / 巷长 / 街长", "Role: building head, lane head or street head"),
            Column("community", "VARCHAR", "所属社区", "Community"),
            Column("compound", "VARCHAR", "所在小区", "Residential compound"),
            Column("building", "VARCHAR", "负责的楼栋或巷道", "Building or lane looked after"),
            Column("is_party_member", "BOOLEAN", "是否党员", "Member of the Communist Party of China"),
            Column("appointed_on", "DATE", "任职日期", "Date appointed"),
            Column("left_on", "DATE", "离任日期；为空表示仍在任", "Date left; empty while still serving"),
            *_LINEAGE,
        ],
    ),
    "organizations": View(
        "社区组织",
        "Community organisations: neighbourhood associations, self-governance groups, clubs, red owners' committees, 创熟 stations, building chat groups.",
        [
            Column("org_id", "VARCHAR", "组织编号", "Organisation id"),
            Column("name", "VARCHAR", "组织名称", "Name"),
            Column("kind", "VARCHAR", "组织类型：街坊会、自治小组、社团、红色业委会、创熟加油站、楼道微信群",
                   "Kind: neighbourhood association, self-governance group, club, red owners' committee, 创熟 station, building WeChat group"),
            Column("community", "VARCHAR", "所属社区", "Community"),
            Column("compound", "VARCHAR", "所在小区（可为空）", "Residential compound, if any"),
            Column("founded_on", "DATE", "成立日期", "Date founded"),
            Column("dissolved_on", "DATE", "解散或停止活动日期；为空表示仍在活动", "Date dissolved; empty while active"),
            Column("members", "INTEGER", "成员人数", "Number of members"),
            *_LINEAGE,
        ],
    ),
    "micro_projects": View(
        "“微创熟”项目",
        "Applications to the 微创熟 micro-project fund, with review result and grant.",
        [
            Column("project_id", "VARCHAR", "项目编号", "Project id"),
            Column("name", "VARCHAR", "项目名称", "Project name"),
            Column("community", "VARCHAR", "所属社区", "Community"),
            Column("applicant", "VARCHAR", "申报主体", "Applicant (group or organisation)"),
            Column("applied_on", "DATE", "申报日期", "Date applied"),
            Column("review_round", "VARCHAR", "评审批次", "Review round"),
            Column("score", "DOUBLE", "评审得分", "Review score"),
            Column("is_funded", "BOOLEAN", "是否获得资助", "Whether the project was funded"),
            Column("amount_yuan", "DECIMAL(14,2)", "资助金额（元）", "Grant in yuan"),
            Column("completed_on", "DATE", "完成日期；为空表示未完成", "Date completed; empty if not (yet) completed"),
            *_LINEAGE,
        ],
    ),
    "activities": View(
        "社区活动",
        "Community activities: neighbourhood festivals, volunteering, culture, policy talks, epidemic duty...",
        [
            Column("activity_id", "VARCHAR", "活动编号", "Activity id"),
            Column("name", "VARCHAR", "活动名称", "Activity name"),
            Column("community", "VARCHAR", "所属社区", "Community"),
            Column("kind", "VARCHAR", "活动类型：邻里节、志愿服务、文化活动、宣讲、防疫、其他",
                   "Kind: neighbourhood festival, volunteering, culture, policy talk, epidemic duty, other"),
            Column("held_on", "DATE", "举办日期", "Date held"),
            Column("participants", "INTEGER", "参与人数（人次）", "Number of participants"),
            Column("organizer", "VARCHAR", "主办方", "Organiser"),
            *_LINEAGE,
        ],
    ),
    "communities": View(
        "社区",
        "The communities of Guicheng sub-district (reference data).",
        [
            Column("community", "VARCHAR", "社区标准名称", "Standard community name"),
            Column("short_name", "VARCHAR", "简称", "Short name"),
            Column("kind", "VARCHAR", "社区类型（如城市社区、村居社区）", "Kind of community (urban, village-type...)"),
            Column("households", "INTEGER", "户数", "Number of households"),
            Column("named_in_article", "BOOLEAN", "是否在公开报道中被提及", "Named in the published account of the programme"),
            Column("compounds", "BIGINT", "辖内登记的小区数（类型为“小区”）", "Number of registered compounds of kind 小区"),
        ],
    ),
    "compounds": View(
        "小区",
        "Residential compounds: the reference list plus compounds seen in the ledgers but not yet registered (is_known = false).",
        [
            Column("community", "VARCHAR", "所属社区", "Community"),
            Column("compound", "VARCHAR", "小区名称", "Compound name"),
            Column("kind", "VARCHAR", "类型：小区 / 街巷；未登记的为空", "Kind: compound (小区) or lane (街巷); empty if unregistered"),
            Column("households", "INTEGER", "户数", "Number of households"),
            Column("buildings", "INTEGER", "楼栋数", "Number of buildings"),
            Column("has_building_heads", "BOOLEAN", "是否已设楼长", "Whether building heads are in place"),
            Column("property_managed", "BOOLEAN", "是否有物业管理", "Whether a property company manages it"),
            Column("named_in_article", "BOOLEAN", "是否在公开报道中被提及", "Named in the published account of the programme"),
            Column("is_known", "BOOLEAN", "是否在参考名单中登记（否 = 仅在台账中出现）", "In the reference list (false = only seen in ledgers)"),
        ],
    ),
    "categories": View(
        "诉求类别",
        "Case categories with their reporting label, unit and service deadline.",
        [
            Column("category", "VARCHAR", "类别（个案表中使用的名称）", "Category as used in cases"),
            Column("label", "VARCHAR", "统计口径名称", "Label used in reports"),
            Column("unit", "VARCHAR", "计量单位（条、宗、个、起、处、件）", "Counting unit"),
            Column("sla_days", "INTEGER", "办理时限（天）", "Target days to resolve"),
            Column("sort_order", "INTEGER", "排序", "Display order"),
        ],
    ),
    "milestones": View(
        "大事记",
        "Milestones of the 创熟 programme since 2011.",
        [
            Column("happened_on", "DATE", "日期", "Date"),
            Column("precision", "VARCHAR", "日期精度：day / month / year", "Precision of the date: day, month or year"),
            Column("title", "VARCHAR", "事件", "Event"),
            Column("detail", "VARCHAR", "说明", "Details"),
        ],
    ),
    "mobilisation_2020": View(
        "2020 年群防群治动员力量",
        "Forces mobilised for the 2020 epidemic response (published figures).",
        [
            Column("item", "VARCHAR", "项目", "Item"),
            Column("figure", "INTEGER", "数量", "Figure"),
            Column("unit", "VARCHAR", "单位", "Unit"),
            Column("sort_order", "INTEGER", "排序", "Display order"),
        ],
    ),
    "rejects": View(
        "导入被拒行",
        "Ledger rows the loader could not accept, with the reason.",
        [
            Column("source_file", "VARCHAR", "来源文件名", "Source file"),
            Column("sheet", "VARCHAR", "工作表", "Worksheet"),
            Column("row_number", "INTEGER", "行号", "Row number in the sheet"),
            Column("ledger_kind", "VARCHAR", "台账类型", "Kind of ledger"),
            Column("reason", "VARCHAR", "拒收原因", "Why the row was rejected"),
            Column("batch_id", "INTEGER", "导入批次号", "Load batch"),
        ],
    ),
    "load_batches": View(
        "导入批次",
        "One row per loaded (or refused) ledger file.",
        [
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
        ],
    ),
    "submissions": View(
        "台账上报记录",
        "Which community sent which ledger for which months: one row per loaded file and ledger kind "
        "(a resent file adds a row, so this is the submission history).",
        [
            Column("community", "VARCHAR", "上报社区（文件中行数最多的社区）", "Community whose rows dominate the file"),
            Column("ledger_kind", "VARCHAR", "台账类型：cases 事项台账、volunteers 三长名册、organizations 组织名册、"
                   "micro_projects 微创熟项目台账、activities 活动台账",
                   "Ledger kind: cases, volunteers, organizations, micro_projects, activities"),
            Column("month_from", "DATE", "覆盖的最早月份（月初日期，按登记/任职/成立/申报/活动日期）",
                   "First month covered (first day), by the kind's main date"),
            Column("month_to", "DATE", "覆盖的最晚月份（月初日期）", "Last month covered (first day)"),
            Column("rows", "INTEGER", "该文件该类台账载入的行数", "Rows of this kind loaded from the file"),
            Column("community_rows", "INTEGER", "其中属于上报社区的行数", "Of which belong to the dominant community"),
            Column("loaded_at", "TIMESTAMP", "载入时间", "When the file was loaded"),
            Column("source_file", "VARCHAR", "来源文件名", "Source file"),
            Column("batch_id", "INTEGER", "导入批次号", "Load batch"),
        ],
    ),
}


_ZH = {
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
    "rejects": "载入时未能接收的台账行及原因。",
    "load_batches": "每个载入（或被拒收）的台账文件一行。",
    "submissions": "哪个社区上报了哪类台账、覆盖哪些月份：每个载入文件、每类台账一行。",
}
VIEWS = {name: view._replace(zh=_ZH[name]) for name, view in VIEWS.items()}  # every view has one (a test checks)


def column_frame(view: str):
    """Columns of ``view`` as a DataFrame (列名, 类型, 说明, English) for display."""
    import pandas as pd

    return pd.DataFrame(
        [(c.name, c.type, c.zh, c.en) for c in VIEWS[view].columns],
        columns=["列名", "类型", "说明", "English"],
    )


def describe(view: str, column: str) -> str | None:
    """Chinese description of one column, or None."""
    for c in VIEWS.get(view, View("", "", [])).columns:
        if c.name == column:
            return c.zh
    return None


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def to_markdown() -> str:
    """The data dictionary as Markdown (docs/data-dictionary.md)."""
    out = [
        "# 数据字典 · Data dictionary",
        "",
        "<!-- Generated by `python -m chuangshu.dictionary` from chuangshu/dictionary.py; edit that file, not this one. -->",
        "",
        "公开视图（etl/sql/views.sql）是页面、导出和即席查询使用的唯一结构。",
        "The public views (etl/sql/views.sql) are the one schema that pages, exports and ad-hoc SQL read.",
        "",
    ]
    for name, view in VIEWS.items():
        out.append(f"- [`{name}` {view.zh_title}](#{name})")
    out.append("")
    for name, view in VIEWS.items():
        out += [f"## {name}", "", f"**{view.zh_title}** — {view.zh}", "", view.en, "",
                "| 列名 Column | 类型 Type | 说明 | Description |", "|---|---|---|---|"]
        out += [f"| `{c.name}` | {c.type} | {_cell(c.zh)} | {_cell(c.en)} |" for c in view.columns]
        out.append("")
    return "\n".join(out)


def write_markdown(path: Path | None = None) -> Path:
    path = Path(path or ROOT / "docs" / "data-dictionary.md")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(to_markdown(), encoding="utf-8")
    return path


if __name__ == "__main__":
    print(write_markdown(Path(sys.argv[1]) if len(sys.argv) > 1 else None))
