/**
 * `npx tsx scripts/status-screenshots.ts [folder]`: the status page as the README shows it, reproducibly. A
 * database of its own with the triage fleet (5 failing, 3 stale, 1 stuck, 291 healthy), the worker's real HTTP
 * server on the Postgres queue, and Chromium at desktop and phone sizes. Default folder: docs/screenshots.
 * Postgres: DATABASE_URL, else the embedded one.
 */
import path from 'node:path';
import { loadConfig } from '../src/config.ts';
import { createMetrics } from '../src/http/metrics.ts';
import { createReadiness } from '../src/http/readiness.ts';
import { startHttpServer } from '../src/http/server.ts';
import { openQueueStore } from '../src/jobs/queue.ts';
import { RunEvents } from '../src/jobs/run-events.ts';
import { silentLogger } from '../src/log.ts';
import { createBenchDatabase, openBenchServer } from '../bench/support.ts';
import { launchChromium } from '../test/helpers/chromium.ts';
import { seedFleet } from '../test/helpers/fleet.ts';

const out = path.resolve(process.argv[2] ?? 'docs/screenshots');
const server = await openBenchServer();
const bench = await createBenchDatabase(server.adminUrl, 'shots');
try {
  const names = await seedFleet(bench.database.sql, { healthy: 291, failing: 5, stale: 3, stuck: 1 });
  const base = loadConfig({});
  const config = { ...base, databaseUrl: bench.url, redisUrl: undefined, http: { port: 0, host: '127.0.0.1', board: undefined } };
  const store = openQueueStore(config, bench.url);
  const queue = store.openQueue();
  await queue.waitUntilReady();
  const metrics = createMetrics({ database: bench.database, queue, log: silentLogger, events: new RunEvents(), health: config.health });
  const http = await startHttpServer({ config, log: silentLogger, database: bench.database, queue, metrics, ready: createReadiness({ database: bench.database, schedulesRegistered: () => true }) });
  const browser = await launchChromium();
  try {
    const desktop = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    await desktop.goto(`${http.url}/`);
    await desktop.screenshot({ path: `${out}/status-desktop.png` });
    await desktop.goto(`${http.url}/workspaces/${names.failing.at(-1)}`);
    await desktop.screenshot({ path: `${out}/status-workspace-desktop.png` });
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 }, deviceScaleFactor: 2, isMobile: true, hasTouch: true });
    const page = await phone.newPage();
    await page.goto(`${http.url}/`);
    await page.screenshot({ path: `${out}/status-phone.png` });
    console.log(`screenshots in ${out}; overview ${(await (await fetch(`${http.url}/`)).text()).length} bytes`);
  } finally {
    await browser.close();
    await http.close();
    await queue.close();
    await store.close();
  }
} finally {
  await bench.drop();
  await server.close();
}
