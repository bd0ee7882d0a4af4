-- Named queries of the metric layer. Each starts with "-- name: <name>".
-- Parameters are always bound ($as_of, $start, $end, $prior_start, $prior_end,
-- $communities, $categories, $dates, ...); an empty list means "all".

-- name: communities_in_scope
SELECT community, short_name, kind, households, compounds, named_in_article
FROM communities
WHERE len($communities) = 0 OR list_contains($communities, community)
ORDER BY community;

-- name: resolved_by_category
SELECT k.category,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS current,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $prior_start AND $prior_end) AS prior
FROM categories k
LEFT JOIN cases c ON c.category = k.category
     AND (len($communities) = 0 OR list_contains($communities, c.community))
GROUP BY k.category, k.sort_order
ORDER BY k.sort_order;

-- name: resolved_by_category_year
SELECT category, year(resolved_on) AS year, count(*) AS n
FROM cases
WHERE resolved_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

-- name: volunteers_at
WITH d AS (SELECT unnest($dates::DATE[]) AS at)
SELECT d.at, v.role, count(DISTINCT v.person_id) AS n,
       count(DISTINCT v.person_id) FILTER (WHERE v.is_party_member) AS party
FROM d JOIN volunteers v ON v.appointed_on <= d.at AND (v.left_on IS NULL OR v.left_on > d.at)
WHERE len($communities) = 0 OR list_contains($communities, v.community)
GROUP BY GROUPING SETS ((d.at, v.role), (d.at))
ORDER BY ALL;

-- name: compounds_with_heads_at
WITH d AS (SELECT unnest($dates::DATE[]) AS at)
SELECT d.at, count(DISTINCT (v.community, v.compound)) AS n
FROM d JOIN volunteers v ON v.role = '楼长' AND v.compound IS NOT NULL
     AND v.appointed_on <= d.at AND (v.left_on IS NULL OR v.left_on > d.at)
WHERE len($communities) = 0 OR list_contains($communities, v.community)
GROUP BY d.at ORDER BY d.at;

-- name: organizations_at
WITH d AS (SELECT unnest($dates::DATE[]) AS at)
SELECT d.at, o.kind, count(*) AS n, sum(o.members) AS members
FROM d JOIN organizations o ON o.founded_on <= d.at AND (o.dissolved_on IS NULL OR o.dissolved_on > d.at)
WHERE len($communities) = 0 OR list_contains($communities, o.community)
GROUP BY ALL ORDER BY ALL;

-- name: category_summary
WITH c AS (
    SELECT * FROM cases
    WHERE (len($communities) = 0 OR list_contains($communities, community))
)
SELECT k.category, k.label, k.unit, k.sla_days, k.sort_order,
       count(c.case_id) FILTER (WHERE c.reported_on BETWEEN $start AND $end) AS received,
       count(c.case_id) FILTER (WHERE c.reported_on BETWEEN $start AND $end
                                  AND c.resolved_on <= $end) AS received_resolved,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS resolved,
       median(c.resolved_on - c.reported_on) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS median_days,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end
                                  AND c.resolved_on - c.reported_on <= k.sla_days) AS on_time,
       count(c.case_id) FILTER (WHERE c.reported_on <= $end
                                  AND (c.resolved_on IS NULL OR c.resolved_on > $end)) AS open_backlog,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end AND c.outcome IS NOT NULL) AS with_outcome,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end AND c.outcome = '成功') AS success,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end
                                  AND c.followed_up_on <= $end) AS followed_up,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end AND c.followed_up_on <= $end
                                  AND c.satisfaction IS NOT NULL) AS rated,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end AND c.followed_up_on <= $end
                                  AND c.satisfaction IN ('满意', '基本满意')) AS satisfied
FROM categories k LEFT JOIN c ON c.category = k.category
WHERE len($categories) = 0 OR list_contains($categories, k.category)
GROUP BY ALL ORDER BY k.sort_order;

