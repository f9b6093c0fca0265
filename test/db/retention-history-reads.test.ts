import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/migrate.ts';
import { runRetention } from '../../src/jobs/retention.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { databaseAt } from '../helpers/database-at.ts';

/**
 * Deleting a run must not read history beyond its own versions (issue 20, item 5): through the BRIN index of
 * migrations 0005-0008, the foreign key's SET NULL read every block range a run's id could be in, ~200 ms a run at
 * 2 M versions, and a 500-run batch met the statement timeout.
 */

let database: TestDatabase;
const cleanups: (() => Promise<void> | void)[] = [];
beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
  await database.drop();
});

/** `n` versions of one run, each a job of its own, appended in one statement (so in id order on disk). */
async function addVersions(sql: postgres.Sql, runId: number, n: number, prefix: string): Promise<void> {
  await sql`
    insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw, run_id)
    select 'w', ${prefix} || g, 'job ' || g, 'ag', 'Priya', 1, 1, 1, 'completed',
           jsonb_build_object('id', ${prefix} || g, 'padding', repeat('x', 200)), ${runId}
    from generate_series(1, ${n}) g`;
}

/** `n` old incremental runs of workspace w, oldest first; their ids. */
async function addOldRuns(sql: postgres.Sql, n: number, daysAgo: number): Promise<number[]> {
  const rows = await sql<{ id: number }[]>`
    insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
    select 'w', 'incremental', 'succeeded', now() - make_interval(days => ${daysAgo}) + g * interval '1 second',
           now() - make_interval(days => ${daysAgo}) + g * interval '1 second', 'caught_up'
    from generate_series(1, ${n}) g
    returning id::int`;
  return rows.map((r) => r.id);
}

/** A client of one connection: its own statistics are flushed on demand (pg_stat_force_next_flush). */
function oneConnection(url: string): postgres.Sql {
  const sql = postgres(url, { max: 1, onnotice: () => undefined });
  cleanups.push(() => sql.end());
  return sql;
}

interface HistoryReads {
  heapBlocks: number;
  seqScans: number;
}

/** History's heap blocks touched and sequential scans so far, with this connection's own counters flushed first. */
async function historyReads(sql: postgres.Sql): Promise<HistoryReads> {
  // Flushed when this backend next goes idle, i.e. before the following statement runs.
  await sql`select pg_stat_force_next_flush()`;
  const [row] = await sql<{ blocks: string; seq: string }[]>`
    select (io.heap_blks_read + io.heap_blks_hit)::text as blocks, t.seq_scan::text as seq
    from pg_statio_user_tables io join pg_stat_user_tables t using (relid)
    where io.relname = 'batch_call_history'`;
  return { heapBlocks: Number(row!.blocks), seqScans: Number(row!.seq) };
}

describe('retention and history', () => {
  it('finds a run\'s versions in one probe of the run_id btree, for the foreign key and for retention alike', async () => {
    const runs = await addOldRuns(database.sql, 500, 200);
    for (const [i, id] of runs.entries()) await addVersions(database.sql, id, 10, `r${i}-`);
    const run = runs[0];
    await database.sql`analyze batch_call_history`;
    // The statement the foreign key's ON DELETE SET NULL runs (a saved, generic plan) and retention's probe.
    const plans = await database.sql.begin(async (tx) => {
      await tx`set local plan_cache_mode = force_generic_plan`;
      await tx.unsafe('prepare ri(bigint) as update only batch_call_history set run_id = null where $1 operator(pg_catalog.=) run_id');
      await tx.unsafe('prepare probe(bigint) as select 1 from batch_call_history h where h.run_id = $1 limit 1');
      const ri = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain execute ri(${run})`);
      const probe = await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain execute probe(${run})`);
      return [ri, probe].map((rows) => rows.map((r) => r['QUERY PLAN']).join('\n'));
    });
    for (const plan of plans) {
      expect(plan).toMatch(/Index (Only )?Scan using batch_call_history_run_idx/);
      expect(plan).not.toMatch(/Seq Scan|brin/i);
    }
  });

  it('deletes a thousand runs without reading history beyond their own versions, and detaches those versions', async () => {
    // 2,000 old runs without versions, 100 old runs of 10 versions each, then a recent run of 20,000 versions
    // (about 1,000 heap pages): whatever reads block ranges reads far more than the old runs' own versions.
    const linkless = await addOldRuns(database.sql, 2_000, 200);
    const linked = await addOldRuns(database.sql, 100, 150);
    for (const [i, run] of linked.entries()) await addVersions(database.sql, run, 10, `old${i}-`);
    const [recent] = await addOldRuns(database.sql, 1, 1);
    await addVersions(database.sql, recent!, 20_000, 'new');
    await database.sql`vacuum analyze batch_call_history`;

    const sql = oneConnection(database.url);
    const before = await historyReads(sql);
    // Batches sized by rows alone (a target no batch reaches), so the blocks counted do not depend on the machine's pace.
    const pass = await runRetention({ config: { retention: { runDays: 90, rejectedDays: 0 } }, database: { sql }, sizing: { first: 500, targetMs: 600_000 } });
    const after = await historyReads(sql);

    expect(pass).toMatchObject({ runs: linkless.length + linked.length, versionsDetached: 1_000 });
    expect(after.seqScans - before.seqScans).toBe(0);
    // Each detached version: its heap page read, its new tuple written, and the dead tuple met again by the
    // delete's probes: about 7 blocks a version; a run without versions reads none. Through the BRIN index
    // (before 0009) the same pass read about 120 blocks a run: over 250,000.
    expect(after.heapBlocks - before.heapBlocks).toBeLessThan(10 * 1_000);

    const [links] = await database.sql<{ detached: number; kept: number }[]>`
      select count(*) filter (where run_id is null)::int as detached, count(*) filter (where run_id = ${recent!})::int as kept
      from batch_call_history`;
    expect(links).toEqual({ detached: 1_000, kept: 20_000 });
    expect((await database.sql`select id::int from sync_runs`).map((r) => r.id)).toEqual([recent]);
  });
});

describe('migration 0009 on a database of the previous release', () => {
  it('replaces the run_id BRIN with a partial btree and keeps every link', async () => {
    const { sql, url } = await databaseAt(8, cleanups);
    const [run] = await sql<{ id: number }[]>`insert into sync_runs (workspace, kind, status) values ('w', 'full', 'succeeded') returning id::int`;
    await addVersions(sql, run!.id, 100, 'a');
    await sql`insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
              values ('w', 'detached', 'job', 'ag', 'Priya', 1, 1, 1, 'completed', '{}')`;

    await runMigrations({ url });

    const indexes = await sql<{ name: string; definition: string }[]>`
      select indexname as name, indexdef as definition from pg_indexes where tablename = 'batch_call_history' and indexdef like '%(run_id)%'`;
    expect(indexes).toEqual([
      { name: 'batch_call_history_run_idx', definition: expect.stringMatching(/USING btree \(run_id\) WHERE \(run_id IS NOT NULL\)$/) },
    ]);
    const [links] = await sql<{ linked: number; detached: number }[]>`
      select count(*) filter (where run_id = ${run!.id})::int as linked, count(*) filter (where run_id is null)::int as detached from batch_call_history`;
    expect(links).toEqual({ linked: 100, detached: 1 });
  });
});
