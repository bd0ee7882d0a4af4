-- Pre-aggregated tables (marts) the metric layer reads: rebuilt from the public views inside
-- every load's transaction (etl/marts.py) and in each community-scoped copy. Each statement
-- starts with "-- mart: <table>" and is the SELECT of CREATE OR REPLACE TABLE <table> AS.
-- Every mart is exact; the identities that make it so are in docs/aggregates.md. They rely on
-- the loader's date-order rule (reported ≤ resolved ≤ followed up, appointed ≤ left,
-- founded ≤ dissolved) and on every window starting on 1 January (chuangshu.filters.Filters).
-- Rows are sorted by day so that DuckDB's zone maps skip row groups outside a date filter; by
-- the day alone (a DATE key): sorting on the text columns as well cost 30-50 % of a case mart's
-- build at 100x and skipped no more row groups, since every query filters on the day.

-- mart: agg_case_reported
-- Cases by reporting day: received; with a compound; repeats (an earlier case of the same
-- compound and category reported at most 90 days before). Filter-invariant: it only looks back
-- within one community, compound and category. Counted per reporting day, k cases of one
-- compound, category and day are k - 1 repeats plus one more when the previous such day is at
-- most 90 days earlier (so the window runs over distinct days, not over every case). One
-- grouping of the cases feeds all three counts (the cases without a compound add to received
-- only), so the cases are read once and no join is needed.
WITH g AS (
    SELECT community, compound, category, reported_on, count(*) AS k FROM cases GROUP BY ALL
), w AS (
    SELECT community, category, reported_on, k AS received,
           CASE WHEN compound IS NULL THEN 0 ELSE k END AS with_compound,
           CASE WHEN compound IS NULL THEN 0
                ELSE k - 1 + CASE WHEN reported_on - lag(reported_on) OVER (PARTITION BY community, compound, category
                                                                            ORDER BY reported_on) <= 90 THEN 1 ELSE 0 END
           END AS repeats
    FROM g
)
SELECT community, category, reported_on AS day, sum(received)::INTEGER AS received,
       sum(with_compound)::INTEGER AS with_compound, sum(repeats)::INTEGER AS repeats
FROM w GROUP BY ALL ORDER BY day;

-- mart: agg_case_reported_m
-- The same counts per month, dated on the month's last day: a window read through the
-- case_*_rows macros takes whole months from here and only a partial last month from the days.
SELECT community, category, last_day(day) AS day, sum(received)::INTEGER AS received,
       sum(with_compound)::INTEGER AS with_compound, sum(repeats)::INTEGER AS repeats
FROM agg_case_reported GROUP BY ALL ORDER BY day;

