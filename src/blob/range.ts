/**
 * Byte ranges, resolved the way HTTP resolves `Range: bytes=start-end` (RFC 9110 §14.1.2): `end` is
 * inclusive and clamped to the last byte; a start at or past the end of the object cannot be
 * satisfied. Pure, so the fs driver and the tests agree on the arithmetic.
 */
import { BadRequest } from '../domain/errors.js';
import type { ByteRange } from './types.js';

/** Rejects ranges that are malformed whatever the object's size. */
export function checkRangeShape(range: ByteRange): void {
  const { start, end } = range;
  if (!Number.isSafeInteger(start) || start < 0) throw new BadRequest('range start must be a non-negative integer');
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new BadRequest('range end must be an integer no smaller than start');
  }
}

/** The error both drivers raise for a start past the end; the HTTP edge may answer it with 416. */
export function rangeNotSatisfiable(size?: number): BadRequest {
  return new BadRequest('range not satisfiable', { reason: 'range_not_satisfiable', ...(size !== undefined && { size }) });
}

export interface ResolvedRange {
  start: number;
  /** Inclusive. */
  end: number;
  contentLength: number;
  contentRange: string;
}

export function resolveRange(range: ByteRange, size: number): ResolvedRange {
  checkRangeShape(range);
  if (range.start >= size) throw rangeNotSatisfiable(size);
  const end = Math.min(range.end ?? size - 1, size - 1);
  return {
    start: range.start,
    end,
    contentLength: end - range.start + 1,
    contentRange: `bytes ${range.start}-${end}/${size}`,
  };
}

/** Parses `bytes 0-9/100` (the Content-Range of a 206) into the total size. */
export function sizeFromContentRange(contentRange: string | undefined): number | undefined {
  const m = /^bytes \d+-\d+\/(\d+)$/.exec(contentRange ?? '');
  return m ? Number(m[1]) : undefined;
}
