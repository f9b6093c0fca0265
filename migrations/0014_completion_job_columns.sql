ALTER TABLE "batch_call_completion" ADD COLUMN "name" text;--> statement-breakpoint
ALTER TABLE "batch_call_completion" ADD COLUMN "agent_id" text;--> statement-breakpoint
ALTER TABLE "batch_call_completion" ADD COLUMN "agent_name" text;--> statement-breakpoint
ALTER TABLE "batch_call_completion" ADD COLUMN "created_at" timestamp with time zone;--> statement-breakpoint
-- Time to completion without batch_calls (issue 22): at 20 M versions the 220 k jobs created in 30 days cost 733 ms of
-- heap reads of batch_calls for their created_at and agent, all time 1.6 s. bi_time_to_completion has always taken
-- name, agent and created_at from the job's batch_calls row as it is now (whichever version wrote it last, deleted
-- jobs included, no row without one), so batch_call_completion keeps a copy of exactly those: null while the job has
-- no batch_calls row (the view leaves it out, as the old join did), set again by every change of that row. Both sides
-- take the workspace's history lock before they read the other table, so a completion written while its job's row
-- changes in another transaction reads that row after the other commits.
--
-- The job's columns for the given jobs (pairs workspaces[i], ids[i]), from batch_calls as it is now.
CREATE FUNCTION batch_call_completion_job_refresh(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE public.batch_call_completion f
  SET name = c.name, agent_id = c.agent_id, agent_name = c.agent_name, created_at = c.created_at
  FROM (SELECT DISTINCT k.workspace, k.id FROM unnest(workspaces, ids) AS k(workspace, id)) k
  LEFT JOIN public.batch_calls c ON c.workspace = k.workspace AND c.id = k.id
  WHERE f.workspace = k.workspace AND f.id = k.id
    AND (f.name, f.agent_id, f.agent_name, f.created_at) IS DISTINCT FROM (c.name, c.agent_id, c.agent_name, c.created_at);
END
$$;--> statement-breakpoint
-- Jobs inserted or deleted, once a statement. A page's first load finds most of its jobs without a completion (and the
-- ones with one were filled by the history trigger of the same statement): 500 probes of the primary key.
CREATE FUNCTION batch_calls_completion_jobs() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  workspaces text[];
  ids text[];
BEGIN
  IF TG_OP = 'INSERT' THEN
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids FROM added t;
  ELSE
    SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids FROM removed t;
  END IF;
  IF workspaces IS NULL THEN
    RETURN NULL;
  END IF;
  PERFORM public.batch_call_history_lock(workspaces);
  PERFORM public.batch_call_completion_job_refresh(workspaces, ids);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_completion_inserted AFTER INSERT ON batch_calls
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION batch_calls_completion_jobs();--> statement-breakpoint
CREATE TRIGGER batch_calls_completion_deleted AFTER DELETE ON batch_calls
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION batch_calls_completion_jobs();--> statement-breakpoint
-- A job renamed, moved to another agent, its created_at amended or its key changed. Row-level: the WHEN clause skips
-- a page's usual update, which changes none of these.
CREATE FUNCTION batch_calls_completion_job_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM public.batch_call_history_lock(ARRAY[OLD.workspace, NEW.workspace]);
  PERFORM public.batch_call_completion_job_refresh(ARRAY[OLD.workspace, NEW.workspace], ARRAY[OLD.id, NEW.id]);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_completion_job_changed AFTER UPDATE OF workspace, id, name, agent_id, agent_name, created_at_unix ON batch_calls
FOR EACH ROW
WHEN (OLD.workspace IS DISTINCT FROM NEW.workspace OR OLD.id IS DISTINCT FROM NEW.id OR OLD.name IS DISTINCT FROM NEW.name
      OR OLD.agent_id IS DISTINCT FROM NEW.agent_id OR OLD.agent_name IS DISTINCT FROM NEW.agent_name
      OR OLD.created_at_unix IS DISTINCT FROM NEW.created_at_unix)
EXECUTE FUNCTION batch_calls_completion_job_changed();--> statement-breakpoint
CREATE FUNCTION batch_calls_completion_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  UPDATE public.batch_call_completion SET name = NULL, agent_id = NULL, agent_name = NULL, created_at = NULL
  WHERE created_at IS NOT NULL OR name IS NOT NULL OR agent_id IS NOT NULL OR agent_name IS NOT NULL;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_completion_truncated AFTER TRUNCATE ON batch_calls
