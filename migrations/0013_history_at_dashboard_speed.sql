CREATE TABLE "batch_call_completion" (
	"workspace" text NOT NULL,
	"id" text NOT NULL,
	"final_status" text NOT NULL,
	"final_at_unix" bigint NOT NULL,
	"final_at" timestamp with time zone NOT NULL,
	CONSTRAINT "batch_call_completion_workspace_id_pk" PRIMARY KEY("workspace","id")
);
--> statement-breakpoint
CREATE TABLE "batch_call_day_changes" (
	"workspace" text NOT NULL,
	"status" text NOT NULL,
	"agent_id" text NOT NULL,
	"day" date NOT NULL,
	"jobs" bigint NOT NULL,
	CONSTRAINT "batch_call_day_changes_workspace_status_agent_id_day_pk" PRIMARY KEY("workspace","status","agent_id","day")
);
--> statement-breakpoint
CREATE TABLE "batch_call_live_jobs" (
	"workspace" text PRIMARY KEY NOT NULL,
	"jobs" bigint NOT NULL
);
--> statement-breakpoint
CREATE INDEX "batch_call_history_changed_idx" ON "batch_call_history" USING btree ("last_updated_at","workspace","status","agent_id","valid_to","id");--> statement-breakpoint
-- History at the speed of a dashboard (issue 22, item 3). Three things kept by triggers, so they are right whoever
-- writes: the number of jobs per workspace, status and agent at the end of each day (batch_call_day_changes), each
-- job's first final version (batch_call_completion) and each workspace's live jobs (batch_call_live_jobs).
--
-- The daily counts agree exactly with batch_calls_as_of: the end of day D in the reporting zone is the instant
-- T_D = (D + 1) at 00:00 there, and a version is counted at T_D when valid_from <= T_D < valid_to. The first such
-- day is the zone's date of (valid_from - 1 µs) (a version beginning at midnight is counted at the end of the day
-- before), and the first day it is no longer counted is the same of valid_to; with valid_to <= valid_from (a delete
-- mark older than the version) it is never counted. A version therefore adds +1 and -1 on two days, and the count
-- at the end of D is the sum up to D. Every change to valid_to goes through batch_call_history_restamp, which adds
-- what it changed; inserts, deletes and key or status updates of versions add theirs in the triggers below.
CREATE FUNCTION batch_call_day_steps(valid_from timestamptz, valid_to timestamptz, zone text)
RETURNS TABLE (day date, jobs integer)
LANGUAGE sql STABLE
AS $$
  SELECT s.day, s.jobs
  FROM (SELECT pg_catalog.timezone(zone, valid_from OPERATOR(pg_catalog.-) interval '1 microsecond')::date AS first_day,
               CASE WHEN valid_to OPERATOR(pg_catalog.<>) 'infinity'::timestamptz
                    THEN pg_catalog.timezone(zone, valid_to OPERATOR(pg_catalog.-) interval '1 microsecond')::date END AS last_day) d
  CROSS JOIN LATERAL (VALUES (d.first_day, 1), (d.last_day, -1)) s(day, jobs)
  WHERE (d.last_day IS NULL OR d.last_day OPERATOR(pg_catalog.>) d.first_day) AND s.day IS NOT NULL
$$;--> statement-breakpoint
COMMENT ON FUNCTION batch_call_day_steps(timestamptz, timestamptz, text) IS 'What one version adds to batch_call_day_changes: +1 on the first day (in zone) at whose end it is current, -1 on the first day at whose end it no longer is.';--> statement-breakpoint
-- The days of every version, from scratch, in `zone`: the upgrade's backfill and a change of reporting zone. Writers
-- of history wait (SHARE), so none adds a change in the old zone behind the rebuild; readers do not.
CREATE FUNCTION batch_call_day_changes_rebuild(zone text) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  LOCK TABLE public.batch_call_history IN SHARE MODE;
  DELETE FROM public.batch_call_day_changes;
  INSERT INTO public.batch_call_day_changes (workspace, status, agent_id, day, jobs)
  SELECT h.workspace, h.status, h.agent_id, s.day, sum(s.jobs)
  FROM public.batch_call_history h
  CROSS JOIN LATERAL public.batch_call_day_steps(h.last_updated_at, h.valid_to, zone) s
  GROUP BY 1, 2, 3, 4
  HAVING sum(s.jobs) <> 0;
