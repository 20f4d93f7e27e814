/**
 * How workers and leases leave the API: snake_case, times RFC 3339, cpu in cores (the store keeps
 * millicores). The worker's `rpc_secret` is never part of a view — it is the key to drive the worker.
 * The schemas these functions fill are in protocol/workers.ts, shared with the SDK.
 */
import { z } from 'zod';
import { toRfc3339 } from '../../domain/clock.js';
import type { LeaseView, WorkerView } from '../../protocol/workers.js';
import type { Lease, Resources, WorkerRecord } from '../../store/types.js';

const cores = (milli: number) => milli / 1000;
const rfc = (ms: number | null) => (ms === null ? null : toRfc3339(ms));

export function viewWorker(w: WorkerRecord, now: number, staleAfterMs: number): WorkerView {
  return {
    id: w.id,
    hostname: w.hostname,
    version: w.version,
    status: w.status,
    stale: now - w.lastHeartbeatAt > staleAfterMs,
    cordoned: w.cordoned,
    drain: w.drain ? { deadline: rfc(w.drain.deadlineAt), migrate: w.drain.migrate } : null,
    providers: w.providers,
    capabilities: w.capabilities,
    labels: w.labels,
    capacity: { cpu: cores(w.capacity.cpuMilli), memory_mb: w.capacity.memoryMb, disk_mb: w.capacity.diskMb, max_sandboxes: w.capacity.sandboxes },
    allocated: viewAllocated(w.allocated),
    rpc_url: w.rpcUrl,
    task_kinds: w.taskKinds,
    code_version: w.codeVersion,
    last_heartbeat: toRfc3339(w.lastHeartbeatAt),
    status_changed_at: toRfc3339(w.statusChangedAt),
    created_at: toRfc3339(w.createdAt),
    updated_at: toRfc3339(w.updatedAt),
  };
}

function viewAllocated(r: Resources) {
  return { cpu: cores(r.cpuMilli), memory_mb: r.memoryMb, disk_mb: r.diskMb, sandboxes: r.sandboxes };
}

export function viewLease(l: Lease, now: number): LeaseView {
  return {
    resource_type: l.resourceType,
    resource_id: l.resourceId,
    holder_id: l.holderId,
    generation: l.generation,
    expires_at: toRfc3339(l.expiresAt),
    acquired_at: toRfc3339(l.acquiredAt),
    renewed_at: toRfc3339(l.renewedAt),
    expired: l.expiresAt <= now,
  };
}

/** `?limit=&cursor=` (02-api.md); query strings arrive as strings. */
export const pageQuery = {
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  cursor: z.string().max(512).optional(),
};
