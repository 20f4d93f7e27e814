/**
 * Every list in the client has the same two calls: `list` fetches one page (`{items, next_cursor}`,
 * exactly what the API answers), `all` walks every page and yields items one at a time. Built once
 * here so no namespace can get the cursor loop subtly wrong.
 */
import { paginate, type RequestOptions, type Transport } from './http.js';
import type { CallOptions, Page, PageQuery } from './types.js';

export type Query = NonNullable<RequestOptions['query']>;
/** Lists without filters: only `limit` and `cursor`. */
export type NoFilter = Record<never, never>;

export interface Lister<T, F> {
  /** One page. Pass the previous page's `next_cursor` as `cursor` for the next one. */
  list(query?: F & PageQuery, options?: CallOptions): Promise<Page<T>>;
  /** Every item across all pages, fetched lazily; `limit` is the page size. */
  all(query?: F & { limit?: number }, options?: CallOptions): AsyncGenerator<T>;
}

export function lister<T, F extends object>(t: Transport, path: string, toQuery: (filter: F) => Query = (f) => f as Query): Lister<T, F> {
  const page = (filter: F, limit: number | undefined, cursor: string | undefined, o: CallOptions) =>
    t.request<Page<T>>('GET', path, { query: { ...toQuery(filter), limit, cursor }, signal: o.signal });
  const split = (q: (F & PageQuery) | undefined) => {
    const { limit, cursor, ...filter } = (q ?? {}) as F & PageQuery;
    return { limit, cursor, filter: filter as F };
  };
  return {
    list(query, options = {}) {
      const { limit, cursor, filter } = split(query);
      return page(filter, limit, cursor, options);
    },
    all(query, options = {}) {
      const { limit, filter } = split(query);
      return paginate((cursor) => page(filter, limit, cursor, options));
    },
  };
}

/** A path segment from a caller-supplied id or name. */
export const seg = (s: string): string => encodeURIComponent(s);
