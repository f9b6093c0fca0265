import { describe, expect, it } from 'vitest';
import type { Config } from '../../src/config.ts';
import { runSync, type SyncDeps } from '../../src/jobs/sync-run.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { silentLogger } from '../../src/log.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { testConfig } from '../helpers/config.ts';
import { item, page, startPageServer, type CraftedResponse } from '../helpers/page-server.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';
import { afterEachPage, type PageHook } from '../helpers/run-events.ts';

/**
 * The spec never says in which order the list comes, nor how long a cursor
 * lives. These walks meet a list by last update (a changed job jumps to the
 * head, past the cursor), cursors rotated or expired mid-walk, an order that
 * is neither, and an API that never ends.
 */
const WS = 'moving';
const KEY = 'sk_moving_0a1b2c3d4e5f';
const database = useTestDatabase();
const { start: simulator } = useSimulator();

function config(sim: { url: string }, overrides: Partial<Config> = {}): Config {
  return testConfig({ baseUrl: sim.url, pageSize: 100, ...overrides });
}

function run(cfg: Config, kind: RunKind, extra: Partial<SyncDeps> = {}) {
  return runSync({ config: cfg, database, log: silentLogger, ...extra }, { workspace: WS, apiKey: KEY, kind });
}

const deletedIds = async () =>
  (await database.sql<{ id: string }[]>`select id from batch_calls where workspace = ${WS} and deleted_at is not null order by id`).map((r) => r.id);

async function latestRun() {
  const [row] = await database.sql<{ status: string; stop_reason: string; list_order: string | null; walk_restarts: number; error: string | null; next_cursor: string | null; deleted: number }[]>`
    select status, stop_reason, list_order, walk_restarts, error, next_cursor, deleted from sync_runs order by id desc limit 1`;
  return row!;
}

/** After page `at` of the walk, once. */
function onceAfterPage(at: number, act: () => void): PageHook {
  let done = false;
  return (progress) => {
    if (!done && progress.pages === at) {
      done = true;
      act();
    }
  };
}

async function storedSim(options: Parameters<typeof simulator>[0]): Promise<Simulator> {
  const sim = await simulator({ apiKeys: [KEY], items: 600, seed: 7, ...options });
  await run(config(sim), 'full');
  return sim;
}

describe('a list by last update', () => {
  it('a reconciliation marks no live job deleted when jobs move past its cursor mid-walk, and still marks the real deletes', async () => {
    const sim = await storedSim({ order: 'updated' });
    const gone = sim.mutate({ delete: 3 }).deleted;
    let moved: string[] = [];
    const summary = await run(config(sim), 'reconcile', afterEachPage(onceAfterPage(2, () => (moved = sim.mutate({ revive: 40 }).revived))));
    expect(moved).toHaveLength(40);
    expect(summary).toMatchObject({ status: 'succeeded', listOrder: 'updated', reconcile: { deleted: 3 } });
    expect(await deletedIds()).toEqual([...gone].sort());
    expect(await latestRun()).toMatchObject({ status: 'succeeded', list_order: 'updated', deleted: 3 });
    // The moved jobs' new versions were read by the head sweep, so the copy has them too.
    const versions = await database.sql<{ n: number }[]>`
      select count(*)::int as n from batch_calls where workspace = ${WS} and id = any(${moved}) and status = 'in_progress'`;
    expect(versions[0]!.n).toBe(40);
  });

  it('a busy head (more than a page of jobs changed in the last minutes) settles in two rounds instead of refusing', async () => {
    // The API's clock, in seconds, moved by hand so that each change has its own second.
    let now = Math.floor(Date.now() / 1000) - 60;
    const sim = await storedSim({ order: 'updated', now: () => now });
    now += 5;
    expect(sim.mutate({ revive: 150 }).revived).toHaveLength(150);
    const gone = sim.mutate({ delete: 2 }).deleted;
    now += 5;
    const moving = onceAfterPage(2, () => {
      now += 5;
      sim.mutate({ revive: 40 });
    });
    const summary = await run(config(sim), 'reconcile', afterEachPage(moving));
    expect(summary).toMatchObject({ status: 'succeeded', listOrder: 'updated', reconcile: { deleted: 2 } });
    expect(await deletedIds()).toEqual([...gone].sort());
  });

  it('a list by creation is recognised and needs no second read of the head', async () => {
    const sim = await storedSim({});
    sim.resetStats();
    const summary = await run(config(sim), 'reconcile', afterEachPage(onceAfterPage(2, () => sim.mutate({ revive: 40 }))));
    expect(summary).toMatchObject({ status: 'succeeded', listOrder: 'created', reconcile: { deleted: 0 } });
    expect(sim.stats.requests).toBe(6);
  });
});

