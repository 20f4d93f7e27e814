/**
 * How tasks leave the API (protocol/tasks.ts): snake_case, times RFC 3339, the deadline as `deadline`,
 * the lease generation as `lease_generation`. A leased task also carries its lease and its grant: the
 * object-key prefix the worker may presign under, valid until the task's deadline.
 */
import { toRfc3339 } from '../../domain/clock.js';
import type { LeasedTask, TaskView } from '../../protocol/tasks.js';
import type { ClaimedTask, TaskRecord } from '../../store/types.js';

const rfc = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

/** Every artifact of a task lives under this prefix; it is the whole of what its worker may presign. */
export const taskPrefix = (taskId: string): string => `tasks/${taskId}/`;

export function toTaskView(t: TaskRecord): TaskView {
  return {
    id: t.id,
    tenant_id: t.tenantId,
    kind: t.kind,
    state: t.state,
    input: t.input,
    priority: t.priority,
    attempt: t.attempt,
    max_attempts: t.maxAttempts,
    retry_backoff_ms: t.retryBackoffMs,
    run_after: toRfc3339(t.runAfter),
    deadline: toRfc3339(t.deadlineAt),
    code_version: t.codeVersion,
    labels: t.labels,
    worker_id: t.workerId,
    lease_generation: t.generation,
    cancel_requested: t.cancelRequested,
    progress: t.progress,
    output: t.output,
    error: t.error,
    artifacts: t.artifacts,
    created_at: toRfc3339(t.createdAt),
    updated_at: toRfc3339(t.updatedAt),
    started_at: rfc(t.startedAt),
    first_started_at: rfc(t.firstStartedAt),
    ended_at: rfc(t.endedAt),
  };
}

export function toLeasedTask(c: ClaimedTask): LeasedTask {
  return {
    task: toTaskView(c.task),
    lease: { generation: c.lease.generation, expires_at: toRfc3339(c.lease.expiresAt), server_time: toRfc3339(c.lease.renewedAt) },
    grant: { prefix: taskPrefix(c.task.id), expires_at: toRfc3339(c.task.deadlineAt) },
  };
}
