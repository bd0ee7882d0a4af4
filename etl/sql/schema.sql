-- Storage tables. Only the ETL writes them; everyone else reads the views in views.sql.
-- The ledger record tables (case_records, volunteer_records, organization_records,
-- micro_project_records, activity_records) are not here: their DDL is generated from the
-- catalogue (etl/kinds.py) by etl/migrations.py, which also adds the catalogue's new columns to
-- older databases. Every fact row carries its lineage: source_file (file name, the unit of
-- replacement), source_sheet, source_row (the row number the clerk sees), row_hash and the batch
-- that loaded it. Each record table's key (etl/kinds.py `key`) is unique: the loader checks it
-- inside the load's transaction (etl.load.check_keys) instead of a PRIMARY KEY index, which made
-- inserting a million rows several times slower.
-- Every load runs this file: a table added here is created in older databases by their next load
-- (a new column of an existing table needs a step in etl/migrations.py MIGRATIONS).

CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
-- The schema's history (etl/migrations.py): one row per schema version applied to this database
-- (a new database: one row, the version it was created at). meta.schema_version is the current one.
CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER NOT NULL, applied_at TIMESTAMP NOT NULL, summary VARCHAR NOT NULL);

CREATE TABLE IF NOT EXISTS ref_communities (
    community VARCHAR PRIMARY KEY, short_name VARCHAR, kind VARCHAR,
    households INTEGER, named_in_article BOOLEAN);
CREATE TABLE IF NOT EXISTS ref_community_aliases (alias VARCHAR PRIMARY KEY, community VARCHAR);
CREATE TABLE IF NOT EXISTS ref_compounds (
    community VARCHAR, compound VARCHAR, kind VARCHAR, households INTEGER, buildings INTEGER,
    has_building_heads BOOLEAN, property_managed BOOLEAN, named_in_article BOOLEAN,
    PRIMARY KEY (community, compound));
CREATE TABLE IF NOT EXISTS ref_categories (
    category VARCHAR PRIMARY KEY, label VARCHAR, unit VARCHAR, sla_days INTEGER, sort_order INTEGER);
CREATE TABLE IF NOT EXISTS ref_roles (role VARCHAR PRIMARY KEY, sort_order INTEGER);
CREATE TABLE IF NOT EXISTS ref_org_kinds (
    kind VARCHAR PRIMARY KEY, label VARCHAR, unit VARCHAR, sort_order INTEGER);
CREATE TABLE IF NOT EXISTS ref_activity_kinds (kind VARCHAR PRIMARY KEY, sort_order INTEGER);
CREATE TABLE IF NOT EXISTS ref_milestones (
    happened_on DATE, precision VARCHAR, title VARCHAR, detail VARCHAR);
CREATE TABLE IF NOT EXISTS ref_mobilisation_2020 (
    item VARCHAR PRIMARY KEY, figure INTEGER, unit VARCHAR, sort_order INTEGER);
-- 考核 (docs/assessment.md): targets (the versioned defaults; an admin's edits live in the local state
-- folder, chuangshu/targets.py), the index's metrics and weights, its settings, peer groups, alert rules.
CREATE TABLE IF NOT EXISTS ref_targets (
    metric VARCHAR NOT NULL, scope_kind VARCHAR NOT NULL, scope VARCHAR, period VARCHAR NOT NULL,
    target DOUBLE NOT NULL, direction VARCHAR NOT NULL, source VARCHAR NOT NULL, note VARCHAR);
CREATE TABLE IF NOT EXISTS ref_assessment_metrics (
    metric VARCHAR PRIMARY KEY, dimension VARCHAR, weight DOUBLE, min_base INTEGER, sort_order INTEGER,
    note VARCHAR);
CREATE TABLE IF NOT EXISTS ref_assessment_settings (setting VARCHAR PRIMARY KEY, value VARCHAR, note VARCHAR);
CREATE TABLE IF NOT EXISTS ref_peer_groups (
    peer_group VARCHAR PRIMARY KEY, label VARCHAR, households_from INTEGER, households_to INTEGER,
    sort_order INTEGER);
CREATE TABLE IF NOT EXISTS ref_alert_rules (
    rule VARCHAR PRIMARY KEY, title VARCHAR, threshold DOUBLE, unit VARCHAR, window_days INTEGER,
    min_base INTEGER, applies_to VARCHAR, enabled BOOLEAN, sort_order INTEGER, note VARCHAR);

CREATE TABLE IF NOT EXISTS batch_log (
    batch_id INTEGER NOT NULL, source_file VARCHAR NOT NULL, content_hash VARCHAR,
    ledger_kinds VARCHAR, loaded_at TIMESTAMP NOT NULL, status VARCHAR NOT NULL,
    rows_read INTEGER, rows_new INTEGER, rows_changed INTEGER, rows_unchanged INTEGER,
    rows_removed INTEGER, rows_rejected INTEGER, message VARCHAR);

CREATE TABLE IF NOT EXISTS reject_records (
    batch_id INTEGER NOT NULL, source_file VARCHAR NOT NULL, sheet VARCHAR,
    row_number INTEGER, ledger_kind VARCHAR, reason VARCHAR NOT NULL);

-- Which community sent which ledger for which months: one row per loaded file and ledger kind
-- (appended at every load; a resent file adds a row, so this is the submission history).
-- community is the one whose rows dominate the file; month_from/month_to are the first days of
-- the months of the earliest and latest main date (the kind's first required date field).
CREATE TABLE IF NOT EXISTS submission_log (
    batch_id INTEGER NOT NULL, source_file VARCHAR NOT NULL, ledger_kind VARCHAR NOT NULL,
    community VARCHAR, rows INTEGER NOT NULL, community_rows INTEGER NOT NULL,
    month_from DATE, month_to DATE, loaded_at TIMESTAMP NOT NULL);

-- Compounds named in any record table (the compounds view lists those not in the reference
-- as is_known = FALSE). Rebuilt with the other marts at every load (etl/sql/marts.sql); declared
-- here because the compounds view reads it.
CREATE TABLE IF NOT EXISTS agg_compounds_seen (community VARCHAR, compound VARCHAR);
-- Reference compounds (小区) per community, for the communities view (also a mart).
CREATE TABLE IF NOT EXISTS agg_community_compounds (community VARCHAR, compounds BIGINT);
