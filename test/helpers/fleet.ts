import type postgres from 'postgres';

export interface FleetShape {
  healthy: number;
  failing: number;
  stale: number;
  /** Workspaces with a run left `running` by a process that is gone. */
  stuck: number;
  /** Runs kept per workspace (one every 5 minutes, back from now). Default 10. */
  runsPerWorkspace?: number;
}

/** Which workspace of the fleet is which: names spread over the alphabet, so a sort by name would bury the bad ones. */
export function fleetNames(shape: FleetShape): { failing: string[]; stale: string[]; stuck: string[]; healthy: string[] } {
  const total = shape.healthy + shape.failing + shape.stale + shape.stuck;
  const names = Array.from({ length: total }, (_, i) => `cust-${String(i + 1).padStart(4, '0')}`);
  const step = Math.floor(total / (shape.failing + shape.stale + shape.stuck + 1));
  const picked = Array.from({ length: shape.failing + shape.stale + shape.stuck }, (_, i) => names[(i + 1) * step - 1]!);
  const bad = new Set(picked);
  return {
    failing: picked.slice(0, shape.failing),
    stale: picked.slice(shape.failing, shape.failing + shape.stale),
    stuck: picked.slice(shape.failing + shape.stale),
    healthy: names.filter((n) => !bad.has(n)),
  };
}

/**
 * Runs as a worker leaves them, written straight into sync_runs (the trigger keeps sync_workspaces): healthy
 * workspaces succeeded every 5 minutes up to 2 minutes ago; failing ones have failed for their last i + 2 runs with a
 * 401; stale ones last succeeded 29 + 10 i minutes ago and have not run since; stuck ones have a run started 40
 * minutes ago whose process is gone.
 */
export async function seedFleet(sql: postgres.Sql, shape: FleetShape): Promise<ReturnType<typeof fleetNames>> {
  const names = fleetNames(shape);
  const runs = shape.runsPerWorkspace ?? 10;
  // A run every 5 minutes, the newest `offsetMin` minutes ago; the newest `failRuns` failed, the rest succeeded.
  const insert = async (list: { name: string; offsetMin: number; failRuns?: number }[]) => {
    if (list.length === 0) return;
    const rows = list.map((l) => ({ name: l.name, offset_min: l.offsetMin, fail_runs: l.failRuns ?? 0 }));
    await sql`
      INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at, pages, items_seen, requests, stop_reason, error, list_order)
      SELECT w.name, 'incremental', CASE WHEN r < w.fail_runs THEN 'failed' ELSE 'succeeded' END,
             now() - make_interval(mins => r * 5 + w.offset_min, secs => 30), now() - make_interval(mins => r * 5 + w.offset_min),
             1, 20, 1, CASE WHEN r < w.fail_runs THEN 'error' ELSE 'end' END,
             CASE WHEN r < w.fail_runs THEN 'API key rejected (401 Unauthorized); check THREETONE_WORKSPACES["' || w.name || '"]' END, 'created'
      FROM pg_catalog.json_to_recordset(${JSON.stringify(rows)}::text::json) AS w(name text, offset_min int, fail_runs int)
      CROSS JOIN pg_catalog.generate_series(0, ${runs - 1}::int) AS r`;
  };
  await insert(names.healthy.map((name) => ({ name, offsetMin: 2 })));
  // The i-th failing workspace failed its last i + 2 runs.
  await insert(names.failing.map((name, i) => ({ name, offsetMin: 0, failRuns: i + 2 })));
  await insert(names.stale.map((name, i) => ({ name, offsetMin: 29 + 10 * i })));
  await insert(names.stuck.map((name) => ({ name, offsetMin: 45 })));
  for (const name of names.stuck) {
    await sql`INSERT INTO sync_runs (workspace, kind, status, started_at, alive_at, pages, items_seen) VALUES (${name}, 'full', 'running', now() - interval '40 minutes', now() - interval '38 minutes', 2, 1000)`;
  }
  return names;
}
