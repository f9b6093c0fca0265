import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { cliEnv } from '../helpers/child.ts';
import { cliChildren } from '../helpers/cli-children.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';

const KEY = 'sk_fatal_0f1e2d3c4b5a6978';
const PRELOAD = fileURLToPath(new URL('../helpers/fault-preload.mjs', import.meta.url));

const children = cliChildren();
afterEach(() => children.stopAll());
const database = useTestDatabase();
const { start: simulator } = useSimulator();

/**
 * The worker's last resort: an error that nothing handled leaves the process in a state nobody reasoned about,
 * so it says so on one line and exits non-zero, for its supervisor to start a fresh one.
 */
describe.each(['exception', 'rejection'])('a worker meeting an unhandled %s', (fault) => {
  it('logs one fatal line, with no stack, and exits 1', { timeout: 60_000 }, async () => {
    const sim = await simulator({ apiKeys: [KEY], items: 10 });
    const worker = children.spawn(
      ['worker'],
      cliEnv(
        { databaseUrl: database.url, baseUrl: sim.url, apiKey: KEY, workspace: 'fatal' },
        { LOG_LEVEL: 'info', HTTP_PORT: '0', SYNC_EVERY: '1h', NODE_OPTIONS: `--import ${PRELOAD}`, FAULT: fault },
      ),
    );
    await expect.poll(() => worker.output(), { timeout: 30_000, interval: 50 }).toMatch(/worker started/);
    const before = worker.output().length;
    worker.process.kill('SIGUSR2');
    expect(await worker.exited).toBe(1);
    const after = worker.output().slice(before);
    // No stack trace, no error object dumped: the one line says it all.
    expect(after).not.toMatch(/^\s+at /m);
    const lines = after.split('\n').filter((l) => l.includes('a fault nobody handled'));
    expect(lines, after).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as { level: number; msg: string; error: string };
    expect(line.level).toBe(60);
    expect(line.error).toBe('a fault nobody handled (its second line)');
    const origin = fault === 'exception' ? 'uncaught exception' : 'unhandled rejection';
    expect(line.msg).toBe(`fatal: a fault nobody handled (its second line) (${origin}); exiting for the supervisor to restart the worker`);
  });
});

describe('a worker meeting a lost Postgres connection that nothing awaited', () => {
  it('logs one warning and goes on (postgres.js fetches types on every reconnect without awaiting it), then stops cleanly', { timeout: 60_000 }, async () => {
    const sim = await simulator({ apiKeys: [KEY], items: 10 });
    const worker = children.spawn(
      ['worker'],
      cliEnv(
        { databaseUrl: database.url, baseUrl: sim.url, apiKey: KEY, workspace: 'fatal' },
        { LOG_LEVEL: 'info', HTTP_PORT: '0', SYNC_EVERY: '1h', NODE_OPTIONS: `--import ${PRELOAD}`, FAULT: 'connection-loss' },
      ),
    );
    await expect.poll(() => worker.output(), { timeout: 30_000, interval: 50 }).toMatch(/worker started/);
    worker.process.kill('SIGUSR2');
    await expect.poll(() => worker.output(), { timeout: 10_000, interval: 50 }).toMatch(/a Postgres connection was lost under a query nothing awaited/);
    expect(worker.output()).not.toMatch(/"level":60/);
    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);
    const shutdown = worker.output().split('\n').find((l) => l.includes('"shutting down"'));
    // The signal's name, not the number Node passes along with it.
    expect(JSON.parse(shutdown!)).toMatchObject({ signal: 'SIGTERM' });
    expect(JSON.parse(shutdown!)).not.toHaveProperty('reason');
  });
});
