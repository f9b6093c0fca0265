import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { startSimulator } from '../src/simulator/index.ts';
import { BIN, createBenchDatabase, openBenchServer, spawnNode, waitForOutput } from './support.ts';

/**
 * Postgres connections one worker holds while it works: a real `threetone-sync
 * worker` syncing WORKER_CONCURRENCY (4) workspaces at once, its HTTP endpoint
 * scraped during the run, `pg_stat_activity` of its database sampled every
 * 25 ms. Once with the queue in Redis, once on BullMQ's Postgres backend.
 *
 *   npx tsx bench/connections.ts
 */
const WORKSPACES = 4;
const ITEMS = 6_000;

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function measure(backend: 'redis' | 'postgres', adminUrl: string): Promise<{ peak: number; byApp: Record<string, number> }> {
  const bench = await createBenchDatabase(adminUrl, `conn_${backend}`);
  const workspaces = Array.from({ length: WORKSPACES }, (_, i) => ({ name: `ws${i}`, apiKey: `conn-key-${i}-${randomBytes(3).toString('hex')}` }));
  const simulator = await startSimulator({ items: ITEMS, latencyMs: 40, apiKeys: workspaces.map((w) => w.apiKey) });
  const port = await freePort();
  const worker = spawnNode([BIN, 'worker'], {
    DATABASE_URL: bench.url,
    ...(backend === 'redis' ? { REDIS_URL: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379', QUEUE_PREFIX: `conn${randomBytes(3).toString('hex')}` } : {}),
    THREETONE_BASE_URL: simulator.url,
    THREETONE_WORKSPACES: JSON.stringify(Object.fromEntries(workspaces.map((w) => [w.name, w.apiKey]))),
    THREETONE_PAGE_SIZE: '100',
    THREETONE_REQUESTS_PER_MINUTE: '100000',
    THREETONE_REQUESTS_PER_HOUR: '1000000',
    WORKER_CONCURRENCY: String(WORKSPACES),
    SYNC_EVERY: '1h',
    HTTP_PORT: String(port),
    LOG_LEVEL: 'info',
  });
  const peak = { total: 0, byApp: {} as Record<string, number> };
  try {
    await waitForOutput(worker, /worker started/, 30_000);
    for (;;) {
      const rows = await bench.database.sql<{ app: string; n: number }[]>`
        select coalesce(nullif(application_name, ''), '(none)') as app, count(*)::int as n from pg_stat_activity
        where datname = ${bench.name} and pid <> pg_backend_pid() group by 1`;
      const total = rows.reduce((sum, r) => sum + r.n, 0);
      if (total > peak.total) peak.total = total;
      for (const r of rows) peak.byApp[r.app] = Math.max(peak.byApp[r.app] ?? 0, r.n);
      // A scraper and a status-page reader, as in production: the HTTP endpoint's own pool joins in.
      void fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text()).catch(() => undefined);
      const [done] = await bench.database.sql<{ n: number }[]>`select count(*)::int as n from sync_runs where status = 'succeeded'`;
      if ((done?.n ?? 0) >= WORKSPACES) break;
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  } finally {
    await worker.stop();
    await simulator.close();
    await bench.drop();
  }
  return { peak: peak.total, byApp: peak.byApp };
}

const server = await openBenchServer();
try {
  process.stdout.write(`Postgres connections of one worker syncing ${WORKSPACES} workspaces at once (WORKER_CONCURRENCY=${WORKSPACES}), HTTP scraped, Postgres ${server.version}\n\n`);
  process.stdout.write('| queue backend | peak connections | peak per application_name |\n| --- | --- | --- |\n');
  for (const backend of ['redis', 'postgres'] as const) {
    const { peak, byApp } = await measure(backend, server.adminUrl);
    const apps = Object.entries(byApp).sort(([a], [b]) => a.localeCompare(b)).map(([app, n]) => `${app} ${n}`).join(', ');
    process.stdout.write(`| ${backend} | ${peak} | ${apps} |\n`);
  }
} finally {
  await server.close();
}
