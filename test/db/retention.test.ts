import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { deleteOldRejected } from '../../src/db/retention/delete-old-rejected.ts';
import { deleteOldRuns } from '../../src/db/retention/delete-old-runs.ts';
import { hasCompleteWalk } from '../../src/db/runs/has-complete-walk.ts';
import { lastSuccesses } from '../../src/db/runs/last-successes.ts';
import { reconcileRefusals } from '../../src/db/runs/reconcile-refusals.ts';
import { runRetention, startRetention } from '../../src/jobs/retention.ts';
import { silentLogger } from '../../src/log.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;
beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await database.drop();
});

interface RunSpec {
  workspace: string;
  kind: string;
  status: string;
  daysAgo: number;
  stop?: string | null;
}

async function insertRun(spec: RunSpec): Promise<number> {
  const [row] = await database.sql<{ id: number }[]>`
    insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
    values (${spec.workspace}, ${spec.kind}, ${spec.status}, now() - make_interval(days => ${spec.daysAgo}),
            case when ${spec.status} = 'running' then null else now() - make_interval(days => ${spec.daysAgo}) + interval '1 minute' end,
            ${spec.stop ?? null})
    returning id::int`;
  return row!.id;
}

/** 1,200 old incremental runs in workspace w1 (more than two batches), then the runs retention must keep. */
async function seed(): Promise<{ keep: number[]; oldRunWithVersion: number }> {
  await database.sql`
    insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
    select 'w1', 'incremental', 'succeeded', now() - interval '400 days' + n * interval '1 minute', now() - interval '400 days' + n * interval '1 minute', 'caught_up'
    from generate_series(1, 1200) n`;
  const oldRunWithVersion = (await database.sql<{ id: number }[]>`select min(id)::int as id from sync_runs`)[0]!.id;
  const keep = [
    // The newest succeeded walk of every page: the incremental stop rule.
    await insertRun({ workspace: 'w1', kind: 'full', status: 'succeeded', daysAgo: 300, stop: 'end' }),
    // A refusal no later reconciliation decided over: it must keep standing.
    await insertRun({ workspace: 'w1', kind: 'reconcile', status: 'failed', daysAgo: 200, stop: 'delete_guard' }),
    // A running run, however old.
    await insertRun({ workspace: 'w1', kind: 'full', status: 'running', daysAgo: 150 }),
    // The newest of its kind (resume reads it), and the newest succeeded (freshness).
    await insertRun({ workspace: 'w1', kind: 'reconcile', status: 'failed', daysAgo: 120, stop: 'error' }),
    await insertRun({ workspace: 'w1', kind: 'incremental', status: 'succeeded', daysAgo: 100, stop: 'caught_up' }),
  ];
  // Recent: inside the retention window (and now the newest incremental of w1).
  const recent = await insertRun({ workspace: 'w1', kind: 'incremental', status: 'failed', daysAgo: 1, stop: 'error' });
  keep.push(recent);
  // Workspace w2, all old: an older walk of every page goes; the newest walk, the newest success and the
  // newest run of each kind stay.
  await insertRun({ workspace: 'w2', kind: 'full', status: 'succeeded', daysAgo: 199, stop: 'end' });
  keep.push(await insertRun({ workspace: 'w2', kind: 'full', status: 'succeeded', daysAgo: 99, stop: 'end' }));
  keep.push(await insertRun({ workspace: 'w2', kind: 'incremental', status: 'succeeded', daysAgo: 98, stop: 'caught_up' }));
  keep.push(await insertRun({ workspace: 'w2', kind: 'incremental', status: 'failed', daysAgo: 95, stop: 'error' }));
  await database.sql`
    insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw, run_id)
    values ('w1', 'a', 'job a', 'ag', 'Priya', 1, 1, 1, 'pending', '{}', ${oldRunWithVersion})`;
  await database.sql`
    insert into rejected_records (run_id, workspace, page, item_id, reason, raw, first_seen_at, last_seen_at)
    values (${recent}, 'w1', 1, 'old', 'bad', '{}', now() - interval '300 days', now() - interval '300 days'),
           (${recent}, 'w1', 1, 'recent', 'bad', '{}', now() - interval '300 days', now() - interval '1 day'),
           (${oldRunWithVersion}, 'w1', 1, 'of a deleted run', 'bad', '{}', now() - interval '300 days', now() - interval '1 day')`;
  await database.sql`insert into reconcile_seen (run_id, id) values (${oldRunWithVersion}, 'a')`;
  return { keep, oldRunWithVersion };
}

