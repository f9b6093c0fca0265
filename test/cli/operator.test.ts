import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import postgres from 'postgres';
import { afterEach, describe, expect, inject, it } from 'vitest';
import { deleteRedisKeys } from '../helpers/queue.ts';
import { databaseUrl, testRedisUrl } from '../helpers/urls.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { cliEnv, spawnCli, type Child } from '../helpers/child.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';

const BIN = fileURLToPath(new URL('../../bin/threetone-sync.js', import.meta.url));
const KEY = 'sk_operator_0123456789abcdef';
const OTHER_KEY = 'sk_operator_other_456789abcdef';

const database = useTestDatabase();
const simulators = useSimulator({ apiKeys: [KEY] });
const children: Child[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.process.kill('SIGKILL');
});

function envFor(simulator: Simulator, extra: Record<string, string> = {}): Record<string, string> {
  return cliEnv({ databaseUrl: database.url, baseUrl: simulator.url, apiKey: KEY, workspace: 'ops' }, extra);
}

const run = async (id?: number) =>
  (await database.sql`select id::int, status, stop_reason, pages, requests, error from sync_runs ${id === undefined ? database.sql`` : database.sql`where id = ${id}`} order by id desc limit 1`)[0];

/** The CLI on a pseudo-terminal (util-linux `script`), as an operator sees it. */
function terminal(args: string[], env: Record<string, string>, cwd?: string): { screen(): string; exited: Promise<number | null>; interrupt(): void } {
  // exec: the CLI replaces script's shell, so Ctrl-C reaches it alone, as in an interactive terminal.
  const command = `exec ${[process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ')}`;
  const child = spawn('script', ['-qefc', command, '/dev/null'], {
    env: { PATH: process.env.PATH ?? '', TERM: 'xterm', COLUMNS: '200', ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
    cwd: cwd ?? tmpdir(),
  });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  // 'close', not 'exit': the last lines may still be in the pipe when the process exits.
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  stopTerminals.push(() => child.pid !== undefined && process.kill(-child.pid, 'SIGKILL'));
  // Ctrl-C typed on the terminal: the pty turns it into SIGINT for the program in the foreground.
  return { screen: () => screen, exited, interrupt: () => child.stdin.end('\u0003') };
}

async function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  const session = terminal(args, env);
  const code = await session.exited;
  return { code, screen: session.screen() };
}

const stopTerminals: (() => void)[] = [];
afterEach(() => {
  for (const stop of stopTerminals.splice(0)) {
    try {
      stop();
    } catch {
      // Already gone.
    }
  }
});

