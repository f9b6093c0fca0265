import type { Config, WorkspaceConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import { runDeduplicationId, type SyncJobData } from './job-data.ts';
import { runJobOptions, type SyncQueue } from './queue.ts';

const PREFIXES = ['sync:', 'reconcile:'] as const;

/**
 * One `every` scheduler (sync) and one cron scheduler (reconciliation) per
 * workspace. upsertJobScheduler is idempotent by id, so every worker may call
 * this at start: three workers or ten restarts leave one scheduler each, and
 * a changed SYNC_EVERY replaces the old interval. Schedulers of workspaces no
 * longer configured are removed.
 */
export async function registerSchedules(queue: SyncQueue, config: Pick<Config, 'worker'>, workspaces: WorkspaceConfig[], log: Logger): Promise<void> {
  const { syncEveryMs, reconcileCron, reconcileTz } = config.worker;
  // Ticks are tiny and must not pile up; the runs they enqueue carry the retry policy.
  const tickOpts = { removeOnComplete: true, removeOnFail: { count: 100 } };
  for (const { name } of workspaces) {
    const sync: SyncJobData = { workspace: name, kind: 'incremental', trigger: 'schedule' };
    await queue.upsertJobScheduler(`sync:${name}`, { every: syncEveryMs }, { name: 'tick', data: sync, opts: tickOpts });
    const reconcile: SyncJobData = { workspace: name, kind: 'reconcile', trigger: 'schedule' };
    await queue.upsertJobScheduler(`reconcile:${name}`, { pattern: reconcileCron, tz: reconcileTz }, { name: 'tick', data: reconcile, opts: tickOpts });
  }
  const wanted = new Set(workspaces.flatMap(({ name }) => PREFIXES.map((p) => `${p}${name}`)));
  for (const scheduler of await queue.getJobSchedulers(0, -1, true)) {
    const id = scheduler.key;
    if (PREFIXES.some((p) => id.startsWith(p)) && !wanted.has(id)) {
      await queue.removeJobScheduler(id);
      log.info({ scheduler: id }, 'removed the schedule of a workspace no longer configured');
    }
  }
  log.info({ workspaces: workspaces.map((w) => w.name), syncEveryMs, reconcileCron, reconcileTz }, 'schedules registered');
}

/** Adds a one-off run (a tick's work, or `sync --enqueue`), unless one is already pending or running. */
export async function enqueueRun(queue: SyncQueue, config: Pick<Config, 'worker'>, data: SyncJobData): Promise<{ jobId: string | undefined }> {
  const job = await queue.add('run', data, { ...runJobOptions(config), deduplication: { id: runDeduplicationId(data) } });
  return { jobId: job.id };
}
