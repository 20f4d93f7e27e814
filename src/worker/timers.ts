/**
 * Time for the worker's loops: a monotonic clock for durations and a timer to wake up later. Injected
 * everywhere a loop waits, so tests drive the heartbeat, renewals and the drain wait with a manual
 * timer instead of sleeping, and so no duration is ever measured on the wall clock (which an operator,
 * NTP or a skewed host can move by minutes).
 */
import { performance } from 'node:perf_hooks';

export interface Timers {
  /** Milliseconds on a monotonic clock (only differences mean anything). */
  monotonic(): number;
  /** Call `fn` once after `ms`; returns a function that cancels it. */
  after(ms: number, fn: () => void): () => void;
}

export const systemTimers: Timers = {
  monotonic: () => performance.now(),
  after(ms, fn) {
    const handle = setTimeout(fn, Math.max(0, ms));
    return () => clearTimeout(handle);
  },
};

/** Resolves after `ms` on `timers`, or at once when `signal` aborts. Never rejects. */
export function pause(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = timers.after(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}
