/**
 * Object keys: one pure gate every driver and the blob route pass a key through. Keys arrive from
 * URLs and from task workers, so the gate is written against path traversal in all the shapes it
 * takes: `..` segments, absolute paths, backslashes (a separator on some systems), NUL and control
 * characters (truncation and log injection), and percent-encoded forms of those that a second decode
 * somewhere downstream would turn back into a separator or a dot-dot.
 */
import { BadRequest } from '../domain/errors.js';

/** S3's own limit, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 1024;
/**
 * NAME_MAX on common filesystems. S3 has no per-segment limit, but the fs driver stores each segment
 * as a file name; rejecting longer segments everywhere keeps the two drivers accepting the same keys.
 */
export const MAX_SEGMENT_BYTES = 255;

// C0 controls, DEL and C1 controls.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;
/**
 * Escapes of '.', '/', '\', '%' (so `%252e` cannot become `%2e` after one decode), control bytes, and
 * the overlong-UTF-8 lead bytes C0/C1 (`%c0%ae` is '.' to a lax decoder).
 */
const DANGEROUS_ESCAPE = /%(2e|2f|5c|25|[01][0-9a-f]|7f|c0|c1)/i;

function reject(reason: string): never {
  throw new BadRequest(`invalid object key: ${reason}`, { reason });
}

/**
 * Returns the key in its one canonical form (Unicode NFC, so the same visible name is one key on
 * every filesystem and in S3) or throws BadRequest. Pure.
 */
export function normalizeKey(key: unknown): string {
  if (typeof key !== 'string') reject('not a string');
  if (key.length === 0) reject('empty');
  // A lone surrogate has no UTF-8 form: the round trip replaces it with U+FFFD.
  if (Buffer.from(key, 'utf8').toString('utf8') !== key) reject('not valid Unicode');
  const k = key.normalize('NFC');
  if (Buffer.byteLength(k, 'utf8') > MAX_KEY_BYTES) reject(`longer than ${MAX_KEY_BYTES} bytes`);
  if (CONTROL.test(k)) reject('control character');
  if (k.includes('\\')) reject('backslash');
  if (DANGEROUS_ESCAPE.test(k)) reject('percent-encoded separator, dot, percent or control character');
  if (k.startsWith('/')) reject('absolute');
  for (const segment of k.split('/')) {
    if (segment === '') reject('empty segment');
    // '.' is refused as well as '..': on a filesystem `a/./b` is `a/b`, in S3 it is another key.
    if (segment === '.' || segment === '..') reject('dot segment');
    if (Buffer.byteLength(segment, 'utf8') > MAX_SEGMENT_BYTES) {
      reject(`segment longer than ${MAX_SEGMENT_BYTES} bytes`);
    }
  }
  return k;
}

/**
 * A listing prefix: '' (everything), a key-like string (`tasks/t_1/out`, matching as a plain string
 * prefix), or one ending in '/' (`tasks/t_1/`). Same rules as keys otherwise. Throws BadRequest.
 */
export function normalizePrefix(prefix: unknown): string {
  if (prefix === '') return '';
  if (typeof prefix === 'string' && prefix.endsWith('/')) return `${normalizeKey(prefix.slice(0, -1))}/`;
  return normalizeKey(prefix);
}

/**
 * Whether `key` lies under the directory-like `prefix` (`tasks/t_1` and `tasks/t_1/` both mean the
 * folder, so `tasks/t_10/x` is not under `tasks/t_1`). This is a grant check, so it never throws and
 * an invalid key or prefix is simply not under anything; callers that want a 400 for a bad key call
 * normalizeKey first.
 */
export function isUnderPrefix(key: string, prefix: string): boolean {
  let k: string;
  let p: string;
  try {
    k = normalizeKey(key);
    p = normalizePrefix(prefix);
  } catch {
    return false;
  }
  if (p === '') return false;
  const folder = p.endsWith('/') ? p : `${p}/`;
  return k.startsWith(folder) && k.length > folder.length;
}
