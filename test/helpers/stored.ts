import type { Database } from '../../src/db/connection.ts';

/** What the copy holds: each current row's raw item, by id. */
export async function storedCurrent(database: Database, workspace: string): Promise<Map<string, unknown>> {
  const rows = await database.sql<{ id: string; raw: unknown }[]>`select id, raw from batch_calls where workspace = ${workspace}`;
  return new Map(rows.map((r) => [r.id, r.raw]));
}

/** Every stored version as "id@last_updated_at_unix". */
export async function storedVersions(database: Database, workspace: string): Promise<string[]> {
  const rows = await database.sql<{ v: string }[]>`
    select id || '@' || last_updated_at_unix as v from batch_call_history where workspace = ${workspace} order by 1`;
  return rows.map((r) => r.v);
}

/**
 * The copy equals the API: every job the API lists is stored exactly as the
 * API serves it now. (Jobs the API dropped stay until reconciliation marks them.)
 */
export async function expectCopyMatches(
  database: Database,
  workspace: string,
  truth: { id: string }[],
  deleted: Iterable<string> = [],
): Promise<void> {
  const { expect } = await import('vitest');
  const stored = await storedCurrent(database, workspace);
  const expectedIds = new Set([...truth.map((t) => t.id), ...deleted]);
  expect([...stored.keys()].sort()).toEqual([...expectedIds].sort());
  for (const item of truth) expect(stored.get(item.id), `job ${item.id}`).toEqual(item);
}

/** All rows of every table as text, for searching for secrets. */
export async function dumpTables(database: Database): Promise<string> {
  const tables = ['batch_calls', 'batch_call_history', 'sync_runs', 'rejected_records'];
  const parts: string[] = [];
  for (const table of tables) {
    const rows = await database.sql.unsafe<{ t: string }[]>(`select t::text as t from ${table} t`);
    parts.push(...rows.map((r) => r.t));
  }
  return parts.join('\n');
}
