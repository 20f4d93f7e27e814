/**
 * The worker's lease request (04-tasks.md): claim up to `max` ready tasks of its kinds; when there are
 * none, hold the request up to `wait_ms`, claiming again whenever a matching task is announced on this
 * replica (notifier.ts) and, as a fallback for submits on other replicas, every `fallbackMs`.
 *
 * The hold ends early, answering an empty batch, when the client hangs up or the process shuts down.
 * A claim that commits after its client has hung up is given back (`abandonClaim`): the worker never
 * saw it, so it should neither wait out a lease TTL nor burn an attempt.
 */
import type { ClaimedTask } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { realTimer, type Timer } from '../../loops/runner.js';
import { emitTask } from './events.js';
import { watchReadyTasks } from './notifier.js';

/** How often a waiting lease request re-reads the store without being woken. */
export const LEASE_FALLBACK_MS = 1_000;

export interface LeaseOptions {
  fallbackMs?: number;
  timer?: Timer;
}

export interface LeaseRequest {
  kinds: string[];
  codeVersion: string | null;
  max: number;
  waitMs: number;
}

export async function leaseTasks(cp: ControlPlane, workerId: string, r: LeaseRequest, hungUp: AbortSignal, o: LeaseOptions = {}): Promise<ClaimedTask[]> {
  const claim = () => claimAndAnnounce(cp, workerId, r, hungUp);
  if (r.waitMs <= 0) return claim();
  const timer = o.timer ?? realTimer;
  const stop = new AbortController();
  const end = () => stop.abort();
  const hold = timer.setTimeout(end, r.waitMs);
  hungUp.addEventListener('abort', end, { once: true });
  // One listener per held request is the design, not a leak: without this Node warns past ten.
  // (Better set once where the signal is made, in compose.ts.)
  cp.shutdown.addEventListener('abort', end, { once: true });
  if (hungUp.aborted || cp.shutdown.aborted) end();
  const watch = watchReadyTasks(cp, { kinds: r.kinds, codeVersion: r.codeVersion }, timer);
  try {
    for (;;) {
      if (hungUp.aborted || cp.shutdown.aborted) return [];
      // After the hold runs out this is the last look, so a task announced at the very end still goes.
      const got = await claim();
      if (got.length > 0 || stop.signal.aborted) return got;
      await watch.next(o.fallbackMs ?? LEASE_FALLBACK_MS, stop.signal);
    }
  } finally {
    watch.close();
    timer.clearTimeout(hold);
    hungUp.removeEventListener('abort', end);
    cp.shutdown.removeEventListener('abort', end);
  }
}

async function claimAndAnnounce(cp: ControlPlane, workerId: string, r: LeaseRequest, hungUp: AbortSignal): Promise<ClaimedTask[]> {
  const claimed = await cp.store.tasks.claimTasks({ workerId, kinds: r.kinds, codeVersion: r.codeVersion, max: r.max, leaseTtlMs: cp.config.tasks.lease_ttl });
  if (claimed.length === 0) return claimed;
  if (hungUp.aborted) {
    await giveBack(cp, workerId, claimed);
    return [];
  }
  for (const { task } of claimed) {
    // Submit → start: from when the task became runnable (its run_after, for a delayed one) to its
    // first lease, on the store's clock.
    if (task.attempt === 1 && task.startedAt !== null) {
      cp.metrics.taskStartLatency.observe({ kind: task.kind }, Math.max(0, task.startedAt - Math.max(task.createdAt, task.runAfter)) / 1000);
    }
  }
  await Promise.all(claimed.map((c) => emitTask(cp, 'leased', c.task, { generation: c.lease.generation })));
  return claimed;
}

async function giveBack(cp: ControlPlane, workerId: string, claimed: ClaimedTask[]): Promise<void> {
  for (const { task, lease } of claimed) {
    try {
      if (!(await cp.store.tasks.abandonClaim(task.id, workerId, lease.generation))) continue;
      const back = await cp.store.tasks.getTask({ kind: 'all' }, task.id);
      if (back) await emitTask(cp, 'returned', back, { worker_id: workerId });
    } catch (err) {
      // The lease expires on its own and the sweep requeues the task: slower, never lost.
      cp.log.warn({ task_id: task.id, err: err instanceof Error ? err.message : String(err) }, 'could not give back an unseen task claim');
    }
  }
}
