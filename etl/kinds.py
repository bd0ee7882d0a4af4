"""The ledger catalogue: the five ledger kinds, each declared once.

A kind's headers and aliases, field types, required fields, key, storage table (its DDL is
generated from the fields: etl/migrations.py), the schema version that added each field and
how older rows are backfilled, how a row is named in messages, and which marts are computed
from it. Its public view (same name as the kind) and the views' column documentation, titles
and access classes are in etl/catalogue.py, which derives every other list of kinds and views.
docs/etl.md lists exactly which files a new column or a new kind touches.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

# Storage type of each field type (VARCHAR for the rest).
SQL_TYPES = {"date": "DATE", "int": "INTEGER", "score": "DOUBLE", "money": "DECIMAL(14,2)",
             "party": "BOOLEAN", "funded": "BOOLEAN"}
NOT_NULL_TYPES = ("party",)  # a blank cell has a value (not a party member): stored NOT NULL
_FIELD = re.compile(r"\{(\w+)\}")


@dataclass(frozen=True)
class Field:
    """One column of a ledger: database name, template header, accepted aliases, type."""

    name: str
    header: str
    aliases: tuple[str, ...] = ()
    type: str = "text"
    required: bool = False
    stored: bool = True  # False for personal data used only to derive an id
    hint: str = ""  # what to write, for the clerks' template (else the field type's hint)
    since: int = 1  # schema version that added it: older databases get it by migration
    backfill: str | None = None  # SQL expression (over the row's stored columns) for rows stored before `since`

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)

    @property
    def sql_type(self) -> str:
        """The storage column's DuckDB type."""
        return SQL_TYPES.get(self.type, "VARCHAR")

    @property
    def not_null(self) -> bool:
        """The storage column is NOT NULL: required, or a type whose blank cell has a value."""
        return self.required or self.type in NOT_NULL_TYPES


