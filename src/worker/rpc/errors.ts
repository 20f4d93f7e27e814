/**
 * The error a worker answers an RPC with: one of the protocol's codes (src/protocol/rpc.ts), which the
 * control plane's client turns into its own error classes — `draining` and `no_capacity` mean "place
 * it elsewhere", `spawn_failed` "it cannot start at all", `lease_lost`/`stale_generation` "you are not
 * the current holder".
 */
import { DroverError } from '../../domain/errors.js';
import type { RpcErrorCode } from '../../protocol/rpc.js';

export class RpcFailure extends Error {
  override name = 'RpcFailure';
  constructor(
    readonly code: RpcErrorCode,
    message: string,
  ) {
    super(message);
  }
}

/** Any thrown value as `{code, message}`; unknown failures are `internal`. */
export function toRpcError(err: unknown): { code: RpcErrorCode; message: string } {
  if (err instanceof RpcFailure) return { code: err.code, message: err.message };
  if (err instanceof DroverError) {
    if (err.code === 'bad_request') return { code: 'bad_request', message: err.message };
    if (err.code === 'not_found') return { code: 'not_found', message: err.message };
    return { code: 'internal', message: err.message };
  }
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}