-- name: backlog_ageing
SELECT category,
       CASE WHEN age <= 30 THEN '30天以内' WHEN age <= 90 THEN '31–90天' WHEN age <= 180 THEN '91–180天'
            WHEN age <= 365 THEN '181–365天' ELSE '一年以上' END AS bucket,
       CASE WHEN age <= 30 THEN 1 WHEN age <= 90 THEN 2 WHEN age <= 180 THEN 3
            WHEN age <= 365 THEN 4 ELSE 5 END AS bucket_order,
       count(*) AS n
FROM (SELECT category, $end - reported_on AS age FROM cases
      WHERE reported_on <= $end AND (resolved_on IS NULL OR resolved_on > $end)
        AND (len($communities) = 0 OR list_contains($communities, community))
        AND (len($categories) = 0 OR list_contains($categories, category)))
GROUP BY ALL ORDER BY bucket_order, category;

-- name: cases_by_year
SELECT year(reported_on) AS year, category, count(*) AS received,
       count(*) FILTER (WHERE resolved_on <= $end) AS resolved
FROM cases
WHERE reported_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
  AND (len($categories) = 0 OR list_contains($categories, category))
GROUP BY ALL ORDER BY ALL;

-- name: cases_by_month
SELECT date_trunc('month', reported_on)::DATE AS month, count(*) AS received,
       count(*) FILTER (WHERE resolved_on <= $end) AS resolved
FROM cases
WHERE reported_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
  AND (len($categories) = 0 OR list_contains($categories, category))
GROUP BY ALL ORDER BY ALL;

-- name: community_cases
SELECT m.community, m.short_name, m.households,
       count(c.case_id) FILTER (WHERE c.reported_on BETWEEN $start AND $end) AS received,
       count(c.case_id) FILTER (WHERE c.reported_on BETWEEN $start AND $end AND c.resolved_on <= $end) AS received_resolved,
       count(c.case_id) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS resolved,
       median(c.resolved_on - c.reported_on) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS median_days,
       count(c.case_id) FILTER (WHERE c.reported_on <= $end
                                  AND (c.resolved_on IS NULL OR c.resolved_on > $end)) AS open_backlog
FROM communities m
LEFT JOIN cases c ON c.community = m.community
     AND (len($categories) = 0 OR list_contains($categories, c.category))
WHERE len($communities) = 0 OR list_contains($communities, m.community)
GROUP BY ALL ORDER BY received DESC, m.community;

-- name: community_category_matrix
SELECT c.community, c.category, count(*) AS received
FROM cases c
WHERE c.reported_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, c.community))
  AND (len($categories) = 0 OR list_contains($categories, c.category))
GROUP BY ALL ORDER BY ALL;

-- name: compound_cases
SELECT coalesce(c.compound, '（未填小区）') AS compound,
       count(*) FILTER (WHERE c.reported_on BETWEEN $start AND $end) AS received,
       count(*) FILTER (WHERE c.resolved_on BETWEEN $start AND $end) AS resolved,
       count(*) FILTER (WHERE c.reported_on <= $end AND (c.resolved_on IS NULL OR c.resolved_on > $end)) AS open_backlog,
       any_value(k.households) AS households
FROM cases c LEFT JOIN compounds k ON k.community = c.community AND k.compound = c.compound
WHERE c.community = $community
  AND (len($categories) = 0 OR list_contains($categories, c.category))
GROUP BY ALL HAVING received > 0 OR open_backlog > 0
ORDER BY received DESC, compound;

-- name: case_list
SELECT case_id, compound, category, reported_on, resolved_on,
       CASE WHEN resolved_on IS NULL OR resolved_on > $end THEN '办理中' ELSE '已办结' END AS status,
       handled_by, outcome, followed_up_on, satisfaction, description, source_file, source_row
FROM cases
WHERE community = $community
  AND ($compound IS NULL OR compound = $compound)
  AND reported_on <= $end
  AND (reported_on >= $start OR resolved_on IS NULL OR resolved_on >= $start)
  AND (len($categories) = 0 OR list_contains($categories, category))
ORDER BY reported_on DESC, case_id
LIMIT 2000;

