/**
 * `GET /api/v1/tasks/{id}/wait`: hold the request until the task is terminal, or until `timeout_ms`,
 * the client hanging up, or shutdown — then answer 200 with the task as it is (callers look at
 * `state`; a timeout is not an error, so a client simply asks again). Woken by this replica's events
 * for the task; a slow fallback re-read catches changes made by another replica.
 */
import { NotFound } from '../../../domain/errors.js';
import { taskMachine } from '../../../domain/states/task.js';
import type { TaskRecord, TenantScope } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { realTimer, type Timer } from '../../loops/runner.js';

/** How often a waiting request re-reads the task without being woken. */
export const WAIT_FALLBACK_MS = 1_000;

export interface WaitOptions {
  fallbackMs?: number;
  timer?: Timer;
}

export const isTerminal = (t: TaskRecord): boolean => taskMachine.isTerminal(t.state);

export async function waitForTask(cp: ControlPlane, scope: TenantScope, id: string, timeoutMs: number, hungUp: AbortSignal, o: WaitOptions = {}): Promise<TaskRecord> {
  const read = async () => {
    const t = await cp.store.tasks.getTask(scope, id);
    if (!t) throw new NotFound(`task ${id}`);
    return t;
  };
  let task = await read();
  if (isTerminal(task) || timeoutMs <= 0) return task;
  const timer = o.timer ?? realTimer;
  const stop = new AbortController();
  const end = () => stop.abort();
  let wake: (() => void) | undefined;
  let pending = false;
  const unsubscribe = cp.events.subscribe((e) => {
    if (e.resourceType !== 'task' || e.resourceId !== id) return;
    pending = true;
    wake?.();
  });
  const hold = timer.setTimeout(end, timeoutMs);
  hungUp.addEventListener('abort', end, { once: true });
  cp.shutdown.addEventListener('abort', end, { once: true });
  if (hungUp.aborted || cp.shutdown.aborted) end();
  try {
    // Re-read once after subscribing: a change between the first read and the subscription is seen.
    task = await read();
    while (!isTerminal(task) && !stop.signal.aborted) {
      if (!pending) await pause(timer, o.fallbackMs ?? WAIT_FALLBACK_MS, stop.signal, (w) => (wake = w));
      pending = false;
      wake = undefined;
      task = await read();
    }
    return task;
  } finally {
    unsubscribe();
    timer.clearTimeout(hold);
    hungUp.removeEventListener('abort', end);
    cp.shutdown.removeEventListener('abort', end);
  }
}

/** Resolves after `ms`, on abort, or when the function handed to `setWake` is called. */
function pause(timer: Timer, ms: number, signal: AbortSignal, setWake: (wake: () => void) => void): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      timer.clearTimeout(handle);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const handle: unknown = timer.setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
    setWake(done);
    if (signal.aborted) done();
  });
}
