/**
 * What dbt-sources says about the tables and views besides the API's own fields (src/dbt/api-fields.ts): a
 * description per table and view, per column the sync adds, and the views' columns. The tables' columns come from
 * src/db/schema.ts; a view column named like a column of batch_calls (or batch_call_history) takes that column's
 * description unless one is given here. test/bi/dbt-sources.test.ts compares the result with information_schema.
 */

export const TABLE_DESCRIPTIONS: Readonly<Record<string, string>> = {
  batch_calls: 'The newest version of each batch-calling job, one row per (workspace, id): every API field as a column, raw, and the deletion mark set by reconciliation.',
  batch_call_history: 'Every distinct version observed, one row per (workspace, id, last_updated_at_unix), with its validity interval kept by triggers.',
  batch_call_history_daily: 'Versions first observed per workspace and UTC day of observed_at (the status page chart), kept by the history triggers.',
  batch_call_history_newest: 'The newest API last_updated_at stored per workspace, kept by a trigger on history inserts (bi_workspace_freshness).',
  batch_call_day_changes: 'Changes of the number of jobs per workspace, status and agent at the end of each day in the reporting time zone, kept by the history triggers: the count at the end of a day is the sum up to it (read bi_daily_job_counts).',
  batch_call_completion: 'Each job\'s first version in a final status, kept by the history triggers (bi_time_to_completion).',
  batch_call_live_jobs: 'Jobs per workspace not marked deleted, kept by triggers on batch_calls (a running walk\'s expected size).',
  sync_runs: 'One row per sync or reconciliation run: kind, status, times, counters, stop reason and error. Old runs are deleted by retention (RUN_RETENTION_DAYS).',
  sync_workspaces: 'One row per workspace with its health facts, kept by triggers on sync_runs: last success, failing streak, list order, last complete walk and reconciliation.',
  rejected_records: 'Items the API sent that could not be stored, one row per (workspace, item, reason), with the raw JSON.',
  reconcile_seen: 'Scratch ids a running reconciliation has listed so far; meaningless outside it.',
  change_feed: 'One entry per change the sync (or anyone) wrote: created, updated, amended, deleted, undeleted; read in (xid, id) order through threetone_changes or `threetone-sync changes`.',
  feed_consumers: 'Named readers of change_feed and the position each acknowledged.',
  report_settings: 'One row: the reporting time zone of the daily and monthly views (set_report_time_zone, REPORT_TIME_ZONE).',
};

