/**
 * A background loop: run `tick` every `intervalMs` until the signal aborts. One tick at a time (a slow
 * tick delays the next instead of overlapping it); a tick that throws is logged and the loop goes on,
 * because a sweep that dies silently is worse than one that fails loudly every interval.
 */
import type { Logger } from 'pino';

export interface Timer {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimer: Timer = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface LoopOptions {
  name: string;
  intervalMs: number;
  tick: () => Promise<void>;
  signal: AbortSignal;
  log: Logger;
  timer?: Timer;
}

/** Starts the loop; the returned promise settles after the loop has stopped and its last tick ended. */
export function runLoop(o: LoopOptions): Promise<void> {
  const timer = o.timer ?? realTimer;
  return new Promise((resolve) => {
    let handle: unknown;
    const stop = () => {
      timer.clearTimeout(handle);
      resolve();
    };
    const schedule = () => {
      if (o.signal.aborted) return stop();
      handle = timer.setTimeout(() => void once(), o.intervalMs);
    };
    const once = async () => {
      if (o.signal.aborted) return stop();
      try {
        await o.tick();
      } catch (err) {
        o.log.error({ loop: o.name, err: err instanceof Error ? err.message : String(err) }, 'background loop tick failed');
      }
      schedule();
    };
    o.signal.addEventListener('abort', () => timer.clearTimeout(handle), { once: true });
    o.signal.addEventListener('abort', stop, { once: true });
    schedule();
  });
}
