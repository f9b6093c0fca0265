/**
 * The runs retention may delete, as CTEs for the statements in this folder to select from: `deletable` holds
 * the ids of runs that started more than $1 days ago, minus what the worker still reads. Never a `running` run,
 * nor, per workspace, the newest run of each kind (resume), the newest succeeded run (freshness, /metrics), the
 * newest succeeded walk of every page (the incremental stop rule) and the newest reconciliation that decided
 * about deletes (a standing refusal). Workspaces are walked by skip scan and each keeps a few rows read from the
 * runs' indexes, so the keep set costs the same whatever the number of runs.
 */
export const DELETABLE_RUNS = `
WITH RECURSIVE workspaces AS (
  (SELECT workspace FROM sync_runs ORDER BY workspace LIMIT 1)
  UNION ALL
  SELECT (SELECT s.workspace FROM sync_runs s WHERE s.workspace > w.workspace ORDER BY s.workspace LIMIT 1)
  FROM workspaces w WHERE w.workspace IS NOT NULL
), keep AS (
  SELECT k.id
  FROM workspaces w
  CROSS JOIN LATERAL (
    (SELECT DISTINCT ON (s.kind) s.id FROM sync_runs s WHERE s.workspace = w.workspace ORDER BY s.kind, s.id DESC)
    UNION ALL
    (SELECT s.id FROM sync_runs s WHERE s.workspace = w.workspace AND s.status = 'succeeded' AND s.finished_at IS NOT NULL
     ORDER BY s.finished_at DESC NULLS LAST LIMIT 1)
    UNION ALL
    (SELECT s.id FROM sync_runs s WHERE s.workspace = w.workspace AND s.status = 'succeeded' AND s.stop_reason = 'end'
     ORDER BY s.started_at DESC NULLS LAST, s.id DESC NULLS LAST LIMIT 1)
    UNION ALL
    (SELECT s.id FROM sync_runs s
     WHERE s.workspace = w.workspace AND s.kind = 'reconcile' AND s.finished_at IS NOT NULL
       AND (s.status = 'succeeded' OR s.stop_reason = 'delete_guard')
     ORDER BY s.finished_at DESC NULLS LAST, s.id DESC NULLS LAST LIMIT 1)
  ) k
  WHERE w.workspace IS NOT NULL
), deletable AS (
  SELECT r.id FROM sync_runs r
  WHERE r.started_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
    AND r.status <> 'running'
    AND r.id NOT IN (SELECT keep.id FROM keep)
)`;
