import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadConfig } from '../../src/config.ts';
import { Rng } from '../../src/simulator/random.ts';
import { startApis, type ChaosApi } from './apis.ts';
import { parseChaosArgs, USAGE, type ChaosArgs } from './args.ts';
import { catchUp, missingSchedules } from './catch-up.ts';
import { compareCopy, compareMarks, countCopy, formatDifference, type CopyCounts, type Difference } from './check.ts';
import { readCopy, readMarked } from './copy.ts';
import { FaultDeck, FAULT_KINDS, injectFault, planFault, type FaultContext, type FaultKind } from './faults.ts';
import { Fleet } from './fleet.ts';
import { openChaosQueue } from './queue.ts';
import { ChaosRecord } from './record.ts';
import { sleep, startChaosPostgres, startPrivateRedis, waitFor } from './services.ts';

/**
 * `npm run chaos -- --minutes N [--seed S] [--out FILE] [--keep-going]`:
 * three workers sync three simulated workspaces into a Postgres and a Redis
 * of the run's own while rounds of faults hit them; after each round the copy
 * must catch up and equal the API. Exit 0 when the time is up; 1 on the first
 * failure (a difference, a catch-up that times out, lost schedules), or at
 * the end with --keep-going; 2 on bad arguments; 130 when interrupted.
 */

const WORKERS = 3;
const FAULTS_PER_ROUND = 4;
const CATCH_UP_MS = 120_000;
/** Schedules a worker lost (an emptied Redis) must be back within this, once the copy caught up. */
const SCHEDULES_MS = 60_000;
/** Past `minutes`: time for the last round's catch-up and check. */
const FINAL_MS = 180_000;
const MAX_LINES = 20;
const BIN = fileURLToPath(new URL('../../bin/threetone-sync.js', import.meta.url));

/** A round that failed: one line saying how, then up to MAX_LINES saying where. */
class ChaosFailure extends Error {
  constructor(
    message: string,
    readonly lines: string[] = [],
  ) {
    super(message);
  }
}

/** What every worker runs with: small pages, no budget to speak of, retries and stalls measured in seconds. */
function workerEnv(databaseUrl: string, redisUrl: string, baseUrl: string, apis: ChaosApi[]): Record<string, string> {
  return {
    DATABASE_URL: databaseUrl,
    REDIS_URL: redisUrl,
    THREETONE_BASE_URL: baseUrl,
    THREETONE_WORKSPACES: JSON.stringify(Object.fromEntries(apis.map((a) => [a.name, a.apiKey]))),
    THREETONE_PAGE_SIZE: '50',
    THREETONE_TIMEOUT_MS: '5000',
    THREETONE_RETRY_BASE_MS: '50',
    THREETONE_REQUESTS_PER_MINUTE: '1000000',
    THREETONE_REQUESTS_PER_HOUR: '100000000',
    SYNC_EVERY: '3s',
    RECONCILE_CRON: '* * * * *',
    JOB_ATTEMPTS: '10',
    JOB_BACKOFF_MS: '200',
    // Also what a run postponed because its workspace is locked waits (src/jobs/process-job.ts).
    JOB_MAX_DELAY_MS: '2000',
    WORKER_LOCK_MS: '5000',
    // Room for the 5 s a worker's close takes after a Postgres restart, so its exit code at the end reports the product, not this setting.
    SHUTDOWN_TIMEOUT_MS: '10000',
    PG_LOCK_TIMEOUT_MS: '10000',
    HTTP_PORT: '0',
    LOG_LEVEL: 'info',
  };
}

