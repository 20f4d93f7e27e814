/**
 * A task worker's heartbeat: extends the lease by `tasks.lease_ttl` (never the deadline), records
 * progress, and tells the worker to stop when a cancel was requested or the deadline has passed. The
 * server owns the timing: the reply's `lease_expires_at` is what the worker plans by.
 */
import { toRfc3339 } from '../../../domain/clock.js';
import type { TaskHeartbeatReply, TaskHeartbeatRequest } from '../../../protocol/tasks.js';
import type { ControlPlane } from '../../deps.js';
import { fenced } from './fenced.js';

export async function heartbeatTask(cp: ControlPlane, workerId: string, taskId: string, body: TaskHeartbeatRequest): Promise<TaskHeartbeatReply> {
  const hb = await fenced(cp, 'task_heartbeat', () => cp.store.tasks.heartbeatTask(taskId, workerId, body.generation, cp.config.tasks.lease_ttl, body.progress));
  return { lease_expires_at: toRfc3339(hb.leaseExpiresAt), cancel: hb.cancel, server_time: toRfc3339(hb.serverTime) };
}
