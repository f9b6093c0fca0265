import type postgres from 'postgres';

/** One row of bi_workspace_freshness (migration 0012): what `check` judges. Ages are in seconds at the database's clock. */
export interface WorkspaceFreshness {
  workspace: string;
  lastSuccessAt: Date | null;
  /** Since the last success, or since the first run when there was none; null for a workspace with versions but no run. */
  ageSeconds: number | null;
  lastCompleteWalkAt: Date | null;
  lastReconcileAt: Date | null;
  reconcileAgeSeconds: number | null;
  /** The newest reconciliation that decided about deletes refused a mass delete. */
  reconcileRefused: boolean;
  newestLastUpdatedAt: Date | null;
  firstRunAt: Date | null;
  failingRuns: number;
  checkedAt: Date;
}

interface Row {
  workspace: string;
  last_success_at: Date | null;
  age_seconds: string | null;
  last_complete_walk_at: Date | null;
  last_reconcile_at: Date | null;
  reconcile_age_seconds: string | null;
  reconcile_refused: boolean;
  newest_last_updated_at: Date | null;
  first_run_at: Date | null;
  failing_runs: number;
  checked_at: Date;
}

/**
 * bi_workspace_freshness for every workspace, or for those named: one row of sync_workspaces and one of
 * batch_call_history_newest each, whatever the number of runs and versions kept.
 */
export async function workspaceFreshness(sql: postgres.Sql, workspaces?: readonly string[]): Promise<WorkspaceFreshness[]> {
  const only = workspaces === undefined ? sql`` : sql`WHERE workspace = ANY(${workspaces as string[]}::text[])`;
  const rows = await sql<Row[]>`
    SELECT workspace, last_success_at, age_seconds, last_complete_walk_at, last_reconcile_at, reconcile_age_seconds,
           reconcile_refused, newest_last_updated_at, first_run_at, failing_runs, checked_at
    FROM bi_workspace_freshness ${only}
    ORDER BY workspace`;
  const seconds = (v: string | null) => (v === null ? null : Number(v));
  return rows.map((r) => ({
    workspace: r.workspace,
    lastSuccessAt: r.last_success_at,
    ageSeconds: seconds(r.age_seconds),
    lastCompleteWalkAt: r.last_complete_walk_at,
    lastReconcileAt: r.last_reconcile_at,
    reconcileAgeSeconds: seconds(r.reconcile_age_seconds),
    reconcileRefused: r.reconcile_refused,
    newestLastUpdatedAt: r.newest_last_updated_at,
    firstRunAt: r.first_run_at,
    failingRuns: r.failing_runs,
    checkedAt: r.checked_at,
  }));
}
