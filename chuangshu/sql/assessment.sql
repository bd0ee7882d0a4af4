-- Named queries of the 考核 (assessment) layer: chuangshu/assessment.py, docs/assessment.md.
-- The league table and the warnings read the marts (etl/sql/marts.sql); only the rows behind a
-- figure (the *_rows queries, one community at a time, at most 2,000 rows) read the record views.
-- tests/test_marts.py checks the mart queries against detail-view originals
-- (tests/fixtures/detail_metrics.sql).

-- name: assessment_base
-- Per community and 考核 span (pid: the position in $starts/$ends; every span starts on the first of
-- a month and ends on a month's last day, except the current one, which ends on $last): the counts
-- every 考核 metric is a ratio of. Case counts come through the case_*_rows macros (whole months from
-- the monthly marts, only $last's month day by day); stocks are read at each span's end.
WITH p AS (
    SELECT unnest(range(len($starts::DATE[]))) AS pid, unnest($starts::DATE[]) AS s, unnest($ends::DATE[]) AS e
), rep AS (
    SELECT p.pid, r.community, sum(r.received) AS received, sum(r.with_compound) AS with_compound,
           sum(r.repeats) AS repeats
    FROM p JOIN case_reported_rows($last, $last) r ON r.day BETWEEN p.s AND p.e
    GROUP BY ALL
), res AS (
    SELECT p.pid, r.community,
           sum(r.resolved) FILTER (WHERE r.reported_month >= p.s) AS received_resolved,
           sum(r.resolved) FILTER (WHERE r.day >= p.s) AS resolved,
           sum(r.on_time) FILTER (WHERE r.day >= p.s) AS on_time
    FROM p JOIN case_resolved_rows($last, $last) r ON r.day <= p.e AND (r.day >= p.s OR r.reported_month >= p.s)
    GROUP BY ALL
), fu AS (
    SELECT p.pid, r.community, sum(r.followed_up) AS followed_up, sum(r.rated) AS rated,
           sum(r.satisfied) AS satisfied
    FROM p JOIN case_followup_rows($last, $last) r ON r.day <= p.e AND r.resolved_month >= p.s
    GROUP BY ALL
), op AS (
    SELECT p.pid, o.community, sum(o.n) AS open_end,
           sum(o.n) FILTER (WHERE p.e - o.reported_on > k.sla_days) AS open_overdue
    FROM p JOIN agg_case_open o ON o.reported_on <= p.e AND o.open_until > p.e
    LEFT JOIN categories k ON k.category = o.category
    GROUP BY ALL
), hd AS (
    SELECT p.pid, h.community, count(*) FILTER (WHERE h.heads > 0) AS compounds_with_heads,
           sum(h.heads) FILTER (WHERE h.heads > 0 AND k.households > 0) AS heads_hh,
           sum(k.households) FILTER (WHERE h.heads > 0 AND k.households > 0) AS households_hh
    FROM p JOIN agg_building_heads h ON h.day <= p.e AND p.e < h.valid_to
    JOIN compounds k ON k.community = h.community AND k.compound = h.compound AND k.kind = '小区'
    GROUP BY ALL
), og AS (
    SELECT p.pid, o.community, sum(o.active) AS organizations
    FROM p JOIN agg_organization_stock o ON o.day <= p.e AND p.e < o.valid_to
    WHERE o.kind <> '楼道微信群'
    GROUP BY ALL
), ac AS (
    SELECT p.pid, a.community, sum(a.participants) AS participants
    FROM p JOIN agg_activities a ON a.day BETWEEN p.s AND p.e
    GROUP BY ALL
)
SELECT p.pid, m.community, m.households, m.compounds,
       coalesce(rep.received, 0)::BIGINT AS received,
       coalesce(res.received_resolved, 0)::BIGINT AS received_resolved,
       coalesce(res.resolved, 0)::BIGINT AS resolved, coalesce(res.on_time, 0)::BIGINT AS on_time,
       coalesce(fu.followed_up, 0)::BIGINT AS followed_up, coalesce(fu.rated, 0)::BIGINT AS rated,
       coalesce(fu.satisfied, 0)::BIGINT AS satisfied,
       coalesce(rep.with_compound, 0)::BIGINT AS with_compound, coalesce(rep.repeats, 0)::BIGINT AS repeats,
       coalesce(op.open_end, 0)::BIGINT AS open_end, coalesce(op.open_overdue, 0)::BIGINT AS open_overdue,
       coalesce(hd.compounds_with_heads, 0)::BIGINT AS compounds_with_heads,
       coalesce(hd.heads_hh, 0)::BIGINT AS heads_hh, coalesce(hd.households_hh, 0)::BIGINT AS households_hh,
       coalesce(og.organizations, 0)::BIGINT AS organizations,
       coalesce(ac.participants, 0)::BIGINT AS participants
FROM p CROSS JOIN communities m
LEFT JOIN rep ON rep.pid = p.pid AND rep.community = m.community
LEFT JOIN res ON res.pid = p.pid AND res.community = m.community
LEFT JOIN fu ON fu.pid = p.pid AND fu.community = m.community
LEFT JOIN op ON op.pid = p.pid AND op.community = m.community
LEFT JOIN hd ON hd.pid = p.pid AND hd.community = m.community
LEFT JOIN og ON og.pid = p.pid AND og.community = m.community
LEFT JOIN ac ON ac.pid = p.pid AND ac.community = m.community
ORDER BY p.pid, m.community;

-- name: assessment_reference
-- The 考核 reference tables in one round trip: part, key, and the columns each part uses.
SELECT 'setting' AS part, setting AS key, value AS text, NULL::DOUBLE AS number, NULL::DOUBLE AS number2,
       NULL::INTEGER AS sort_order, note
FROM assessment_settings
UNION ALL
SELECT 'metric', metric, dimension, weight, min_base, sort_order, note FROM assessment_metrics
UNION ALL
SELECT 'peer_group', peer_group, label, households_from, households_to, sort_order, NULL FROM peer_groups
ORDER BY part, sort_order, key;

-- name: has_submissions
-- The published database has the load records; a community account's private copy does not.
SELECT count(*) > 0 FROM duckdb_views() WHERE view_name = 'submissions' AND NOT temporary;

-- name: assessment_short_names
SELECT community, short_name FROM communities ORDER BY community;

-- name: assessment_communities
SELECT community FROM communities ORDER BY community;

-- name: assessment_households
SELECT households FROM communities WHERE community = $community;

-- name: assessment_targets
SELECT metric, scope_kind, scope, period, target, direction, source, note FROM targets
ORDER BY metric, scope_kind, scope NULLS FIRST, period;

-- name: alert_rules
SELECT rule, title, threshold, unit, window_days, min_base, applies_to, enabled, sort_order, note
FROM alert_rules ORDER BY sort_order, rule;

-- name: ledger_latest
-- The latest month each community's submitted ledgers of the monthly kinds reach (submissions: office only).
SELECT community, ledger_kind, max(month_to) AS latest_month, arg_max(source_file, loaded_at) AS last_file
FROM submissions WHERE list_contains($kinds, ledger_kind)
GROUP BY ALL ORDER BY ALL;

-- name: alert_overdue_open
-- 超时未办结: per community, the cases open at $end whose age exceeds their category's sla_days by more
-- than $slack days; the oldest first.
SELECT o.community, sum(o.n)::BIGINT AS cases, max($end::DATE - o.reported_on) AS oldest_days,
       arg_max(k.label, ($end::DATE - o.reported_on) * 100 - k.sort_order) AS oldest_label,
       arg_max(k.sla_days, ($end::DATE - o.reported_on) * 100 - k.sort_order) AS oldest_sla
FROM agg_case_open o JOIN categories k ON k.category = o.category
WHERE o.reported_on <= $end AND o.open_until > $end AND $end::DATE - o.reported_on > k.sla_days + $slack
  AND (len($communities) = 0 OR list_contains($communities, o.community))
GROUP BY o.community ORDER BY oldest_days DESC, o.community;

-- name: alert_repeat_hotspots
-- 重复报事热点: compounds with $n or more cases of one category reported in the $window days up to $end.
SELECT a.community, a.compound, a.category, k.label, sum(a.received)::BIGINT AS cases,
       min(a.day) FILTER (WHERE a.received > 0) AS first_day, max(a.day) FILTER (WHERE a.received > 0) AS last_day
FROM agg_case_compound a LEFT JOIN categories k ON k.category = a.category
WHERE a.compound IS NOT NULL AND a.day BETWEEN $end::DATE - ($window - 1)::INTEGER AND $end
  AND (len($communities) = 0 OR list_contains($communities, a.community))
GROUP BY a.community, a.compound, a.category, k.label, k.sort_order
HAVING sum(a.received) >= $n
ORDER BY cases DESC, a.community, a.compound, k.sort_order;

-- name: alert_head_vacancies
-- 楼长空缺: compounds that had a serving 楼长 and have none at $end, vacant for at least $days days.
SELECT h.community, h.compound, h.day AS vacant_since, ($end::DATE - h.day)::INTEGER AS days
FROM agg_building_heads h
WHERE h.heads = 0 AND h.day <= $end AND $end < h.valid_to AND $end::DATE - h.day >= $days
  AND (len($communities) = 0 OR list_contains($communities, h.community))
ORDER BY days DESC, h.community, h.compound;

-- name: assessment_case_rows
-- The cases behind one community's (or, with $community NULL, every community's) case metric in one
-- span: the metric's denominator, with `counted` marking its numerator; the rows that pull the figure
-- down first. A repeat is a case with an earlier one of the same compound and category at most 90
-- days before (same day included), as agg_case_reported counts them.
WITH c AS (
    SELECT c.*, k.label, k.sla_days, k.sort_order,
           lag(c.reported_on) OVER (PARTITION BY c.community, c.compound, c.category
                                    ORDER BY c.reported_on, c.case_id) AS previous_on
    FROM cases c LEFT JOIN categories k ON k.category = c.category
    WHERE $community IS NULL OR c.community = $community
), picked AS (
    SELECT *,
           CASE $metric
               WHEN 'resolution_rate' THEN resolved_on IS NOT NULL AND resolved_on <= $end
               WHEN 'on_time_rate' THEN resolved_on - reported_on <= sla_days
               WHEN 'follow_up_rate' THEN followed_up_on IS NOT NULL AND followed_up_on <= $end
               WHEN 'satisfaction_rate' THEN satisfaction IN ('满意', '基本满意')
               WHEN 'repeat_rate' THEN previous_on IS NOT NULL AND reported_on - previous_on <= 90
               WHEN 'overdue_open_rate' THEN $end::DATE - reported_on > sla_days
           END AS counted
    FROM c
    WHERE CASE $metric
              WHEN 'resolution_rate' THEN reported_on BETWEEN $start AND $end
              WHEN 'on_time_rate' THEN resolved_on BETWEEN $start AND $end
              WHEN 'follow_up_rate' THEN resolved_on BETWEEN $start AND $end
              WHEN 'satisfaction_rate' THEN resolved_on BETWEEN $start AND $end AND followed_up_on <= $end
                                            AND satisfaction IS NOT NULL
              WHEN 'repeat_rate' THEN reported_on BETWEEN $start AND $end AND compound IS NOT NULL
              WHEN 'overdue_open_rate' THEN reported_on <= $end AND (resolved_on IS NULL OR resolved_on > $end)
              ELSE FALSE
          END
)
SELECT case_id, community, compound, label, reported_on,
       CASE WHEN resolved_on <= $end THEN resolved_on END AS resolved_on,
       CASE WHEN resolved_on IS NULL OR resolved_on > $end THEN '办理中' ELSE '已办结' END AS status,
       (coalesce(CASE WHEN resolved_on <= $end THEN resolved_on END, $end::DATE) - reported_on)::INTEGER AS days,
       sla_days, CASE WHEN followed_up_on <= $end THEN followed_up_on END AS followed_up_on,
       CASE WHEN followed_up_on <= $end THEN satisfaction END AS satisfaction,
       CASE WHEN counted THEN '是' ELSE '否' END AS counted,
       source_file, source_sheet, source_row
FROM picked
ORDER BY (counted IS TRUE) = list_contains(['repeat_rate', 'overdue_open_rate'], $metric) DESC,
         reported_on, community, case_id
LIMIT 2000;

-- name: assessment_head_rows
-- The 楼长 serving at $end in one community (every community with $community NULL), by compound.
SELECT v.community, v.compound, v.building, v.name_masked, v.appointed_on, v.is_party_member,
       v.source_file, v.source_sheet, v.source_row
FROM volunteers v
WHERE v.role = '楼长' AND v.appointed_on <= $end AND (v.left_on IS NULL OR v.left_on > $end)
  AND ($community IS NULL OR v.community = $community)
ORDER BY v.community, v.compound, v.building, v.appointed_on
LIMIT 2000;

-- name: assessment_uncovered
-- The compounds (小区) of the reference list without a serving 楼长 at $end.
SELECT k.community, k.compound, k.households
FROM compounds k
LEFT JOIN agg_building_heads h ON h.community = k.community AND h.compound = k.compound
     AND h.day <= $end AND $end < h.valid_to
WHERE k.kind = '小区' AND coalesce(h.heads, 0) = 0 AND ($community IS NULL OR k.community = $community)
ORDER BY k.community, k.compound;

-- name: assessment_org_rows
SELECT community, name, kind, compound, founded_on, members, source_file, source_sheet, source_row
FROM organizations
WHERE kind <> '楼道微信群' AND founded_on <= $end AND (dissolved_on IS NULL OR dissolved_on > $end)
  AND ($community IS NULL OR community = $community)
ORDER BY community, kind, founded_on, name
LIMIT 2000;

-- name: assessment_activity_rows
SELECT community, name, kind, held_on, participants, organizer, source_file, source_sheet, source_row
FROM activities
WHERE held_on BETWEEN $start AND $end AND ($community IS NULL OR community = $community)
ORDER BY held_on DESC, community, name
LIMIT 2000;

-- name: assessment_ledger_rows
SELECT community, ledger_kind, month_from, month_to, rows, loaded_at, source_file
FROM submissions
WHERE list_contains($kinds, ledger_kind) AND ($community IS NULL OR community = $community)
ORDER BY community, ledger_kind, month_to DESC, loaded_at DESC
LIMIT 2000;

-- name: alert_overdue_rows
-- The open cases behind one community's 超时未办结 warning, the oldest first.
SELECT c.case_id, c.community, c.compound, k.label, c.reported_on, ($end::DATE - c.reported_on)::INTEGER AS days,
       k.sla_days, c.handled_by, c.description, c.source_file, c.source_sheet, c.source_row
FROM cases c JOIN categories k ON k.category = c.category
WHERE c.community = $community AND c.reported_on <= $end AND (c.resolved_on IS NULL OR c.resolved_on > $end)
  AND $end::DATE - c.reported_on > k.sla_days + $slack
ORDER BY c.reported_on, c.case_id
LIMIT 2000;

-- name: alert_hotspot_rows
SELECT c.case_id, c.community, c.compound, k.label, c.reported_on, c.resolved_on, c.description,
       c.source_file, c.source_sheet, c.source_row
FROM cases c LEFT JOIN categories k ON k.category = c.category
WHERE c.community = $community AND c.compound = $compound AND c.category = $category
  AND c.reported_on BETWEEN $end::DATE - ($window - 1)::INTEGER AND $end
ORDER BY c.reported_on DESC, c.case_id
LIMIT 2000;

-- name: alert_vacancy_rows
-- Every 楼长 record of one compound, the latest departure first (who left, and when).
SELECT v.community, v.compound, v.building, v.name_masked, v.appointed_on, v.left_on,
       v.source_file, v.source_sheet, v.source_row
FROM volunteers v
WHERE v.role = '楼长' AND v.community = $community AND v.compound = $compound AND v.appointed_on <= $end
ORDER BY v.left_on DESC NULLS FIRST, v.appointed_on DESC
LIMIT 2000;
