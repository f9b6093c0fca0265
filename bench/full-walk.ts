import { runSync } from '../src/jobs/sync-run.ts';
import { createLogger } from '../src/log.ts';
import { info, ratioAtMost, type BenchResult } from './report.ts';
import { benchConfig, createBenchDatabase, seconds, startSimulatorChild } from './support.ts';

/**
 * A whole first sync through the real runSync against the CLI simulator in
 * its own process, with a fixed latency per page. The floor is pages ×
 * latency: what a client that spends no time of its own would take. Page
 * N+1 is fetched while page N is written (walk-pages.ts), so the ratio to
 * the floor tells whether the walk is API-bound (≈1) or write-bound.
 */
export interface FullWalkOptions {
  adminUrl: string;
  items?: number;
  latencyMs?: number;
}

const API_KEY = 'bench-walk-key';
const WORKSPACE = 'bench';

export async function measureFullWalk(options: FullWalkOptions): Promise<BenchResult> {
  const items = options.items ?? 200_000;
  const latencyMs = options.latencyMs ?? 20;
  const bench = await createBenchDatabase(options.adminUrl, 'walk');
  try {
    const simulator = await startSimulatorChild({ items, latencyMs, apiKey: API_KEY });
    try {
      const config = benchConfig(simulator.url, bench.url, WORKSPACE);
      // Warnings (retries, rejected items) would mean the figure is not a clean walk: keep them visible.
      const log = createLogger({ level: 'warn', pretty: false });
      const started = performance.now();
      const summary = await runSync({ config, database: bench.database, log }, { workspace: WORKSPACE, apiKey: API_KEY, kind: 'full' });
      const ms = performance.now() - started;
      const floorMs = summary.pages * latencyMs;
      const failures: string[] = [];
      if (summary.itemsSeen !== items) failures.push(`full walk: saw ${summary.itemsSeen} items, the simulator holds ${items}`);
      return {
        figures: [
          ratioAtMost(
            `walk: ${items.toLocaleString('en-US')} items at ${latencyMs} ms/page`,
            `${seconds(ms)} (${summary.pages} pages, ${summary.requests} requests, ${summary.retries} retries)`,
            ms / floorMs,
            1.25,
            `floor ${seconds(floorMs)}`,
          ),
          info('walk: throughput', `${Math.round((summary.itemsSeen * 1000) / ms).toLocaleString('en-US')} items/s, ${(ms / summary.pages).toFixed(1)} ms per page`),
        ],
        failures,
      };
    } finally {
      await simulator.stop();
    }
  } finally {
    await bench.drop();
  }
}
