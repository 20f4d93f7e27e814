/**
 * A real control plane for the task-worker integration tests, on the system clock (the worker's
 * heartbeats, the lease TTL and the sweep all run in real time): SQLite in a temp dir, fs artifacts
 * signed with the URL it really listens on, the background loops (so the sweep requeues expired
 * leases), and loopback HTTP on 127.0.0.1:0. Built like the API harness, except for the clock.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import pino, { type Logger } from 'pino';
import { loadConfig, type Config } from '../../../../src/config/index.js';
import { buildApp } from '../../../../src/control-plane/app.js';
import { generateSecret, hashSecret } from '../../../../src/control-plane/auth/secrets.js';
import { createControlPlane } from '../../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../../src/control-plane/deps.js';
import { startBackgroundLoops } from '../../../../src/control-plane/loops/all.js';
import { systemClock } from '../../../../src/domain/clock.js';
import { newId } from '../../../../src/domain/ids.js';
import { createTransport } from '../../../../src/sdk/http.js';
import { tasksApi, type TasksApi } from '../../../../src/sdk/tasks.js';
import { openSqlite } from '../../../../src/store/sqlite/driver.js';
import { createStore, type Store } from '../../../../src/store/store.js';

export const WORKER_TOKEN = 'wt-task-worker-test-token-0123456789';
export const TENANT = 'tenant-tasks';

export interface TaskControlPlane {
  url: string;
  cp: ControlPlane;
  app: FastifyInstance;
  store: Store;
  config: Config;
  /** An `api` key of TENANT. */
  apiKey: string;
  tasks: TasksApi;
  close(): Promise<void>;
}

/** `log`: a pino logger to see the control plane's errors while debugging a test (silent by default). */
export async function startTaskControlPlane(flags: Record<string, unknown> = {}, log: Logger = pino({ level: 'silent' })): Promise<TaskControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-tw-'));
  const config = loadConfig({
    env: {},
    cwd: dir,
    flags: {
      'server.host': '127.0.0.1',
      'database.path': join(dir, 'drover.db'),
      'auth.worker_token': WORKER_TOKEN,
      'rate_limit.enabled': false,
      'artifacts.path': join(dir, 'artifacts'),
      'worker.data_dir': join(dir, 'worker'),
      ...flags,
    },
  });
  const store = createStore(openSqlite({ path: config.database.path, clock: systemClock }), systemClock);
  await store.migrate();
  const shutdown = new AbortController();
  let url = '';
  const cp = createControlPlane({ config, store, clock: systemClock, log, shutdown: shutdown.signal, replicaId: 'cp-task-test', listenUrl: () => url });
  const app = await buildApp(cp);
  await app.listen({ port: 0, host: '127.0.0.1' });
  url = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
  const loops = startBackgroundLoops(cp, shutdown.signal);

  await store.tenants.ensureTenant(TENANT);
  const apiKey = generateSecret('drv');
  await store.credentials.createApiKey({ id: newId('key', systemClock.now()), tenantId: TENANT, name: 'tasks', role: 'api', keyHash: hashSecret(apiKey) });

  return {
    url,
    cp,
    app,
    store,
    config,
    apiKey,
    tasks: tasksApi(createTransport({ url, apiKey })),
    async close() {
      shutdown.abort();
      await loops;
      await app.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
