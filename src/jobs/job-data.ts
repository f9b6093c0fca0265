import { UnrecoverableError } from 'bullmq';
import { z } from 'zod';
import { RUN_KINDS, type RunKind } from '../domain/runs.ts';

/**
 * Jobs queued by a version before run kinds had one vocabulary carried
 * `kind: 'sync'`, a walk of every page only with `full: true`. They may still
 * wait in the store (or be fired by an older worker's scheduler during a
 * rolling deploy), so they are read as what they meant.
 */
function fromLegacyKind(data: unknown): unknown {
  if (typeof data !== 'object' || data === null || (data as { kind?: unknown }).kind !== 'sync') return data;
  const { full, ...rest } = data as { full?: unknown; [key: string]: unknown };
  return { ...rest, kind: (full === true ? 'full' : 'incremental') satisfies RunKind };
}

/**
 * What a job carries in the queue store. Only the workspace's name: its API
 * key is looked up in config when the job runs, so Redis never holds it.
 * Strict: a job with anything else in it (a key pasted in by hand, a field of
 * a future version) is refused rather than guessed at.
 */
export const syncJobDataSchema = z.preprocess(
  fromLegacyKind,
  z.strictObject({
    workspace: z.string().min(1),
    kind: z.enum(RUN_KINDS),
    trigger: z.enum(['schedule', 'manual']),
  }),
);

export type SyncJobData = z.output<typeof syncJobDataSchema>;

/** Job names and the data each carries: `tick` (fired by a schedule) and `run` (one run) both carry SyncJobData. */
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

/**
 * One pending or active run per workspace and lane: BullMQ drops a second add
 * while the key is held. Full and incremental walks share the `sync` lane (the
 * id older versions used), so a manual full walk and a scheduled incremental
 * one do not queue up behind each other.
 */
export function runDeduplicationId(data: Pick<SyncJobData, 'workspace' | 'kind'>): string {
  return `run:${data.kind === 'reconcile' ? 'reconcile' : 'sync'}:${data.workspace}`;
}