async function main(args: ChaosArgs): Promise<void> {
  const startedAt = Date.now();
  const roundsUntil = startedAt + args.minutes * 60_000;
  const deadline = roundsUntil + FINAL_MS;
  const logPrefix = args.out.replace(/\.json$/, '');
  mkdirSync(path.dirname(args.out), { recursive: true });
  const command = `npm run chaos -- --minutes ${args.minutes} --seed ${args.seed}${args.keepGoing ? ' --keep-going' : ''}`;
  const record = new ChaosRecord(args.out, { command, seed: args.seed, minutes: args.minutes });
  const teardown: (() => Promise<void>)[] = [];
  let tornDown: Promise<void> | undefined;
  const tearDown = () =>
    (tornDown ??= (async () => {
      for (const step of teardown.reverse()) await step().catch((error: unknown) => process.stderr.write(`chaos: cleanup: ${String(error)}\n`));
    })());

  let exiting = false;
  const exit = async (code: number, line: string) => {
    if (exiting) return;
    exiting = true;
    record.summary = { ...record.summary, exitCode: code, result: line };
    record.add('end', { exitCode: code, result: line });
    process.stdout.write(`${line}\n`);
    await tearDown();
    record.save();
    process.stdout.write(`chaos: record ${args.out}\n`);
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    // Not once: Ctrl-C reaches this process twice (from the terminal, and relayed by tsx), and the second must
    // not kill it halfway through stopping the servers it started.
    process.on(signal, () => {
      if (exiting) process.stderr.write(`chaos: ${signal} again: still stopping what the run started\n`);
      else void exit(130, `chaos: interrupted by ${signal} after ${seconds(Date.now() - startedAt)}`);
    });
  }
  // Every wait below is bounded by `deadline`; this is the net under them.
  setTimeout(() => void exit(1, `chaos: FAILED: still running 30s past the deadline`), deadline - Date.now() + 30_000).unref();

  process.stdout.write(`chaos: seed ${args.seed}, ${args.minutes} minute(s); record ${args.out}, worker logs ${logPrefix}.w{1..${WORKERS}}.log\n`);
  const rng = new Rng(args.seed);
  const faultCounts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  const tally = { checks: 0, checksPassed: 0, marksChecks: 0, failedReconciles: 0, faultErrors: 0 };
  const failures: { round: number; message: string }[] = [];
  let round = 0;
  let fleetCrashes = () => 0;
  const summary = () => ({ rounds: round, faults: faultCounts, ...tally, workerCrashes: fleetCrashes(), failures });

  /** With --keep-going, printed under the round's line. */
  const reported: ChaosFailure[] = [];
  /** A failed round: fatal, unless --keep-going, which records it and goes on. */
  const fail = (failure: ChaosFailure): void => {
    failures.push({ round, message: failure.message });
    record.add('failure', { round, message: failure.message, lines: failure.lines.slice(0, 200) });
    if (!args.keepGoing) throw failure;
    reported.push(failure);
  };
  const printRound = (line: string): void => {
    process.stdout.write(`${line}\n`);
    for (const failure of reported.splice(0)) {
      process.stdout.write(`  ${failure.message}\n`);
      printLines(failure.lines.map((l) => `  ${l}`));
    }
  };

  try {
    const pg = await startChaosPostgres();
    teardown.push(() => pg.destroy());
    const folder = mkdtempSync(path.join(tmpdir(), 'threetone-chaos-'));
    teardown.push(async () => rmSync(folder, { recursive: true, force: true }));
    const redis = await startPrivateRedis(folder);
    teardown.push(() => redis.destroy());
    const { apis, router, close } = await startApis(args.seed);
    teardown.push(close);
    const env = workerEnv(pg.url, redis.url, router.url, apis);
    await migrate(env);
    const queue = openChaosQueue(loadConfig(env));
    teardown.push(() => queue.close());
    const fleet = new Fleet(WORKERS, env, logPrefix, record);
    fleetCrashes = () => fleet.crashes;
    teardown.push(() => fleet.stop());
    record.add('setup', { postgres: pg.url, redis: redis.url, api: router.url, workspaces: apis.map((a) => ({ ...a.spec })), workers: fleet.names, logs: fleet.logs });
    fleet.startAll();
    const ctx: FaultContext = { pg, redis, fleet, apis, queue };
    const workspaces = apis.map((a) => a.name);

    /** Nothing injected any more: everything up, a reconciliation after the last change, then the copy must equal the API. */
    const settle = async (since: number): Promise<{ line: string }> => {
      const notReady = await fleet.ensureRunning(Math.min(60_000, deadline - Date.now()));
      await waitFor(() => pg.sql`select 1`.then(() => true, () => false), 10_000, 'the private Postgres');
      await waitFor(() => redis.isUp(), 10_000, 'the private Redis');
      const caught = await catchUp({ sql: pg.sql, queue, fleet, record, workspaces }, since, Math.max(0, Math.min(CATCH_UP_MS, deadline - Date.now())));
      tally.failedReconciles += caught.failedReconciles;
      record.add('catch-up', { round, since: new Date(since).toISOString(), workersNotReadyAtStart: notReady, ...caught });
      if (!caught.ok) {
        fail(new ChaosFailure(`chaos: FAILED in round ${round}: catch-up timed out after ${seconds(caught.ms)}`, caught.problems));
        return { line: `catch-up: TIMED OUT after ${seconds(caught.ms)}` };
      }
      const counts: Record<string, CopyCounts> = {};
      const differences: Difference[] = [];
      for (const api of apis) {
        const copy = await readCopy(pg.sql, api.name);
        const state = { live: api.simulator.truth(), served: new Set(api.simulator.versions().map((v) => `${v.id}@${v.last_updated_at_unix}`)) };
        differences.push(...compareCopy(api.name, state, copy, { stored: api.deletedStored, unseen: api.deletedUnseen }));
        counts[api.name] = countCopy(state, copy);
      }
      tally.checks++;
      if (differences.length === 0) tally.checksPassed++;
      record.add('check', { round, result: differences.length === 0 ? 'ok' : 'differences', counts, differences: differences.slice(0, 200).map(formatDifference) });
      if (differences.length > 0) fail(differencesFailure(`chaos: FAILED in round ${round}: the copy differs from the API`, differences));
      const missing = await missingSchedules(queue, workspaces, Math.max(0, Math.min(SCHEDULES_MS, deadline - Date.now())));
      record.add('schedules-check', { round, result: missing.length === 0 ? 'ok' : 'missing', missing });
      if (missing.length > 0) {
        fail(new ChaosFailure(`chaos: FAILED in round ${round}: the queue store lacks job schedulers ${SCHEDULES_MS / 1000}s after the copy caught up`, [`missing: ${missing.join(', ')}`]));
      }
      const result = differences.length > 0 ? `FAILED (${differences.length} differences)` : missing.length > 0 ? `FAILED (${missing.length} schedulers missing)` : 'ok';
      return { line: `check: ${result} (${describeCounts(counts)})  catch-up ${seconds(caught.ms)}` };
    };

    /** Between faults, walks in flight: no live job marked deleted, no mark the API did not cause. */
    const checkMarks = async (): Promise<void> => {
      const differences: Difference[] = [];
      for (const api of apis) {
        const marked = await readMarked(pg.sql, api.name).catch(() => undefined);
        if (marked === undefined) return;
        differences.push(...compareMarks(api.name, api.simulator.truth().map((j) => j.id), marked, { stored: api.deletedStored, unseen: api.deletedUnseen }));
      }
      tally.marksChecks++;
      record.add('marks-check', { round, result: differences.length === 0 ? 'ok' : 'differences', differences: differences.slice(0, 200).map(formatDifference) });
      if (differences.length > 0) fail(differencesFailure(`chaos: FAILED in round ${round}: jobs marked deleted that the API did not delete`, differences));
    };

    const first = await settle(startedAt);
    printRound(`round 0  initial sync  ${first.line}  elapsed ${seconds(Date.now() - startedAt)}`);
    record.save();

    const deck = new FaultDeck(rng);
    while (Date.now() < roundsUntil) {
      round++;
      const roundStart = Date.now();
      const crashesBefore = fleet.crashes;
      const done: string[] = [];
      for (let i = 0; i < FAULTS_PER_ROUND && (i === 0 || Date.now() < roundsUntil); i++) {
        const plan = planFault(deck.next(), rng, fleet.names, apis);
        const at = Date.now();
        try {
          const detail = await injectFault(plan, ctx);
          faultCounts[plan.kind]++;
          record.add('fault', { round, kind: plan.kind, target: plan.target || null, ms: Date.now() - at, ...detail }, at);
          done.push(plan.target ? `${plan.kind}(${plan.target})` : plan.kind);
        } catch (error) {
          // A fault that could not go in (a delete's read while Postgres is still coming back) is recorded, not fatal.
          tally.faultErrors++;
          record.add('fault-error', { round, kind: plan.kind, target: plan.target || null, ms: Date.now() - at, error: String(error) }, at);
          done.push(`${plan.kind}(not injected)`);
        }
        await checkMarks();
        await sleep(plan.gapMs);
      }
      const since = Math.max(roundStart, ...apis.map((a) => a.lastMutationAt));
      const settled = await settle(since);
      const crashes = fleet.crashes - crashesBefore;
      printRound(`round ${round}  faults: ${done.join(' ')}  ${settled.line}${crashes > 0 ? `  worker crashes: ${crashes}` : ''}  elapsed ${seconds(Date.now() - startedAt)}`);
      record.summary = summary();
      record.save();
    }
    record.summary = summary();
    const faults = Object.values(faultCounts).reduce((a, b) => a + b, 0);
    const totals =
      `${round} rounds, ${faults} faults (${FAULT_KINDS.map((k) => `${k} ${faultCounts[k]}`).join(', ')}), ${tally.checksPassed} of ${tally.checks} checks passed, ` +
      `${tally.marksChecks} marks checks, ${fleet.crashes} worker crashes, ${tally.failedReconciles} failed reconciliations, ${tally.faultErrors} faults not injected; ${seconds(Date.now() - startedAt)}`;
    if (failures.length > 0) await exit(1, `chaos: FAILED: ${failures.length} failure(s) in rounds ${[...new Set(failures.map((f) => f.round))].join(', ')}; ${totals}`);
    await exit(0, `chaos: passed: ${totals}`);
  } catch (error) {
    const failure = error instanceof ChaosFailure ? error : new ChaosFailure(`chaos: FAILED: ${(error as Error).stack ?? String(error)}`);
    record.summary = summary();
    printLines(failure.lines);
    await exit(1, failure.message);
  }
}

