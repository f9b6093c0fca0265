/**
 * `npx tsx bench/budget.ts`: a 150-page walk at Threetone's documented limits (100 a minute, 1,000 an hour per key)
 * against the simulator enforcing them over exact sliding windows, through the production client, walker and
 * budget (no Postgres: the walk is the API side of a sync). Two runs:
 *
 * - one process: one walker, 150 pages, the in-process (memory) budget;
 * - three workers: three walkers of three 50-page workspaces on the same key (150 requests on the key in all), each
 *   with its own Redis connection to the shared budget (REDIS_URL, else redis://127.0.0.1:6379).
 *
 * The floor is the fastest schedule the limits allow for 150 requests, computed exactly (walkEta, no margin): 100 at
 * once, 50 a minute later, so 60 s. Target: wall time <= 1.10x the floor and no 429. The old sub-window budget is not
 * run (it would take ~7 min): its schedule is computed from its fixed windows instead, same 150 requests.
 */
import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createBudget, type RequestBudget } from '../src/budget/budget.ts';
import { walkEta } from '../src/budget/eta.ts';
import { createMemoryStore } from '../src/budget/memory-store.ts';
import { createRedisStore } from '../src/budget/redis-store.ts';
import { ThreetoneClient } from '../src/api/client.ts';
import { keyFingerprint } from '../src/api/key-fingerprint.ts';
import { DEFAULT_RETRY } from '../src/api/retry-policy.ts';
import { walkPages } from '../src/api/walk-pages.ts';
import { createLogger } from '../src/log.ts';
import { batchCalls } from '../src/resources/batch-calls.ts';
import { startSimulator } from '../src/simulator/index.ts';
import { atMost, info, ratioAtMost, renderTable, type BenchResult, type Figure } from './report.ts';

const LIMITS = [
  { points: 100, windowMs: 60_000 },
  { points: 1000, windowMs: 3_600_000 },
];
const API_KEY = 'bench-budget-key';
const PAGES = 150;
const log = createLogger({ level: process.env.LOG_LEVEL ?? 'info', pretty: false });

async function walk(baseUrl: string, budget: RequestBudget): Promise<{ pages: number; byStatus: Record<string, number>; waitMs: number }> {
  const client = new ThreetoneClient({
    resource: batchCalls,
    baseUrl,
    apiKey: API_KEY,
    pageSize: 1,
    timeoutMs: 30_000,
    maxBodyBytes: 1_048_576,
    retry: DEFAULT_RETRY,
    budget,
    log,
  });
  let pages = 0;
  for await (const _page of walkPages(client)) pages++;
  return { pages, byStatus: client.stats.byStatus, waitMs: client.stats.budgetWaitMs };
}

async function scenario(name: string, walkers: number, budgetFor: (i: number) => Promise<RequestBudget>) {
  const simulator = await startSimulator({ items: PAGES / walkers, apiKeys: [API_KEY], rateLimit: { perMinute: 100, perHour: 1000 } });
  try {
    const budgets = await Promise.all(Array.from({ length: walkers }, (_, i) => budgetFor(i)));
    const started = performance.now();
    const results = await Promise.all(budgets.map((b) => walk(simulator.url, b)));
    const ms = performance.now() - started;
    return { name, ms, pages: results.reduce((n, r) => n + r.pages, 0), byStatus: simulator.stats.byStatus, requests: simulator.stats.requests };
  } finally {
    await simulator.close();
  }
}

/** The old budget (rate-limiter-flexible, fixed windows of 10 per 6.67 s and 100 per 400 s), simulated for the same requests. */
function subWindowScheduleMs(n: number): number {
  const limiters = [
    { points: 10, durationMs: 60_000 / 9 },
    { points: 100, durationMs: 400_000 },
  ].map((l) => ({ ...l, start: -Infinity, used: 0 }));
  let t = 0;
  for (let i = 0; i < n; i++) {
    for (;;) {
      let wait = 0;
      for (const l of limiters) {
        if (t >= l.start + l.durationMs) {
          l.start = t;
          l.used = 0;
        }
        if (l.used >= l.points) wait = Math.max(wait, l.start + l.durationMs - t);
      }
      if (wait === 0) break;
      t += wait;
    }
    for (const l of limiters) l.used++;
  }
  return t;
}

/** For `npm run bench`: both runs against the floor, and the old budget's computed schedule for comparison. */
export async function measureBudget(): Promise<BenchResult> {
  const floorMs = walkEta({ requests: PAGES, log: [], now: 0, limits: LIMITS, marginMs: 0 }).ms;
  const figures: Figure[] = [info('budget: fastest schedule 100/min + 1000/h allows for 150 requests', `${(floorMs / 1000).toFixed(1)} s`)];
  const failures: string[] = [];
  const add = (r: Awaited<ReturnType<typeof scenario>>) => {
    figures.push(ratioAtMost(`budget: 150-page walk, ${r.name}`, `${(r.ms / 1000).toFixed(1)} s`, r.ms / floorMs, 1.1, 'the fastest schedule'));
    figures.push(atMost(`budget: 429 responses, ${r.name}`, r.byStatus['429'] ?? 0, 0, ''));
    if (r.pages !== PAGES) failures.push(`budget: ${r.name} walked ${r.pages} pages, not ${PAGES}`);
  };
  add(await scenario('one process', 1, async () => createBudget(createMemoryStore(), keyFingerprint(API_KEY), LIMITS)));
  const redisUrl = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';
  const prefix = `bench-budget-${randomBytes(4).toString('hex')}`;
  const connections: Redis[] = [];
  try {
    add(
      await scenario('three workers sharing the key (Redis)', 3, async () => {
        const redis = new Redis(redisUrl);
        connections.push(redis);
        return createBudget(createRedisStore(redis, prefix), keyFingerprint(API_KEY), LIMITS);
      }),
    );
  } finally {
    const keys = await connections[0]?.keys(`${prefix}*`);
    if (keys && keys.length > 0) await connections[0]!.del(...keys);
    for (const c of connections) await c.quit();
  }
  const old = subWindowScheduleMs(PAGES);
  figures.push(info('budget: the same walk under the old sub-window budget (computed)', `${(old / 1000).toFixed(1)} s`, `${(old / floorMs).toFixed(2)}x the floor`));
  return { figures, failures };
}

// Run on its own: `npx tsx bench/budget.ts` (or `npm run bench:budget`).
if (import.meta.url === `file://${process.argv[1]}`) {
  const { figures, failures } = await measureBudget();
  process.stdout.write(`${renderTable(figures)}\n`);
  for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
  process.exitCode = failures.length > 0 ? 1 : 0;
}
