import type { RunRow } from '../db/runs/latest-runs.ts';
import type { RunningWalk } from '../db/runs/running-walks.ts';
import { walkProgress } from '../jobs/walk-progress.ts';
import type { SyncSummary } from '../jobs/sync-run.ts';
import type { RunKind } from '../domain/runs.ts';
import { formatAge, formatTime, humanDuration, isoTime, parsePgTime } from '../util/time-format.ts';
import { counterColumns, RUN_COUNTER_COLUMNS, RUN_COUNTERS, SHOWN_COUNTERS } from '../domain/run-counters.ts';

/**
 * What `status`, `status --json`, `sync` and `reconcile` print about a run:
 * one naming style (the tables' snake_case), ISO 8601 times in UTC, and the
 * stop reason, duration and age next to the counts.
 */
export type RunLine = {
  workspace: string;
  run_id: number;
  kind: string;
  status: string;
  stop_reason: string | null;
  started_at: string;
  finished_at: string | null;
  duration_ms: number | null;
  /** Since the run finished (or started, while running). */
  age_ms: number;
  error: string | null;
} & Record<(typeof RUN_COUNTER_COLUMNS)[(typeof SHOWN_COUNTERS)[number]], number>;


export function runLine(run: RunRow, now: Date): RunLine {
  const started = parsePgTime(run.started_at);
  const finished = run.finished_at === null ? null : parsePgTime(run.finished_at);
  return {
    workspace: run.workspace,
    run_id: run.id,
    kind: run.kind,
    status: run.status,
    stop_reason: run.stop_reason,
    started_at: formatTime(started),
    finished_at: finished === null ? null : formatTime(finished),
    duration_ms: finished === null ? null : finished.getTime() - started.getTime(),
    age_ms: now.getTime() - (finished ?? started).getTime(),
    ...counterColumns(run.counters, SHOWN_COUNTERS),
    error: run.error,
  };
}

/** The same run for a table a person reads: duration and age in words. */
export function readable(line: RunLine): Record<string, unknown> {
  const { duration_ms, age_ms, ...rest } = line;
  return { ...rest, duration: duration_ms === null ? '' : humanDuration(duration_ms), age: formatAge(age_ms) };
}


/** A run this process just finished, in the same words as `status`. */
export function summaryLine(s: SyncSummary): Record<string, unknown> {
  return {
    workspace: s.workspace,
    run_id: s.runId,
    kind: s.kind,
    status: s.status,
    stop_reason: s.stopReason,
    ...counterColumns(s, SUMMARY_COUNTERS),
    duration: humanDuration(s.durationMs),
  };
}

/** Every counter but undeletes (a reconciliation's own table says those). */
const SUMMARY_COUNTERS = RUN_COUNTERS.filter((name) => name !== 'undeleted');

export const SUMMARY_COLUMNS = ['workspace', 'run_id', 'kind', 'status', 'stop_reason', ...SUMMARY_COUNTERS.map((name) => RUN_COUNTER_COLUMNS[name]), 'duration'];

/** A walk in progress: how far it is, how far it should go, and when it should be done. */
export interface WalkLine {
  workspace: string;
  run_id: number;
  kind: string;
  started_at: string;
  pages: number;
  /** From the rows the copy holds; null for an incremental walk, which stops early. */
  expected_pages: number | null;
  items_seen: number;
  eta_ms: number | null;
}

export function walkLine(walk: RunningWalk, now: Date, pageSize: number): WalkLine {
  const progress = walkProgress(walk, now.getTime(), pageSize);
  return {
    workspace: walk.workspace,
    run_id: walk.id,
    kind: walk.kind,
    started_at: isoTime(walk.started_at),
    pages: walk.counters.pages,
    // The row's kind is plain text, so the word it is compared with is checked against the vocabulary instead.
    expected_pages: walk.kind === ('incremental' satisfies RunKind) ? null : progress.expectedPages,
    items_seen: walk.counters.itemsSeen,
    eta_ms: progress.etaMs,
  };
}

export function readableWalk(line: WalkLine): Record<string, unknown> {
  const { eta_ms, expected_pages, ...rest } = line;
  return { ...rest, of: expected_pages === null ? '' : `~${expected_pages}`, eta: eta_ms === null ? '' : humanDuration(eta_ms) };
}

export const WALK_COLUMNS = ['workspace', 'run_id', 'kind', 'started_at', 'pages', 'of', 'items_seen', 'eta'];
