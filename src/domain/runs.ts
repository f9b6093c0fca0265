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
export type RunStatus = 'running' | 'succeeded' | 'failed' | 'interrupted';

/** Why a run stopped: recorded on the run row, labelled on metrics. */
export type StopReason = 'end' | 'caught_up' | 'error' | 'interrupted' | 'delete_guard' | 'lost_ownership';
