import { z } from 'zod';
import type { ListResource } from '../resources/resource.ts';

/**
 * The page envelope of a list endpoint (cursor `next_doc`, `has_more`). Items
 * are checked one by one afterwards (a bad item is rejected, not the page),
 * so here they are only required to be an array.
 */
export function pageSchema(resource: Pick<ListResource, 'envelopeKey'>) {
  return z
    .looseObject({
      [resource.envelopeKey]: z.array(z.unknown()),
      next_doc: z.string().nullable().optional(),
      // No default here: the spec defaults it to false, but a page that sends a next_doc without it is ambiguous (CursorGuard).
      has_more: z.boolean().optional(),
    })
    .transform((page): Page => ({ items: page[resource.envelopeKey] as unknown[], next_doc: page.next_doc as string | null | undefined, has_more: page.has_more as boolean | undefined }));
}

/** A page as the walker sees it, whatever the endpoint calls its items. */
export interface Page {
  items: unknown[];
  next_doc?: string | null | undefined;
  /** Absent when the API left it out (the spec's default is false). */
  has_more?: boolean | undefined;
}