FOR EACH STATEMENT EXECUTE FUNCTION batch_calls_completion_truncated();--> statement-breakpoint
-- As in 0013, with the job's columns read from batch_calls when a completion is written.
CREATE OR REPLACE FUNCTION batch_call_completion_recompute(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  DELETE FROM public.batch_call_completion f
  USING (SELECT DISTINCT k.workspace, k.id FROM unnest(workspaces, ids) AS k(workspace, id)) k
  WHERE f.workspace = k.workspace AND f.id = k.id;
  INSERT INTO public.batch_call_completion (workspace, id, final_status, final_at_unix, final_at, name, agent_id, agent_name, created_at)
  SELECT k.workspace, k.id, h.status, h.last_updated_at_unix, h.last_updated_at, c.name, c.agent_id, c.agent_name, c.created_at
  FROM (SELECT DISTINCT k.workspace, k.id FROM unnest(workspaces, ids) AS k(workspace, id)) k
  CROSS JOIN LATERAL (
    SELECT v.status, v.last_updated_at_unix, v.last_updated_at FROM public.batch_call_history v
    WHERE v.workspace = k.workspace AND v.id = k.id AND v.status IN ('completed', 'failed', 'cancelled')
    ORDER BY v.last_updated_at_unix LIMIT 1
  ) h
  LEFT JOIN public.batch_calls c ON c.workspace = k.workspace AND c.id = k.id
  ORDER BY 1, 2;
END
$$;--> statement-breakpoint
-- As in 0013, with the job's columns read from batch_calls for a new completion (an existing one has them already).
CREATE OR REPLACE FUNCTION batch_call_history_snapshot_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  zone text;
BEGIN
  IF NOT EXISTS (SELECT 1 FROM added) THEN
    RETURN NULL;
  END IF;
  PERFORM public.batch_call_history_lock((SELECT array_agg(DISTINCT t.workspace) FROM added t));
  zone := public.report_time_zone();
  -- A version inserted current (valid_to 'infinity', a page's usual case) has one step, its first day: computed
  -- directly, it costs a page's first load about half of what the general form costs.
  INSERT INTO public.batch_call_day_changes AS d (workspace, status, agent_id, day, jobs)
  SELECT x.workspace, x.status, x.agent_id, x.day, sum(x.jobs)
  FROM (
    SELECT t.workspace, t.status, t.agent_id, pg_catalog.timezone(zone, t.last_updated_at - interval '1 microsecond')::date AS day, 1 AS jobs
    FROM added t WHERE t.valid_to = 'infinity'
    UNION ALL
    SELECT t.workspace, t.status, t.agent_id, s.day, s.jobs
    FROM added t CROSS JOIN LATERAL public.batch_call_day_steps(t.last_updated_at, t.valid_to, zone) s
    WHERE t.valid_to <> 'infinity'
  ) x
  GROUP BY 1, 2, 3, 4
  HAVING sum(x.jobs) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (workspace, status, agent_id, day) DO UPDATE SET jobs = d.jobs + excluded.jobs;
  INSERT INTO public.batch_call_completion AS f (workspace, id, final_status, final_at_unix, final_at, name, agent_id, agent_name, created_at)
  SELECT t.workspace, t.id, t.status, t.last_updated_at_unix, t.last_updated_at, c.name, c.agent_id, c.agent_name, c.created_at
  FROM (
    SELECT DISTINCT ON (t.workspace, t.id) t.workspace, t.id, t.status, t.last_updated_at_unix, t.last_updated_at
    FROM added t
    WHERE t.status IN ('completed', 'failed', 'cancelled')
    ORDER BY t.workspace, t.id, t.last_updated_at_unix
  ) t
  LEFT JOIN public.batch_calls c ON c.workspace = t.workspace AND c.id = t.id
  ORDER BY t.workspace, t.id
  ON CONFLICT (workspace, id) DO UPDATE
    SET final_status = excluded.final_status, final_at_unix = excluded.final_at_unix, final_at = excluded.final_at
    WHERE excluded.final_at_unix < f.final_at_unix;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Same columns, same meaning as 0002's: a job with a batch_calls row and a final version in history.
CREATE OR REPLACE VIEW bi_time_to_completion AS
SELECT
  f.workspace, f.id, f.name, f.agent_id, f.agent_name, f.created_at,
  f.final_status, f.final_at,
  f.final_at - f.created_at AS time_to_final,
  round(extract(epoch FROM f.final_at - f.created_at) / 3600, 2) AS hours_to_final
FROM batch_call_completion f
WHERE f.created_at IS NOT NULL;--> statement-breakpoint
-- The backfill, with writers waiting. Rewritten rather than updated in place, so the table is not left with a dead
-- copy of every row, and in created_at order, so a range of the index below reads adjacent pages.
LOCK TABLE "batch_call_history", "batch_calls", "batch_call_completion" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
CREATE TEMPORARY TABLE batch_call_completion_0014 AS
SELECT f.workspace, f.id, f.final_status, f.final_at_unix, f.final_at, c.name, c.agent_id, c.agent_name, c.created_at
FROM batch_call_completion f
LEFT JOIN batch_calls c ON c.workspace = f.workspace AND c.id = f.id;--> statement-breakpoint
TRUNCATE batch_call_completion;--> statement-breakpoint
INSERT INTO batch_call_completion (workspace, id, final_status, final_at_unix, final_at, name, agent_id, agent_name, created_at)
SELECT workspace, id, final_status, final_at_unix, final_at, name, agent_id, agent_name, created_at
FROM batch_call_completion_0014
ORDER BY created_at;--> statement-breakpoint
DROP TABLE batch_call_completion_0014;--> statement-breakpoint
CREATE INDEX "batch_call_completion_created_idx" ON "batch_call_completion" USING btree ("created_at");--> statement-breakpoint
ANALYZE batch_call_completion;
