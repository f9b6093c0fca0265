import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import pg from 'pg';
import { afterEach, beforeAll, afterAll, describe, expect, it } from 'vitest';
import type { BudgetLimit } from '../../src/budget/rule.ts';
import { createBudget } from '../../src/budget/budget.ts';
import { createPostgresStore, LOCK_CLASS } from '../../src/budget/postgres-store.ts';
import { createRedisStore } from '../../src/budget/redis-store.ts';
import type { BudgetStore } from '../../src/budget/store.ts';
import { keyFingerprint } from '../../src/api/key-fingerprint.ts';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { captureLogs } from '../helpers/logs.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { walkWithBudget } from './budget-walk.ts';
import { BUDGET_COMMAND_TIMEOUT_MS, openBudgetPool, openSharedBudgets } from '../../src/budget/open-budgets.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { freePort } from '../helpers/free-port.ts';
import { blackHole } from '../http/fixture.ts';

/** Small windows so that a test spends seconds: the rule is the same at 100/min and 1000/h. */
const LIMITS: BudgetLimit[] = [
  { points: 20, windowMs: 2000 },
  { points: 50, windowMs: 10_000 },
];
const SIM_LIMITS = { perMinute: 20, minuteMs: 2000, perHour: 50, hourMs: 10_000 };
const MARGIN = 100;
const API_KEY = 'sk_budget_stores_1f2e3d4c5b6a';
const KEY = keyFingerprint(API_KEY);

let database: TestDatabase | undefined;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database?.drop();
});

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A store of its own connection, as a separate process would have: all of them on one test-unique prefix/schema. */
type Opener = () => Promise<BudgetStore>;

function redisStores(): Opener {
  const prefix = `tb${randomBytes(5).toString('hex')}`;
  cleanups.push(async () => {
    const redis = new Redis(process.env.REDIS_URL!);
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length > 0) await redis.del(...keys);
    redis.disconnect();
  });
  return async () => {
    const redis = new Redis(process.env.REDIS_URL!);
    cleanups.push(async () => redis.quit());
    return createRedisStore(redis, prefix);
  };
}

function postgresStores(): Opener {
  // One set of budget tables per database (its migration made them), not per test: emptied after each one.
  cleanups.push(() => database!.sql`truncate threetone_budget.request_budget_log, threetone_budget.request_budget_block`);
  return async () => {
    const pool = openBudgetPool(database!.url);
    cleanups.push(() => pool.end());
    return createPostgresStore(pool);
  };
}

async function simulator(options: Parameters<typeof startSimulator>[0]): Promise<Simulator> {
  const sim = await startSimulator({ apiKeys: [API_KEY], ...options });
  cleanups.push(() => sim.close());
  return sim;
}

