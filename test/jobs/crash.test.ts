import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/api/simulator/index.ts';
import { spawnCli } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { storedCurrent, storedVersions } from '../helpers/stored.ts';

const KEY = 'sk_crash_1f2e3d4c5b6a7980';
const WS = 'crash';
/** Kill rounds per test run; CRASH_ROUNDS raises it for a longer run. */
const ROUNDS = Number(process.env.CRASH_ROUNDS ?? 6);

let database: TestDatabase;
let simulator: Simulator;

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await simulator?.close();
  await database.drop();
});

/** Deterministic "random" kill points, so a failure can be replayed. */
function killPoints(seed: number, n: number): number[] {
  let x = seed;
  return Array.from({ length: n }, () => {
    x = (x * 1_103_515_245 + 12_345) % 2 ** 31;
    return x % 5;
  });
}

describe('crash safety', () => {
  it(`survives ${ROUNDS} SIGKILLs at random points of a sync against a changing API, ending exact`, async () => {
    simulator = await startSimulator({ apiKeys: [KEY], items: 3_000, latencyMs: 15, drift: { unknownFieldRate: 0.05 } });
    const env = {
      DATABASE_URL: database.url,
      THREETONE_BASE_URL: simulator.url,
      THREETONE_API_KEY: KEY,
      THREETONE_WORKSPACE: WS,
      THREETONE_PAGE_SIZE: '100',
      THREETONE_REQUESTS_PER_MINUTE: '1000000',
      THREETONE_REQUESTS_PER_HOUR: '10000000',
      LOG_LEVEL: 'warn',
    };
    expect((await spawnCli(['migrate'], env).exited)).toBe(0);
    const deleted: string[] = [];
    for (const [round, pagesBeforeKill] of killPoints(7, ROUNDS).entries()) {
      const child = spawnCli(['sync'], env);
      // Kill once the child has committed a few more pages of this run (0: during its first fetch or write).
      const committed = async () => Number((await database.sql`select coalesce(sum(pages), 0)::int as n from sync_runs`)[0]!.n);
      const before = await committed();
      await expect.poll(committed, { timeout: 30_000, interval: 5 }).toBeGreaterThanOrEqual(before + pagesBeforeKill);
      child.process.kill('SIGKILL');
      await child.exited;
      // The API keeps changing between attempts.
      const changes = simulator.mutate({ progress: 10, create: 5, delete: round % 2, amend: 2 });
      deleted.push(...changes.deleted);
    }
    // The next attempt resumes the interrupted run after its last committed page and completes it...
    expect(await spawnCli(['sync'], env).exited).toBe(0);
    const [resumed] = await database.sql`select attempts, status from sync_runs order by id desc limit 1`;
    expect(resumed).toMatchObject({ status: 'succeeded' });
    expect(resumed!.attempts).toBeGreaterThan(1);
    // ...and, like any walk, misses what changed above its cursor meanwhile: the next sync walks from the top.
    expect(await spawnCli(['sync'], env).exited).toBe(0);

    // Every job the API lists is stored exactly as served; anything else stored is a job the API dropped
    // (a full sync, unlike a reconciliation, leaves those unmarked).
    const stored = await storedCurrent(database, WS);
    for (const job of simulator.truth()) expect(stored.get(job.id), job.id).toEqual(job);
    const listed = new Set(simulator.truth().map((t) => t.id));
    for (const id of stored.keys()) if (!listed.has(id)) expect(deleted).toContain(id);
    // History: no duplicate versions (the key forbids them) and none missing or invented.
    const versions = await storedVersions(database, WS);
    expect(new Set(versions).size).toBe(versions.length);
    const served = new Set(simulator.versions().map((v) => `${v.id}@${v.last_updated_at_unix}`));
    for (const version of versions) expect(served.has(version), version).toBe(true);
    const storedVersionSet = new Set(versions);
    for (const job of simulator.truth()) expect(storedVersionSet.has(`${job.id}@${job.last_updated_at_unix}`), job.id).toBe(true);
    // No run left running.
    const running = await database.sql`select id from sync_runs where status = 'running'`;
    expect(running).toEqual([]);
  });
});
