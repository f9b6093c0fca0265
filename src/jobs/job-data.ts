import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import type { RunKind } from '../db/runs/start-run.ts';

/**
 * What a job carries in the queue store. Only the workspace's name: its API
 * key is looked up in config when the job runs, so Redis never holds it.
 * Strict: a job with anything else in it (a key pasted in by hand, a field of
 * a future version) is refused rather than guessed at.
 */
export const syncJobDataSchema = z.strictObject({
  workspace: z.string().min(1),
  kind: z.enum(['sync', 'reconcile']),
  trigger: z.enum(['schedule', 'manual']),
  /** A sync walks incrementally unless asked for every page (`sync --enqueue --full`). */
  full: z.boolean().optional(),
});

export type SyncJobData = z.output<typeof syncJobDataSchema>;

/** Job names and the data each carries: `tick` (fired by a schedule) and `run` (one sync) both carry SyncJobData. */
export const JOB_DATA = { tick: syncJobDataSchema, run: syncJobDataSchema } as const;

/**
 * The data of a job just taken from the queue, checked: the store is outside
 * this process, and a job that does not parse would only fail the same way
 * on every retry, so it fails for good with one line.
 */
export function parseJobData(name: string, data: unknown): SyncJobData {
  const schema = JOB_DATA[name as keyof typeof JOB_DATA];
  if (!schema) throw new UnrecoverableError(`unknown job name "${name}"`);
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'data'}: ${i.message}`).join('; ');
    throw new UnrecoverableError(`job "${name}" carries data this version cannot run (${issues})`);
  }
  return parsed.data;
}

/** The run a job asks for. */
export function runKindOf(data: Pick<SyncJobData, 'kind' | 'full'>): RunKind {
  if (data.kind === 'reconcile') return 'reconcile';
  return data.full ? 'sync' : 'incremental';
}

/** One pending or active run per workspace and kind: BullMQ drops a second add while the key is held. */
export function runDeduplicationId(data: Pick<SyncJobData, 'workspace' | 'kind'>): string {
  return `run:${data.kind}:${data.workspace}`;
}
