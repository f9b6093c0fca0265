import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { Redis } from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import type { WalkResult } from './budget-walk.ts';

const CHILD = fileURLToPath(new URL('./budget-walker-child.ts', import.meta.url));
const API_KEY = 'sk_budget_processes_9a8b7c6d';

const cleanups: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

interface Walker {
  ready: Promise<void>;
  go(): void;
  result: Promise<WalkResult>;
}

/** A walker process; killed by pid at the end of the test if still alive (the test failed). */
function walker(mode: 'cli' | 'worker', env: Record<string, string>): Walker {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD], {
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env, WALK_MODE: mode },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
  });
  let out = '';
  let err = '';
  let signalReady!: () => void;
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('ready\n')) signalReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const result = exited.then((code) => {
    const line = out.split('\n').find((l) => l.startsWith('{'));
    if (code !== 0 || !line) throw new Error(`walker (${mode}) exited ${code}: ${err || out}`);
    return JSON.parse(line) as WalkResult;
  });
  result.catch(() => undefined);
  return { ready: Promise.race([ready, result.then(() => undefined)]), go: () => child.stdin.end('go\n'), result };
}

describe('budget shared by processes through Redis', () => {
  it('a CLI and two workers on one key walk 45 pages under the enforcing simulator with no 429', async () => {
    const sim: Simulator = await startSimulator({ items: 15, apiKeys: [API_KEY], rateLimit: { perMinute: 20, minuteMs: 2000, perHour: 50, hourMs: 10_000 } });
    cleanups.push(() => sim.close());
    const prefix = `tb${randomBytes(5).toString('hex')}`;
    cleanups.push(async () => {
      const redis = new Redis(process.env.REDIS_URL!);
      const keys = await redis.keys(`${prefix}*`);
      const stored = keys.length > 0 ? await Promise.all(keys.map((k) => redis.zrange(k, 0, -1).catch(() => redis.hgetall(k).then(JSON.stringify)))) : [];
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      // The key itself never reaches Redis: only its fingerprint names the entries.
      expect(JSON.stringify([keys, stored])).not.toContain(API_KEY);
    });
    const env = {
      REDIS_URL: process.env.REDIS_URL!,
      QUEUE_PREFIX: prefix,
      THREETONE_REQUESTS_PER_MINUTE: '20',
      THREETONE_MINUTE_WINDOW_MS: '2000',
      THREETONE_REQUESTS_PER_HOUR: '50',
      THREETONE_HOUR_WINDOW_MS: '10000',
      THREETONE_BUDGET_MARGIN_MS: '100',
      WALK_BASE_URL: sim.url,
      WALK_API_KEY: API_KEY,
      WALK_PAGE_SIZE: '1',
    };
    const walkers = [walker('cli', env), walker('worker', env), walker('worker', env)];
    await Promise.all(walkers.map((w) => w.ready));
    sim.resetStats();
    for (const w of walkers) w.go();
    const results = await Promise.all(walkers.map((w) => w.result));
    expect(results.map((r) => r.pages)).toEqual([15, 15, 15]);
    expect(sim.stats.byStatus).toEqual({ '200': 45 });
    const times = sim.stats.requestTimes;
    // 20 at once, 20 after 2.1 s, 5 after 4.2 s: no window ever held more than the simulator allows.
    expect(Math.max(...times) - Math.min(...times)).toBeGreaterThanOrEqual(4100);
    expect(Math.max(...times) - Math.min(...times)).toBeLessThan(4200 * 1.3);
  });
});
