CREATE TABLE "sync_workspaces" (
	"workspace" text PRIMARY KEY NOT NULL,
	"first_run_at" timestamp with time zone NOT NULL,
	"last_run_at" timestamp with time zone NOT NULL,
	"last_success_at" timestamp with time zone,
	"last_success_started_at" timestamp with time zone,
	"failing_runs" integer DEFAULT 0 NOT NULL,
	"failing_since" timestamp with time zone,
	"failing_error" text,
	"list_order" text,
	"list_order_at" timestamp with time zone,
	"reconcile_decided_at" timestamp with time zone,
	"reconcile_refused" boolean DEFAULT false NOT NULL,
	"reconcile_refused_error" text
);
--> statement-breakpoint
ALTER TABLE "sync_runs" ADD COLUMN "alive_at" timestamp with time zone DEFAULT now();--> statement-breakpoint
CREATE INDEX "sync_runs_running_idx" ON "sync_runs" USING btree ("workspace") WHERE status = 'running';--> statement-breakpoint
-- sync_workspaces follows sync_runs: runs inserted, and each change of a run's status. A failing streak is recounted
-- from the runs started since the last success (an index range of sync_runs_workspace_started_id_idx), so it is
-- exact whatever order runs close in; the rest only moves forward in time.
CREATE FUNCTION sync_workspaces_follow_run() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
DECLARE
  old_status text := OLD.status;
  streak integer := 0;
BEGIN
  -- A failed run resumed (failed -> running) leaves the streak until it ends again.
  IF NEW.status IS NOT DISTINCT FROM old_status OR (NEW.status = 'running' AND old_status IS DISTINCT FROM 'failed') THEN
    RETURN NULL;
  END IF;
  IF NEW.status = 'succeeded' THEN
    UPDATE sync_workspaces
       SET last_success_at = GREATEST(last_success_at, NEW.finished_at),
           last_success_started_at = GREATEST(last_success_started_at, NEW.started_at)
     WHERE workspace = NEW.workspace
    RETURNING failing_runs INTO streak;
  END IF;
  -- A success with no streak before it leaves none (the usual close, and every row of a bulk load of good runs), so
  -- the streak is recounted only when a run fails, a failed one resumes, or a success may end a streak. EXECUTE
  -- plans the count each time: a plan cached while sync_runs was small would seq-scan it once per row of a bulk load.
  IF NEW.status = 'failed' OR old_status = 'failed' OR (NEW.status = 'succeeded' AND streak > 0) THEN
    EXECUTE $count$
      UPDATE sync_workspaces w
         SET (failing_runs, failing_since, failing_error) = (
           SELECT count(*)::int, min(s.started_at), (array_agg(s.error ORDER BY s.started_at DESC, s.id DESC))[1]
             FROM sync_runs s
            WHERE s.workspace = $1 AND s.status = 'failed'
              AND s.started_at > COALESCE(w.last_success_started_at, '-infinity'::timestamptz))
       WHERE w.workspace = $1$count$
    USING NEW.workspace;
  END IF;
  IF NEW.list_order IS NOT NULL AND NEW.status <> 'running' THEN
    UPDATE sync_workspaces
       SET list_order = NEW.list_order, list_order_at = NEW.started_at
     WHERE workspace = NEW.workspace AND (list_order_at IS NULL OR list_order_at <= NEW.started_at);
  END IF;
  -- The same rule as sync_runs_reconcile_decision_idx: a reconciliation that decided about deletes.
  IF NEW.kind = 'reconcile' AND NEW.finished_at IS NOT NULL AND (NEW.status = 'succeeded' OR NEW.stop_reason = 'delete_guard') THEN
    UPDATE sync_workspaces
       SET reconcile_decided_at = NEW.finished_at,
           reconcile_refused = COALESCE(NEW.stop_reason = 'delete_guard', false),
           reconcile_refused_error = CASE WHEN NEW.stop_reason = 'delete_guard' THEN NEW.error END
     WHERE workspace = NEW.workspace AND (reconcile_decided_at IS NULL OR reconcile_decided_at <= NEW.finished_at);
  END IF;
  RETURN NULL;
