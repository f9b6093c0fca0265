import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { expectCopyMatches } from '../helpers/stored.ts';

const KEY = 'sk_shadow_0a1b2c3d4e5f6a7b';

let database: TestDatabase;
let simulator: Simulator;
// One database and simulator for the file: its tests read what one sync stored.
beforeAll(async () => {
  database = await createTestDatabase();
  simulator = await startSimulator({ apiKeys: [KEY], items: 250 });
});
afterAll(async () => {
  await simulator.close();
  await database.drop();
});

describe('catalog functions the worker calls', () => {
  it('cannot be shadowed by better-matching functions someone created in public (CVE-2018-1058)', async () => {
    // Each would win overload resolution over pg_catalog's for an unqualified call with these argument types.
    for (const signature of ['unnest(text[])', 'unnest(bigint[])', 'unnest(jsonb[])', 'hashtextextended(text, integer)', 'now()']) {
      const returns = signature.startsWith('unnest') ? `SETOF ${signature.slice(7, -3)}` : signature.startsWith('now') ? 'timestamptz' : 'bigint';
      await database.sql.unsafe(`CREATE FUNCTION public.${signature} RETURNS ${returns} LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'shadowed %', '${signature}'; END $$`);
    }
    const config = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    await runSync({ config, database, log: silentLogger }, { workspace: 'w', apiKey: KEY, kind: 'full' });
    simulator.mutate({ progress: 10, delete: 3 });
    const summary = await runSync({ config, database, log: silentLogger }, { workspace: 'w', apiKey: KEY, kind: 'reconcile' });
    expect(summary.reconcile).toMatchObject({ deleted: 3 });
    await expectCopyMatches(database, 'w', simulator.truth(), (await database.sql<{ id: string }[]>`select id from batch_calls where deleted_at is not null`).map((r) => r.id));
  });
});
