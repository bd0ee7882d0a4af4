-- Named queries of the metric layer. Each starts with "-- name: <name>".
-- Parameters are always bound ($as_of, $start, $end, $prior_start, $prior_end,
-- $communities, $categories, $dates, ...); an empty list means "all".

-- name: volunteers_at
-- 在任三长 at each of $dates by role (role NULL = everyone; a person counts once): one-community
-- people from the running totals of agg_volunteer_stock, people of several communities counted
-- from their records (agg_volunteer_multi).
WITH d AS (SELECT unnest($dates::DATE[]) AS snap),
single AS (
    SELECT d.snap, s.role, sum(s.people) FILTER (WHERE NOT s.party) AS n, sum(s.people) FILTER (WHERE s.party) AS party
    FROM d JOIN agg_volunteer_stock s ON s.day <= d.snap AND d.snap < s.valid_to
    WHERE len($communities) = 0 OR list_contains($communities, s.community)
    GROUP BY d.snap, s.role
),
multi AS (
    SELECT d.snap, coalesce(m.role, '*') AS role, count(DISTINCT m.person_id) AS n,
           count(DISTINCT m.person_id) FILTER (WHERE m.is_party_member) AS party
    FROM d JOIN agg_volunteer_multi m ON m.appointed_on <= d.snap AND (m.left_on IS NULL OR m.left_on > d.snap)
    WHERE len($communities) = 0 OR list_contains($communities, m.community)
    GROUP BY GROUPING SETS ((d.snap, m.role), (d.snap))
)
SELECT snap AS at, nullif(role, '*') AS role, (coalesce(s.n, 0) + coalesce(m.n, 0))::BIGINT AS n,
       (coalesce(s.party, 0) + coalesce(m.party, 0))::BIGINT AS party
FROM single s FULL JOIN multi m USING (snap, role)
WHERE coalesce(s.n, 0) + coalesce(m.n, 0) > 0
ORDER BY "at", role NULLS LAST;