-- mart: agg_case_resolved
-- Resolved cases by resolution day and reporting month: resolved, on time (within the
-- category's sla_days), with an outcome, successful. "Reported in the window and resolved by
-- its end" = resolved by the end and reported in a month from the window's start on.
SELECT c.community, c.category, c.resolved_on AS day,
       date_trunc('month', c.reported_on)::DATE AS reported_month,
       count(*)::INTEGER AS resolved,
       count(*) FILTER (WHERE c.resolved_on - c.reported_on <= k.sla_days)::INTEGER AS on_time,
       count(*) FILTER (WHERE c.outcome IS NOT NULL)::INTEGER AS with_outcome,
       count(*) FILTER (WHERE c.outcome = '成功')::INTEGER AS success
FROM cases c LEFT JOIN categories k ON k.category = c.category
WHERE c.resolved_on IS NOT NULL
GROUP BY ALL ORDER BY day;

-- mart: agg_case_resolved_m
SELECT community, category, last_day(day) AS day, reported_month, sum(resolved)::INTEGER AS resolved,
       sum(on_time)::INTEGER AS on_time, sum(with_outcome)::INTEGER AS with_outcome, sum(success)::INTEGER AS success
FROM agg_case_resolved GROUP BY ALL ORDER BY day;

-- mart: agg_case_followup
-- Resolved and followed-up cases by follow-up day and resolution month (and its year): followed up,
-- rated, satisfied. "Resolved in the window and followed up by its end" = followed up by the end
-- and resolved in a year (a 考核 period: a month) from the window's start on.
SELECT community, category, followed_up_on AS day, year(resolved_on)::INTEGER AS resolved_year,
       date_trunc('month', resolved_on)::DATE AS resolved_month,
       count(*)::INTEGER AS followed_up,
       count(*) FILTER (WHERE satisfaction IS NOT NULL)::INTEGER AS rated,
       count(*) FILTER (WHERE satisfaction IN ('满意', '基本满意'))::INTEGER AS satisfied
FROM cases
WHERE resolved_on IS NOT NULL AND followed_up_on IS NOT NULL
GROUP BY ALL ORDER BY day;

-- mart: agg_case_followup_m
SELECT community, category, last_day(day) AS day, resolved_year, resolved_month,
       sum(followed_up)::INTEGER AS followed_up,
       sum(rated)::INTEGER AS rated, sum(satisfied)::INTEGER AS satisfied
FROM agg_case_followup GROUP BY ALL ORDER BY day;

-- mart: agg_case_durations
-- Histogram of whole days from reporting to resolution, by resolution day: exact medians.
SELECT community, category, resolved_on AS day, (resolved_on - reported_on)::INTEGER AS days,
       count(*)::INTEGER AS n
FROM cases
WHERE resolved_on IS NOT NULL
GROUP BY ALL ORDER BY day;

-- mart: agg_case_durations_m
SELECT community, category, last_day(day) AS day, days, sum(n)::INTEGER AS n
FROM agg_case_durations GROUP BY ALL ORDER BY day;

-- mart: agg_case_open
-- Cases that are open for at least one day: open on every day from reported_on up to the day
-- before open_until (9999-12-31 while unresolved). Sorted by open_until: the backlog at a date
-- reads only the row groups still open then.
SELECT community, category, reported_on, coalesce(resolved_on, DATE '9999-12-31') AS open_until,
       count(*)::INTEGER AS n
FROM cases
WHERE resolved_on IS NULL OR resolved_on > reported_on
GROUP BY ALL ORDER BY open_until, reported_on;

-- mart: agg_case_compound
-- Cases received and resolved per compound and day, sorted by community alone: one community's
-- drill-down reads only that community's row groups (sorting by compound and day as well cost a
-- third of this mart's build and skipped no more row groups for the dashboard's queries).
SELECT community, compound, category, day, sum(received)::INTEGER AS received, sum(resolved)::INTEGER AS resolved
FROM (
    SELECT community, compound, category, reported_on AS day, 1 AS received, 0 AS resolved FROM cases
    UNION ALL
    SELECT community, compound, category, resolved_on, 0, 1 FROM cases WHERE resolved_on IS NOT NULL
) GROUP BY ALL ORDER BY community;

-- mart: agg_volunteer_multi
-- The records of people who serve in more than one community: counted from these rows
-- directly (a person counts once across communities), everyone else from agg_volunteer_stock.
-- Rebuilt whole after every load: "two communities" as min <> max, not count(DISTINCT) (1000×,
-- 2 million records: 0.33 s instead of 0.45-0.56 s on one thread).
WITH multi AS (
    SELECT person_id FROM volunteers GROUP BY person_id HAVING min(community) <> max(community)
)
SELECT v.person_id, v.role, v.community, v.compound, v.is_party_member, v.appointed_on, v.left_on
FROM volunteers v SEMI JOIN multi m ON m.person_id = v.person_id
ORDER BY v.person_id, v.appointed_on;

