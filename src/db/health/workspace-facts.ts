import type postgres from 'postgres';
import type { RunningFacts, WorkspaceFacts } from '../../health/judge.ts';
import { KINDS_OF_LANE, LOCK_PREFIXES } from '../workspace-lock.ts';

interface SummaryRow {
  workspace: string;
  first_run_at: Date;
  last_success_at: Date | null;
  failing_runs: number;
  failing_since: Date | null;
  failing_error: string | null;
  list_order: string | null;
  reconcile_refused: boolean;
  reconcile_decided_at: Date | null;
  reconcile_refused_error: string | null;
}

interface RunningRow {
  id: number;
  workspace: string;
  kind: string;
  started_at: Date;
  alive_at: Date;
  pages: number;
  owner_alive: boolean;
}

/**
 * What the health judgment needs of every workspace (or of one), in two reads whatever the number of runs kept:
 * sync_workspaces (one row a workspace, kept by a trigger on sync_runs) and the runs `running` now
 * (sync_runs_running_idx), each with whether a session still holds its workspace's advisory lock.
 */
export async function workspaceFacts(sql: postgres.Sql, workspace?: string): Promise<WorkspaceFacts[]> {
  const only = workspace === undefined ? sql`` : sql`AND workspace = ${workspace}`;
  const [summaries, running] = await Promise.all([
    sql<SummaryRow[]>`
      SELECT workspace, first_run_at, last_success_at, failing_runs, failing_since, failing_error, list_order,
             reconcile_refused, reconcile_decided_at, reconcile_refused_error
      FROM sync_workspaces WHERE true ${only}`,
    // The lock key is hashtextextended(lane prefix || workspace, 0) (src/db/workspace-lock.ts); a bigint advisory lock
    // shows in pg_locks as its high and low 32 bits in classid and objid, with objsubid 1.
    sql<RunningRow[]>`
      WITH held AS MATERIALIZED (
        SELECT l.classid, l.objid FROM pg_catalog.pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.objsubid = 1
          AND l.database = (SELECT d.oid FROM pg_catalog.pg_database d WHERE d.datname = pg_catalog.current_database())
      )
      SELECT r.id::int, r.workspace, r.kind, r.started_at, COALESCE(r.alive_at, r.started_at) AS alive_at, r.pages,
             EXISTS (SELECT 1 FROM held h
                     WHERE h.classid = ((k.key >> 32) & 4294967295)::oid AND h.objid = (k.key & 4294967295)::oid) AS owner_alive
      FROM sync_runs r
      CROSS JOIN LATERAL (
        SELECT pg_catalog.hashtextextended(
          CASE WHEN r.kind = ANY(${KINDS_OF_LANE.fresh}::text[]) THEN ${LOCK_PREFIXES.fresh}::text ELSE ${LOCK_PREFIXES.walk}::text END || r.workspace,
          0::bigint) AS key) k
      WHERE r.status = 'running' ${only}
      ORDER BY r.started_at, r.id`,
  ]);
  const runningBy = new Map<string, RunningFacts[]>();
  for (const r of running) {
    const list = runningBy.get(r.workspace) ?? [];
    list.push({ runId: r.id, kind: r.kind, startedAt: r.started_at, aliveAt: r.alive_at, ownerAlive: r.owner_alive, pages: r.pages });
    runningBy.set(r.workspace, list);
  }
  return summaries.map((s) => ({
    workspace: s.workspace,
    firstRunAt: s.first_run_at,
    lastSuccessAt: s.last_success_at,
    failing: s.failing_runs > 0 && s.failing_since !== null ? { runs: s.failing_runs, since: s.failing_since, error: s.failing_error } : null,
    running: runningBy.get(s.workspace) ?? [],
    refusedReconcile: s.reconcile_refused && s.reconcile_decided_at !== null ? { at: s.reconcile_decided_at, error: s.reconcile_refused_error } : null,
    listOrderUnknown: s.list_order === 'unknown',
  }));
}
