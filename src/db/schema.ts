import { sql } from 'drizzle-orm';
import {
  bigint,
  bigserial,
  boolean,
  check,
  customType,
  date,
  index,
  integer,
  jsonb,
  pgSchema,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/**
 * Every API field as a column named exactly like the field, plus `raw` (the
 * item as received) and timestamptz twins of the unix columns for BI tools.
 * Enums are text: a new status from the API must still land.
 */
const batchCallColumns = () => ({
  workspace: text().notNull(),
  id: text().notNull(),
  phone_number_id: text(),
  phone_provider: text(),
  whatsapp_params: jsonb(),
  name: text().notNull(),
  agent_id: text().notNull(),
  created_at_unix: bigint({ mode: 'number' }).notNull(),
  scheduled_time_unix: bigint({ mode: 'number' }).notNull(),
  total_calls_dispatched: bigint({ mode: 'number' }).notNull().default(0),
  total_calls_scheduled: bigint({ mode: 'number' }).notNull().default(0),
  total_calls_finished: bigint({ mode: 'number' }).notNull().default(0),
  last_updated_at_unix: bigint({ mode: 'number' }).notNull(),
  status: text().notNull(),
  retry_count: bigint({ mode: 'number' }).notNull().default(0),
  agent_name: text().notNull(),
  created_at: timestamp({ withTimezone: true }).generatedAlwaysAs(sql`to_timestamp(created_at_unix)`),
  scheduled_time: timestamp({ withTimezone: true }).generatedAlwaysAs(sql`to_timestamp(scheduled_time_unix)`),
  last_updated_at: timestamp({ withTimezone: true }).generatedAlwaysAs(sql`to_timestamp(last_updated_at_unix)`),
  raw: jsonb().notNull(),
});

/** One row per sync (or reconciliation) attempt; counters advance in each page's transaction. */
export const syncRuns = pgTable(
  'sync_runs',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    workspace: text().notNull(),
    kind: text().notNull(),
    status: text().notNull().default('running'),
    started_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    finished_at: timestamp({ withTimezone: true }),
    pages: integer().notNull().default(0),
    items_seen: integer().notNull().default(0),
    rows_inserted: integer().notNull().default(0),
    rows_updated: integer().notNull().default(0),
    versions_added: integer().notNull().default(0),
    versions_amended: integer().notNull().default(0),
    rejected: integer().notNull().default(0),
    requests: integer().notNull().default(0),
    retries: integer().notNull().default(0),
    /** Jobs marked deleted by this reconciliation / brought back by this run (any run undeletes a job it lists again). */
    deleted: integer().notNull().default(0),
    undeleted: integer().notNull().default(0),
    /** Reconciliation: distinct jobs the API listed, and how many we held as live before marking deletes. */
    api_count: integer(),
    stored_count: integer(),
    /** `end` (walked every page), `caught_up` (incremental early stop), `error`, `interrupted`, `delete_guard` (reconciliation refused to mark a mass delete), `lost_ownership`. */
    stop_reason: text(),
    /**
     * Fencing token of the process attempt that owns this run, renewed when an attempt opens or
     * resumes it. Every page transaction and the run's close check it, so a process that lost its
     * workspace lock can never write into a run another process took over.
     */
    owner: text(),
    /** The order the API served this run's pages in (`created`, `updated`, `unknown`: src/jobs/list-order.ts); null before a page. */
    list_order: text(),
    /** Times this run walked again from the top because the API rejected its cursor (expired or rotated). */
    walk_restarts: integer().notNull().default(0),
    /** 1 + how many times a later attempt resumed this run from its cursor. */
    attempts: integer().notNull().default(1),
    /** Cursor of the next page not yet committed; null once the walk is complete. */
    next_cursor: text(),
    error: text(),
    /**
     * When the run last showed it was moving: its start (or resume), each committed page, or the end of a long
     * budget wait it announced. The status page calls a run stuck when this is older than STUCK_AFTER.
     */
    alive_at: timestamp({ withTimezone: true }).defaultNow(),
  },
  (t) => [
    // Every reader of runs walks workspaces (a skip scan: one probe per workspace) and reads a few rows of each from
    // one of these, so the status page, /metrics and bi_sync_freshness cost the same whatever the number of runs kept.
    index('sync_runs_workspace_started_id_idx').on(t.workspace, t.started_at.desc(), t.id.desc()),
    index('sync_runs_workspace_kind_id_idx').on(t.workspace, t.kind, t.id.desc()),
    index('sync_runs_last_success_idx').on(t.workspace, t.finished_at.desc()).where(sql`status = 'succeeded' AND finished_at IS NOT NULL`),
    // The few runs walking now, for the status page and /metrics, without reading every run kept.
    index('sync_runs_running_idx').on(t.workspace).where(sql`status = 'running'`),
    index('sync_runs_reconcile_decision_idx')
      .on(t.workspace, t.finished_at.desc(), t.id.desc())
      .where(sql`kind = 'reconcile' AND finished_at IS NOT NULL AND (status = 'succeeded' OR stop_reason = 'delete_guard')`),
  ],
);