describe('retention', () => {
  it('deletes old runs in batches and keeps what resume, freshness, the stop rule and a refusal need', async () => {
    const { keep, oldRunWithVersion } = await seed();
    const refusalsBefore = await reconcileRefusals(database.sql);
    const successesBefore = await lastSuccesses(database.sql);

    // Of the 500 oldest, the one a version still links to waits for its versions to be detached.
    expect(await deleteOldRuns(database.sql, 90, 500)).toBe(499);
    expect(await database.sql`select 1 from sync_runs where id = ${oldRunWithVersion}`).toHaveLength(1);
    const pass = await runRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database });
    expect(pass).toMatchObject({ runs: 1200 + 1 - 499, versionsDetached: 1, rejected: 1, runsAtStart: 1200 + 1 - 499 });
    expect(pass.failure).toBeUndefined();

    const left = await database.sql<{ id: number }[]>`select id::int from sync_runs order by id`;
    expect(left.map((r) => r.id)).toEqual([...keep].sort((a, b) => a - b));
    expect(await hasCompleteWalk(database.sql, 'w1')).toBe(true);
    expect(await hasCompleteWalk(database.sql, 'w2')).toBe(true);
    expect(await reconcileRefusals(database.sql)).toEqual(refusalsBefore);
    expect(await lastSuccesses(database.sql)).toEqual(successesBefore);
    // The version stays, detached from its deleted run; the run's seen ids and rejected items went with it.
    const [version] = await database.sql`select run_id from batch_call_history where id = 'a'`;
    expect(version!.run_id).toBeNull();
    expect(await database.sql`select 1 from reconcile_seen where run_id = ${oldRunWithVersion}`).toHaveLength(0);
    expect((await database.sql`select item_id from rejected_records`).map((r) => r.item_id)).toEqual(['recent']);
    // Nothing more to do: a second pass deletes nothing.
    expect(await runRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database })).toMatchObject({ runs: 0, versionsDetached: 0, rejected: 0 });
  });

  it('keeps everything when set to 0', async () => {
    await seed();
    const [before] = await database.sql`select count(*)::int as n from sync_runs`;
    expect(await runRetention({ config: { retention: { runDays: 0, rejectedDays: 0 } }, database })).toMatchObject({ runs: 0, versionsDetached: 0, rejected: 0, batches: 0 });
    const [after] = await database.sql`select count(*)::int as n from sync_runs`;
    expect(after!.n).toBe(before!.n);
  });

  it('deletes rejected items not seen for the configured days, in batches', async () => {
    const run = await insertRun({ workspace: 'w1', kind: 'incremental', status: 'succeeded', daysAgo: 0 });
    await database.sql`
      insert into rejected_records (run_id, workspace, page, item_id, reason, raw, last_seen_at)
      select ${run}, 'w1', 1, 'item' || n, 'bad', '{}', now() - interval '40 days' from generate_series(1, 700) n`;
    expect(await deleteOldRejected(database.sql, 30, 500)).toBe(500);
    expect(await deleteOldRejected(database.sql, 30, 500)).toBe(200);
    expect(await deleteOldRejected(database.sql, 30, 500)).toBe(0);
  });

  it('startRetention runs a pass at once', async () => {
    await seed();
    const handle = startRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database, log: silentLogger, everyMs: 3_600_000 });
    await handle.idle();
    await handle.stop();
    const [left] = await database.sql`select count(*)::int as n from sync_runs`;
    expect(left!.n).toBe(9);
  });
});
