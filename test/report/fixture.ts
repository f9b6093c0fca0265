import type { ReportData } from '../../src/db/report-data.ts';

/**
 * A week of three workspaces, with every total worked out by hand:
 * - acme: 25 jobs (15 completed, 2 failed, 3 in_progress, 4 pending, 1 of a status the API added), calls
 *   1,089 of 1,200 finished (90.75%); Priya 899/1,000 (89.9%), Omar 190/200 (95.0%), and an agent whose name
 *   is markup and who has no calls scheduled;
 * - `globex, "east"` (a comma and quotes, for the CSV): 6 jobs, 30 of 60 calls (50.0%), never synced successfully;
 * - idle: synced 5 days ago, no jobs in the window.
 * All of them: 31 jobs, 1,119 of 1,260 calls (88.8%).
 */
export const GENERATED_AT = new Date('2026-12-06T08:11:24Z');
export const FROM = new Date('2026-11-30T00:00:00Z');
export const HOSTILE = '<script>alert(1)</script>';
export const GLOBEX = 'globex, "east"';

export const REPORT_DATA: ReportData = {
  from: FROM,
  generatedAt: GENERATED_AT,
  daily: [
    { workspace: 'acme', day: '2026-11-30', status: 'completed', jobs: 10 },
    { workspace: 'acme', day: '2026-11-30', status: 'failed', jobs: 2 },
    { workspace: 'acme', day: '2026-12-02', status: 'completed', jobs: 5 },
    { workspace: 'acme', day: '2026-12-02', status: 'in_progress', jobs: 3 },
    { workspace: 'acme', day: '2026-12-06', status: 'pending', jobs: 4 },
    { workspace: 'acme', day: '2026-12-06', status: 'paused', jobs: 1 },
    { workspace: GLOBEX, day: '2026-12-05', status: 'completed', jobs: 6 },
  ],
  agents: [
    { workspace: 'acme', agent_id: 'ag_1', agent_name: 'Priya', jobs: 15, calls_scheduled: 1000, calls_finished: 899 },
    { workspace: 'acme', agent_id: 'ag_2', agent_name: 'Omar', jobs: 8, calls_scheduled: 200, calls_finished: 190 },
    { workspace: 'acme', agent_id: 'ag_3', agent_name: HOSTILE, jobs: 2, calls_scheduled: 0, calls_finished: 0 },
    { workspace: GLOBEX, agent_id: 'ag_9', agent_name: 'Zoë', jobs: 6, calls_scheduled: 60, calls_finished: 30 },
  ],
  freshness: [
    { workspace: 'acme', last_success_at: '2026-12-06 08:01:00+00', age_seconds: 624, last_run_status: 'succeeded' },
    { workspace: GLOBEX, last_success_at: null, age_seconds: null, last_run_status: 'failed' },
    { workspace: 'idle', last_success_at: '2026-12-01 08:11:24+00', age_seconds: 5 * 86_400, last_run_status: 'succeeded' },
  ],
};