/**
 * One row per workspace with its health facts, kept by a trigger on sync_runs (migration 0010) as each run starts
 * and each run's status changes, so the status page and /metrics read one row per workspace whatever the number of
 * runs kept, and retention deleting old runs does not shorten a failing streak.
 */
export const syncWorkspaces = pgTable('sync_workspaces', {
  workspace: text().primaryKey(),
  first_run_at: timestamp({ withTimezone: true }).notNull(),
  last_run_at: timestamp({ withTimezone: true }).notNull(),
  /** End and start of the newest succeeded run. */
  last_success_at: timestamp({ withTimezone: true }),
  last_success_started_at: timestamp({ withTimezone: true }),
  /** Failed runs started after the last success started; the oldest one's start; the newest one's error. */
  failing_runs: integer().notNull().default(0),
  failing_since: timestamp({ withTimezone: true }),
  failing_error: text(),
  /** The list order of the newest finished run that read a page (src/domain/runs.ts ListOrder), and that run's start. */
  list_order: text(),
  list_order_at: timestamp({ withTimezone: true }),
  /** The newest reconciliation that decided about deletes: when it finished, and its error if it refused. */
  reconcile_decided_at: timestamp({ withTimezone: true }),
  reconcile_refused: boolean().notNull().default(false),
  reconcile_refused_error: text(),
  /**
   * End of the newest succeeded full sync or reconciliation that read every page (stop_reason `end`), and of the
   * newest succeeded reconciliation (deletions current up to about then). Kept by a trigger of their own (migration
   * 0012), so retention deleting old runs never makes them older or unknown (bi_workspace_freshness, `check`).
   */
  last_complete_walk_at: timestamp({ withTimezone: true }),
  last_reconcile_at: timestamp({ withTimezone: true }),
});

/** The newest version seen of each job. */
export const batchCalls = pgTable(
  'batch_calls',
  {
    ...batchCallColumns(),
    first_seen_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    /** Set by reconciliation when the API no longer lists the job. */
    deleted_at: timestamp({ withTimezone: true }),
  },
  (t) => [
    primaryKey({ columns: [t.workspace, t.id] }),
    index('batch_calls_workspace_status_idx').on(t.workspace, t.status),
    // Few rows: every page asks whether it lists a job marked deleted, and that must not read the heap of live ones.
    index('batch_calls_deleted_idx').on(t.workspace, t.id).where(sql`deleted_at IS NOT NULL`),
    // The BI views' own expressions, so "day >= …", "month >= …" and "created_at >= …" read only those days.
    index('batch_calls_live_day_idx').on(sql`((created_at AT TIME ZONE 'UTC'::text)::date)`).where(sql`deleted_at IS NULL`),
    index('batch_calls_live_month_idx').on(sql`((date_trunc('month'::text, (created_at AT TIME ZONE 'UTC'::text)))::date)`).where(sql`deleted_at IS NULL`),
    // Replaced (workspace, created_at_unix) in 0005: created_at is what the views and analysts filter, across workspaces.
    index('batch_calls_created_idx').on(t.created_at),
  ],
);