-- name: repeat_cases
WITH c AS (
    SELECT category, reported_on,
           lag(reported_on) OVER (PARTITION BY community, compound, category ORDER BY reported_on, case_id) AS prev
    FROM cases
    WHERE compound IS NOT NULL AND reported_on <= $end
      AND (len($communities) = 0 OR list_contains($communities, community))
      AND (len($categories) = 0 OR list_contains($categories, category))
)
SELECT category, count(*) FILTER (WHERE reported_on >= $start) AS received,
       count(*) FILTER (WHERE reported_on >= $start AND reported_on - prev <= 90) AS repeats
FROM c GROUP BY category;

-- name: volunteers_by_community
SELECT m.community, m.short_name, m.households, v.role, count(DISTINCT v.person_id) AS n,
       count(DISTINCT v.person_id) FILTER (WHERE v.is_party_member) AS party
FROM communities m
JOIN volunteers v ON v.community = m.community
     AND v.appointed_on <= $end AND (v.left_on IS NULL OR v.left_on > $end)
WHERE len($communities) = 0 OR list_contains($communities, m.community)
GROUP BY ALL ORDER BY ALL;

-- name: volunteer_flows
WITH f AS (
    SELECT role, year(appointed_on) AS year, 1 AS appointed, 0 AS departed FROM volunteers
    WHERE appointed_on BETWEEN $start AND $end
      AND (len($communities) = 0 OR list_contains($communities, community))
    UNION ALL
    SELECT role, year(left_on), 0, 1 FROM volunteers
    WHERE left_on BETWEEN $start AND $end
      AND (len($communities) = 0 OR list_contains($communities, community))
)
SELECT year, role, sum(appointed)::INTEGER AS appointed, sum(departed)::INTEGER AS departed
FROM f GROUP BY ALL ORDER BY ALL;

-- name: coverage
WITH heads AS (
    SELECT community, compound, count(DISTINCT person_id) AS heads FROM volunteers
    WHERE role = '楼长' AND appointed_on <= $end AND (left_on IS NULL OR left_on > $end)
    GROUP BY ALL
)
SELECT k.community, k.compound, k.households, k.buildings, coalesce(h.heads, 0) AS heads
FROM compounds k LEFT JOIN heads h USING (community, compound)
WHERE k.kind = '小区'
  AND (len($communities) = 0 OR list_contains($communities, k.community))
ORDER BY k.community, k.compound;

-- name: organizations_by_community
SELECT o.community, o.kind, count(*) AS n
FROM organizations o
WHERE o.founded_on <= $end AND (o.dissolved_on IS NULL OR o.dissolved_on > $end)
  AND (len($communities) = 0 OR list_contains($communities, o.community))
GROUP BY ALL ORDER BY ALL;

-- name: organization_flows
WITH f AS (
    SELECT kind, year(founded_on) AS year, 1 AS founded, 0 AS dissolved FROM organizations
    WHERE founded_on <= $end AND (len($communities) = 0 OR list_contains($communities, community))
    UNION ALL
    SELECT kind, year(dissolved_on), 0, 1 FROM organizations
    WHERE dissolved_on <= $end AND (len($communities) = 0 OR list_contains($communities, community))
)
SELECT year, kind, sum(founded)::INTEGER AS founded, sum(dissolved)::INTEGER AS dissolved
FROM f GROUP BY ALL ORDER BY ALL;

-- name: micro_projects_by_year
SELECT year(applied_on) AS year, count(*) AS applications,
       count(*) FILTER (WHERE is_funded) AS funded,
       coalesce(sum(amount_yuan) FILTER (WHERE is_funded), 0)::DOUBLE AS funds_yuan,
       count(*) FILTER (WHERE is_funded AND completed_on <= $end) AS completed
FROM micro_projects
WHERE applied_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

-- name: micro_projects_by_round
SELECT coalesce(review_round, '（未填批次）') AS review_round, min(applied_on) AS first_applied,
       count(*) AS applications, count(*) FILTER (WHERE is_funded) AS funded,
       coalesce(sum(amount_yuan) FILTER (WHERE is_funded), 0)::DOUBLE AS funds_yuan,
       avg(score) AS avg_score
