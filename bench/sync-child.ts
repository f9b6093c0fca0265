/**
 * One sync in a process of its own, for rss.ts: `node --import tsx
 * bench/sync-child.ts` with BENCH_DATABASE_URL (migrated), BENCH_BASE_URL
 * and BENCH_API_KEY. Prints one JSON line: the peak RSS of this process
 * (process.resourceUsage().maxRSS) and the run's summary.
 */
import { openDatabase } from '../src/db/connection.ts';
import { RunEvents } from '../src/jobs/run-events.ts';
import { runSync } from '../src/jobs/sync-run.ts';
import { createLogger } from '../src/log.ts';
import { benchConfig } from './support.ts';

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

const config = benchConfig(required('BENCH_BASE_URL'), required('BENCH_DATABASE_URL'), 'bench-rss');
const log = createLogger({ level: 'warn', pretty: false });
const database = await openDatabase(config, log);
try {
  // RSS after every page: the peak alone cannot tell a leak (grows with pages) from heap headroom V8 keeps (flat).
  const rssByPage: number[] = [];
  const events = new RunEvents();
  events.on('page:committed', () => void rssByPage.push(process.memoryUsage.rss()));
  const summary = await runSync({ config, database, log, events }, { workspace: config.workspace, apiKey: required('BENCH_API_KEY'), kind: 'full' });
  const usage = process.resourceUsage();
  const at = (fraction: number) => rssByPage[Math.min(rssByPage.length - 1, Math.floor(fraction * rssByPage.length))] ?? 0;
  // With --expose-gc: the heap still reachable once the run is over.
  (globalThis as { gc?: () => void }).gc?.();
  process.stdout.write(
    `${JSON.stringify({
      maxRssBytes: usage.maxRSS * 1024,
      rssAtTenthBytes: at(0.1),
      rssAtHalfBytes: at(0.5),
      rssAtEndBytes: at(1),
      heapUsedAfterGcBytes: process.memoryUsage().heapUsed,
      pages: summary.pages,
      itemsSeen: summary.itemsSeen,
      requests: summary.requests,
      durationMs: summary.durationMs,
    })}\n`,
  );
} finally {
  await database.close();
}
