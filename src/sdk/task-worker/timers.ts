/**
 * Timers as a collaborator, like the Clock: the task worker schedules heartbeats, backoff and request
 * timeouts only through this interface, so unit tests drive them by hand and nothing sleeps.
 */
export interface TimerHandle {
  readonly _timer?: never;
}

export interface Timers {
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

export const systemTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, Math.max(0, ms)) as unknown as TimerHandle,
  clearTimeout: (handle) => clearTimeout(handle as unknown as ReturnType<typeof setTimeout>),
};

/** Resolves after `ms`, or as soon as `signal` aborts (never rejects: the caller checks the signal). */
export function sleep(timers: Timers, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const onAbort = () => {
      timers.clearTimeout(handle);
      resolve();
    };
    const handle = timers.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * A signal that aborts when `parent` does or after `ms`, and a `clear` that must be called when the
 * guarded operation settles (so the timer does not keep the process alive or fire late).
 */
export function timeoutSignal(timers: Timers, ms: number, parent?: AbortSignal): { signal: AbortSignal; clear(): void } {
  const controller = new AbortController();
  const onParent = () => controller.abort(parent?.reason);
  if (parent?.aborted) controller.abort(parent.reason);
  else parent?.addEventListener('abort', onParent, { once: true });
  const handle = timers.setTimeout(() => controller.abort(new RequestTimeout(ms)), ms);
  return {
    signal: controller.signal,
    clear() {
      timers.clearTimeout(handle);
      parent?.removeEventListener('abort', onParent);
    },
  };
}

/** The reason of a request abandoned by `timeoutSignal`. */
export class RequestTimeout extends Error {
  constructor(readonly ms: number) {
    super(`no answer within ${ms} ms`);
    this.name = 'TimeoutError';
  }
}
