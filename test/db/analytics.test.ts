import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { validateItems } from '../../src/pages/validate.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { writePage } from '../../src/db/write-page.ts';
import { batchCall, T0 } from '../helpers/batch-call.ts';
import { ownRun } from '../helpers/own-run.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

/**
 * A small fixed history, written through the real page write, and the
 * numbers each view must return, computed by hand.
 *
 * Times are unix seconds on 2026-11-02 (a Monday) from 08:00 UTC = 1793606400.
 */
const H = 3600;
const WS = 'acme';

const job = batchCall;

// a: pending 08:00 -> in_progress 10:00 -> completed 14:00 (10 scheduled, 10 finished), agent 1
// b: created 09:00 pending -> in_progress 11:00 -> failed 12:00 (10 scheduled, 4 finished), agent 1, deleted from the API at 13:00
// c: created 2026-10-30 (October) in_progress -> completed 2026-10-31 (20 scheduled, 15 finished), agent 2
// d: created 15:00 pending, agent 2
const VERSIONS = [
  job('a', T0, {}),
  job('a', T0 + 2 * H, { status: 'in_progress', total_calls_scheduled: 10, total_calls_dispatched: 5, total_calls_finished: 2 }),
  job('a', T0 + 6 * H, { status: 'completed', total_calls_scheduled: 10, total_calls_dispatched: 10, total_calls_finished: 10 }),
  job('b', T0 + 1 * H, { created_at_unix: T0 + H }),
  job('b', T0 + 3 * H, { created_at_unix: T0 + H, status: 'in_progress', total_calls_scheduled: 10, total_calls_dispatched: 4, total_calls_finished: 1 }),
  job('b', T0 + 4 * H, { created_at_unix: T0 + H, status: 'failed', total_calls_scheduled: 10, total_calls_dispatched: 4, total_calls_finished: 4 }),
  job('c', T0 - 3 * 24 * H, { created_at_unix: T0 - 3 * 24 * H, agent_id: 'ag_2', agent_name: 'Omar', status: 'in_progress', total_calls_scheduled: 20 }),
  job('c', T0 - 2 * 24 * H, { created_at_unix: T0 - 3 * 24 * H, agent_id: 'ag_2', agent_name: 'Omar', status: 'completed', total_calls_scheduled: 20, total_calls_dispatched: 20, total_calls_finished: 15 }),
  job('d', T0 + 7 * H, { created_at_unix: T0 + 7 * H, agent_id: 'ag_2', agent_name: 'Omar' }),
];

let database: TestDatabase;
const at = (unix: number) => new Date(unix * 1000).toISOString();

beforeAll(async () => {
  database = await createTestDatabase();
  const { owner, release } = await ownRun(database, WS);
  // One version per page, oldest first, as successive syncs would have seen them.
  for (const [i, version] of VERSIONS.entries()) {
    const { valid } = validateItems(batchCalls, [version]);
    await writePage(database.sql, { resource: batchCalls, owner, page: i + 1, rows: toPageRows(batchCalls, valid), rejected: [], itemsSeen: 1, nextCursor: null, listedIds: [], recordSeen: false, requests: 0, retries: 0 });
  }
  await release();
  await database.sql`update batch_calls set deleted_at = ${at(T0 + 5 * H)} where id = 'b'`;
  await database.sql`update sync_runs set status = 'succeeded', finished_at = now() - interval '90 seconds'`;
  await database.sql`insert into sync_runs (workspace, kind, status, started_at) values (${WS}, 'sync', 'failed', now())`;
});
afterAll(async () => {
  await database.drop();
});

async function asOf(unix: number): Promise<Record<string, string>> {
  const rows = await database.sql<{ id: string; status: string }[]>`select id, status from batch_calls_as_of(${at(unix)}) order by id`;
  return Object.fromEntries(rows.map((r) => [r.id, r.status]));
}

