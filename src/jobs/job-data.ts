import type { RunKind } from '../db/runs/start-run.ts';

/**
 * What a job carries in the queue store. Only the workspace's name: its API
 * key is looked up in config when the job runs, so Redis never holds it.
 */
export interface SyncJobData {
  workspace: string;
  kind: 'sync' | 'reconcile';
  trigger: 'schedule' | 'manual';
  /** A sync walks incrementally unless asked for every page (`sync --enqueue --full`). */
  full?: boolean;
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