describe('the operator at a terminal', () => {
  it('Ctrl-C on sync: the page in flight commits, the run is interrupted (not failed), the CLI says where it stopped, exits 130, and the next sync resumes', async () => {
    const simulator = await simulators.start({ items: 2_000, latencyMs: 200 });
    const child = spawnCli(['sync'], envFor(simulator));
    children.push(child);
    await expect.poll(async () => (await run())?.pages ?? 0, { timeout: 20_000, interval: 50 }).toBeGreaterThanOrEqual(2);
    child.process.kill('SIGINT');
    expect(await child.exited).toBe(130);
    const stopped = await run();
    expect(stopped).toMatchObject({ status: 'interrupted', stop_reason: 'interrupted' });
    expect(stopped!.requests).toBeGreaterThanOrEqual(stopped!.pages);
    expect(child.output()).toContain(`interrupted: "ops" stopped after page ${stopped!.pages} (run ${stopped!.id}); the next \`sync\` resumes from page ${stopped!.pages + 1}\n`);
    expect(child.output()).not.toMatch(/^error:/m);

    const again = spawnCli(['sync'], envFor(simulator));
    children.push(again);
    expect(await again.exited).toBe(0);
    expect(await run()).toMatchObject({ id: stopped!.id, status: 'succeeded', pages: 20 });
  });

  it('runs every workspace even when one fails, then exits 1 naming the one that failed', async () => {
    const simulator = await simulators.start({ items: 150 });
    const workspaces = JSON.stringify({ broken: OTHER_KEY, fine: KEY });
    const result = spawnCli(['sync'], { ...envFor(simulator), THREETONE_API_KEY: '', THREETONE_WORKSPACES: workspaces });
    children.push(result);
    expect(await result.exited).toBe(1);
    expect(result.output()).toMatch(/^error: broken: API key rejected \(401\)/m);
    const rows = await database.sql`select workspace, status from sync_runs order by workspace`;
    expect(rows.map((r) => ({ ...r }))).toEqual([
      { workspace: 'broken', status: 'failed' },
      { workspace: 'fine', status: 'succeeded' },
    ]);
  });

  it('shows reconcile its progress line, and a countdown while the request budget makes it wait', async () => {
    // 20 requests per 3 s at most: a 30-page walk must wait for the budget at least once.
    const simulator = await simulators.start({ items: 3_000, rateLimit: { perMinute: 20, perHour: 10_000, minuteMs: 3_000 } });
    const { code, screen } = await onTerminal(['reconcile'], envFor(simulator, { THREETONE_REQUESTS_PER_MINUTE: '20', THREETONE_MINUTE_WINDOW_MS: '3000' }));
    expect(code, screen).toBe(0);
    expect(screen).toMatch(/\rops: page \d+ · \d+ items/);
    // A reconciliation leaves THREETONE_BUDGET_FRESH_RESERVE (20%) of each window to incremental syncs: it waits at 16.
    expect(screen).toMatch(/waiting \d+ s for the request budget \(16\/3s\)/);
    expect(simulator.stats.byStatus['429'] ?? 0).toBe(0);
  });

  it('the worker prints a start line (queue, HTTP, schedules) and a line per run on a terminal, and stops on Ctrl-C', async () => {
    const simulator = await simulators.start({ items: 300 });
    const session = terminal(['worker'], { ...envFor(simulator), LOG_LEVEL: 'info', HTTP_PORT: '0', SYNC_EVERY: '1h' });
    await expect.poll(() => session.screen(), { timeout: 30_000, interval: 100 }).toMatch(/sync finished/);
    expect(session.screen()).toMatch(/worker started: queue on postgres, HTTP off, 1 workspace\(s\), incremental sync every 1h, reconcile at "[^"]+" \([^)]+\)/);
    session.interrupt();
    expect(await session.exited, session.screen()).toBe(0);
    expect(session.screen()).toMatch(/shut down cleanly/);
  });

  it('migrate says what it applied, or that the schema is up to date', async () => {
    const admin = postgres(inject('pgAdminUrl'), { max: 1, onnotice: () => undefined });
    const name = `threetone_t_${inject('testRunPid')}_migrate_${Date.now()}`;
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    try {
      const env = { DATABASE_URL: databaseUrl(inject('pgAdminUrl'), name), LOG_LEVEL: 'warn' };
      const first = spawnCli(['migrate'], env);
      expect(await first.exited).toBe(0);
      expect(first.output()).toMatch(/^applied (\d+) of \1 migrations: 0000_init, 0001_reconciliation, .*\n$/);
      const again = spawnCli(['migrate'], env);
      expect(await again.exited).toBe(0);
      expect(again.output()).toMatch(/^database schema up to date \(\d+ migrations\)\n$/);
    } finally {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });

  it('a second worker on a busy HTTP port fails with one line naming HTTP_PORT and the fix', async () => {
    const simulator = await simulators.start({ items: 10 });
    const busy = createServer();
    await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
    const port = (busy.address() as { port: number }).port;
    try {
      const child = spawnCli(['worker'], { ...envFor(simulator), HTTP_PORT: String(port), SYNC_EVERY: '1h' });
      children.push(child);
      expect(await child.exited).toBe(2);
      expect(child.output()).toMatch(new RegExp(`^config: HTTP_PORT ${port} on 127\\.0\\.0\\.1 is already in use \\(another worker on this machine\\?\\): give each worker its own HTTP_PORT, or HTTP_PORT=0 to serve no HTTP$`, 'm'));
    } finally {
      busy.close();
    }
  });

  it('reads a .env in the working folder, the environment winning; --version and report --help tell the truth', async () => {
    const simulator = await simulators.start({ items: 120 });
    const folder = await mkdtemp(path.join(tmpdir(), 'threetone-dotenv-'));
    try {
      const settings = envFor(simulator);
      await writeFile(path.join(folder, '.env'), `THREETONE_BASE_URL=${settings.THREETONE_BASE_URL}\nTHREETONE_API_KEY=${KEY}\nTHREETONE_WORKSPACE=from-dotenv\nTHREETONE_PAGE_SIZE=7\n`);
      const child = spawn(process.execPath, [BIN, 'sync'], { cwd: folder, env: { PATH: process.env.PATH ?? '', DATABASE_URL: database.url, THREETONE_PAGE_SIZE: '100', LOG_LEVEL: 'warn' } });
      const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
      expect(code).toBe(0);
      // The workspace came from .env; the page size from the environment, which wins.
      expect(await run()).toMatchObject({ status: 'succeeded', pages: 2 });
      expect((await database.sql`select workspace from sync_runs`)[0]!.workspace).toBe('from-dotenv');
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
    const version = spawnCli(['--version'], {});
    expect(await version.exited).toBe(0);
    expect(version.output()).toMatch(/^\d+\.\d+\.\d+\n$/);
    const help = spawnCli(['report', '--help'], {});
    expect(await help.exited).toBe(0);
    expect(help.output()).toMatch(/\(default: 30d\)/);
  });

  it('SIGTERM to a shell wrapper (as npx and npm start use) stops the worker under it too, cleanly', async () => {
    const simulator = await simulators.start({ items: 100 });
    const env = { ...envFor(simulator), HTTP_PORT: '0', SYNC_EVERY: '1h', LOG_LEVEL: 'info', PATH: process.env.PATH ?? '' };
    // Not `exec`: the shell stays the worker's parent and, like dash under npx, does not pass SIGTERM on.
    const shell = spawn('sh', ['-c', `'${process.execPath}' '${BIN}' worker; true`], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    shell.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    shell.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    await expect.poll(() => output, { timeout: 30_000, interval: 100 }).toMatch(/"msg":"worker started/);
    const pid = Number(/"pid":(\d+)/.exec(output)![1]);
    stopTerminals.push(() => process.kill(pid, 'SIGKILL'));
    shell.kill('SIGTERM');
    const alive = () => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    await expect.poll(alive, { timeout: 15_000, interval: 100 }).toBe(false);
    await expect.poll(() => output, { timeout: 5_000, interval: 50 }).toMatch(/"reason":"the parent process exited"[^\n]*"msg":"shutting down"[\s\S]*"msg":"shut down cleanly"/);
  });

  it('a worker and a CLI sync on one key share its budget through Redis: no 429 from an API enforcing the limits', async () => {
    // 10 requests per 2 s at most; two 10-page walks at once need 20 requests, so the budget must make them take turns.
    const simulator = await simulators.start({ items: 1_000, rateLimit: { perMinute: 10, minuteMs: 2_000, perHour: 1_000 } });
    const prefix = `tmix${Date.now().toString(36)}`;
    const shared = {
      ...envFor(simulator),
      THREETONE_API_KEY: '',
      REDIS_URL: testRedisUrl(),
      QUEUE_PREFIX: prefix,
      THREETONE_REQUESTS_PER_MINUTE: '10',
      THREETONE_MINUTE_WINDOW_MS: '2000',
      THREETONE_REQUESTS_PER_HOUR: '1000',
      HTTP_PORT: '0',
      SYNC_EVERY: '1h',
    };
    const worker = spawnCli(['worker'], { ...shared, THREETONE_WORKSPACES: JSON.stringify({ 'by-worker': KEY }), LOG_LEVEL: 'info' });
    children.push(worker);
    await expect.poll(() => worker.output(), { timeout: 30_000, interval: 100 }).toMatch(/"msg":"sync started"/);
    const cli = spawnCli(['sync'], { ...shared, THREETONE_WORKSPACES: JSON.stringify({ 'by-cli': KEY }) });
    children.push(cli);
    expect(await cli.exited, cli.output()).toBe(0);
    await expect.poll(async () => (await database.sql`select status from sync_runs where workspace = 'by-worker'`)[0]?.status, { timeout: 30_000, interval: 100 }).toBe('succeeded');
    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    await deleteRedisKeys(prefix);
    expect(simulator.stats.byStatus['429'] ?? 0).toBe(0);
    expect(simulator.stats.byStatus['200']).toBe(20);
  });
});
