"""The five ledger kinds, each declared once: headers and aliases, types, required fields, key.

Adding a kind is a declaration here plus its tests (and a storage table in
sql/schema.sql): the pipeline reads nothing else.
"""
from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Field:
    """One column of a ledger: database name, template header, accepted aliases, type."""

    name: str
    header: str
    aliases: tuple[str, ...] = ()
    type: str = "text"
    required: bool = False
    stored: bool = True  # False for personal data used only to derive an id

    @property
    def headers(self) -> tuple[str, ...]:
        return (self.header, *self.aliases)


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
    date_order: tuple[tuple[str, str], ...] = ()
    derived: tuple[str, ...] = ()  # columns computed from fields (ids, masked names)
    id_parts: dict[str, tuple[str, ...]] = field(default_factory=dict)

    @property
    def required(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if f.required)

    def field(self, name: str) -> Field:
        return next(f for f in self.fields if f.name == name)

    @property
    def columns(self) -> tuple[str, ...]:
        """Stored columns, in the storage table's order (lineage columns excluded)."""
        stored = [f.name for f in self.fields if f.stored]
        return tuple(self.derived) + tuple(c for c in stored if c not in self.derived)


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
        Field("building", "楼栋", ("楼号", "座"), "place"),
        Field("phone", "联系电话", ("电话", "手机"), "phone", stored=False),
        Field("is_party_member", "政治面貌", ("是否党员",), "party"),
        Field("appointed_on", "任职日期", ("上任日期", "聘任日期"), "date", required=True),
        Field("left_on", "离任日期", ("卸任日期",), "date"),
    ),
    key=("person_id", "role", "appointed_on"),
    key_label="人员",
    key_scope="社区同一职务同一任职日期",
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
        Field("applicant", "申报主体", ("申报单位", "实施主体"), "text"),
        Field("applied_on", "申报日期", ("申请日期",), "date", required=True),
        Field("review_round", "评审批次", ("批次",), "text"),
        Field("score", "评审得分", ("得分",), "score"),
        Field("is_funded", "是否立项", ("评审结果",), "funded", required=True),
        Field("amount_yuan", "资助金额", ("扶持金额（元）", "扶持金额", "金额"), "money"),
        Field("completed_on", "完成日期", ("结项日期",), "date"),
    ),
    key=("project_id",),
    key_label="项目编号",
    key_scope="街道",
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
        Field("organizer", "组织方", ("主办", "承办"), "text"),
    ),
    key=("activity_id",),
    key_label="活动",
    key_scope="社区同一天同名活动",
    derived=("activity_id",),
    id_parts={"activity_id": ("community", "name", "held_on")},
)

KINDS: tuple[LedgerKind, ...] = (CASES, VOLUNTEERS, ORGANIZATIONS, MICRO_PROJECTS, ACTIVITIES)
BY_NAME = {kind.name: kind for kind in KINDS}
