-- Analytics at scale: each version's validity interval and its predecessor's status are stored and indexed,
-- kept right by triggers whoever writes (the sync, a reconciliation's deletes, an operator's INSERT/UPDATE/DELETE),
-- so as-of reads, transitions and time to completion read an index range instead of a window over all history.
-- Runs get the indexes their readers walk per workspace.
DROP INDEX "sync_runs_workspace_started_idx";--> statement-breakpoint
ALTER TABLE "batch_call_history" ADD COLUMN "valid_to" timestamp with time zone DEFAULT 'infinity' NOT NULL;--> statement-breakpoint
ALTER TABLE "batch_call_history" ADD COLUMN "previous_status" text;--> statement-breakpoint
CREATE TABLE "batch_call_history_daily" (
	"workspace" text NOT NULL,
	"day" date NOT NULL,
	"versions" bigint NOT NULL,
	CONSTRAINT "batch_call_history_daily_workspace_day_pk" PRIMARY KEY("workspace","day")
);
--> statement-breakpoint
INSERT INTO "batch_call_history_daily" (workspace, day, versions)
SELECT workspace, (observed_at AT TIME ZONE 'UTC')::date, count(*) FROM "batch_call_history" GROUP BY 1, 2;--> statement-breakpoint
-- Existing history in one pass, before the new indexes exist (each row is written once, not once per index).
-- Only rows that differ from the defaults are written: a job's single current version stays as it is.
UPDATE "batch_call_history" h
SET valid_to = x.valid_to, previous_status = x.previous_status
FROM (
  SELECT v.workspace, v.id, v.last_updated_at_unix,
         COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS valid_to,
         lag(v.status) OVER w AS previous_status
  FROM "batch_call_history" v
  LEFT JOIN "batch_calls" c ON c.workspace = v.workspace AND c.id = v.id
  WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
) x
WHERE h.workspace = x.workspace AND h.id = x.id AND h.last_updated_at_unix = x.last_updated_at_unix
  AND (x.valid_to <> 'infinity' OR x.previous_status IS NOT NULL);--> statement-breakpoint
