import { describe, expect, it } from 'vitest';
import type { Simulator, SimulatorOptions } from '../../src/simulator/index.ts';
import type { Config } from '../../src/config.ts';
import { openDatabase } from '../../src/db/connection.ts';
import { runSync, type SyncSummary } from '../../src/jobs/sync-run.ts';
import { silentLogger, type Logger } from '../../src/log.ts';
import { testConfig } from '../helpers/config.ts';
import { captureLogs } from '../helpers/logs.ts';
import { dumpTables, expectCopyMatches, storedVersions } from '../helpers/stored.ts';
import { useSimulator, useTestDatabase } from '../helpers/use.ts';
import { afterEachPage } from '../helpers/run-events.ts';

const KEY = 'sk_live_test_5f2b8c9d0e1a4b7c';
const WS = 'test';

const database = useTestDatabase();
const simulators = useSimulator({ apiKeys: [KEY], forbiddenKeys: ['sk_forbidden'], items: 1234 });
let simulator: Simulator;
let config: Config;

async function start(options: SimulatorOptions = {}, overrides: Partial<Config> = {}): Promise<void> {
  simulator = await simulators.start(options);
  config = testConfig({ baseUrl: simulator.url, pageSize: 100, ...overrides });
}

function sync(log: Logger = silentLogger, apiKey = KEY): Promise<SyncSummary> {
  return runSync({ config, database, log }, { workspace: WS, apiKey, kind: 'full' });
}

async function runRow(runId?: number) {
  const rows = runId === undefined
    ? await database.sql`select * from sync_runs order by id desc limit 1`
    : await database.sql`select * from sync_runs where id = ${runId}`;
  return rows[0]!;
}

