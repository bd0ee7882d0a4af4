-- Table macro over a per-day case mart, created with the marts (etl/marts.py) once for each of
-- them: case_reported_rows, case_resolved_rows, case_followup_rows, case_duration_rows over
-- agg_case_reported, agg_case_resolved, agg_case_followup, agg_case_durations ({macro} and
-- {mart} are filled in from that fixed list). case_<x>_rows(e1, e2) are the rows a query
-- filtering on day <= e1 (and, in the same query, day <= e2) needs: whole months from
-- {mart}_m (dated on their last day), and the days of a month that e1 or e2 falls inside from
-- {mart} (sorted by day: only that month's row groups are read). A month row counts on or
-- before e exactly when the whole month does, so every "day <= e", "day >= 1 January",
-- year(day) and month filter stays exact.
CREATE OR REPLACE MACRO {macro}(e1, e2) AS TABLE
    SELECT * FROM {mart}_m
    WHERE (day <> last_day(e1) OR last_day(e1) = e1) AND (day <> last_day(e2) OR last_day(e2) = e2)
    UNION ALL
    SELECT * FROM {mart}
    WHERE day BETWEEN date_trunc('month', e1) AND last_day(e1) AND last_day(e1) <> e1
    UNION ALL
    SELECT * FROM {mart}
    WHERE day BETWEEN date_trunc('month', e2) AND last_day(e2) AND last_day(e2) <> e2
      AND date_trunc('month', e2) <> date_trunc('month', e1);