describe.each([
  ['redis', redisStores],
  ['postgres', postgresStores],
] as const)('%s store', (_name, stores) => {
  it('admits a whole burst up to the limit without waiting, then names the limit and the exact wait', async () => {
    const open = stores();
    const [a, b] = [await open(), await open()];
    const verdicts = await Promise.all(Array.from({ length: 20 }, (_, i) => (i % 2 ? a : b).take(KEY, LIMITS, MARGIN)));
    expect(verdicts.every((v) => v.ok)).toBe(true);
    const refused = await a.take(KEY, LIMITS, MARGIN);
    expect(refused).toMatchObject({ ok: false, limit: '20/2s' });
    expect(refused.ok || (refused.waitMs > 1500 && refused.waitMs <= 2100)).toBe(true);
    // Another key is untouched; remaining() reads the store.
    expect(await b.take('other-key', LIMITS, MARGIN)).toEqual({ ok: true });
    const budget = createBudget(b, KEY, LIMITS, { marginMs: MARGIN });
    expect(await budget.remaining!()).toEqual([
      { window: '20/2s', remaining: 0 },
      { window: '50/10s', remaining: 30 },
    ]);
  });

  it('three budgets on one key walk 45 pages under the enforcing simulator with no 429, as fast as the limits allow', async () => {
    const sim = await simulator({ items: 45, rateLimit: SIM_LIMITS });
    const open = stores();
    const budgets = await Promise.all([open(), open(), open()].map(async (s) => createBudget(await s, KEY, LIMITS, { marginMs: MARGIN })));
    // Three walkers of one workspace each (15 pages of 1 item); their requests interleave on the key.
    const walks = await Promise.all(budgets.map((budget) => walkWithBudget({ baseUrl: sim.url, apiKey: API_KEY, budget, pageSize: 3 })));
    expect(walks.map((w) => w.pages)).toEqual([15, 15, 15]);
    expect(sim.stats.byStatus).toEqual({ '200': 45 });
    // Fastest schedule: 20 at once, 20 after 2.1 s, the last 5 after 4.2 s.
    const span = Math.max(...sim.stats.requestTimes) - Math.min(...sim.stats.requestTimes);
    expect(span).toBeGreaterThanOrEqual(4200 - 50);
    expect(span).toBeLessThan(4200 * 1.25);
    expect(walks.flatMap((w) => w.waits).every((w) => w.limit === '20/2s' || w.limit === '50/10s')).toBe(true);
  });

  it('a 429 blocks every budget on the key until its Retry-After', async () => {
    const sim = await simulator({ items: 10, rateLimit: { perMinute: 3, minuteMs: 2000, perHour: 100 } });
    const get = () => fetch(`${sim.url}/v1/voiceai/batch-calling/workspace`, { headers: { 'x-api-key': API_KEY } });
    // Someone outside the budget spends the key, and one of our requests meets the 429.
    for (let i = 0; i < 3; i++) expect((await get()).status).toBe(200);
    const limited = await get();
    expect(limited.status).toBe(429);
    const open = stores();
    const mine = createBudget(await open(), KEY, LIMITS, { marginMs: MARGIN });
    const other = createBudget(await open(), KEY, LIMITS, { marginMs: MARGIN });
    await mine.learn!({ status: limited.status, headers: limited.headers, at: Date.now() });
    expect((await other.remaining!()).every((w) => w.remaining === 0)).toBe(true);
    // Another process's walk waits out the Retry-After instead of meeting a second 429.
    const { log, lines } = captureLogs('info');
    const walk = await walkWithBudget({ baseUrl: sim.url, apiKey: API_KEY, budget: other, pageSize: 10, log });
    expect(walk.byStatus).toEqual({ '200': 1 });
    expect(walk.waits.map((w) => w.limit)).toEqual(['API Retry-After']);
    expect(walk.budgetWaitMs).toBeGreaterThan(500);
    expect(lines.join('\n')).not.toContain(API_KEY);
  });

  it('learns from RateLimit headers: remaining 0 waits for the reset instead of meeting a 429', async () => {
    const sim = await simulator({ items: 8, rateLimit: { perMinute: 5, minuteMs: 2000, perHour: 100, headers: true } });
    const open = stores();
    // Generous limits of our own: only the headers can keep this walk from a 429.
    const budget = createBudget(await open(), KEY, [{ points: 1000, windowMs: 60_000 }], { marginMs: MARGIN });
    const walk = await walkWithBudget({ baseUrl: sim.url, apiKey: API_KEY, budget, pageSize: 1 });
    expect(walk.pages).toBe(8);
    expect(sim.stats.byStatus).toEqual({ '200': 8 });
    expect(walk.waits.map((w) => w.limit)).toContain('API RateLimit headers');
  });
});

describe('a Redis budget store that accepts connections and never answers (a half-open connection)', () => {
  it('fails a run within the command timeout, and stops an aborted run at once', { timeout: 30_000 }, async () => {
    const hole = await blackHole();
    cleanups.push(() => hole.close());
    const sim = await simulator({ items: 50 });
    const config = { ...testConfig({ baseUrl: sim.url, pageSize: 10 }), redisUrl: `redis://127.0.0.1:${hole.port}` };
    const budgets = await openSharedBudgets(config, '');
    cleanups.push(() => budgets.close());
    const target = { workspace: 'halfopen', apiKey: API_KEY, kind: 'full' as const };

    let started = Date.now();
    await expect(runSync({ config, database: database!, log: silentLogger, budget: budgets.forKey(API_KEY) }, target)).rejects.toThrow("the request budget's Redis: Command timed out");
    const failedAfterMs = Date.now() - started;
    expect(failedAfterMs).toBeGreaterThanOrEqual(BUDGET_COMMAND_TIMEOUT_MS - 100);
    expect(failedAfterMs).toBeLessThan(BUDGET_COMMAND_TIMEOUT_MS + 2_000);
    expect(sim.stats.requests).toBe(0);

    // Shutdown (or a lost workspace lock) aborts the run while its budget call hangs: it stops now, not after the timeout.
    const controller = new AbortController();
    const aborted = runSync({ config, database: database!, log: silentLogger, budget: budgets.forKey(API_KEY), signal: controller.signal }, target);
    await expect.poll(async () => (await database!.sql`select count(*)::int as n from sync_runs where workspace = 'halfopen' and status = 'running'`)[0]!.n).toBe(1);
    started = Date.now();
    controller.abort(new Error('shutting down'));
    const summary = await aborted.catch((error: unknown) => error);
    expect(Date.now() - started).toBeLessThan(1_000);
    expect(String((summary as { error?: unknown }).error ?? summary)).toMatch(/shutting down/);
    expect(sim.stats.requests).toBe(0);
  });
});

