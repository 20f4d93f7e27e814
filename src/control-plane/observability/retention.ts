/**
 * Event log retention (05-operations.md: "retention bounded by count/age"). The lead's composition runs
 * `pruneEvents` on a timer (any replica may; the deletes are idempotent and bounded by the same limits).
 */
import type { ControlPlane } from '../deps.js';

const DAY = 24 * 60 * 60 * 1000;

export const EVENT_RETENTION = {
  /**
   * 100k events is tens of MB at a few hundred bytes each: small for any database, and hours of history
   * even for a busy fleet, so a client that drops and reconnects resumes from its Last-Event-ID.
   */
  maxCount: 100_000,
  /** A week: a dashboard or consumer offline over a weekend can still catch up; older history is audit's job. */
  maxAgeMs: 7 * DAY,
} as const;

/** How often the lead's timer should prune: often enough that the count bound is never far exceeded. */
export const EVENT_PRUNE_INTERVAL_MS = 5 * 60 * 1000;

/** Remove events beyond the retention bounds; returns how many were removed. */
export async function pruneEvents(cp: Pick<ControlPlane, 'store' | 'log'>, limits: { maxCount: number; maxAgeMs: number } = EVENT_RETENTION): Promise<number> {
  const removed = await cp.store.events.pruneEvents(limits.maxCount, limits.maxAgeMs);
  if (removed > 0) cp.log.debug({ removed, max_count: limits.maxCount, max_age_ms: limits.maxAgeMs }, 'pruned the event log');
  return removed;
}
