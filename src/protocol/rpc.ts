/**
 * The control plane → worker RPC contract (03-worker.md, "Control plane → worker"). The worker daemon
 * serves exactly these schemas at `POST {rpc_url}/rpc`; the control plane's client and the tests' fake
 * worker speak them too, so a drift between the two sides is a type error, not a production incident.
 *
 * Transport: `POST /rpc`, `content-type: application/json`, `Authorization: Bearer <rpc_secret>` (the
 * secret the worker generated at start and sent in its heartbeat). A wrong or missing secret is HTTP 401
 * with an error envelope whose code is `unauthorized`. Every other answer is HTTP 200 with either
 * `{id, result}` or `{id, error: {code, message}}` (a malformed envelope may be HTTP 400 with
 * `bad_request`), where `id` echoes the request's.
 *
 * Lease rule (01-architecture.md, "Fencing"). Methods marked LEASED require `lease`; the worker rejects:
 *   - no lease                                       → `lease_required`
 *   - `lease.resource_id` ≠ the sandbox in params     → `lease_lost`
 *   - `lease.holder_id` ≠ this worker's id            → `lease_lost`
 *   - `lease.expires_at` in the past                  → `lease_lost`
 *   - `lease.generation` below the highest generation the worker has seen for that sandbox
 *                                                     → `stale_generation`
 * and otherwise raises its high-water mark for the sandbox to `lease.generation`. The high-water mark is
 * per sandbox id and survives the runtime (it is what stops a slow replica or a replayed request from
 * resurrecting a sandbox that was since re-placed at a higher generation). A request at the *same*
 * generation as the high-water mark is accepted: retries are idempotent (see each method).
 */
import { z } from 'zod';

// ---------------------------------------------------------------------------------------------------
// Envelope

/** `{resource_id, holder_id, generation, expires_at}`; `expires_at` is RFC 3339 (store clock). */
export const rpcLeaseSchema = z.strictObject({
  resource_id: z.string().min(1),
  holder_id: z.string().min(1),
  generation: z.number().int().positive(),
  expires_at: z.iso.datetime({ offset: true }),
});
export type RpcLeaseWire = z.infer<typeof rpcLeaseSchema>;

export const RPC_METHODS = ['worker.status', 'worker.spawn', 'worker.destroy', 'worker.renew_lease'] as const;
export type RpcMethod = (typeof RPC_METHODS)[number];
/** Methods that mutate a sandbox and therefore require a lease. */
export const LEASED_METHODS: readonly RpcMethod[] = ['worker.spawn', 'worker.destroy', 'worker.renew_lease'];

export const rpcRequestSchema = z.strictObject({
  id: z.string().min(1).max(128),
  method: z.string().min(1),
  lease: rpcLeaseSchema.optional(),
  params: z.unknown(),
});
export type RpcRequest = z.infer<typeof rpcRequestSchema>;

/**
 * Error codes a worker answers with. The control plane's client maps `lease_lost`/`stale_generation` to
 * its `lease_lost`, `not_found` to `not_found`, and every other code to `worker_unavailable`.
 */
export const RPC_ERROR_CODES = [
  'unauthorized',
  'bad_request',
  'unknown_method',
  'lease_required',
  'lease_lost',
  'stale_generation',
  'not_found',
  /** The worker is draining or shutting down: the control plane places the sandbox elsewhere. */
  'draining',
  /** The worker has no room (its own view disagrees with the control plane's): placed elsewhere. */
  'no_capacity',
  /** The provider could not start the sandbox (bad image, spawn error): the sandbox fails. */
  'spawn_failed',
  'internal',
] as const;
export type RpcErrorCode = (typeof RPC_ERROR_CODES)[number];

/**
 * Spawn refusals that say "not here", as opposed to "not at all": the control plane re-places. A 401
 * (`unauthorized`) is one: the worker restarted with a new secret its next heartbeat will carry.
 */
export const RETRY_ELSEWHERE_CODES: readonly string[] = ['draining', 'no_capacity', 'unauthorized'];

export const rpcErrorSchema = z.object({ code: z.string().min(1), message: z.string() });

export const rpcResponseSchema = z.union([
  z.object({ id: z.string(), result: z.unknown() }),
  z.object({ id: z.string().nullable(), error: rpcErrorSchema }),
]);
export type RpcResponse = z.infer<typeof rpcResponseSchema>;

// ---------------------------------------------------------------------------------------------------
// worker.spawn (LEASED)

