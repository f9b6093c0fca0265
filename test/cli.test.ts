import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startSimulator, type Simulator } from '../src/simulator/index.ts';
import { createTestDatabase, type TestDatabase } from './helpers/database.ts';
import { databaseUrl } from './helpers/urls.ts';

const BIN = fileURLToPath(new URL('../bin/threetone-sync.js', import.meta.url));
const KEY = 'sk_cli_test_0123456789abcdef';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the real CLI in a child process with exactly `env` (plus PATH). */
function cli(args: string[], env: Record<string, string>): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, timeout: 60_000, cwd: tmpdir() }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let database: TestDatabase;
let simulator: Simulator;
let env: Record<string, string>;

beforeAll(async () => {
  database = await createTestDatabase();
  simulator = await startSimulator({ apiKeys: [KEY], items: 700 });
  env = { DATABASE_URL: database.url, THREETONE_BASE_URL: simulator.url, THREETONE_API_KEY: KEY, THREETONE_WORKSPACE: 'cli' };
});
afterAll(async () => {
  await simulator.close();
  await database.drop();
});

describe('threetone-sync CLI', () => {
  it('documents every command in --help', async () => {
    const result = await cli(['--help'], {});
    expect(result.code).toBe(0);
    for (const command of ['migrate', 'sync', 'worker', 'status', 'simulate', 'demo']) expect(result.stdout).toContain(command);
  });

  it('migrates, syncs and reports status', async () => {
    expect((await cli(['migrate'], env)).code).toBe(0);
    const sync = await cli(['sync'], env);
    expect(sync.stderr).toBe('');
    expect(sync.code).toBe(0);
    // One naming style everywhere: the tables' snake_case.
    expect(sync.stdout).toMatch(/^workspace\s+run_id\s+kind\s+status\s+stop_reason\s+pages\s+items_seen\s/);
    expect(sync.stdout).toMatch(/\bcli\s+\d+\s+full\s+succeeded\s+end\s+2\s+700\b/);
    const status = await cli(['status', '--workspace', 'cli', '--json'], env);
    expect(status.code).toBe(0);
    const { state, runs, walking: running } = JSON.parse(status.stdout) as { state: string; runs: Record<string, unknown>[]; walking: unknown[] };
    expect(state).toBe('ok');
    expect(runs[0]).toMatchObject({ workspace: 'cli', kind: 'full', status: 'succeeded', stop_reason: 'end', items_seen: 700 });
    // ISO 8601 times, a duration and an age.
    expect(runs[0]!.started_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(runs[0]!.finished_at).toMatch(/Z$/);
    expect(runs[0]!.duration_ms).toBeGreaterThan(0);
    expect(runs[0]!.age_ms).toBeGreaterThanOrEqual(0);
    expect(running).toEqual([]);
    const overview = await cli(['status'], env);
    expect(overview.stdout).toMatch(/^1 workspace: 0 failing · 0 stuck · 0 stale · 0 warning · 0 running · 1 ok \(as of [\dT:-]+Z\)\nSTATE +WORKSPACE +LAST SUCCESS +WHY\nok +cli +less than a minute ago +last success less than a minute ago\n$/);
    const table = await cli(['status', '--workspace', 'cli'], env);
    expect(table.stdout).toMatch(/^cli: ok: last success less than a minute ago\n\nrun_id\s+kind\s+status\s+started_at\s+duration\s+items_seen\s+versions_added\s+error\n/);
    expect(table.stdout).toMatch(/\n\s*\d+\s+full\s+succeeded\s+\d{4}-\d\d-\d\dT[\d:]+Z\s+[\d.]+ (ms|s)\s+700\s+\d+\n/);
  });

  it('reconciles and writes a self-contained HTML report', async () => {
    const reconcile = await cli(['reconcile'], env);
    expect(reconcile.code).toBe(0);
    expect(reconcile.stdout).toMatch(/workspace\s+api_count\s+stored_count\s+drift\s+deleted\s+undeleted/);
    const out = path.join(mkdtempSync(path.join(tmpdir(), 'report-')), 'report.html');
    const report = await cli(['report', '--since', '400d', '--out', out], env);
    expect(report.code).toBe(0);
    const html = readFileSync(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain('<section class="workspace" id="ws-cli"><h2>cli<a class="up" href="#contents">');
    // The daily chart; the finish rates are dots in the agents' table.
    expect(html.match(/<svg /g)?.length).toBe(1);
    expect(html).toContain('<i class="dot"');
    expect(html).toContain('last successful sync');
    // Self-contained: nothing to fetch.
    expect(html).not.toMatch(/(src|href)=["']?https?:/);
    expect(html).not.toContain('<script');
  });

  it('rejects a malformed --since with a usage error', async () => {
    const result = await cli(['report', '--since', 'a month'], env);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/must be a number of hours or days/);
  });

  it('exits 2 with one line per configuration problem', async () => {
    const result = await cli(['sync'], { ...env, THREETONE_PAGE_SIZE: '0', LOG_LEVEL: 'chatty' });
    expect(result.code).toBe(2);
    expect(result.stderr.trim().split('\n')).toEqual([
      'config: THREETONE_PAGE_SIZE must be a whole number from 1 to 500 (got "0")',
      'config: LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent',
    ]);
  });

  it('exits 2 naming THREETONE_API_KEY when it is missing', async () => {
    const { THREETONE_API_KEY: _key, ...withoutKey } = env;
    const result = await cli(['sync'], withoutKey);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(`config: no workspace to sync: set THREETONE_API_KEY (one workspace) or THREETONE_WORKSPACES='{"name":"<key>"}'\n`);
  });

  it('exits 1 with a one-line cause on a rejected key, without printing the key', async () => {
    const result = await cli(['sync'], { ...env, THREETONE_API_KEY: `${KEY}x`, LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: cli: API key rejected (401): Invalid API key; check THREETONE_API_KEY\n');
    expect(result.stdout + result.stderr).not.toContain(KEY);
  });

  it('exits 1 naming DATABASE_URL when Postgres is unreachable', async () => {
    const result = await cli(['sync'], { ...env, DATABASE_URL: 'postgres://postgres:secret@127.0.0.1:1/nowhere', LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cannot reach Postgres at postgres:\/\/\*\*\*:\*\*\*@127\.0\.0\.1:1\/nowhere: .*; check DATABASE_URL\n$/);
  });

  it('exits 2 naming DATABASE_URL when its database or role does not exist (configuration, not an outage)', async () => {
    const noDatabase = await cli(['sync'], { ...env, DATABASE_URL: database.url.replace(/\/[^/]+$/, '/no_such_database'), LOG_LEVEL: 'silent' });
    expect(noDatabase.code).toBe(2);
    expect(noDatabase.stderr).toMatch(/^config: cannot reach Postgres at .*\/no_such_database: database "no_such_database" does not exist; check DATABASE_URL\n$/);
    const asNoRole = new URL(database.url);
    asNoRole.username = 'no_such_role';
    asNoRole.password = '';
    const noRole = await cli(['sync'], { ...env, DATABASE_URL: asNoRole.toString(), LOG_LEVEL: 'silent' });
    expect(noRole.code).toBe(2);
    // "role … does not exist" under trust auth; a server asking for a password refuses the login first (28P01).
    expect(noRole.stderr).toMatch(/^config: cannot reach Postgres at .*: (role "no_such_role" does not exist|password authentication failed for user "no_such_role"); check DATABASE_URL\n$/);
  });

  it('says to migrate when the tables are missing', async () => {
    const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => undefined });
    const name = `threetone_t_${inject('testRunPid')}_bare_${Date.now()}`;
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    try {
      const result = await cli(['sync'], { ...env, DATABASE_URL: databaseUrl(inject('pgAdminUrl'), name), LOG_LEVEL: 'silent' });
      expect(result.code).toBe(1);
      expect(result.stderr).toMatch(/^error: (cli: )?database error 42P01: relation "\w+" does not exist; the tables are missing: run "threetone-sync migrate"\n$/);
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('names the host and THREETONE_BASE_URL when the API cannot be reached', async () => {
    const result = await cli(['sync'], { ...env, THREETONE_BASE_URL: 'http://127.0.0.1:1', THREETONE_ALLOW_INSECURE_HTTP: 'true', THREETONE_MAX_ATTEMPTS: '1', LOG_LEVEL: 'silent' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/^error: cli: cannot reach the API at 127\.0\.0\.1:1( \(\w+\))?; check THREETONE_BASE_URL \(gave up after 1 attempt\)\n$/);
  });
});
