/**
 * Every worker write on a task is fenced by (task, worker, generation) in the store; a stale one is a
 * 409 `lease_lost` that changed nothing. This wrapper counts those rejections
 * (`drover_fenced_writes_rejected_total{kind}`), so one metric shows how often stale workers knock.
 */
import { LeaseLost } from '../../../domain/errors.js';
import type { ControlPlane } from '../../deps.js';

export type FencedKind = 'task_heartbeat' | 'task_report' | 'task_presign';

export async function fenced<T>(cp: ControlPlane, kind: FencedKind, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof LeaseLost) cp.metrics.fencedRejected.inc({ kind });
    throw err;
  }
}
