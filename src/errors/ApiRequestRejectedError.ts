import { ApiError } from './ApiError.ts';

/** 422 (or another 4xx that is not auth or rate limiting): our request is wrong; retrying repeats the mistake. */
export class ApiRequestRejectedError extends ApiError {
  constructor(req: { method: string; url: string; status: number }, detail: string | undefined) {
    super(`API rejected the request (${req.status})${detail ? `: ${detail}` : ''}`, req);
  }
}
