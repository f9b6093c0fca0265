import { describe, expect, it } from 'vitest';
import { validateItems } from '../../src/pages/validate.ts';
import { toPageRows } from '../../src/pages/page-rows.ts';
import { writePage } from '../../src/db/write-page.ts';
import { applyReportTimeZone } from '../../src/db/report-zone.ts';
import { runRetention } from '../../src/jobs/retention.ts';
import { countLive } from '../../src/db/runs/count-live.ts';
import { runningWalks } from '../../src/db/runs/running-walks.ts';
import { batchCalls } from '../../src/resources/batch-calls.ts';
import { batchCall, T0 } from '../helpers/batch-call.ts';
import { ownRun } from '../helpers/own-run.ts';
import { useTestDatabase } from '../helpers/use.ts';
import { expectDayCountsConsistent } from '../helpers/day-counts.ts';

/**
 * The stored daily counts (batch_call_day_changes, read through bi_daily_job_counts and batch_calls_count_as_of),
 * the stored completions (batch_call_completion) and the live counter (batch_call_live_jobs), kept by triggers (migration
 * 0013): after each kind of write they must equal what batch_calls_as_of, history and batch_calls say from scratch,
 * at the end of every day around the history and at every hour of it.
 */
const H = 3600;
const D = 24 * H;
const WS = 'acme';
const at = (unix: number) => new Date(unix * 1000).toISOString();
/** Midnight UTC of T0's day (2026-11-02). */
const MIDNIGHT = T0 - 8 * H;

const database = useTestDatabase();

function job(id: string, ts: number, status: string, extra: Record<string, unknown> = {}) {
  return batchCall(id, ts, { status, ...extra });
}

/** Pages through the real write, one page per call, as a sync would; `listed` ids undelete. */
async function syncPages(pages: Record<string, unknown>[][], listed: string[][] = [], workspace = WS): Promise<void> {
  const { owner, release } = await ownRun(database, workspace);
  try {
    for (const [i, items] of pages.entries()) {
      const { valid } = validateItems(batchCalls, items);
      await writePage(database.sql, {
        resource: batchCalls, owner, page: i + 1, rows: toPageRows(batchCalls, valid), rejected: [], itemsSeen: items.length,
        nextCursor: null, listedIds: listed[i] ?? [], recordSeen: false, requests: 0, retries: 0,
      });
    }
    await database.sql`update sync_runs set status = 'succeeded', finished_at = now(), stop_reason = 'end' where id = ${owner.runId}`;
  } finally {
    await release();
  }
}

/** Versions written straight into history in one statement, as an operator's backfill would. */
async function backfill(versions: { id: string; ts: number; status: string; agent?: string }[]): Promise<void> {
  await database.sql`
    insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
    select ${WS}, v.id, 'job ' || v.id, v.agent, 'Priya', ${T0}, ${T0}, v.ts, v.status, jsonb_build_object('id', v.id, 'status', v.status, 'ts', v.ts)
    from jsonb_to_recordset(${database.sql.json(versions.map((v) => ({ agent: 'ag_1', ...v })))}) as v(id text, ts bigint, status text, agent text)`;
}

/** The reconciliation's mark (finish-reconcile.ts), at a fixed instant instead of now(). */
async function markDeleted(ids: string[], when: number): Promise<void> {
  await database.sql`update batch_calls set deleted_at = ${at(when)} where workspace = ${WS} and id = any(${ids}) and deleted_at is null`;
}

/** A history several days long: jobs through pending, in progress and a final status, on two agents, with versions at midnight exactly. */
async function baseHistory(): Promise<void> {
  await syncPages([
    [job('a', MIDNIGHT - 2 * D + 5 * H, 'pending'), job('b', MIDNIGHT - 2 * D, 'pending', { agent_id: 'ag_2' })],
    [job('a', MIDNIGHT - D, 'in_progress'), job('c', MIDNIGHT - D + 30, 'pending')],
    [job('b', MIDNIGHT - D + 12 * H, 'in_progress', { agent_id: 'ag_2' }), job('c', MIDNIGHT + 2 * H, 'in_progress')],
    [job('a', MIDNIGHT + 3 * H, 'completed'), job('d', MIDNIGHT + 4 * H, 'pending', { agent_id: 'ag_2' })],
    [job('b', MIDNIGHT + D, 'failed', { agent_id: 'ag_2' }), job('c', MIDNIGHT + D + H, 'completed')],
    [job('a', MIDNIGHT + 2 * D, 'completed', { total_calls_finished: 3 })],
  ]);
}

async function expectConsistent(): Promise<void> {
  await expectDayCountsConsistent(database.sql, MIDNIGHT);
}

