import postgres from 'postgres';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { nextBatchSize, RETENTION_BATCH_SIZING, runRetention, startRetention, type BatchSizing } from '../../src/jobs/retention.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { captureLogs } from '../helpers/logs.ts';

const SIZING: BatchSizing = { targetMs: 1_000, first: 100, min: 10, max: 10_000 };

describe('nextBatchSize', () => {
  it('aims the next batch at the target duration from the last one\'s pace', () => {
    // 400 rows in 2 s: 200 rows fit a second.
    expect(nextBatchSize(400, 400, 2_000, SIZING)).toBe(200);
    // 400 rows in 500 ms: 800 would fit, and that is no more than twice the last.
    expect(nextBatchSize(400, 400, 500, SIZING)).toBe(800);
  });

  it('at most doubles, never grows after a short batch, and stays within min and max', () => {
    expect(nextBatchSize(400, 400, 1, SIZING)).toBe(800);
    expect(nextBatchSize(400, 30, 1, SIZING)).toBe(400);
    expect(nextBatchSize(400, 400, 60_000, SIZING)).toBe(SIZING.min);
    expect(nextBatchSize(8_000, 8_000, 1, SIZING)).toBe(SIZING.max);
  });

  it('pays the per-statement overhead once: the rest of the time is what rows cost', () => {
    // 900 ms of every statement is overhead, 1 ms a row: 1,000 rows took 1.9 s; half the target's worth of rows fits.
    expect(nextBatchSize(1_000, 1_000, 1_900, SIZING, 900)).toBe(500);
    expect(nextBatchSize(500, 500, 1_400, SIZING, 900)).toBe(500);
    // Rows that seem free still get a tenth of the time: growth stays bounded by doubling.
    expect(nextBatchSize(100, 100, 1_000, SIZING, 1_000)).toBe(200);
  });

  it('does not shrink batches to nothing when a statement costs more than the target before any row', () => {
    // A pass over a simulated database under load: 1.2 s a statement plus 0.05 ms a row, the overhead learnt from
    // the shortest batch.
    const statementMs = (rows: number) => 1_200 + rows * 0.05;
    let size = SIZING.first;
    let overhead = Infinity;
    const times: number[] = [];
    for (let i = 0; i < 30; i++) {
      const ms = statementMs(size);
      times.push(ms);
      overhead = Math.min(overhead, ms);
      size = nextBatchSize(size, size, ms, SIZING, overhead);
    }
    expect(size).toBe(SIZING.max);
    expect(Math.max(...times)).toBeLessThanOrEqual(1_200 + SIZING.targetMs);
    // Without the overhead the same pass sank to batches of `min` rows, each still paying the whole 1.2 s.
    let naive = SIZING.first;
    for (let i = 0; i < 30; i++) naive = nextBatchSize(naive, naive, statementMs(naive), SIZING);
    expect(naive).toBe(SIZING.min);
  });

  it('keeps the size after a batch that did nothing', () => {
    expect(nextBatchSize(400, 0, 5_000, SIZING)).toBe(400);
  });

  it('ships a target far below the default statement timeout (120 s)', () => {
    expect(RETENTION_BATCH_SIZING.targetMs).toBeLessThanOrEqual(2_000);
  });
});

interface Line {
  level: number;
  msg: string;
  [field: string]: unknown;
}

