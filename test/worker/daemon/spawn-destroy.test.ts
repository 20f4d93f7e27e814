/**
 * Sandboxes through the whole path: the API of a real control plane → its HTTP RPC client → this
 * worker's /rpc → a real provider (mock, then process) — and back through delete.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RunningWorker } from '../../../src/worker/daemon.js';
import { rpc, wire } from './support/rpc.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane, type SandboxView } from './support/worker.js';

describe('worker daemon: spawn, status and destroy through the control plane', () => {
  let cp: LoopbackControlPlane;
  let worker: RunningWorker;
  const dir = tempDir();

  before(async () => {
    cp = await startLoopbackControlPlane();
    worker = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, providers: ['mock', 'process'] });
    await worker.ready;
  });
  after(async () => {
    await worker?.stop();
    await cp?.close();
    dir.remove();
  });

  const create = (body: Record<string, unknown>) => cp.t.request('POST', '/api/v1/sandboxes', { key: cp.t.keys.apiA, body });
  const del = (id: string) => cp.t.request('DELETE', `/api/v1/sandboxes/${id}`, { key: cp.t.keys.apiA });

  for (const [provider, workspaceOf] of [
    ['mock', (rt: string) => join(dir.path, 'mock-runtimes', rt, 'workspace')],
    ['process', (rt: string) => join(dir.path, 'runtimes', rt, 'workspace')],
  ] as const) {
    it(`${provider}: create → running on this worker; delete → the runtime and its workspace are gone`, async () => {
      const res = await create({ provider, cpu: 0.5, memory_mb: 256 });
      assert.equal(res.status, 201, res.text);
      const s = res.json<SandboxView>();
      assert.equal(s.state, 'running');
      assert.equal(s.worker_id, worker.id);
      assert.equal(s.runtime_id, `${s.id}.g${s.lease_generation}`);
      assert.ok(s.capabilities.length > 0 && s.warnings.length > 0, 'what was (not) enforced is reported');
      assert.ok(existsSync(workspaceOf(s.runtime_id!)), 'the workspace exists while it runs');
      assert.deepEqual(
        worker.runtimes.records().map((r) => [r.sandboxId, r.state, r.provider]),
        [[s.id, 'running', provider]],
      );
      assert.ok(worker.leases.holds(s.id), 'its lease is being renewed');
      assert.equal(worker.runtimes.lookup(s.runtime_id!)?.provider.name, provider, 'the data plane finds the runtime and its provider');
      const destroyedFirst: string[] = [];
      worker.runtimes.onDestroy((r) => void destroyedFirst.push(`${r.runtimeId}:${existsSync(workspaceOf(r.runtimeId)) ? 'present' : 'gone'}`));

      const status = await rpc(worker.url, worker.rpcSecret, 'worker.status', {});
      assert.deepEqual(status.body.result, {
        worker_id: worker.id,
        status: 'online',
        providers: ['mock', 'process'],
        runtimes: [{ sandbox_id: s.id, runtime_id: s.runtime_id, generation: s.lease_generation, state: 'running' }],
      });

      const gone = await del(s.id);
      assert.equal(gone.json<SandboxView>().state, 'stopped');
      assert.equal(worker.runtimes.count(), 0);
      assert.equal(worker.leases.holds(s.id), undefined);
      assert.ok(!existsSync(workspaceOf(s.runtime_id!)), 'the workspace was deleted');
      assert.equal(worker.runtimes.lookup(s.runtime_id!), undefined);
      assert.deepEqual(destroyedFirst.slice(-1), [`${s.runtime_id}:present`], 'destroy listeners run before the provider tears down');
    });
  }

  it('spawn is idempotent per generation; a destroy of something already gone answers destroyed: false', async () => {
    const s = (await create({ provider: 'mock' })).json<SandboxView>();
    const lease = wire((await cp.t.store.leases.getLease({ type: 'sandbox', id: s.id }))!);
    const params = { sandbox_id: s.id, tenant_id: 'tenant-a', provider: 'mock', spec: { cpu: 1, memory_mb: 512, disk_mb: 1024 }, ttl_ms: 60_000 };
    const again = await rpc(worker.url, worker.rpcSecret, 'worker.spawn', params, lease);
    assert.equal((again.body.result as { runtime_id: string }).runtime_id, s.runtime_id, 'a retry gets the same runtime');
    assert.equal(worker.runtimes.count(), 1);
    const d1 = await rpc(worker.url, worker.rpcSecret, 'worker.destroy', { sandbox_id: s.id, runtime_id: s.runtime_id }, lease);
    assert.deepEqual(d1.body.result, { destroyed: true });
    const d2 = await rpc(worker.url, worker.rpcSecret, 'worker.destroy', { sandbox_id: s.id, runtime_id: s.runtime_id }, lease);
    assert.deepEqual(d2.body.result, { destroyed: false });
  });

  it('refusals: a provider it does not offer, invalid params, an unknown method; a full worker says no_capacity', async () => {
    const far = new Date(cp.t.clock.now() + 3_600_000).toISOString();
    const lease = (id: string, holder = worker.id) => ({ resource_id: id, holder_id: holder, generation: 1, expires_at: far });
    const params = (id: string, provider = 'mock') => ({ sandbox_id: id, tenant_id: 't', provider, spec: { cpu: 1, memory_mb: 64, disk_mb: 64 }, ttl_ms: 60_000 });
    const bwrap = await rpc(worker.url, worker.rpcSecret, 'worker.spawn', params('sbx-r1', 'bwrap'), lease('sbx-r1'));
    assert.equal(bwrap.body.error?.code, 'bad_request');
    assert.match(bwrap.body.error!.message, /not offered/);
    const invalid = await rpc(worker.url, worker.rpcSecret, 'worker.spawn', { ...params('sbx-r2'), spec: { cpu: 1 } }, lease('sbx-r2'));
    assert.equal(invalid.body.error?.code, 'bad_request');
    assert.equal((await rpc(worker.url, worker.rpcSecret, 'worker.nope', {})).body.error?.code, 'unknown_method');
    assert.equal(worker.runtimes.count(), 0, 'nothing was left behind by the refusals');

    const small = tempDir();
    const full = await startTestWorker({ cpUrl: cp.url, dataDir: small.path, id: 'w-small', flags: { 'worker.capacity.max_sandboxes': 1 } });
    try {
      await full.ready;
      const first = await rpc(full.url, full.rpcSecret, 'worker.spawn', params('sbx-f1'), lease('sbx-f1', full.id));
      assert.ok(first.body.result, JSON.stringify(first.body));
      const second = await rpc(full.url, full.rpcSecret, 'worker.spawn', params('sbx-f2'), lease('sbx-f2', full.id));
      assert.equal(second.body.error?.code, 'no_capacity');
    } finally {
      await full.stop();
      small.remove();
    }
  });
});
