/**
 * The control-plane issue's end-to-end check: two real `drover serve` processes on one PostgreSQL,
 * concurrent creates spread over both, one small worker. Only the database's conditional reservation
 * stands between the two processes and an over-committed worker.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.js';
import { openPostgres } from '../../src/store/postgres/driver.js';
import { createStore, type Store } from '../../src/store/store.js';
import { createKey, overcommitScenario, type ClusterClient } from '../control-plane/sandboxes/cluster.js';
import { startFakeWorker, type FakeWorker } from '../control-plane/support/fake-worker.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { call, startServe, type DroverProcess } from './support/processes.js';

const CAPACITY = 3;
const WORKER_TOKEN = 'wt-e2e-two-replicas-0123456789';
const ADMIN_KEY = 'drv_e2e-admin-key-0123456789abcdef';

await describePostgres('two drover serve processes on one PostgreSQL', () => {
  let db: TestDatabase;
  let replicas: DroverProcess[] = [];
  let store: Store;
  let worker: FakeWorker;
  let key: string;

  before(async () => {
    db = await createTestDatabase();
    const env = {
      DROVER_DATABASE_DRIVER: 'postgres',
      DROVER_DATABASE_DSN: db.url,
      DROVER_AUTH_WORKER_TOKEN: WORKER_TOKEN,
      DROVER_AUTH_ADMIN_API_KEY: ADMIN_KEY,
      DROVER_RATE_LIMIT_ENABLED: 'false',
      DROVER_SANDBOXES_QUEUE_TIMEOUT: '400ms',
    };
    // Started together: both migrate at once, which the migration lock must make safe.
    replicas = await Promise.all([startServe({ env }), startServe({ env })]);
    store = createStore(openPostgres({ dsn: db.url, poolSize: 2 }), systemClock);
    worker = await startFakeWorker({ id: 'w-e2e', clock: systemClock, capacity: { max_sandboxes: CAPACITY, cpu: 64, memory_mb: 65536, disk_mb: 1_000_000 } });
    const hb = await call(replicas[0]!.url, 'POST', `/api/v1/worker/${worker.id}/heartbeat`, { worker: { id: worker.id, token: WORKER_TOKEN }, body: worker.heartbeatBody() });
    assert.equal(hb.status, 200, JSON.stringify(hb.body));
    key = await createKey(store, 'e2e');
  });
  after(async () => {
    const outputs = await Promise.all(replicas.map(async (r) => ((await r.stop()), r.output())));
    replicas = [];
    for (const out of outputs) assert.ok(!out.includes(WORKER_TOKEN) && !out.includes(ADMIN_KEY), 'a secret reached the logs');
    await worker?.close();
    await store?.close();
    await db?.drop();
  });

  it('both replicas are ready and see the same worker', async () => {
    for (const r of replicas) {
      assert.equal((await call(r.url, 'GET', '/ready')).status, 200);
      const w = await call(r.url, 'GET', `/api/v1/workers/${worker.id}`, { key: ADMIN_KEY });
      assert.equal(w.status, 200);
    }
  });

  it('concurrent creates over both processes never over-commit the worker', async () => {
    const clients: ClusterClient[] = replicas.map((r, i) => ({ name: `serve-${i}`, request: (method, url, o = {}) => call(r.url, method, url, o) }));
    const r = await overcommitScenario(clients, key, store, worker, 24);
    assert.equal(r.capacity, CAPACITY);
    assert.equal(worker.overcommitted, 0, 'no spawn reached the worker while it was full');
    assert.ok(worker.peakRuntimes <= CAPACITY, `peak ${worker.peakRuntimes}`);
    assert.equal(r.running, CAPACITY);
    assert.equal(r.allocated, CAPACITY);
    assert.equal(r.created.length, CAPACITY, `statuses: ${r.statuses.join(',')}`);
  });

  it('a replica shuts down gracefully on SIGTERM and the other keeps serving', async () => {
    const code = await replicas[1]!.stop();
    assert.equal(code, 0);
    assert.equal((await call(replicas[0]!.url, 'GET', '/ready')).status, 200);
    const list = await call(replicas[0]!.url, 'GET', '/api/v1/sandboxes?state=running', { key });
    assert.equal((list.body as { items: unknown[] }).items.length, CAPACITY);
  });
});
