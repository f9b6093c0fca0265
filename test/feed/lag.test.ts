import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/http/metrics.ts';
import { consumerJson, consumerLines, LAG_COUNT_CAP, type ConsumerLag } from '../../src/feed/lag.ts';
import { RunEvents } from '../../src/jobs/run-events.ts';
import { silentLogger } from '../../src/log.ts';
import { spawnCli } from '../helpers/child.ts';
import { createTestDatabase, type TestDatabase } from '../helpers/database.ts';

let database: TestDatabase;

beforeAll(async () => {
  database = await createTestDatabase();
  // Ten entries observed ten minutes ago; 'behind' has read three of them, 'done' all.
  await database.sql`
    insert into change_feed (kind, workspace, job_id, version, status, observed_at)
    select 'created', 'w', 'j' || g, g, 'pending', now() - interval '10 minutes' from generate_series(1, 10) g`;
  await database.sql`select threetone_consumer_create('behind', 'beginning'), threetone_consumer_create('done', 'beginning')`;
  await database.sql`
    update feed_consumers c set position_xid = f.xid, position_id = f.id
    from (select xid, id from change_feed order by xid desc, id desc limit 1) f where c.name = 'done'`;
  await database.sql`
    update feed_consumers c set position_xid = f.xid, position_id = f.id
    from (select xid, id from change_feed order by xid, id offset 2 limit 1) f where c.name = 'behind'`;
});
afterAll(async () => {
  await database.drop();
});

const NOW = new Date('2026-05-01T08:00:00Z');
const lag = (fields: Partial<ConsumerLag>): ConsumerLag => ({
  name: 'c',
  position: { xid: 812n, id: 40n },
  updatedAt: new Date(NOW.getTime() - 120_000),
  lagEntries: 0,
  oldestUnreadAt: null,
  ...fields,
});

describe('consumer lag', () => {
  it('says per consumer how many entries and how long it is behind, or that it is caught up', () => {
    expect(consumerLines([], NOW)).toEqual([]);
    expect(consumerLines([lag({ name: 'dbt' }), lag({ name: 'ops', lagEntries: 1, oldestUnreadAt: new Date(NOW.getTime() - 30 * 60_000) }), lag({ name: 'big', lagEntries: LAG_COUNT_CAP, oldestUnreadAt: new Date(NOW.getTime() - 3 * 86_400_000) })], NOW)).toEqual([
      'consumers:',
      '  dbt: caught up; acknowledged 2 min ago (at 812:40)',
      '  ops: 1 entry behind, the oldest observed 30 min ago; acknowledged 2 min ago (at 812:40)',
      '  big: 1000000+ entries behind, the oldest observed 3 days ago; acknowledged 2 min ago (at 812:40)',
    ]);
    expect(consumerJson(lag({ lagEntries: 4, oldestUnreadAt: new Date(NOW.getTime() - 90_000) }), NOW)).toEqual({
      name: 'c', position: '812:40', lag_entries: 4, lag_entries_capped: false, lag_seconds: 90,
      oldest_unread_at: '2026-05-01T07:58:30.000Z', acknowledged_at: '2026-05-01T07:58:00.000Z',
    });
  });

  it('is in status (lines and --json) and in /metrics', async () => {
    const env = { DATABASE_URL: database.url, LOG_LEVEL: 'warn' };
    const json = spawnCli(['status', '--json'], env);
    expect(await json.exited).toBe(0);
    const consumers = (JSON.parse(json.output()) as { consumers: { name: string; lag_entries: number; lag_seconds: number }[] }).consumers;
    expect(consumers.map((c) => [c.name, c.lag_entries])).toEqual([['behind', 7], ['done', 0]]);
    expect(consumers[0]!.lag_seconds).toBeGreaterThanOrEqual(600);
    expect(consumers[1]!.lag_seconds).toBe(0);
    const text = spawnCli(['status'], env);
    expect(await text.exited).toBe(0);
    expect(text.output()).toMatch(/consumers:\n {2}behind: 7 entries behind, the oldest observed 10 min ago; acknowledged less than a minute ago \(at \d+:\d+\)\n {2}done: caught up;/);

    const metrics = createMetrics({ database, queue: { getJobCounts: async () => ({}) }, log: silentLogger, events: new RunEvents() });
    const exposition = await metrics.registry.metrics();
    expect(exposition).toContain('threetone_sync_feed_consumer_lag_entries{consumer="behind"} 7');
    expect(exposition).toContain('threetone_sync_feed_consumer_lag_entries{consumer="done"} 0');
    expect(exposition).toMatch(/threetone_sync_feed_consumer_lag_seconds\{consumer="behind"\} 6\d\d/);
    expect(exposition).toContain('threetone_sync_feed_consumer_lag_seconds{consumer="done"} 0');
  });
});
