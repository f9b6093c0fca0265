import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/api/simulator/index.ts';
import type { RunKind } from '../../src/db/runs/start-run.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { expectCopyMatches } from '../helpers/stored.ts';

const KEY = 'sk_soak_5a6b7c8d9e0f1a2b';
const WS = 'soak';
/** Wall-clock budget; `npm run soak` raises it. */
const SECONDS = Number(process.env.SOAK_SECONDS ?? 20);

let database: TestDatabase;
let simulator: Simulator;

beforeEach(async () => {
  database = await createTestDatabase();
});
afterEach(async () => {
  await simulator?.close();
  await database.drop();
});

describe('fault soak', () => {
  it(`stays exact through ${SECONDS}s of syncs under a 30% fault rate with the API changing between runs`, { timeout: (SECONDS + 60) * 1000 }, async () => {
    simulator = await startSimulator({
      apiKeys: [KEY],
      items: 2_000,
      faultRate: 0.3,
      hangMs: 5_000,
      retryAfterSeconds: 1,
      drift: { unknownFieldRate: 0.03, unknownEnumRate: 0.01 },
    });
    const config = testConfig({ baseUrl: simulator.url, pageSize: 200, timeoutMs: 250, maxAttempts: 15 });
    const deadline = Date.now() + SECONDS * 1000;
    const deleted: string[] = [];
    let rounds = 0;
    let retries = 0;
    while (rounds < 3 || Date.now() < deadline) {
      const kind: RunKind = rounds % 3 === 2 ? 'reconcile' : 'sync';
      const summary = await runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind });
      expect(summary.status).toBe('succeeded');
      retries += summary.retries;
      await expectCopyMatches(database, WS, simulator.truth(), deleted);
      if (kind === 'reconcile') {
        const marked = await database.sql<{ id: string }[]>`select id from batch_calls where deleted_at is not null`;
        expect(marked.map((m) => m.id).sort()).toEqual([...deleted].sort());
      }
      deleted.push(...simulator.mutate({ progress: 20, create: 8, delete: 2, amend: 3 }).deleted);
      rounds++;
    }
    // The faults really happened: this was not a quiet run.
    expect(retries).toBeGreaterThan(rounds);
    const running = await database.sql`select id from sync_runs where status = 'running'`;
    expect(running).toEqual([]);
  });
});
