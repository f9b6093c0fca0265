import type { Config } from '../../src/config.ts';
import type { RunKind } from '../../src/domain/runs.ts';
import { openQueueStore } from '../../src/jobs/queue.ts';
import { enqueueRun } from '../../src/jobs/schedules.ts';
import { withTimeout } from '../../src/util/with-timeout.ts';

/**
 * The chaos run's hand on the workers' queue: the same store, the same job
 * options and deduplication as a schedule's tick or `sync --enqueue`. Every
 * call is bounded: the queue's Redis client waits for a Redis that is down
 * instead of failing.
 */
export interface ChaosQueue {
  /** Adds a manual run unless one of its lane is pending; false if the store did not answer in time. */
  enqueue(workspace: string, kind: RunKind): Promise<boolean>;
  /** Ids of the job schedulers in the store, or undefined if it did not answer in time. */
  schedulers(): Promise<string[] | undefined>;
  close(): Promise<void>;
}

const BOUND_MS = 3_000;

export function openChaosQueue(config: Config): ChaosQueue {
  const store = openQueueStore(config, config.databaseUrl!);
  const queue = store.openQueue();
  // Errors while Redis is down are expected here; the bounded calls say what matters.
  queue.on('error', () => undefined);
  return {
    async enqueue(workspace, kind) {
      try {
        await withTimeout(enqueueRun(queue, config, { workspace, kind, trigger: 'manual' }), BOUND_MS, 'enqueue');
        return true;
      } catch {
        return false;
      }
    },
    async schedulers() {
      try {
        const list = await withTimeout(queue.getJobSchedulers(0, -1, true), BOUND_MS, 'job schedulers');
        return list.map((s) => s.key);
      } catch {
        return undefined;
      }
    },
    async close() {
      await withTimeout(queue.close(), BOUND_MS, 'closing the queue').catch(() => queue.disconnect());
      await withTimeout(store.close(), BOUND_MS, 'closing the queue store').catch(() => undefined);
    },
  };
}
