import type { HttpEnv } from '../http/fixture.ts';

/** The error text a refused reconciliation records (src/jobs/delete-guard.ts). */
export const REFUSAL =
  'reconciliation refused: it would mark 812 of 1000 live jobs deleted (81%, limit 25%); run "threetone-sync reconcile --allow-mass-delete" to confirm';

/** A reconciliation as sync_runs records it, finished `hoursAgo`. */
export async function recordReconcile(
  env: HttpEnv,
  workspace: string,
  hoursAgo: number,
  outcome: 'succeeded' | 'refused' | 'api down',
  error = REFUSAL,
): Promise<void> {
  const [status, stopReason, text] =
    outcome === 'succeeded' ? ['succeeded', 'end', null] : outcome === 'refused' ? ['failed', 'delete_guard', error] : ['failed', 'error', 'API server error (503)'];
  await env.database.sql`
    insert into sync_runs (workspace, kind, status, stop_reason, error, started_at, finished_at)
    values (${workspace}, 'reconcile', ${status}, ${stopReason}, ${text},
            now() - make_interval(hours => ${hoursAgo}) - interval '5 minutes', now() - make_interval(hours => ${hoursAgo}))`;
}
