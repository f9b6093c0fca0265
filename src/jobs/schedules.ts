import type { Config, WorkspaceConfig } from '../config.ts';
import { describeError } from '../errors/describe-error.ts';
import type { Logger } from '../log.ts';
import { runDeduplicationId, type SyncJobData } from './job-data.ts';
import { runJobOptions, type SyncQueue } from './queue.ts';

const PREFIXES = ['sync:', 'reconcile:'] as const;

export interface RegisterOptions {
  /** A refresh: log only schedules that were missing (the store lost them), not the routine line. */
  refresh?: boolean;
}

/**
 * One `every` scheduler (sync) and one cron scheduler (reconciliation) per
 * workspace. upsertJobScheduler is idempotent by id, so every worker may call
 * this at start and again at any time: three workers or ten restarts leave one
 * scheduler each, and a changed SYNC_EVERY replaces the old interval.
 * Upserting an existing scheduler with the same interval or pattern replaces
 * its pending tick at the same time (BullMQ 6's addJobScheduler keeps its
 * `prevMillis`), so a refresh neither moves the next tick nor adds one; a
 * scheduler the store lost starts again with a tick at once. Schedulers of
 * workspaces no longer configured are removed. Returns the ids that were missing.
 */
export async function registerSchedules(
  queue: SyncQueue,
  config: Pick<Config, 'worker'>,
  workspaces: WorkspaceConfig[],
  log: Logger,
  options: RegisterOptions = {},
): Promise<{ missing: string[] }> {
  const { syncEveryMs, reconcileCron, reconcileTz } = config.worker;
  const schedulers = await queue.getJobSchedulers(0, -1, true);
  const existing = new Set(schedulers.map((scheduler) => scheduler.key));
  const wanted = new Set(workspaces.flatMap(({ name }) => PREFIXES.map((p) => `${p}${name}`)));
  // A refresh upserts only what is missing or timed otherwise: every worker refreshes every minute, and upserting
  // all of them was two scripts per workspace per worker per minute, the largest Redis cost of a fleet at rest
  // (bench/fleet.ts: 1,000 workspaces, 2 workers, 67 scripts a second). The start upserts all, templates included.
  const current = new Set(
    options.refresh
      ? schedulers
          .filter((s) => (s.key.startsWith('sync:') ? Number(s.every) === syncEveryMs : s.pattern === reconcileCron && (s.tz ?? 'UTC') === reconcileTz))
          .map((s) => s.key)
      : [],
  );
  // Ticks are tiny and must not pile up; the runs they enqueue carry the retry policy.
  const tickOpts = { removeOnComplete: true, removeOnFail: { count: 100 } };
  for (const { name } of workspaces) {
    if (!current.has(`sync:${name}`)) {
      const sync: SyncJobData = { workspace: name, kind: 'incremental', trigger: 'schedule' };
      await queue.upsertJobScheduler(`sync:${name}`, { every: syncEveryMs }, { name: 'tick', data: sync, opts: tickOpts });
    }
    if (!current.has(`reconcile:${name}`)) {
      const reconcile: SyncJobData = { workspace: name, kind: 'reconcile', trigger: 'schedule' };
      await queue.upsertJobScheduler(`reconcile:${name}`, { pattern: reconcileCron, tz: reconcileTz }, { name: 'tick', data: reconcile, opts: tickOpts });
    }
  }
  for (const id of existing) {
    if (PREFIXES.some((p) => id.startsWith(p)) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      log.info({ scheduler: id }, 'removed the schedule of a workspace no longer configured');
    }
  }
  const missing = [...wanted].filter((id) => !existing.has(id));
  if (!options.refresh) {
    log.info({ workspaces: workspaces.map((w) => w.name), syncEveryMs, reconcileCron, reconcileTz }, 'schedules registered');
  } else if (missing.length > 0) {
    log.warn({ schedulers: missing }, `schedules missing from the queue store (was it emptied?), registered again: ${missing.join(', ')}`);
  }
  return { missing };
}

/** How often a worker registers its schedules again: a few cheap idempotent commands per workspace. */
export const SCHEDULE_REFRESH_MS = 60_000;

export interface ScheduleKeeper {
  /** Registers again now (after a reconnect); a refresh under way is followed by one more. */
  refresh(): void;
  /** Stops the timer; a refresh under way is left to end by itself (closing the queue ends it). */
  stop(): void;
}

/**
 * Keeps the schedules in the queue store, which may lose them (a Redis
 * restarted without persistence, a failover to an empty replica): without
 * this, every schedule stops until a worker restarts. `register` runs every
 * `everyMs` and on `refresh()`, one at a time; its failures are logged, and
 * the next refresh tries again.
 */
export function keepSchedules(register: () => Promise<unknown>, log: Logger, everyMs = SCHEDULE_REFRESH_MS): ScheduleKeeper {
  let running = false;
  let again = false;
  let stopped = false;
  const refresh = () => {
    if (stopped) return;
    if (running) {
      again = true;
      return;
    }
    running = true;
    register()
      .catch((error: unknown) => {
        // Closing the queue under a refresh that waits for Redis fails it: that is no news.
        if (!stopped) log.warn({ error: describeError(error) }, `could not register the schedules again: ${describeError(error)}`);
      })
      .finally(() => {
        running = false;
        if (again) {
          again = false;
          refresh();
        }
      });
  };
  const timer = setInterval(refresh, everyMs);
  timer.unref();
  return {
    refresh,
    stop() {
      stopped = true;
      clearInterval(timer);
    },
  };
}

/** Adds a one-off run (a tick's work, or `sync --enqueue`), unless one is already pending or running. */
export async function enqueueRun(queue: SyncQueue, config: Pick<Config, 'worker'>, data: SyncJobData): Promise<{ jobId: string | undefined }> {
  const job = await queue.add('run', data, { ...runJobOptions(config), deduplication: { id: runDeduplicationId(data) } });
  return { jobId: job.id };
}