-- name: category_summary
-- Per category, from the marts (etl/sql/marts.sql): received, reported-and-resolved, resolved,
-- median days (histogram), on time, open at the end (reported minus resolved by then), outcome
-- and follow-up counts.
WITH rep AS (
    SELECT category, sum(received) FILTER (WHERE day >= $start) AS received, sum(received) AS to_end
    FROM case_reported_rows($end, $end)
    WHERE day <= $end AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY category
), res AS (
    SELECT category, sum(resolved) FILTER (WHERE reported_month >= $start) AS received_resolved,
           sum(resolved) FILTER (WHERE day >= $start) AS resolved,
           sum(on_time) FILTER (WHERE day >= $start) AS on_time,
           sum(with_outcome) FILTER (WHERE day >= $start) AS with_outcome,
           sum(success) FILTER (WHERE day >= $start) AS success,
           sum(resolved) AS to_end
    FROM case_resolved_rows($end, $end)
    WHERE day <= $end AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY category
), fu AS (
    SELECT category, sum(followed_up) AS followed_up, sum(rated) AS rated, sum(satisfied) AS satisfied
    FROM case_followup_rows($end, $end)
    WHERE day <= $end AND resolved_year >= year($start)
      AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY category
), hist AS (
    SELECT category, days, sum(n) AS n FROM case_duration_rows($end, $end)
    WHERE day BETWEEN $start AND $end AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY category, days
), cum AS (
    SELECT category, days, sum(n) OVER (PARTITION BY category ORDER BY days) AS upto,
           sum(n) OVER (PARTITION BY category) AS total
    FROM hist
), med AS (
    SELECT category, (min(days) FILTER (WHERE upto >= (total + 1) // 2)
                      + min(days) FILTER (WHERE upto >= total // 2 + 1)) / 2.0 AS median_days
    FROM cum GROUP BY category
)
SELECT k.category, k.label, k.unit, k.sla_days, k.sort_order,
       coalesce(rep.received, 0)::BIGINT AS received,
       coalesce(res.received_resolved, 0)::BIGINT AS received_resolved,
       coalesce(res.resolved, 0)::BIGINT AS resolved,
       med.median_days,
       coalesce(res.on_time, 0)::BIGINT AS on_time,
       (coalesce(rep.to_end, 0) - coalesce(res.to_end, 0))::BIGINT AS open_backlog,
       coalesce(res.with_outcome, 0)::BIGINT AS with_outcome,
       coalesce(res.success, 0)::BIGINT AS success,
       coalesce(fu.followed_up, 0)::BIGINT AS followed_up,
       coalesce(fu.rated, 0)::BIGINT AS rated,
       coalesce(fu.satisfied, 0)::BIGINT AS satisfied
FROM categories k
LEFT JOIN rep USING (category) LEFT JOIN res USING (category)
LEFT JOIN fu USING (category) LEFT JOIN med USING (category)
WHERE len($categories) = 0 OR list_contains($categories, k.category)
ORDER BY k.sort_order;

-- name: backlog_ageing
SELECT o.category, k.label,
       CASE WHEN age <= 30 THEN '30天以内' WHEN age <= 90 THEN '31–90天' WHEN age <= 180 THEN '91–180天'
            WHEN age <= 365 THEN '181–365天' ELSE '一年以上' END AS bucket,
       CASE WHEN age <= 30 THEN 1 WHEN age <= 90 THEN 2 WHEN age <= 180 THEN 3
            WHEN age <= 365 THEN 4 ELSE 5 END AS bucket_order,
       sum(n)::BIGINT AS n
FROM (SELECT category, $end - reported_on AS age, n FROM agg_case_open
      WHERE open_until > $end AND reported_on <= $end
        AND (len($communities) = 0 OR list_contains($communities, community))
        AND (len($categories) = 0 OR list_contains($categories, category))) o
LEFT JOIN categories k USING (category)
GROUP BY o.category, k.label, k.sort_order, bucket, bucket_order ORDER BY bucket_order, k.sort_order;

-- name: cases_by_year
WITH rep AS (
    SELECT year(day) AS year, category, sum(received) AS received FROM case_reported_rows($end, $end)
    WHERE day BETWEEN $start AND $end
      AND (len($communities) = 0 OR list_contains($communities, community))
      AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY ALL
), res AS (
    SELECT year(reported_month) AS year, category, sum(resolved) AS resolved FROM case_resolved_rows($end, $end)
    WHERE day <= $end AND reported_month >= $start
      AND (len($communities) = 0 OR list_contains($communities, community))
      AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY ALL
)
SELECT year, category, k.label, k.sort_order, received::BIGINT AS received, coalesce(resolved, 0)::BIGINT AS resolved
FROM rep LEFT JOIN res USING (year, category) LEFT JOIN categories k USING (category)
ORDER BY year, k.sort_order, category;

-- name: cases_by_month
WITH rep AS (
    SELECT date_trunc('month', day)::DATE AS month, sum(received) AS received FROM case_reported_rows($end, $end)
    WHERE day BETWEEN $start AND $end
      AND (len($communities) = 0 OR list_contains($communities, community))
      AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY ALL
), res AS (
    SELECT reported_month AS month, sum(resolved) AS resolved FROM case_resolved_rows($end, $end)
    WHERE day <= $end AND reported_month >= $start
      AND (len($communities) = 0 OR list_contains($communities, community))
      AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY ALL
)
SELECT month, received::BIGINT AS received, coalesce(resolved, 0)::BIGINT AS resolved
FROM rep LEFT JOIN res USING (month) ORDER BY ALL;

-- name: community_cases
WITH rep AS (
    SELECT community, sum(received) FILTER (WHERE day >= $start) AS received, sum(received) AS to_end
    FROM case_reported_rows($end, $end)
    WHERE day <= $end AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community
), res AS (
    SELECT community, sum(resolved) FILTER (WHERE reported_month >= $start) AS received_resolved,
           sum(resolved) FILTER (WHERE day >= $start) AS resolved, sum(resolved) AS to_end
    FROM case_resolved_rows($end, $end)
    WHERE day <= $end AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community
), hist AS (
    SELECT community, days, sum(n) AS n FROM case_duration_rows($end, $end)
    WHERE day BETWEEN $start AND $end AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community, days
), cum AS (
    SELECT community, days, sum(n) OVER (PARTITION BY community ORDER BY days) AS upto,
           sum(n) OVER (PARTITION BY community) AS total
    FROM hist
), med AS (
    SELECT community, (min(days) FILTER (WHERE upto >= (total + 1) // 2)
                       + min(days) FILTER (WHERE upto >= total // 2 + 1)) / 2.0 AS median_days
    FROM cum GROUP BY community
)
SELECT m.community, m.short_name, m.households,
       coalesce(rep.received, 0)::BIGINT AS received,
       coalesce(res.received_resolved, 0)::BIGINT AS received_resolved,
       coalesce(res.resolved, 0)::BIGINT AS resolved,
       med.median_days,
       (coalesce(rep.to_end, 0) - coalesce(res.to_end, 0))::BIGINT AS open_backlog
FROM communities m
LEFT JOIN rep USING (community) LEFT JOIN res USING (community) LEFT JOIN med USING (community)
WHERE len($communities) = 0 OR list_contains($communities, m.community)
ORDER BY received DESC, m.community;

-- name: community_category_matrix
-- Received per community and category, with the category's full name and canonical order.
SELECT r.community, r.category, k.label, k.sort_order, sum(r.received)::BIGINT AS received
FROM case_reported_rows($end, $end) r LEFT JOIN categories k USING (category)
WHERE r.day BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, r.community))
  AND (len($categories) = 0 OR list_contains($categories, r.category))
GROUP BY ALL ORDER BY r.community, k.sort_order;

-- name: compound_cases
WITH c AS (
    SELECT compound, sum(received) FILTER (WHERE day >= $start) AS received,
           sum(resolved) FILTER (WHERE day >= $start) AS resolved,
           sum(received) - sum(resolved) AS open_backlog
    FROM agg_case_compound
    WHERE community = $community AND day <= $end
      AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY compound
)
SELECT coalesce(c.compound, '（未填小区）') AS compound, coalesce(c.received, 0)::BIGINT AS received,
       coalesce(c.resolved, 0)::BIGINT AS resolved, c.open_backlog::BIGINT AS open_backlog, k.households
FROM c LEFT JOIN compounds k ON k.community = $community AND k.compound = c.compound
WHERE coalesce(c.received, 0) > 0 OR c.open_backlog > 0
ORDER BY received DESC, compound;

-- name: case_list
SELECT case_id, compound, category, (SELECT label FROM categories k WHERE k.category = cases.category) AS label,
       reported_on, resolved_on,
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
-- Repeats are flagged per case when the marts are built (agg_case_reported.repeats); the
-- denominator ("received") is the cases with a compound: a case without one cannot repeat.
SELECT category, coalesce(sum(with_compound) FILTER (WHERE day >= $start), 0)::BIGINT AS received,
       coalesce(sum(repeats) FILTER (WHERE day >= $start), 0)::BIGINT AS repeats
FROM case_reported_rows($end, $end)
WHERE day <= $end
  AND (len($communities) = 0 OR list_contains($communities, community))
  AND (len($categories) = 0 OR list_contains($categories, category))
GROUP BY category HAVING sum(with_compound) > 0;

-- name: volunteers_by_community
WITH single AS (
    SELECT community, role, sum(people) FILTER (WHERE NOT party) AS n, sum(people) FILTER (WHERE party) AS party
    FROM agg_volunteer_stock
    WHERE role <> '*' AND day <= $end AND $end < valid_to
      AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY community, role
),
multi AS (
    SELECT community, role, count(DISTINCT person_id) AS n,
           count(DISTINCT person_id) FILTER (WHERE is_party_member) AS party
    FROM agg_volunteer_multi
    WHERE appointed_on <= $end AND (left_on IS NULL OR left_on > $end)
      AND (len($communities) = 0 OR list_contains($communities, community))
    GROUP BY ALL
)
SELECT m.community, m.short_name, m.households, v.role, v.n, v.party
FROM communities m
JOIN (SELECT community, role, (coalesce(s.n, 0) + coalesce(x.n, 0))::BIGINT AS n,
             (coalesce(s.party, 0) + coalesce(x.party, 0))::BIGINT AS party
      FROM single s FULL JOIN multi x USING (community, role)) v ON v.community = m.community
WHERE v.n > 0
ORDER BY ALL;

-- name: volunteer_flows
SELECT year(day) AS year, role, sum(appointed)::INTEGER AS appointed, sum(departed)::INTEGER AS departed
FROM agg_volunteer_flows
WHERE day BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

-- name: coverage
WITH heads AS (
    SELECT community, compound, heads FROM agg_building_heads WHERE day <= $end AND $end < valid_to
)
SELECT k.community, k.compound, k.households, k.buildings, coalesce(h.heads, 0)::BIGINT AS heads
FROM compounds k LEFT JOIN heads h USING (community, compound)
WHERE k.kind = '小区'
  AND (len($communities) = 0 OR list_contains($communities, k.community))
ORDER BY k.community, k.compound;

-- name: organizations_by_community
SELECT community, kind, active::BIGINT AS n
FROM agg_organization_stock
WHERE day <= $end AND $end < valid_to AND active > 0
  AND (len($communities) = 0 OR list_contains($communities, community))
ORDER BY ALL;

-- name: organization_flows
SELECT year(day) AS year, kind, sum(founded)::INTEGER AS founded, sum(dissolved)::INTEGER AS dissolved
FROM agg_organization_flows
WHERE day BETWEEN $start AND $end AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

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
SELECT year(day) AS year, kind, sum(activities)::BIGINT AS activities,
       coalesce(sum(participants), 0)::BIGINT AS participants
FROM agg_activities
WHERE day BETWEEN $start AND $end
  AND (len($communities) = 0 OR list_contains($communities, community))
GROUP BY ALL ORDER BY ALL;

-- name: community_profile
-- Every community (for the median and the rank); case figures follow the category filter.
WITH rep AS (
    SELECT community, sum(received) AS received FROM case_reported_rows($end, $end)
    WHERE day BETWEEN $start AND $end AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community
), res AS (
    SELECT community, sum(resolved) AS received_resolved FROM case_resolved_rows($end, $end)
    WHERE day <= $end AND reported_month >= $start AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community
), hist AS (
    SELECT community, days, sum(n) AS n FROM case_duration_rows($end, $end)
    WHERE day BETWEEN $start AND $end AND (len($categories) = 0 OR list_contains($categories, category))
    GROUP BY community, days
), cum AS (
    SELECT community, days, sum(n) OVER (PARTITION BY community ORDER BY days) AS upto,
           sum(n) OVER (PARTITION BY community) AS total
    FROM hist
), med AS (
    SELECT community, (min(days) FILTER (WHERE upto >= (total + 1) // 2)
                       + min(days) FILTER (WHERE upto >= total // 2 + 1)) / 2.0 AS median_days
    FROM cum GROUP BY community
), v AS (
    SELECT community, sum(people) AS volunteers FROM (
        SELECT community, people FROM agg_volunteer_stock
        WHERE role = '*' AND NOT party AND day <= $end AND $end < valid_to
        UNION ALL
        SELECT community, count(DISTINCT person_id) FROM agg_volunteer_multi
        WHERE appointed_on <= $end AND (left_on IS NULL OR left_on > $end) GROUP BY community
    ) GROUP BY community
), o AS (
    SELECT community, sum(active) AS organizations FROM agg_organization_stock
    WHERE day <= $end AND $end < valid_to GROUP BY community
), a AS (
    SELECT community, sum(activities) AS activities, sum(participants) AS participants FROM agg_activities
    WHERE day BETWEEN $start AND $end GROUP BY community
)
SELECT m.community, m.short_name, m.households, m.compounds,
       coalesce(rep.received, 0)::BIGINT AS received, coalesce(res.received_resolved, 0)::BIGINT AS received_resolved,
       med.median_days, coalesce(v.volunteers, 0)::BIGINT AS volunteers,
       coalesce(o.organizations, 0)::BIGINT AS organizations,
       coalesce(a.activities, 0)::BIGINT AS activities, coalesce(a.participants, 0)::BIGINT AS participants
FROM communities m
LEFT JOIN rep USING (community) LEFT JOIN res USING (community) LEFT JOIN med USING (community)
LEFT JOIN v USING (community) LEFT JOIN o USING (community) LEFT JOIN a USING (community)
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
SELECT m.community,
       max(latest) FILTER (WHERE ledger = 'cases') AS cases_latest,
       max(latest) FILTER (WHERE ledger = 'activities') AS activities_latest,
       max(latest) AS any_latest,
       cases_latest IS NULL OR cases_latest < $cutoff AS stale
FROM communities m LEFT JOIN agg_latest l USING (community)
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
-- Everything headline() needs in one round trip, from the marts: part, key, at (stock date),
-- year, n, n_prior. Resolved cases per category (window and prior window) and per year;
-- 在任三长 by role and in all (as volunteers_at); 在册组织 by kind; compounds with 楼长.
WITH d AS (SELECT unnest($dates::DATE[]) AS snap),
r AS (SELECT category, day, resolved FROM case_resolved_rows($end, $prior_end)
      WHERE day BETWEEN least($start, $prior_start) AND greatest($end, $prior_end)
        AND (len($communities) = 0 OR list_contains($communities, community))),
vs AS (
    SELECT d.snap, s.role, sum(s.people) AS n
    FROM d JOIN agg_volunteer_stock s ON s.day <= d.snap AND d.snap < s.valid_to
    WHERE NOT s.party AND (len($communities) = 0 OR list_contains($communities, s.community))
    GROUP BY d.snap, s.role
),
vm AS (
    SELECT d.snap, coalesce(m.role, '*') AS role, count(DISTINCT m.person_id) AS n
    FROM d JOIN agg_volunteer_multi m ON m.appointed_on <= d.snap AND (m.left_on IS NULL OR m.left_on > d.snap)
    WHERE len($communities) = 0 OR list_contains($communities, m.community)
    GROUP BY GROUPING SETS ((d.snap, m.role), (d.snap))
),
os AS (
    SELECT d.snap, s.kind, sum(s.active) AS n
    FROM d JOIN agg_organization_stock s ON s.day <= d.snap AND d.snap < s.valid_to
    WHERE len($communities) = 0 OR list_contains($communities, s.community)
    GROUP BY d.snap, s.kind
),
hs AS (
    SELECT d.snap, count(*) AS n
    FROM d JOIN agg_building_heads s ON s.day <= d.snap AND d.snap < s.valid_to
    WHERE s.heads > 0 AND (len($communities) = 0 OR list_contains($communities, s.community))
    GROUP BY d.snap
)
SELECT 'resolved' AS part, category AS key, NULL::DATE AS at, NULL::INTEGER AS year,
       coalesce(sum(resolved) FILTER (WHERE day BETWEEN $start AND $end), 0)::BIGINT AS n,
       coalesce(sum(resolved) FILTER (WHERE day BETWEEN $prior_start AND $prior_end), 0)::BIGINT AS n_prior
FROM r GROUP BY category
UNION ALL
SELECT 'resolved_year', category, NULL, year(day), sum(resolved)::BIGINT, NULL
FROM r WHERE day BETWEEN $start AND $end GROUP BY category, year(day)
UNION ALL
SELECT 'volunteers', nullif(role, '*'), snap, NULL, (coalesce(vs.n, 0) + coalesce(vm.n, 0))::BIGINT, NULL
FROM vs FULL JOIN vm USING (snap, role)
WHERE coalesce(vs.n, 0) + coalesce(vm.n, 0) > 0
UNION ALL
SELECT 'organizations', kind, snap, NULL, n::BIGINT, NULL FROM os WHERE n > 0
UNION ALL
SELECT 'heads', NULL, snap, NULL, n::BIGINT, NULL FROM hs WHERE n > 0
UNION ALL
SELECT 'communities', NULL, NULL, NULL, count(*), NULL
FROM communities WHERE len($communities) = 0 OR list_contains($communities, community);

-- name: data_span
-- The first and last day of the loaded records (main dates of every ledger, read from the marts):
-- the as-of date and year filters are bounded by it. NULLs when nothing is loaded.
SELECT least((SELECT min(day) FROM agg_case_reported), (SELECT min(day) FROM agg_volunteer_stock),
             (SELECT min(appointed_on) FROM agg_volunteer_multi), (SELECT min(day) FROM agg_organization_stock),
             (SELECT min(day) FROM agg_activities), (SELECT min(applied_on) FROM micro_projects)) AS first_day,
       (SELECT max(latest) FROM agg_latest) AS last_day;

-- name: category_labels
SELECT category, label FROM categories ORDER BY sort_order;
