import { ApiError } from './ApiError.ts';

/** A 200 whose body is not the page the spec describes (HTML, broken JSON, wrong envelope). */
export class ApiBodyError extends ApiError {
  constructor(req: { method: string; url: string; status: number }, problem: string) {
    super(`API returned an unusable body: ${problem}`, req);
  }
}
