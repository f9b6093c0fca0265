CREATE TABLE "batch_call_history_newest" (
	"workspace" text PRIMARY KEY NOT NULL,
	"last_updated_at" timestamp with time zone NOT NULL
);
--> statement-breakpoint
CREATE TABLE "report_settings" (
	"id" boolean PRIMARY KEY DEFAULT true NOT NULL,
	"time_zone" text DEFAULT 'UTC' NOT NULL,
	"changed_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "report_settings_one_row" CHECK ("report_settings"."id")
);
--> statement-breakpoint
ALTER TABLE "sync_workspaces" ADD COLUMN "last_complete_walk_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "sync_workspaces" ADD COLUMN "last_reconcile_at" timestamp with time zone;--> statement-breakpoint
-- Freshness and completeness a BI tool can check (issue 21, item 5), and the business's day (item 6).
-- When the last complete walk and the last reconciliation succeeded, per workspace, kept by a trigger on sync_runs
-- beside the one of 0010, so retention deleting old runs never makes "last reconciled" older or unknown.
CREATE FUNCTION sync_workspaces_follow_walk() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  -- On a status change of an existing run, so the workspace's row exists.
  UPDATE public.sync_workspaces
     SET last_complete_walk_at = GREATEST(last_complete_walk_at, NEW.finished_at),
         last_reconcile_at = CASE WHEN NEW.kind = 'reconcile' THEN GREATEST(last_reconcile_at, NEW.finished_at) ELSE last_reconcile_at END
   WHERE workspace = NEW.workspace;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Runs inserted already finished (a backfill), once a statement, after 0010's sync_workspaces_runs_inserted has made
-- the rows (statement triggers fire in name order).
CREATE FUNCTION sync_workspaces_runs_walked() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE public.sync_workspaces w
     SET last_complete_walk_at = GREATEST(w.last_complete_walk_at, n.walked),
         last_reconcile_at = GREATEST(w.last_reconcile_at, n.reconciled)
    FROM (SELECT i.workspace, max(i.finished_at) AS walked, max(i.finished_at) FILTER (WHERE i.kind = 'reconcile') AS reconciled
            FROM inserted i
           WHERE i.status = 'succeeded' AND i.stop_reason = 'end' AND i.kind IN ('full', 'reconcile') AND i.finished_at IS NOT NULL
           GROUP BY i.workspace) n
   WHERE w.workspace = n.workspace;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER sync_workspaces_runs_walked AFTER INSERT ON sync_runs
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sync_workspaces_runs_walked();--> statement-breakpoint
CREATE TRIGGER sync_workspaces_run_walked AFTER UPDATE OF status ON sync_runs
FOR EACH ROW WHEN (NEW.status = 'succeeded' AND NEW.stop_reason = 'end' AND NEW.kind IN ('full', 'reconcile') AND NEW.finished_at IS NOT NULL)
EXECUTE FUNCTION sync_workspaces_follow_walk();--> statement-breakpoint
UPDATE sync_workspaces w
   SET last_complete_walk_at = (
         SELECT max(r.finished_at) FROM sync_runs r
          WHERE r.workspace = w.workspace AND r.status = 'succeeded' AND r.stop_reason = 'end' AND r.kind IN ('full', 'reconcile')),
       last_reconcile_at = (
         SELECT max(r.finished_at) FROM sync_runs r
          WHERE r.workspace = w.workspace AND r.status = 'succeeded' AND r.stop_reason = 'end' AND r.kind = 'reconcile');--> statement-breakpoint
-- The newest API last_updated_at stored per workspace, kept by a statement trigger on history inserts (one small
-- upsert a page that added versions; nothing on a page that added none).
CREATE FUNCTION batch_call_history_follow_newest() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO public.batch_call_history_newest AS n (workspace, last_updated_at)
  SELECT t.workspace, max(t.last_updated_at) FROM added t GROUP BY t.workspace ORDER BY t.workspace
  ON CONFLICT (workspace) DO UPDATE SET last_updated_at = excluded.last_updated_at
  WHERE n.last_updated_at < excluded.last_updated_at;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_newest AFTER INSERT ON batch_call_history
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_follow_newest();--> statement-breakpoint
INSERT INTO batch_call_history_newest (workspace, last_updated_at)
SELECT workspace, max(last_updated_at) FROM batch_calls GROUP BY workspace;--> statement-breakpoint
-- Per workspace: is the copy fresh, was it lately walked end to end, are its deletions current. One row of
-- sync_workspaces and one of batch_call_history_newest each: no read of sync_runs or history.
CREATE VIEW bi_workspace_freshness AS
SELECT
  w.workspace,
  w.last_success_at,
  extract(epoch FROM now() - COALESCE(w.last_success_at, w.first_run_at))::bigint AS age_seconds,
  w.last_complete_walk_at,
  extract(epoch FROM now() - w.last_complete_walk_at)::bigint AS complete_walk_age_seconds,
  w.last_reconcile_at,
  extract(epoch FROM now() - w.last_reconcile_at)::bigint AS reconcile_age_seconds,
  w.reconcile_refused,
  n.last_updated_at AS newest_last_updated_at,
  w.first_run_at,
  w.last_run_at,
  w.failing_runs,
  now() AS checked_at
FROM sync_workspaces w
LEFT JOIN batch_call_history_newest n ON n.workspace = w.workspace
UNION ALL
-- Versions written without a run (a backfill): the workspace is there, with no success to show.
SELECT
  n.workspace, NULL::timestamptz, NULL::bigint, NULL::timestamptz, NULL::bigint, NULL::timestamptz, NULL::bigint, false,
  n.last_updated_at, NULL::timestamptz, NULL::timestamptz, 0, now()
