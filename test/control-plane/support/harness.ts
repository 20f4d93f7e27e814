/**
 * An in-process control plane for API tests: a migrated SQLite store in a temp dir, a manual clock,
 * Fastify driven through `app.inject` (no port), and ready-made credentials for every kind of caller.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig, type Config } from '../../../src/config/index.js';
import { ManualClock } from '../../../src/domain/clock.js';
import { newId } from '../../../src/domain/ids.js';
import { buildApp } from '../../../src/control-plane/app.js';
import { generateSecret, hashSecret } from '../../../src/control-plane/auth/secrets.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import { createLogger } from '../../../src/control-plane/observability/logger.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import type { WorkerRpc } from '../../../src/control-plane/rpc/client.js';
import { openSqlite } from '../../../src/store/sqlite/driver.js';
import { createStore, type Store } from '../../../src/store/store.js';
import type { Role } from '../../../src/store/types.js';

export const SHARED_WORKER_TOKEN = 'wt-shared-test-token-0123456789';

export interface Caller {
  /** An API key. */
  key?: string;
  /** Worker credentials. */
  worker?: { id: string; token: string };
}

export interface TestResponse {
  status: number;
  headers: Record<string, string | string[] | number | undefined>;
  body: unknown;
  text: string;
  json<T = Record<string, unknown>>(): T;
}

export interface TestControlPlane {
  cp: ControlPlane;
  app: FastifyInstance;
  store: Store;
  clock: ManualClock;
  config: Config;
  /** Keys by name: admin, operator, viewer (tenant-a), apiA (tenant-a), apiB (tenant-b). */
  keys: Record<'admin' | 'operator' | 'viewer' | 'apiA' | 'apiB', string>;
  createKey(role: Role, tenantId: string): Promise<string>;
  request(method: string, url: string, opts?: Caller & { body?: unknown; headers?: Record<string, string>; payload?: string | Buffer }): Promise<TestResponse>;
  close(): Promise<void>;
}

export interface TestControlPlaneOptions {
  /** Dotted config overrides, e.g. { 'workers.stale_after': 15000 }. */
  config?: Record<string, unknown>;
  rpc?: WorkerRpc;
  /** Captures every log line, for secret-leak checks. */
  logLines?: string[];
}

export async function startTestControlPlane(o: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-cp-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    flags: {
      'database.path': join(dir, 'drover.db'),
      'auth.worker_token': SHARED_WORKER_TOKEN,
      'rate_limit.enabled': false,
      'logging.level': 'info',
      'artifacts.path': join(dir, 'artifacts'),
      'worker.data_dir': join(dir, 'worker'),
      ...o.config,
    },
  });
  const clock = new ManualClock();
  const store = createStore(openSqlite({ path: config.database.path, clock }), clock);
  await store.migrate();
  const lines = o.logLines;
  // With capture on, the real logger (and so the real redaction) writes the lines the leak checks search.
  const log = lines ? createLogger({ level: 'trace', format: 'json' }, { write: (line: string) => void lines.push(line) }) : pino({ level: 'silent' });
  const shutdown = new AbortController();
  const cp = createControlPlane({ config, store, clock, log, rpc: o.rpc, shutdown: shutdown.signal, replicaId: 'cp-test' });
  const app = await buildApp(cp);
  await app.ready();

  const createKey = async (role: Role, tenantId: string) => {
    await store.tenants.ensureTenant(tenantId);
    const key = generateSecret('drv');
    await store.credentials.createApiKey({ id: newId('key', clock.now()), tenantId, name: `${role}@${tenantId}`, role, keyHash: hashSecret(key) });
    return key;
  };
  const keys = {
    admin: await createKey('admin', 'default'),
    operator: await createKey('operator', 'ops'),
    viewer: await createKey('viewer', 'tenant-a'),
    apiA: await createKey('api', 'tenant-a'),
    apiB: await createKey('api', 'tenant-b'),
  };

  return {
    cp,
    app,
    store,
    clock,
    config,
    keys,
    createKey,
    async request(method, url, opts = {}) {
      const headers: Record<string, string> = { ...opts.headers };
      if (opts.key) headers.authorization = `Bearer ${opts.key}`;
      if (opts.worker) {
        headers['x-worker-id'] = opts.worker.id;
        headers['x-worker-token'] = opts.worker.token;
      }
      let payload: string | Buffer | undefined = opts.payload;
      if (opts.body !== undefined) {
        payload = JSON.stringify(opts.body);
        headers['content-type'] ??= 'application/json';
      }
      const res = await app.inject({ method: method as 'GET', url, headers, payload });
      let body: unknown = undefined;
      try {
        body = res.body.length ? JSON.parse(res.body) : undefined;
      } catch {
        body = undefined;
      }
      return { status: res.statusCode, headers: res.headers, body, text: res.body, json: <T>() => body as T };
    },
    async close() {
      shutdown.abort();
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A worker credential using the shared token. */
export const workerCaller = (id: string): Caller => ({ worker: { id, token: SHARED_WORKER_TOKEN } });
