/**
 * The runs retention may delete, as CTEs for the statements in this folder to select from: `deletable` holds
 * the ids of runs that started more than $1 days ago, minus what the worker still reads. Never a `running` run,
 * nor, per workspace, the newest run of each kind (resume), the newest succeeded run (freshness, /metrics), the
 * newest succeeded walk of every page (the incremental stop rule) and the newest reconciliation that decided
 * about deletes (a standing refusal).
 *
 * Every statement of a retention pass computes this again (a run may finish, or start, between two batches), so it
 * must cost the same whatever the number of runs: the (workspace, kind) pairs are found by a skip scan of
 * sync_runs_workspace_kind_id_idx and each keeps a few rows read by probes. `DISTINCT ON (kind)` read and sorted
 * every run of a workspace instead: ~100 ms a workspace at 100,000 runs, in every batch. `id DESC NULLS LAST` is
 * the index's own order; plain `DESC` would sort.
 */
export const DELETABLE_RUNS = `
WITH RECURSIVE kinds AS (
  (SELECT s.workspace, s.kind FROM sync_runs s ORDER BY s.workspace, s.kind LIMIT 1)
  UNION ALL
  SELECT n.workspace, n.kind
  FROM kinds p
  CROSS JOIN LATERAL (
    SELECT s.workspace, s.kind FROM sync_runs s WHERE (s.workspace, s.kind) > (p.workspace, p.kind) ORDER BY s.workspace, s.kind LIMIT 1
  ) n
), keep AS (
  SELECT (SELECT s.id FROM sync_runs s WHERE s.workspace = k.workspace AND s.kind = k.kind ORDER BY s.id DESC NULLS LAST LIMIT 1) AS id
  FROM kinds k
  UNION ALL
  SELECT x.id
  FROM (SELECT DISTINCT k.workspace FROM kinds k) w
  CROSS JOIN LATERAL (
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
  ) x
), deletable AS (
  SELECT r.id FROM sync_runs r
  WHERE r.started_at < pg_catalog.now() - pg_catalog.make_interval(days => $1::int)
    AND r.status <> 'running'
    AND r.id NOT IN (SELECT keep.id FROM keep)
)`;
