-- A read-only role for BI tools: the tables and views threetone-sync writes, nothing else.
-- Run once per database, as its owner or a superuser, after `threetone-sync migrate`:
--   psql "$DATABASE_URL" -f sql/bi-reader-role.sql
-- then give each BI login the role:
--   CREATE ROLE metabase LOGIN PASSWORD '…' IN ROLE threetone_reader;
-- Roles belong to the whole cluster, which is why this is not a migration: the worker's own
-- role should not need CREATEROLE. Safe to run again, and needed again after a migration adds a view.
--
-- The readable objects are listed by name rather than granted with ON ALL TABLES plus ALTER DEFAULT
-- PRIVILEGES: a new table is not readable until someone decides it should be, so worker-only state
-- (reconcile_seen today) never leaks by default. test/db/bi-reader-role.test.ts reads the catalog and
-- fails for any table, view or function in public that is neither listed here nor named worker-only there.

DO $$
BEGIN
  CREATE ROLE threetone_reader NOLOGIN;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
  NULL; -- already there (unique_violation: another session created it at the same moment)
END
$$;

DO $$
BEGIN
  EXECUTE format('GRANT CONNECT ON DATABASE %I TO threetone_reader', current_database());
END
$$;

-- CVE-2018-1058: a login that may create objects in public can plant a table or function there that
-- shadows one the worker's queries name, and run code as the worker. Databases created before Postgres 15
-- (or pg_upgrade'd from one) still let PUBLIC create there. The role that ran the migrations may have
-- relied on that, so it gets the privilege explicitly first (a no-op for an owner or superuser).
DO $$
DECLARE
  migrator name;
BEGIN
  SELECT tableowner INTO migrator FROM pg_tables WHERE schemaname = 'public' AND tablename = 'batch_calls';
  IF migrator IS NOT NULL THEN
    EXECUTE format('GRANT USAGE, CREATE ON SCHEMA public TO %I', migrator);
  END IF;
END
$$;
REVOKE CREATE ON SCHEMA public FROM PUBLIC;

GRANT USAGE ON SCHEMA public TO threetone_reader;
REVOKE ALL ON ALL TABLES IN SCHEMA public FROM threetone_reader;
-- Not reconcile_seen: a running reconciliation's scratch ids, meaningless outside it.
GRANT SELECT ON
  batch_calls,
  batch_call_history,
  batch_call_history_daily,
  batch_call_history_newest,
  batch_call_day_changes,
  batch_call_completion,
  batch_call_live_jobs,
  report_settings,
  sync_runs,
  sync_workspaces,
  rejected_records,
  batch_call_versions,
  bi_current_batch_calls,
  bi_daily_status_counts,
  bi_agent_performance,
  bi_agent_performance_monthly,
  bi_time_to_completion,
  bi_daily_job_counts,
  bi_daily_jobs_by_status,
  bi_status_transitions,
  bi_status_transition_events,
  bi_deleted_batch_calls,
  bi_sync_freshness,
  bi_workspace_freshness,
  change_feed,
  feed_consumers
TO threetone_reader;
GRANT EXECUTE ON FUNCTION batch_calls_as_of(timestamptz), batch_calls_count_as_of(timestamptz) TO threetone_reader;
-- The change feed for SQL consumers (migrations/0011): SECURITY DEFINER, so the role reads and acknowledges
-- through them without being able to write feed_consumers itself.
GRANT EXECUTE ON FUNCTION
  threetone_consumer_create(text, text),
  threetone_changes(text, integer),
  threetone_changes_ack(text, xid8, bigint),
  threetone_feed_position(text)
TO threetone_reader;
