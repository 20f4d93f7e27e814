/**
 * When a running task heartbeats, and with what: a pure function of the task's heartbeat state and the
 * time, plus the small reducers that move that state as requests start and settle. The driver
 * (heartbeater.ts) only does what `planHeartbeat` answers, so every timing rule lives here and is
 * unit-tested without a clock, a timer or a socket.
 *
 * The rules (04-tasks.md, "The SDK task worker"):
 *  - The control plane owns timing: the interval is a third of the lease the last reply granted
 *    (`expires_at − now` at the moment it arrived), bounded, so two heartbeats can fail before the lease
 *    is at risk and a shorter `tasks.lease_ttl` needs no change on the worker.
 *  - At most one heartbeat is in flight per task. A hung request is abandoned after `timeoutMs` so it
 *    cannot hold the slot until the lease dies.
 *  - Progress never triggers a send by itself (a handler calling `progress` in a tight loop would flood
 *    the control plane); the newest value replaces an unsent one and rides on the next heartbeat.
 *  - A failed heartbeat is retried sooner than the interval, with backoff, and the lease is declared lost
 *    once its own expiry passes without a successful heartbeat: by then the sweep may have requeued it.
 *  - When the handler settles, one final heartbeat carries the last unsent progress before the report.
 */

export interface HeartbeatBounds {
  /** Floor of the interval, so a nearly expired lease does not produce a tight loop. */
  minIntervalMs: number;
  /** Ceiling of the interval: also bounds how late a cancel reaches the handler. */
  maxIntervalMs: number;
}

export const DEFAULT_HEARTBEAT_BOUNDS: HeartbeatBounds = { minIntervalMs: 50, maxIntervalMs: 10_000 };

/** First retry after a failed heartbeat; doubles per consecutive failure, never beyond the interval. */
export const FIRST_RETRY_MS = 200;
/** A heartbeat request is never given less than this before it is abandoned. */
export const MIN_REQUEST_TIMEOUT_MS = 250;

export interface HeartbeatState {
  /** When the lease runs out, on this process's clock (see `intervalFor`). */
  leaseExpiresAt: number;
  /** The interval the last granted lease implies. */
  intervalMs: number;
  /** When the last heartbeat request started (or the lease was granted, before the first one). */
  lastSentAt: number;
  inFlight: boolean;
  /** Consecutive failed heartbeats since the last success. */
  failures: number;
  /** The newest progress not yet acknowledged; `seq` tells a value sent from one that replaced it. */
  pending: { value: unknown; seq: number } | null;
  /** The `seq` of the progress riding on the request in flight, if any. */
  sentSeq: number | null;
  nextSeq: number;
  /** The handler has settled: send the last progress (if any), then stop. */
  finishing: boolean;
}

export type HeartbeatPlan =
  /** Send now; `progress` is present only when there is a value to carry. */
  | { action: 'send'; progress?: { value: unknown }; timeoutMs: number }
  /** Nothing to do before `at` (or before the request in flight settles, whichever is first). */
  | { action: 'sleep'; at: number }
  /** The lease's expiry passed without a successful heartbeat. */
  | { action: 'lease_lost' }
  /** Finishing, and nothing is left to send. */
  | { action: 'done' };

/** A third of the remaining lease, bounded; the caller measured `leaseExpiresAt` at `now`. */
export function intervalFor(leaseExpiresAt: number, now: number, bounds: HeartbeatBounds = DEFAULT_HEARTBEAT_BOUNDS): number {
  const third = Math.floor((leaseExpiresAt - now) / 3);
  return Math.max(bounds.minIntervalMs, Math.min(bounds.maxIntervalMs, third));
}

export function initialHeartbeatState(leaseExpiresAt: number, now: number, bounds: HeartbeatBounds = DEFAULT_HEARTBEAT_BOUNDS): HeartbeatState {
  return {
    leaseExpiresAt,
    intervalMs: intervalFor(leaseExpiresAt, now, bounds),
    lastSentAt: now,
    inFlight: false,
    failures: 0,
    pending: null,
    sentSeq: null,
    nextSeq: 1,
    finishing: false,
  };
}

/** Delay before retry number `failures` (1-based): doubling from FIRST_RETRY_MS, capped at the interval. */
export function retryDelayMs(failures: number, intervalMs: number): number {
  return Math.min(intervalMs, FIRST_RETRY_MS * 2 ** Math.min(Math.max(0, failures - 1), 20));
}

export function planHeartbeat(s: HeartbeatState, now: number): HeartbeatPlan {
  // Checked first, even with a request in flight: past its expiry the lease may already belong to
  // someone else, and the handler must hear about it now rather than after a slow reply.
  if (now >= s.leaseExpiresAt) return { action: 'lease_lost' };
  if (s.inFlight) return { action: 'sleep', at: s.leaseExpiresAt };
  const send = (): HeartbeatPlan => ({
    action: 'send',
    ...(s.pending ? { progress: { value: s.pending.value } } : {}),
    // Abandon a hung request in time for a retry before the lease runs out.
    timeoutMs: Math.max(MIN_REQUEST_TIMEOUT_MS, s.intervalMs),
  });
  if (s.finishing) return s.pending ? send() : { action: 'done' };
  const due = s.lastSentAt + (s.failures > 0 ? retryDelayMs(s.failures, s.intervalMs) : s.intervalMs);
  if (now >= due) return send();
  return { action: 'sleep', at: Math.min(due, s.leaseExpiresAt) };
}

// ---- reducers: how the state moves ---------------------------------------------------------------

/** A new progress value replaces any unsent one. */
export function withProgress(s: HeartbeatState, value: unknown): HeartbeatState {
  return { ...s, pending: { value, seq: s.nextSeq }, nextSeq: s.nextSeq + 1 };
}

export function markSent(s: HeartbeatState, now: number): HeartbeatState {
  return { ...s, inFlight: true, lastSentAt: now, sentSeq: s.pending ? s.pending.seq : null };
}

/** A successful reply: the lease runs until `leaseExpiresAt` (already on this process's clock). */
export function markAcked(s: HeartbeatState, leaseExpiresAt: number, now: number, bounds: HeartbeatBounds = DEFAULT_HEARTBEAT_BOUNDS): HeartbeatState {
  // Only the value that was sent is cleared: one that replaced it meanwhile still has to go.
  const delivered = s.pending !== null && s.pending.seq === s.sentSeq;
  return {
    ...s,
    inFlight: false,
    failures: 0,
    leaseExpiresAt,
    intervalMs: intervalFor(leaseExpiresAt, now, bounds),
    pending: delivered ? null : s.pending,
    sentSeq: null,
  };
}

/**
 * A failed request (network, timeout, 5xx): the lease is unchanged and the progress stays pending —
 * except for the final heartbeat, which is tried once: the report matters more than the last progress.
 */
export function markFailed(s: HeartbeatState): HeartbeatState {
  return { ...s, inFlight: false, failures: s.failures + 1, sentSeq: null, pending: s.finishing ? null : s.pending };
}

/**
 * The control plane refused the request itself (a 4xx other than lease loss, e.g. a progress value over
 * its body limit). Sending the same progress again would be refused again and cost the lease, so the
 * value that was sent is dropped; the lease is otherwise treated as after any failure.
 */
export function markRefused(s: HeartbeatState): HeartbeatState {
  const failed = markFailed(s);
  const wasSent = s.pending !== null && s.pending.seq === s.sentSeq;
  return wasSent ? { ...failed, pending: null } : failed;
}

export function markFinishing(s: HeartbeatState): HeartbeatState {
  return { ...s, finishing: true };
}
