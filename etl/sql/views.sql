-- Public views: the one schema that pages, exports and analysts' SQL read.
-- Column meanings (Chinese and English) are in docs/data-dictionary.md.

CREATE OR REPLACE VIEW cases AS
SELECT case_id, community, compound, category, reported_on, resolved_on,
       CASE WHEN resolved_on IS NULL THEN '办理中' ELSE '已办结' END AS status,
       handled_by, outcome, followed_up_on, satisfaction, description, remark,
       source_file, source_sheet, source_row
FROM case_records;

CREATE OR REPLACE VIEW volunteers AS
SELECT person_id, name_masked, role, community, compound, building, is_party_member,
       appointed_on, left_on, source_file, source_sheet, source_row
FROM volunteer_records;

CREATE OR REPLACE VIEW organizations AS
SELECT org_id, name, kind, community, compound, founded_on, dissolved_on, members,
       source_file, source_sheet, source_row
FROM organization_records;

CREATE OR REPLACE VIEW micro_projects AS
SELECT project_id, name, community, applicant, applied_on, review_round, score, is_funded,
       amount_yuan, completed_on, source_file, source_sheet, source_row
FROM micro_project_records;

CREATE OR REPLACE VIEW activities AS
SELECT activity_id, name, community, kind, held_on, participants, organizer,
       source_file, source_sheet, source_row
FROM activity_records;

CREATE OR REPLACE VIEW communities AS
SELECT c.community, c.short_name, c.kind, c.households, c.named_in_article,
       coalesce(k.compounds, 0) AS compounds
FROM ref_communities c LEFT JOIN agg_community_compounds k USING (community);

CREATE OR REPLACE VIEW compounds AS
WITH seen AS (SELECT community, compound FROM agg_compounds_seen)
SELECT r.community, r.compound, r.kind, r.households, r.buildings, r.has_building_heads,
       r.property_managed, r.named_in_article, TRUE AS is_known
FROM ref_compounds r
UNION ALL
SELECT s.community, s.compound, NULL, NULL, NULL, NULL, NULL, FALSE, FALSE
FROM seen s ANTI JOIN ref_compounds r ON r.community = s.community AND r.compound = s.compound;

CREATE OR REPLACE VIEW categories AS
SELECT category, label, unit, sla_days, sort_order FROM ref_categories;

CREATE OR REPLACE VIEW milestones AS
SELECT happened_on, precision, title, detail FROM ref_milestones;

CREATE OR REPLACE VIEW mobilisation_2020 AS
SELECT item, figure, unit, sort_order FROM ref_mobilisation_2020;

CREATE OR REPLACE VIEW targets AS
SELECT metric, scope_kind, scope, period, target, direction, source, note FROM ref_targets;

CREATE OR REPLACE VIEW assessment_metrics AS
SELECT metric, dimension, weight, min_base, sort_order, note FROM ref_assessment_metrics;

CREATE OR REPLACE VIEW assessment_settings AS
SELECT setting, value, note FROM ref_assessment_settings;

CREATE OR REPLACE VIEW peer_groups AS
SELECT peer_group, label, households_from, households_to, sort_order FROM ref_peer_groups;

CREATE OR REPLACE VIEW alert_rules AS
SELECT rule, title, threshold, unit, window_days, min_base, applies_to, enabled, sort_order, note
FROM ref_alert_rules;

CREATE OR REPLACE VIEW rejects AS
SELECT source_file, sheet, row_number, ledger_kind, reason, batch_id FROM reject_records;

CREATE OR REPLACE VIEW load_batches AS
SELECT batch_id, source_file, content_hash, ledger_kinds, loaded_at, status, rows_read,
       rows_new, rows_changed, rows_unchanged, rows_removed, rows_rejected, message
FROM batch_log;

CREATE OR REPLACE VIEW submissions AS
SELECT community, ledger_kind, month_from, month_to, rows, community_rows, loaded_at, source_file, batch_id
FROM submission_log;
