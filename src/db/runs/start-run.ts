import type postgres from 'postgres';
import type { RunKind } from '../../domain/runs.ts';

/** Opens a `running` row owned by `token`; its id ties every page, version and rejected item to this run. */
export async function startRun(sql: postgres.Sql, workspace: string, kind: RunKind, token: string): Promise<{ runId: number; openedAt: Date }> {
  const [row] = await sql<{ runId: number; openedAt: Date }[]>`
    INSERT INTO sync_runs (workspace, kind, status, owner) VALUES (${workspace}, ${kind}, 'running', ${token})
    RETURNING id::int AS "runId", pg_catalog.now() AS "openedAt"`;
  if (!row) throw new Error('inserting the sync_runs row returned nothing');
  return row;
}