function printLines(lines: string[]): void {
  for (const line of lines.slice(0, MAX_LINES)) process.stdout.write(`  ${line}\n`);
  if (lines.length > MAX_LINES) process.stdout.write(`  … and ${lines.length - MAX_LINES} more (see the record)\n`);
}

function differencesFailure(message: string, differences: Difference[]): ChaosFailure {
  return new ChaosFailure(`${message} (${differences.length} difference${differences.length === 1 ? '' : 's'})`, differences.map(formatDifference));
}

/** `threetone-sync migrate`, as an operator runs it before starting workers. */
async function migrate(env: Record<string, string>): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'migrate'], { env: { PATH: process.env.PATH ?? '', ...env }, cwd: tmpdir(), stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (c: Buffer) => (output += c.toString()));
  child.stderr.on('data', (c: Buffer) => (output += c.toString()));
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
  if (code !== 0) throw new ChaosFailure(`chaos: FAILED: migrate exited ${code}`, output.trim().split('\n'));
}

function describeCounts(counts: Record<string, CopyCounts>): string {
  return Object.entries(counts)
    .map(([ws, c]) => `${ws} ${c.live} live/${c.marked} marked/${c.versions} versions`)
    .join(', ');
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

let args: ChaosArgs;
try {
  args = parseChaosArgs(process.argv.slice(2));
} catch (error) {
  process.stderr.write(`chaos: ${(error as Error).message}\n${USAGE}\n`);
  process.exit(2);
}
await main(args);
