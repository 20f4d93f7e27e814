/**
 * The control plane's composition root: builds the ControlPlane from config and a store, and the
 * background loops that run beside the HTTP server. `drover serve`, `drover up` and the tests all come
 * through here, so there is one way to wire a control plane.
 */
import { randomBytes } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import { hostname } from 'node:os';
import pino, { type Logger } from 'pino';
import { openBlobStore } from '../blob/open.js';
import type { BlobStore } from '../blob/types.js';
import type { Config } from '../config/index.js';
import { systemClock, type Clock } from '../domain/clock.js';
import type { Store } from '../store/store.js';
import { DEFAULT_TENANT } from './auth/bootstrap.js';
import type { ControlPlane } from './deps.js';
import { createEventBus } from './events.js';
import { RateLimiter } from './http/rate-limit.js';
import { createMetrics } from './observability/metrics.js';
import { createHttpRpc } from './rpc/http-client.js';
import type { WorkerRpc } from './rpc/client.js';

export interface ControlPlaneOptions {
  config: Config;
  store: Store;
  clock?: Clock;
  log?: Logger;
  rpc?: WorkerRpc;
  blobs?: BlobStore;
  /** The listening address, once known (server.ts); `server.public_url` wins when configured. */
  listenUrl?: () => string | undefined;
  replicaId?: string;
  /** Aborted at shutdown. */
  shutdown?: AbortSignal;
}

export function createControlPlane(o: ControlPlaneOptions): ControlPlane {
  const clock = o.clock ?? systemClock;
  const shutdown = o.shutdown ?? new AbortController().signal;
  // Every held long poll and stream listens for shutdown; there can be thousands at once.
  setMaxListeners(0, shutdown);
  const log = o.log ?? pino({ level: o.config.logging.level });
  const metrics = createMetrics();
  const rl = o.config.rate_limit;
  const server = o.config.server;
  const publicUrl = () => (server.public_url ?? o.listenUrl?.() ?? `http://${server.host}:${server.port}`).replace(/\/+$/, '');
  return {
    config: o.config,
    store: o.store,
    clock,
    log,
    metrics,
    rpc: o.rpc ?? createHttpRpc({ clock }),
    blobs: o.blobs ?? openBlobStore(o.config.artifacts, { publicBaseUrl: publicUrl, clock }),
    publicUrl,
    events: createEventBus(o.store, log),
    auth: {
      enabled: o.config.auth.enabled,
      adminApiKey: o.config.auth.admin_api_key,
      adminTenant: DEFAULT_TENANT,
      sharedWorkerToken: o.config.auth.worker_token,
      perWorkerTokens: o.config.auth.worker_tokens,
    },
    rateLimiter: rl.enabled ? new RateLimiter(clock, rl.requests_per_minute, rl.burst) : undefined,
    replicaId: o.replicaId ?? `cp-${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`,
    startedAt: clock.now(),
    shutdown,
    async audit(entry) {
      try {
        await o.store.audit.append(entry);
      } catch (err) {
        log.warn({ err: err instanceof Error ? err.message : String(err), action: entry.action }, 'audit record not written');
      }
    },
  };
}
