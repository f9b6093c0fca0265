import { ApiError } from './ApiError.ts';

/** The connection failed, was reset, or no complete response arrived within the timeout. */
export class ApiNetworkError extends ApiError {
  readonly timedOut: boolean;

  constructor(req: { method: string; url: string; status?: number }, timedOut: boolean, cause: unknown) {
    const code = networkCode(cause);
    super(timedOut ? 'API request timed out' : `API connection failed${code ? ` (${code})` : ''}`, req, { cause });
    this.timedOut = timedOut;
  }
}

function networkCode(cause: unknown): string | undefined {
  let err: unknown = cause;
  for (let depth = 0; depth < 4 && err instanceof Error; depth++) {
    const code = (err as { code?: unknown }).code;
    if (typeof code === 'string') return code;
    err = err.cause;
  }
  return undefined;
}