@dataclass(frozen=True)
class LedgerKind:
    """A ledger kind: how to recognise it and how its rows become table rows."""

    name: str
    title: str
    table: str
    fields: tuple[Field, ...]
    key: tuple[str, ...]
    key_label: str
    key_scope: str
    label: str  # how a row is named in messages (a duplicate key): str.format over its values
    marts: tuple[str, ...]  # the marts (etl/sql/marts.sql) computed from this kind's view, directly or not
    date_order: tuple[tuple[str, str], ...] = ()
    derived: tuple[str, ...] = ()  # columns computed from fields (ids, masked names)
    id_parts: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False)
    since: int = 1  # schema version that added the kind (its storage table)

    def __reduce_ex__(self, protocol: Any) -> Any:
        """A catalogue kind pickles as its name: a parse worker's results (etl/parse_pool.py) then
        hold the loader's own catalogue object, not a copy of it in every sheet's header match."""
        if BY_NAME.get(self.name) is self:
            return (kind_named, (self.name,))
        return super().__reduce_ex__(protocol)

    @property
    def view(self) -> str:
        """The public view of this kind's rows (etl/sql/views.sql): it has the kind's name."""
        return self.name

    @property
    def main_date(self) -> str:
        """The date that places a row in time: the first required date field."""
        return next(f.name for f in self.fields if f.type == "date" and f.required)

    def describe(self, row: Mapping[str, Any]) -> str:
        """A row as named in messages, e.g. 陈*明（楼长，2019-05-01）."""
        return self.label.format_map({k: row.get(k) for k in _FIELD.findall(self.label)})

    @cached_property
    def required(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def columns(self) -> tuple[str, ...]:
        """Stored columns, in the storage table's order (lineage columns excluded)."""
        stored = [f.name for f in self.fields if f.stored]
        return tuple(self.derived) + tuple(c for c in stored if c not in self.derived)

    def column_type(self, column: str) -> str:
        """DuckDB type of a stored column (derived ids and masked names are text)."""
        return self.field(column).sql_type if column not in self.derived else "VARCHAR"

    def column_not_null(self, column: str) -> bool:
        """Whether a stored column is NOT NULL (fields by their rule; derived key columns too)."""
        return self.field(column).not_null if column not in self.derived else column in self.key

    def column_since(self, column: str) -> int:
        """The schema version that added a stored column."""
        return self.field(column).since if column not in self.derived else self.since


CASES = LedgerKind(
    name="cases",
    title="事项台账",
    table="case_records",
    fields=(
        Field("case_id", "事项编号", ("编号", "案件编号", "登记编号"), "id", required=True),
        Field("community", "社区", ("所属社区", "社区名称"), "community", required=True),
        Field("compound", "小区", ("小区名称", "所属小区", "街巷"), "place"),
        Field("category", "类别", ("事项类别", "问题类型", "类型"), "category", required=True),
        Field("reported_on", "登记日期", ("受理日期", "发生日期", "日期"), "date", required=True),
        Field("resolved_on", "办结日期", ("完成日期", "解决日期"), "date"),
        Field("handled_by", "处理力量", ("处理主体", "参与力量", "牵头"), "handlers"),
        Field("description", "事项描述", ("问题描述", "内容", "简要情况"), "note"),
        Field("outcome", "处理结果", ("调解结果", "办理结果"), "outcome"),
        Field("followed_up_on", "回访日期", ("回访时间",), "date"),
        Field("satisfaction", "满意度", ("回访评价", "群众评价"), "satisfaction"),
        Field("remark", "备注", ("说明",), "note"),
    ),
    key=("community", "case_id"),
    key_label="事项编号",
    key_scope="社区",
    label="{case_id}",
    marts=("agg_case_reported", "agg_case_reported_m", "agg_case_resolved", "agg_case_resolved_m",
           "agg_case_followup", "agg_case_followup_m", "agg_case_durations", "agg_case_durations_m",
           "agg_case_open", "agg_case_compound", "agg_compounds_seen", "agg_community_compounds", "agg_latest"),
    date_order=(("reported_on", "resolved_on"), ("resolved_on", "followed_up_on")),
)

VOLUNTEERS = LedgerKind(
    name="volunteers",
    title="三长名册",
    table="volunteer_records",
    fields=(
        Field("name", "姓名", ("名字",), "person_name", required=True, stored=False),
        Field("role", "职务", ("类型", "角色"), "role", required=True),
        Field("community", "社区", ("所属社区",), "community", required=True),
        Field("compound", "小区", ("小区/街巷", "街巷", "所属小区"), "place"),
        Field("building", "楼栋", ("楼号", "座"), "place", hint="负责的楼栋号或巷道，如 3座、12栋、东巷"),
        Field("phone", "联系电话", ("电话", "手机"), "phone", stored=False),
        Field("is_party_member", "政治面貌", ("是否党员",), "party"),
        Field("appointed_on", "任职日期", ("上任日期", "聘任日期"), "date", required=True),
        Field("left_on", "离任日期", ("卸任日期",), "date"),
    ),
    key=("person_id", "role", "appointed_on"),
    key_label="人员",
    key_scope="社区同一职务同一任职日期",
    label="{name_masked}（{role}，{appointed_on}）",
    marts=("agg_volunteer_multi", "agg_volunteer_stock", "agg_building_heads", "agg_volunteer_flows",
           "agg_compounds_seen", "agg_community_compounds", "agg_latest"),
    date_order=(("appointed_on", "left_on"),),
    derived=("person_id", "name_masked"),
)

ORGANIZATIONS = LedgerKind(
    name="organizations",
    title="组织名册",
    table="organization_records",
    fields=(
        Field("name", "名称", ("组织名称",), "text", required=True),
        Field("kind", "类型", ("组织类型",), "org_kind", required=True),
        Field("community", "社区", ("所属社区",), "community", required=True),
        Field("compound", "小区", ("所属小区",), "place"),
        Field("founded_on", "成立日期", ("成立时间",), "date", required=True),
        Field("members", "成员数", ("人数", "成员人数"), "int"),
        Field("dissolved_on", "撤销日期", ("注销日期",), "date"),
    ),
    key=("org_id",),
    key_label="组织",
    key_scope="社区同类组织",
    label="{name}",
    marts=("agg_organization_flows", "agg_organization_stock", "agg_compounds_seen", "agg_community_compounds",
           "agg_latest"),
    date_order=(("founded_on", "dissolved_on"),),
    derived=("org_id",),
    id_parts={"org_id": ("community", "kind", "name")},
)

MICRO_PROJECTS = LedgerKind(
    name="micro_projects",
    title="微创熟项目台账",
    table="micro_project_records",
    fields=(
        Field("project_id", "项目编号", ("编号",), "id", required=True),
        Field("name", "项目名称", ("名称",), "text", required=True),
        Field("community", "社区", ("所属社区",), "community", required=True),
        Field("applicant", "申报主体", ("申报单位", "实施主体"), "text", hint="申报的组织或小组名称，如 松涛公馆街坊会"),
        Field("applied_on", "申报日期", ("申请日期",), "date", required=True),
        Field("review_round", "评审批次", ("批次",), "text", hint="如 2022年第一批"),
        Field("score", "评审得分", ("得分",), "score"),
        Field("is_funded", "是否立项", ("评审结果",), "funded", required=True),
        Field("amount_yuan", "资助金额", ("扶持金额（元）", "扶持金额", "金额"), "money"),
        Field("completed_on", "完成日期", ("结项日期",), "date"),
    ),
    key=("project_id",),
    key_label="项目编号",
    key_scope="街道",
    label="{project_id}",
    marts=("agg_latest",),
    date_order=(("applied_on", "completed_on"),),
)

ACTIVITIES = LedgerKind(
    name="activities",
    title="活动台账",
    table="activity_records",
    fields=(
        Field("name", "活动名称", ("名称", "主题"), "text", required=True),
        Field("community", "社区", ("所属社区",), "community", required=True),
        Field("kind", "类型", ("活动类型",), "activity_kind", required=True),
        Field("held_on", "活动日期", ("日期", "开展时间"), "date", required=True),
        Field("participants", "参与人数", ("人数", "参加人次"), "int"),
        Field("organizer", "组织方", ("主办", "承办"), "text", hint="主办或承办的组织、单位名称"),
    ),
    key=("activity_id",),
    key_label="活动",
    key_scope="社区同一天同名活动",
    label="{name}（{held_on}）",
    marts=("agg_activities", "agg_latest"),
    derived=("activity_id",),
    id_parts={"activity_id": ("community", "name", "held_on")},
)

KINDS: tuple[LedgerKind, ...] = (CASES, VOLUNTEERS, ORGANIZATIONS, MICRO_PROJECTS, ACTIVITIES)
BY_NAME = {kind.name: kind for kind in KINDS}


def kind_named(name: str) -> LedgerKind:
    """The catalogue's kind of this name (how a pickled kind comes back)."""
    return BY_NAME[name]
