import { describe, expect, it } from 'vitest';
import { createMemoryBudget } from '../../src/budget/shared.ts';
import type { RequestBudget } from '../../src/budget/budget.ts';
import { runSync, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';

const KEY = 'sk_beside_6a5b4c3d2e1f0a9b';
const WS = 'beside';

const database = useTestDatabase();
const simulators = useSimulator({ apiKeys: [KEY], items: 1000 });

/** A budget that admits `open` requests, then holds the next one until `release()`: the run stands still mid-walk. */
function gatedBudget(open: number): { budget: RequestBudget; reached: Promise<void>; release: () => void } {
  const inner = createMemoryBudget([{ points: 1_000_000, windowMs: 60_000 }]);
  let taken = 0;
  let release!: () => void;
  let onReached!: () => void;
  const gate = new Promise<void>((resolve) => (release = resolve));
  const reached = new Promise<void>((resolve) => (onReached = resolve));
  return {
    budget: {
      async take(signal, options) {
        if (++taken > open) {
          onReached();
          await gate;
        }
        return inner.take(signal, options);
      },
    },
    reached,
    release,
  };
}

describe('an incremental sync beside a reconciliation of the same workspace', () => {
  it('runs while the reconciliation walks, its listing counts as seen, and the reconciliation still marks exactly the deleted jobs', async () => {
    const simulator = await simulators.start();
    const config = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    const run = (kind: 'full' | 'incremental' | 'reconcile', budget?: RequestBudget): Promise<SyncSummary> =>
      runSync({ config, database, log: silentLogger, ...(budget ? { budget } : {}) }, { workspace: WS, apiKey: KEY, kind });
    await run('full');
    const { deleted } = simulator.mutate({ delete: 4 });

    // The reconciliation stops for the budget before its fourth page: three pages (300 ids) are seen.
    const gated = gatedBudget(3);
    const reconciling = run('reconcile', gated.budget);
    await gated.reached;
    const [reconcileRun] = await database.sql<{ id: number }[]>`select id::int from sync_runs where kind = 'reconcile' and status = 'running'`;

    const { progressed, created } = simulator.mutate({ progress: 3, create: 2 });
    const sync = await run('incremental');
    expect(sync.status).toBe('succeeded');
    // The sync's changes are in the copy while the reconciliation is still at its third page.
    const stored = await database.sql<{ id: string }[]>`
      select id from batch_calls where workspace = ${WS} and id = any(${[...progressed, ...created]}::text[])`;
    expect(stored).toHaveLength(progressed.length + created.length);
    const [{ status }] = (await database.sql`select status from sync_runs where id = ${reconcileRun!.id}`) as unknown as [{ status: string }];
    expect(status).toBe('running');
    // What the sync listed was lent to the reconciliation: more than its own three pages.
    const [{ seen }] = (await database.sql`select count(*)::int as seen from reconcile_seen where run_id = ${reconcileRun!.id}`) as unknown as [{ seen: number }];
    expect(seen).toBeGreaterThan(300);

    gated.release();
    const reconcile = await reconciling;
    expect(reconcile.reconcile).toMatchObject({ deleted: 4 });
    const marked = await database.sql<{ id: string }[]>`select id from batch_calls where deleted_at is not null order by id`;
    expect(marked.map((r) => r.id)).toEqual([...deleted].sort());
    await expectCopyMatches(database, WS, simulator.truth(), deleted);
  });

  it('still keeps two syncs of one workspace apart', async () => {
    const simulator = await simulators.start();
    const config = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    const gated = gatedBudget(1);
    const first = runSync({ config, database, log: silentLogger, budget: gated.budget }, { workspace: WS, apiKey: KEY, kind: 'incremental' });
    await gated.reached;
    await expect(runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'incremental' })).rejects.toThrow(/another sync of workspace "beside" is running/);
    gated.release();
    expect((await first).status).toBe('succeeded');
  });
});
