import { randomBytes } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { runSync } from '../../src/jobs/sync-run.ts';
import type { Simulator } from '../../src/simulator/index.ts';
import { escapeHtml } from '../../src/util/html.ts';
import { spawnCli, type Child } from '../helpers/child.ts';
import { testConfig } from '../helpers/config.ts';
import { freePort } from '../helpers/free-port.ts';
import { captureLogs } from '../helpers/logs.ts';
import { startPageServer } from '../helpers/page-server.ts';
import { BACKENDS, deleteRedisKeys, dumpRedis } from '../helpers/queue.ts';
import { dumpTables } from '../helpers/stored.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';

/**
 * A key the API refuses must send the operator to the setting it came from: with THREETONE_WORKSPACES, the entry of
 * that workspace, not THREETONE_API_KEY (which is then ignored). The single-key path keeps naming THREETONE_API_KEY
 * (test/cli.test.ts, "exits 1 with a one-line cause on a rejected key"). No key may be written anywhere on the way.
 */

const KEY = 'sk_good_4e1d9c2b7a6f5e3d2c1b';
const REVOKED_KEY = 'sk_revoked_9a8b7c6d5e4f3a2b1c';
const NO_ACCESS_KEY = 'sk_no_access_1f2e3d4c5b6a79';
const KEYS = [KEY, REVOKED_KEY, NO_ACCESS_KEY];

const REJECTED = 'API key rejected (401): Invalid API key; check THREETONE_WORKSPACES["cust-007"]';

const database = useTestDatabase();
const simulators = useSimulator({ apiKeys: [KEY], forbiddenKeys: [NO_ACCESS_KEY], items: 250 });
const children: Child[] = [];
afterEach(async () => {
  for (const child of children.splice(0)) {
    if (child.process.exitCode === null && child.process.signalCode === null) child.process.kill('SIGKILL');
    await child.exited;
  }
});

/** Every level of log line, so a key logged anywhere shows up. */
function envFor(simulator: Simulator, extra: Record<string, string | undefined>): Record<string, string | undefined> {
  return {
    DATABASE_URL: database.url,
    THREETONE_BASE_URL: simulator.url,
    THREETONE_PAGE_SIZE: '100',
    THREETONE_RETRY_BASE_MS: '10',
    THREETONE_REQUESTS_PER_MINUTE: '100000',
    THREETONE_REQUESTS_PER_HOUR: '1000000',
    LOG_LEVEL: 'trace',
    ...extra,
  };
}

const runsByWorkspace = async () =>
  Object.fromEntries((await database.sql<{ workspace: string; status: string; error: string | null }[]>`select workspace, status, error from sync_runs order by id`).map((r) => [r.workspace, { status: r.status, error: r.error }]));

function expectNoKeyIn(text: string, where: string): void {
  for (const key of KEYS) expect(text, where).not.toContain(key);
}

