/** List paging shared by the drivers: the page-size rule, and the fs driver's cursor (the last key). */
import { BadRequest } from '../domain/errors.js';
import { normalizeKey } from './keys.js';

/** S3's own ceiling for one ListObjectsV2 page, and the API's `?limit=` maximum. */
export const MAX_LIST_LIMIT = 1000;

export function pageLimit(limit: number | undefined): number {
  if (limit === undefined) return MAX_LIST_LIMIT;
  if (!Number.isSafeInteger(limit) || limit < 1 || limit > MAX_LIST_LIMIT) {
    throw new BadRequest(`list limit must be an integer from 1 to ${MAX_LIST_LIMIT}`);
  }
  return limit;
}

export function encodeKeyCursor(key: string): string {
  return Buffer.from(key, 'utf8').toString('base64url');
}

export function decodeKeyCursor(cursor: string | undefined): string | undefined {
  if (cursor === undefined) return undefined;
  try {
    const key = normalizeKey(Buffer.from(cursor, 'base64url').toString('utf8'));
    // Base64 decoding skips what it does not understand; only a cursor we could have issued is one.
    if (encodeKeyCursor(key) === cursor) return key;
  } catch {
    // fall through
  }
  throw new BadRequest('invalid list cursor');
}
