/** The retry policy gave up; `cause` is the last error. */
export class RetriesExhaustedError extends Error {
  readonly attempts: number;

  constructor(attempts: number, cause: Error, why: string) {
    super(`${cause.message} (${why} after ${attempts} attempt${attempts === 1 ? '' : 's'})`, { cause });
    this.name = this.constructor.name;
    this.attempts = attempts;
  }
}
