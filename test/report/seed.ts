import type postgres from 'postgres';

/**
 * A known dataset in real tables, placed relative to Postgres's own today (UTC), with the report's numbers
 * worked out by hand. Over the default 30 days:
 * - north: 6 jobs (2 completed and 1 pending today, 3 failed two days ago), 35 of 50 calls finished (70.0%):
 *   agent Ana 20/20 (100.0%, 2 jobs), agent `<b>Bo</b>, "the 2nd"` 15/30 (50.0%, 4 jobs); besides, a job 40 days
 *   old (outside the window) and a deleted one (never counted); last synced successfully 2 h ago;
 * - south: 1 job today, 10 scheduled, 9 finished (90.0%); its last run failed and none ever succeeded.
 * Together: 7 jobs, 44 of 60 calls (73.3%).
 */
export async function seedReport(sql: postgres.Sql): Promise<void> {
  const [{ today }] = (await sql<{ today: number }[]>`SELECT extract(epoch FROM date_trunc('day', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC')::float8 AS today`) as unknown as [{ today: number }];
  const day = 86_400;
  // Just after midnight: always today, and never after now().
  const jobs: [string, string, number, string, string, string, number, number][] = [
    ['north', 'n1', today + 1, 'completed', 'ag_a', 'Ana', 10, 10],
    ['north', 'n2', today + 1, 'completed', 'ag_a', 'Ana', 10, 10],
    ['north', 'n3', today + 1, 'pending', 'ag_b', '<b>Bo</b>, "the 2nd"', 0, 0],
    ['north', 'n4', today - 2 * day + 3600, 'failed', 'ag_b', '<b>Bo</b>, "the 2nd"', 10, 5],
    ['north', 'n5', today - 2 * day + 3600, 'failed', 'ag_b', '<b>Bo</b>, "the 2nd"', 10, 5],
    ['north', 'n6', today - 2 * day + 3600, 'failed', 'ag_b', '<b>Bo</b>, "the 2nd"', 10, 5],
    ['north', 'old', today - 40 * day, 'completed', 'ag_a', 'Ana', 100, 0],
    ['north', 'gone', today + 1, 'completed', 'ag_a', 'Ana', 100, 0],
    ['south', 's1', today + 1, 'in_progress', 'ag_s', 'Sam', 10, 9],
  ];
  for (const [workspace, id, created, status, agentId, agentName, scheduled, finished] of jobs) {
    await sql`
      INSERT INTO batch_calls (workspace, id, name, agent_id, agent_name, status, created_at_unix, scheduled_time_unix, last_updated_at_unix,
                               total_calls_scheduled, total_calls_dispatched, total_calls_finished, raw)
      VALUES (${workspace}, ${id}, ${`job ${id}`}, ${agentId}, ${agentName}, ${status}, ${created}, ${created}, ${created},
              ${scheduled}, ${scheduled}, ${finished}, ${sql.json({ id })})`;
  }
  await sql`UPDATE batch_calls SET deleted_at = now() WHERE id = 'gone'`;
  await sql`INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at) VALUES ('north', 'full', 'succeeded', now() - interval '2 hours 1 minute', now() - interval '2 hours')`;
  await sql`INSERT INTO sync_runs (workspace, kind, status, started_at, finished_at) VALUES ('south', 'full', 'failed', now() - interval '5 minutes', now() - interval '4 minutes')`;
}
