/**
 * Who may drive this worker: only the holder of its rpc secret (03-worker.md, "Control plane →
 * worker"). The secret is random per start and travels only in the worker's own authenticated
 * heartbeat, so the control plane is the only party that has it; a user's API key, another worker's
 * secret or a secret from before a restart are all just wrong secrets. Compared digest to digest in
 * constant time, so the answer's timing says nothing about how much of a guess was right.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** 256 random bits, URL-safe; the protocol accepts 16–512 characters. */
export function generateRpcSecret(): string {
  return randomBytes(32).toString('base64url');
}

export function bearerMatches(authorization: string | undefined, secret: string): boolean {
  if (typeof authorization !== 'string') return false;
  const m = /^Bearer\s+(.+)$/i.exec(authorization.trim());
  if (!m) return false;
  const given = createHash('sha256').update(m[1]!, 'utf8').digest();
  const wanted = createHash('sha256').update(secret, 'utf8').digest();
  return timingSafeEqual(given, wanted);
}
