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
      has_more: z.boolean().default(false),
    })
    .transform((page): Page => ({ items: page[resource.envelopeKey] as unknown[], next_doc: page.next_doc as string | null | undefined, has_more: page.has_more as boolean }));
}

/** A page as the walker sees it, whatever the endpoint calls its items. */
export interface Page {
  items: unknown[];
  next_doc?: string | null | undefined;
  has_more: boolean;
}
