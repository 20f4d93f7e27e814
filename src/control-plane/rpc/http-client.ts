/**
 * WorkerRpc over HTTP: POST {rpc_url}/rpc with the worker's rpc_secret as a bearer token.
 */
import { randomUUID } from 'node:crypto';
import type { Clock } from '../../domain/clock.js';
import { WorkerRpcError, WorkerUnavailable, type RpcCallOptions, type RpcTarget, type WorkerRpc } from './client.js';

export interface HttpRpcOptions {
  clock: Clock;
  fetch?: typeof fetch;
  defaultTimeoutMs?: number;
}

export function createHttpRpc(o: HttpRpcOptions): WorkerRpc {
  const doFetch = o.fetch ?? fetch;
  return {
    async call<T>(target: RpcTarget, method: string, params: unknown, options: RpcCallOptions = {}): Promise<T> {
      if (!target.rpcUrl || !target.rpcSecret) throw new WorkerUnavailable(target.id, 'it has not advertised an RPC endpoint');
      const timeout = AbortSignal.timeout(options.timeoutMs ?? o.defaultTimeoutMs ?? 30_000);
      const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
      const id = randomUUID();
      let res: Response;
      try {
        res = await doFetch(new URL('/rpc', target.rpcUrl), {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${target.rpcSecret}` },
          body: JSON.stringify({ id, method, params, ...(options.lease ? { lease: options.lease } : {}) }),
          signal,
        });
      } catch (err) {
        throw new WorkerUnavailable(target.id, err instanceof Error && err.name === 'TimeoutError' ? 'timed out' : 'unreachable');
      }
      let payload: { id?: string; result?: T; error?: { code: string; message: string } };
      try {
        payload = (await res.json()) as typeof payload;
      } catch {
        throw new WorkerUnavailable(target.id, `answered HTTP ${res.status} without a JSON body`);
      }
      if (payload.error) throw new WorkerRpcError(payload.error.code, payload.error.message);
      if (!res.ok) throw new WorkerUnavailable(target.id, `answered HTTP ${res.status}`);
      return payload.result as T;
    },
  };
}
