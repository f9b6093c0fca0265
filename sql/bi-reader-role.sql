-- A read-only role for BI tools: the tables and views threetone-sync writes, nothing else.
-- Run once per database, as its owner or a superuser, after `threetone-sync migrate`:
--   psql "$DATABASE_URL" -f sql/bi-reader-role.sql
-- then give each BI login the role:
--   CREATE ROLE metabase LOGIN PASSWORD '…' IN ROLE threetone_reader;
-- Roles belong to the whole cluster, which is why this is not a migration: the worker's own
-- role should not need CREATEROLE. Safe to run again (e.g. after a migration adds a view).

DO $$
BEGIN
  CREATE ROLE threetone_reader NOLOGIN;
EXCEPTION WHEN duplicate_object THEN
  NULL; -- already there
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO threetone_reader', current_database());
END
$$;

GRANT USAGE ON SCHEMA public TO threetone_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM threetone_reader;
GRANT SELECT ON
  batch_calls,
  batch_call_history,
  sync_runs,
  rejected_records,
  batch_call_versions,
  bi_current_batch_calls,
  bi_daily_status_counts,
  bi_agent_performance,
  bi_agent_performance_monthly,
  bi_time_to_completion,
  bi_status_transitions,
  bi_deleted_batch_calls,
  bi_sync_freshness
TO threetone_reader;
GRANT EXECUTE ON FUNCTION batch_calls_as_of(timestamptz) TO threetone_reader;
