import { ApiError } from './ApiError.ts';

/** 401 or 403: retrying cannot help, the key or its access must change. */
export class ApiAuthError extends ApiError {
  constructor(req: { method: string; url: string; status: 401 | 403 }, detail: string | undefined) {
    const what =
      req.status === 401
        ? 'API key rejected (401)'
        : 'API key lacks access to this workspace (403)';
    super(`${what}${detail ? `: ${detail}` : ''}; check THREETONE_API_KEY`, req);
  }
}
