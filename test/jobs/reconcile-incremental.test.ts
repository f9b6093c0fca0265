import { describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { runSync, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';
import { afterEachPage } from '../helpers/run-events.ts';

const KEY = 'sk_reconcile_3c4d5e6f7a8b9c0d';
const WS = 'recon';

const database = useTestDatabase();
const simulators = useSimulator({ apiKeys: [KEY], items: 1000 });
let simulator: Simulator;
let config: Config;

async function start(options: SimulatorOptions = {}, overrides: Partial<Config> = {}): Promise<void> {
  simulator = await simulators.start(options);
  config = testConfig({ baseUrl: simulator.url, pageSize: 100, ...overrides });
}
const run = (kind: RunKind): Promise<SyncSummary> => runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind });
const deletedIds = async () =>
  (await database.sql<{ id: string }[]>`select id from batch_calls where deleted_at is not null order by id`).map((r) => r.id);


describe('reconciliation', () => {
  it('marks exactly the jobs the API no longer lists, and undeletes the ones that came back', async () => {
    await start();
    await run('full');
    const { deleted } = simulator.mutate({ delete: 5 });
    const live = simulator.truth()[10]!.id;
    await database.sql`update batch_calls set deleted_at = now() where id = ${live}`;

    const summary = await run('reconcile');
    // The wrongly marked job is live again as soon as its page is written, so it counts among the stored ones.
    expect(summary.reconcile).toEqual({ apiCount: 995, storedCount: 1000, deleted: 5, undeleted: 1 });
    expect(await deletedIds()).toEqual([...deleted].sort());
    const [row] = await database.sql`select deleted, undeleted, api_count, stored_count, stop_reason from sync_runs where id = ${summary.runId}`;
    expect({ ...row }).toEqual({ deleted: 5, undeleted: 1, api_count: 995, stored_count: 1000, stop_reason: 'end' });
    const [{ n }] = (await database.sql`select count(*)::int as n from reconcile_seen`) as unknown as [{ n: number }];
    expect(n).toBe(0);

    // A second reconciliation finds nothing to do.
    expect((await run('reconcile')).reconcile).toEqual({ apiCount: 995, storedCount: 995, deleted: 0, undeleted: 0 });
  });

  it('never marks anything deleted when the walk did not complete', async () => {
    await start();
    await run('full');
    const { deleted } = simulator.mutate({ delete: 5 });
    simulator.sabotageCursor('empty-string');
    await expect(run('reconcile')).rejects.toThrow(/next_doc/);
    expect(await deletedIds()).toEqual([]);

    // The next reconciliation walks everything and marks exactly those.
    expect((await run('reconcile')).reconcile).toMatchObject({ deleted: 5 });
    expect(await deletedIds()).toEqual([...deleted].sort());
  });

  it('keeps jobs the API still lists even when their content is now invalid', async () => {
    await start({ items: 300 });
    await run('full');
    simulator.injectInvalid(6);
    const listedButInvalid = simulator
      .invalidItems()
      .map((item) => (item as { id?: unknown }).id)
      .filter((id): id is string => typeof id === 'string' && id.length > 0);
    expect(listedButInvalid.length).toBeGreaterThan(0);
    // As if each had been stored while it was still valid, plus one job the API really dropped.
    for (const id of [...listedButInvalid, 'bc_only_here']) {
      await database.sql`insert into batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
        values (${WS}, ${id}, 'x', 'a', 'a', 1, 1, 1, 'completed', '{}')`;
    }
    const summary = await run('reconcile');
    expect(summary.rejected).toBe(6);
    expect(await deletedIds()).toEqual(['bc_only_here']);
  });
});