END
$$;--> statement-breakpoint
-- As in 0006, and what it changed goes to the daily counts in the same statement: RETURNING carries each restamped
-- version's stored and new end. Only valid_to matters there; previous_status does not count.
CREATE OR REPLACE FUNCTION batch_call_history_restamp(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM public.batch_call_history_lock(workspaces);
  EXECUTE $q$
    WITH restamped AS (
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
      RETURNING h.workspace, h.status, h.agent_id, h.last_updated_at, x.stored_to, x.valid_to
    ), zone AS (
      SELECT public.report_time_zone() AS name
    )
    INSERT INTO public.batch_call_day_changes AS d (workspace, status, agent_id, day, jobs)
    SELECT r.workspace, r.status, r.agent_id, s.day, sum(s.jobs * e.sign)
    FROM restamped r
    CROSS JOIN zone z
    CROSS JOIN LATERAL (VALUES (r.valid_to, 1), (r.stored_to, -1)) e(valid_to, sign)
    CROSS JOIN LATERAL public.batch_call_day_steps(r.last_updated_at, e.valid_to, z.name) s
    WHERE r.valid_to IS DISTINCT FROM r.stored_to
    GROUP BY 1, 2, 3, 4
    HAVING sum(s.jobs * e.sign) <> 0
    ORDER BY 1, 2, 3, 4
    ON CONFLICT (workspace, status, agent_id, day) DO UPDATE SET jobs = d.jobs + excluded.jobs
  $q$ USING workspaces, ids;
END
$$;--> statement-breakpoint
-- A job's first final version, from history, for the given jobs (pairs workspaces[i], ids[i]): a version deleted or
-- re-keyed, or a status amended, can move it or take it away. One probe of batch_call_history_final_idx per job.
CREATE FUNCTION batch_call_completion_recompute(workspaces text[], ids text[]) RETURNS void
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  DELETE FROM public.batch_call_completion f
  USING (SELECT DISTINCT k.workspace, k.id FROM unnest(workspaces, ids) AS k(workspace, id)) k
  WHERE f.workspace = k.workspace AND f.id = k.id;
  INSERT INTO public.batch_call_completion (workspace, id, final_status, final_at_unix, final_at)
  SELECT k.workspace, k.id, h.status, h.last_updated_at_unix, h.last_updated_at
  FROM (SELECT DISTINCT k.workspace, k.id FROM unnest(workspaces, ids) AS k(workspace, id)) k
  CROSS JOIN LATERAL (
    SELECT v.status, v.last_updated_at_unix, v.last_updated_at FROM public.batch_call_history v
    WHERE v.workspace = k.workspace AND v.id = k.id AND v.status IN ('completed', 'failed', 'cancelled')
    ORDER BY v.last_updated_at_unix LIMIT 1
  ) h
  ORDER BY 1, 2;
END
$$;--> statement-breakpoint
-- Versions inserted (a page, a backfill, a late version): their days as inserted (restamp adds any later change of
-- their end), and a final version that is its job's earliest becomes its completion. Runs after the workspace lock
-- of 0006 (taken again here, in case a trigger before this one did not), so two writers of a workspace never wait
-- on each other's rows here.
CREATE FUNCTION batch_call_history_snapshot_inserted() RETURNS trigger
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
  INSERT INTO public.batch_call_completion AS f (workspace, id, final_status, final_at_unix, final_at)
  SELECT DISTINCT ON (t.workspace, t.id) t.workspace, t.id, t.status, t.last_updated_at_unix, t.last_updated_at
  FROM added t
  WHERE t.status IN ('completed', 'failed', 'cancelled')
  ORDER BY t.workspace, t.id, t.last_updated_at_unix
  ON CONFLICT (workspace, id) DO UPDATE
    SET final_status = excluded.final_status, final_at_unix = excluded.final_at_unix, final_at = excluded.final_at
    WHERE excluded.final_at_unix < f.final_at_unix;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_snapshot_inserted AFTER INSERT ON batch_call_history
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_snapshot_inserted();--> statement-breakpoint
-- Versions deleted (an operator's repair): their days as they stood, and the completions they may have been.
CREATE FUNCTION batch_call_history_snapshot_deleted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  zone text;
  workspaces text[];
  ids text[];
BEGIN
  IF NOT EXISTS (SELECT 1 FROM removed) THEN
    RETURN NULL;
  END IF;
  PERFORM public.batch_call_history_lock((SELECT array_agg(DISTINCT t.workspace) FROM removed t));
  zone := public.report_time_zone();
  INSERT INTO public.batch_call_day_changes AS d (workspace, status, agent_id, day, jobs)
  SELECT t.workspace, t.status, t.agent_id, s.day, -sum(s.jobs)
  FROM removed t CROSS JOIN LATERAL public.batch_call_day_steps(t.last_updated_at, t.valid_to, zone) s
  GROUP BY 1, 2, 3, 4
  HAVING sum(s.jobs) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (workspace, status, agent_id, day) DO UPDATE SET jobs = d.jobs + excluded.jobs;
  SELECT array_agg(t.workspace), array_agg(t.id) INTO workspaces, ids
  FROM (SELECT DISTINCT r.workspace, r.id FROM removed r WHERE r.status IN ('completed', 'failed', 'cancelled')) t;
  IF workspaces IS NOT NULL THEN
    PERFORM public.batch_call_completion_recompute(workspaces, ids);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_snapshot_deleted AFTER DELETE ON batch_call_history
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_snapshot_deleted();--> statement-breakpoint
-- A version re-keyed, or its status or agent amended: out with the old row's days, in with the new one's (each with
-- the end it had; restamp adds the change of end that follows), and both jobs' completions again. Row-level: the
-- WHEN clause skips the usual amendment, which changes neither.
CREATE FUNCTION batch_call_history_snapshot_changed() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  zone text;
BEGIN
  PERFORM public.batch_call_history_lock(ARRAY[OLD.workspace, NEW.workspace]);
  zone := public.report_time_zone();
  INSERT INTO public.batch_call_day_changes AS d (workspace, status, agent_id, day, jobs)
  SELECT v.workspace, v.status, v.agent_id, s.day, sum(s.jobs * v.sign)
  FROM (VALUES (OLD.workspace, OLD.status, OLD.agent_id, OLD.last_updated_at, OLD.valid_to, -1),
               (NEW.workspace, NEW.status, NEW.agent_id, NEW.last_updated_at, NEW.valid_to, 1)) v(workspace, status, agent_id, valid_from, valid_to, sign)
  CROSS JOIN LATERAL public.batch_call_day_steps(v.valid_from, v.valid_to, zone) s
  GROUP BY 1, 2, 3, 4
  HAVING sum(s.jobs * v.sign) <> 0
  ORDER BY 1, 2, 3, 4
  ON CONFLICT (workspace, status, agent_id, day) DO UPDATE SET jobs = d.jobs + excluded.jobs;
  PERFORM public.batch_call_completion_recompute(ARRAY[OLD.workspace, NEW.workspace], ARRAY[OLD.id, NEW.id]);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_snapshot_changed AFTER UPDATE OF workspace, id, last_updated_at_unix, status, agent_id ON batch_call_history
FOR EACH ROW
WHEN (OLD.workspace IS DISTINCT FROM NEW.workspace OR OLD.id IS DISTINCT FROM NEW.id
      OR OLD.last_updated_at_unix IS DISTINCT FROM NEW.last_updated_at_unix OR OLD.status IS DISTINCT FROM NEW.status
      OR OLD.agent_id IS DISTINCT FROM NEW.agent_id)
EXECUTE FUNCTION batch_call_history_snapshot_changed();--> statement-breakpoint
CREATE FUNCTION batch_call_history_snapshot_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  DELETE FROM public.batch_call_day_changes;
  DELETE FROM public.batch_call_completion;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_call_history_snapshot_truncated AFTER TRUNCATE ON batch_call_history
FOR EACH STATEMENT EXECUTE FUNCTION batch_call_history_snapshot_truncated();--> statement-breakpoint
-- Live jobs per workspace. Inserted and deleted rows once a statement; a delete mark set or cleared (reconciliation,
-- an undelete) per row, skipped by WHEN for every other update, so a page's updates of current rows do nothing here.
-- The workspace's history lock first, as every other writer of these counts takes it before their rows.
CREATE FUNCTION batch_call_live_jobs_counted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    IF NOT EXISTS (SELECT 1 FROM added WHERE deleted_at IS NULL) THEN
      RETURN NULL;
    END IF;
    PERFORM public.batch_call_history_lock((SELECT array_agg(DISTINCT t.workspace) FROM added t));
    INSERT INTO public.batch_call_live_jobs AS l (workspace, jobs)
    SELECT t.workspace, count(*) FROM added t WHERE t.deleted_at IS NULL GROUP BY 1 ORDER BY 1
    ON CONFLICT (workspace) DO UPDATE SET jobs = l.jobs + excluded.jobs;
  ELSE
    IF NOT EXISTS (SELECT 1 FROM removed WHERE deleted_at IS NULL) THEN
      RETURN NULL;
    END IF;
    PERFORM public.batch_call_history_lock((SELECT array_agg(DISTINCT t.workspace) FROM removed t));
    UPDATE public.batch_call_live_jobs l SET jobs = l.jobs - r.jobs
    FROM (SELECT t.workspace, count(*) AS jobs FROM removed t WHERE t.deleted_at IS NULL GROUP BY 1) r
    WHERE l.workspace = r.workspace;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_live_inserted AFTER INSERT ON batch_calls
REFERENCING NEW TABLE AS added FOR EACH STATEMENT EXECUTE FUNCTION batch_call_live_jobs_counted();--> statement-breakpoint
CREATE TRIGGER batch_calls_live_deleted AFTER DELETE ON batch_calls
REFERENCING OLD TABLE AS removed FOR EACH STATEMENT EXECUTE FUNCTION batch_call_live_jobs_counted();--> statement-breakpoint
CREATE FUNCTION batch_calls_live_marked() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  PERFORM public.batch_call_history_lock(ARRAY[OLD.workspace, NEW.workspace]);
  IF OLD.deleted_at IS NULL THEN
    UPDATE public.batch_call_live_jobs SET jobs = jobs - 1 WHERE workspace = OLD.workspace;
  END IF;
  IF NEW.deleted_at IS NULL THEN
    INSERT INTO public.batch_call_live_jobs AS l (workspace, jobs) VALUES (NEW.workspace, 1)
    ON CONFLICT (workspace) DO UPDATE SET jobs = l.jobs + 1;
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_live_marked AFTER UPDATE OF deleted_at, workspace ON batch_calls
FOR EACH ROW
WHEN ((OLD.deleted_at IS NULL) <> (NEW.deleted_at IS NULL) OR OLD.workspace IS DISTINCT FROM NEW.workspace)
EXECUTE FUNCTION batch_calls_live_marked();--> statement-breakpoint
CREATE FUNCTION batch_calls_live_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  DELETE FROM public.batch_call_live_jobs;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER batch_calls_live_truncated AFTER TRUNCATE ON batch_calls
FOR EACH STATEMENT EXECUTE FUNCTION batch_calls_live_truncated();--> statement-breakpoint
-- As in 0012, and the daily counts are rebuilt for the new zone in the same transaction.
CREATE OR REPLACE FUNCTION set_report_time_zone(zone text) RETURNS boolean
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
  PERFORM public.batch_call_day_changes_rebuild(zone);
  DROP INDEX IF EXISTS public.batch_calls_live_day_idx;
  DROP INDEX IF EXISTS public.batch_calls_live_month_idx;
  ALTER INDEX public.batch_calls_live_day_idx_next RENAME TO batch_calls_live_day_idx;
  ALTER INDEX public.batch_calls_live_month_idx_next RENAME TO batch_calls_live_month_idx;
  UPDATE public.report_settings SET time_zone = zone, changed_at = now();
  RETURN true;
END
$$;--> statement-breakpoint
-- The days from `first` to the day before `stop`. A function that is not inlined (its SET clause), so that the
-- planner counts on a row or two per call, as there are once the days are dense: generate_series in its place is
-- estimated at 1,000 rows a call, and that estimate alone made Postgres JIT-compile the view's query (135 of 157 ms).
CREATE FUNCTION batch_call_days_between(first date, stop date) RETURNS SETOF date
LANGUAGE sql IMMUTABLE STRICT ROWS 2 SET search_path = pg_catalog
AS $$ SELECT first + i FROM generate_series(0, stop - first - 1) i $$;--> statement-breakpoint
-- Jobs per workspace, day (reporting zone), status and agent at the end of each day, from each key's first change
-- to today; a key with no jobs at a day's end has no row that day. A filter on workspace, status or agent_id is
-- pushed below the running sum (they are its partition), so "in progress each day" reads only those keys' changes.
-- A change row stands for its own day; only a gap before the next change calls the function above.
CREATE VIEW bi_daily_job_counts AS
SELECT r.workspace, d.day, r.status, r.agent_id, r.jobs
FROM (
  SELECT c.workspace, c.status, c.agent_id, c.day,
         (sum(c.jobs) OVER w)::bigint AS jobs,
         COALESCE(lead(c.day) OVER w, (now() AT TIME ZONE report_time_zone())::date + 1) AS stop
  FROM batch_call_day_changes c
  WINDOW w AS (PARTITION BY c.workspace, c.status, c.agent_id ORDER BY c.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) r
CROSS JOIN LATERAL (
  SELECT r.day AS day WHERE r.stop = r.day + 1
  UNION ALL
  SELECT s.day FROM batch_call_days_between(r.day, r.stop) s(day) WHERE r.stop > r.day + 1
) d
WHERE r.jobs <> 0;--> statement-breakpoint
COMMENT ON VIEW bi_daily_job_counts IS 'Jobs per workspace, status and agent at the end of each day in the reporting time zone (report_settings), up to today: what batch_calls_as_of(the next midnight there) counts. Days without jobs of a key have no row.';--> statement-breakpoint
-- The same per workspace and status, agents summed before the running sum: a workspace's year by status reads its
-- changes once and runs over a twelfth of the rows with 12 agents (bench/analytics: 110 ms through
-- bi_daily_job_counts at 2 M and 20 M versions).
CREATE VIEW bi_daily_jobs_by_status AS
SELECT r.workspace, d.day, r.status, r.jobs
FROM (
  SELECT c.workspace, c.status, c.day,
         (sum(c.jobs) OVER w)::bigint AS jobs,
         COALESCE(lead(c.day) OVER w, (now() AT TIME ZONE report_time_zone())::date + 1) AS stop
  FROM (SELECT workspace, status, day, sum(jobs) AS jobs FROM batch_call_day_changes GROUP BY workspace, status, day) c
  WINDOW w AS (PARTITION BY c.workspace, c.status ORDER BY c.day ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)
) r
CROSS JOIN LATERAL (
  SELECT r.day AS day WHERE r.stop = r.day + 1
  UNION ALL
  SELECT s.day FROM batch_call_days_between(r.day, r.stop) s(day) WHERE r.stop > r.day + 1
) d
WHERE r.jobs <> 0;--> statement-breakpoint
COMMENT ON VIEW bi_daily_jobs_by_status IS 'Jobs per workspace and status at the end of each day in the reporting time zone (bi_daily_job_counts with agents summed). Days without such jobs have no row.';--> statement-breakpoint
-- Counts as of any instant without reading every job alive then: the last day's end at or before ts from the daily
-- changes, plus the versions that began and ended since (two bounded index ranges, batch_call_history_changed_idx
-- and batch_call_history_valid_idx, read without the heap).
CREATE FUNCTION batch_calls_count_as_of(ts timestamptz)
RETURNS TABLE (workspace text, status text, agent_id text, jobs bigint)
LANGUAGE sql STABLE
AS $$
  WITH z AS (
    SELECT s.zone, s.day, (s.day + 1)::timestamp AT TIME ZONE s.zone AS day_end
    FROM (SELECT public.report_time_zone() AS zone,
                 (pg_catalog.timezone(public.report_time_zone(), ts) - interval '1 microsecond')::date AS guess) g
    CROSS JOIN LATERAL (
      -- The last day whose end is at or before ts (one of two around the local date, whatever the offset).
      SELECT g.zone, d.day FROM (VALUES (g.guess), (g.guess - 1)) d(day)
      WHERE ((d.day + 1)::timestamp AT TIME ZONE g.zone) <= ts ORDER BY d.day DESC LIMIT 1
    ) s
  ), parts AS (
    -- Scalar subqueries of z, so each range is an index condition, not a join filter.
    SELECT c.workspace, c.status, c.agent_id, c.jobs FROM public.batch_call_day_changes c WHERE c.day <= (SELECT z.day FROM z)
    UNION ALL
    SELECT h.workspace, h.status, h.agent_id, 1 FROM public.batch_call_history h
    WHERE h.last_updated_at > (SELECT z.day_end FROM z) AND h.last_updated_at <= ts AND h.valid_to > h.last_updated_at
    UNION ALL
    SELECT h.workspace, h.status, h.agent_id, -1 FROM public.batch_call_history h
    WHERE h.valid_to > (SELECT z.day_end FROM z) AND h.valid_to <= ts AND h.last_updated_at < h.valid_to
  )
  SELECT p.workspace, p.status, p.agent_id, sum(p.jobs)::bigint FROM parts p
  GROUP BY 1, 2, 3 HAVING sum(p.jobs) <> 0
$$;--> statement-breakpoint
COMMENT ON FUNCTION batch_calls_count_as_of(timestamptz) IS 'count(*) of batch_calls_as_of(ts) per workspace, status and agent_id, from the daily counts plus the part of a day since.';--> statement-breakpoint
-- Time to completion reads one stored row per job instead of probing history for each.
CREATE OR REPLACE VIEW bi_time_to_completion AS
SELECT
  c.workspace, c.id, c.name, c.agent_id, c.agent_name, c.created_at,
  f.final_status, f.final_at,
  f.final_at - c.created_at AS time_to_final,
  round(extract(epoch FROM f.final_at - c.created_at) / 3600, 2) AS hours_to_final
FROM batch_calls c
JOIN batch_call_completion f ON f.workspace = c.workspace AND f.id = c.id;--> statement-breakpoint
-- The backfill, with writers waiting: years of history are counted in one pass each.
LOCK TABLE "batch_call_history", "batch_calls" IN SHARE ROW EXCLUSIVE MODE;--> statement-breakpoint
SELECT batch_call_day_changes_rebuild(report_time_zone());--> statement-breakpoint
INSERT INTO batch_call_completion (workspace, id, final_status, final_at_unix, final_at)
SELECT DISTINCT ON (workspace, id) workspace, id, status, last_updated_at_unix, last_updated_at
FROM batch_call_history
WHERE status IN ('completed', 'failed', 'cancelled')
ORDER BY workspace, id, last_updated_at_unix;--> statement-breakpoint
INSERT INTO batch_call_live_jobs (workspace, jobs)
SELECT workspace, count(*) FROM batch_calls WHERE deleted_at IS NULL GROUP BY workspace;
