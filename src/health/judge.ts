import { formatAge, formatSpan, formatTime } from '../util/time-format.ts';

/**
 * How a workspace is doing, judged in one place so that the status page,
 * `status`, `/metrics` and the alert rules can never disagree.
 *
 * Worst first; a workspace takes the worst state that holds:
 * - `failing`: its newest finished runs failed (since its last success);
 * - `stuck`: a run is `running` but its process is gone (no session holds the
 *   workspace lock) or the run has shown no progress for `stuckAfterMs`;
 * - `stale`: its last success (or, never having succeeded, its first run) is
 *   older than `staleAfterMs`;
 * - `warning`: it syncs, but an operator must act or know: a reconciliation
 *   refused a mass delete, or the API lists jobs in an order we do not
 *   recognise (no deletes are marked until it does);
 * - `running`: a run is walking now and none of the above holds;
 * - `ok`.
 */
export const WORKSPACE_STATES = ['failing', 'stuck', 'stale', 'warning', 'running', 'ok'] as const;
export type WorkspaceState = (typeof WORKSPACE_STATES)[number];

/** The states an operator must look at; `running` and `ok` need nobody. */
export const ATTENTION_STATES: readonly WorkspaceState[] = ['failing', 'stuck', 'stale', 'warning'];

export interface RunningFacts {
  runId: number;
  kind: string;
  startedAt: Date;
  /** The run's start, its newest committed page, or the end of a long budget wait it announced. */
  aliveAt: Date;
  /** Whether a Postgres session holds the workspace lock: false once the run's process is gone. */
  ownerAlive: boolean;
  pages: number;
}

/** What the database knows of one workspace (src/db/health/workspace-facts.ts). */
export interface WorkspaceFacts {
  workspace: string;
  /** Start of its oldest run on record. */
  firstRunAt: Date;
  lastSuccessAt: Date | null;
  /** Failed runs started since the last success started (interrupted runs neither break nor extend it). */
  failing: { runs: number; since: Date; error: string | null } | null;
  running: RunningFacts[];
  /** The newest reconciliation that decided about deletes refused to mark a mass delete. */
  refusedReconcile: { at: Date; error: string | null } | null;
  /** The newest finished walk found the list in neither creation nor last-update order. */
  listOrderUnknown: boolean;
}

export interface HealthThresholds {
  /** A copy whose last success is older than this is stale. Default: 3 × SYNC_EVERY (STALE_AFTER). */
  staleAfterMs: number;
  /** A running run that has shown no progress for this long is stuck. Default 15 min (STUCK_AFTER). */
  stuckAfterMs: number;
  /** How often a sync is scheduled (SYNC_EVERY): said in the stale reason. */
  syncEveryMs: number;
}

export interface WorkspaceHealth {
  workspace: string;
  state: WorkspaceState;
  /** One line, for a person: why it is in its state ("failing since …, 12 runs: API key rejected (401)"). */
  reason: string;
  /** Other states that also hold, worst first (a failing workspace is usually stale too). */
  alsoStates: WorkspaceState[];
  stale: boolean;
  stuck: boolean;
  /** How long the copy has been without a success: since the last success, or since the first run when there was none. */
  copyAgeMs: number;
  /** Within a state, larger is worse: how long it has been so. */
  severityMs: number;
  facts: WorkspaceFacts;
}