describe('daily job counts, completions and live jobs kept by triggers', () => {
  it('equal the as-of counts at every day end after a sync, including versions that begin at midnight', async () => {
    await baseHistory();
    await expectConsistent();
    // Not vacuous: the history has jobs in progress at some day ends, and the view says so.
    const rows = await database.sql`select day::text, jobs::int from bi_daily_job_counts where workspace = ${WS} and status = 'in_progress' and agent_id = 'ag_1' order by day limit 3`;
    expect(rows).toEqual([{ day: at(MIDNIGHT - 2 * D).slice(0, 10), jobs: 1 }, { day: at(MIDNIGHT - D).slice(0, 10), jobs: 1 }, { day: at(MIDNIGHT).slice(0, 10), jobs: 1 }]);
    expect(await database.sql`select final_status, final_at_unix::int from batch_call_completion where id = 'a'`).toEqual([{ final_status: 'completed', final_at_unix: MIDNIGHT + 3 * H }]);
    expect(await database.sql`select jobs::int from batch_call_live_jobs`).toEqual([{ jobs: 4 }]);
  });

  it('stay equal after a late version (older than the newest) arrives through a page', async () => {
    await baseHistory();
    // b had no in-progress version a day earlier; c completed earlier than the API first told us (a final version that moves its completion).
    await syncPages([[job('b', MIDNIGHT - D - 3 * H, 'in_progress', { agent_id: 'ag_2' }), job('c', MIDNIGHT + 5 * H, 'failed')]]);
    await expectConsistent();
    expect(await database.sql`select final_status, final_at_unix::int from batch_call_completion where id = 'c'`).toEqual([{ final_status: 'failed', final_at_unix: MIDNIGHT + 5 * H }]);
  });

  it('stay equal after a backfill of versions for old days, several of one job in one statement', async () => {
    await baseHistory();
    await backfill([
      { id: 'e', ts: MIDNIGHT - 4 * D, status: 'pending', agent: 'ag_3' },
      { id: 'e', ts: MIDNIGHT - 3 * D + H, status: 'in_progress', agent: 'ag_3' },
      { id: 'e', ts: MIDNIGHT - D - H, status: 'cancelled', agent: 'ag_3' },
      { id: 'a', ts: MIDNIGHT - 2 * D + 7 * H, status: 'in_progress' },
      { id: 'd', ts: MIDNIGHT + 2 * H, status: 'pending', agent: 'ag_2' },
    ]);
    await expectConsistent();
  });

  it('stay equal after deletes, a delete mark older than the newest version, undeletes, and a re-delete', async () => {
    await baseHistory();
    await markDeleted(['a', 'd'], MIDNIGHT + 3 * D + 5 * H);
    await expectConsistent();
    expect(await database.sql`select jobs::int from batch_call_live_jobs`).toEqual([{ jobs: 2 }]);
    // A mark older than c's newest version: that version is never current.
    await markDeleted(['c'], MIDNIGHT + D);
    await expectConsistent();
    // Listed again by a page (the write path's undelete), d with a new version.
    await syncPages([[job('d', MIDNIGHT + 4 * D, 'in_progress', { agent_id: 'ag_2' })]], [['a', 'd']]);
    await expectConsistent();
    expect(await database.sql`select jobs::int from batch_call_live_jobs`).toEqual([{ jobs: 3 }]);
    await markDeleted(['d'], MIDNIGHT + 5 * D);
    await database.sql`delete from batch_calls where id = 'a'`;
    await expectConsistent();
  });

  it('stay equal after versions are amended (status and agent), re-keyed and deleted', async () => {
    await baseHistory();
    // The API changed a version's content without bumping its timestamp: an amendment through the page write.
    await syncPages([[job('a', MIDNIGHT + 3 * H, 'failed'), job('d', MIDNIGHT + 4 * H, 'pending', { agent_id: 'ag_3' })]]);
    await expectConsistent();
    await database.sql`update batch_call_history set last_updated_at_unix = last_updated_at_unix - ${2 * D} where id = 'c' and status = 'completed'`;
    await expectConsistent();
    await database.sql`update batch_call_history set workspace = 'globex' where id = 'b'`;
    await expectConsistent();
    await database.sql`delete from batch_call_history where id = 'a' and status = 'failed'`;
    await expectConsistent();
    await database.sql`delete from batch_call_history where id = 'c'`;
    await expectConsistent();
  });

  it('are rebuilt in the same transaction when the reporting zone changes', async () => {
    await baseHistory();
    await backfill([{ id: 'e', ts: MIDNIGHT - 2 * D - 6 * H, status: 'pending' }]);
    const before = await database.sql`select day::text, jobs::int from bi_daily_job_counts where status = 'pending' and agent_id = 'ag_1' order by day`;
    for (const zone of ['Asia/Kolkata', 'America/New_York']) {
      await applyReportTimeZone(database.sql, zone);
      await expectConsistent();
      // Writes after the change count in the new zone.
      await syncPages([[job(`z-${zone}`, MIDNIGHT + 2 * D - 2 * H, 'in_progress')]]);
      await expectConsistent();
    }
    expect(await database.sql`select day::text, jobs::int from bi_daily_job_counts where status = 'pending' and agent_id = 'ag_1' order by day`).not.toEqual(before);
  });

  it('stay equal after retention deletes old runs and detaches their versions', async () => {
    await baseHistory();
    await database.sql`update sync_runs set started_at = now() - interval '200 days', finished_at = now() - interval '200 days'`;
    await syncPages([[job('f', MIDNIGHT + H, 'pending')]]);
    const pass = await runRetention({ config: { retention: { runDays: 90, rejectedDays: 0 } }, database });
    expect(pass.versionsDetached).toBeGreaterThan(0);
    await expectConsistent();
  });

  it('stay equal when two transactions write versions of one job at once (the second waits for the first)', async () => {
    await baseHistory();
    const first = await database.sql.reserve();
    try {
      await first`begin`;
      await first`insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
                  values (${WS}, 'a', 'job a', 'ag_1', 'Priya', ${T0}, ${T0}, ${MIDNIGHT + D + H}, 'in_progress', '{}')`;
      let settled = false;
      const second = backfill([{ id: 'a', ts: MIDNIGHT - D + 2 * H, status: 'pending' }, { id: 'a', ts: MIDNIGHT + 4 * D, status: 'failed' }]).finally(() => {
        settled = true;
      });
      // Until the second writer queues on the workspace's history lock, which the first holds to its commit.
      while (!settled) {
        const [waiting] = await database.sql`select count(*)::int as n from pg_locks where locktype = 'advisory' and not granted and database = (select oid from pg_database where datname = current_database())`;
        if (waiting!.n > 0) break;
      }
      await first`commit`;
      await second;
    } finally {
      first.release();
    }
    await expectConsistent();
  });

  it('are emptied with history and batch_calls by TRUNCATE', async () => {
    await baseHistory();
    await database.sql`truncate batch_call_history, batch_calls`;
    expect(await database.sql`select (select count(*) from batch_call_day_changes)::int as days, (select count(*) from batch_call_completion)::int as done, (select count(*) from batch_call_live_jobs)::int as live`).toEqual([{ days: 0, done: 0, live: 0 }]);
  });

  it('read indexes only: the daily counts, counts as of an instant, changed in the last 24 hours, completions, running walks', async () => {
    await baseHistory();
    const { owner, release } = await ownRun(database, WS);
    try {
      const walks = await runningWalks(database.sql, WS);
      expect(walks).toEqual([expect.objectContaining({ id: owner.runId, stored_jobs: 4 })]);
      expect(await countLive(database.sql, batchCalls, WS)).toBe(4);
    } finally {
      await release();
    }
    // Index-only scans are costed by the visibility map, which VACUUM sets.
    await database.sql`vacuum analyze`;
    const plans = await database.sql.begin(async (tx) => {
      await tx`set local enable_seqscan = off`;
      const plan = async (query: string) => (await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
      return {
        daily: await plan(`select day, sum(jobs) from bi_daily_job_counts where workspace = 'acme' and status = 'in_progress' group by day`),
        asOf: await plan(`select * from batch_calls_count_as_of('${at(MIDNIGHT + 5 * H)}')`),
        changed: await plan(`select workspace, id, status from batch_call_history where last_updated_at >= now() - interval '24 hours'`),
        completion: await plan(`select final_status, count(*) from bi_time_to_completion where created_at >= now() - interval '30 days' group by 1`),
        walks: await plan(`select (select l.jobs from batch_call_live_jobs l where l.workspace = r.workspace) from sync_runs r where r.status = 'running'`),
      };
    });
    expect(plans.daily).toMatch(/Index Scan using batch_call_day_changes_workspace_status_agent_id_day_pk/);
    expect(plans.daily).toMatch(/Index Cond: \(\(workspace = 'acme'::text\) AND \(status = 'in_progress'::text\)\)/);
    expect(plans.asOf).toMatch(/Index Only Scan using batch_call_history_changed_idx/);
    expect(plans.asOf).toMatch(/Index Only Scan using batch_call_history_valid_idx/);
    expect(plans.changed).toMatch(/Index Only Scan using batch_call_history_changed_idx/);
    expect(plans.completion).toMatch(/batch_call_completion/);
    for (const [name, text] of Object.entries(plans)) {
      expect(text, name).not.toMatch(/Seq Scan|on batch_call_history [a-z]+\s*$|WindowAgg.*batch_call_history/m);
      if (name !== 'asOf' && name !== 'changed') expect(text, name).not.toMatch(/batch_call_history\b/);
    }
  });
});
