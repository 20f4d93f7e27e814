/**
 * Tasks on the wire (04-tasks.md): the caller API and the task-worker protocol. The control plane's
 * routes validate with these schemas and the SDK (client and task worker) types itself from them.
 */
import { z } from 'zod';

export const TASK_STATES = ['queued', 'leased', 'succeeded', 'failed', 'cancelled', 'expired'] as const;

/** Kinds are names handlers register under: short, printable, no spaces. */
export const taskKind = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/-]{0,127}$/, 'a task kind is 1–128 of A–Z a–z 0–9 . _ : / -, starting alphanumeric');

const labels = z.record(z.string().max(128), z.string().max(1024)).refine((l) => Object.keys(l).length <= 64, 'at most 64 labels');

// ---- caller API -------------------------------------------------------------------------------

export const submitTaskRequest = z.strictObject({
  kind: taskKind,
  /** Any JSON value; large payloads belong in artifacts. */
  input: z.unknown().optional(),
  /** Deadline from submission; default `tasks.default_timeout`. */
  timeout_ms: z.number().int().positive().max(30 * 24 * 3_600_000).optional(),
  max_attempts: z.number().int().min(1).max(100).optional(),
  retry_backoff_ms: z.number().int().min(0).max(24 * 3_600_000).optional(),
  /** Higher runs first. */
  priority: z.number().int().min(-1000).max(1000).optional(),
  /** Only a worker running exactly this code version receives the task. */
  code_version: z.string().min(1).max(128).optional(),
  /** Also accepted as the Idempotency-Key header. */
  idempotency_key: z.string().min(1).max(256).optional(),
  /** RFC 3339; not before this time. */
  run_after: z.iso.datetime({ offset: true }).optional(),
  labels: labels.optional(),
});
export type SubmitTaskRequest = z.input<typeof submitTaskRequest>;

export const taskError = z.object({ message: z.string(), retryable: z.boolean().optional(), code: z.string().optional() });

export const taskView = z.object({
  id: z.string(),
  tenant_id: z.string(),
  kind: z.string(),
  state: z.enum(TASK_STATES),
  input: z.unknown(),
  priority: z.number().int(),
  attempt: z.number().int(),
  max_attempts: z.number().int(),
  retry_backoff_ms: z.number().int(),
  run_after: z.string(),
  deadline: z.string(),
  code_version: z.string().nullable(),
  labels: z.record(z.string(), z.string()),
  worker_id: z.string().nullable(),
  lease_generation: z.number().int(),
  cancel_requested: z.boolean(),
  progress: z.unknown(),
  output: z.unknown(),
  error: taskError.nullable(),
  artifacts: z.array(z.string()).nullable(),
  created_at: z.string(),
  updated_at: z.string(),
  started_at: z.string().nullable(),
  first_started_at: z.string().nullable(),
  ended_at: z.string().nullable(),
});
export type TaskView = z.infer<typeof taskView>;

export const listTasksQuery = z.strictObject({
  state: z.enum(TASK_STATES).optional(),
  kind: taskKind.optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().optional(),
  tenant: z.string().optional(),
});

export const waitTaskQuery = z.strictObject({
  /** How long to hold the request for a terminal state (default 30 s, at most 60 s). */
  timeout_ms: z.coerce.number().int().min(0).max(60_000).default(30_000),
  tenant: z.string().optional(),
});

export const taskArtifact = z.object({ key: z.string(), size: z.number().int().nullable(), url: z.string(), expires_at: z.string() });
/** `next_cursor` (added with the broker): present when more objects follow; pass it back as `?cursor=`. */
export const taskArtifactsView = z.object({ items: z.array(taskArtifact), next_cursor: z.string().nullable().optional() });
export const taskArtifactsQuery = z.strictObject({
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(2048).optional(),
  tenant: z.string().optional(),
});

// ---- task-worker protocol ---------------------------------------------------------------------

export const leaseTasksRequest = z.strictObject({
  kinds: z.array(taskKind).min(1).max(100),
  /** The worker's code version; null/absent receives only unpinned tasks. */
  code_version: z.string().min(1).max(128).nullable().optional(),
  max: z.number().int().min(1).max(100).default(1),
  /** Long-poll: hold up to this long when nothing is ready (woken by submits). */
  wait_ms: z.number().int().min(0).max(30_000).default(0),
});
export type LeaseTasksRequest = z.input<typeof leaseTasksRequest>;

/**
 * `server_time` is the control plane's clock when it wrote `expires_at`: a worker compares the two, not
 * `expires_at` with its own clock, so a worker whose clock is off by minutes still plans correctly.
 */
export const taskLease = z.object({ generation: z.number().int(), expires_at: z.string(), server_time: z.string().optional() });
/** Keys the worker may presign: everything under `prefix`, until `expires_at` (the task's deadline). */
export const taskGrant = z.object({ prefix: z.string(), expires_at: z.string() });

export const leasedTask = z.object({ task: taskView, lease: taskLease, grant: taskGrant });
export type LeasedTask = z.infer<typeof leasedTask>;
export const leaseTasksReply = z.object({ tasks: z.array(leasedTask) });
export type LeaseTasksReply = z.infer<typeof leaseTasksReply>;

export const taskHeartbeatRequest = z.strictObject({ generation: z.number().int().positive(), progress: z.unknown().optional() });
export type TaskHeartbeatRequest = z.input<typeof taskHeartbeatRequest>;
export const taskHeartbeatReply = z.object({ lease_expires_at: z.string(), cancel: z.boolean(), server_time: z.string().optional() });
export type TaskHeartbeatReply = z.infer<typeof taskHeartbeatReply>;

export const taskOutcome = z.discriminatedUnion('status', [
  z.strictObject({ status: z.literal('succeeded'), output: z.unknown().optional(), artifacts: z.array(z.string().min(1).max(1024)).max(1000).optional() }),
  z.strictObject({ status: z.literal('failed'), error: z.strictObject({ message: z.string().max(16_384), retryable: z.boolean().optional(), code: z.string().max(128).optional() }) }),
  z.strictObject({ status: z.literal('cancelled') }),
]);
export type TaskOutcomeWire = z.infer<typeof taskOutcome>;

export const taskReportRequest = z.strictObject({ generation: z.number().int().positive(), outcome: taskOutcome });
export type TaskReportRequest = z.input<typeof taskReportRequest>;
export const taskReportReply = z.object({ task: z.object({ id: z.string(), state: z.enum(TASK_STATES) }), replay: z.boolean() });
export type TaskReportReply = z.infer<typeof taskReportReply>;

export const presignRequest = z.strictObject({ generation: z.number().int().positive(), key: z.string().min(1).max(1024), op: z.enum(['put', 'get']) });
export type PresignRequest = z.input<typeof presignRequest>;
export const presignReply = z.object({ url: z.string(), method: z.enum(['PUT', 'GET']), expires_at: z.string(), key: z.string() });
export type PresignReply = z.infer<typeof presignReply>;
