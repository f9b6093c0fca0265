import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import type { Simulator } from '../../src/simulator/index.ts';
import { spawnCli, type Child } from '../helpers/child.ts';
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
  return { DATABASE_URL: database.url, THREETONE_BASE_URL: simulator.url, THREETONE_API_KEY: KEY, THREETONE_WORKSPACE: 'ops', THREETONE_PAGE_SIZE: '100', LOG_LEVEL: 'warn', ...extra };
}

const run = async (id?: number) =>
  (await database.sql`select id::int, status, stop_reason, pages, requests, error from sync_runs ${id === undefined ? database.sql`` : database.sql`where id = ${id}`} order by id desc limit 1`)[0];

/** The CLI on a pseudo-terminal (util-linux `script`), as an operator sees it; resolves with everything it drew. */
function onTerminal(args: string[], env: Record<string, string>): Promise<{ code: number | null; screen: string }> {
  const command = [process.execPath, BIN, ...args].map((a) => `'${a}'`).join(' ');
  const child = spawn('script', ['-qefc', command, '/dev/null'], { env: { PATH: process.env.PATH ?? '', TERM: 'xterm', COLUMNS: '200', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let screen = '';
  child.stdout.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (screen += chunk.toString()));
  return new Promise((resolve) => child.on('exit', (code) => resolve({ code, screen })));
}

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
    expect(screen).toMatch(/waiting \d+ s for the request budget \(20\/3s\)/);
    expect(simulator.stats.byStatus['429'] ?? 0).toBe(0);
  });
});
