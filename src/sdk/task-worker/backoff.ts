/**
 * Backoff for the lease loop and the report retries: exponential with "equal jitter" (half fixed, half
 * random), so a fleet of task workers that lost the control plane together does not come back in step.
 * Pure: the random source is an argument.
 */
export interface Backoff {
  baseMs: number;
  maxMs: number;
}

export const LEASE_BACKOFF: Backoff = { baseMs: 500, maxMs: 30_000 };
export const REPORT_BACKOFF: Backoff = { baseMs: 200, maxMs: 5_000 };

/** The delay before retry number `failures` (1-based); `random()` is in [0, 1). */
export function backoffMs(failures: number, random: () => number, b: Backoff): number {
  const ceiling = Math.min(b.maxMs, b.baseMs * 2 ** Math.min(Math.max(0, failures - 1), 30));
  return Math.round(ceiling / 2 + (ceiling / 2) * random());
}
