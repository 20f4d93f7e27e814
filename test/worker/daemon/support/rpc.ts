/** Calling a worker's /rpc directly, as the control plane's client does. */
import { toRfc3339 } from '../../../../src/domain/clock.js';
import type { RpcLeaseWire } from '../../../../src/protocol/rpc.js';
import type { Lease } from '../../../../src/store/types.js';

export interface RpcAnswer {
  status: number;
  body: { id: string | null; result?: unknown; error?: { code: string; message: string } };
}

export async function rpc(url: string, secret: string | undefined, method: string, params: unknown, lease?: RpcLeaseWire, headers: Record<string, string> = {}): Promise<RpcAnswer> {
  const res = await fetch(`${url}/rpc`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(secret !== undefined ? { authorization: `Bearer ${secret}` } : {}), ...headers },
    body: JSON.stringify({ id: 'req-1', method, params, ...(lease ? { lease } : {}) }),
  });
  return { status: res.status, body: (await res.json()) as RpcAnswer['body'] };
}

export function wire(lease: Lease): RpcLeaseWire {
  return { resource_id: lease.resourceId, holder_id: lease.holderId, generation: lease.generation, expires_at: toRfc3339(lease.expiresAt) };
}