/** Judges one workspace at `now`. Pure. */
export function judgeWorkspace(facts: WorkspaceFacts, thresholds: HealthThresholds, now: Date): WorkspaceHealth {
  const t = now.getTime();
  const found: { state: WorkspaceState; reason: string; severityMs: number }[] = [];

  if (facts.failing) {
    const f = facts.failing;
    const runs = `${f.runs} run${f.runs === 1 ? '' : 's'}`;
    found.push({
      state: 'failing',
      reason: `failing since ${formatTime(f.since)} (${formatAge(t - f.since.getTime())}), ${runs}: ${f.error ?? 'no error recorded'}`,
      severityMs: t - f.since.getTime(),
    });
  }

  const stuck = facts.running.map((run) => stuckReason(run, thresholds, t)).find((s) => s !== null) ?? null;
  if (stuck) found.push({ state: 'stuck', ...stuck });

  const copySince = facts.lastSuccessAt ?? facts.firstRunAt;
  const copyAgeMs = t - copySince.getTime();
  const stale = copyAgeMs > thresholds.staleAfterMs;
  if (stale) {
    const expected = `expected every ${formatSpan(thresholds.syncEveryMs)}`;
    const reason =
      facts.lastSuccessAt === null
        ? `stale: never succeeded; first run ${formatAge(copyAgeMs)}, ${expected}`
        : `stale: last success ${formatAge(copyAgeMs)}, ${expected}`;
    found.push({ state: 'stale', reason, severityMs: copyAgeMs });
  }

  if (facts.refusedReconcile) {
    const r = facts.refusedReconcile;
    found.push({
      state: 'warning',
      reason: `reconciliation refused a mass delete at ${formatTime(r.at)}: ${r.error ?? 'it would have marked too many jobs deleted'}`,
      severityMs: t - r.at.getTime(),
    });
  } else if (facts.listOrderUnknown) {
    found.push({ state: 'warning', reason: 'list order not recognised: incremental syncs walk every page and reconciliations mark no deletes', severityMs: 0 });
  }

  const walking = facts.running[0];
  if (walking) {
    found.push({
      state: 'running',
      reason: `running ${walking.kind} since ${formatTime(walking.startedAt)}: ${walking.pages} page${walking.pages === 1 ? '' : 's'} so far`,
      severityMs: t - walking.startedAt.getTime(),
    });
  }

  if (found.length === 0) {
    found.push({ state: 'ok', reason: `last success ${formatAge(copyAgeMs)}`, severityMs: 0 });
  }
  found.sort((a, b) => WORKSPACE_STATES.indexOf(a.state) - WORKSPACE_STATES.indexOf(b.state));
  const worst = found[0]!;
  return {
    workspace: facts.workspace,
    state: worst.state,
    reason: worst.reason,
    alsoStates: [...new Set(found.slice(1).map((f) => f.state))],
    stale,
    stuck: stuck !== null,
    copyAgeMs,
    severityMs: worst.severityMs,
    facts,
  };
}

function stuckReason(run: RunningFacts, thresholds: HealthThresholds, t: number): { reason: string; severityMs: number } | null {
  const quietMs = t - run.aliveAt.getTime();
  if (!run.ownerAlive) {
    return {
      reason: `stuck: run ${run.runId} (${run.kind}) is marked running but its process is gone (no worker holds the workspace lock); last progress ${formatAge(quietMs)}`,
      severityMs: quietMs,
    };
  }
  if (quietMs > thresholds.stuckAfterMs) {
    return { reason: `stuck: run ${run.runId} (${run.kind}) has made no progress for ${formatSpan(quietMs)}`, severityMs: quietMs };
  }
  return null;
}

/** Worst first: by state, then the longest in it, then by name (so the order is stable between two loads). */
export function worstFirst(a: WorkspaceHealth, b: WorkspaceHealth): number {
  return (
    WORKSPACE_STATES.indexOf(a.state) - WORKSPACE_STATES.indexOf(b.state) ||
    b.severityMs - a.severityMs ||
    (a.workspace < b.workspace ? -1 : a.workspace > b.workspace ? 1 : 0)
  );
}

/** How many workspaces are in each state. */
export function countStates(all: readonly WorkspaceHealth[]): Record<WorkspaceState, number> {
  const counts = Object.fromEntries(WORKSPACE_STATES.map((s) => [s, 0])) as Record<WorkspaceState, number>;
  for (const h of all) counts[h.state]++;
  return counts;
}

/** The default STALE_AFTER: three missed syncs, the rule the alert has always used. */
export function defaultStaleAfterMs(syncEveryMs: number): number {
  return 3 * syncEveryMs;
}
