import { ApiError } from './ApiError.ts';

/** A response larger than THREETONE_MAX_BODY_BYTES: not read further, and not retried (it would come back as large). */
export class ApiBodyTooLargeError extends ApiError {
  readonly limitBytes: number;

  constructor(req: { method: string; url: string; status: number }, limitBytes: number) {
    super(`API response body exceeds ${limitBytes} bytes (THREETONE_MAX_BODY_BYTES); refusing to read it`, req);
    this.limitBytes = limitBytes;
  }
}
