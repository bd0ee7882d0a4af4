"""Example queries for the 即席查询 page: real questions answered from the public views.

Each example has an id (used in links and the audit log), a Chinese title, the question
it answers and the SQL. They only read the public views and are checked by the tests
against a sample database.
"""
from __future__ import annotations

from typing import NamedTuple


class Example(NamedTuple):
    id: str
    title: str
    question: str
    sql: str


EXAMPLES: list[Example] = [
    Example(
        "lift_over_a_year",
        "加装电梯：办理超过一年的个案（按社区）",
        "各社区有多少宗加装电梯个案办理时间超过一年（已办结的按办结日期，未办结的算到数据截至日）？",
        """\
-- 加装电梯个案中，办理时间超过 365 天的宗数（按社区）
-- 数据截至日 = 台账中最晚的受理或办结日期
WITH cutoff AS (
    SELECT max(greatest(reported_on, coalesce(resolved_on, reported_on))) AS d FROM cases
), lift AS (
    SELECT community, status, coalesce(resolved_on, cutoff.d) - reported_on AS days
    FROM cases, cutoff
    WHERE category = '加装电梯'
)
SELECT community AS 社区,
       count(*) AS 超一年个案数,
       count(*) FILTER (WHERE status = '办理中') AS 其中仍在办理,
       round(avg(days)) AS 平均办理天数,
       max(days) AS 最长办理天数
FROM lift
WHERE days > 365
GROUP BY community
ORDER BY 超一年个案数 DESC
""",
    ),
    Example(
        "resolution_by_category",
        "各类诉求的办结率与按时办结率",
        "每类诉求受理了多少宗，办结了多少，多少在规定时限内办结？",
        """\
-- 办结率 = 已办结 / 受理；按时办结率 = 在类别时限（sla_days）内办结 / 已办结
SELECT k.label AS 诉求类别,
       count(*) AS 受理数,
       count(c.resolved_on) AS 办结数,
       round(100.0 * count(c.resolved_on) / count(*), 1) AS 办结率_百分比,
       k.sla_days AS 时限天数,
       round(100.0 * count(*) FILTER (WHERE c.resolved_on - c.reported_on <= k.sla_days)
             / nullif(count(c.resolved_on), 0), 1) AS 按时办结率_百分比,
       median(c.resolved_on - c.reported_on) AS 办理天数中位数
FROM cases c
JOIN categories k USING (category)
GROUP BY k.label, k.sla_days, k.sort_order
ORDER BY k.sort_order
""",
    ),
    Example(
        "backlog_age",
        "在办个案积压账龄（按社区）",
        "还没办结的个案压了多久？各社区按账龄分段有多少宗？",
        """\
-- 未办结个案按等待天数分段（算到数据截至日 = 台账中最晚的受理或办结日期）
WITH cutoff AS (
    SELECT max(greatest(reported_on, coalesce(resolved_on, reported_on))) AS d FROM cases
), open_cases AS (
    SELECT community, cutoff.d - reported_on AS age FROM cases, cutoff WHERE status = '办理中'
)
SELECT community AS 社区,
       count(*) AS 在办总数,
       count(*) FILTER (WHERE age <= 30) AS "30天内",
       count(*) FILTER (WHERE age BETWEEN 31 AND 90) AS "31-90天",
       count(*) FILTER (WHERE age BETWEEN 91 AND 365) AS "91-365天",
       count(*) FILTER (WHERE age > 365) AS 超过一年,
       max(age) AS 最长等待天数
FROM open_cases
GROUP BY community
ORDER BY 在办总数 DESC
""",
    ),
    Example(
        "heads_per_100_households",
        "每百户楼长、巷长、街长人数（按社区）",
        "各社区在任的楼长、巷长、街长有多少人，按户数折算每百户几人？其中党员占多少？",
        """\
-- 在任 = 离任日期为空；每百户 = 在任人数 / 户数 × 100
WITH active AS (
    SELECT community, count(DISTINCT person_id) AS people,
           count(DISTINCT person_id) FILTER (WHERE is_party_member) AS party_members
    FROM volunteers
    WHERE left_on IS NULL
    GROUP BY community
)
SELECT c.community AS 社区,
       c.households AS 户数,
       coalesce(a.people, 0) AS 在任人数,
       round(100.0 * coalesce(a.people, 0) / nullif(c.households, 0), 2) AS 每百户人数,
       round(100.0 * a.party_members / nullif(a.people, 0), 1) AS 党员占比_百分比
FROM communities c
LEFT JOIN active a USING (community)
ORDER BY 每百户人数 DESC NULLS LAST
""",
    ),
    Example(
        "funds_per_year",
        "“微创熟”项目历年申报、资助与金额",
        "每年有多少项目申报、多少获资助、共资助多少钱、平均评分多少？",
        """\
SELECT year(applied_on) AS 年份,
       count(*) AS 申报项目数,
       count(*) FILTER (WHERE is_funded) AS 获资助项目数,
       round(100.0 * count(*) FILTER (WHERE is_funded) / count(*), 1) AS 资助率_百分比,
       coalesce(sum(amount_yuan), 0) AS 资助金额_元,
       round(avg(score), 1) AS 平均评分,
       count(completed_on) AS 已完成项目数
FROM micro_projects
GROUP BY 年份
ORDER BY 年份
""",
    ),
    Example(
        "monthly_flow",
        "每月新增与办结个案趋势",
        "每个月新受理多少宗个案、办结多少宗，积压是在增加还是减少？",
        """\
WITH months AS (
    SELECT date_trunc('month', reported_on) AS 月份, count(*) AS 新增 FROM cases GROUP BY 1
), closed AS (
    SELECT date_trunc('month', resolved_on) AS 月份, count(*) AS 办结
    FROM cases WHERE resolved_on IS NOT NULL GROUP BY 1
)
SELECT strftime(月份, '%Y-%m') AS 月份,
       coalesce(新增, 0) AS 新增,
       coalesce(办结, 0) AS 办结,
       sum(coalesce(新增, 0) - coalesce(办结, 0)) OVER (ORDER BY 月份) AS 累计在办
FROM months FULL JOIN closed USING (月份)
ORDER BY 月份
""",
    ),
    Example(
        "activity_participation",
        "各类社区活动历年场次与参与人次",
        "邻里节、志愿服务等活动每年办了多少场，参与了多少人次？",
        """\
SELECT year(held_on) AS 年份,
       kind AS 活动类型,
       count(*) AS 场次,
       sum(participants) AS 参与人次,
       round(avg(participants)) AS 场均人次
FROM activities
GROUP BY 年份, kind
ORDER BY 年份, 参与人次 DESC
""",
    ),
    Example(
        "handler_speed",
        "不同处理主体的办结速度",
        "街坊会、调解工作室、物业等不同主体处理的个案，办结要多少天？",
        """\
-- 一宗个案可有多个处理主体（用“、”分隔），按每个主体分别统计；电梯周期长，不计入
WITH handled AS (
    SELECT unnest(string_split(coalesce(handled_by, '（未填写）'), '、')) AS 处理主体,
           reported_on, resolved_on
    FROM cases
    WHERE category <> '加装电梯'
)
SELECT 处理主体,
       count(*) AS 个案数,
       count(resolved_on) AS 办结数,
       median(resolved_on - reported_on) AS 办理天数中位数,
       round(avg(resolved_on - reported_on), 1) AS 平均办理天数
FROM handled
GROUP BY 处理主体
ORDER BY 个案数 DESC
""",
    ),
    Example(
        "satisfaction",
        "回访满意度（按诉求类别）",
        "回访过的个案中，各类诉求的满意、基本满意、不满意各占多少？",
        """\
SELECT category AS 诉求类别,
       count(*) AS 回访数,
       round(100.0 * count(*) FILTER (WHERE satisfaction = '满意') / count(*), 1) AS 满意_百分比,
       round(100.0 * count(*) FILTER (WHERE satisfaction = '基本满意') / count(*), 1) AS 基本满意_百分比,
       round(100.0 * count(*) FILTER (WHERE satisfaction = '不满意') / count(*), 1) AS 不满意_百分比
FROM cases
WHERE followed_up_on IS NOT NULL AND satisfaction IS NOT NULL
GROUP BY category
ORDER BY 回访数 DESC
""",
    ),
    Example(
        "active_organizations",
        "各社区现存社区组织（按类型）",
        "每个社区现在还在活动的街坊会、自治小组、社团等组织各有多少个、多少成员？",
        """\
SELECT community AS 社区,
       kind AS 组织类型,
       count(*) AS 组织数,
       sum(members) AS 成员总数
FROM organizations
WHERE dissolved_on IS NULL
GROUP BY community, kind
ORDER BY community, 组织数 DESC
""",
    ),
    Example(
        "overdue_open_cases",
        "超过办理时限仍未办结的个案清单",
        "哪些个案已经超过该类别的办理时限还没办结？（按超期天数从多到少）",
        """\
-- 算到数据截至日；来源文件和行号便于回到台账核对
WITH cutoff AS (
    SELECT max(greatest(reported_on, coalesce(resolved_on, reported_on))) AS d FROM cases
)
SELECT c.community AS 社区, c.compound AS 小区, c.case_id AS 个案编号, c.category AS 类别,
       c.reported_on AS 受理日期, k.sla_days AS 时限天数,
       (cutoff.d - c.reported_on) - k.sla_days AS 超期天数,
       c.handled_by AS 处理主体, c.source_file AS 来源文件, c.source_row AS 来源行号
FROM cases c
JOIN categories k USING (category)
CROSS JOIN cutoff
WHERE c.status = '办理中'
  AND cutoff.d - c.reported_on > k.sla_days
ORDER BY 超期天数 DESC
LIMIT 200
""",
    ),
    Example(
        "compounds_without_heads",
        "未设楼长或未登记的小区里的诉求",
        "个案多但还没有楼长（或者根本不在小区名单里）的小区有哪些？",
        """\
SELECT p.community AS 社区, p.compound AS 小区,
       CASE WHEN NOT p.is_known THEN '未登记' WHEN p.has_building_heads THEN '已设楼长' ELSE '未设楼长' END AS 状况,
       count(c.case_id) AS 个案数,
       count(c.case_id) FILTER (WHERE c.status = '办理中') AS 在办个案数
FROM compounds p
LEFT JOIN cases c ON c.community = p.community AND c.compound = p.compound
WHERE NOT p.is_known OR NOT coalesce(p.has_building_heads, FALSE)
GROUP BY ALL
ORDER BY 个案数 DESC
""",
    ),
    Example(
        "rejects_by_reason",
        "数据质量：导入被拒行数及原因",
        "最近导入的台账里，有多少行因为什么原因没能导入？",
        """\
SELECT b.loaded_at AS 导入时间, r.source_file AS 来源文件, r.reason AS 原因,
       count(*) AS 被拒行数,
       min(r.row_number) AS 首个行号
FROM rejects r
LEFT JOIN load_batches b USING (batch_id)
GROUP BY ALL
ORDER BY 导入时间 DESC, 被拒行数 DESC
""",
    ),
]

BY_ID: dict[str, Example] = {e.id: e for e in EXAMPLES}