FROM batch_call_history_newest n
WHERE NOT EXISTS (SELECT 1 FROM sync_workspaces w WHERE w.workspace = n.workspace);--> statement-breakpoint
COMMENT ON VIEW bi_workspace_freshness IS 'Per workspace: last success and age_seconds since it (since the first run when none), the last complete walk (a full sync or reconciliation that read every page), the last succeeded reconciliation (deletions are current up to it; reconcile_refused: the newest one refused a mass delete), and the newest last_updated_at stored.';--> statement-breakpoint
-- The reporting time zone (REPORT_TIME_ZONE): one row. The daily and monthly views and their indexes carry the
-- zone as a literal (an expression index needs an immutable expression), so set_report_time_zone() rewrites them.
INSERT INTO report_settings (time_zone) VALUES ('UTC');--> statement-breakpoint
CREATE FUNCTION report_time_zone() RETURNS text
LANGUAGE sql STABLE SET search_path = pg_catalog, public
AS $$ SELECT time_zone FROM public.report_settings $$;--> statement-breakpoint
-- The two views that count in the reporting zone, for `zone` (a literal, so they match their indexes).
CREATE FUNCTION report_zone_views(zone text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  EXECUTE format($v$
    CREATE OR REPLACE VIEW public.bi_daily_status_counts AS
    SELECT workspace, (created_at AT TIME ZONE %1$L::text)::date AS day, status, count(*)::int AS jobs
    FROM public.batch_calls
    WHERE deleted_at IS NULL
    GROUP BY workspace, day, status$v$, zone);
  EXECUTE format($v$
    CREATE OR REPLACE VIEW public.bi_agent_performance_monthly AS
    SELECT
      workspace, agent_id, max(agent_name) AS agent_name,
      date_trunc('month', created_at AT TIME ZONE %1$L::text)::date AS month,
      count(*)::int AS jobs,
      sum(total_calls_scheduled)::bigint AS calls_scheduled,
      sum(total_calls_dispatched)::bigint AS calls_dispatched,
      sum(total_calls_finished)::bigint AS calls_finished,
      round(sum(total_calls_finished)::numeric / NULLIF(sum(total_calls_scheduled), 0), 4) AS finish_rate
    FROM public.batch_calls
    WHERE deleted_at IS NULL
    GROUP BY workspace, agent_id, month$v$, zone);
  EXECUTE format('COMMENT ON VIEW public.bi_daily_status_counts IS %L',
    format('Live jobs created per day by current status; days in the reporting time zone %s (report_settings, set_report_time_zone).', zone));
  EXECUTE format('COMMENT ON VIEW public.bi_agent_performance_monthly IS %L',
    format('Per agent and month of creation; months in the reporting time zone %s (report_settings, set_report_time_zone).', zone));
END
$$;--> statement-breakpoint
-- Makes `zone` the reporting time zone: checks it is a zone name Postgres knows, builds the two indexes for it,
-- rewrites the views, then drops the old indexes, all in the caller's transaction. Writers of batch_calls wait for
-- the index builds (a few seconds a million jobs); readers do not, until the short swap at the end. Returns false
-- when `zone` already is the reporting zone (nothing is rebuilt).
CREATE FUNCTION set_report_time_zone(zone text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  current_zone text;
  named text := zone;
BEGIN
  -- A name Postgres knows, as it spells it ('utc' is UTC). Not an offset: Postgres reads '+05:30' as POSIX, west of UTC.
  SELECT z.name INTO zone FROM pg_catalog.pg_timezone_names z WHERE lower(z.name) = lower(named) ORDER BY z.name = named DESC LIMIT 1;
  IF zone IS NULL THEN
    RAISE EXCEPTION 'unknown time zone %: use a name from pg_timezone_names such as UTC or Asia/Kolkata', quote_nullable(named)
      USING ERRCODE = '22023';
  END IF;
  SELECT s.time_zone INTO current_zone FROM public.report_settings s FOR UPDATE;
  IF current_zone = zone THEN
    RETURN false;
  END IF;
  DROP INDEX IF EXISTS public.batch_calls_live_day_idx_next;
  DROP INDEX IF EXISTS public.batch_calls_live_month_idx_next;
  EXECUTE format('CREATE INDEX batch_calls_live_day_idx_next ON public.batch_calls USING btree (((created_at AT TIME ZONE %L::text)::date)) WHERE deleted_at IS NULL', zone);
  EXECUTE format('CREATE INDEX batch_calls_live_month_idx_next ON public.batch_calls USING btree (((date_trunc(''month''::text, (created_at AT TIME ZONE %L::text)))::date)) WHERE deleted_at IS NULL', zone);
  PERFORM public.report_zone_views(zone);
  DROP INDEX IF EXISTS public.batch_calls_live_day_idx;
  DROP INDEX IF EXISTS public.batch_calls_live_month_idx;
  ALTER INDEX public.batch_calls_live_day_idx_next RENAME TO batch_calls_live_day_idx;
  ALTER INDEX public.batch_calls_live_month_idx_next RENAME TO batch_calls_live_month_idx;
  UPDATE public.report_settings SET time_zone = zone, changed_at = now();
  RETURN true;
END
$$;--> statement-breakpoint
SELECT report_zone_views('UTC');
