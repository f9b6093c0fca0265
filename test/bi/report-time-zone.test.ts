import { describe, expect, it } from 'vitest';
import { applyReportTimeZone, reportTimeZone } from '../../src/db/report-zone.ts';
import { spawnCli } from '../helpers/child.ts';
import { useTestDatabase } from '../helpers/use.ts';

/**
 * The business's day (issue 21, item 6): bi_daily_status_counts and bi_agent_performance_monthly count in the
 * reporting time zone, their indexes follow it, and `migrate` applies REPORT_TIME_ZONE.
 */
const database = useTestDatabase();

const unix = (iso: string) => Date.parse(iso) / 1000;

async function job(id: string, createdIso: string): Promise<void> {
  const created = unix(createdIso);
  await database.sql`
    insert into batch_calls (workspace, id, name, agent_id, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, agent_name, raw)
    values ('acme', ${id}, 'job', 'ag_1', ${created}, ${created}, ${created}, 'pending', 'Ana', '{}'::jsonb)`;
}

const days = async () =>
  (await database.sql<{ day: string; jobs: number }[]>`select day::text, jobs from bi_daily_status_counts order by day`).map((r) => [r.day, r.jobs]);
const months = async () =>
  (await database.sql<{ month: string; jobs: number }[]>`select month::text, jobs from bi_agent_performance_monthly order by month`).map((r) => [r.month, r.jobs]);

async function plan(query: string): Promise<string> {
  return database.sql.begin(async (tx) => {
    await tx`set local enable_seqscan = off`;
    return (await tx.unsafe<{ 'QUERY PLAN': string }[]>(`explain ${query}`)).map((r) => r['QUERY PLAN']).join('\n');
  });
}

describe('the reporting time zone', () => {
  it('moves a job created at 21:00 UTC to the next day in Asia/Kolkata (02:30 there), and its month with it; the indexes follow', async () => {
    await job('evening', '2026-12-05T21:00:00Z');
    await job('month-end', '2026-11-30T20:00:00Z');
    await job('midday', '2026-12-05T06:00:00Z');
    expect(await reportTimeZone(database.sql)).toBe('UTC');
    expect(await days()).toEqual([['2026-11-30', 1], ['2026-12-05', 2]]);
    expect(await months()).toEqual([['2026-11-01', 1], ['2026-12-01', 2]]);

    expect(await applyReportTimeZone(database.sql, 'Asia/Kolkata')).toEqual({ changed: true, from: 'UTC' });
    expect(await reportTimeZone(database.sql)).toBe('Asia/Kolkata');
    expect(await days()).toEqual([['2026-12-01', 1], ['2026-12-05', 1], ['2026-12-06', 1]]);
    expect(await months()).toEqual([['2026-12-01', 3]]);

    const daily = await plan(`select * from bi_daily_status_counts where day >= '2026-12-06'`);
    expect(daily, daily).toMatch(/Index Scan using batch_calls_live_day_idx/);
    expect(daily).toMatch(/Asia\/Kolkata/);
    const monthly = await plan(`select * from bi_agent_performance_monthly where month >= '2026-12-01'`);
    expect(monthly, monthly).toMatch(/Index Scan using batch_calls_live_month_idx/);
    const indexes = await database.sql<{ indexdef: string }[]>`select indexdef from pg_indexes where indexname like 'batch_calls_live_%' order by indexname`;
    expect(indexes).toHaveLength(2);
    for (const { indexdef } of indexes) expect(indexdef).toMatch(/'Asia\/Kolkata'/);

    // The same zone again rebuilds nothing; back to UTC gives the UTC days again.
    expect(await applyReportTimeZone(database.sql, 'Asia/Kolkata')).toEqual({ changed: false, from: 'Asia/Kolkata' });
    await applyReportTimeZone(database.sql, 'UTC');
    expect(await days()).toEqual([['2026-11-30', 1], ['2026-12-05', 2]]);
    expect(await plan(`select * from bi_daily_status_counts where day >= '2026-12-06'`)).toMatch(/batch_calls_live_day_idx/);
  });

  it('refuses what is not a zone name Postgres knows, offsets included (Postgres reads +05:30 as west of UTC)', async () => {
    for (const zone of ['Mars/Base', '+05:30', "UTC'; drop table batch_calls; --"]) {
      await expect(database.sql`select set_report_time_zone(${zone})`).rejects.toMatchObject({ code: '22023' });
    }
    expect(await reportTimeZone(database.sql)).toBe('UTC');
    // A name spelled in another case is the zone as Postgres spells it.
    await database.sql`select set_report_time_zone('asia/kolkata')`;
    expect(await reportTimeZone(database.sql)).toBe('Asia/Kolkata');
  });

  it('`migrate` applies REPORT_TIME_ZONE once, leaves the zone alone when it is unset, and refuses a bad one in one line', async () => {
    await job('evening', '2026-12-05T21:00:00Z');
    const migrate = async (env: Record<string, string>) => {
      const child = spawnCli(['migrate'], { DATABASE_URL: database.url, LOG_LEVEL: 'warn', ...env });
      return { code: await child.exited, output: child.output() };
    };
    const first = await migrate({ REPORT_TIME_ZONE: 'Asia/Kolkata' });
    expect(first.output).toContain('reporting time zone: UTC -> Asia/Kolkata (REPORT_TIME_ZONE)');
    expect(first.code).toBe(0);
    expect(await days()).toEqual([['2026-12-06', 1]]);
    const again = await migrate({ REPORT_TIME_ZONE: 'Asia/Kolkata' });
    expect(again).toMatchObject({ code: 0 });
    expect(again.output).not.toContain('reporting time zone');
    // Unset: an operator's zone set with SQL stays.
    await database.sql`select set_report_time_zone('America/New_York')`;
    expect(await migrate({})).toMatchObject({ code: 0 });
    expect(await reportTimeZone(database.sql)).toBe('America/New_York');
    expect(await days()).toEqual([['2026-12-05', 1]]);
    const bad = await migrate({ REPORT_TIME_ZONE: 'Mars/Base' });
    expect(bad.code).toBe(2);
    expect(bad.output.trim()).toBe('config: REPORT_TIME_ZONE must be an IANA time zone such as UTC or Europe/Berlin (got "Mars/Base")');
  });
});
