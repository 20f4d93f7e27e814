/**
 * `drover worker --once`: one heartbeat, for smoke tests and probes. It registers (or refreshes) the
 * worker record like any heartbeat, but advertises no RPC endpoint (`rpc_url: null`, no secret) and
 * no inventory: a probe must not hand out a way to drive this host. Note that it therefore clears the
 * RPC endpoint of a daemon running under the same id until that daemon's next heartbeat.
 */
import { buildInfo } from '../domain/build-info.js';
import type { HeartbeatReply } from '../protocol/worker-protocol.js';
import { createControlPlaneClient } from './control-plane-client.js';
import { heartbeatBody } from './heartbeat/body.js';
import type { WorkerOptions } from './options.js';

export async function heartbeatOnce(opts: WorkerOptions, o: { fetch?: typeof fetch; timeoutMs?: number } = {}): Promise<HeartbeatReply> {
  const client = createControlPlaneClient({ baseUrl: opts.controlPlaneUrl, workerId: opts.id, token: opts.token, fetch: o.fetch, timeoutMs: o.timeoutMs ?? 10_000 });
  const body = heartbeatBody({
    hostname: opts.hostname,
    version: buildInfo().version,
    status: 'online',
    providers: opts.providers,
    capabilities: opts.providers.map((p) => `provider:${p}`),
    labels: opts.labels,
    capacity: opts.capacity,
    rpcUrl: null,
    rpcSecret: undefined,
  });
  return client.heartbeat(body);
}
