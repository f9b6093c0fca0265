import type postgres from 'postgres';
import type { StoredCopy } from './check.ts';

/** One workspace's tables, read in one snapshot so a run still writing cannot tear them. */
export async function readCopy(sql: postgres.Sql, workspace: string): Promise<StoredCopy> {
  return sql.begin('isolation level repeatable read read only', async (tx) => {
    const jobs = await tx<{ id: string; raw: unknown; deletedAt: string | null }[]>`
      select id, raw, deleted_at::text as "deletedAt" from batch_calls where workspace = ${workspace}`;
    const versions = await tx<{ id: string; lastUpdatedAtUnix: number; validTo: string }[]>`
      select id, last_updated_at_unix::float8 as "lastUpdatedAtUnix", valid_to::text as "validTo"
      from batch_call_history where workspace = ${workspace}`;
    return { jobs: [...jobs], versions: [...versions] };
  });
}

/** Ids of the workspace's jobs marked deleted. */
export async function readMarked(sql: postgres.Sql, workspace: string): Promise<string[]> {
  const rows = await sql<{ id: string }[]>`select id from batch_calls where workspace = ${workspace} and deleted_at is not null`;
  return rows.map((r) => r.id);
}
