-- Table macros over the case marts, created with them (etl/marts.py). case_<x>_rows(e1, e2) are
-- the rows of agg_case_<x> that a query filtering on day <= e1 (and, in the same query,
-- day <= e2) needs: whole months from agg_case_<x>_m (dated on their last day), and the days of
-- a month that e1 or e2 falls inside from agg_case_<x> (sorted by day: only that month's row
-- groups are read). A month row counts on or before e exactly when the whole month does, so
-- every "day <= e", "day >= 1 January", year(day) and month filter stays exact.

CREATE OR REPLACE MACRO case_reported_rows(e1, e2) AS TABLE
    SELECT * FROM agg_case_reported_m
    WHERE (day <> last_day(e1) OR last_day(e1) = e1) AND (day <> last_day(e2) OR last_day(e2) = e2)
    UNION ALL
    SELECT * FROM agg_case_reported
    WHERE day BETWEEN date_trunc('month', e1) AND last_day(e1) AND last_day(e1) <> e1
    UNION ALL
    SELECT * FROM agg_case_reported
    WHERE day BETWEEN date_trunc('month', e2) AND last_day(e2) AND last_day(e2) <> e2
      AND date_trunc('month', e2) <> date_trunc('month', e1);

CREATE OR REPLACE MACRO case_resolved_rows(e1, e2) AS TABLE
    SELECT * FROM agg_case_resolved_m
    WHERE (day <> last_day(e1) OR last_day(e1) = e1) AND (day <> last_day(e2) OR last_day(e2) = e2)
    UNION ALL
    SELECT * FROM agg_case_resolved
    WHERE day BETWEEN date_trunc('month', e1) AND last_day(e1) AND last_day(e1) <> e1
    UNION ALL
    SELECT * FROM agg_case_resolved
    WHERE day BETWEEN date_trunc('month', e2) AND last_day(e2) AND last_day(e2) <> e2
      AND date_trunc('month', e2) <> date_trunc('month', e1);

CREATE OR REPLACE MACRO case_followup_rows(e1, e2) AS TABLE
    SELECT * FROM agg_case_followup_m
    WHERE (day <> last_day(e1) OR last_day(e1) = e1) AND (day <> last_day(e2) OR last_day(e2) = e2)
    UNION ALL
    SELECT * FROM agg_case_followup
    WHERE day BETWEEN date_trunc('month', e1) AND last_day(e1) AND last_day(e1) <> e1
    UNION ALL
    SELECT * FROM agg_case_followup
    WHERE day BETWEEN date_trunc('month', e2) AND last_day(e2) AND last_day(e2) <> e2
      AND date_trunc('month', e2) <> date_trunc('month', e1);

CREATE OR REPLACE MACRO case_duration_rows(e1, e2) AS TABLE
    SELECT * FROM agg_case_durations_m
    WHERE (day <> last_day(e1) OR last_day(e1) = e1) AND (day <> last_day(e2) OR last_day(e2) = e2)
    UNION ALL
    SELECT * FROM agg_case_durations
    WHERE day BETWEEN date_trunc('month', e1) AND last_day(e1) AND last_day(e1) <> e1
    UNION ALL
    SELECT * FROM agg_case_durations
    WHERE day BETWEEN date_trunc('month', e2) AND last_day(e2) AND last_day(e2) <> e2
      AND date_trunc('month', e2) <> date_trunc('month', e1);
