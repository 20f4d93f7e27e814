/**
 * Several control planes over one PostgreSQL database, each with its own store (its own pool), as
 * separate replicas would be. `ClusterClient` is the seam: here it is `app.inject` into an in-process
 * control plane; a test of real `drover serve` processes implements the same interface over fetch and
 * reuses `overcommitScenario` unchanged.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../../src/config/index.js';
import { buildApp } from '../../../src/control-plane/app.js';
import { generateSecret, hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import { systemClock } from '../../../src/domain/clock.js';
import { newId } from '../../../src/domain/ids.js';
import { openPostgres } from '../../../src/store/postgres/driver.js';
import { createStore, type Store } from '../../../src/store/store.js';
import type { FakeWorker } from '../support/fake-worker.js';

export const CLUSTER_WORKER_TOKEN = 'wt-cluster-test-token-0123456789';

export interface ClusterClient {
  name: string;
  request(method: string, url: string, o?: { key?: string; body?: unknown }): Promise<{ status: number; body: unknown }>;
}

export interface ClusterMember extends ClusterClient {
  cp: ControlPlane;
  app: FastifyInstance;
  store: Store;
  close(): Promise<void>;
}

/** One in-process control plane on the database at `dsn`, with its own pool and config. */
export async function startClusterMember(name: string, dsn: string, config: Record<string, unknown> = {}): Promise<ClusterMember> {
  const dir = mkdtempSync(join(tmpdir(), `drover-${name}-`));
  const cfg = loadConfig({
    env: {},
    cwd: dir,
    flags: {
      'database.driver': 'postgres',
      'database.dsn': dsn,
      'auth.worker_token': CLUSTER_WORKER_TOKEN,
      'rate_limit.enabled': false,
      'artifacts.path': join(dir, 'artifacts'),
      'worker.data_dir': join(dir, 'worker'),
      ...config,
    },
  });
  const store = createStore(openPostgres({ dsn, poolSize: 8 }), systemClock);
  await store.migrate();
  const shutdown = new AbortController();
  const cp = createControlPlane({ config: cfg, store, clock: systemClock, log: pino({ level: 'silent' }), shutdown: shutdown.signal, replicaId: name });
  const app = await buildApp(cp);
  await app.ready();
  return {
    name,
    cp,
    app,
    store,
    async request(method, url, o = {}) {
      const res = await app.inject({
        method: method as 'GET',
        url,
        headers: { ...(o.key ? { authorization: `Bearer ${o.key}` } : {}), ...(o.body !== undefined ? { 'content-type': 'application/json' } : {}) },
        ...(o.body !== undefined ? { payload: JSON.stringify(o.body) } : {}),
      });
      return { status: res.statusCode, body: res.body ? (JSON.parse(res.body) as unknown) : undefined };
    },
    async close() {
      shutdown.abort();
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** An API key of `role` for `tenantId`, written straight to the store. */
export async function createKey(store: Store, tenantId: string, role: 'api' | 'admin' = 'api'): Promise<string> {
  await store.tenants.ensureTenant(tenantId);
  const key = generateSecret('drv');
  await store.credentials.createApiKey({ id: newId('key', Date.now()), tenantId, name: `${role}@${tenantId}`, role, keyHash: hashSecret(key) });
  return key;
}

export interface OvercommitResult {
  statuses: number[];
  created: string[];
  /** Sandboxes in `running` once every spawn has answered. */
  running: number;
  allocated: number;
  capacity: number;
}

/**
 * `total` concurrent creates spread round-robin over `clients`, alternating `wait: true` and
 * `wait: false`, against a fleet of one small worker. Returns once no sandbox is still `starting`.
 */
export async function overcommitScenario(clients: ClusterClient[], key: string, store: Store, worker: FakeWorker, total: number): Promise<OvercommitResult> {
  const responses = await Promise.all(
    Array.from({ length: total }, (_, i) => clients[i % clients.length]!.request('POST', '/api/v1/sandboxes', { key, body: { wait: i % 2 === 0, labels: { n: String(i) } } })),
  );
  const created = responses.filter((r) => r.status === 201).map((r) => (r.body as { id: string }).id);
  for (let i = 0; i < 500; i++) {
    const starting = await store.sandboxes.listSandboxes({ kind: 'all' }, { state: 'starting' }, { limit: 1 });
    if (starting.items.length === 0) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const running = await store.sandboxes.listSandboxes({ kind: 'all' }, { state: 'running' }, { limit: 1000 });
  const w = await store.workers.getWorker(worker.id);
  return { statuses: responses.map((r) => r.status), created, running: running.items.length, allocated: w?.allocated.sandboxes ?? -1, capacity: w?.capacity.sandboxes ?? -1 };
}