describe.each(BACKENDS)('a worker with THREETONE_WORKSPACES, queue on %s', (backend) => {
  const prefix = `tkey${randomBytes(4).toString('hex')}`;
  afterEach(() => deleteRedisKeys(prefix));

  /** What the queue store holds: Redis under the test's prefix, or the Postgres backend's tables. */
  async function queueText(): Promise<string> {
    if (backend === 'redis') return dumpRedis(prefix);
    const tables = await database.sql<{ name: string }[]>`select table_name as name from information_schema.tables where table_schema = 'threetone_queue'`;
    const parts: string[] = [];
    for (const { name } of tables) {
      const [row] = await database.sql.unsafe<{ t: string | null }[]>(`select string_agg(r::text, E'\\n') as t from threetone_queue."${name}" r`);
      parts.push(row!.t ?? '');
    }
    return parts.join('\n');
  }

  it('fails the run of a refused key naming THREETONE_WORKSPACES["cust-007"], and writes the key to no log line, table or queue entry', async () => {
    const simulator = await simulators.start();
    // Rejected items, so rejected_records has rows whose columns could hold a key.
    simulator.injectInvalid(3);
    const port = await freePort();
    const worker = spawnCli(['worker'], envFor(simulator, {
      THREETONE_WORKSPACES: JSON.stringify({ 'cust-007': REVOKED_KEY, good: KEY }),
      REDIS_URL: backend === 'redis' ? process.env.REDIS_URL : undefined,
      QUEUE_PREFIX: prefix,
      SYNC_EVERY: '1h',
      HTTP_PORT: String(port),
    }));
    children.push(worker);
    await expect.poll(runsByWorkspace, { timeout: 30_000, interval: 100 }).toEqual({
      'cust-007': { status: 'failed', error: REJECTED },
      good: { status: 'succeeded', error: null },
    });
    await expect.poll(() => worker.output(), { timeout: 10_000, interval: 100 }).toMatch(/"workspace":"cust-007"[^\n]*"msg":"job failed"/);
    // The status page shows the run's error as stored.
    const page = await (await fetch(`http://127.0.0.1:${port}/`)).text();
    expect(page).toContain(escapeHtml(REJECTED));
    worker.process.kill('SIGTERM');
    expect(await worker.exited).toBe(0);

    const lines = worker.output().split('\n');
    expect(lines.filter((line) => line.includes('"msg":"sync failed"'))).toEqual([expect.stringContaining(`"error":${JSON.stringify(REJECTED)}`)]);
    expect(lines.filter((line) => line.includes('"msg":"job failed"'))).toEqual([expect.stringContaining(`"error":${JSON.stringify(REJECTED)}`)]);
    expect(worker.output()).not.toContain('THREETONE_API_KEY');
    expectNoKeyIn(worker.output(), 'log lines');

    const tables = await dumpTables(database);
    expect((await database.sql`select count(*)::int as n from rejected_records`)[0]!.n).toBe(3);
    expectNoKeyIn(tables, 'batch_calls, batch_call_history, sync_runs, rejected_records');
    expectNoKeyIn(page, 'status page');

    const queue = await queueText();
    // The failed job's reason is the run's error.
    expect(queue).toContain('check THREETONE_WORKSPACES');
    expectNoKeyIn(queue, `queue store (${backend})`);
  });
});

describe('sync with THREETONE_WORKSPACES', () => {
  it('names the entry whose key the API refused (401) or denied access (403), though THREETONE_API_KEY holds a good key', async () => {
    const simulator = await simulators.start();
    const sync = spawnCli(['sync'], envFor(simulator, {
      THREETONE_WORKSPACES: JSON.stringify({ 'cust-007': REVOKED_KEY, 'no-access': NO_ACCESS_KEY }),
      THREETONE_API_KEY: KEY,
    }));
    children.push(sync);
    expect(await sync.exited).toBe(1);
    expect(sync.output().split('\n').filter((line) => line.startsWith('error: '))).toEqual([
      `error: cust-007: ${REJECTED}`,
      'error: no-access: API key lacks access to this workspace (403): API key does not have access to this workspace; check THREETONE_WORKSPACES["no-access"]',
    ]);
    expectNoKeyIn(sync.output(), 'log lines and output');
    expectNoKeyIn(await dumpTables(database), 'tables');
  });
});

describe('an API that echoes the key in its error body', () => {
  it('has it replaced by <key> in the run error, even where the detail is cut short', async () => {
    const echoed = 'x'.repeat(280);
    let body = '';
    const api = await startPageServer(() => ({ status: 401, body }));
    try {
      const [workspace] = loadConfig({ THREETONE_WORKSPACES: JSON.stringify({ 'cust-007': REVOKED_KEY }) }).workspaces;
      const config = testConfig({ baseUrl: api.url });
      const logs = captureLogs('trace');
      const sync = () => runSync({ config, database, log: logs.log }, { workspace: workspace!.name, apiKey: workspace!.apiKey, keySource: workspace!.keySource, kind: 'full' });

      body = JSON.stringify({ detail: `Invalid API key ${REVOKED_KEY}` });
      await expect(sync()).rejects.toThrow('API key rejected (401): Invalid API key <key>; check THREETONE_WORKSPACES["cust-007"]');
      // The key straddles the 300-character cut: no head of it may be left behind.
      body = JSON.stringify({ detail: `${echoed}${REVOKED_KEY}` });
      await expect(sync()).rejects.toThrow(`API key rejected (401): ${echoed}<key>; check THREETONE_WORKSPACES["cust-007"]`);

      expect((await database.sql`select error from sync_runs order by id`).map((r) => r.error)).toEqual([
        'API key rejected (401): Invalid API key <key>; check THREETONE_WORKSPACES["cust-007"]',
        `API key rejected (401): ${echoed}<key>; check THREETONE_WORKSPACES["cust-007"]`,
      ]);
      expect(logs.lines.length).toBeGreaterThan(0);
      expectNoKeyIn(logs.text(), 'log lines');
      expect(logs.text()).not.toContain(REVOKED_KEY.slice(0, 12));
    } finally {
      await api.close();
    }
  });
});
