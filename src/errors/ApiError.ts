/**
 * Base of every error raised while talking to the Threetone API. Carries the
 * request's method, URL and (when there was a response) status — never its
 * headers, so the API key cannot leak through an error.
 */
export class ApiError extends Error {
  readonly method: string;
  readonly url: string;
  readonly status: number | undefined;

  constructor(message: string, req: { method: string; url: string; status?: number }, options?: { cause?: unknown }) {
    super(message, options);
    this.name = this.constructor.name;
    this.method = req.method;
    this.url = req.url;
    this.status = req.status;
  }
}
