import { ApiError } from './ApiError.ts';

/** The connection failed, was reset, or no complete response arrived within the timeout. */
export class ApiNetworkError extends ApiError {
  readonly timedOut: boolean;

  constructor(req: { method: string; url: string; status?: number }, timedOut: boolean, cause: unknown) {
    const code = networkCode(cause);
    // The host, not the whole URL: enough to spot a wrong THREETONE_BASE_URL, and a network error is mostly that or an outage.
    const host = hostOf(req.url);
    super(timedOut ? `API request to ${host} timed out` : `cannot reach the API at ${host}${code ? ` (${code})` : ''}; check THREETONE_BASE_URL`, req, { cause });
    this.timedOut = timedOut;
  }
}

function hostOf(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'an invalid URL';
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
