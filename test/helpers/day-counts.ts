import type postgres from 'postgres';
import { expect } from 'vitest';

const D = 86_400;
const at = (unix: number) => new Date(unix * 1000).toISOString();

interface Mismatch {
  day: string;
  key: string;
  stored: number | null;
  as_of: number | null;
}

/** Every day end from 5 days before the history to 8 after, in the reporting zone: bi_daily_job_counts against batch_calls_as_of. */
async function dayMismatches(sql: postgres.Sql, midnight: number): Promise<Mismatch[]> {
  return [...await sql<Mismatch[]>`
    with days as (
      select d::date as day from generate_series(${at(midnight - 5 * D)}::date, ${at(midnight + 8 * D)}::date, interval '1 day') d
    ), stored as (
      select c.day, c.workspace || '/' || c.status || '/' || c.agent_id as key, c.jobs::int as jobs
      from bi_daily_job_counts c join days d on d.day = c.day
    ), brute as (
      select d.day, a.workspace || '/' || a.status || '/' || a.agent_id as key, count(*)::int as jobs
      from days d cross join lateral batch_calls_as_of((d.day + 1)::timestamp at time zone report_time_zone()) a
      group by 1, 2
    )
    select coalesce(s.day, b.day)::text as day, coalesce(s.key, b.key) as key, s.jobs as stored, b.jobs as as_of
    from stored s full join brute b on b.day = s.day and b.key = s.key
    where s.jobs is distinct from b.jobs
    order by 1, 2`];
}

/** bi_daily_jobs_by_status against bi_daily_job_counts summed over agents (which dayMismatches holds to batch_calls_as_of). */
async function byStatusMismatches(sql: postgres.Sql): Promise<unknown[]> {
  return [...await sql`
    with summed as (select workspace, day, status, sum(jobs)::int as jobs from bi_daily_job_counts group by 1, 2, 3 having sum(jobs) <> 0)
    select coalesce(s.day, b.day)::text as day, coalesce(s.workspace, b.workspace) as workspace, coalesce(s.status, b.status) as status, s.jobs as summed, b.jobs::int as by_status
    from summed s full join bi_daily_jobs_by_status b on b.workspace = s.workspace and b.day = s.day and b.status = s.status
    where s.jobs is distinct from b.jobs::int`];
}

/** Every half hour of the history (and its ends): batch_calls_count_as_of against a count of batch_calls_as_of. */
async function instantMismatches(sql: postgres.Sql, midnight: number): Promise<unknown[]> {
  return [...await sql`
    with instants as (
      select t from generate_series(${at(midnight - 3 * D)}::timestamptz, ${at(midnight + 4 * D)}::timestamptz, interval '30 minutes') t
      union select ${at(midnight + 3 * 3600)}::timestamptz - interval '1 microsecond'
    ), stored as (
      select i.t, c.workspace || '/' || c.status || '/' || c.agent_id as key, c.jobs::int as jobs
      from instants i cross join lateral batch_calls_count_as_of(i.t) c
    ), brute as (
      select i.t, a.workspace || '/' || a.status || '/' || a.agent_id as key, count(*)::int as jobs
      from instants i cross join lateral batch_calls_as_of(i.t) a group by 1, 2
    )
    select coalesce(s.t, b.t)::text as t, coalesce(s.key, b.key) as key, s.jobs as stored, b.jobs as as_of
    from stored s full join brute b on b.t = s.t and b.key = s.key
    where s.jobs is distinct from b.jobs
    order by 1, 2`];
}

/** batch_call_completion against each job's first final version in history. */
async function completionMismatches(sql: postgres.Sql): Promise<unknown[]> {
  return [...await sql`
    with brute as (
      select distinct on (workspace, id) workspace, id, status as final_status, last_updated_at_unix as final_at_unix, last_updated_at as final_at
      from batch_call_history where status in ('completed', 'failed', 'cancelled') order by workspace, id, last_updated_at_unix
    )
    select coalesce(f.workspace, b.workspace) as workspace, coalesce(f.id, b.id) as id, f.final_status as stored, b.final_status as brute
    from batch_call_completion f full join brute b on b.workspace = f.workspace and b.id = f.id
    where (f.final_status, f.final_at_unix, f.final_at) is distinct from (b.final_status, b.final_at_unix, b.final_at)`];
}

/** batch_call_live_jobs against a count of batch_calls. */
async function liveMismatches(sql: postgres.Sql): Promise<unknown[]> {
  return [...await sql`
    with brute as (select workspace, count(*)::int as jobs from batch_calls where deleted_at is null group by 1)
    select coalesce(l.workspace, b.workspace) as workspace, l.jobs::int as stored, b.jobs as brute
    from batch_call_live_jobs l full join brute b on b.workspace = l.workspace
    where coalesce(l.jobs, 0) <> coalesce(b.jobs, 0)`];
}

/**
 * The stored daily counts, completions and live counts against what batch_calls_as_of, history and batch_calls say
 * from scratch, around `midnight` (unix seconds): every day end from 5 days before to 8 after, every half hour from 3
 * days before to 4 after.
 */
export async function expectDayCountsConsistent(sql: postgres.Sql, midnight: number): Promise<void> {
  expect(await dayMismatches(sql, midnight)).toEqual([]);
  expect(await byStatusMismatches(sql)).toEqual([]);
  expect(await instantMismatches(sql, midnight)).toEqual([]);
  expect(await completionMismatches(sql)).toEqual([]);
  expect(await liveMismatches(sql)).toEqual([]);
}

