import { ApiError } from './ApiError.ts';

/** A response that may succeed when tried again: 408, 425, 429 and 5xx. */
export class ApiHttpError extends ApiError {
  /** From `Retry-After`, when the server sent one. */
  readonly retryAfterMs: number | undefined;

  constructor(req: { method: string; url: string; status: number }, retryAfterMs?: number) {
    const what =
      req.status === 429 ? 'rate limited by the API (429)' : req.status >= 500 ? `API server error (${req.status})` : `the API asked to try again later (${req.status})`;
    super(what, req);
    this.retryAfterMs = retryAfterMs;
  }
}