/** Columns of our own (not API fields), by table; `*` applies to every table that has the column. */
export const COLUMN_DESCRIPTIONS: Readonly<Record<string, Readonly<Record<string, string>>>> = {
  '*': {
    workspace: 'Workspace label (THREETONE_WORKSPACE or a key of THREETONE_WORKSPACES).',
    raw: 'The item exactly as the API sent it (JSON).',
    created_at: 'created_at_unix as timestamptz.',
    scheduled_time: 'scheduled_time_unix as timestamptz.',
    last_updated_at: 'last_updated_at_unix as timestamptz.',
  },
  batch_calls: {
    first_seen_at: 'When the sync first stored this job.',
    deleted_at: 'When a reconciliation found the API no longer lists the job; null while it is listed.',
  },
  batch_call_history: {
    observed_at: 'Start of the transaction that stored this version.',
    run_id: 'The run that first saw this version; null once retention deleted that run.',
    amended_at: 'When the API changed this version\'s content without bumping last_updated_at.',
    valid_to: 'End of this version\'s validity: the next version\'s last_updated_at, else the job\'s deleted_at, else infinity.',
    previous_status: 'Status of the job\'s previous version; null for its first.',
  },
  batch_call_history_daily: {
    day: 'UTC day of observed_at.',
    versions: 'Versions first observed that day.',
  },
  batch_call_history_newest: {
    last_updated_at: 'The newest last_updated_at of any version stored for the workspace.',
  },
  batch_call_day_changes: {
    day: 'A day in the reporting time zone.',
    jobs: 'Jobs of this status and agent at the end of this day minus at the end of the day before.',
  },
  batch_call_completion: {
    final_status: 'First final status observed.',
    final_at_unix: 'last_updated_at_unix of that version.',
    final_at: 'final_at_unix as timestamptz.',
  },
  batch_call_live_jobs: {
    jobs: 'Jobs of the workspace in batch_calls with deleted_at null.',
  },
  sync_runs: {
    id: 'Run id.',
    kind: 'full (every page), incremental (newest pages until caught up) or reconcile (every page, then marks deletes).',
    status: 'running, succeeded, failed or interrupted.',
    started_at: 'When the run started.',
    finished_at: 'When it ended; null while running.',
    pages: 'Pages committed.',
    items_seen: 'Items listed by the API.',
    rows_inserted: 'Jobs stored for the first time.',
    rows_updated: 'Jobs whose current row changed.',
    versions_added: 'Versions added to history.',
    versions_amended: 'Versions whose content changed under the same last_updated_at.',
    rejected: 'Items that could not be stored (rejected_records).',
    requests: 'API requests made.',
    retries: 'API requests retried.',
    deleted: 'Jobs this reconciliation marked deleted.',
    undeleted: 'Jobs marked deleted that this run found listed again.',
    api_count: 'Reconciliation: distinct jobs the API listed.',
    stored_count: 'Reconciliation: live jobs stored before marking deletes.',
    stop_reason: 'end (walked every page), caught_up, error, interrupted, delete_guard or lost_ownership.',
    owner: 'Fencing token of the process attempt that owns the run.',
    list_order: 'The order the API served the pages in: created, updated or unknown.',
    walk_restarts: 'Times the walk restarted from the top after a rejected cursor.',
    attempts: '1 + times a later attempt resumed the run.',
    next_cursor: 'Cursor of the next page not yet committed; null once the walk is complete.',
    error: 'Why the run failed.',
    alive_at: 'When the run last showed progress.',
  },
  sync_workspaces: {
    first_run_at: 'Start of the workspace\'s first run.',
    last_run_at: 'Start of its newest run.',
    last_success_at: 'End of its newest succeeded run: when the copy was last known complete up to then.',
    last_success_started_at: 'Start of that run.',
    failing_runs: 'Failed runs since the last success.',
    failing_since: 'Start of the oldest of them.',
    failing_error: 'Error of the newest of them.',
    list_order: 'List order of the newest finished run that read a page.',
    list_order_at: 'Start of that run.',
    reconcile_decided_at: 'End of the newest reconciliation that decided about deletes (succeeded or refused).',
    reconcile_refused: 'That reconciliation refused to mark a mass delete.',
    reconcile_refused_error: 'Why it refused.',
    last_complete_walk_at: 'End of the newest succeeded full sync or reconciliation that read every page.',
    last_reconcile_at: 'End of the newest succeeded reconciliation: deletions are current up to about its start.',
  },
  rejected_records: {
    id: 'Row id.',
    run_id: 'The latest run that met the item.',
    page: 'Page of that run.',
    item_id: 'The item\'s id, when it had a usable one.',
    item_key: 'The item id, or the md5 of its raw text without one.',
    reason: 'Why it could not be stored.',
    raw: 'The item\'s JSON text as received, latest occurrence.',
    first_seen_at: 'When first rejected.',
    last_seen_at: 'When last rejected.',
    times_seen: 'Times rejected.',
  },
  reconcile_seen: {
    run_id: 'The reconciliation.',
    id: 'A job id it listed.',
  },
  change_feed: {
    id: 'Stable entry id: what a consumer deduplicates on (not the order).',
    xid: 'The writing transaction; entries are read in (xid, id) order.',
    kind: 'created, updated, amended, deleted or undeleted.',
    job_id: 'The job\'s id.',
    version: 'The version\'s last_updated_at_unix.',
    status: 'The job\'s status in that version.',
    previous_status: 'Its status in the version before.',
    observed_at: 'When the change was written.',
    run_id: 'The run that wrote it; null for a write outside a run.',
  },
  feed_consumers: {
    name: 'Consumer name.',
    position_xid: 'Transaction of the last acknowledged entry.',
    position_id: 'Id of the last acknowledged entry.',
    created_at: 'When the consumer was created.',
    updated_at: 'When it last acknowledged.',
  },
  report_settings: {
    id: 'Always true: the table holds one row.',
    time_zone: 'IANA zone the daily and monthly views count in.',
    changed_at: 'When it was last changed.',
  },
};

export interface ViewDoc {
  description: string;
  /** Every column in order; a description here wins over one taken from batch_calls or batch_call_history. */
  columns: readonly (string | readonly [string, string])[];
}

const JOB_COLUMNS = [
  'workspace', 'id', 'phone_number_id', 'phone_provider', 'whatsapp_params', 'name', 'agent_id', 'created_at_unix',
  'scheduled_time_unix', 'total_calls_dispatched', 'total_calls_scheduled', 'total_calls_finished', 'last_updated_at_unix',
  'status', 'retry_count', 'agent_name', 'created_at', 'scheduled_time', 'last_updated_at', 'raw',
] as const;

const AGENT_TOTALS = [
  'workspace', 'agent_id', 'agent_name', ['jobs', 'Live jobs.'], ['calls_scheduled', 'Sum of total_calls_scheduled.'],
  ['calls_dispatched', 'Sum of total_calls_dispatched.'], ['calls_finished', 'Sum of total_calls_finished.'],
  ['finish_rate', 'calls_finished / calls_scheduled, 4 decimals; null without scheduled calls.'],
] as const;