describe('incremental sync', () => {
  it('spends a fraction of a full walk\'s requests and still catches every change to non-final jobs', async () => {
    await start({ items: 5_000 });
    await run('full');
    simulator.resetStats();
    await run('full');
    const fullRequests = simulator.stats.requests;
    expect(fullRequests).toBe(50);

    const changes = simulator.mutate({ progress: 30, create: 12 });
    expect(changes.progressed.length).toBeGreaterThan(10);
    simulator.resetStats();
    const incremental = await run('incremental');
    expect(incremental.stopReason).toBe('caught_up');
    expect(simulator.stats.requests).toBeLessThanOrEqual(fullRequests / 4);
    expect(incremental.versionsAdded).toBe(changes.progressed.length + changes.created.length);
    await expectCopyMatches(database, WS, simulator.truth());
    const [row] = await database.sql`select pages, stop_reason from sync_runs where id = ${incremental.runId}`;
    expect({ ...row }).toEqual({ pages: incremental.pages, stop_reason: 'caught_up' });
  });

  it('never infers deletes, and leaves a revived old job to the nightly reconciliation', async () => {
    await start({ items: 5_000 });
    await run('full');
    const { revived } = simulator.mutate({ revive: 1 });
    const { deleted } = simulator.mutate({ delete: 3 });
    const incremental = await run('incremental');
    expect(incremental.stopReason).toBe('caught_up');
    expect(await deletedIds()).toEqual([]);
    // The revived job sits below where the incremental walk stopped, so it is still stale in the copy.
    const revivedId = revived[0]!;
    expect(simulator.truth().findIndex((t) => t.id === revivedId)).toBeGreaterThanOrEqual(incremental.pages * 100);
    const [stale] = await database.sql`select status from batch_calls where id = ${revivedId}`;
    expect(stale!.status).not.toBe('in_progress');
    await run('reconcile');
    await expectCopyMatches(database, WS, simulator.truth(), deleted);
    expect(await deletedIds()).toEqual([...deleted].sort());
  });

  it('walks every page until some run has walked them all', async () => {
    await start({ items: 1_000 });
    const first = await run('incremental');
    expect(first).toMatchObject({ stopReason: 'end', pages: 10 });
    const second = await run('incremental');
    expect(second.stopReason).toBe('caught_up');
    expect(second.pages).toBeLessThan(10);
  });
});

describe('resuming', () => {
  it('resumes a failed full sync after its last committed page instead of walking from the top', async () => {
    await start({ items: 1_000, hangMs: 5_000 }, { maxAttempts: 1, timeoutMs: 300 });
    // Page 4 fails once: the run fails (one attempt allowed) after committing 3 pages.
    let served = 0;
    const failOnFourth = () => {
      served++;
      if (served === 4) simulator.injectFaults('503');
    };
    const first = runSync({ config, database, log: silentLogger, ...afterEachPage(failOnFourth) }, { workspace: WS, apiKey: KEY, kind: 'full' });
    await expect(first).rejects.toThrow(/503/);
    const [failed] = await database.sql`select id::int, pages, status, next_cursor from sync_runs`;
    expect(failed).toMatchObject({ status: 'failed' });
    expect(failed!.next_cursor).not.toBeNull();

    simulator.resetStats();
    const second = await run('full');
    expect(second).toMatchObject({ runId: failed!.id, resumed: true, status: 'succeeded' });
    expect(simulator.stats.requests).toBe(10 - failed!.pages);
    const [row] = await database.sql`select attempts, pages, status from sync_runs where id = ${failed!.id}`;
    expect({ ...row }).toEqual({ attempts: 2, pages: 10, status: 'succeeded' });
    await expectCopyMatches(database, WS, simulator.truth());
  });

  it('walks from the top when the API rejects the saved cursor', async () => {
    await start({ items: 500 });
    await database.sql`insert into sync_runs (workspace, kind, status, pages, next_cursor) values (${WS}, 'full', 'failed', 2, 'expired-cursor')`;
    const summary = await run('full');
    expect(summary).toMatchObject({ resumed: true, status: 'succeeded' });
    await expectCopyMatches(database, WS, simulator.truth());
    expect(simulator.stats.byStatus['422']).toBe(1);
  });

  it('does not resume a run that failed for good (its cursor is dropped)', async () => {
    await start({ items: 300 });
    simulator.sabotageCursor('missing-with-has-more');
    await expect(run('full')).rejects.toThrow(/next_doc/);
    const [failed] = await database.sql`select next_cursor from sync_runs`;
    expect(failed!.next_cursor).toBeNull();
    expect((await run('full')).resumed).toBe(false);
  });
});
