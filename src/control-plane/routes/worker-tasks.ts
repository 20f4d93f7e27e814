/**
 * Tasks, the task worker's side (04-tasks.md, scope `worker:tasks`): lease (long-poll), heartbeat,
 * report, presign. Auth (register.ts) has already checked that the path's worker id is the
 * authenticated one; every write below is fenced by (task, worker, generation) in the store.
 *
 * Audit: report is audited (one per attempt, and it is the write that decides a task's fate); lease
 * and heartbeat are not (the highest-rate calls in the system; lease is mostly empty long polls), nor
 * is a granted presign (one per artifact, and it changes nothing) — but a presign refused for a key
 * outside the grant is written to the audit log as `denied`, because that is a worker probing for
 * other tasks' objects. Fenced rejections are counted in `drover_fenced_writes_rejected_total`.
 */
import { z } from 'zod';
import { DroverError } from '../../domain/errors.js';
import { WORKER_ID_PATTERN } from '../../domain/ids.js';
import {
  leaseTasksReply,
  leaseTasksRequest,
  presignReply,
  presignRequest,
  taskHeartbeatReply,
  taskHeartbeatRequest,
  taskReportReply,
  taskReportRequest,
} from '../../protocol/tasks.js';
import { actorOf } from '../auth/principal.js';
import { defineRoute, type RouteDef } from '../http/route.js';
import { heartbeatTask } from '../services/tasks/heartbeat.js';
import { leaseTasks, type LeaseOptions } from '../services/tasks/lease.js';
import { presignTaskObject } from '../services/tasks/presign.js';
import { reportTask } from '../services/tasks/report.js';
import { toLeasedTask } from '../views/task.js';

const workerParams = z.strictObject({ workerId: z.string().regex(WORKER_ID_PATTERN) });
const taskParams = workerParams.extend({ taskId: z.string().min(1).max(128) });

/** `options` tune the lease long-poll's fallback re-check (tests); production uses the defaults. */
export function workerTaskRoutes(options: LeaseOptions = {}): RouteDef[] {
  return [
    defineRoute({
      id: 'worker.tasks.lease',
      method: 'POST',
      path: '/api/v1/worker/:workerId/tasks/lease',
      summary: 'Lease up to max ready tasks of the given kinds; long-polls up to wait_ms, woken by submits',
      tags: ['worker-protocol', 'tasks'],
      auth: { kind: 'worker', scope: 'worker:tasks' },
      params: workerParams,
      body: leaseTasksRequest,
      audit: false,
      responses: { 200: leaseTasksReply },
      handler: async ({ cp, params, body, reply }) => {
        const hungUp = new AbortController();
        reply.raw.once('close', () => {
          if (!reply.raw.writableFinished) hungUp.abort();
        });
        const request = { kinds: body.kinds, codeVersion: body.code_version ?? null, max: body.max, waitMs: body.wait_ms };
        const claimed = await leaseTasks(cp, params.workerId, request, hungUp.signal, options);
        return { body: { tasks: claimed.map(toLeasedTask) } };
      },
    }),
    defineRoute({
      id: 'worker.tasks.heartbeat',
      method: 'POST',
      path: '/api/v1/worker/:workerId/tasks/:taskId/heartbeat',
      summary: 'Extend a task lease (never the deadline) and record progress; cancel: true asks the worker to stop',
      tags: ['worker-protocol', 'tasks'],
      auth: { kind: 'worker', scope: 'worker:tasks' },
      params: taskParams,
      body: taskHeartbeatRequest,
      audit: false,
      responses: { 200: taskHeartbeatReply },
      handler: async ({ cp, params, body }) => ({ body: await heartbeatTask(cp, params.workerId, params.taskId, body) }),
    }),
    defineRoute({
      id: 'worker.tasks.report',
      method: 'POST',
      path: '/api/v1/worker/:workerId/tasks/:taskId/report',
      summary: 'Report an attempt: succeeded (output, artifacts), failed (error) or cancelled; idempotent per generation',
      tags: ['worker-protocol', 'tasks'],
      auth: { kind: 'worker', scope: 'worker:tasks' },
      params: taskParams,
      body: taskReportRequest,
      auditResource: { type: 'task', param: 'taskId' },
      responses: { 200: taskReportReply },
      handler: async ({ cp, params, body }) => ({ body: await reportTask(cp, params.workerId, params.taskId, body) }),
    }),
    defineRoute({
      id: 'worker.tasks.presign',
      method: 'POST',
      path: '/api/v1/worker/:workerId/tasks/:taskId/presign',
      summary: "A presigned URL for one object under the task's grant prefix, valid until the deadline at most",
      tags: ['worker-protocol', 'tasks'],
      auth: { kind: 'worker', scope: 'worker:tasks' },
      params: taskParams,
      body: presignRequest,
      audit: false,
      responses: { 200: presignReply },
      handler: async ({ cp, params, body, principal, req }) => {
        try {
          return { body: await presignTaskObject(cp, params.workerId, params.taskId, body) };
        } catch (err) {
          if (err instanceof DroverError && err.code === 'forbidden') {
            await cp.audit({
              ...actorOf(principal),
              action: 'worker.tasks.presign',
              resourceType: 'task',
              resourceId: params.taskId,
              outcome: 'denied',
              requestId: req.id,
              remoteAddr: req.ip,
              details: { code: err.code, key: body.key.slice(0, 256), op: body.op },
            });
          }
          throw err;
        }
      },
    }),
  ];
}
