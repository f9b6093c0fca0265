import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { parseCsv, section, tableRows } from '../report/html-text.ts';
import { seedReport } from '../report/seed.ts';

const BIN = fileURLToPath(new URL('../../bin/threetone-sync.js', import.meta.url));
/** Nothing listens there: a command that got as far as querying would fail on it instead. */
const UNREACHABLE = 'postgres://postgres@127.0.0.1:1/nowhere';

interface Result {
  code: number;
  stdout: string;
  stderr: string;
}

/** The real CLI with exactly `env` (plus PATH), in `cwd` (a folder of the test's own: the embedded Postgres's data folder is relative to it). */
function cli(args: string[], env: Record<string, string>, cwd = mkdtempSync(path.join(tmpdir(), 'report-cli-'))): Promise<Result> {
  return new Promise((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env: { PATH: process.env.PATH ?? '', LOG_LEVEL: 'warn', ...env }, timeout: 60_000, cwd }, (error, stdout, stderr) => {
      resolve({ code: error ? ((error as { code?: number }).code ?? 1) : 0, stdout, stderr });
    });
  });
}

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  await seedReport(database.sql);
});
afterAll(async () => {
  await database.drop();
});

describe('threetone-sync report', () => {
  it('writes the page and, with --csv-dir, one CSV per table holding the same numbers', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'report-out-'));
    const out = path.join(folder, 'r.html');
    const csvDir = path.join(folder, 'csv');
    const result = await cli(['report', '--out', out, '--csv-dir', csvDir], { DATABASE_URL: database.url });
    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(new RegExp(`^report written to ${out} \\(\\d+ KiB\\): 2 workspaces, 7 jobs created since \\d{4}-\\d\\d-\\d\\d\\n`));
    expect(readdirSync(csvDir).sort()).toEqual(['finish-rate-per-agent.csv', 'jobs-per-day.csv', 'totals.csv', 'workspaces.csv']);

    const html = readFileSync(out, 'utf8');
    const csv = (file: string) => parseCsv(readFileSync(path.join(csvDir, file), 'utf8'));
    const totals = csv('totals.csv');
    expect(Object.fromEntries(totals[0]!.map((name, i) => [name, totals[1]![i]]))).toMatchObject({
      workspaces: '2', jobs: '7', jobs_completed: '2', jobs_pending: '1', jobs_failed: '3', jobs_in_progress: '1', calls_scheduled: '60', calls_finished: '44', finish_rate: '0.7333',
    });
    expect(html).toContain('2 workspaces: <strong>7</strong> jobs created (1 pending, 1 in_progress, 2 completed, 3 failed) · finish rate <strong>73.3%</strong> (44 of 60 calls)');

    expect(csv('workspaces.csv').map((row) => row.slice(0, 5))).toEqual([
      ['workspace', 'jobs', 'calls_scheduled', 'calls_finished', 'finish_rate'],
      ['north', '6', '50', '35', '0.7000'],
      ['south', '1', '10', '9', '0.9000'],
    ]);
    expect(tableRows(html, 1).map((row) => row.slice(0, 5))).toEqual([
      ['workspace', 'jobs', 'calls scheduled', 'calls finished', 'finish rate'],
      ['north', '6', '50', '35', '70.0%'],
      ['south', '1', '10', '9', '90.0%'],
    ]);

    const agents = csv('finish-rate-per-agent.csv');
    expect(agents.slice(1)).toEqual([
      ['north', '<b>Bo</b>, "the 2nd"', '0.5000', '4', '15', '30', 'ag_b'],
      ['north', 'Ana', '1.0000', '2', '20', '20', 'ag_a'],
      ['south', 'Sam', '0.9000', '1', '9', '10', 'ag_s'],
    ]);
    expect(readFileSync(path.join(csvDir, 'finish-rate-per-agent.csv'), 'utf8')).toContain('\r\nnorth,"<b>Bo</b>, ""the 2nd""",0.5000,');
    expect(tableRows(section(html, 'ws-north'), 1).slice(1)).toEqual([
      ['<b>Bo</b>, "the 2nd"', '50.0%', '4', '15', '30', 'ag_b'],
      ['Ana', '100.0%', '2', '20', '20', 'ag_a'],
    ]);
    expect(html).toContain('&lt;b&gt;Bo&lt;/b&gt;, &quot;the 2nd&quot;');

    // 31 days a workspace, today's the one flagged partial, in the CSV as in the page.
    const days = csv('jobs-per-day.csv').slice(1).filter((row) => row[0] === 'north');
    expect(days).toHaveLength(31);
    expect(days.filter((row) => row[2] === 'true')).toEqual([days.at(-1)]);
    expect(days.at(-1)!.at(-1)).toBe('3');
    const pageDays = tableRows(section(html, 'ws-north'), 0).slice(1, -1);
    expect(pageDays.map((row) => row.at(-1))).toEqual(days.map((row) => row.at(-1)));
    expect(pageDays.at(-1)![0]).toBe(`${days.at(-1)![1]}today, partial`);
  });

  it('refuses an --out in a folder that does not exist, in one line, before reading anything', async () => {
    const result = await cli(['report', '--out', '/nonexistent/dir/r.html'], { DATABASE_URL: UNREACHABLE });
    expect(result.code).toBe(1);
    expect(result.stderr).toBe('error: cannot write the report to /nonexistent/dir/r.html: the folder /nonexistent/dir does not exist\n');
  });

  it('refuses an --out that is a folder, and a --csv-dir whose parent does not exist', async () => {
    const folder = mkdtempSync(path.join(tmpdir(), 'report-out-'));
    const intoFolder = await cli(['report', '--out', folder], { DATABASE_URL: UNREACHABLE });
    expect(intoFolder.code).toBe(1);
    expect(intoFolder.stderr).toBe(`error: cannot write the report to ${folder}: it is a folder\n`);
    const csv = await cli(['report', '--out', path.join(folder, 'r.html'), '--csv-dir', '/nonexistent/dir/csv'], { DATABASE_URL: UNREACHABLE });
    expect(csv.code).toBe(1);
    expect(csv.stderr).toBe('error: cannot write the CSV files to /nonexistent/dir/csv: the folder /nonexistent/dir does not exist\n');
  });

  it('refuses --since 0d and 0h as a usage error', async () => {
    for (const since of ['0d', '0h']) {
      const result = await cli(['report', '--since', since], { DATABASE_URL: UNREACHABLE });
      expect(result.code).toBe(2);
      expect(result.stderr.split('\n')[0]).toBe(`error: option '--since <duration>' argument '${since}' is invalid. must be at least 1h or 1d, like 12h or 30d`);
    }
  });

  it('without DATABASE_URL, says how to set it in one line and starts no Postgres', async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'report-cli-'));
    const result = await cli(['report'], {}, cwd);
    expect(result.code).toBe(2);
    expect(result.stderr).toBe(
      'config: DATABASE_URL is not set: this command reads the tables a sync filled and never starts a Postgres of its own; set DATABASE_URL=postgres://USER:PASSWORD@HOST:5432/DATABASE in the environment or in .env\n',
    );
    // An embedded Postgres would have initialised its data folder here.
    expect(existsSync(path.join(cwd, '.data'))).toBe(false);
    expect(existsSync(path.join(cwd, 'report.html'))).toBe(false);
  });

  it("without DATABASE_URL where the demo left its data, says the demo's Postgres stopped with it", async () => {
    const cwd = mkdtempSync(path.join(tmpdir(), 'report-cli-'));
    mkdirSync(path.join(cwd, '.data', 'postgres'), { recursive: true });
    const result = await cli(['report'], {}, cwd);
    expect(result.code).toBe(2);
    const lines = result.stderr.split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^config: DATABASE_URL is not set: .*; set DATABASE_URL=postgres:\/\/USER:PASSWORD@HOST:5432\/DATABASE in the environment or in \.env\. /);
    expect(lines[0]).toContain(".data/postgres holds the data of an embedded Postgres (as `npm run demo` leaves it), but that Postgres runs only while the command that started it runs, and the demo stops it when it ends");
    expect(readdirSync(path.join(cwd, '.data', 'postgres'))).toEqual([]);
  });
});
