/**
 * `task.*` events (05-operations.md): submitted, leased, succeeded, failed, cancelled, expired,
 * requeued; plus cancel_requested (a cancel that waits for the worker) and returned (a claim its
 * worker never received, given back). One per state change, emitted after the change is committed;
 * emitting never throws. The events also wake long-polling lease requests on this replica
 * (notifier.ts), which is why their data carries the kind, the pinned code version and how long until
 * the task is ready.
 */
import type { TaskState } from '../../../domain/states/task.js';
import type { TaskRecord } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';

export type TaskEventType = 'submitted' | 'leased' | 'succeeded' | 'failed' | 'cancelled' | 'expired' | 'requeued' | 'cancel_requested' | 'returned';

/** The data every task event carries; `delay_ms` is how long until a queued task may be leased. */
export interface TaskEventData {
  kind: string;
  state: TaskState;
  attempt: number;
  worker_id: string | null;
  code_version: string | null;
  delay_ms?: number;
  [extra: string]: unknown;
}

export async function emitTask(cp: ControlPlane, type: TaskEventType, t: TaskRecord, extra: Record<string, unknown> = {}): Promise<void> {
  const data: TaskEventData = { kind: t.kind, state: t.state, attempt: t.attempt, worker_id: t.workerId, code_version: t.codeVersion, ...extra };
  // Both times are the store's, so the difference holds whatever this process's clock says.
  if (t.state === 'queued') data.delay_ms = Math.max(0, t.runAfter - t.updatedAt);
  await cp.events.emit({ type: `task.${type}`, tenantId: t.tenantId, resourceType: 'task', resourceId: t.id, data });
}

/** The event (and `drover_tasks_total` outcome) for the state an attempt's end left a task in. */
export function attemptEndEvent(state: TaskState): 'succeeded' | 'failed' | 'cancelled' | 'expired' | 'requeued' | undefined {
  switch (state) {
    case 'queued':
      return 'requeued';
    case 'succeeded':
    case 'failed':
    case 'cancelled':
    case 'expired':
      return state;
    case 'leased':
      return undefined;
  }
}

/** Record an attempt's end: the outcome counter, and the event. */
export async function emitAttemptEnd(cp: ControlPlane, t: TaskRecord, extra: Record<string, unknown> = {}): Promise<void> {
  const type = attemptEndEvent(t.state);
  if (!type) return;
  cp.metrics.tasksByOutcome.inc({ outcome: type });
  await emitTask(cp, type, t, extra);
}
