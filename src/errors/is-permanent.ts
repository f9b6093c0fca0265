import { ApiAuthError } from './ApiAuthError.ts';
import { ApiBodyTooLargeError } from './ApiBodyTooLargeError.ts';
import { ApiRequestRejectedError } from './ApiRequestRejectedError.ts';
import { ConfigError } from './ConfigError.ts';
import { CursorError } from './CursorError.ts';
import { ReconcileRefusedError } from './ReconcileRefusedError.ts';

/** Failures that a retry would repeat: the key, the request, the API's pagination, our config or an operator's decision must change first. */
export function isPermanent(error: unknown): boolean {
  return (
    error instanceof ApiAuthError ||
    error instanceof ApiBodyTooLargeError ||
    error instanceof ApiRequestRejectedError ||
    error instanceof CursorError ||
    error instanceof ConfigError ||
    error instanceof ReconcileRefusedError
  );
}