FROM micro_projects
WHERE applied_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY first_applied;

-- name: micro_projects_by_community
SELECT community, count(*) AS applications, count(*) FILTER (WHERE is_funded) AS funded,
       coalesce(sum(amount_yuan) FILTER (WHERE is_funded), 0)::DOUBLE AS funds_yuan,
       count(*) FILTER (WHERE is_funded AND completed_on <= $end) AS completed
FROM micro_projects
WHERE applied_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY funds_yuan DESC, community;

-- name: activities_by_year
SELECT year(held_on) AS year, kind, count(*) AS activities, coalesce(sum(participants), 0)::BIGINT AS participants
FROM activities
WHERE held_on BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

-- name: community_profile
WITH c AS (
    SELECT community,
           count(*) FILTER (WHERE reported_on BETWEEN $start AND $end) AS received,
           count(*) FILTER (WHERE reported_on BETWEEN $start AND $end AND resolved_on <= $end) AS received_resolved,
           median(resolved_on - reported_on) FILTER (WHERE resolved_on BETWEEN $start AND $end) AS median_days
    FROM cases GROUP BY community
), v AS (
    SELECT community, count(DISTINCT person_id) AS volunteers FROM volunteers
    WHERE appointed_on <= $end AND (left_on IS NULL OR left_on > $end) GROUP BY community
), o AS (
    SELECT community, count(*) AS organizations FROM organizations
    WHERE founded_on <= $end AND (dissolved_on IS NULL OR dissolved_on > $end) GROUP BY community
), a AS (
    SELECT community, count(*) AS activities, sum(participants) AS participants FROM activities
    WHERE held_on BETWEEN $start AND $end GROUP BY community
)
SELECT m.community, m.short_name, m.households, m.compounds,
       coalesce(c.received, 0) AS received, coalesce(c.received_resolved, 0) AS received_resolved,
       c.median_days, coalesce(v.volunteers, 0) AS volunteers, coalesce(o.organizations, 0) AS organizations,
       coalesce(a.activities, 0) AS activities, coalesce(a.participants, 0) AS participants
FROM communities m
LEFT JOIN c USING (community) LEFT JOIN v USING (community)
LEFT JOIN o USING (community) LEFT JOIN a USING (community)
ORDER BY m.community;

-- name: milestones
SELECT happened_on, precision, title, detail FROM milestones ORDER BY happened_on;

-- name: mobilisation_2020
SELECT item, figure, unit FROM mobilisation_2020 ORDER BY sort_order;

-- name: load_batches
SELECT batch_id, source_file, loaded_at, status, ledger_kinds, rows_read, rows_new, rows_changed,
       rows_unchanged, rows_removed, rows_rejected, message
FROM load_batches ORDER BY batch_id DESC;

-- name: rejects_by_file
SELECT source_file, count(*) AS rejects, count(*) FILTER (WHERE row_number IS NULL) AS file_errors,
       min(reason) AS example
FROM rejects GROUP BY source_file ORDER BY rejects DESC, source_file;

-- name: reject_rows
SELECT source_file, sheet, row_number, ledger_kind, reason FROM rejects
WHERE $file IS NULL OR source_file = $file
ORDER BY source_file, sheet NULLS FIRST, row_number NULLS FIRST;

-- name: freshness
WITH latest AS (
    SELECT community, 'cases' AS ledger, max(reported_on) AS latest FROM cases GROUP BY community
    UNION ALL SELECT community, 'volunteers', max(greatest(appointed_on, coalesce(left_on, appointed_on))) FROM volunteers GROUP BY community
    UNION ALL SELECT community, 'organizations', max(founded_on) FROM organizations GROUP BY community
    UNION ALL SELECT community, 'activities', max(held_on) FROM activities GROUP BY community
    UNION ALL SELECT community, 'micro_projects', max(applied_on) FROM micro_projects GROUP BY community
)
SELECT m.community,
       max(latest) FILTER (WHERE ledger = 'cases') AS cases_latest,
       max(latest) FILTER (WHERE ledger = 'activities') AS activities_latest,
       max(latest) AS any_latest
