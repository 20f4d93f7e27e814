/**
 * The heartbeat request body (03-worker.md, "Worker → control plane"), built from what the worker is
 * and holds. Pure: the loop calls it for every beat, with the inventory only when it is due.
 */
import type { HeartbeatRequest, InventoryItem, WorkerCapacity } from '../../protocol/worker-protocol.js';
import type { RuntimeRecord } from '../state/types.js';

export interface HeartbeatFacts {
  hostname: string;
  version: string;
  status: 'online' | 'draining';
  providers: string[];
  capabilities: string[];
  labels: Record<string, string>;
  capacity: WorkerCapacity;
  rpcUrl: string | null;
  rpcSecret: string | undefined;
}

export function inventoryOf(records: readonly RuntimeRecord[]): InventoryItem[] {
  return records.map((r) => ({ sandbox_id: r.sandboxId, runtime_id: r.runtimeId, generation: r.generation, state: r.state }));
}

export function heartbeatBody(f: HeartbeatFacts, inventory?: readonly RuntimeRecord[]): HeartbeatRequest {
  const body: HeartbeatRequest = {
    hostname: f.hostname.slice(0, 255) || 'unknown',
    version: f.version.slice(0, 64),
    status: f.status,
    providers: [...f.providers],
    // The protocol bounds the list and each entry; a provider reporting more must not stop the heartbeat.
    capabilities: [...new Set(f.capabilities)].filter((c) => c.length > 0 && c.length <= 128).slice(0, 256),
    labels: { ...f.labels },
    capacity: { ...f.capacity },
    rpc_url: f.rpcUrl,
  };
  // Sent on every beat: the control plane keeps what the latest heartbeat says, so leaving it out clears it.
  if (f.rpcSecret !== undefined) body.rpc_secret = f.rpcSecret;
  if (inventory) body.inventory = inventoryOf(inventory);
  return body;
}
