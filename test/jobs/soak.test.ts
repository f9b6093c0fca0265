import { afterEach, describe, expect, it } from 'vitest';
import type { MutationSpec } from '../../src/simulator/index.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { cliChildren } from '../helpers/cli-children.ts';
import { testConfig } from '../helpers/config.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';
import { startPrivateDatabase } from '../helpers/private-database.ts';
import { resumable, runProgress } from '../helpers/run-progress.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { WorkspaceLedger } from '../helpers/workspace-ledger.ts';

const KEY = 'sk_soak_5a6b7c8d9e0f1a2b';
const WS = 'soak';
/** Wall-clock budget of each test; `npm run soak` raises it. */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);
/** Postgres crashes during rounds 1, 1 + CRASH_EVERY, … of the three-workspace soak. */
const CRASH_EVERY = 4;

/** Cleanups of the running test, released in reverse. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

/** Simulators, each closed after its test. */
const { start: simulator } = useSimulator();

const FAULTS = { faultRate: 0.3, hangMs: 5_000, retryAfterSeconds: 1, drift: { unknownFieldRate: 0.03, unknownEnumRate: 0.01 } };
const CLIENT = { pageSize: 200, timeoutMs: 250, maxAttempts: 15 };

describe('fault soak', () => {
  const database = useTestDatabase();

  it(`stays exact through ${SECONDS}s of syncs under a 30% fault rate with the API changing between runs`, { timeout: (SECONDS + 60) * 1000 }, async () => {
    const sim = await simulator({ apiKeys: [KEY], items: 2_000, ...FAULTS });
    const config = testConfig({ baseUrl: sim.url, ...CLIENT });
    const deadline = Date.now() + SECONDS * 1000;
    const deleted: string[] = [];
    let rounds = 0;
    let retries = 0;
    while (rounds < 3 || Date.now() < deadline) {
      const kind: RunKind = rounds % 3 === 2 ? 'reconcile' : 'full';
      const summary = await runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind });
      expect(summary.status).toBe('succeeded');
      retries += summary.retries;
      await expectCopyMatches(database, WS, sim.truth(), deleted);
      if (kind === 'reconcile') {
        const marked = await database.sql<{ id: string }[]>`select id from batch_calls where deleted_at is not null`;
        expect(marked.map((m) => m.id).sort()).toEqual([...deleted].sort());
      }
      deleted.push(...sim.mutate({ progress: 20, create: 8, delete: 2, amend: 3 }).deleted);
      rounds++;
    }
    // The faults really happened: this was not a quiet run.
    expect(retries).toBeGreaterThan(rounds);
    const running = await database.sql`select id from sync_runs where status = 'running'`;
    expect(running).toEqual([]);
  });
});

