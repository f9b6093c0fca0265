/**
 * The vocabulary of runs, shared by the CLI, the queue's job data and the
 * `sync_runs` table, so that a word means the same thing everywhere.
 *
 * - `full`: walks every page (resumable);
 * - `incremental`: walks from the newest page and stops once caught up;
 * - `reconcile`: walks every page (resumable), then marks jobs the API no longer lists as deleted.
 */
export const RUN_KINDS = ['full', 'incremental', 'reconcile'] as const;
export type RunKind = (typeof RUN_KINDS)[number];

/**
 * `interrupted`: stopped on purpose (Ctrl-C, a worker's shutdown) after its
 * last committed page; the next run of its kind resumes from there. Not a
 * failure: it feeds no failure alert.
 */
export const RUN_STATUSES = ['running', 'succeeded', 'failed', 'interrupted'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];

/** Why a run stopped: recorded on the run row, labelled on metrics. */
export const STOP_REASONS = ['end', 'caught_up', 'error', 'interrupted', 'delete_guard', 'lost_ownership'] as const;
export type StopReason = (typeof STOP_REASONS)[number];

/** The stop reason of a reconciliation that refused to mark a mass delete (src/jobs/delete-guard.ts): named, since the refusals query and /metrics look for it. */
export const DELETE_GUARD = 'delete_guard' satisfies StopReason;

/**
 * The spec never says in which order the list comes. Deletes and the
 * incremental stop rule are only safe under orders where a job that changes
 * moves toward the head, so every walk checks the order it is actually served
 * in, page after page, instead of trusting one.
 *
 * - `created`: creation time never goes up along the walk and last update
 *   does: a job never moves;
 * - `updated`: last update never goes up, so a changed job may have jumped to
 *   the head (also when creation time never goes up either: a walk that cannot
 *   tell the two apart is treated as the one that needs more care);
 * - `unknown`: neither holds, so a job may have moved anywhere.
 *
 * Least trusted last. Watched by src/jobs/list-order.ts, recorded as `sync_runs.list_order`.
 */
export const LIST_ORDERS = ['created', 'updated', 'unknown'] as const;
export type ListOrder = (typeof LIST_ORDERS)[number];
