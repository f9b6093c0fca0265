import type { RunStatus, StopReason } from '../domain/runs.ts';
import { describeError } from '../errors/describe-error.ts';
import { isPermanent } from '../errors/is-permanent.ts';
import { ReconcileRefusedError } from '../errors/ReconcileRefusedError.ts';
import { RunOwnershipLostError } from '../errors/RunOwnershipLostError.ts';

export interface StoppedRun {
  status: Exclude<RunStatus, 'running' | 'succeeded'>;
  stopReason: StopReason;
  /** One line for the run row, the log and the job. */
  message: string;
  /** False when a retry would fail the same way: the next attempt starts from the top. */
  resumable: boolean;
}

/**
 * What a run that threw is recorded as. Asked to stop (Ctrl-C, a worker's
 * shutdown) is `interrupted`, not a failure: the next run resumes after the
 * last committed page, and no failure alert fires on a deploy.
 */
export function stoppedRun(error: unknown, asked: AbortSignal | undefined): StoppedRun {
  if (asked?.aborted && !(error instanceof RunOwnershipLostError)) {
    return {
      status: 'interrupted',
      stopReason: 'interrupted',
      message: `interrupted (${describeError(asked.reason)}); the next run resumes after the last committed page`,
      resumable: true,
    };
  }
  const stopReason: StopReason =
    error instanceof RunOwnershipLostError ? 'lost_ownership' : error instanceof ReconcileRefusedError ? 'delete_guard' : 'error';
  return { status: 'failed', stopReason, message: describeError(error), resumable: !isPermanent(error) };
}
