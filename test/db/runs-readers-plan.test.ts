import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countOldRuns } from '../../src/db/retention/count-old-runs.ts';
import { deleteOldRuns } from '../../src/db/retention/delete-old-runs.ts';
import { detachOldVersions } from '../../src/db/retention/detach-old-versions.ts';
import { lastSuccesses } from '../../src/db/runs/last-successes.ts';
import { latestRuns } from '../../src/db/runs/latest-runs.ts';
import { reconcileRefusals } from '../../src/db/runs/reconcile-refusals.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * The status page, /metrics and bi_sync_freshness read runs per workspace through an index, never every run:
 * each reader's own statement (captured from the driver) is EXPLAINed with sequential scans disabled, which
 * leaves a Seq Scan only where no index can serve the query.
 */
let database: TestDatabase;
let captured: { query: string; parameters: unknown[] }[] = [];
let client: postgres.Sql;

beforeAll(async () => {
  database = await createTestDatabase();
  await database.sql`
    insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
    select 'w' || (n % 5), (array['full', 'incremental', 'reconcile'])[1 + n % 3], case when n % 7 = 0 then 'failed' else 'succeeded' end,
           now() - n * interval '1 minute', now() - n * interval '1 minute' + interval '10 seconds',
           case when n % 11 = 0 then 'delete_guard' when n % 3 = 0 then 'end' else 'caught_up' end
    from generate_series(1, 3000) n`;
  await database.sql`analyze sync_runs`;
  client = postgres(database.url, {
    max: 1,
    onnotice: () => undefined,
    debug: (_connection, query, parameters) => captured.push({ query, parameters: parameters as unknown[] }),
  });
});
afterAll(async () => {
  await client?.end();
  await database?.drop();
});

async function planOf(read: (sql: postgres.Sql) => Promise<unknown>): Promise<string> {
  captured = [];
  await read(client);
  const statement = captured.find((c) => /sync_runs|bi_sync_freshness/.test(c.query));
  expect(statement).toBeDefined();
  return database.sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    const rows = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${statement!.query}`, statement!.parameters as postgres.ParameterOrJSON<never>[]);
    return rows.map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('readers of sync_runs', () => {
  const readers: [string, (sql: postgres.Sql) => Promise<unknown>][] = [
    ['latestRuns', (sql) => latestRuns(sql, 10)],
    ['lastSuccesses', (sql) => lastSuccesses(sql)],
    ['reconcileRefusals', (sql) => reconcileRefusals(sql)],
    ['bi_sync_freshness', (sql) => sql`select * from bi_sync_freshness`],
  ];
  for (const [name, read] of readers) {
    it(`${name} reads sync_runs through an index`, async () => {
      const plan = await planOf(read);
      expect(plan, plan).not.toMatch(/Seq Scan on sync_runs/);
      expect(plan).toMatch(/Index (Only )?Scan/);
    });
  }

  it('still answers like the whole-table versions did', async () => {
    const runs = await latestRuns(database.sql, 3);
    expect(runs).toHaveLength(15);
    const expected = await database.sql`
      select id::int from (select id, workspace, started_at, row_number() over (partition by workspace order by started_at desc, id desc) as n from sync_runs) r
      where n <= 3 order by workspace, started_at desc, id desc`;
    expect(runs.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    const successes = await lastSuccesses(database.sql);
    const bruteSuccesses = await database.sql<{ workspace: string; ms: number }[]>`
      select workspace, (extract(epoch from max(finished_at)) * 1000)::float8 as ms from sync_runs where status = 'succeeded' group by workspace`;
    expect([...successes.entries()].sort()).toEqual(bruteSuccesses.map((r) => [r.workspace, new Date(r.ms)]).sort());
    const refusals = await reconcileRefusals(database.sql);
    const bruteRefusals = await database.sql<{ workspace: string; refused: boolean }[]>`
      select distinct on (workspace) workspace, stop_reason = 'delete_guard' as refused from sync_runs
      where kind = 'reconcile' and finished_at is not null and (status = 'succeeded' or stop_reason = 'delete_guard')
      order by workspace, finished_at desc, id desc`;
    expect([...refusals.entries()].map(([w, r]) => [w, r !== null]).sort()).toEqual(bruteRefusals.map((r) => [r.workspace, r.refused]).sort());
  });

  const retentionStatements: [string, (sql: postgres.Sql) => Promise<unknown>][] = [
    ['deleteOldRuns', (sql) => deleteOldRuns(sql, 36_500, 1)],
    ['detachOldVersions', (sql) => detachOldVersions(sql, 36_500, 1)],
    ['countOldRuns', (sql) => countOldRuns(sql, 36_500)],
  ];
  for (const [name, statement] of retentionStatements) {
    it(`retention's ${name} decides what to keep without reading every run`, async () => {
      const plan = await planOf(statement);
      // The keep set's per-workspace probes are index scans; only the batch's own candidate walk may read the table.
      // Every batch computes it again, so the newest run of each kind is a probe, not a sort of the workspace's runs
      // by kind (DISTINCT ON (kind) sorted them all: ~100 ms a workspace at 100,000 runs, in every batch).
      expect(plan).toMatch(/Index Cond: \(ROW\(workspace, kind\) > ROW\(p\.workspace, p\.kind\)\)/);
      expect(plan).toMatch(/Index (Only )?Scan using sync_runs_last_success_idx/);
      expect(plan).toMatch(/Index (Only )?Scan using sync_runs_reconcile_decision_idx/);
      expect(plan, plan).not.toMatch(/Sort Key: [\w.]*kind/);
    });
  }
});
