/**
 * Cancel (01-architecture.md, Task): a queued task is cancelled at once; a leased one is marked, its
 * worker hears `cancel: true` on its next heartbeat, and the cancel is final when the worker reports or
 * its lease expires. A task already finished is answered as it is (cancel is idempotent).
 */
import { NotFound } from '../../../domain/errors.js';
import type { TaskRecord, TenantScope } from '../../../store/types.js';
import type { ControlPlane } from '../../deps.js';
import { emitAttemptEnd, emitTask } from './events.js';

export async function cancelTask(cp: ControlPlane, scope: TenantScope, id: string): Promise<TaskRecord> {
  const before = await cp.store.tasks.getTask(scope, id);
  if (!before) throw new NotFound(`task ${id}`);
  const after = await cp.store.tasks.requestCancel(scope, id);
  if (!after) throw new NotFound(`task ${id}`);
  if (before.state !== 'cancelled' && after.state === 'cancelled') await emitAttemptEnd(cp, after, { reason: 'cancel_requested' });
  else if (!before.cancelRequested && after.cancelRequested && after.state === 'leased') await emitTask(cp, 'cancel_requested', after);
  return after;
}
