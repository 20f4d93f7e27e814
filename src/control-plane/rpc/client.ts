/**
 * The control plane's view of a worker: an RPC interface (03-worker.md, "Control plane → worker").
 * Services call `rpc.call(...)`; the HTTP implementation is in rpc/http-client.ts and tests may inject
 * another. Every mutating call carries the lease, so the worker can reject a stale replica's request.
 */
import { DroverError } from '../../domain/errors.js';

export interface RpcLease {
  resource_id: string;
  holder_id: string;
  generation: number;
  /** RFC 3339 */
  expires_at: string;
}

export interface RpcTarget {
  id: string;
  rpcUrl: string | null;
  rpcSecret: string | null;
}

export interface RpcCallOptions {
  lease?: RpcLease;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface WorkerRpc {
  call<T = unknown>(target: RpcTarget, method: string, params: unknown, options?: RpcCallOptions): Promise<T>;
}

/** The worker could not be reached, or did not answer in time. */
export class WorkerUnavailable extends DroverError {
  constructor(workerId: string, reason: string) {
    super('worker_unavailable', `worker ${workerId} is unavailable: ${reason}`);
  }
}

/** The worker answered with an error of its own. */
export class WorkerRpcError extends DroverError {
  constructor(readonly workerCode: string, message: string) {
    super(workerCode === 'lease_lost' || workerCode === 'stale_generation' ? 'lease_lost' : workerCode === 'not_found' ? 'not_found' : 'worker_unavailable', message, { worker_code: workerCode });
  }
}