describe('cursors rejected mid-walk', () => {
  it('a reconciliation whose cursors are rotated mid-walk walks again from the top, keeps its seen ids and marks exactly the deletes', async () => {
    const sim = await storedSim({});
    const gone = sim.mutate({ delete: 2 }).deleted;
    const summary = await run(config(sim), 'reconcile', afterEachPage(onceAfterPage(3, () => sim.invalidateCursors())));
    expect(summary).toMatchObject({ status: 'succeeded', walkRestarts: 1, reconcile: { deleted: 2 } });
    expect(await deletedIds()).toEqual([...gone].sort());
    expect(await latestRun()).toMatchObject({ status: 'succeeded', walk_restarts: 1 });
  });

  it('cursors that expire before the walk can follow them fail the run after WALK_MAX_RESTARTS, resumable and keeping what it saw', async () => {
    const sim = await storedSim({});
    sim.mutate({ delete: 2 });
    // Every cursor is dead by the time it is used: as if each page waited longer than the cursor lives.
    const cfg = config(sim, { walk: { maxPages: 0, maxRestarts: 2 } });
    const run1 = run(cfg, 'reconcile', afterEachPage(() => sim.invalidateCursors()));
    await expect(run1).rejects.toThrow(/^the API rejected the walk's cursor again after 2 restart\(s\) from the top \(API rejected the request \(422\): last_doc: Value error, invalid cursor\); the run is retried later and keeps what it committed$/);
    const failed = await latestRun();
    expect(failed).toMatchObject({ status: 'failed', stop_reason: 'error', walk_restarts: 2, deleted: 0 });
    expect(failed.next_cursor).not.toBeNull();
    expect(await deletedIds()).toEqual([]);
    const [seen] = await database.sql<{ n: number }[]>`select count(*)::int as n from reconcile_seen`;
    expect(seen!.n).toBeGreaterThan(0);
    // Once cursors live again, the next attempt resumes the same run (its saved cursor is rejected: from the top) and finishes it.
    const resumed = await run(cfg, 'reconcile');
    expect(resumed).toMatchObject({ status: 'succeeded', resumed: true, reconcile: { deleted: 2 } });
  });
});

describe('an order that is neither', () => {
  /** Two pages whose creation and update times both go up between them; job `gone` is listed by the first walk (requests 0 and 1) only. */
  const shuffled = (n: number, lastDoc: string | null): CraftedResponse => {
    if (lastDoc === null) return { body: page([item('a', { created_at_unix: 1_790_000_500, last_updated_at_unix: 1_790_000_900 }), item('b', { created_at_unix: 1_790_000_400, last_updated_at_unix: 1_790_000_800 })], 'p2') };
    const gone = n < 2 ? [item('gone', { created_at_unix: 1_790_000_100, last_updated_at_unix: 1_790_000_100 })] : [];
    return { body: page([item('c', { created_at_unix: 1_790_000_600, last_updated_at_unix: 1_790_000_950 }), ...gone], null) };
  };

  it('a reconciliation refuses to mark deletes, says where the order broke, and records the order', async () => {
    const server = await startPageServer(shuffled);
    try {
      const cfg = config(server);
      await run(cfg, 'full');
      await expect(run(cfg, 'reconcile')).rejects.toThrow(
        'reconciliation refused: the API listed jobs in neither creation nor last-update order (page 2: created_at 1790000400 then 1790000600, last_updated_at 1790000800 then 1790000950), so 1 job it did not list may only have moved; it marked nothing',
      );
      expect(await deletedIds()).toEqual([]);
      expect(await latestRun()).toMatchObject({ status: 'failed', stop_reason: 'delete_guard', list_order: 'unknown' });
    } finally {
      await server.close();
    }
  });
});

describe('an incremental sync under an order it does not recognise', () => {
  it('walks every page instead of stopping early, whether the order broke in this walk or in the last one', async () => {
    // Five one-job pages of final jobs: a recognised order lets an incremental sync stop after two quiet pages.
    let broken = false;
    const created = () => (broken ? [500, 600, 300, 200, 100] : [500, 400, 300, 200, 100]);
    const server = await startPageServer((_n, lastDoc) => {
      const index = lastDoc === null ? 0 : Number(lastDoc);
      const job = item(`j${index}`, { created_at_unix: 1_790_000_000 + created()[index]!, last_updated_at_unix: 1_790_000_000 + (index % 2) * 1000 });
      return { body: page([job], index < 4 ? String(index + 1) : null) };
    });
    try {
      const cfg = config(server);
      await run(cfg, 'full');
      const before = server.requests;
      expect(await run(cfg, 'incremental')).toMatchObject({ stopReason: 'caught_up', pages: 2, listOrder: 'created' });
      broken = true;
      const seen = server.requests;
      expect(await run(cfg, 'incremental')).toMatchObject({ stopReason: 'end', pages: 5, listOrder: 'unknown' });
      expect(server.requests - seen).toBe(5);
      broken = false;
      // The order is back, but the last walk said unknown: this one walks every page too, and records the order again.
      expect(await run(cfg, 'incremental')).toMatchObject({ stopReason: 'end', pages: 5, listOrder: 'created' });
      expect(await run(cfg, 'incremental')).toMatchObject({ stopReason: 'caught_up', pages: 2 });
      expect(before).toBe(5);
    } finally {
      await server.close();
    }
  });
});

describe('walks that never end', () => {
  it('an API that answers has_more with fresh cursors and no items is stopped at the derived bound, one line, nothing deleted', async () => {
    const server = await startPageServer((n) => ({ body: page([], `c${n}`) }));
    try {
      await expect(run(config(server), 'reconcile')).rejects.toThrow(/^walk stopped at 50 pages without reaching the end \(0 distinct jobs listed\): the API keeps answering has_more; nothing was marked deleted; raise WALK_MAX_PAGES if the workspace really is this large \(after page 51\)$/);
      // 51 pages, and perhaps the next one fetched ahead while the 51st was written.
      expect(server.requests).toBeGreaterThanOrEqual(51);
      expect(server.requests).toBeLessThanOrEqual(52);
      expect(await latestRun()).toMatchObject({ status: 'failed', stop_reason: 'error' });
    } finally {
      await server.close();
    }
  });
});

describe('closing a reconciliation', () => {
  it('marks its deletes and its status in one transaction: a close that fails leaves no marks', async () => {
    const sim = await storedSim({});
    sim.mutate({ delete: 2 });
    // The run's close fails after the marks were written in the same transaction.
    await database.sql.unsafe(`
      CREATE FUNCTION refuse_success() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN IF NEW.status = 'succeeded' THEN RAISE EXCEPTION 'closing refused by the test'; END IF; RETURN NEW; END $$;
      CREATE TRIGGER refuse_success BEFORE UPDATE ON sync_runs FOR EACH ROW EXECUTE FUNCTION refuse_success();`);
    await expect(run(config(sim), 'reconcile')).rejects.toThrow(/closing refused by the test/);
    expect(await deletedIds()).toEqual([]);
    expect(await latestRun()).toMatchObject({ status: 'failed', deleted: 0 });
  });
});
