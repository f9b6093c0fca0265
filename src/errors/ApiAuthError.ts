import { ApiError } from './ApiError.ts';

/**
 * 401 or 403: retrying cannot help, the key or its access must change. The message names where the key was configured
 * (`keySource`, e.g. `THREETONE_WORKSPACES["acme"]`), never the key: it is what an operator reads in sync_runs.error,
 * the status page and the CLI, and with several workspaces "the API key" alone does not say which setting to fix.
 */
export class ApiAuthError extends ApiError {
  readonly keySource: string | undefined;

  constructor(req: { method: string; url: string; status: 401 | 403 }, detail: string | undefined, keySource?: string) {
    const what =
      req.status === 401
        ? 'API key rejected (401)'
        : 'API key lacks access to this workspace (403)';
    super(`${what}${detail ? `: ${detail}` : ''}; check ${keySource ?? 'the API key'}`, req);
    this.keySource = keySource;
  }
}