/** Every distinct version observed: one row per (workspace, id, last_updated_at_unix). */
export const batchCallHistory = pgTable(
  'batch_call_history',
  {
    ...batchCallColumns(),
    observed_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    run_id: bigint({ mode: 'number' }).references(() => syncRuns.id, { onDelete: 'set null' }),
    /** When the API changed this version's content without bumping its timestamp. */
    amended_at: timestamp({ withTimezone: true }),
    /**
     * End of this version's validity: the next version's last_updated_at, else the job's deleted_at, else
     * 'infinity'. Kept by triggers (migrations/0005_analytics_at_scale.sql) whoever writes either table, so
     * an as-of read is an index range instead of a window over all history.
     */
    valid_to: timestamp({ withTimezone: true }).notNull().default(sql`'infinity'`),
    /** Status of the previous version (null for a job's first): a status transition is a row where they differ. Kept by the same triggers. */
    previous_status: text(),
  },
  (t) => [
    primaryKey({ columns: [t.workspace, t.id, t.last_updated_at_unix] }),
    // Rows arrive in observed order, so a BRIN index stays a few pages and serves every "versions since" read.
    index('batch_call_history_observed_brin').using('brin', t.observed_at),
    // As of T: valid_to > T is a range; valid_from and the usual filters are in the index, so a count reads no heap.
    index('batch_call_history_valid_idx').on(t.valid_to, t.last_updated_at, t.workspace, t.status, t.agent_id),
    // Versions begin in about the order they are appended: as-of far in the past reads few block ranges.
    index('batch_call_history_valid_from_brin').using('brin', t.last_updated_at),
    // Retention nulls a deleted run's links (src/db/retention/) and the foreign key's SET NULL checks for any left:
    // both are one probe here, where the BRIN it replaced (0009) read every block range a run's id could be in.
    // Partial: versions detached from deleted runs leave it, so it holds only the links of the runs kept.
    index('batch_call_history_run_idx').on(t.run_id).where(sql`run_id IS NOT NULL`),
    // A job's first final version is one probe that reads no heap (bi_time_to_completion).
    index('batch_call_history_final_idx')
      .on(t.workspace, t.id, t.last_updated_at_unix, t.status, t.last_updated_at)
      .where(sql`status = ANY (ARRAY['completed'::text, 'failed'::text, 'cancelled'::text])`),
    // Status transitions by when they happened, read from the index alone (bi_status_transitions, bi_status_transition_events).
    // Versions by when they began, with what "which jobs changed since T" and batch_calls_count_as_of's part-day
    // return: a recent range of it is read without the heap. Appended at its right edge (versions arrive in about
    // this order).
    index('batch_call_history_changed_idx').on(t.last_updated_at, t.workspace, t.status, t.agent_id, t.valid_to, t.id),
    index('batch_call_history_transition_idx').on(t.last_updated_at, t.workspace, t.previous_status, t.status, t.id).where(sql`previous_status IS DISTINCT FROM status AND previous_status IS NOT NULL`),
  ],
);

/**
 * Versions first observed per workspace and UTC day (observed_at), kept by the history triggers
 * (migrations/0005_analytics_at_scale.sql): the status page's chart and the totals read a few rows per
 * workspace instead of counting history.
 */
export const batchCallHistoryDaily = pgTable(
  'batch_call_history_daily',
  {
    workspace: text().notNull(),
    day: date().notNull(),
    versions: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspace, t.day] })],
);

/**
 * Jobs per workspace, status and agent at the end of each day in the reporting time zone, stored as changes: a
 * version valid over [valid_from, valid_to) adds 1 on the first day whose end it is alive at and takes 1 away on the
 * first day whose end it is not, so the count at the end of day D is the sum of `jobs` up to D. Kept by the history
 * triggers and batch_call_history_restamp (migration 0013), rebuilt by set_report_time_zone(). A late version or a
 * delete mark changes two or three rows here, where a table of daily totals would rewrite every later day.
 */
export const batchCallDayChanges = pgTable(
  'batch_call_day_changes',
  {
    workspace: text().notNull(),
    status: text().notNull(),
    agent_id: text().notNull(),
    day: date().notNull(),
    jobs: bigint({ mode: 'number' }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspace, t.status, t.agent_id, t.day] })],
);

/**
 * Each job's first version in a final status, kept by the history triggers (migration 0013): bi_time_to_completion
 * reads one row per job instead of probing history for each.
 */
export const batchCallCompletion = pgTable(
  'batch_call_completion',
  {
    workspace: text().notNull(),
    id: text().notNull(),
    final_status: text().notNull(),
    final_at_unix: bigint({ mode: 'number' }).notNull(),
    final_at: timestamp({ withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspace, t.id] })],
);

/**
 * Jobs of each workspace not marked deleted, kept by triggers on batch_calls (migration 0013): a running walk's
 * expected size (the status page's ETA, the runaway-walk bound) is one row instead of a count of the workspace.
 */
export const batchCallsLive = pgTable('batch_call_live_jobs', {
  workspace: text().primaryKey(),
  jobs: bigint({ mode: 'number' }).notNull(),
});

/**
 * The newest API last_updated_at stored per workspace, kept by a statement trigger on history inserts (migration
 * 0012): bi_workspace_freshness reads one row a workspace instead of the newest version of batch_calls, which no
 * index orders (one would cost every version's update its HOT chance).
 */
export const batchCallHistoryNewest = pgTable('batch_call_history_newest', {
  workspace: text().primaryKey(),
  last_updated_at: timestamp({ withTimezone: true }).notNull(),
});

/**
 * One row: the reporting time zone (REPORT_TIME_ZONE) bi_daily_status_counts and bi_agent_performance_monthly count
 * days and months in. The views and batch_calls_live_day_idx / batch_calls_live_month_idx carry it as a literal (an
 * expression index needs an immutable expression): set_report_time_zone() (migration 0012) rebuilds them, so after
 * a change those two indexes no longer say 'UTC' as declared above, and this file is not the truth about them.
 */
