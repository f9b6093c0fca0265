import { afterEach, describe, expect, it } from 'vitest';
import { runMigrations } from '../../src/db/migrate.ts';
import { T0 } from '../helpers/batch-call.ts';
import { databaseAt } from '../helpers/database-at.ts';
import { expectDayCountsConsistent } from '../helpers/day-counts.ts';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
  cleanups.length = 0;
});

const MIDNIGHT = T0 - 8 * 3600;

describe('upgrading to 0013 (history at dashboard speed)', () => {
  it('backfills the daily counts, the completions and the live counts from the history already stored, in the reporting zone', async () => {
    const { sql, url } = await databaseAt(12, cleanups);
    await sql`select set_report_time_zone('Asia/Kolkata')`;
    // Years of history in miniature, written by the 0012 triggers: three jobs with several versions each, one of
    // them marked deleted, another workspace, versions at midnight exactly.
    await sql`
      insert into batch_call_history (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      select v.ws, v.id, 'job', v.agent, 'Priya', ${T0}, ${T0}, ${MIDNIGHT}::bigint + v.offs, v.status, '{}'::jsonb
      from (values ('acme', 'a', 'ag_1', -2 * 86400, 'pending'), ('acme', 'a', 'ag_1', -86400 + 3600, 'in_progress'), ('acme', 'a', 'ag_1', 3 * 3600, 'completed'),
                   ('acme', 'b', 'ag_2', -86400, 'pending'), ('acme', 'b', 'ag_2', 0, 'in_progress'), ('acme', 'b', 'ag_2', 86400 + 60, 'failed'), ('acme', 'b', 'ag_2', 2 * 86400, 'failed'),
                   ('globex', 'c', 'ag_1', -3 * 86400 - 1800, 'in_progress'), ('globex', 'c', 'ag_1', 4 * 86400, 'cancelled'),
                   ('acme', 'd', 'ag_1', 5 * 3600, 'pending')) v(ws, id, agent, offs, status)`;
    await sql`
      insert into batch_calls (workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw)
      select distinct on (workspace, id) workspace, id, name, agent_id, agent_name, created_at_unix, scheduled_time_unix, last_updated_at_unix, status, raw
      from batch_call_history order by workspace, id, last_updated_at_unix desc`;
    await sql`update batch_calls set deleted_at = ${new Date((MIDNIGHT + 2 * 86400 + 7200) * 1000).toISOString()} where id = 'd'`;

    await runMigrations({ url });

    await expectDayCountsConsistent(sql, MIDNIGHT);
    expect(await sql`select workspace, jobs::int from batch_call_live_jobs order by 1`).toEqual([{ workspace: 'acme', jobs: 2 }, { workspace: 'globex', jobs: 1 }]);
    expect((await sql`select id, final_status from batch_call_completion order by id`).map((r) => `${r.id}:${r.final_status}`)).toEqual(['a:completed', 'b:failed', 'c:cancelled']);
    expect((await sql`select count(*)::int as n from batch_call_day_changes`)[0]!.n).toBeGreaterThan(0);
  });
});
