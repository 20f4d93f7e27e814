/**
 * Pure decisions about a task attempt's end: what state comes next and, for a retry, how long to wait.
 * The store applies the decision in a conditional write; nothing here does I/O.
 */
export interface AttemptFacts {
  attempt: number;
  maxAttempts: number;
  retryBackoffMs: number;
  cancelRequested: boolean;
}

export type AttemptEnd =
  | { state: 'succeeded' }
  | { state: 'cancelled' }
  | { state: 'failed'; reason: 'not_retryable' | 'attempts_exhausted' }
  | { state: 'queued'; delayMs: number };

/** Retries back off exponentially from the task's base, capped so a long-lived task still gets tried. */
export const MAX_RETRY_DELAY_MS = 60 * 60 * 1000;

export function retryDelayMs(attempt: number, baseMs: number): number {
  const exponent = Math.max(0, attempt - 1);
  return Math.min(MAX_RETRY_DELAY_MS, baseMs * 2 ** Math.min(exponent, 30));
}

/** A worker's report ends the attempt. */
export function decideReport(facts: AttemptFacts, outcome: 'succeeded' | 'cancelled' | { failed: { retryable: boolean } }): AttemptEnd {
  if (outcome === 'succeeded') return { state: 'succeeded' };
  if (outcome === 'cancelled') return { state: 'cancelled' };
  return decideFailure(facts, outcome.failed.retryable);
}

/** The lease ran out with no report: the worker died, hung or was partitioned. */
export function decideLeaseExpiry(facts: AttemptFacts): AttemptEnd {
  // A cancel that was requested but never acknowledged becomes final when the lease expires.
  if (facts.cancelRequested) return { state: 'cancelled' };
  return decideFailure(facts, true);
}

function decideFailure(facts: AttemptFacts, retryable: boolean): AttemptEnd {
  if (facts.cancelRequested) return { state: 'cancelled' };
  if (!retryable) return { state: 'failed', reason: 'not_retryable' };
  if (facts.attempt >= facts.maxAttempts) return { state: 'failed', reason: 'attempts_exhausted' };
  return { state: 'queued', delayMs: retryDelayMs(facts.attempt, facts.retryBackoffMs) };
}
