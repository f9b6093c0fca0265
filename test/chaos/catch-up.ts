import type postgres from 'postgres';
import type { Fleet } from './fleet.ts';
import type { ChaosQueue } from './queue.ts';
import type { ChaosRecord } from './record.ts';
import { sleep } from './services.ts';

export interface CatchUpResult {
  ok: boolean;
  ms: number;
  /** Per workspace, the reconciliation that proved the copy caught up. */
  reconciles: Record<string, number>;
  /** Reconciliations seen failing meanwhile (each attempt once). */
  failedReconciles: number;
  enqueued: number;
  /** Why it did not catch up in time, one line each. */
  problems: string[];
}

interface RunRow {
  id: number;
  workspace: string;
  status: string;
  stopReason: string | null;
  error: string | null;
  attempts: number;
  startedAt: Date;
}

const POLL_MS = 500;
const ENQUEUE_EVERY_MS = 2_000;

/**
 * Waits until every workspace has a reconciliation that started after
 * `since` (the API's last change) and succeeded, asking for one every few
 * seconds (the queue drops a request while one is pending). Bounded by
 * `timeoutMs`.
 */
export async function catchUp(
  deps: { sql: postgres.Sql; queue: ChaosQueue; fleet: Fleet; record: ChaosRecord; workspaces: string[] },
  since: number,
  timeoutMs: number,
): Promise<CatchUpResult> {
  const { sql, queue, fleet, record, workspaces } = deps;
  const started = Date.now();
  const deadline = started + timeoutMs;
  const reconciles: Record<string, number> = {};
  const lastAsked = new Map<string, number>();
  const failuresSeen = new Set<string>();
  const latest = new Map<string, RunRow>();
  let enqueued = 0;

  for (;;) {
    // A worker that crashed meanwhile is started again (the fleet does that too, a second later).
    await fleet.ensureRunning(0);
    const rows = await sql<RunRow[]>`
      select id::int, workspace, status, stop_reason as "stopReason", error, attempts, started_at as "startedAt"
      from sync_runs
      where kind = 'reconcile' and (started_at > ${new Date(since)} or finished_at > ${new Date(started)} or status = 'running')
      order by id`.catch(() => undefined);
    for (const run of rows ?? []) {
      latest.set(run.workspace, run);
      if (run.status === 'succeeded' && run.startedAt.getTime() > since) reconciles[run.workspace] ??= run.id;
      const key = `${run.id}/${run.attempts}`;
      if (run.status === 'failed' && !failuresSeen.has(key)) {
        failuresSeen.add(key);
        record.add('reconcile-failed', { workspace: run.workspace, runId: run.id, attempts: run.attempts, stopReason: run.stopReason, error: run.error });
      }
    }
    const pending = workspaces.filter((w) => reconciles[w] === undefined);
    for (const workspace of pending) {
      if (Date.now() - (lastAsked.get(workspace) ?? 0) < ENQUEUE_EVERY_MS) continue;
      lastAsked.set(workspace, Date.now());
      if (await queue.enqueue(workspace, 'reconcile')) enqueued++;
    }
    if (pending.length === 0) return { ok: true, ms: Date.now() - started, reconciles, failedReconciles: failuresSeen.size, enqueued, problems: [] };
    if (Date.now() > deadline) {
      const problems = pending.map((w) => {
        const run = latest.get(w);
        const last = run ? `latest reconcile run ${run.id} ${run.status}${run.error ? `: ${run.error}` : ''}` : 'no reconcile run since';
        return `${w}: no reconciliation started after ${new Date(since).toISOString()} succeeded (${last})`;
      });
      const down = fleet.names.filter((n) => !fleet.isRunning(n));
      if (down.length > 0) problems.push(`workers not running: ${down.join(', ')}`);
      return { ok: false, ms: Date.now() - started, reconciles, failedReconciles: failuresSeen.size, enqueued, problems };
    }
    await sleep(POLL_MS);
  }
}

/**
 * The job schedulers every worker registers at start (src/jobs/schedules.ts):
 * without them nothing syncs unless asked. Waits up to `timeoutMs` for them
 * to be back; returns the ids still missing.
 */
export async function missingSchedules(queue: ChaosQueue, workspaces: string[], timeoutMs: number): Promise<string[]> {
  const wanted = workspaces.flatMap((w) => [`sync:${w}`, `reconcile:${w}`]);
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const present = await queue.schedulers();
    const missing = present === undefined ? ['(the queue store did not answer)'] : wanted.filter((id) => !present.includes(id));
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(POLL_MS);
  }
}