-- mart: agg_volunteer_stock
-- 在任三长 of one-community people as running totals: per community, role ('*' = any role,
-- a person holding two roles counts once) and party (FALSE = everyone, TRUE = party members
-- only), the number of people in office from `day` until the day before valid_to. Overlapping or
-- touching terms of one person are merged first, so the totals count people, not records. A person
-- with a single record has one term in each grouping, which is their spell: only the people with
-- several records (`several`) are grouped and merged.
WITH single AS (
    SELECT * FROM volunteers v
    WHERE NOT EXISTS (SELECT 1 FROM agg_volunteer_multi m WHERE m.person_id = v.person_id)
),
several AS (  -- people with more than one record: only their terms can overlap or touch
    SELECT person_id FROM single GROUP BY person_id HAVING count(*) > 1
),
terms AS (
    SELECT community, role, FALSE AS party, person_id, appointed_on AS a,
           coalesce(left_on, DATE '9999-12-31') AS b FROM single
    UNION ALL
    SELECT community, '*', FALSE, person_id, appointed_on, coalesce(left_on, DATE '9999-12-31') FROM single
    UNION ALL
    SELECT community, role, TRUE, person_id, appointed_on, coalesce(left_on, DATE '9999-12-31')
    FROM single WHERE is_party_member
    UNION ALL
    SELECT community, '*', TRUE, person_id, appointed_on, coalesce(left_on, DATE '9999-12-31')
    FROM single WHERE is_party_member
),
flagged AS (
    SELECT *, person_id IN (SELECT person_id FROM several) AS many FROM terms
),
people AS (  -- most of them still have one term per community and role: that term is their spell
    SELECT community, role, party, person_id, count(*) AS terms, min(a) AS a, max(b) AS b
    FROM flagged WHERE many GROUP BY ALL
),
marked AS (  -- the others' overlapping or touching terms are merged into spells (gaps and islands)
    SELECT t.*, max(t.b) OVER (PARTITION BY t.community, t.role, t.party, t.person_id ORDER BY t.a, t.b
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM terms t SEMI JOIN (SELECT * FROM people WHERE terms > 1) p
      ON p.community = t.community AND p.role = t.role AND p.party = t.party AND p.person_id = t.person_id
),
islands AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR a > reach THEN 1 ELSE 0 END)
                  OVER (PARTITION BY community, role, party, person_id ORDER BY a, b
                        ROWS UNBOUNDED PRECEDING) AS island
    FROM marked
),
spells AS (
    SELECT community, role, party, a, b FROM flagged WHERE NOT many  -- one record: one term, one spell
    UNION ALL
    SELECT community, role, party, a, b FROM people WHERE terms = 1
    UNION ALL
    SELECT community, role, party, min(a), max(b) FROM islands
    GROUP BY community, role, party, person_id, island
),
events AS (
    SELECT community, role, party, a AS day, 1 AS delta FROM spells
    UNION ALL
    SELECT community, role, party, b, -1 FROM spells WHERE b < DATE '9999-12-31'
),
daily AS (
    SELECT community, role, party, day, sum(delta) AS delta FROM events GROUP BY ALL
)
SELECT community, role, party, day,
       coalesce(lead(day) OVER (PARTITION BY community, role, party ORDER BY day), DATE '9999-12-31') AS valid_to,
       sum(delta) OVER (PARTITION BY community, role, party ORDER BY day)::INTEGER AS people
FROM daily ORDER BY day;

