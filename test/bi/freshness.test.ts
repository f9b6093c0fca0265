import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { workspaceFreshness } from '../../src/db/freshness/workspace-freshness.ts';
import { runMigrations } from '../../src/db/migrate.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { databaseAt } from '../helpers/database-at.ts';

/**
 * bi_workspace_freshness (migration 0012): per workspace, the last success, the last complete walk, the last
 * succeeded reconciliation and the newest last_updated_at, kept by triggers so that retention deleting runs never
 * changes them, and read from one row per workspace whatever the number of runs and versions.
 */
let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const version = (workspace: string, id: string, updatedUnix: number) => database.sql`
  insert into batch_call_history (workspace, id, name, agent_id, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, agent_name, raw)
  values (${workspace}, ${id}, 'job', 'ag_1', 1796000000, 1796000000, ${updatedUnix}, 'pending', 'Ana', '{}'::jsonb)`;

const run = (workspace: string, kind: string, status: string, stopReason: string | null, endedAgo: string) => database.sql`
  insert into sync_runs (workspace, kind, status, stop_reason, started_at, finished_at)
  values (${workspace}, ${kind}, ${status}, ${stopReason}, now() - ${endedAgo}::interval - interval '1 minute',
          case when ${status} = 'running' then null else now() - ${endedAgo}::interval end)
  returning id::int`;

describe('bi_workspace_freshness', () => {
  it('says when the copy last succeeded, was last walked end to end and last reconciled, and the newest version', async () => {
    const [reconciled] = await run('acme', 'reconcile', 'succeeded', 'end', '26 hours');
    await run('acme', 'full', 'succeeded', 'end', '3 hours');
    await run('acme', 'incremental', 'succeeded', 'end', '2 hours'); // incremental: not a complete walk here
    await run('acme', 'incremental', 'succeeded', 'caught_up', '2 minutes');
    await run('acme', 'reconcile', 'failed', 'delete_guard', '1 hour');
    await run('acme', 'full', 'failed', 'error', '1 minute');
    await version('acme', 'a', 1796000100);
    await version('acme', 'a', 1796000500);
    await version('acme', 'b', 1796000300);
    // Versions of a workspace no run wrote (a backfill) still show, with nothing succeeded.
    await version('backfill', 'x', 1796000050);

    const rows = await workspaceFreshness(database.sql);
    expect(rows.map((r) => r.workspace)).toEqual(['acme', 'backfill']);
    const [acme, backfill] = rows;
    const ago = (d: Date | null) => Math.round((acme!.checkedAt.getTime() - d!.getTime()) / 60_000);
    expect(ago(acme!.lastSuccessAt)).toBe(2);
    expect(acme!.ageSeconds).toBeGreaterThanOrEqual(119);
    expect(acme!.ageSeconds).toBeLessThan(130);
    expect(ago(acme!.lastCompleteWalkAt)).toBe(180);
    expect(ago(acme!.lastReconcileAt)).toBe(26 * 60);
    expect(acme!.reconcileAgeSeconds).toBeGreaterThanOrEqual(26 * 3600);
    expect(acme!.reconcileRefused).toBe(true);
    expect(acme!.failingRuns).toBe(1);
    expect(acme!.newestLastUpdatedAt).toEqual(new Date(1796000500 * 1000));
    expect(backfill).toMatchObject({ lastSuccessAt: null, ageSeconds: null, firstRunAt: null, newestLastUpdatedAt: new Date(1796000050 * 1000) });

    // An older version arriving late does not move the newest back; retention deleting the reconciliation does not forget it.
    await version('acme', 'c', 1796000200);
    await database.sql`delete from sync_runs where id = ${reconciled!.id}`;
    const [after] = await workspaceFreshness(database.sql, ['acme']);
    expect(after!.newestLastUpdatedAt).toEqual(new Date(1796000500 * 1000));
    expect(after!.lastReconcileAt).toEqual(acme!.lastReconcileAt);

    // A run that ends later (running -> succeeded) moves them on.
    const [running] = await run('acme', 'reconcile', 'running', null, '0 seconds');
    await database.sql`update sync_runs set status = 'succeeded', stop_reason = 'end', finished_at = now() where id = ${running!.id}`;
    const [reconciledNow] = await workspaceFreshness(database.sql, ['acme']);
    expect(reconciledNow!.reconcileAgeSeconds).toBeLessThan(5);
    expect(reconciledNow!.lastCompleteWalkAt).toEqual(reconciledNow!.lastReconcileAt);
    expect(reconciledNow!.reconcileRefused).toBe(false);
  });
});

