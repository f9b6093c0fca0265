/** The API's pagination cannot be followed safely: continuing would loop or skip silently. */
export class CursorError extends Error {
  readonly page: number;

  constructor(message: string, page: number) {
    super(`${message} (after page ${page})`);
    this.name = this.constructor.name;
    this.page = page;
  }
}
