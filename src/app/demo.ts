import type { Writable } from 'node:stream';
import { startSimulator } from '../simulator/index.ts';
import type { Config } from '../config.ts';
import { openDatabase } from '../db/connection.ts';
import { runMigrations } from '../db/migrate.ts';
import { runSync, type SyncSummary } from '../jobs/sync-run.ts';
import type { Logger } from '../log.ts';
import { formatTable } from '../util/table.ts';
import { workspaceTotals } from '../db/workspace-totals.ts';
import { redactUrl } from '../util/redact-url.ts';
import { counterColumns, RUN_COUNTER_COLUMNS, RUN_COUNTERS } from '../domain/run-counters.ts';

/** Every counter but undeletes (the demo deletes nothing a run could bring back). */
const DEMO_COUNTERS = RUN_COUNTERS.filter((name) => name !== 'undeleted');

const DEMO_KEY = 'demo-key';
const DEMO_WORKSPACE = 'demo';

/**
 * The whole pipeline on one machine with nothing but Node: a simulated
 * workspace with some schema drift and faults, synced twice (the second time
 * after jobs progressed, appeared, vanished and were amended), then a report.
 */
export async function runDemo(options: { config: Config; log: Logger; items: number; out: Writable }): Promise<void> {
  const { out } = options;
  // The report is the demo's output; per-page warnings (rejected items, new enum values) would bury it.
  const log = options.config.logLevel === 'info' ? options.log.child({}, { level: 'error' }) : options.log;
  const simulator = await startSimulator({
    items: options.items,
    apiKeys: [DEMO_KEY],
    faultRate: 0.08,
    faultKinds: ['429', '500', '503', 'reset', 'truncate', 'garbage'],
    retryAfterSeconds: 1,
    drift: { unknownFieldRate: 0.02, unknownEnumRate: 0.005, invalidRate: 0.002 },
  });
  const config: Config = {
    ...options.config,
    baseUrl: simulator.url,
    workspace: DEMO_WORKSPACE,
    // A local simulator: no need to pace like the real API; short waits keep the demo quick.
    budget: [{ points: 100_000, windowMs: 60_000 }],
    timeoutMs: 5_000,
  };
  out.write(`simulated Threetone API at ${simulator.url} with ${options.items} batch calls\n`);
  const database = await openDatabase(config, log);
  try {
    out.write(`Postgres: ${redactUrl(database.url)}${config.databaseUrl ? '' : ' (embedded, data under ' + config.embeddedPg.dir + ')'}\n`);
    await runMigrations(database, { lockTimeoutMs: config.pg.migrationLockTimeoutMs, log });
    const runs: (SyncSummary & { run: string })[] = [];
    const target = { workspace: DEMO_WORKSPACE, apiKey: DEMO_KEY, keySource: 'the demo\'s built-in key', kind: 'full' as const };

    runs.push({ run: 'first sync', ...(await runSync({ config, database, log }, target)) });
    const changes = simulator.mutate({ progress: 25, create: 10, delete: 3, amend: 5 });
    out.write(
      `between syncs the API changed: ${changes.progressed.length} progressed, ${changes.created.length} created, ${changes.deleted.length} deleted, ${changes.amended.length} amended\n`,
    );
    runs.push({ run: 'second sync', ...(await runSync({ config, database, log }, target)) });
    runs.push({ run: 'no-op sync', ...(await runSync({ config, database, log }, target)) });

    out.write(
      `\n${formatTable(
        runs.map((r) => ({ run: r.run, ...counterColumns(r, DEMO_COUNTERS), seconds: Number((r.durationMs / 1000).toFixed(2)) })),
        ['run', ...DEMO_COUNTERS.map((name) => RUN_COUNTER_COLUMNS[name]), 'seconds'],
      )}\n`,
    );
    const totals = await workspaceTotals(database.sql, DEMO_WORKSPACE);
    out.write(
      `\nPostgres now holds ${totals?.jobs} batch calls (the API lists ${simulator.truth().length}), ${totals?.versions} versions in batch_call_history, ${totals?.rejected} rejected items in rejected_records.\n` +
        `The 3 deleted jobs stay in batch_calls until reconciliation marks them; see README for queries.\n`,
    );
  } finally {
    await database.close();
    await simulator.close();
  }
}