export const VIEWS: Readonly<Record<string, ViewDoc>> = {
  batch_call_versions: {
    description: 'Every version with its validity interval: the state at T is valid_from <= T AND valid_until > T.',
    columns: [
      ...JOB_COLUMNS, 'observed_at', 'run_id', 'amended_at',
      ['valid_from', 'Start of validity: the version\'s own last_updated_at.'],
      ['valid_to', 'End of validity; null while current.'],
      ['valid_until', 'End of validity; infinity while current (indexed).'],
      'previous_status',
    ],
  },
  bi_current_batch_calls: {
    description: 'Live jobs (not marked deleted).',
    columns: [
      'workspace', 'id', 'name', 'status', 'agent_id', 'agent_name', 'phone_provider', 'phone_number_id',
      ['calls_scheduled', 'total_calls_scheduled.'], ['calls_dispatched', 'total_calls_dispatched.'], ['calls_finished', 'total_calls_finished.'],
      'retry_count', 'created_at', 'scheduled_time', 'last_updated_at', 'first_seen_at',
    ],
  },
  bi_daily_status_counts: {
    description: 'Live jobs created per day by current status; days in the reporting time zone (report_settings).',
    columns: ['workspace', ['day', 'Day of created_at in the reporting time zone.'], 'status', ['jobs', 'Live jobs.']],
  },
  bi_agent_performance: { description: 'Per agent, all time, live jobs.', columns: AGENT_TOTALS },
  bi_agent_performance_monthly: {
    description: 'Per agent and month of creation in the reporting time zone, live jobs.',
    columns: [...AGENT_TOTALS.slice(0, 3), ['month', 'First day of the month of created_at in the reporting time zone.'], ...AGENT_TOTALS.slice(3)],
  },
  bi_time_to_completion: {
    description: 'Per job: its first final status (completed, failed, cancelled) and how long it took from creation.',
    columns: [
      'workspace', 'id', 'name', 'agent_id', 'agent_name', 'created_at', ['final_status', 'First final status observed.'],
      ['final_at', 'last_updated_at of that version.'], ['time_to_final', 'final_at - created_at (interval).'], ['hours_to_final', 'The same in hours, 2 decimals.'],
    ],
  },
  bi_daily_job_counts: {
    description: 'Jobs per workspace, status and agent at the end of each day in the reporting time zone, up to today: what batch_calls_as_of at the next midnight counts. No row for a day without such jobs.',
    columns: ['workspace', ['day', 'A day in the reporting time zone.'], 'status', 'agent_id', ['jobs', 'Jobs of that status and agent at the end of the day.']],
  },
  bi_daily_jobs_by_status: {
    description: 'Jobs per workspace and status at the end of each day in the reporting time zone (bi_daily_job_counts with agents summed). No row for a day without such jobs.',
    columns: ['workspace', ['day', 'A day in the reporting time zone.'], 'status', ['jobs', 'Jobs of that status at the end of the day.']],
  },
  bi_status_transitions: {
    description: 'All-time count per (workspace, from_status, to_status).',
    columns: ['workspace', ['from_status', 'Status before.'], ['to_status', 'Status after.'], ['transitions', 'How many.']],
  },
  bi_status_transition_events: {
    description: 'One row per observed status change.',
    columns: ['workspace', 'id', ['from_status', 'Status before.'], ['to_status', 'Status after.'], ['changed_at', 'last_updated_at of the version that changed it.']],
  },
  bi_deleted_batch_calls: {
    description: 'Jobs the API no longer lists (marked by reconciliation).',
    columns: ['workspace', 'id', 'name', 'status', 'agent_name', 'created_at', 'last_updated_at', 'deleted_at'],
  },
  bi_sync_freshness: {
    description: 'Per workspace: last success, its age, last run\'s status (from sync_runs; see bi_workspace_freshness for completeness).',
    columns: [
      'workspace', ['last_success_at', 'End of the newest succeeded run.'], ['age', 'now() - last_success_at.'], ['age_seconds', 'The same in seconds.'],
      ['last_run_status', 'Status of the newest run.'], ['last_run_started_at', 'Start of the newest run.'],
    ],
  },
  bi_workspace_freshness: {
    description: 'Per workspace: is the copy fresh, when was it last walked end to end, are its deletions current. What `threetone-sync check` reads.',
    columns: [
      'workspace',
      ['last_success_at', 'End of the newest succeeded run.'],
      ['age_seconds', 'Seconds since last_success_at, or since the first run when none succeeded.'],
      ['last_complete_walk_at', 'End of the newest succeeded full sync or reconciliation that read every page.'],
      ['complete_walk_age_seconds', 'Seconds since last_complete_walk_at.'],
      ['last_reconcile_at', 'End of the newest succeeded reconciliation: deletions are current up to about then.'],
      ['reconcile_age_seconds', 'Seconds since last_reconcile_at.'],
      ['reconcile_refused', 'The newest reconciliation refused a mass delete: deletions are not being marked.'],
      ['newest_last_updated_at', 'The newest API last_updated_at stored for the workspace.'],
      ['first_run_at', 'Start of the first run.'],
      ['last_run_at', 'Start of the newest run.'],
      ['failing_runs', 'Failed runs since the last success.'],
      ['checked_at', 'now() when read.'],
    ],
  },
};
