import { isDeepStrictEqual } from 'node:util';
import { startSimulator } from '../src/simulator/index.ts';
import { runSync } from '../src/jobs/sync-run.ts';
import { silentLogger } from '../src/log.ts';
import type { BenchResult } from './report.ts';
import { benchConfig, createBenchDatabase } from './support.ts';

const KEY = 'bench-incremental';
const WS = 'incremental';

/**
 * Incremental vs full walk: requests each spends on a 50-page workspace whose
 * old jobs are final, after a typical change (a few dozen jobs progressing,
 * a few created), both counted on the simulator. The incremental run's copy
 * is checked against the API afterwards: a cheap run that misses changes
 * would be no win.
 */
export async function measureIncremental(options: { adminUrl: string }): Promise<BenchResult> {
  const bench = await createBenchDatabase(options.adminUrl, 'incremental');
  const simulator = await startSimulator({ apiKeys: [KEY], items: 25_000 });
  try {
    const config = benchConfig(simulator.url, bench.url, WS);
    const run = (kind: 'full' | 'incremental') => runSync({ config, database: bench.database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind });
    await run('full');

    simulator.mutate({ progress: 40, create: 10 });
    simulator.resetStats();
    const full = await run('full');
    const fullRequests = simulator.stats.requests;

    const changes = simulator.mutate({ progress: 40, create: 10 });
    simulator.resetStats();
    const incremental = await run('incremental');
    const incrementalRequests = simulator.stats.requests;

    // Compared as values: jsonb does not keep the API's key order.
    const stored = await bench.database.sql<{ id: string; raw: unknown }[]>`select id, raw from batch_calls where workspace = ${WS}`;
    const byId = new Map(stored.map((r) => [r.id, r.raw]));
    const missed = simulator.truth().filter((t) => !isDeepStrictEqual(byId.get(t.id), t)).length;

    const ratio = incrementalRequests / fullRequests;
    return {
      figures: [
        {
          figure: 'incremental: requests after a typical change',
          value: `${incrementalRequests} (stop: ${incremental.stopReason}) vs full walk ${fullRequests} (${full.pages} pages); ${changes.progressed.length} progressed, ${changes.created.length} created`,
          target: '<= 0.25x full walk',
          verdict: `${ratio.toFixed(2)}x ${ratio <= 0.25 ? 'ok' : 'MISS'}`,
        },
        {
          figure: 'incremental: jobs differing from the API afterwards',
          value: String(missed),
          target: '0',
          verdict: missed === 0 ? 'ok' : 'MISS',
        },
      ],
      failures: missed === 0 ? [] : [`incremental sync left ${missed} jobs differing from the API`],
    };
  } finally {
    await simulator.close();
    await bench.drop();
  }
}
