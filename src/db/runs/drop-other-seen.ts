import type postgres from 'postgres';

/**
 * Seen ids of the workspace's other reconciliations: they can no longer be
 * resumed once a newer run of the workspace holds the lock. Scoped to one
 * workspace, so it never touches a reconciliation of another workspace that is
 * waiting to resume.
 */
export async function dropOtherSeen(sql: postgres.Sql, workspace: string, runId: number): Promise<void> {
  await sql`
    DELETE FROM reconcile_seen s USING sync_runs r
    WHERE r.id = s.run_id AND r.workspace = ${workspace} AND r.id <> ${runId}`;
}