END
$$;--> statement-breakpoint
-- Inserts, once a statement: a run starts one row at a time, but a backfill or a bench inserts thousands at once,
-- and row by row each recount would see every later row of the statement already in the table.
CREATE FUNCTION sync_workspaces_runs_inserted() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  INSERT INTO sync_workspaces AS w (workspace, first_run_at, last_run_at, last_success_at, last_success_started_at)
  SELECT i.workspace, min(i.started_at), max(i.started_at),
         max(i.finished_at) FILTER (WHERE i.status = 'succeeded'), max(i.started_at) FILTER (WHERE i.status = 'succeeded')
    FROM inserted i GROUP BY i.workspace
  ON CONFLICT (workspace) DO UPDATE
    SET first_run_at = LEAST(w.first_run_at, EXCLUDED.first_run_at),
        last_run_at = GREATEST(w.last_run_at, EXCLUDED.last_run_at),
        last_success_at = GREATEST(w.last_success_at, EXCLUDED.last_success_at),
        last_success_started_at = GREATEST(w.last_success_started_at, EXCLUDED.last_success_started_at);
  -- Rows inserted already finished (a backfill, a test): the streak of each workspace that got a failed one, or a
  -- success that may end a streak, counted once.
  UPDATE sync_workspaces w
     SET (failing_runs, failing_since, failing_error) = (
       SELECT count(*)::int, min(s.started_at), (array_agg(s.error ORDER BY s.started_at DESC, s.id DESC))[1]
         FROM sync_runs s
        WHERE s.workspace = w.workspace AND s.status = 'failed'
          AND s.started_at > COALESCE(w.last_success_started_at, '-infinity'::timestamptz))
   WHERE w.workspace IN (SELECT i.workspace FROM inserted i WHERE i.status = 'failed')
      OR (w.failing_runs > 0 AND w.workspace IN (SELECT i.workspace FROM inserted i WHERE i.status = 'succeeded'));
  UPDATE sync_workspaces w
     SET list_order = n.list_order, list_order_at = n.started_at
    FROM (SELECT DISTINCT ON (i.workspace) i.workspace, i.list_order, i.started_at
            FROM inserted i WHERE i.status <> 'running' AND i.list_order IS NOT NULL
           ORDER BY i.workspace, i.started_at DESC, i.id DESC) n
   WHERE w.workspace = n.workspace AND (w.list_order_at IS NULL OR w.list_order_at <= n.started_at);
  UPDATE sync_workspaces w
     SET reconcile_decided_at = d.finished_at,
         reconcile_refused = COALESCE(d.stop_reason = 'delete_guard', false),
         reconcile_refused_error = CASE WHEN d.stop_reason = 'delete_guard' THEN d.error END
    FROM (SELECT DISTINCT ON (i.workspace) i.workspace, i.finished_at, i.stop_reason, i.error
            FROM inserted i
           WHERE i.kind = 'reconcile' AND i.finished_at IS NOT NULL AND (i.status = 'succeeded' OR i.stop_reason = 'delete_guard')
           ORDER BY i.workspace, i.finished_at DESC, i.id DESC) d
   WHERE w.workspace = d.workspace AND (w.reconcile_decided_at IS NULL OR w.reconcile_decided_at <= d.finished_at);
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER sync_workspaces_runs_inserted AFTER INSERT ON sync_runs
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION sync_workspaces_runs_inserted();--> statement-breakpoint
CREATE TRIGGER sync_workspaces_run_status AFTER UPDATE OF status ON sync_runs
FOR EACH ROW EXECUTE FUNCTION sync_workspaces_follow_run();--> statement-breakpoint
CREATE FUNCTION sync_workspaces_truncated() RETURNS trigger
LANGUAGE plpgsql SET search_path = pg_catalog, public
AS $$
BEGIN
  TRUNCATE sync_workspaces;
  RETURN NULL;
END
$$;--> statement-breakpoint
CREATE TRIGGER sync_workspaces_runs_truncated AFTER TRUNCATE ON sync_runs
FOR EACH STATEMENT EXECUTE FUNCTION sync_workspaces_truncated();--> statement-breakpoint
-- The runs already kept, summarised the same way.
INSERT INTO sync_workspaces (workspace, first_run_at, last_run_at, last_success_at, last_success_started_at)
SELECT workspace, min(started_at), max(started_at),
       max(finished_at) FILTER (WHERE status = 'succeeded'), max(started_at) FILTER (WHERE status = 'succeeded')
  FROM sync_runs GROUP BY workspace;--> statement-breakpoint
UPDATE sync_workspaces w
   SET (failing_runs, failing_since, failing_error) = (
     SELECT count(*)::int, min(s.started_at), (array_agg(s.error ORDER BY s.started_at DESC, s.id DESC))[1]
       FROM sync_runs s
      WHERE s.workspace = w.workspace AND s.status = 'failed'
        AND s.started_at > COALESCE(w.last_success_started_at, '-infinity'::timestamptz)),
       (list_order, list_order_at) = (
     SELECT s.list_order, s.started_at FROM sync_runs s
      WHERE s.workspace = w.workspace AND s.status <> 'running' AND s.list_order IS NOT NULL
      ORDER BY s.started_at DESC, s.id DESC LIMIT 1),
       (reconcile_decided_at, reconcile_refused, reconcile_refused_error) = (
     SELECT s.finished_at, COALESCE(s.stop_reason = 'delete_guard', false), CASE WHEN s.stop_reason = 'delete_guard' THEN s.error END
       FROM (SELECT NULL) AS one
       LEFT JOIN LATERAL (
         SELECT * FROM sync_runs s
          WHERE s.workspace = w.workspace AND s.kind = 'reconcile' AND s.finished_at IS NOT NULL
            AND (s.status = 'succeeded' OR s.stop_reason = 'delete_guard')
          ORDER BY s.finished_at DESC, s.id DESC LIMIT 1) s ON true);
