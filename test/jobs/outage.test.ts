import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startSimulator, type Simulator } from '../../src/simulator/index.ts';
import { openDatabase, type Database } from '../../src/db/connection.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import { silentLogger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';
import { expectCopyMatches } from '../helpers/stored.ts';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.ts';
import { afterEachPage } from '../helpers/run-events.ts';

const KEY = 'sk_outage_9a8b7c6d5e4f3a2b';
const WS = 'outage';
let database: TestDatabase;
let simulator: Simulator;
let proxy: TcpProxy;
let viaProxy: Database;

beforeEach(async () => {
  database = await createTestDatabase();
  const target = new URL(database.url);
  proxy = await startTcpProxy(target.hostname, Number(target.port || 5432));
  const proxied = new URL(database.url);
  proxied.hostname = '127.0.0.1';
  proxied.port = String(proxy.port);
  viaProxy = await openDatabase({ databaseUrl: proxied.toString(), embeddedPg: { dir: '', port: 0 } }, silentLogger);
});
afterEach(async () => {
  await simulator?.close();
  await viaProxy.close();
  await proxy.close();
  await database.drop();
});

describe('outages', () => {
  it('Postgres going away mid-run rolls back the page in flight, fails clearly, and a later attempt finishes the job', async () => {
    simulator = await startSimulator({ apiKeys: [KEY], items: 1_000, latencyMs: 60 });
    const config = testConfig({ baseUrl: simulator.url, pageSize: 100 });
    const run = runSync(
      {
        config,
        database: viaProxy,
        log: silentLogger,
        // Cut the database's connections right after page 3 commits: page 4 is then written into a dead connection.
        ...afterEachPage((p) => {
          if (p.pages === 3) proxy.cut();
        }),
      },
      { workspace: WS, apiKey: KEY, kind: 'full' },
    );
    const error = await run.then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(Error);
    expect(error!.message).toMatch(/ECONNRESET|ECONNREFUSED|CONNECTION_CLOSED|CONNECTION_ENDED|Connection terminated|write CONNECTION|connect/i);

    // Exactly the three committed pages are stored: nothing of page 4.
    const [{ n }] = (await database.sql`select count(*)::int as n from batch_calls`) as unknown as [{ n: number }];
    expect(n).toBe(300);
    // The run could not be closed while the database was away: it still says running, with its cursor.
    const [stuck] = await database.sql`select status, pages, next_cursor from sync_runs`;
    expect(stuck).toMatchObject({ status: 'running', pages: 3 });

    await proxy.restore();
    simulator.resetStats();
    const second = await runSync({ config, database: viaProxy, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'full' });
    // The next attempt finds the dead run, resumes it after page 3 and completes it.
    expect(second).toMatchObject({ status: 'succeeded', resumed: true });
    expect(simulator.stats.requests).toBe(7);
    await expectCopyMatches(database, WS, simulator.truth());
    const runs = await database.sql`select status, attempts, pages from sync_runs`;
    expect(runs.map((r) => ({ ...r }))).toEqual([{ status: 'succeeded', attempts: 2, pages: 10 }]);
  });

  it('the API down for good exhausts a bounded retry budget and fails the run with a clear error', async () => {
    simulator = await startSimulator({ apiKeys: [KEY], items: 300, faultRate: 1, faultKinds: ['503'] });
    const config = testConfig({ baseUrl: simulator.url, maxAttempts: 4 });
    await expect(runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'full' })).rejects.toThrow(
      'API server error (503) (gave up after 4 attempts)',
    );
    expect(simulator.stats.requests).toBe(4);
    const [run] = await database.sql`select status, error from sync_runs`;
    expect(run).toMatchObject({ status: 'failed', error: 'API server error (503) (gave up after 4 attempts)' });
  });
});