describe('a retention pass', () => {
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

  /** An incremental run of workspace w, `daysAgo` old, with `versions` versions (a job each); its id. */
  async function runWithVersions(daysAgo: number, versions: number): Promise<number> {
    const [run] = await database.sql<{ id: number }[]>`
      insert into sync_runs (workspace, kind, status, started_at, finished_at, stop_reason)
      values ('w', 'incremental', 'succeeded', now() - make_interval(days => ${daysAgo}), now() - make_interval(days => ${daysAgo}), 'caught_up')
      returning id::int`;
    if (versions > 0) {
      await database.sql`
        insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw, run_id)
        select 'w', 'r' || ${run!.id} || '-' || g, 'job', 'ag', 'Priya', 1, 1, 1, 'completed', '{}', ${run!.id}
        from generate_series(1, ${versions}) g`;
    }
    return run!.id;
  }

  it('detaches a run\'s versions over as many batches as they need, then deletes it, saying how far it is after each', async () => {
    // A first load's worth of versions in one old run.
    await runWithVersions(200, 5_000);
    const linkless = await Promise.all([150, 140, 130].map((days) => runWithVersions(days, 0)));
    const kept = await runWithVersions(1, 50);
    const { log, lines } = captureLogs('info');

    // A target no batch reaches: sizes double from 100 up to the 400 allowed, whatever the machine's pace.
    const pass = await runRetention({
      config: { retention: { runDays: 90, rejectedDays: 0 } },
      database,
      log,
      sizing: { first: 100, max: 400, targetMs: 600_000 },
      progressEveryMs: 0,
    });

    expect(pass).toMatchObject({ runs: 1 + linkless.length, versionsDetached: 5_000, runsAtStart: 4 });
    expect(pass.failure).toBeUndefined();
    // 100 + 200 + 400 × 12 = 5,100: 14 detach batches at least, each with its delete turn.
    expect(pass.batches).toBeGreaterThanOrEqual(2 * 14);
    expect(pass.largestBatchMs).toBeGreaterThan(0);
    expect((await database.sql`select id::int from sync_runs`).map((r) => r.id)).toEqual([kept]);
    const [links] = await database.sql<{ detached: number; kept: number }[]>`
      select count(*) filter (where run_id is null)::int as detached, count(*) filter (where run_id = ${kept})::int as kept from batch_call_history`;
    expect(links).toEqual({ detached: 5_000, kept: 50 });

    const parsed = lines.map((l) => JSON.parse(l) as Line);
    const progress = parsed.filter((l) => l.msg.startsWith('retention under way'));
    expect(progress).toHaveLength(pass.batches);
    const detachSizes = progress.map((l) => (l.batchSizes as Record<string, number>)['detach versions'] ?? 0);
    expect(detachSizes.slice(0, 4)).toEqual([200, 200, 400, 400]);
    expect(Math.max(...detachSizes)).toBe(400);
    expect(progress[0]!.msg).toMatch(/^retention under way: 0 of ~4 old runs deleted \(100 versions detached\), 0 rejected items, in 1 batches, \d+ ms$/);
    expect(progress.map((l) => l.detachedVersions)).toEqual([...progress.map((l) => l.detachedVersions as number)].sort((a, b) => a - b));
    expect(progress.at(-1)).toMatchObject({ deletedRuns: 4, runsLeft: 0, detachedVersions: 5_000 });
    const final = parsed.filter((l) => l.msg.startsWith('retention pass done'));
    expect(final).toHaveLength(1);
    expect(final[0]!.msg).toMatch(/^retention pass done: 4 old runs deleted \(5,000 versions detached\), 0 rejected items, in \d+ batches, [\d.]+ m?s; largest batch [\d.]+ m?s$/);
    expect(final[0]).toMatchObject({ level: 30, deletedRuns: 4, detachedVersions: 5_000, batches: pass.batches });
  });

  it('logs no progress in a pass shorter than the interval, and its final line even when there is nothing to delete', async () => {
    await runWithVersions(1, 10);
    const { log, lines } = captureLogs('info');
    const pass = await runRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database, log });
    expect(pass).toMatchObject({ runs: 0, versionsDetached: 0, rejected: 0, runsAtStart: 0 });
    expect(lines.map((l) => (JSON.parse(l) as Line).msg)).toEqual([expect.stringMatching(/^retention pass done: 0 old runs deleted \(0 versions detached\), 0 rejected items, in 1 batches, /)]);
  });

  it('when a batch fails, logs one line with the Postgres code and what happens next, and the worker keeps going', async () => {
    await runWithVersions(200, 10);
    await runWithVersions(1, 0);
    // The user's case: a batch that meets the statement timeout. History is locked against writes by another
    // session, so detaching waits until its 300 ms statement_timeout cancels it.
    const timed = postgres(database.url, { max: 1, onnotice: () => undefined, connection: { statement_timeout: 300 } });
    cleanups.push(() => timed.end());
    const { log, lines } = captureLogs('info');
    const holder = postgres(database.url, { max: 1, onnotice: () => undefined });
    cleanups.push(() => holder.end());
    await holder.begin(async (tx) => {
      await tx`lock table batch_call_history in exclusive mode`;
      const retention = startRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database: { sql: timed }, log, everyMs: 3_600_000 });
      await retention.idle();
      await retention.stop();
    });

    const parsed = lines.map((l) => JSON.parse(l) as Line);
    expect(parsed).toHaveLength(1);
    expect(parsed[0]).toMatchObject({ level: 40, code: '57014', step: 'detach versions', batchSize: 100, deletedRuns: 0 });
    expect(parsed[0]!.msg).toBe(
      'retention batch failed (detach versions, 100 rows): database error 57014: canceling statement due to statement timeout; ' +
        'the pass stops here, after 0 runs and 0 rejected items deleted (they stay deleted); ' +
        'the next pass, in 1 h 00 min, starts again from the oldest run left with small batches',
    );
    // The lock gone, the next pass finishes the job.
    const pass = await runRetention({ config: { retention: { runDays: 90, rejectedDays: 90 } }, database: { sql: timed } });
    expect(pass).toMatchObject({ runs: 1, versionsDetached: 10 });
    expect(pass.failure).toBeUndefined();
  });
});
