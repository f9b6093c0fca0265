/**
 * `npm run bench:reconcile-freshness`: is the copy still fresh while a big reconciliation walks?
 *
 * One workspace of 1,000 pages under Threetone's documented budget (100 a minute, 1,000 an hour), with time
 * compressed by SCALE (default 30: the minute window lasts 2 s, the hour 120 s, SYNC_EVERY 5 min becomes 10 s): a real
 * `threetone-sync worker` on Redis syncs it every SYNC_EVERY, and a reconciliation is enqueued once the copy is
 * loaded. Jobs change throughout (FRESH_CHANGES_PER_S a second, scaled). The bench follows every change from the
 * moment the simulator makes it until the copy holds it (polling every 200 ms), and reports the copy's worst lag
 * against SYNC_EVERY + 2 min (scaled), the reconciliation's length, and the API's 429s.
 *
 * Pages hold 100 jobs (the API allows 500): the budget counts requests, not jobs, so 1,000 pages cost the same
 * 1,000 requests, and the first load stays under a minute. The baseline, measured in the same run, is the same
 * scenario with THREETONE_BUDGET_FRESH_RESERVE=0 (long walks may take every request).
 *
 * Env: DATABASE_URL (admin; default the shared Postgres), REDIS_URL, SCALE, FRESH_PAGES (1000), FRESH_ORDER
 * (created | updated, default created), FRESH_CHANGES_PER_S (2), FRESH_RESERVES (the reserve of each phase, the last
 * the baseline; default 0.2,0).
 */
import { randomBytes } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import postgres from 'postgres';
import { loadConfig, type Config } from '../src/config.ts';
import { openQueueStore } from '../src/jobs/queue.ts';
import { enqueueRun } from '../src/jobs/schedules.ts';
import { runSync } from '../src/jobs/sync-run.ts';
import { openDatabase } from '../src/db/connection.ts';
import { silentLogger } from '../src/log.ts';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import type { ListOrder } from '../src/simulator/index.ts';
import { BIN, createBenchDatabase, deleteRedisKeys, seconds, spawnNode, type Child } from './support.ts';

const SCALE = Number(process.env.SCALE ?? 30);
const PAGES = Number(process.env.FRESH_PAGES ?? 1000);
const ORDER = (process.env.FRESH_ORDER ?? 'created') as ListOrder;
const CHANGES_PER_S = Number(process.env.FRESH_CHANGES_PER_S ?? 2);
const PAGE_SIZE = 100;
/** THREETONE_BUDGET_FRESH_RESERVE of each phase; the last is the baseline. */
const RESERVES = (process.env.FRESH_RESERVES ?? '0.2,0').split(',').map(Number);
const SYNC_EVERY_MS = 300_000 / SCALE;
const BOUND_MS = (300_000 + 120_000) / SCALE;
const KEY = `sk_fresh_${randomBytes(6).toString('hex')}`;
const WS = 'big';
const SEED = 11;

interface Phase {
  reserve: number;
  reconcileMs: number | null;
  reconcileRequests: number;
  incrementals: number;
  incrementalFailures: number;
  changes: number;
  lags: number[];
  unsynced: number;
  byStatus: Record<string, number>;
  reconcileCounts: string;
}

async function main(): Promise<void> {
  const adminUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  console.log(
    `reconciliation freshness: ${PAGES} pages x ${PAGE_SIZE} jobs (${ORDER} order), 100/min and 1000/h compressed ${SCALE}x ` +
      `(windows ${60_000 / SCALE} ms and ${3_600_000 / SCALE} ms), SYNC_EVERY ${SYNC_EVERY_MS} ms, bound ${BOUND_MS} ms, ${CHANGES_PER_S} changes/s`,
  );
  const phases: Phase[] = [];
  for (const reserve of RESERVES) phases.push(await phase(adminUrl, redisUrl, reserve));
  const table = [
    '| THREETONE_BUDGET_FRESH_RESERVE | copy lag p50 / p99 / max (scaled back to real time) | target max | reconciliation | incremental runs (failed) | API responses |',
    '|---|---|---|---|---|---|',
    ...phases.map((p) => {
      const s = [...p.lags].sort((a, b) => a - b);
      const q = (f: number) => s[Math.min(s.length - 1, Math.floor(f * s.length))] ?? NaN;
      const real = (ms: number) => seconds(ms * SCALE);
      const max = s[s.length - 1] ?? NaN;
      const verdict = max <= BOUND_MS && p.unsynced === 0 ? 'ok' : 'MISS';
      return (
        `| ${p.reserve}${p === phases[phases.length - 1] ? ' (baseline)' : ''} | ${seconds(q(0.5))} / ${seconds(q(0.99))} / ${seconds(max)} (${real(q(0.5))} / ${real(q(0.99))} / ${real(max)}); ` +
        `${p.changes} changes, ${p.unsynced} never synced | ${seconds(BOUND_MS)} (7 min) ${verdict} | ` +
        `${p.reconcileMs === null ? 'did not finish' : `${seconds(p.reconcileMs)} (${real(p.reconcileMs)})`}, ${p.reconcileRequests} requests; ${p.reconcileCounts} | ` +
        `${p.incrementals} (${p.incrementalFailures}) | ${Object.entries(p.byStatus).map(([k, v]) => `${k}: ${v}`).join(', ')} |`
      );
    }),
  ].join('\n');
  console.log(`\n${table}\n`);
}

