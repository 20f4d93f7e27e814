/**
 * One RPC envelope in, one out (src/protocol/rpc.ts): `{id, method, lease?, params}` →
 * `{id, result}` or `{id, error: {code, message}}`. A malformed envelope is HTTP 400 `bad_request`;
 * everything else is HTTP 200, with errors in the envelope, exactly as the control plane's client and
 * the tests' fake worker expect.
 */
import type { Logger } from 'pino';
import { rpcRequestSchema, type RpcResponse } from '../../protocol/rpc.js';
import { toRpcError } from './errors.js';
import type { RpcHandler } from './methods.js';

export interface Dispatched {
  status: number;
  body: RpcResponse;
}

export async function dispatch(methods: ReadonlyMap<string, RpcHandler>, body: unknown, log: Logger): Promise<Dispatched> {
  const parsed = rpcRequestSchema.safeParse(body);
  if (!parsed.success) {
    const id = typeof (body as { id?: unknown } | null)?.id === 'string' ? (body as { id: string }).id : null;
    return { status: 400, body: { id, error: { code: 'bad_request', message: `not an RPC envelope: ${parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ')}` } } };
  }
  const { id, method, lease, params } = parsed.data;
  const handler = methods.get(method);
  if (!handler) return { status: 200, body: { id, error: { code: 'unknown_method', message: `no method ${method}` } } };
  try {
    const result = await handler({ lease, params });
    return { status: 200, body: { id, result } };
  } catch (err) {
    const error = toRpcError(err);
    if (error.code === 'internal') log.error({ method, err: error.message }, 'rpc failed');
    else log.debug({ method, code: error.code, sandbox_id: lease?.resource_id }, 'rpc refused');
    return { status: 200, body: { id, error } };
  }
}
