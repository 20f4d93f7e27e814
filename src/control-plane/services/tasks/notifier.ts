/**
 * What wakes a long-polling lease request: the per-ControlPlane event bus. A submit emits
 * `task.submitted` (a lease sent back after the worker hung up emits `task.returned`, the sweep and
 * retryable failures emit `task.requeued`), and every waiting lease request on this replica whose kinds
 * and code version match claims at once — no polling of the store in a tight loop.
 *
 * The bus is in-process: a submit that lands on another replica raises nothing here. Waiting requests
 * therefore also re-check the store on a slow fallback (lease.ts, ~1 s), which bounds the extra start
 * latency of cross-replica submits, delayed tasks (`run_after`) and retries after a backoff.
 *
 * Every matching waiter is woken (then races for the task with SKIP LOCKED); the herd is at most the
 * lease requests waiting on this replica, each of which costs one claim transaction.
 */
import type { EventRecord } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { realTimer, type Timer } from '../../loops/runner.js';
import type { TaskEventData } from './events.js';

const WAKES = new Set(['task.submitted', 'task.requeued', 'task.returned']);
/**
 * A task that becomes ready later (backoff, run_after) arms a timer; a waiter keeps at most this many,
 * because the fallback re-check catches the rest anyway.
 */
const MAX_DELAYED_WAKES = 8;

export interface ReadyWatch {
  /**
   * Resolves when a matching task may be ready (at once if one was announced since the last call), when
   * `ms` have passed, or when `signal` aborts. Never rejects.
   */
  next(ms: number, signal: AbortSignal): Promise<void>;
  close(): void;
}

export interface ReadyMatch {
  kinds: readonly string[];
  codeVersion: string | null;
}

/** Does this event announce a task the waiter could lease? A pinned task matches only its version. */
export function announcesReady(e: Pick<EventRecord, 'type' | 'data'>, m: ReadyMatch): { delayMs: number } | undefined {
  if (!WAKES.has(e.type)) return undefined;
  const d = e.data as Partial<TaskEventData>;
  if (typeof d.kind !== 'string' || !m.kinds.includes(d.kind)) return undefined;
  if (d.code_version != null && d.code_version !== m.codeVersion) return undefined;
  return { delayMs: typeof d.delay_ms === 'number' && d.delay_ms > 0 ? d.delay_ms : 0 };
}

/** Subscribe before the first claim, so a task announced while that claim runs is not missed. */
export function watchReadyTasks(cp: ControlPlane, match: ReadyMatch, timer: Timer = realTimer): ReadyWatch {
  let pending = false;
  let wake: (() => void) | undefined;
  const delayed = new Set<unknown>();
  const fire = () => {
    pending = true;
    wake?.();
  };
  const unsubscribe = cp.events.subscribe((e) => {
    const ready = announcesReady(e, match);
    if (!ready) return;
    if (ready.delayMs === 0) return fire();
    if (delayed.size >= MAX_DELAYED_WAKES) return;
    const handle: unknown = timer.setTimeout(() => {
      delayed.delete(handle);
      fire();
    }, ready.delayMs);
    delayed.add(handle);
  });
  return {
    next(ms, signal) {
      if (pending || signal.aborted) {
        pending = false;
        return Promise.resolve();
      }
      return new Promise<void>((resolve) => {
        const done = () => {
          timer.clearTimeout(handle);
          signal.removeEventListener('abort', done);
          wake = undefined;
          pending = false;
          resolve();
        };
        const handle: unknown = timer.setTimeout(done, ms);
        wake = done;
        signal.addEventListener('abort', done, { once: true });
      });
    },
    close() {
      unsubscribe();
      for (const handle of delayed) timer.clearTimeout(handle);
      delayed.clear();
      wake?.();
    },
  };
}
