/**
 * Presign for a task worker: a URL for exactly one object under the task's grant prefix, valid no
 * longer than the task's deadline and `artifacts.max_url_ttl`. Fenced: only the worker holding the
 * task's live lease at that generation gets one; a stale worker gets 409 `lease_lost`.
 */
import { toRfc3339 } from '../../../domain/clock.js';
import { LeaseLost } from '../../../domain/errors.js';
import type { PresignReply, PresignRequest } from '../../../protocol/tasks.js';
import type { ControlPlane } from '../../deps.js';
import { fenced } from './fenced.js';
import { grantedKey } from './grant.js';

export async function presignTaskObject(cp: ControlPlane, workerId: string, taskId: string, body: PresignRequest): Promise<PresignReply> {
  // The grant check is pure and comes first: a key outside the grant is refused whoever asks.
  const key = grantedKey(taskId, body.key);
  const task = await fenced(cp, 'task_presign', () => cp.store.tasks.checkTaskFence(taskId, workerId, body.generation));
  // The fence judged the deadline by the store clock; the URL's expiry is reckoned by this process's
  // clock (the blob store's), so measure what is left by it too and refuse if nothing is.
  const ttl = Math.min(task.deadlineAt - cp.clock.now(), cp.config.artifacts.max_url_ttl);
  if (ttl <= 0) {
    cp.metrics.fencedRejected.inc({ kind: 'task_presign' });
    throw new LeaseLost(`task/${taskId}`, { reason: 'deadline_passed' });
  }
  // notAfter: the deadline is the hard cap, judged with the same clock reading that dates the URL.
  const signed = await cp.blobs.presign(body.op, key, ttl, { notAfter: task.deadlineAt });
  return { url: signed.url, method: signed.method, expires_at: toRfc3339(signed.expiresAt), key };
}