async function phase(adminUrl: string, redisUrl: string, reserve: number): Promise<Phase> {
  const items = PAGES * PAGE_SIZE;
  const bench = await createBenchDatabase(adminUrl, 'fresh');
  const prefix = `threetone-bench-fresh-${randomBytes(4).toString('hex')}`;
  let worker: Child | undefined;
  let limited: Simulator | undefined;
  // Stopped before the watcher closes, whatever threw: a query on a closed client would hide the error.
  const timers: NodeJS.Timeout[] = [];
  const watcher = postgres(bench.url, { max: 2, onnotice: () => undefined });
  try {
    // The first load, from a simulator with the same seed and no limit: the limited one starts from the same jobs. Jobs
    // are generated relative to the simulator's clock, so both see it stopped at t0 until the limited one serves.
    const t0 = Math.floor(Date.now() / 1000);
    let movingSince: number | undefined;
    const now = () => (movingSince === undefined ? t0 : t0 + Math.floor((Date.now() - movingSince) / 1000));
    const free = await startSimulator({ items, seed: SEED, apiKeys: [KEY], order: ORDER, now });
    const loadConfigured: Config = { ...loadConfig({}), baseUrl: free.url, databaseUrl: bench.url, pageSize: PAGE_SIZE, budget: [{ points: 1e9, windowMs: 60_000 }] };
    const loadStarted = Date.now();
    const database = await openDatabase(loadConfigured, silentLogger);
    // As autovacuum would (it is off on the CI machine's Postgres): plans cached on the empty tables are made again
    // once their statistics exist. Without it a trigger's per-row probe of batch_calls kept a plan that scanned the
    // workspace's rows, and this load took over 10 minutes instead of about 3.
    const analyzer = setInterval(() => void watcher`analyze batch_calls, batch_call_history`.catch(() => undefined), 10_000);
    timers.push(analyzer);
    try {
      await runSync({ config: loadConfigured, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'full' });
    } finally {
      clearInterval(analyzer);
      await database.close();
      await free.close();
    }
    console.log(`[reserve ${reserve}] first load of ${items} jobs: ${seconds(Date.now() - loadStarted)}`);

    limited = await startSimulator({
      items,
      seed: SEED,
      apiKeys: [KEY],
      order: ORDER,
      rateLimit: { perMinute: 100, perHour: 1000, minuteMs: 60_000 / SCALE, hourMs: 3_600_000 / SCALE },
      now,
    });
    movingSince = Date.now();
    // The copy must equal what the limited simulator serves before anything changes, or every sync finds every job new.
    const [stored] = await watcher<{ n: number }[]>`select count(*)::int as n from batch_calls where workspace = ${WS}`;
    if (stored?.n !== items) throw new Error(`the first load stored ${stored?.n ?? 0} jobs of ${items}`);
    const env = {
      DATABASE_URL: bench.url,
      REDIS_URL: redisUrl,
      QUEUE_PREFIX: prefix,
      THREETONE_BASE_URL: limited.url,
      THREETONE_WORKSPACES: JSON.stringify({ [WS]: KEY }),
      THREETONE_PAGE_SIZE: String(PAGE_SIZE),
      THREETONE_MINUTE_WINDOW_MS: String(60_000 / SCALE),
      THREETONE_HOUR_WINDOW_MS: String(3_600_000 / SCALE),
      THREETONE_BUDGET_MARGIN_MS: String(Math.ceil(1000 / SCALE)),
      THREETONE_BUDGET_FRESH_RESERVE: String(reserve),
      SYNC_EVERY: `${SYNC_EVERY_MS}ms`,
      // Never during the bench: the reconciliation is enqueued by hand below.
      RECONCILE_CRON: '0 0 1 1 *',
      HTTP_PORT: '0',
      LOG_LEVEL: 'warn',
    };
    worker = spawnNode([BIN, 'worker'], env);

    // Changes, each followed until the copy holds it: id → when it first differed from the copy, and what it must become.
    const pending = new Map<string, { since: number; want: unknown }>();
    const lags: number[] = [];
    let changes = 0;
    const started = Date.now();
    const mutator = setInterval(() => {
      const { progressed, created } = limited!.mutate({ progress: Math.max(1, CHANGES_PER_S - 1), create: 1 });
      const truth = new Map(limited!.truth().map((t) => [t.id, t]));
      for (const id of [...progressed, ...created]) {
        changes++;
        pending.set(id, { since: pending.get(id)?.since ?? Date.now(), want: truth.get(id) });
      }
    }, 1000);
    timers.push(mutator);
    const follow = async () => {
      if (pending.size === 0) return;
      const ids = [...pending.keys()];
      const rows = await watcher<{ id: string; raw: unknown }[]>`select id, raw from batch_calls where workspace = ${WS} and id = any(${ids}::text[])`;
      const now = Date.now();
      for (const row of rows) {
        const p = pending.get(row.id);
        if (p && isDeepStrictEqual(row.raw, p.want)) {
          lags.push(now - p.since);
          pending.delete(row.id);
        }
      }
    };
    let following = Promise.resolve();
    const follower = setInterval(() => (following = following.then(follow).catch((error: unknown) => console.error(`following the changes: ${String(error)}`))), 200);
    timers.push(follower);

    // The worker's first incremental run, then the reconciliation.
    await until(async () => (await count(watcher, `kind = 'incremental' and status = 'succeeded'`)) > 0, 120_000, 'a first incremental sync');
    const queueConfig = { ...loadConfig({ REDIS_URL: redisUrl, QUEUE_PREFIX: prefix, DATABASE_URL: bench.url }) };
    const store = openQueueStore(queueConfig, bench.url);
    const queue = store.openQueue();
    const requestsBefore = limited.stats.requests;
    const reconcileStarted = Date.now();
    await enqueueRun(queue, queueConfig, { workspace: WS, kind: 'reconcile', trigger: 'manual' });
    await queue.close();
    await store.close();
    const limitMs = 4 * (3_600_000 / SCALE) * Math.max(1, PAGES / 900);
    let reconcileMs: number | null = null;
    try {
      await until(async () => (await count(watcher, `kind = 'reconcile' and status <> 'running'`)) > 0, limitMs, 'the reconciliation');
      reconcileMs = Date.now() - reconcileStarted;
    } catch (error) {
      console.log(String(error));
    }
    const [r] = await watcher<{ status: string; requests: number; deleted: number; api_count: number; stored_count: number; error: string | null }[]>`
      select status, requests, deleted, api_count, stored_count, error from sync_runs where kind = 'reconcile' order by id desc limit 1`;
    // One more SYNC_EVERY and the bound, so changes made at the very end get their chance.
    clearInterval(mutator);
    await until(async () => pending.size === 0, BOUND_MS + SYNC_EVERY_MS, 'the last changes').catch(() => undefined);
    clearInterval(follower);
    await following;
    const unsynced = pending.size;
    // What was still pending counts with its lag so far.
    for (const p of pending.values()) lags.push(Date.now() - p.since);
    const incrementals = await count(watcher, `kind = 'incremental' and started_at >= to_timestamp(${started / 1000})`);
    const incrementalFailures = await count(watcher, `kind = 'incremental' and status = 'failed'`);
    const stats = limited.stats;
    console.log(`[reserve ${reserve}] reconciliation ${r?.status ?? 'none'} ${r?.error ?? ''}; ${changes} changes; max lag ${seconds(Math.max(0, ...lags))}`);
    return {
      reserve,
      reconcileMs: r?.status === 'succeeded' ? reconcileMs : null,
      reconcileRequests: r?.requests ?? stats.requests - requestsBefore,
      incrementals,
      incrementalFailures,
      changes,
      lags,
      unsynced,
      byStatus: stats.byStatus,
      reconcileCounts: r ? `api ${r.api_count}, stored ${r.stored_count}, deleted ${r.deleted}` : 'none',
    };
  } catch (error) {
    console.error(`[reserve ${reserve}] ${String(error)}\n${worker?.output().slice(-3000) ?? ''}`);
    throw error;
  } finally {
    for (const timer of timers) clearInterval(timer);
    await worker?.stop();
    await limited?.close();
    await watcher.end({ timeout: 1 });
    await bench.drop();
    await deleteRedisKeys(redisUrl, prefix);
  }
}

async function count(sql: postgres.Sql, where: string): Promise<number> {
  const [row] = await sql.unsafe<{ n: number }[]>(`select count(*)::int as n from sync_runs where ${where}`);
  return row?.n ?? 0;
}

async function until(check: () => Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} did not happen within ${seconds(timeoutMs)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}


await main();
