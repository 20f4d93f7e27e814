/**
 * The worker registry and leases as operators see them (02-api.md, "Workers"): snake_case, RFC 3339
 * times, cpu in cores. Shared by the control plane's routes (validation, OpenAPI) and the SDK (types).
 * A worker's `rpc_secret` is never part of any of these: it is the key to drive the worker.
 */
import { z } from 'zod';
import { WORKER_STATUSES } from '../domain/states/worker.js';

export const workerViewSchema = z.object({
  id: z.string(),
  hostname: z.string(),
  version: z.string(),
  status: z.enum(WORKER_STATUSES as [string, ...string[]]),
  /** Computed on read: silent for more than `workers.stale_after`, whatever the last sweep decided. */
  stale: z.boolean(),
  cordoned: z.boolean(),
  drain: z.object({ deadline: z.string().nullable(), migrate: z.boolean() }).nullable(),
  providers: z.array(z.string()),
  capabilities: z.array(z.string()),
  labels: z.record(z.string(), z.string()),
  capacity: z.object({ cpu: z.number(), memory_mb: z.number(), disk_mb: z.number(), max_sandboxes: z.number() }),
  allocated: z.object({ cpu: z.number(), memory_mb: z.number(), disk_mb: z.number(), sandboxes: z.number() }),
  rpc_url: z.string().nullable(),
  task_kinds: z.array(z.string()),
  code_version: z.string().nullable(),
  last_heartbeat: z.string(),
  status_changed_at: z.string(),
  created_at: z.string(),
  updated_at: z.string(),
});
export type WorkerView = z.infer<typeof workerViewSchema>;

export const leaseViewSchema = z.object({
  resource_type: z.string(),
  resource_id: z.string(),
  holder_id: z.string(),
  generation: z.number(),
  expires_at: z.string(),
  acquired_at: z.string(),
  renewed_at: z.string(),
  expired: z.boolean(),
});
export type LeaseView = z.infer<typeof leaseViewSchema>;

/** `GET /api/v1/workers/{id}`: the worker plus the sandboxes attached to it and its live leases. */
export const workerDetailSchema = workerViewSchema.extend({
  sandboxes: z.array(z.object({ id: z.string(), state: z.string(), generation: z.number() })),
  leases: z.array(leaseViewSchema),
});
export type WorkerDetail = z.infer<typeof workerDetailSchema>;

/** `POST /api/v1/workers/{id}/drain`. */
export const drainWorkerSchema = z.strictObject({
  /** From now; absent: no deadline (sandboxes run until they end). */
  deadline_ms: z.number().int().min(0).max(7 * 24 * 3_600_000).optional(),
  /** At the deadline, re-place sandboxes with restart_on_worker_loss (else stop them too). */
  migrate: z.boolean().default(true),
});
/** What a caller sends (`migrate` may be left out). */
export type DrainWorkerRequest = z.input<typeof drainWorkerSchema>;

/** `DELETE /api/v1/admin/workers/{id}`: what deleting the worker did to its work. */
export const deleteWorkerReplySchema = z.object({
  id: z.string(),
  deleted: z.literal(true),
  leases_expired: z.number(),
  sandboxes_replaced: z.array(z.string()),
  sandboxes_failed: z.array(z.string()),
  sandboxes_stopped: z.array(z.string()),
});
export type DeleteWorkerReply = z.infer<typeof deleteWorkerReplySchema>;
