/**
 * The lease loop: while the worker runs, long-poll the control plane for as many tasks as there are
 * free slots, hand each to `launch`, and back off (with jitter) when the control plane cannot be
 * reached. It never asks for more than the free slots, so the number of running handlers never
 * exceeds the concurrency; with no free slot it waits for one instead of polling.
 */
import type { LeasedTask } from '../../protocol/tasks.js';
import { DroverApiError } from '../errors.js';
import { backoffMs, LEASE_BACKOFF } from './backoff.js';
import type { TaskProtocol } from './protocol-client.js';
import { sleep, timeoutSignal, type Timers } from './timers.js';
import type { Clock } from '../../domain/clock.js';
import type { TaskWorkerEvents, TaskWorkerLogger } from './types.js';

/** The wire's ceiling on one lease request. */
export const MAX_BATCH = 100;
/** A long poll that gets no answer this long after its wait is abandoned (a dead connection). */
const LEASE_GRACE_MS = 10_000;
/**
 * Lease requests that come back empty start at least this far apart: a server that answers at once
 * (a short `leaseWaitMs`, or a poll woken by a task another worker took) must not be polled in a loop.
 */
const MIN_EMPTY_POLL_INTERVAL_MS = 250;

export interface LeaseLoopOptions {
  protocol: TaskProtocol;
  clock: Clock;
  timers: Timers;
  log: TaskWorkerLogger;
  random: () => number;
  kinds: string[];
  codeVersion: string | null;
  waitMs: number;
  freeSlots(): number;
  /** Resolves when a slot frees up or `signal` aborts. */
  slotFreed(signal: AbortSignal): Promise<void>;
  launch(task: LeasedTask): void;
  emit<E extends keyof TaskWorkerEvents>(event: E, payload: TaskWorkerEvents[E]): void;
  /** Aborted by stop(): the loop ends and an outstanding long poll is abandoned. */
  signal: AbortSignal;
}

export async function runLeaseLoop(o: LeaseLoopOptions): Promise<void> {
  let failures = 0;
  while (!o.signal.aborted) {
    const free = o.freeSlots();
    if (free <= 0) {
      await o.slotFreed(o.signal);
      continue;
    }
    const startedAt = o.clock.now();
    const t = timeoutSignal(o.timers, o.waitMs + LEASE_GRACE_MS, o.signal);
    let leased: LeasedTask[];
    try {
      const reply = await o.protocol.lease({ kinds: o.kinds, code_version: o.codeVersion, max: Math.min(free, MAX_BATCH), wait_ms: o.waitMs }, t.signal);
      leased = reply.tasks;
      failures = 0;
    } catch (err) {
      if (o.signal.aborted) break;
      failures++;
      const retryInMs = backoffMs(failures, o.random, LEASE_BACKOFF);
      const error = err instanceof Error ? err : new Error(String(err));
      // Auth and validation refusals will not fix themselves: say so loudly, but keep trying (a token
      // can be re-issued, a control plane upgraded) at the backoff's pace.
      const refused = err instanceof DroverApiError && err.status >= 400 && err.status < 500 && err.status !== 429;
      o.log[refused ? 'error' : 'warn']('leasing tasks failed', { error: error.message, failures, retry_in_ms: retryInMs });
      o.emit('lease.error', { error, retryInMs });
      await sleep(o.timers, retryInMs, o.signal);
      continue;
    } finally {
      t.clear();
    }
    // Tasks that arrive as stop() begins are ours all the same: run them (stop waits for them).
    for (const task of leased) o.launch(task);
    if (leased.length === 0) {
      const early = startedAt + MIN_EMPTY_POLL_INTERVAL_MS - o.clock.now();
      if (early > 0) await sleep(o.timers, early, o.signal);
    }
  }
}
