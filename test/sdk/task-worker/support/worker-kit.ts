/**
 * Small helpers for the integration tests: a task worker wired to a recording fetch, waiting for an
 * event or a condition, and a promise a test resolves by hand.
 */
import { createTaskWorker, type TaskWorker, type TaskWorkerEvents, type TaskWorkerOptions } from '../../../../src/sdk/task-worker/index.js';
import type { TaskControlPlane } from './control-plane.js';
import { WORKER_TOKEN } from './control-plane.js';
import { recordingFetch, type RecordingFetchOptions } from './recording-fetch.js';

let workerSeq = 0;

export function startWorker(cp: TaskControlPlane, o: Partial<TaskWorkerOptions> & Pick<TaskWorkerOptions, 'handlers'>, fetchOptions: RecordingFetchOptions = {}) {
  const recorder = recordingFetch(fetchOptions);
  const worker = createTaskWorker({
    url: cp.url,
    workerId: `tw-${process.pid}-${++workerSeq}`,
    token: WORKER_TOKEN,
    concurrency: 1,
    leaseWaitMs: 1_000,
    fetch: recorder.fetch,
    ...o,
  });
  return { worker, recorder };
}

/** The next event of `type` that matches, or a rejection after `timeoutMs`. */
export function nextEvent<E extends keyof TaskWorkerEvents>(
  worker: TaskWorker,
  type: E,
  match: (payload: TaskWorkerEvents[E]) => boolean = () => true,
  timeoutMs = 15_000,
): Promise<TaskWorkerEvents[E]> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${type} event within ${timeoutMs} ms`));
    }, timeoutMs);
    const off = worker.on(type, (payload) => {
      if (!match(payload)) return;
      clearTimeout(timer);
      off();
      resolve(payload);
    });
  });
}

/** Poll `check` until it answers something truthy. For conditions no event announces. */
export async function eventually<T>(check: () => T | Promise<T>, what: string, timeoutMs = 15_000): Promise<NonNullable<T>> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value as NonNullable<T>;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

export interface Gate<T = void> {
  promise: Promise<T>;
  open(value: T): void;
}

export function gate<T = void>(): Gate<T> {
  let open!: (value: T) => void;
  const promise = new Promise<T>((resolve) => (open = resolve));
  return { promise, open };
}

/** Resolves when the signal aborts, with its reason. */
export function aborted(signal: AbortSignal): Promise<unknown> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve(signal.reason);
    signal.addEventListener('abort', () => resolve(signal.reason), { once: true });
  });
}