describe('batch_calls_as_of and batch_call_versions', () => {
  it('returns the version current at, just before and just after each change', async () => {
    expect(await asOf(T0 - 4 * 24 * H)).toEqual({});
    expect(await asOf(T0 - 3 * 24 * H)).toEqual({ c: 'in_progress' });
    expect(await asOf(T0 - 1)).toEqual({ c: 'completed' });
    expect(await asOf(T0)).toEqual({ a: 'pending', c: 'completed' });
    expect(await asOf(T0 + H - 1)).toEqual({ a: 'pending', c: 'completed' });
    expect(await asOf(T0 + H)).toEqual({ a: 'pending', b: 'pending', c: 'completed' });
    expect(await asOf(T0 + 2 * H - 1)).toEqual({ a: 'pending', b: 'pending', c: 'completed' });
    expect(await asOf(T0 + 2 * H)).toEqual({ a: 'in_progress', b: 'pending', c: 'completed' });
    expect(await asOf(T0 + 3 * H)).toEqual({ a: 'in_progress', b: 'in_progress', c: 'completed' });
    expect(await asOf(T0 + 4 * H)).toEqual({ a: 'in_progress', b: 'failed', c: 'completed' });
    // b vanished from the API at 13:00 (reconciliation set deleted_at).
    expect(await asOf(T0 + 5 * H - 1)).toEqual({ a: 'in_progress', b: 'failed', c: 'completed' });
    expect(await asOf(T0 + 5 * H)).toEqual({ a: 'in_progress', c: 'completed' });
    expect(await asOf(T0 + 6 * H)).toEqual({ a: 'completed', c: 'completed' });
    expect(await asOf(T0 + 7 * H)).toEqual({ a: 'completed', c: 'completed', d: 'pending' });
  });

  it('is one short WHERE on the versions view', async () => {
    const t = at(T0 + 3 * H);
    const rows = await database.sql`select id, status from batch_call_versions where valid_from <= ${t} and (valid_to is null or valid_to > ${t}) order by id`;
    expect(rows.map((r) => `${r.id}:${r.status}`)).toEqual(['a:in_progress', 'b:in_progress', 'c:completed']);
    const [a1] = await database.sql`select valid_from, valid_to from batch_call_versions where id = 'a' and last_updated_at_unix = ${T0}`;
    expect([(a1!.valid_from as Date).toISOString(), (a1!.valid_to as Date).toISOString()]).toEqual([at(T0), at(T0 + 2 * H)]);
  });

  it('answers "how many were in progress at 11:30" in one query', async () => {
    const [row] = await database.sql`select count(*)::int as n from batch_calls_as_of(${at(T0 + 3.5 * H)}) where status = 'in_progress'`;
    expect(row!.n).toBe(2);
  });
});

describe('BI views', () => {
  it('bi_current_batch_calls lists live jobs with readable timestamps', async () => {
    const rows = await database.sql`select id, status, calls_finished::int, created_at from bi_current_batch_calls order by id`;
    expect(rows.map((r) => [r.id, r.status, r.calls_finished])).toEqual([
      ['a', 'completed', 10],
      ['c', 'completed', 15],
      ['d', 'pending', 0],
    ]);
    expect((rows[0]!.created_at as Date).toISOString()).toBe(at(T0));
  });

  it('bi_daily_status_counts counts jobs per creation day and status', async () => {
    const rows = await database.sql`select day::text, status, jobs from bi_daily_status_counts order by day, status`;
    expect(rows.map((r) => [r.day, r.status, r.jobs])).toEqual([
      ['2026-10-30', 'completed', 1],
      ['2026-11-02', 'completed', 1],
      ['2026-11-02', 'pending', 1],
    ]);
  });

  it('bi_agent_performance and its monthly twin compute finish rates', async () => {
    const all = await database.sql`select agent_id, agent_name, jobs, calls_scheduled::int, calls_dispatched::int, calls_finished::int, finish_rate::float8 from bi_agent_performance order by agent_id`;
    expect(all.map((r) => ({ ...r }))).toEqual([
      { agent_id: 'ag_1', agent_name: 'Priya', jobs: 1, calls_scheduled: 10, calls_dispatched: 10, calls_finished: 10, finish_rate: 1 },
      { agent_id: 'ag_2', agent_name: 'Omar', jobs: 2, calls_scheduled: 20, calls_dispatched: 20, calls_finished: 15, finish_rate: 0.75 },
    ]);
    const monthly = await database.sql`select agent_id, month::text, jobs, finish_rate::float8 from bi_agent_performance_monthly order by month, agent_id`;
    expect(monthly.map((r) => [r.agent_id, r.month, r.jobs, r.finish_rate])).toEqual([
      ['ag_2', '2026-10-01', 1, 0.75],
      ['ag_1', '2026-11-01', 1, 1],
      ['ag_2', '2026-11-01', 1, null],
    ]);
  });

  it('bi_time_to_completion measures creation to the first final status, from history', async () => {
    const rows = await database.sql`select id, final_status, hours_to_final::float8 from bi_time_to_completion order by id`;
    expect(rows.map((r) => [r.id, r.final_status, r.hours_to_final])).toEqual([
      ['a', 'completed', 6],
      // Still history, though the API no longer lists it.
      ['b', 'failed', 3],
      ['c', 'completed', 24],
    ]);
  });

  it('bi_status_transitions counts observed status changes', async () => {
    const rows = await database.sql`select from_status, to_status, transitions from bi_status_transitions order by 1, 2`;
    expect(rows.map((r) => [r.from_status, r.to_status, r.transitions])).toEqual([
      ['in_progress', 'completed', 2],
      ['in_progress', 'failed', 1],
      ['pending', 'in_progress', 2],
    ]);
  });

  it('bi_deleted_batch_calls lists the jobs that disappeared from the API', async () => {
    const rows = await database.sql`select id, status, deleted_at from bi_deleted_batch_calls`;
    expect(rows.map((r) => [r.id, r.status, (r.deleted_at as Date).toISOString()])).toEqual([['b', 'failed', at(T0 + 5 * H)]]);
  });

  it('bi_sync_freshness gives the last success and its age per workspace', async () => {
    const [row] = await database.sql`select workspace, age_seconds::int, last_run_status from bi_sync_freshness`;
    expect(row!.workspace).toBe(WS);
    expect(row!.last_run_status).toBe('failed');
    expect(row!.age_seconds).toBeGreaterThanOrEqual(90);
    expect(row!.age_seconds).toBeLessThan(90 + 60);
  });
});