describe('the Redis store on Redis Cluster', () => {
  /** A one-node cluster holding every slot: enough for Redis to refuse a script whose keys hash to different slots. */
  async function startClusterNode(): Promise<{ url: string; stop(): Promise<void> }> {
    const dir = mkdtempSync(path.join(tmpdir(), 'redis-cluster-'));
    const port = await freePort();
    const pidfile = path.join(dir, 'redis.pid');
    const started = spawnSync(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no', '--cluster-enabled', 'yes', '--cluster-config-file', path.join(dir, 'nodes.conf'), '--daemonize', 'yes', '--pidfile', pidfile],
      { encoding: 'utf8' },
    );
    if (started.status !== 0) throw new Error(`redis-server did not start: ${started.stderr}`);
    const stop = async () => {
      const pid = existsSync(pidfile) ? Number(readFileSync(pidfile, 'utf8').trim()) : undefined;
      if (pid) {
        process.kill(pid, 'SIGKILL');
        await expect.poll(() => isAlive(pid), { timeout: 10_000, interval: 20 }).toBe(false);
      }
      rmSync(dir, { recursive: true, force: true });
    };
    cleanups.push(stop);
    const url = `redis://127.0.0.1:${port}`;
    // --daemonize returns before the server listens: the first commands wait in the offline queue while the client
    // retries (a lazy connect() would reject on the first refused attempt).
    const admin = new Redis(url, { retryStrategy: (times) => (times > 250 ? null : 20) });
    admin.on('error', () => undefined);
    try {
      await admin.call('CLUSTER', 'ADDSLOTSRANGE', '0', '16383');
      await expect.poll(async () => String(await admin.call('CLUSTER', 'INFO')), { timeout: 10_000, interval: 50 }).toMatch(/cluster_state:ok/);
    } finally {
      admin.disconnect();
    }
    return { url, stop };
  }

  it('keeps both keys of an API key in one slot, so its scripts run (no CROSSSLOT)', async () => {
    const node = await startClusterNode();
    const redis = new Redis(node.url);
    cleanups.push(async () => redis.quit());
    const store = createRedisStore(redis, `tc${randomBytes(5).toString('hex')}`);
    expect(await store.take(KEY, LIMITS, MARGIN)).toEqual({ ok: true });
    await store.block(KEY, 1_000, 'API Retry-After');
    expect(await store.read(KEY, LIMITS, MARGIN)).toMatchObject({ times: [expect.any(Number)], block: { reason: 'API Retry-After' } });
    expect(await store.take(KEY, LIMITS, MARGIN)).toMatchObject({ ok: false, limit: 'API Retry-After' });
  });
});

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('the Postgres store when the session of a take is cut (Postgres restarting)', () => {
  it('fails that take, leaves nothing unhandled, and the next take runs on a new session', async () => {
    const config = { ...testConfig({ baseUrl: 'http://127.0.0.1:1' }), redisUrl: undefined };
    const budgets = await openSharedBudgets(config, database!.url);
    cleanups.push(() => budgets.close());
    const budget = budgets.forKey(API_KEY);
    expect(await budget.take()).toBe(0);

    // Another process holds the key's lock, so this take waits inside its transaction, on its own session.
    const holder = new pg.Client({ connectionString: database!.url });
    await holder.connect();
    cleanups.push(() => holder.end());
    await holder.query('BEGIN');
    await holder.query('SELECT pg_catalog.pg_advisory_xact_lock($1::int, pg_catalog.hashtext($2::text))', [LOCK_CLASS, KEY]);
    const taking = budget.take().then(
      () => 'admitted',
      (error: unknown) => (error as { code?: string }).code ?? String(error),
    );
    const waiting = async () =>
      (await holder.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE application_name = 'threetone-sync-budget' AND wait_event_type = 'Lock'`)).rows;
    await expect.poll(async () => (await waiting()).length).toBe(1);
    await holder.query('SELECT pg_catalog.pg_terminate_backend($1)', [(await waiting())[0]!.pid]);
    // postgres.js reports a session ended under a query as its own CONNECTION_CLOSED (node-postgres passed on 57P01).
    expect(await taking).toBe('CONNECTION_CLOSED');
    await holder.query('COMMIT');
    expect(await budget.take()).toBe(0);
  });
});
