import { BadRequest } from '../domain/errors.js';
import type { Page } from './types.js';

/**
 * Keyset pagination. The cursor is the last key of the previous page, base64url-encoded so clients
 * treat it as opaque; a page costs the same however deep into the list it is.
 */
export function encodeCursor(key: string | number): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<T extends string | number>(cursor: string | undefined, kind: 'string' | 'number'): T | undefined {
  if (cursor === undefined || cursor === '') return undefined;
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
    if (typeof value === kind) return value as T;
  } catch {
    // fall through to the error below
  }
  throw new BadRequest('invalid cursor', { cursor: 'not a cursor returned by this list' });
}

/** Callers fetch `limit + 1` rows; the extra row only says whether another page exists. */
export function toPage<R, T>(rows: R[], limit: number, key: (row: R) => string | number, map: (row: R) => T): Page<T> {
  const more = rows.length > limit;
  const pageRows = more ? rows.slice(0, limit) : rows;
  const last = pageRows[pageRows.length - 1];
  return { items: pageRows.map(map), nextCursor: more && last !== undefined ? encodeCursor(key(last)) : null };
}