describe('runSync', () => {
  it('walks to the last page and stores every job with exact field mapping', async () => {
    await start();
    const summary = await sync();
    expect(summary).toMatchObject({ status: 'succeeded', pages: 13, itemsSeen: 1234, versionsAdded: 1234, rowsInserted: 1234, rowsUpdated: 0, rejected: 0, requests: 13 });
    await expectCopyMatches(database, WS, simulator.truth());

    const columns = await database.sql`select * from batch_calls where workspace = ${WS}`;
    const byId = new Map(simulator.truth().map((t) => [t.id, t]));
    for (const row of columns) {
      const item = byId.get(row.id as string)!;
      expect({
        phone_number_id: row.phone_number_id,
        phone_provider: row.phone_provider,
        whatsapp_params: row.whatsapp_params,
        name: row.name,
        agent_id: row.agent_id,
        agent_name: row.agent_name,
        status: row.status,
        created_at_unix: Number(row.created_at_unix),
        scheduled_time_unix: Number(row.scheduled_time_unix),
        last_updated_at_unix: Number(row.last_updated_at_unix),
        total_calls_dispatched: Number(row.total_calls_dispatched),
        total_calls_scheduled: Number(row.total_calls_scheduled),
        total_calls_finished: Number(row.total_calls_finished),
        retry_count: Number(row.retry_count),
      }).toEqual({
        phone_number_id: item.phone_number_id ?? null,
        phone_provider: item.phone_provider ?? null,
        whatsapp_params: item.whatsapp_params ?? null,
        name: item.name,
        agent_id: item.agent_id,
        agent_name: item.agent_name,
        status: item.status,
        created_at_unix: item.created_at_unix,
        scheduled_time_unix: item.scheduled_time_unix,
        last_updated_at_unix: item.last_updated_at_unix,
        total_calls_dispatched: item.total_calls_dispatched ?? 0,
        total_calls_scheduled: item.total_calls_scheduled ?? 0,
        total_calls_finished: item.total_calls_finished ?? 0,
        retry_count: item.retry_count ?? 0,
      });
    }
    expect(await runRow(summary.runId)).toMatchObject({ status: 'succeeded', pages: 13, items_seen: 1234, versions_added: 1234, requests: 13, next_cursor: null, error: null });
  });

  it('asks for 500 items a page by default', async () => {
    await start({}, { pageSize: 500 });
    expect((await sync()).pages).toBe(3);
  });

  it('writes nothing on a second run over unchanged data', async () => {
    await start();
    await sync();
    const tuples = async () => [
      ...(await database.sql`select id, xmin::text, xmax::text from batch_calls order by id`),
      ...(await database.sql`select id, xmin::text, xmax::text from batch_call_history order by id`),
    ];
    const before = await tuples();
    const second = await sync();
    expect(second).toMatchObject({ status: 'succeeded', versionsAdded: 0, versionsAmended: 0, rowsInserted: 0, rowsUpdated: 0 });
    // Same xmin: not one row was rewritten. Same xmax: not one was even locked (a lock is WAL too).
    expect(await tuples()).toEqual(before);
    expect((await storedVersions(database, WS)).length).toBe(1234);
  });

  it('leaves the data tables untouched on an unchanged resync (pg_stat_user_tables)', async () => {
    await start();
    await sync();
    const writes = async () => {
      // Statistics are flushed when a session ends: sync through a connection of its own, then close it.
      await database.sql`select pg_stat_clear_snapshot()`;
      const rows = await database.sql`
        select relname, n_tup_ins::int as ins, n_tup_upd::int as upd, n_tup_del::int as del
        from pg_stat_user_tables where relname in ('batch_calls', 'batch_call_history') order by relname`;
      return rows.map((r) => ({ ...r }));
    };
    const own = await openDatabase({ databaseUrl: database.url, embeddedPg: { dir: '', port: 0 } }, silentLogger);
    await runSync({ config, database: own, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'full' });
    await own.close();
    await expect.poll(writes, { timeout: 10_000 }).toEqual([
      { relname: 'batch_call_history', ins: 1234, upd: 0, del: 0 },
      { relname: 'batch_calls', ins: 1234, upd: 0, del: 0 },
    ]);
    const before = await writes();
    const again = await openDatabase({ databaseUrl: database.url, embeddedPg: { dir: '', port: 0 } }, silentLogger);
    await runSync({ config, database: again, log: silentLogger }, { workspace: WS, apiKey: KEY, kind: 'full' });
    await again.close();
    expect(await writes()).toEqual(before);
  });

  it('adds a version per change and moves batch_calls forward', async () => {
    await start();
    await sync();
    const changes = simulator.mutate({ progress: 20, create: 7, delete: 3, amend: 4, revive: 2 });
    const second = await sync();
    expect(second.versionsAdded).toBe(changes.progressed.length + changes.created.length + changes.revived.length);
    expect(second.versionsAmended).toBe(changes.amended.length);
    expect(second.rowsInserted).toBe(changes.created.length);
    await expectCopyMatches(database, WS, simulator.truth(), changes.deleted);
    const versions = new Set(simulator.versions().map((v) => `${v.id}@${v.last_updated_at_unix}`));
    for (const stored of await storedVersions(database, WS)) expect(versions.has(stored), stored).toBe(true);
  });

  it('never lets a version served by a lagging replica overwrite a newer one', async () => {
    await start();
    await sync();
    simulator.mutate({ progress: 30 });
    await sync();
    const { lagging } = simulator.mutate({ lagging: 10 });
    expect(lagging.length).toBeGreaterThan(0);
    const third = await sync();
    expect(third.rowsUpdated).toBe(0);
    await expectCopyMatches(database, WS, simulator.truth());
  });

  it('retries every fault kind and still ends with an exact copy', async () => {
    // One page may meet all nine faults in a row.
    await start({ hangMs: 5_000 }, { timeoutMs: 300, maxAttempts: 10 });
    simulator.injectFaults('429', '500', '502', '503', 'reset', 'hang', 'truncate', 'html', 'garbage');
    const summary = await sync();
    expect(summary.retries).toBe(9);
    expect(summary.requests).toBe(13 + 9);
    await expectCopyMatches(database, WS, simulator.truth());
    expect(await storedVersions(database, WS)).toHaveLength(1234);
  });

  it('stays exact under random faults, drift and mutations across runs', async () => {
    await start({ faultRate: 0.25, hangMs: 5_000, drift: { unknownFieldRate: 0.05, unknownEnumRate: 0.02 } }, { timeoutMs: 300, maxAttempts: 12 });
    const deletedSoFar: string[] = [];
    for (let round = 0; round < 3; round++) {
      const summary = await sync();
      expect(summary.status).toBe('succeeded');
      await expectCopyMatches(database, WS, simulator.truth(), deletedSoFar);
      deletedSoFar.push(...simulator.mutate({ progress: 15, create: 5, delete: 2, amend: 2 }).deleted);
    }
  });

  it('fails fast on a rejected key (401) with a message naming the key\'s setting, and a failed run', async () => {
    await start();
    const rejected = runSync({ config, database, log: silentLogger }, { workspace: WS, apiKey: 'sk_wrong', keySource: 'THREETONE_API_KEY', kind: 'full' });
    await expect(rejected).rejects.toThrow('API key rejected (401): Invalid API key; check THREETONE_API_KEY');
    expect(simulator.stats.requests).toBe(1);
    expect(await runRow()).toMatchObject({ status: 'failed', error: 'API key rejected (401): Invalid API key; check THREETONE_API_KEY', pages: 0 });
    // A target built without its key's setting names none rather than a wrong one.
    await expect(sync(silentLogger, 'sk_wrong')).rejects.toThrow(/^API key rejected \(401\): Invalid API key; check the API key$/);
  });

  it('fails fast on a key without access (403)', async () => {
    await start();
    await expect(sync(silentLogger, 'sk_forbidden')).rejects.toThrow(/^API key lacks access to this workspace \(403\)/);
    expect(simulator.stats.requests).toBe(1);
  });

  it('fails fast on a request the API rejects (422)', async () => {
    await start({}, { pageSize: 501 });
    await expect(sync()).rejects.toThrow('API rejected the request (422): limit: Input should be less than or equal to 500');
    expect(simulator.stats.requests).toBe(1);
  });

  it('puts invalid items in rejected_records and lands the rest of their page', async () => {
    await start({ items: 300 });
    simulator.injectInvalid(5);
    const summary = await sync();
    expect(summary).toMatchObject({ status: 'succeeded', rejected: 5, itemsSeen: 305 });
    await expectCopyMatches(database, WS, simulator.truth());
    const rejected = await database.sql`select run_id::int, reason, raw from rejected_records`;
    expect(rejected).toHaveLength(5);
    expect(rejected.every((r) => r.run_id === summary.runId && r.reason.length > 0)).toBe(true);
    expect(rejected.map((r) => JSON.parse(r.raw as string))).toEqual(expect.arrayContaining(simulator.invalidItems() as object[]));
  });

  for (const kind of ['repeat-previous', 'cycle-to-first', 'empty-string', 'missing-with-has-more'] as const) {
    it(`stops with a clear error when the API sends a bad cursor (${kind}), keeping pages committed before it`, async () => {
      await start();
      simulator.sabotageCursor(kind);
      await expect(sync()).rejects.toThrow(/next_doc/);
      const run = await runRow();
      expect(run.status).toBe('failed');
      expect(run.error).toMatch(/next_doc.*\(after page \d+\)/);
      const [{ n }] = (await database.sql`select count(*)::int as n from batch_calls`) as unknown as [{ n: number }];
      expect(n).toBe(run.pages * 100);
      expect(simulator.stats.requests).toBeLessThan(20);
    });
  }

  it('refuses to run twice at once on one workspace', async () => {
    await start({ latencyMs: 100 });
    const first = sync();
    await expect.poll(async () => (await database.sql`select count(*)::int as n from sync_runs where status = 'running'`)[0]!.n).toBe(1);
    await expect(sync()).rejects.toThrow('another sync of workspace "test" is running; not starting a second one');
    expect((await first).status).toBe('succeeded');
  });

  it('records a run asked to stop as interrupted, with the requests it spent, and resumes it next time', async () => {
    await start({ items: 1_000 });
    const stop = new AbortController();
    const logs = captureLogs();
    const stopAfterThird = (p: { pages: number }) => {
      if (p.pages === 3) stop.abort(new Error('Ctrl-C'));
    };
    await expect(runSync({ config, database, log: logs.log, signal: stop.signal, ...afterEachPage(stopAfterThird) }, { workspace: WS, apiKey: KEY, kind: 'full' })).rejects.toThrow('Ctrl-C');
    const stopped = await runRow();
    expect({ ...stopped }).toMatchObject({ status: 'interrupted', stop_reason: 'interrupted', pages: 3 });
    expect(stopped.error).toMatch(/^interrupted \(Ctrl-C\); the next run resumes after the last committed page$/);
    // Counted as the run went: every request made so far (the page fetched ahead included) is on the row.
    expect(stopped.requests).toBe(simulator.stats.requests);
    const lines = logs.lines.map((l) => JSON.parse(l) as { level: number; msg: string });
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(lines.find((l) => l.msg === 'sync interrupted')).toMatchObject({ level: 30, lastPage: 3 });

    const resumed = await sync();
    expect(resumed).toMatchObject({ status: 'succeeded', resumed: true, runId: Number(stopped.id), lastPage: 10 });
    await expectCopyMatches(database, WS, simulator.truth());
  });

  it('marks a run left running by a dead process as failed', async () => {
    await start({ items: 10 });
    await database.sql`insert into sync_runs (workspace, kind, status) values (${WS}, 'full', 'running')`;
    await sync();
    const runs = await database.sql`select status, error from sync_runs order by id`;
    expect(runs.map((r) => r.status)).toEqual(['failed', 'succeeded']);
    expect(runs[0]!.error).toMatch(/abandoned/);
  });

  it('never writes the API key to logs or tables', async () => {
    await start({ items: 300, faultRate: 0.3, hangMs: 5_000, drift: { invalidRate: 0.05, unknownEnumRate: 0.05 } }, { timeoutMs: 300, maxAttempts: 12 });
    const logs = captureLogs('trace');
    await sync(logs.log);
    await expect(sync(logs.log, `${KEY}-wrong`)).rejects.toThrow(/401/);
    logs.log.info({ config: { ...config, apiKey: KEY } }, 'someone logs the config by mistake');
    expect(logs.lines.length).toBeGreaterThan(5);
    expect(logs.text()).not.toContain(KEY);
    expect(await dumpTables(database)).not.toContain(KEY);
  });
});
