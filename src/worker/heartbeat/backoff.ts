/**
 * Retry delays for the worker's calls to the control plane. Exponential, capped, with "equal jitter":
 * half the delay is fixed and half random, so a fleet that lost its control plane at the same moment
 * does not come back in lockstep, yet no worker ever retries immediately in a tight loop.
 */
export interface BackoffPolicy {
  initialMs: number;
  maxMs: number;
}

/** The delay before retry number `failures` (1 = the first retry). `random` returns [0, 1). */
export function backoffDelay(failures: number, policy: BackoffPolicy, random: () => number): number {
  const exponent = Math.min(Math.max(failures - 1, 0), 30);
  const ceiling = Math.max(1, Math.min(policy.maxMs, policy.initialMs * 2 ** exponent));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}