/** The service a sandbox supervises (03-worker.md, "Services"), as the worker receives it. */
export const rpcServiceSchema = z.strictObject({
  command: z.union([z.array(z.string()).min(1), z.string().min(1)]),
  env: z.record(z.string(), z.string()).optional(),
  cwd: z.string().optional(),
  port: z.union([z.number().int().min(1).max(65535), z.literal('auto')]).optional(),
  health: z
    .strictObject({
      path: z.string().optional(),
      interval_ms: z.number().int().positive().optional(),
      timeout_ms: z.number().int().positive().optional(),
      start_timeout_ms: z.number().int().positive().optional(),
    })
    .optional(),
  restart: z
    .strictObject({
      policy: z.enum(['always', 'on-failure', 'never']).optional(),
      backoff_initial_ms: z.number().int().positive().optional(),
      backoff_max_ms: z.number().int().positive().optional(),
      max_crashes: z.number().int().positive().optional(),
      crash_window_ms: z.number().int().positive().optional(),
    })
    .optional(),
});

/**
 * What to run. `cpu` is in CPUs (0.5 = half a core), memory and disk in MiB: the resources the control
 * plane reserved for it, which the provider enforces where the host allows and reports otherwise.
 */
export const spawnSpecSchema = z.object({
  image: z.string().optional(),
  cpu: z.number().positive(),
  memory_mb: z.number().int().positive(),
  disk_mb: z.number().int().positive(),
  pids: z.number().int().positive().optional(),
  env: z.record(z.string(), z.string()).optional(),
  network: z.enum(['none', 'host']).default('none'),
  ports: z.array(z.number().int().min(1).max(65535)).optional(),
  service: rpcServiceSchema.optional(),
  idle_timeout_ms: z.number().int().positive().optional(),
});
export type SpawnSpec = z.input<typeof spawnSpecSchema>;

/**
 * `worker.spawn`: start the sandbox. `lease.resource_id` must equal `sandbox_id`. Idempotent per
 * (sandbox_id, generation): a retry of a spawn the worker already performed returns the same runtime.
 * `ttl_ms` is informational (the control plane reaps at TTL); the worker's own bound is the lease.
 */
export const spawnParamsSchema = z.strictObject({
  sandbox_id: z.string().min(1),
  tenant_id: z.string().min(1),
  /** A concrete provider the worker advertised (never `auto`). */
  provider: z.string().min(1),
  spec: spawnSpecSchema,
  ttl_ms: z.number().int().positive(),
});
export type SpawnParams = z.input<typeof spawnParamsSchema>;

/**
 * `running`: ready (for a service: healthy). `starting`: accepted, not yet ready; the worker reports
 * `running` (or `failed`) later through the fenced `POST /api/v1/worker/{id}/sandboxes/{sid}/state`.
 * `service_port` is the resolved service port (when `port: "auto"`). `capabilities`/`warnings` say which
 * limits were enforced and which could not be.
 */
export const spawnResultSchema = z.object({
  runtime_id: z.string().min(1),
  state: z.enum(['running', 'starting']),
  capabilities: z.array(z.string()).optional(),
  warnings: z.array(z.string()).optional(),
  service_port: z.number().int().min(1).max(65535).optional(),
});
export type SpawnResult = z.infer<typeof spawnResultSchema>;

// ---------------------------------------------------------------------------------------------------
// worker.destroy (LEASED)

/** Idempotent: destroying what is already gone answers `{destroyed: false}`, not an error. */
export const destroyParamsSchema = z.strictObject({
  sandbox_id: z.string().min(1),
  runtime_id: z.string().min(1).nullable(),
});
export type DestroyParams = z.infer<typeof destroyParamsSchema>;
export const destroyResultSchema = z.object({ destroyed: z.boolean() });
export type DestroyResult = z.infer<typeof destroyResultSchema>;

// ---------------------------------------------------------------------------------------------------
// worker.renew_lease (LEASED)

/**
 * The control plane hands the worker a renewed lease (same generation, later `expires_at`), e.g. after a
 * renewal the worker could not see the reply of. The worker records the new expiry.
 */
export const renewLeaseParamsSchema = z.strictObject({ sandbox_id: z.string().min(1) });
export type RenewLeaseParams = z.infer<typeof renewLeaseParamsSchema>;
export const renewLeaseResultSchema = z.object({ expires_at: z.iso.datetime({ offset: true }) });
export type RenewLeaseResult = z.infer<typeof renewLeaseResultSchema>;

// ---------------------------------------------------------------------------------------------------
// worker.status (no lease)

export const statusParamsSchema = z.strictObject({}).optional();
export const runtimeInventorySchema = z.object({
  sandbox_id: z.string(),
  runtime_id: z.string(),
  generation: z.number().int().positive(),
  state: z.string(),
});
export const statusResultSchema = z.object({
  worker_id: z.string(),
  status: z.enum(['online', 'draining']),
  providers: z.array(z.string()),
  runtimes: z.array(runtimeInventorySchema),
});
export type StatusResult = z.infer<typeof statusResultSchema>;
