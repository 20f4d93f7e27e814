/**
 * `GET /api/v1/diagnostics` (02-api.md, "System"): the health of one control plane and its fleet, with
 * a remediation line for each problem. Counts, settings and ids only; never a secret. Shared by the
 * route (OpenAPI) and the SDK (types). Sections are null when the store could not be read.
 */
import { z } from 'zod';

const counts = z.record(z.string(), z.number());
const problem = z.object({ id: z.string(), severity: z.enum(['error', 'warning', 'info']), message: z.string(), remediation: z.string() });
export const diagnosticsSchema = z.object({
  generated_at: z.string(),
  replica_id: z.string(),
  uptime_ms: z.number(),
  build: z.object({ version: z.string(), node: z.string() }),
  store: z.object({
    driver: z.string(),
    reachable: z.boolean(),
    latency_ms: z.number().nullable(),
    schema: z.object({ current: z.number(), latest: z.number(), ready: z.boolean() }).nullable(),
  }),
  problems: z.array(problem),
  workers: z.object({ total: z.number(), by_status: counts, cordoned: z.number(), silent: z.array(z.string()) }).nullable(),
  leases: z
    .object({
      active: z.number(),
      expired: z.number(),
      active_by_resource_type: counts,
      expired_by_resource_type: counts,
      top_holders: z.array(z.object({ holder_id: z.string(), active: z.number() })),
    })
    .nullable(),
  sandboxes: z.object({ by_state: counts, live_by_provider: counts, live_by_worker: counts }).nullable(),
  tasks: z.object({ by_state: counts, by_kind: z.record(z.string(), counts) }).nullable(),
  queues: z.object({ pending_sandboxes: z.number(), queued_tasks: z.number() }).nullable(),
  events: z
    .object({
      count: z.number(),
      oldest_seq: z.number().nullable(),
      latest_seq: z.number().nullable(),
      oldest_at: z.string().nullable(),
      retention: z.object({ max_count: z.number(), max_age_ms: z.number() }),
    })
    .nullable(),
  limits: z.record(z.string(), z.unknown()),
  auth: z.object({ enabled: z.boolean(), admin_key_configured: z.boolean(), shared_worker_token_configured: z.boolean(), per_worker_tokens: z.number() }),
  metrics: z.object({ enabled: z.boolean(), token_configured: z.boolean() }),
});
export type Diagnostics = z.infer<typeof diagnosticsSchema>;
