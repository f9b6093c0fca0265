import { CursorError } from './CursorError.ts';

/** A walk took more pages than the workspace can fill: the API keeps answering has_more, so following it would never end. */
export class WalkTooLongError extends CursorError {
  constructor(limit: number, distinctIds: number, page: number) {
    super(
      `walk stopped at ${limit} pages without reaching the end (${distinctIds} distinct jobs listed): the API keeps answering has_more; nothing was marked deleted; raise WALK_MAX_PAGES if the workspace really is this large`,
      page,
    );
  }
}
