/**
 * Hold a create request (`wait: true`) until its sandbox has settled: running, or failed, or gone.
 *
 * The waiter is self-sufficient: while the sandbox is pending it tries to place it itself (the same
 * step the pending loop takes), and fails it at its queue deadline, so a create never depends on this
 * replica's loops being up. It wakes on this process's events (a sandbox freed capacity, a worker
 * changed, its own sandbox moved) and otherwise polls the store, because another replica's progress
 * raises no event here.
 */
import { NotFound } from '../../domain/errors.js';
import type { SandboxState } from '../../domain/states/sandbox.js';
import type { EventRecord, SandboxRecord } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { realTimer, type Timer } from '../loops/runner.js';
import type { PlaceOptions } from './placement.js';
import { advancePending } from './sandbox-pending.js';
import { SPAWN_TIMEOUT_MS } from './sandbox-spawn.js';

/** States a waiting create returns on; pending, starting, stopping and lost are still on their way. */
const SETTLED: readonly SandboxState[] = ['running', 'idle', 'stopped', 'failed', 'expired'];
const FREES_CAPACITY = new Set(['sandbox.stopped', 'sandbox.failed', 'sandbox.expired', 'sandbox.requeued']);

export interface WaitOptions extends PlaceOptions {
  /** How often to re-read the store (default 500 ms). */
  pollMs?: number;
  /** Longest hold, in real time; then the request answers with the sandbox as it is (default: queue timeout + spawn timeout + 5 s). */
  holdMs?: number;
  timer?: Timer;
  /** Aborted when nobody is waiting any more (the client hung up): answer with the sandbox as it is. */
  signal?: AbortSignal;
}

export function isSettled(state: SandboxState): boolean {
  return SETTLED.includes(state);
}

export function waitForSettled(cp: ControlPlane, id: string, o: WaitOptions = {}): Promise<SandboxRecord> {
  const timer = o.timer ?? realTimer;
  const pollMs = o.pollMs ?? 500;
  const holdMs = o.holdMs ?? cp.config.sandboxes.queue_timeout + SPAWN_TIMEOUT_MS + 5_000;
  return new Promise((resolve, reject) => {
    let finished = false;
    let busy = false;
    let again = false;
    let pollHandle: unknown;
    let holdHandle: unknown = undefined;
    let latest: SandboxRecord | undefined;

    const cleanup = () => {
      finished = true;
      unsubscribe();
      timer.clearTimeout(pollHandle);
      timer.clearTimeout(holdHandle);
      cp.shutdown.removeEventListener('abort', onShutdown);
      o.signal?.removeEventListener('abort', onShutdown);
    };
    const finish = (s: SandboxRecord) => {
      if (finished) return;
      cleanup();
      resolve(s);
    };
    const abort = (err: unknown) => {
      if (finished) return;
      cleanup();
      reject(err);
    };
    const answerAsIs = () => {
      if (latest) return finish(latest);
      void cp.store.sandboxes.getSandbox({ kind: 'all' }, id).then((s) => (s ? finish(s) : abort(new NotFound(`sandbox ${id}`))), abort);
    };

    const check = async () => {
      const s = await cp.store.sandboxes.getSandbox({ kind: 'all' }, id);
      if (!s) return abort(new NotFound(`sandbox ${id}`));
      latest = s;
      if (isSettled(s.state)) return finish(s);
      if (s.state !== 'pending') return;
      const overdue = s.queuedUntil !== null && cp.clock.now() >= s.queuedUntil;
      latest = await advancePending(cp, s, overdue, o);
      if (isSettled(latest.state)) finish(latest);
    };
    // One check at a time; a wake during a check runs one more afterwards instead of overlapping.
    const wake = () => {
      if (finished) return;
      if (busy) {
        again = true;
        return;
      }
      busy = true;
      check()
        .catch(abort)
        .finally(() => {
          busy = false;
          if (again && !finished) {
            again = false;
            wake();
          }
        });
    };
    const poll = () => {
      pollHandle = timer.setTimeout(() => {
        wake();
        if (!finished) poll();
      }, pollMs);
    };
    const relevant = (e: EventRecord) => e.resourceId === id || FREES_CAPACITY.has(e.type) || e.type.startsWith('worker.');
    const unsubscribe = cp.events.subscribe((e) => {
      if (relevant(e)) wake();
    });
    const onShutdown = () => answerAsIs();
    cp.shutdown.addEventListener('abort', onShutdown, { once: true });
    o.signal?.addEventListener('abort', onShutdown, { once: true });
    holdHandle = timer.setTimeout(answerAsIs, holdMs);
    if (cp.shutdown.aborted || o.signal?.aborted) return answerAsIs();
    wake();
    poll();
  });
}