describe('migration 0012 on a database with runs and versions', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  it('fills the last complete walk, the last reconciliation and the newest version from what is already kept', async () => {
    const { sql, url } = await databaseAt(11, cleanups);
    await sql`
      insert into sync_runs (workspace, kind, status, stop_reason, started_at, finished_at) values
        ('acme', 'reconcile', 'succeeded', 'end', '2026-12-01 03:00+00', '2026-12-01 03:10+00'),
        ('acme', 'full', 'succeeded', 'end', '2026-12-02 03:00+00', '2026-12-02 03:10+00'),
        ('acme', 'reconcile', 'failed', 'delete_guard', '2026-12-03 03:00+00', '2026-12-03 03:10+00'),
        ('acme', 'incremental', 'succeeded', 'caught_up', '2026-12-04 03:00+00', '2026-12-04 03:01+00'),
        ('globex', 'incremental', 'succeeded', 'end', '2026-12-04 03:00+00', '2026-12-04 03:01+00')`;
    await sql`
      insert into batch_calls (workspace, id, name, agent_id, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, agent_name, raw)
      values ('acme', 'a', 'j', 'ag', 1796000000, 1796000000, 1796000900, 'pending', 'A', '{}'), ('acme', 'b', 'j', 'ag', 1796000000, 1796000000, 1796000100, 'pending', 'A', '{}')`;
    await runMigrations({ url });
    // Epoch seconds: this client cached its types before the migration.
    const rows = await sql`
      select workspace, extract(epoch from last_complete_walk_at)::int as walk, extract(epoch from last_reconcile_at)::int as reconcile,
             reconcile_refused, extract(epoch from newest_last_updated_at)::int as newest
      from bi_workspace_freshness order by workspace`;
    const at = (iso: string) => Date.parse(iso) / 1000;
    expect(rows).toEqual([
      { workspace: 'acme', walk: at('2026-12-02T03:10:00Z'), reconcile: at('2026-12-01T03:10:00Z'), reconcile_refused: true, newest: 1796000900 },
      { workspace: 'globex', walk: null, reconcile: null, reconcile_refused: false, newest: null },
    ]);
  });
});

/**
 * At the sizes BENCHMARKS.md measures (300,000 runs, 2,000,000 versions: BI_FULL_SCALE=1, about a minute to load) or a
 * tenth of them by default, the view's plan reads sync_workspaces and batch_call_history_newest only, and one
 * workspace is an index probe of each.
 */
describe('bi_workspace_freshness at scale', () => {
  const full = process.env.BI_FULL_SCALE === '1';
  const runs = full ? 300_000 : 30_000;
  const versions = full ? 2_000_000 : 200_000;
  let scaled: TestDatabase;
  beforeAll(async () => {
    scaled = await createTestDatabase();
    // Loaded without triggers (the summaries are filled after, as the migration's backfill does): a load, not a sync.
    await scaled.sql.begin(async (tx) => {
      await tx`set local session_replication_role = replica`;
      await tx`
        insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
        select 'w' || (n % 50), (array['full', 'incremental', 'reconcile'])[1 + n % 3], 'succeeded',
               now() - n * interval '1 minute', now() - n * interval '1 minute' + interval '5 seconds', 'end'
        from generate_series(1, ${runs}::int) n`;
      await tx`
        insert into batch_call_history (workspace, id, name, agent_id, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, agent_name, raw)
        select 'w' || (n % 50), 'job' || (n / 4), 'j', 'ag', 1790000000 + n / 4, 1790000000 + n / 4, 1790000000 + n, 'pending', 'A', '{}'::jsonb
        from generate_series(1, ${versions}::int) n`;
      await tx`
        insert into sync_workspaces (workspace, first_run_at, last_run_at, last_success_at, last_complete_walk_at, last_reconcile_at)
        select workspace, min(started_at), max(started_at), max(finished_at), max(finished_at), max(finished_at) filter (where kind = 'reconcile')
        from sync_runs group by workspace`;
      await tx`insert into batch_call_history_newest select workspace, max(last_updated_at) from batch_call_history group by workspace`;
    });
    await scaled.sql`analyze`;
  }, 300_000);
  afterAll(async () => {
    await scaled?.drop();
  });

  const plan = async (query: string, seqscan: boolean) =>
    scaled.sql.begin(async (tx) => {
      if (!seqscan) await tx`set local enable_seqscan = off`;
      return (await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
    });

  it(`reads neither runs nor history nor jobs (${runs} runs, ${versions} versions)`, async () => {
    for (const query of ['select * from bi_workspace_freshness', "select * from bi_workspace_freshness where workspace = 'w7'"]) {
      const text = await plan(query, true);
      expect(text, text).not.toMatch(/ on (sync_runs|batch_call_history|batch_calls)\b(?!_)/);
      expect(text).toMatch(/sync_workspaces/);
    }
    const one = await plan("select * from bi_workspace_freshness where workspace = 'w7'", false);
    expect(one, one).not.toMatch(/Seq Scan/);
    expect(one).toMatch(/Index (Only )?Scan using sync_workspaces_pkey/);
    expect(one).toMatch(/Index (Only )?Scan using batch_call_history_newest_pkey/);
    const [row] = await workspaceFreshness(scaled.sql, ['w7']);
    expect(row!.newestLastUpdatedAt).not.toBeNull();
  });
});
