import { afterEach, describe, expect, it } from 'vitest';
import type { MutationSpec } from '../../src/simulator/index.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { cliChildren } from '../helpers/cli-children.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase } from '../helpers/database.ts';
import { useSimulator } from '../helpers/use.ts';
import { startKeyRouter } from '../helpers/key-router.ts';
import { startPrivateDatabase } from '../helpers/private-database.ts';
import { resumable, runProgress } from '../helpers/run-progress.ts';
import { storedCurrent, storedVersions } from '../helpers/stored.ts';
import { WorkspaceLedger } from '../helpers/workspace-ledger.ts';

const KEY = 'sk_crash_1f2e3d4c5b6a7980';
const WS = 'crash';
/** Kill rounds per test run; CRASH_ROUNDS raises it for a longer run. */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 6);

/** Cleanups of the running test, released in reverse. */
const cleanups: (() => Promise<void>)[] = [];
const children = cliChildren();
afterEach(async () => {
  await children.stopAll();
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

/** Simulators, each closed after its test. */
const { start: simulator } = useSimulator();

/** Deterministic "random" kill points in [0, range), so a failure can be replayed. */
function killPoints(seed: number, n: number, range = 5): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x % range;
  });
}

describe('crash safety', () => {
  it(`survives ${ROUNDS} SIGKILLs at random points of a sync against a changing API, ending exact`, { timeout: 60_000 + ROUNDS * 3_000 }, async () => {
    const database = await createTestDatabase();
    cleanups.push(() => database.drop());
    const sim = await simulator({ apiKeys: [KEY], items: 3_000, latencyMs: 15, drift: { unknownFieldRate: 0.05 } });
    const env = {
      DATABASE_URL: database.url,
      THREETONE_BASE_URL: sim.url,
      THREETONE_API_KEY: KEY,
      THREETONE_WORKSPACE: WS,
      THREETONE_PAGE_SIZE: '100',
      THREETONE_REQUESTS_PER_MINUTE: '1000000',
      THREETONE_REQUESTS_PER_HOUR: '10000000',
      LOG_LEVEL: 'warn',
    };
    expect(await children.spawn(['migrate'], env).exited).toBe(0);
    const deleted: string[] = [];
    for (const [round, pagesBeforeKill] of killPoints(7, ROUNDS).entries()) {
      const committed = async () => Number((await database.sql`select coalesce(sum(pages), 0)::int as n from sync_runs`)[0]!.n);
      const before = await committed();
      const child = children.spawn(['sync'], env);
      let exited = false;
      void child.exited.then(() => (exited = true));
      // Kill once the child has committed a few more pages of this run (0: during its first fetch or write),
      // unless it reached the end of its run first (a resumed run may have fewer pages left).
      await expect.poll(async () => exited || (await committed()) >= before + pagesBeforeKill, { timeout: 30_000, interval: 5 }).toBe(true);
      child.process.kill('SIGKILL');
      const code = await child.exited;
      expect(code === null || code === 0, `sync exited ${code}: ${child.output()}`).toBe(true);
      // The API keeps changing between attempts.
      const changes = sim.mutate({ progress: 10, create: 5, delete: round % 2, amend: 2 });
      deleted.push(...changes.deleted);
    }
    // The next attempt resumes the interrupted run after its last committed page and completes it...
    const interrupted = await resumable(database, WS, 'full');
    const [last] = await database.sql`select id from sync_runs order by id desc limit 1`;
    expect(await children.spawn(['sync'], env).exited).toBe(0);
    const [resumed] = await database.sql`select id, attempts, status from sync_runs order by id desc limit 1`;
    expect(resumed).toMatchObject({ status: 'succeeded' });
    if (interrupted) {
      expect(resumed!.id).toBe(last!.id);
      expect(resumed!.attempts).toBeGreaterThan(1);
    }
    // Killed runs were resumed along the way: more attempts than runs.
    const [counts] = await database.sql`select sum(attempts)::int as attempts, count(*)::int as runs from sync_runs`;
    expect(counts!.attempts).toBeGreaterThan(counts!.runs);
    // ...and, like any walk, misses what changed above its cursor meanwhile: the next sync walks from the top.
    expect(await children.spawn(['sync'], env).exited).toBe(0);

    // Every job the API lists is stored exactly as served; anything else stored is a job the API dropped
    // (a full sync, unlike a reconciliation, leaves those unmarked).
    const stored = await storedCurrent(database, WS);
    for (const job of sim.truth()) expect(stored.get(job.id), job.id).toEqual(job);
    const listed = new Set(sim.truth().map((t) => t.id));
    for (const id of stored.keys()) if (!listed.has(id)) expect(deleted).toContain(id);
    // History: no duplicate versions (the key forbids them) and none missing or invented.
    const versions = await storedVersions(database, WS);
    expect(new Set(versions).size).toBe(versions.length);
    const served = new Set(sim.versions().map((v) => `${v.id}@${v.last_updated_at_unix}`));
    for (const version of versions) expect(served.has(version), version).toBe(true);
    const storedVersionSet = new Set(versions);
    for (const job of sim.truth()) expect(storedVersionSet.has(`${job.id}@${job.last_updated_at_unix}`), job.id).toBe(true);
    // No run left running.
    const running = await database.sql`select id from sync_runs where status = 'running'`;
    expect(running).toEqual([]);
  });

  /**
   * Three workspaces, each served by its own simulator under its own API key
   * behind one API address (ws1 and ws2 share a seed, so the same job ids live
   * in two workspaces, with different deletes). A round: the API changes → one
   * `reconcile` CLI for every workspace of THREETONE_WORKSPACES, SIGKILLed at a
   * pseudo-random point of one workspace's walk (the ones before it complete,
   * the ones after it do not start) → the API changes again → every third
   * round Postgres crashes and restarts → each workspace's reconciliation is
   * run to completion, the killed one resuming → one more from the top, after
   * which the tables equal the API.
   */
  it(`survives ${ROUNDS} rounds of SIGKILLed reconciliations in three workspaces, with Postgres restarts, ending exact after each`, { timeout: 60_000 + ROUNDS * 8_000 }, async () => {
    const pg = await startPrivateDatabase();
    cleanups.push(() => pg.close());
    const { database } = pg;
    const specs = [
      { name: 'ws1', key: 'sk_crash_ws1_0a1b2c3d4e5f', seed: 42 },
      { name: 'ws2', key: 'sk_crash_ws2_9f8e7d6c5b4a', seed: 42 },
      { name: 'ws3', key: 'sk_crash_ws3_1122334455aa', seed: 4_242 },
    ];
    const workspaces = await Promise.all(
      specs.map(async (spec, i) => {
        const sim = await simulator({ apiKeys: [spec.key], items: 1_000, seed: spec.seed, latencyMs: 5, drift: { unknownFieldRate: 0.05 } });
        return {
          ...spec,
          sim,
          ledger: new WorkspaceLedger(database, spec.name, sim),
          // Different sizes per workspace, so ws1 and ws2 (same seed) soon delete different jobs.
          roundChange: { progress: 8 + 2 * i, create: 4, delete: 3 + i, amend: 2, revive: 1 } satisfies MutationSpec,
          attemptChange: { progress: 5 + i, create: 3, delete: 2, amend: 2 } satisfies MutationSpec,
        };
      }),
    );
    type Workspace = (typeof workspaces)[number];
    const router = await startKeyRouter(Object.fromEntries(workspaces.map((ws) => [ws.key, ws.sim.url])));
    cleanups.push(() => router.close());
    const env = {
      DATABASE_URL: pg.url,
      THREETONE_BASE_URL: router.url,
      THREETONE_WORKSPACES: JSON.stringify(Object.fromEntries(workspaces.map((ws) => [ws.name, ws.key]))),
      THREETONE_PAGE_SIZE: '100',
      THREETONE_REQUESTS_PER_MINUTE: '1000000',
      THREETONE_REQUESTS_PER_HOUR: '10000000',
      LOG_LEVEL: 'warn',
    };
    const run = (ws: Workspace, kind: 'full' | 'reconcile') =>
      runSync({ config: testConfig({ baseUrl: router.url, pageSize: 100 }), database, log: silentLogger }, { workspace: ws.name, apiKey: ws.key, kind });

    const progress = (ws: Workspace) => runProgress(database, ws.name, 'reconcile');
    /**
     * One `reconcile` CLI over every workspace, SIGKILLed once `target`'s attempt reached `point`: 0 as soon
     * as it opened its run, 1-5 after that many committed pages, 6 after its last page. Returns, by
     * workspace, whether its next reconciliation resumes a killed run.
     */
    const killedAttempt = async (target: Workspace, point: number): Promise<boolean[]> => {
      const before = await progress(target);
      const [{ lastRun }] = (await database.sql`select coalesce(max(id), 0)::int as "lastRun" from sync_runs`) as unknown as [{ lastRun: number }];
      const child = children.spawn(['reconcile'], env);
      let exited = false;
      void child.exited.then(() => (exited = true));
      const reached = async () => {
        if (exited) return true;
        const now = await progress(target);
        if (now.attempts <= before.attempts) return false;
        return point === 6 ? now.atEnd : now.pages >= before.pages + point;
      };
      await expect.poll(reached, { timeout: 30_000, interval: 20 }).toBe(true);
      child.process.kill('SIGKILL');
      // Killed, or (a late kill point) it finished first; anything else is a failure of its own.
      const code = await child.exited;
      expect(code === null || code === 0, `the CLI exited ${code}: ${child.output()}`).toBe(true);
      // The workspaces before the target were reconciled to the end by the same process.
      for (const ws of workspaces.slice(0, workspaces.indexOf(target))) {
        const runs = await database.sql`select status from sync_runs where workspace = ${ws.name} and kind = 'reconcile' and id > ${lastRun}`;
        expect(runs.map((r) => r.status), ws.name).toEqual(['succeeded']);
      }
      // The target's run can resume if it stopped mid-walk; so can the next workspace's if a late kill caught it starting.
      return Promise.all(workspaces.map((ws) => resumable(database, ws.name, 'reconcile')));
    };

    // A first copy of each workspace.
    for (const summary of await Promise.all(workspaces.map((ws) => run(ws, 'full')))) expect(summary.status).toBe('succeeded');
    // Which workspace's walk each round's kill lands in, and where in it.
    const kills = killPoints(38, ROUNDS, 3 * 7).map((v) => ({ target: workspaces[v % 3]!, point: Math.floor(v / 3) }));
    let resumedRuns = 0;
    let restarts = 0;
    for (const [round, { target, point }] of kills.entries()) {
      // The API changes between rounds: these deletes were stored before this round's runs began, and no attempt can list them.
      const roundDeletes = await Promise.all(workspaces.map(async (ws) => (await ws.ledger.mutate(ws.roundChange)).deletedStored));

      const resumes = await killedAttempt(target, point);
      // A killed process leaves no session behind, hence no workspace lock and no transaction still to commit.
      await expect.poll(() => pg.otherSessions(), { timeout: 10_000, interval: 10 }).toBe(0);
      // Whatever the process had done, no live job is marked, and nothing the API did not delete.
      for (const ws of workspaces) await ws.ledger.expectMarksWithin();

      // The API changes between the attempts of one run.
      for (const ws of workspaces) await ws.ledger.mutate(ws.attemptChange);
      if (round % 3 === 1) {
        await pg.crashAndRestart();
        restarts++;
      }

      // The killed reconciliation resumes after its last committed page and completes; each marks this round's
      // first deletes, and never a job an earlier attempt listed (those above its cursor).
      const completed = await Promise.all(workspaces.map((ws) => run(ws, 'reconcile')));
      for (const [i, ws] of workspaces.entries()) {
        expect(completed[i], ws.name).toMatchObject({ status: 'succeeded', resumed: resumes[i] });
        await ws.ledger.expectMarksWithin(roundDeletes[i]);
      }
      resumedRuns += resumes.filter(Boolean).length;
      // Like any walk, it missed what changed above its cursor meanwhile: one from the top, and the tables equal the API.
      const fresh = await Promise.all(workspaces.map((ws) => run(ws, 'reconcile')));
      for (const [i, ws] of workspaces.entries()) {
        expect(fresh[i], ws.name).toMatchObject({ status: 'succeeded', resumed: false });
        await ws.ledger.expectExact();
      }
      const [leftovers] = await database.sql`
        select (select count(*)::int from sync_runs where status = 'running') as running,
               (select count(*)::int from reconcile_seen) as seen`;
      expect({ ...leftovers }, `round ${round}`).toEqual({ running: 0, seen: 0 });
    }

    // The rounds did what they claim: killed runs resumed, Postgres restarted, every key was routed to its own
    // dataset, and ids shared by ws1 and ws2 were deleted in one while live in the other.
    expect(resumedRuns).toBeGreaterThan(0);
    expect(restarts).toBe(Math.floor((ROUNDS + 1) / 3));
    for (const ws of workspaces) expect(Object.keys(ws.sim.stats.perKey), ws.name).toEqual([ws.key]);
    const liveInWs2 = new Set(workspaces[1]!.sim.truth().map((t) => t.id));
    expect([...workspaces[0]!.ledger.deleted].some((id) => liveInWs2.has(id))).toBe(true);
  });
});
