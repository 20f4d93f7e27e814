/**
 * The task sweep (04-tasks.md): a timer, not a side effect of some poll. Each tick expires tasks past
 * their deadline and ends attempts whose lease ran out without a report — requeued with backoff,
 * failed once attempts are exhausted (the dead letter, keeping the last error), or cancelled when a
 * cancel was pending — then announces each (events, outcome counters, leases lost).
 *
 * Safe on every replica (each change is a conditional write in the store); the leader runs it every
 * second, followers at a fraction (leader.ts). Tests call `taskSweepTick` with a manual clock.
 */
import { allTenants, type TaskSweepResult } from '../../store/types.js';
import type { ControlPlane } from '../deps.js';
import { emitAttemptEnd } from '../services/tasks/events.js';
import { runLoop, type Timer } from './runner.js';

export const TASK_SWEEP_INTERVAL_MS = 1_000;

export interface TaskLoopOptions {
  /** From the leader loop: whether this replica sweeps on tick number n. Default: every tick. */
  shouldRun?: (tick: number) => boolean;
  intervalMs?: number;
  timer?: Timer;
}

/** One sweep and its announcements; returns what the store changed. */
export async function taskSweepTick(cp: ControlPlane): Promise<TaskSweepResult> {
  const result = await cp.store.tasks.sweepTasks();
  const reasons = new Map<string, string>();
  for (const id of result.expired) reasons.set(id, 'deadline_exceeded');
  for (const id of [...result.requeued, ...result.failed, ...result.cancelled]) reasons.set(id, 'lease_expired');
  if (reasons.size === 0) return result;
  const tasks = await cp.store.tasks.getTasksByIds(allTenants, [...reasons.keys()]);
  for (const t of tasks) {
    const reason = reasons.get(t.id)!;
    // A lease that ran out is a lease lost (the worker died, hung or was cut off); an expired task's
    // lease was ended by the deadline, not lost.
    if (reason === 'lease_expired') cp.metrics.leasesLost.inc({ resource_type: 'task' });
    await emitAttemptEnd(cp, t, { reason });
  }
  if (tasks.length > 0) cp.log.info({ requeued: result.requeued.length, failed: result.failed.length, expired: result.expired.length, cancelled: result.cancelled.length }, 'task sweep');
  return result;
}

export function startTaskLoops(cp: ControlPlane, signal: AbortSignal, o: TaskLoopOptions = {}): Promise<void> {
  let tick = 0;
  return runLoop({
    name: 'task-sweep',
    intervalMs: o.intervalMs ?? TASK_SWEEP_INTERVAL_MS,
    signal,
    log: cp.log,
    ...(o.timer ? { timer: o.timer } : {}),
    tick: async () => {
      tick += 1;
      if (o.shouldRun && !o.shouldRun(tick)) return;
      await taskSweepTick(cp);
    },
  });
}
