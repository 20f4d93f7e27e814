/**
 * The one list shape of the API (02-api.md, "Conventions"): a page of items and an opaque cursor for
 * the next page (null on the last). Route files build their response schemas with `listOf`; the SDK
 * types its list calls with `Page`.
 */
import { z } from 'zod';

export const listOf = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), next_cursor: z.string().nullable() });

export interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