export const reportSettings = pgTable(
  'report_settings',
  {
    id: boolean().primaryKey().default(true),
    time_zone: text().notNull().default('UTC'),
    changed_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [check('report_settings_one_row', sql`${t.id}`)],
);

/**
 * Items we could not store: kept verbatim with the reason, never silently dropped. One row per
 * workspace, item and reason: an item rejected on every run bumps `times_seen` and `last_seen_at`
 * instead of adding a row each time.
 */
export const rejectedRecords = pgTable(
  'rejected_records',
  {
    id: bigserial({ mode: 'number' }).primaryKey(),
    /** The latest run that met it. */
    run_id: bigint({ mode: 'number' })
      .notNull()
      .references(() => syncRuns.id, { onDelete: 'cascade' }),
    workspace: text().notNull(),
    /** Page of that run. */
    page: integer().notNull(),
    item_id: text(),
    /** What identifies the item: its id, or the hash of its raw text when it had no usable id. */
    item_key: text()
      .notNull()
      .generatedAlwaysAs(sql`COALESCE(item_id, md5(raw))`),
    reason: text().notNull(),
    /** The item's JSON text exactly as received, latest occurrence (text, not jsonb: it may hold what jsonb refuses). */
    raw: text().notNull(),
    first_seen_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    last_seen_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    times_seen: integer().notNull().default(1),
  },
  (t) => [
    index('rejected_records_run_idx').on(t.run_id),
    uniqueIndex('rejected_records_item_reason_idx').on(t.workspace, t.item_key, t.reason),
  ],
);

/**
 * Ids a reconciliation has seen so far, written with each page. Owned by its run until the run
 * ends: logged (a crash or restart of Postgres between attempts keeps them) and removed only when
 * the run finishes, fails for good, or a newer reconciliation of the same workspace replaces it.
 */
export const reconcileSeen = pgTable(
  'reconcile_seen',
  {
    run_id: bigint({ mode: 'number' })
      .notNull()
      .references(() => syncRuns.id, { onDelete: 'cascade' }),
    id: text().notNull(),
  },
  (t) => [primaryKey({ columns: [t.run_id, t.id] })],
);

/**
 * The request budget's tables (src/budget/postgres-store.ts, used when the queue lives in Postgres). A schema of
 * their own, fixed: the budget's store once created them at start in QUEUE_SCHEMA, which needed DDL from every
 * worker; here a migration owns them, and neither BI (public) nor BullMQ (QUEUE_SCHEMA) sees them.
 */
export const budgetSchema = pgSchema('threetone_budget');

/** One row per admitted request of a key (an API key's fingerprint), at the store's clock; rows older than the longest window go. */
export const requestBudgetLog = budgetSchema.table(
  'request_budget_log',
  {
    key: text().notNull(),
    at_ms: bigint({ mode: 'number' }).notNull(),
  },
  // No key: two requests of one key may be admitted in the same millisecond.
  (t) => [index('request_budget_log_key_at').on(t.key, t.at_ms)],
);

/** A block learned from the API (a 429, rate-limit headers at zero): nothing is admitted on the key until `until_ms`. */
export const requestBudgetBlock = budgetSchema.table('request_budget_block', {
  key: text().primaryKey(),
  until_ms: bigint({ mode: 'number' }).notNull(),
  reason: text().notNull(),
});

/** Postgres's 64-bit transaction id (pg_current_xact_id()): never wraps around, ordered, btree-indexable. Read as text. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

/**
 * The change feed: one entry per event the tables went through (src/feed/kinds.ts: created, updated, amended,
 * deleted, undeleted), written by triggers in the writing transaction (migrations/0011_change_feed.sql), whoever
 * writes. A reader's position is (xid, id); it reads entries after it whose transaction is below its snapshot's
 * xmin, so an entry whose transaction commits late is never skipped (src/db/feed/read-changes.ts).
 */
export const changeFeed = pgTable(
  'change_feed',
  {
    /** Stable: what a consumer deduplicates on. Taken before commit, so not the order (see xid). */
    id: bigserial({ mode: 'number' }).notNull(),
    /** The writing transaction (pg_current_xact_id()). */
    xid: xid8().notNull().default(sql`pg_current_xact_id()`),
    kind: text().notNull(),
    workspace: text().notNull(),
    job_id: text().notNull(),
    /** The version's last_updated_at_unix. */
    version: bigint({ mode: 'number' }).notNull(),
    status: text().notNull(),
    previous_status: text(),
    observed_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
    run_id: bigint({ mode: 'number' }),
  },
  // The only index: readers walk it as a range from their position; one btree insert per entry.
  (t) => [primaryKey({ columns: [t.xid, t.id] })],
);

/** Named readers of the feed and the position each acknowledged (src/db/feed/). */
export const feedConsumers = pgTable('feed_consumers', {
  name: text().primaryKey(),
  position_xid: xid8().notNull(),
  position_id: bigint({ mode: 'number' }).notNull(),
  created_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
  updated_at: timestamp({ withTimezone: true }).notNull().defaultNow(),
});
