import { randomBytes } from 'node:crypto';

/**
 * IDs are `<prefix>_<26 chars>`: a 48-bit millisecond timestamp then 80 random bits, Crockford base32
 * (the ULID layout). Sorting IDs sorts by creation time, which is what keyset pagination relies on, and
 * 80 random bits make them unguessable enough to double as capability-free handles.
 */
const ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

export type IdPrefix = 'sbx' | 'tsk' | 'prc' | 'key' | 'wtk' | 'aud' | 'tnt' | 'evt' | 'req';

export function newId(prefix: IdPrefix, nowMs: number, random: (n: number) => Buffer = randomBytes): string {
  return `${prefix}_${encodeTime(nowMs)}${encodeRandom(random(10))}`;
}

function encodeTime(ms: number): string {
  let out = '';
  let rest = Math.floor(ms);
  for (let i = 0; i < 10; i++) {
    out = ALPHABET[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Buffer): string {
  // 80 bits → 16 base32 characters, five bits at a time.
  let bits = 0;
  let value = 0;
  let out = '';
  for (const byte of bytes) {
    value = (value << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      out += ALPHABET[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
    value &= (1 << bits) - 1;
  }
  return out;
}

const ID_PATTERN = /^[a-z]{3}_[0-9A-HJKMNP-TV-Z]{26}$/;

export function isId(value: string, prefix?: IdPrefix): boolean {
  return ID_PATTERN.test(value) && (prefix === undefined || value.startsWith(`${prefix}_`));
}

/** Operator-chosen worker IDs (02-api.md). */
export const WORKER_ID_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;
