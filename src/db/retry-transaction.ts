import { findPostgresError } from '../errors/describe-error.ts';

/**
 * deadlock_detected and serialization_failure: Postgres rolled the transaction back for its timing alone, and the
 * same transaction run again commits. Two writers of one workspace (an incremental sync beside a reconciliation,
 * src/db/workspace-lock.ts) lock some of the same rows, in orders no single statement can fix for every trigger.
 */
const RETRYABLE = new Set(['40P01', '40001']);

/** Attempts in all, the first included: a deadlock repeating this often is no longer a matter of timing. */
export const TRANSACTION_ATTEMPTS = 5;

/** Runs `transaction` (a whole `sql.begin`) again while Postgres rolls it back for a deadlock or a serialization failure. */
export async function retryTransaction<T>(transaction: () => Promise<T>, attempts = TRANSACTION_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await transaction();
    } catch (error) {
      const code = findPostgresError(error)?.code;
      if (attempt >= attempts || code === undefined || !RETRYABLE.has(code)) throw error;
    }
  }
}
