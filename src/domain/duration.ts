/**
 * Durations and byte sizes as people write them ("1h30m", "512KiB") and as the code holds them
 * (milliseconds, bytes). A bare number is already in the base unit, so YAML `stale_after: 15000` and
 * `stale_after: 15s` mean the same thing. Parsers throw BadRequest so an API edge that takes a TTL
 * string can answer 400 without translating the error.
 */
import { BadRequest } from './errors.js';

const DURATION_UNITS_MS: Record<string, number> = {
  ms: 1,
  s: 1_000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
};

/** Largest first, so formatDuration writes "1h30m" rather than "90m". */
const FORMAT_ORDER = ['d', 'h', 'm', 's', 'ms'] as const;

// Whole-string shape check; the parts are then read with a fresh /g regex per call (matchAll), so no
// regex with shared lastIndex state lives at module level.
const DURATION_SHAPE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d))+$/;
const DIGITS = /^\d+$/;

/**
 * Milliseconds from a number of ms, a digit string of ms, or a unit string: "500ms", "5s", "30m",
 * "2h", "1d", and compounds like "1h30m". Negative values, fractional milliseconds and anything
 * unparseable are rejected with a message that says what is accepted.
 */
export function parseDuration(input: string | number): number {
  if (typeof input === 'number') return checkedMs(input, String(input));
  const text = input.trim();
  if (text === '') throw new BadRequest('duration is empty; write e.g. "30s", "5m" or "1h30m"');
  if (text.startsWith('-')) throw new BadRequest(`duration "${text}" must not be negative`);
  if (DIGITS.test(text)) return checkedMs(Number(text), text);

  if (!DURATION_SHAPE.test(text)) {
    throw new BadRequest(
      `"${text}" is not a duration; use a number of milliseconds or units ms, s, m, h, d (e.g. "500ms", "1h30m")`,
    );
  }
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h|d)/g)) {
    total += Number(amount) * DURATION_UNITS_MS[unit!]!;
  }
  // Fractions such as "1.5s" are fine; the sum is rounded so callers only ever see whole milliseconds.
  return checkedMs(Math.round(total), text);
}

function checkedMs(ms: number, shown: string): number {
  if (!Number.isFinite(ms)) throw new BadRequest(`duration ${shown} is not a finite number`);
  if (ms < 0) throw new BadRequest(`duration ${shown} must not be negative`);
  if (!Number.isInteger(ms)) {
    // A bare fractional number is most likely seconds written without a unit; refuse rather than guess.
    throw new BadRequest(`duration ${shown} is a fraction of a millisecond; write a unit, e.g. "${shown}s"`);
  }
  if (ms > Number.MAX_SAFE_INTEGER) throw new BadRequest(`duration ${shown} is too large`);
  return ms;
}

/** Compact, round-trippable form: 5400000 → "1h30m", 1500 → "1s500ms", 0 → "0ms". */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms)) return String(ms);
  let rest = Math.round(Math.abs(ms));
  if (rest === 0) return '0ms';
  let out = ms < 0 ? '-' : '';
  for (const unit of FORMAT_ORDER) {
    const size = DURATION_UNITS_MS[unit]!;
    const count = Math.floor(rest / size);
    if (count > 0) {
      out += `${count}${unit}`;
      rest -= count * size;
    }
  }
  return out;
}

/** Decimal (KB = 1000) and binary (KiB = 1024) units; matched case-insensitively. */
const BYTE_UNITS: Record<string, number> = {
  b: 1,
  kb: 1e3,
  mb: 1e6,
  gb: 1e9,
  tb: 1e12,
  kib: 1024,
  mib: 1024 ** 2,
  gib: 1024 ** 3,
  tib: 1024 ** 4,
};

const BYTE_SIZE = /^(\d+(?:\.\d+)?)\s*([a-z]+)?$/i;

/** Bytes from a number of bytes or a string like "1MiB", "512KiB", "10MB", "1048576". */
export function parseByteSize(input: string | number): number {
  if (typeof input === 'number') return checkedBytes(input, String(input));
  const text = input.trim();
  const match = BYTE_SIZE.exec(text);
  const unit = match?.[2]?.toLowerCase() ?? 'b';
  const factor = BYTE_UNITS[unit];
  if (!match || factor === undefined) {
    throw new BadRequest(
      `"${text}" is not a byte size; use a number of bytes or units B, KB, MB, GB, TB, KiB, MiB, GiB, TiB (e.g. "1MiB")`,
    );
  }
  return checkedBytes(Math.round(Number(match[1]) * factor), text);
}

function checkedBytes(bytes: number, shown: string): number {
  if (!Number.isFinite(bytes)) throw new BadRequest(`byte size ${shown} is not a finite number`);
  if (bytes < 0) throw new BadRequest(`byte size ${shown} must not be negative`);
  if (!Number.isInteger(bytes)) throw new BadRequest(`byte size ${shown} is not a whole number of bytes`);
  if (bytes > Number.MAX_SAFE_INTEGER) throw new BadRequest(`byte size ${shown} is too large`);
  return bytes;
}