-- mart: agg_building_heads
-- 楼长 in office per compound as running totals, valid from `day` until the day before valid_to
-- (people: merged terms per person; a compound "has heads" on a day when this is above zero).
WITH terms AS (
    SELECT community, compound, person_id, appointed_on AS a, coalesce(left_on, DATE '9999-12-31') AS b
    FROM volunteers WHERE role = '楼长' AND compound IS NOT NULL
),
people AS (
    SELECT community, compound, person_id, count(*) AS terms, min(a) AS a, max(b) AS b FROM terms GROUP BY ALL
),
marked AS (
    SELECT t.*, max(t.b) OVER (PARTITION BY t.community, t.compound, t.person_id ORDER BY t.a, t.b
                               ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS reach
    FROM terms t SEMI JOIN (SELECT * FROM people WHERE terms > 1) p
      ON p.community = t.community AND p.compound = t.compound AND p.person_id = t.person_id
),
islands AS (
    SELECT *, sum(CASE WHEN reach IS NULL OR a > reach THEN 1 ELSE 0 END)
                  OVER (PARTITION BY community, compound, person_id ORDER BY a, b ROWS UNBOUNDED PRECEDING) AS island
    FROM marked
),
spells AS (
    SELECT community, compound, a, b FROM people WHERE terms = 1
    UNION ALL
    SELECT community, compound, min(a), max(b) FROM islands GROUP BY community, compound, person_id, island
),
daily AS (
    SELECT community, compound, day, sum(delta) AS delta FROM (
        SELECT community, compound, a AS day, 1 AS delta FROM spells
        UNION ALL
        SELECT community, compound, b, -1 FROM spells WHERE b < DATE '9999-12-31'
    ) GROUP BY ALL
)
SELECT community, compound, day,
       coalesce(lead(day) OVER (PARTITION BY community, compound ORDER BY day), DATE '9999-12-31') AS valid_to,
       sum(delta) OVER (PARTITION BY community, compound ORDER BY day)::INTEGER AS heads
FROM daily ORDER BY day;

-- mart: agg_volunteer_flows
-- Appointments and departures (records, not people) per community, role and day.
SELECT community, role, day, sum(appointed)::INTEGER AS appointed, sum(departed)::INTEGER AS departed
FROM (
    SELECT community, role, appointed_on AS day, 1 AS appointed, 0 AS departed FROM volunteers
    UNION ALL
    SELECT community, role, left_on, 0, 1 FROM volunteers WHERE left_on IS NOT NULL
) GROUP BY ALL ORDER BY day;

-- mart: agg_organization_flows
-- Organisations founded and dissolved per community, kind and day.
SELECT community, kind, day, sum(founded)::INTEGER AS founded, sum(dissolved)::INTEGER AS dissolved
FROM (
    SELECT community, kind, founded_on AS day, 1 AS founded, 0 AS dissolved FROM organizations
    UNION ALL
    SELECT community, kind, dissolved_on, 0, 1 FROM organizations WHERE dissolved_on IS NOT NULL
) GROUP BY ALL ORDER BY day;

-- mart: agg_organization_stock
-- 在册组织 per community and kind as running totals: active from `day` until the day before valid_to.
SELECT community, kind, day,
       coalesce(lead(day) OVER (PARTITION BY community, kind ORDER BY day), DATE '9999-12-31') AS valid_to,
       sum(founded - dissolved) OVER (PARTITION BY community, kind ORDER BY day)::INTEGER AS active
FROM agg_organization_flows ORDER BY day;

-- mart: agg_activities
-- Activities and participants per community, kind and day.
SELECT community, kind, held_on AS day, count(*)::INTEGER AS activities,
       sum(participants)::BIGINT AS participants
FROM activities GROUP BY ALL ORDER BY day;

-- mart: agg_compounds_seen
-- Compounds named in the case, volunteer and organisation records (read by the compounds view).
SELECT community, compound FROM cases WHERE compound IS NOT NULL
UNION SELECT community, compound FROM volunteers WHERE compound IS NOT NULL
UNION SELECT community, compound FROM organizations WHERE compound IS NOT NULL
ORDER BY community, compound;

-- mart: agg_community_compounds
-- The reference compounds (小区) per community: the communities view's compounds column,
-- counted once per load instead of in every query that reads the view.
SELECT community, count(*) AS compounds FROM compounds WHERE is_known AND kind = '小区' GROUP BY community;

-- mart: agg_latest
-- The latest date in each community's ledgers (data freshness).
SELECT community, 'cases' AS ledger, max(day) AS latest FROM agg_case_reported GROUP BY community
UNION ALL SELECT community, 'volunteers', max(greatest(appointed_on, coalesce(left_on, appointed_on)))
          FROM volunteers GROUP BY community
UNION ALL SELECT community, 'organizations', max(founded_on) FROM organizations GROUP BY community
UNION ALL SELECT community, 'activities', max(day) FROM agg_activities GROUP BY community
UNION ALL SELECT community, 'micro_projects', max(applied_on) FROM micro_projects GROUP BY community;
