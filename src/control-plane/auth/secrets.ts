/**
 * Secrets: generation, hashing, constant-time comparison. Stored credentials are SHA-256 digests of
 * 256-bit random secrets, so a digest lookup is as good as a slow hash and the database never holds a
 * usable key. Configured secrets (admin key, worker tokens) are compared digest to digest with
 * timingSafeEqual, so the comparison time does not depend on how much of a guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export function generateSecret(prefix: 'drv' | 'dwt'): string {
  return `${prefix}_${randomBytes(32).toString('base64url')}`;
}

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function secretsEqual(a: string, b: string): boolean {
  const da = createHash('sha256').update(a, 'utf8').digest();
  const db = createHash('sha256').update(b, 'utf8').digest();
  return timingSafeEqual(da, db);
}