FROM communities m LEFT JOIN latest l USING (community)
GROUP BY m.community ORDER BY cases_latest NULLS FIRST, m.community;

-- name: new_compounds
SELECT community, compound FROM compounds WHERE NOT is_known ORDER BY community, compound;

-- name: db_meta
SELECT key, value FROM meta;

-- name: overdue_submissions
-- Communities whose submitted ledgers of one kind do not reach the due month (submissions view).
WITH latest AS (
    SELECT community, max(month_to) AS latest_month, max(loaded_at) AS last_loaded_at,
           arg_max(source_file, loaded_at) AS last_file, count(*) AS submissions
    FROM submissions WHERE ledger_kind = $kind GROUP BY community
)
SELECT m.community, l.latest_month, strftime(l.latest_month, '%Y-%m') AS latest_label,
       CASE WHEN l.latest_month IS NOT NULL THEN datediff('month', l.latest_month, $due::DATE) END AS months_behind,
       l.last_loaded_at, strftime(l.last_loaded_at, '%Y-%m-%d %H:%M') AS last_loaded_label, l.last_file,
       coalesce(l.submissions, 0) AS submissions
FROM communities m LEFT JOIN latest l USING (community)
WHERE (l.latest_month IS NULL OR l.latest_month < $due::DATE)
  AND (len($communities) = 0 OR list_contains($communities, m.community))
ORDER BY l.latest_month NULLS FIRST, m.community;

-- name: headline_facts
-- Everything headline() needs in one round trip (the same counts as resolved_by_category,
-- resolved_by_category_year, volunteers_at, organizations_at, compounds_with_heads_at and
-- communities_in_scope): part, key, at (stock date), year, n, n_prior.
WITH d AS (SELECT unnest($dates::DATE[]) AS at),
c AS (SELECT category, resolved_on FROM cases
      WHERE resolved_on BETWEEN least($start, $prior_start) AND greatest($end, $prior_end)
        AND (len($communities) = 0 OR list_contains($communities, community))),
v AS (SELECT person_id, role, community, compound, appointed_on, left_on FROM volunteers
      WHERE len($communities) = 0 OR list_contains($communities, community)),
o AS (SELECT kind, founded_on, dissolved_on FROM organizations
      WHERE len($communities) = 0 OR list_contains($communities, community))
SELECT 'resolved' AS part, category AS key, NULL::DATE AS at, NULL::INTEGER AS year,
       count(*) FILTER (WHERE resolved_on BETWEEN $start AND $end) AS n,
       count(*) FILTER (WHERE resolved_on BETWEEN $prior_start AND $prior_end) AS n_prior
FROM c GROUP BY category
UNION ALL
SELECT 'resolved_year', category, NULL, year(resolved_on), count(*), NULL
FROM c WHERE resolved_on BETWEEN $start AND $end GROUP BY category, year(resolved_on)
UNION ALL
SELECT 'volunteers', role, d.at, NULL, count(DISTINCT v.person_id), NULL
FROM d JOIN v ON v.appointed_on <= d.at AND (v.left_on IS NULL OR v.left_on > d.at)
GROUP BY GROUPING SETS ((d.at, v.role), (d.at))
UNION ALL
SELECT 'organizations', o.kind, d.at, NULL, count(*), NULL
FROM d JOIN o ON o.founded_on <= d.at AND (o.dissolved_on IS NULL OR o.dissolved_on > d.at)
GROUP BY d.at, o.kind
UNION ALL
SELECT 'heads', NULL, d.at, NULL, count(DISTINCT (v.community, v.compound)), NULL
FROM d JOIN v ON v.role = '楼长' AND v.compound IS NOT NULL
     AND v.appointed_on <= d.at AND (v.left_on IS NULL OR v.left_on > d.at)
GROUP BY d.at
UNION ALL
SELECT 'communities', NULL, NULL, NULL, count(*), NULL
FROM communities WHERE len($communities) = 0 OR list_contains($communities, community);
