/**
 * The lease rule of src/protocol/rpc.ts, as a pure decision, in the order the protocol lists it:
 * missing → lease_required; another sandbox or another holder → lease_lost; expired → lease_lost;
 * generation below the high-water mark → stale_generation. The same generation as the mark passes:
 * retries are idempotent.
 *
 * Expiry under clock skew. `expires_at` is in the control plane's clock and this worker's wall clock
 * may be minutes off, so it is never compared with the worker's own time. It is compared with
 * `serverNow`, the control plane's clock as estimated from the last heartbeat reply plus the
 * monotonic time since (server-time.ts). With no estimate yet (no reply since start) expiry is not
 * judged at all: the high-water mark still stops replays of older generations, and the control plane
 * fences every write a stale lease could lead to with its own clock. In practice the gap is empty —
 * the control plane learns the rpc secret only from a heartbeat, and leased calls wait for the first
 * reply (status.ts).
 */
import type { RpcLeaseWire } from '../../protocol/rpc.js';

export type LeaseVerdict = { ok: true; generation: number; expiresAt: number } | { ok: false; code: 'lease_required' | 'lease_lost' | 'stale_generation'; message: string };

export interface LeaseCheckInput {
  method: string;
  lease: RpcLeaseWire | undefined;
  sandboxId: string;
  workerId: string;
  /** Highest generation seen for the sandbox (0 = none). */
  highWater: number;
  /** The control plane's clock now, estimated; undefined when unknown. */
  serverNow: number | undefined;
}

export function checkLease(i: LeaseCheckInput): LeaseVerdict {
  const { lease } = i;
  if (!lease) return { ok: false, code: 'lease_required', message: `${i.method} requires a lease` };
  if (lease.resource_id !== i.sandboxId) return { ok: false, code: 'lease_lost', message: `the lease is for ${lease.resource_id}, not ${i.sandboxId}` };
  if (lease.holder_id !== i.workerId) return { ok: false, code: 'lease_lost', message: `the lease is held by ${lease.holder_id}, not ${i.workerId}` };
  const expiresAt = Date.parse(lease.expires_at);
  if (!Number.isFinite(expiresAt)) return { ok: false, code: 'lease_lost', message: `the lease expiry ${lease.expires_at} is not a time` };
  if (i.serverNow !== undefined && expiresAt <= i.serverNow) {
    return { ok: false, code: 'lease_lost', message: `the lease expired at ${lease.expires_at} (control-plane clock)` };
  }
  if (lease.generation < i.highWater) return { ok: false, code: 'stale_generation', message: `generation ${lease.generation} is below ${i.highWater}, the highest this worker has seen for ${i.sandboxId}` };
  return { ok: true, generation: lease.generation, expiresAt };
}