CREATE INDEX "batch_call_history_valid_idx" ON "batch_call_history" USING btree ("valid_to","last_updated_at","workspace","status","agent_id");--> statement-breakpoint
CREATE INDEX "batch_call_history_valid_from_brin" ON "batch_call_history" USING brin ("last_updated_at");--> statement-breakpoint
CREATE INDEX "batch_call_history_run_brin" ON "batch_call_history" USING brin ("run_id");--> statement-breakpoint
CREATE INDEX "batch_call_history_final_idx" ON "batch_call_history" USING btree ("workspace","id","last_updated_at_unix","status","last_updated_at") WHERE status = ANY (ARRAY['completed'::text, 'failed'::text, 'cancelled'::text]);--> statement-breakpoint
CREATE INDEX "batch_call_history_transition_idx" ON "batch_call_history" USING btree ("last_updated_at","workspace","previous_status","status","id") WHERE previous_status IS DISTINCT FROM status AND previous_status IS NOT NULL;--> statement-breakpoint
CREATE INDEX "batch_calls_live_day_idx" ON "batch_calls" USING btree (((created_at AT TIME ZONE 'UTC'::text)::date)) WHERE deleted_at IS NULL;--> statement-breakpoint
CREATE INDEX "batch_calls_live_month_idx" ON "batch_calls" USING btree (((date_trunc('month'::text, (created_at AT TIME ZONE 'UTC'::text)))::date)) WHERE deleted_at IS NULL;--> statement-breakpoint
-- Replaces batch_calls_workspace_created_idx (workspace, created_at_unix), which no query filtered by: the views and
-- analysts filter created_at, across workspaces.
DROP INDEX "batch_calls_workspace_created_idx";--> statement-breakpoint
CREATE INDEX "batch_calls_created_idx" ON "batch_calls" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "sync_runs_workspace_started_id_idx" ON "sync_runs" USING btree ("workspace","started_at" DESC NULLS LAST,"id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "sync_runs_workspace_kind_id_idx" ON "sync_runs" USING btree ("workspace","kind","id" DESC NULLS LAST);--> statement-breakpoint
CREATE INDEX "sync_runs_last_success_idx" ON "sync_runs" USING btree ("workspace","finished_at" DESC NULLS LAST) WHERE status = 'succeeded' AND finished_at IS NOT NULL;--> statement-breakpoint
CREATE INDEX "sync_runs_reconcile_decision_idx" ON "sync_runs" USING btree ("workspace","finished_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE kind = 'reconcile' AND finished_at IS NOT NULL AND (status = 'succeeded' OR stop_reason = 'delete_guard');--> statement-breakpoint
-- Recomputes valid_to and previous_status of every version of the given jobs (pairs workspaces[i], ids[i]) from
-- history and batch_calls.deleted_at, and writes only the rows that changed. A job has a handful of versions, so
-- recomputing all of them is as cheap as working out which one a change touched, and it is right for any change:
-- a late version, a deleted or re-keyed one, an amendment that changed the status, a delete mark set or cleared.
-- Dynamic SQL so that each call is planned for its own number of jobs (one page, or a bulk backfill).
CREATE FUNCTION batch_call_history_restamp(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  EXECUTE $q$
    UPDATE public.batch_call_history h
    SET valid_to = x.valid_to, previous_status = x.previous_status
    FROM (
      SELECT v.workspace, v.id, v.last_updated_at_unix, v.valid_to AS stored_to, v.previous_status AS stored_previous,
             COALESCE(lead(v.last_updated_at) OVER w, c.deleted_at, 'infinity') AS valid_to,
             lag(v.status) OVER w AS previous_status
      FROM (SELECT DISTINCT k.workspace, k.id FROM unnest($1::text[], $2::text[]) AS k(workspace, id)) k
      JOIN public.batch_call_history v ON v.workspace = k.workspace AND v.id = k.id
      LEFT JOIN public.batch_calls c ON c.workspace = k.workspace AND c.id = k.id
      WINDOW w AS (PARTITION BY v.workspace, v.id ORDER BY v.last_updated_at_unix)
    ) x
    WHERE h.workspace = x.workspace AND h.id = x.id AND h.last_updated_at_unix = x.last_updated_at_unix
      AND (x.valid_to IS DISTINCT FROM x.stored_to OR x.previous_status IS DISTINCT FROM x.stored_previous)
  $q$ USING workspaces, ids;
END
$$;--> statement-breakpoint
-- Statement-level, over the rows the statement inserted or deleted: one call per page, not per row. It also counts
-- the versions per workspace and UTC day of observed_at (batch_call_history_daily). An inserted
-- version that is its job's only one, of a job not marked deleted, already holds the right values (the defaults):
-- a first load, or a page of new jobs, restamps nothing. The filter probes history's primary key and
-- batch_calls' primary key once per inserted row, as scalar subqueries (never turned into joins), so the plan
-- plpgsql caches is the same index probes for a page or a bulk backfill.
-- A page the sync found unchanged inserts nothing and returns at the first line.
CREATE FUNCTION batch_call_history_touched() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  workspaces text[];
  ids text[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM touched) THEN
    RETURN NULL;
  END IF;
  IF TG_OP = 'DELETE' THEN
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids FROM (SELECT DISTINCT workspace, id FROM touched) t;
  ELSE
    -- Two versions of one job inserted together each see the other; restamp de-duplicates the pairs.
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids
    FROM touched t
    WHERE (SELECT 1 FROM public.batch_call_history o
           WHERE o.workspace = t.workspace AND o.id = t.id AND o.last_updated_at_unix <> t.last_updated_at_unix LIMIT 1) IS NOT NULL
       OR (SELECT c.deleted_at FROM public.batch_calls c WHERE c.workspace = t.workspace AND c.id = t.id) IS NOT NULL;
  END IF;
  IF workspaces IS NOT NULL THEN
    PERFORM public.batch_call_history_restamp(workspaces, ids);
  END IF;
  INSERT INTO public.batch_call_history_daily AS d (workspace, day, versions)
  SELECT t.workspace, (t.observed_at AT TIME ZONE 'UTC')::date, CASE WHEN TG_OP = 'DELETE' THEN -count(*) ELSE count(*) END
  FROM touched t GROUP BY 1, 2
  ON CONFLICT (workspace, day) DO UPDATE SET versions = d.versions + excluded.versions;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_inserted AFTER INSERT ON batch_call_history
REFERENCING NEW TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_touched();--> statement-breakpoint
CREATE TRIGGER batch_call_history_deleted AFTER DELETE ON batch_call_history
REFERENCING OLD TABLE AS touched FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_touched();--> statement-breakpoint
-- A version re-keyed or its status changed (an amendment, an operator's repair). Row-level: the sync's amendments
-- list these columns, but the WHEN clause skips every row whose key and status stayed (the usual amendment).
CREATE FUNCTION batch_call_history_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM public.batch_call_history_restamp(ARRAY[OLD.workspace, NEW.workspace], ARRAY[OLD.id, NEW.id]);
  IF OLD.workspace IS DISTINCT FROM NEW.workspace OR (OLD.observed_at AT TIME ZONE 'UTC')::date <> (NEW.observed_at AT TIME ZONE 'UTC')::date THEN
    UPDATE public.batch_call_history_daily SET versions = versions - 1
    WHERE workspace = OLD.workspace AND day = (OLD.observed_at AT TIME ZONE 'UTC')::date;
    INSERT INTO public.batch_call_history_daily AS d (workspace, day, versions)
    VALUES (NEW.workspace, (NEW.observed_at AT TIME ZONE 'UTC')::date, 1)
    ON CONFLICT (workspace, day) DO UPDATE SET versions = d.versions + 1;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_changed AFTER UPDATE OF workspace, id, last_updated_at_unix, status, observed_at ON batch_call_history
FOR EACH ROW
WHEN (OLD.workspace IS DISTINCT FROM NEW.workspace OR OLD.id IS DISTINCT FROM NEW.id
      OR OLD.last_updated_at_unix IS DISTINCT FROM NEW.last_updated_at_unix OR OLD.status IS DISTINCT FROM NEW.status
      OR OLD.observed_at IS DISTINCT FROM NEW.observed_at)
EXECUTE FUNCTION batch_call_history_changed();--> statement-breakpoint
-- TRUNCATE fires no row or transition triggers: the counts go with the rows.
CREATE FUNCTION batch_call_history_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  DELETE FROM public.batch_call_history_daily;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_truncated AFTER TRUNCATE ON batch_call_history
FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_truncated();--> statement-breakpoint
-- The newest version of a job ends at its deleted_at: follow every change of the mark (a reconciliation's deletes, a
-- page's undeletes, an operator's INSERT, UPDATE or DELETE of batch_calls). Rows without a mark skip it in WHEN.
CREATE FUNCTION batch_calls_mark_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    PERFORM public.batch_call_history_restamp(ARRAY[NEW.workspace], ARRAY[NEW.id]);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM public.batch_call_history_restamp(ARRAY[OLD.workspace], ARRAY[OLD.id]);
  ELSE
    PERFORM public.batch_call_history_restamp(ARRAY[OLD.workspace, NEW.workspace], ARRAY[OLD.id, NEW.id]);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_mark_inserted AFTER INSERT ON batch_calls
FOR EACH ROW WHEN (NEW.deleted_at IS NOT NULL) EXECUTE FUNCTION batch_calls_mark_changed();--> statement-breakpoint
CREATE TRIGGER batch_calls_mark_updated AFTER UPDATE OF deleted_at, workspace, id ON batch_calls
FOR EACH ROW
WHEN (OLD.deleted_at IS DISTINCT FROM NEW.deleted_at OR OLD.workspace IS DISTINCT FROM NEW.workspace OR OLD.id IS DISTINCT FROM NEW.id)
EXECUTE FUNCTION batch_calls_mark_changed();--> statement-breakpoint
CREATE TRIGGER batch_calls_mark_deleted AFTER DELETE ON batch_calls
FOR EACH ROW WHEN (OLD.deleted_at IS NOT NULL) EXECUTE FUNCTION batch_calls_mark_changed();--> statement-breakpoint
-- Same columns as before (valid_to is NULL while current), plus valid_until: the stored end, 'infinity' while
-- current, which is what the index serves. No window any more: every filter reaches the table.
CREATE OR REPLACE VIEW batch_call_versions AS
SELECT
  h.workspace, h.id, h.phone_number_id, h.phone_provider, h.whatsapp_params, h.name, h.agent_id,
  h.created_at_unix, h.scheduled_time_unix, h.total_calls_dispatched, h.total_calls_scheduled, h.total_calls_finished,
  h.last_updated_at_unix, h.status, h.retry_count, h.agent_name, h.created_at, h.scheduled_time, h.last_updated_at,
  h.raw, h.observed_at, h.run_id, h.amended_at,
  h.last_updated_at AS valid_from,
  NULLIF(h.valid_to, 'infinity') AS valid_to,
  h.valid_to AS valid_until,
  h.previous_status
FROM batch_call_history h;--> statement-breakpoint
COMMENT ON VIEW batch_call_versions IS 'Every observed version of every batch call with valid_from/valid_to (NULL while current) and valid_until (''infinity'' while current, indexed): the state at time T is WHERE valid_from <= T AND valid_until > T.';--> statement-breakpoint
CREATE OR REPLACE FUNCTION batch_calls_as_of(ts timestamptz)
RETURNS SETOF batch_call_versions
LANGUAGE sql STABLE
AS $$
  SELECT * FROM batch_call_versions WHERE valid_until > ts AND valid_from <= ts
$$;--> statement-breakpoint
-- All-time counts per transition, read from the partial index of transitions alone.
CREATE OR REPLACE VIEW bi_status_transitions AS
SELECT workspace, previous_status AS from_status, status AS to_status, count(*)::int AS transitions
FROM batch_call_history
WHERE previous_status IS DISTINCT FROM status AND previous_status IS NOT NULL
GROUP BY workspace, previous_status, status;--> statement-breakpoint
-- One row per observed status change, with when it happened: "last month" reads one month of the index.
CREATE VIEW bi_status_transition_events AS
SELECT workspace, id, previous_status AS from_status, status AS to_status, last_updated_at AS changed_at
FROM batch_call_history
WHERE previous_status IS DISTINCT FROM status AND previous_status IS NOT NULL;--> statement-breakpoint
-- Per workspace through the runs' indexes: a skip scan finds the workspaces, then two probes each.
CREATE OR REPLACE VIEW bi_sync_freshness AS
WITH RECURSIVE workspaces AS (
  (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
  UNION ALL
  SELECT (SELECT r.workspace FROM sync_runs r WHERE r.workspace > w.workspace ORDER BY r.workspace LIMIT 1)
  FROM workspaces w WHERE w.workspace IS NOT NULL
)
SELECT
  w.workspace,
  s.finished_at AS last_success_at,
  now() - s.finished_at AS age,
  extract(epoch FROM now() - s.finished_at)::bigint AS age_seconds,
  l.status AS last_run_status,
  l.started_at AS last_run_started_at
FROM workspaces w
LEFT JOIN LATERAL (
  SELECT r.finished_at FROM sync_runs r
  WHERE r.workspace = w.workspace AND r.status = 'succeeded' AND r.finished_at IS NOT NULL
  ORDER BY r.finished_at DESC NULLS LAST LIMIT 1
) s ON true
LEFT JOIN LATERAL (
  SELECT r.status, r.started_at FROM sync_runs r
  WHERE r.workspace = w.workspace
  ORDER BY r.started_at DESC NULLS LAST, r.id DESC NULLS LAST LIMIT 1
) l ON true
WHERE w.workspace IS NOT NULL;
