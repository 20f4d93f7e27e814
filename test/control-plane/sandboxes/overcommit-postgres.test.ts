/**
 * Two control planes, two stores (two pools), one PostgreSQL database, one small worker, many
 * concurrent creates split across both: the database's conditional reservation is the only thing that
 * stops the replicas from over-committing the worker, and this checks that it does.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { systemClock } from '../../../src/domain/clock.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../../support/postgres.js';
import { registerFakeWorker, startFakeWorker, type FakeWorker } from '../support/fake-worker.js';
import { CLUSTER_WORKER_TOKEN, createKey, overcommitScenario, startClusterMember, type ClusterMember } from './cluster.js';

const CAPACITY = 3;

await describePostgres('sandboxes: two control planes on one PostgreSQL never over-commit a worker', () => {
  let db: TestDatabase;
  let members: ClusterMember[] = [];
  let worker: FakeWorker;
  let key: string;

  before(async () => {
    db = await createTestDatabase();
    // A short queue timeout: the creates that cannot be placed give up quickly (real time here).
    const config = { 'sandboxes.queue_timeout': 400, 'scheduler.sample': 2 };
    members = [await startClusterMember('cp-1', db.url, config), await startClusterMember('cp-2', db.url, config)];
    worker = await startFakeWorker({ id: 'w-small', clock: systemClock, capacity: { max_sandboxes: CAPACITY, cpu: 64, memory_mb: 65536, disk_mb: 1_000_000 } });
    await registerFakeWorker({ app: members[0]!.app, store: members[0]!.store, workerToken: CLUSTER_WORKER_TOKEN }, worker);
    key = await createKey(members[0]!.store, 'race');
  });
  after(async () => {
    await Promise.all(members.map((m) => m.close()));
    members = [];
    await worker?.close();
    await db?.drop();
  });

  it('24 concurrent creates over two replicas: exactly capacity-many run, the rest are refused', async () => {
    const r = await overcommitScenario(members, key, members[1]!.store, worker, 24);
    assert.equal(r.capacity, CAPACITY);
    assert.equal(worker.overcommitted, 0, 'no spawn reached the worker while it was full');
    assert.ok(worker.peakRuntimes <= CAPACITY, `peak ${worker.peakRuntimes}`);
    assert.equal(r.running, CAPACITY);
    assert.equal(r.allocated, CAPACITY);
    assert.equal(r.created.length, CAPACITY, `statuses: ${r.statuses.join(',')}`);
    assert.equal(r.statuses.filter((s) => s === 503).length, 24 - CAPACITY);
    assert.equal(worker.callsOf('worker.spawn').filter((c) => c.outcome === 'ok').length, CAPACITY);
    // Every committed placement holds a live lease at the generation recorded on the sandbox.
    for (const id of r.created) {
      const s = await members[0]!.store.sandboxes.getSandbox({ kind: 'all' }, id);
      const lease = await members[0]!.store.leases.getLease({ type: 'sandbox', id });
      assert.equal(lease?.holderId, 'w-small');
      assert.equal(lease?.generation, s?.generation);
    }
  });

  it('freeing capacity on one replica lets the other place the next create', async () => {
    const running = await members[0]!.store.sandboxes.listSandboxes({ kind: 'all' }, { state: 'running' }, { limit: 10 });
    const victim = running.items[0]!;
    assert.equal((await members[0]!.request('DELETE', `/api/v1/sandboxes/${victim.id}`, { key })).status, 200);
    const res = await members[1]!.request('POST', '/api/v1/sandboxes', { key, body: {} });
    assert.equal(res.status, 201);
    assert.equal((res.body as { worker_id: string }).worker_id, 'w-small');
    assert.equal((await members[1]!.store.workers.getWorker('w-small'))?.allocated.sandboxes, CAPACITY);
    assert.equal(worker.runtimes.size, CAPACITY);
  });
});
