/**
 * The task-worker protocol (04-tasks.md, "Worker protocol") as four calls behind an interface: the
 * runner and the lease loop never see URLs or headers, and replies are checked against the wire
 * schemas so a mismatch fails loudly at the edge instead of as an undefined deep in a handler.
 */
import {
  leaseTasksReply,
  presignReply,
  taskHeartbeatReply,
  taskReportReply,
  type LeaseTasksReply,
  type LeaseTasksRequest,
  type PresignReply,
  type PresignRequest,
  type TaskHeartbeatReply,
  type TaskHeartbeatRequest,
  type TaskReportReply,
  type TaskReportRequest,
} from '../../protocol/tasks.js';
import type { Transport } from '../http.js';

export interface TaskProtocol {
  lease(body: LeaseTasksRequest, signal?: AbortSignal): Promise<LeaseTasksReply>;
  heartbeat(taskId: string, body: TaskHeartbeatRequest, signal?: AbortSignal): Promise<TaskHeartbeatReply>;
  report(taskId: string, body: TaskReportRequest, signal?: AbortSignal): Promise<TaskReportReply>;
  presign(taskId: string, body: PresignRequest, signal?: AbortSignal): Promise<PresignReply>;
}

/** `transport` must carry the worker's credentials (createTransport's `worker` option). */
export function httpTaskProtocol(transport: Transport, workerId: string): TaskProtocol {
  const base = `/api/v1/worker/${encodeURIComponent(workerId)}/tasks`;
  const task = (id: string, op: string) => `${base}/${encodeURIComponent(id)}/${op}`;
  return {
    lease: async (body, signal) => leaseTasksReply.parse(await transport.request('POST', `${base}/lease`, { body, signal })),
    heartbeat: async (id, body, signal) => taskHeartbeatReply.parse(await transport.request('POST', task(id, 'heartbeat'), { body, signal })),
    report: async (id, body, signal) => taskReportReply.parse(await transport.request('POST', task(id, 'report'), { body, signal })),
    presign: async (id, body, signal) => presignReply.parse(await transport.request('POST', task(id, 'presign'), { body, signal })),
  };
}