describe('fault soak in three workspaces', () => {
  /**
   * Three workspaces (ws1 and ws2 share a seed: the same job ids, different
   * deletes), each its own simulator and key, all at once every round: each
   * runs a sync, or every third round a reconciliation, under the fault rate;
   * then the API changes. In round 1 and every CRASH_EVERY rounds after it,
   * the three runs are CLI processes and Postgres crashes and restarts while
   * they are in flight (once the reconciliation has committed its second
   * page); a run it broke is run again, resumes where it stopped, and ends
   * exact. Crash rounds run processes, not runSync in this one: postgres.js
   * 3.4.9 can throw an uncaught TypeError from nextWrite, and leave a pooled
   * connection that never writes again, when Postgres goes while a query is
   * being sent (porsager/postgres#1154, #1208); a process that dies of it is
   * what a run "in flight may fail" means, a test process that does is not.
   */
  it(`stays exact through ${SECONDS}s of syncs and reconciliations in three workspaces under a 30% fault rate, across Postgres crashes`, { timeout: (SECONDS + 90) * 1000 }, async () => {
    const pg = await startPrivateDatabase();
    cleanups.push(() => pg.close());
    const { database: db } = pg;
    const children = cliChildren();
    cleanups.push(() => children.stopAll());
    const specs = [
      { name: 'ws1', key: 'sk_soak_ws1_6d5c4b3a2f1e', seed: 7 },
      { name: 'ws2', key: 'sk_soak_ws2_0f9e8d7c6b5a', seed: 7 },
      { name: 'ws3', key: 'sk_soak_ws3_a1b2c3d4e5f6', seed: 77 },
    ];
    const keys = JSON.stringify(Object.fromEntries(specs.map((s) => [s.name, s.key])));
    const workspaces = await Promise.all(
      specs.map(async (spec, i) => {
        const sim = await simulator({ apiKeys: [spec.key], items: 1_500, seed: spec.seed, ...FAULTS });
        return {
          ...spec,
          sim,
          config: testConfig({ baseUrl: sim.url, ...CLIENT }),
          /** The same client settings for the CLI. */
          env: {
            DATABASE_URL: pg.url,
            THREETONE_BASE_URL: sim.url,
            THREETONE_WORKSPACES: keys,
            THREETONE_PAGE_SIZE: String(CLIENT.pageSize),
            THREETONE_TIMEOUT_MS: String(CLIENT.timeoutMs),
            THREETONE_MAX_ATTEMPTS: String(CLIENT.maxAttempts),
            THREETONE_RETRY_BASE_MS: '10',
            THREETONE_REQUESTS_PER_MINUTE: '1000000',
            THREETONE_REQUESTS_PER_HOUR: '10000000',
            LOG_LEVEL: 'warn',
          },
          ledger: new WorkspaceLedger(db, spec.name, sim),
          change: { progress: 15 + 3 * i, create: 6, delete: 2 + i, amend: 3, revive: 1 } satisfies MutationSpec,
          /** What is marked deleted: the API's deletes as of this workspace's last reconciliation. */
          marked: new Set<string>(),
        };
      }),
    );
    type Workspace = (typeof workspaces)[number];
    const run = (ws: Workspace, kind: RunKind) => runSync({ config: ws.config, database: db, log: silentLogger }, { workspace: ws.name, apiKey: ws.key, kind });
    const cli = (ws: Workspace, kind: RunKind) => children.spawn(kind === 'reconcile' ? ['reconcile', '--workspace', ws.name] : ['sync', '--workspace', ws.name], ws.env);

    /**
     * A crash round: the three runs as processes, Postgres crashed and restarted once the reconciliation
     * committed its second page, then every run it broke run once more: it must resume, and succeed.
     */
    const crashRound = async (kinds: RunKind[]): Promise<{ broken: number; resumed: number; retries: number }> => {
      const reconciling = workspaces[kinds.indexOf('reconcile')]!;
      const before = await runProgress(db, reconciling.name, 'reconcile');
      // Slower pages, so that the runs are still walking when Postgres goes.
      for (const ws of workspaces) ws.sim.setLatency(50);
      const processes = workspaces.map((ws, i) => cli(ws, kinds[i]!));
      await expect
        .poll(async () => {
          const now = await runProgress(db, reconciling.name, 'reconcile');
          return now.attempts > before.attempts && now.pages >= before.pages + 2;
        }, { timeout: 60_000, interval: 20 })
        .toBe(true);
      await pg.crashAndRestart();
      const codes = await Promise.all(processes.map((p) => p.exited));
      for (const ws of workspaces) ws.sim.setLatency(0);
      // The reconciliation was mid-walk: it failed. A sync may have finished first.
      expect(codes[kinds.indexOf('reconcile')], processes[kinds.indexOf('reconcile')]!.output()).toBe(1);
      let broken = 0;
      let resumed = 0;
      let retries = 0;
      for (const [i, ws] of workspaces.entries()) {
        expect([0, 1], `${ws.name}: ${processes[i]!.output()}`).toContain(codes[i]);
        if (codes[i] === 0) continue;
        broken++;
        const resumes = await resumable(db, ws.name, kinds[i]!);
        const again = await run(ws, kinds[i]!);
        expect(again.resumed, `${ws.name} ${kinds[i]} after the crash`).toBe(resumes);
        if (again.resumed) resumed++;
        retries += again.retries;
      }
      return { broken, resumed, retries };
    };

    const deadline = Date.now() + SECONDS * 1000;
    let rounds = 0;
    let retries = 0;
    let crashes = 0;
    let resumedAfterCrash = 0;
    while (rounds < 3 || Date.now() < deadline) {
      const kinds = workspaces.map((_, i): RunKind => ((rounds + i) % 3 === 2 ? 'reconcile' : 'full'));
      if (rounds % CRASH_EVERY === 1) {
        const crashed = await crashRound(kinds);
        crashes++;
        resumedAfterCrash += crashed.resumed;
        retries += crashed.retries;
        expect(crashed.resumed).toBeGreaterThanOrEqual(1);
      } else {
        for (const summary of await Promise.all(workspaces.map((ws, i) => run(ws, kinds[i]!)))) {
          expect(summary.status).toBe('succeeded');
          retries += summary.retries;
        }
      }
      for (const [i, ws] of workspaces.entries()) {
        await ws.ledger.expectCopy();
        if (kinds[i] === 'reconcile') ws.marked = new Set(ws.ledger.deleted);
        await ws.ledger.expectMarked(ws.marked);
      }
      const [leftovers] = await db.sql`
        select (select count(*)::int from sync_runs where status = 'running') as running,
               (select count(*)::int from reconcile_seen) as seen`;
      expect({ ...leftovers }, `round ${rounds}`).toEqual({ running: 0, seen: 0 });
      for (const ws of workspaces) await ws.ledger.mutate(ws.change);
      rounds++;
    }
    // The faults and the crashes really happened, and broken runs resumed.
    expect(retries).toBeGreaterThan(rounds);
    expect(crashes).toBe(Math.floor((rounds - 2) / CRASH_EVERY) + 1);
    expect(resumedAfterCrash).toBeGreaterThanOrEqual(crashes);
    // ws1 and ws2 share ids: some deleted in one stayed live in the other.
    const liveInWs2 = new Set(workspaces[1]!.sim.truth().map((t) => t.id));
    expect([...workspaces[0]!.ledger.deleted].some((id) => liveInWs2.has(id))).toBe(true);
  });
});
