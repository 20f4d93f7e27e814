import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLost } from '../../../src/domain/errors.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { heartbeat, newSandbox, tenant } from './helpers.js';

export function fleetContract(fixture: StoreFixture): void {
  describe(`workers and sandboxes [${fixture.name}]`, () => {
    let s: OpenedStore;
    let t: string;
    before(async () => {
      s = await fixture.open();
      t = await tenant(s.store);
    });
    after(() => s.close());

    it('a first heartbeat registers the worker; later ones update it', async () => {
      const first = await s.store.workers.recordHeartbeat(heartbeat('w-reg', { labels: { zone: 'a' } }));
      assert.equal(first.previousStatus, null);
      assert.equal(first.worker.status, 'online');
      assert.deepEqual(first.worker.labels, { zone: 'a' });
      assert.equal(first.worker.allocated.sandboxes, 0);
      s.advance(5_000);
      const second = await s.store.workers.recordHeartbeat(heartbeat('w-reg', { version: '0.2.0' }));
      assert.equal(second.previousStatus, 'online');
      assert.equal(second.worker.version, '0.2.0');
      assert.equal(second.worker.lastHeartbeatAt - first.worker.lastHeartbeatAt >= 5_000, true);
    });

    it('status changes are conditional on the status and the heartbeat the caller saw', async () => {
      const { worker } = await s.store.workers.recordHeartbeat(heartbeat('w-cond'));
      assert.equal(await s.store.workers.transitionWorker('w-cond', ['online'], 'stale', worker.lastHeartbeatAt - 1), undefined);
      const stale = await s.store.workers.transitionWorker('w-cond', ['online'], 'stale', worker.lastHeartbeatAt);
      assert.equal(stale?.status, 'stale');
      assert.equal(await s.store.workers.transitionWorker('w-cond', ['online'], 'lost'), undefined);
      const back = await s.store.workers.recordHeartbeat(heartbeat('w-cond'));
      assert.equal(back.previousStatus, 'stale');
      assert.equal(back.worker.status, 'online');
    });

    it('a drain started by the control plane persists through heartbeats that say online', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('w-drain'));
      const d = await s.store.workers.startDrain('w-drain', 123, true);
      assert.equal(d?.status, 'draining');
      assert.deepEqual(d?.drain, { deadlineAt: 123, migrate: true });
      const hb = await s.store.workers.recordHeartbeat(heartbeat('w-drain', { status: 'online' }));
      assert.equal(hb.worker.status, 'draining');
    });

    it('placement reserves capacity atomically and refuses over-commit, cordoned and draining workers', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('w-cap', { capacity: { cpuMilli: 2000, memoryMb: 4096, diskMb: 4096, sandboxes: 10 } }));
      const a = await s.store.sandboxes.createSandbox(newSandbox(t));
      const b = await s.store.sandboxes.createSandbox(newSandbox(t));
      const c = await s.store.sandboxes.createSandbox(newSandbox(t));
      const pa = await s.store.sandboxes.commitPlacement(a.id, 'w-cap', 'process', 30_000);
      assert.equal(pa.kind, 'placed');
      if (pa.kind !== 'placed') return;
      assert.equal(pa.sandbox.state, 'starting');
      assert.equal(pa.sandbox.workerId, 'w-cap');
      assert.equal(pa.lease.generation, 1);
      assert.equal(pa.sandbox.generation, 1);
      assert.equal((await s.store.sandboxes.commitPlacement(b.id, 'w-cap', 'process', 30_000)).kind, 'placed');
      assert.deepEqual(await s.store.sandboxes.commitPlacement(c.id, 'w-cap', 'process', 30_000), { kind: 'conflict', reason: 'insufficient_capacity' });
      assert.deepEqual(await s.store.sandboxes.commitPlacement(a.id, 'w-cap', 'process', 30_000), { kind: 'conflict', reason: 'sandbox_not_pending' });
      const w = await s.store.workers.getWorker('w-cap');
      assert.deepEqual(w?.allocated, { cpuMilli: 2000, memoryMb: 2048, diskMb: 2048, sandboxes: 2 });
      // Stopping one releases exactly its reservation.
      await s.store.sandboxes.transitionSandbox(a.id, { from: ['starting'], to: 'running', startedNow: true });
      await s.store.sandboxes.transitionSandbox(a.id, { from: ['running'], to: 'stopping' });
      const stopped = await s.store.sandboxes.transitionSandbox(a.id, { from: ['stopping'], to: 'stopped' });
      assert.equal(stopped?.state, 'stopped');
      assert.equal(typeof stopped?.endedAt, 'number');
      assert.deepEqual((await s.store.workers.getWorker('w-cap'))?.allocated, { cpuMilli: 1000, memoryMb: 1024, diskMb: 1024, sandboxes: 1 });
      // A second identical transition does nothing (and releases nothing twice).
      assert.equal(await s.store.sandboxes.transitionSandbox(a.id, { from: ['stopping'], to: 'stopped' }), undefined);
      assert.equal((await s.store.workers.getWorker('w-cap'))?.allocated.sandboxes, 1);
      await s.store.workers.setCordoned('w-cap', true);
      assert.deepEqual(await s.store.sandboxes.commitPlacement(c.id, 'w-cap', 'process', 30_000), { kind: 'conflict', reason: 'worker_unavailable' });
      await s.store.workers.setCordoned('w-cap', false);
      await s.store.workers.startDrain('w-cap', null, false);
      assert.deepEqual(await s.store.sandboxes.commitPlacement(c.id, 'w-cap', 'process', 30_000), { kind: 'conflict', reason: 'worker_unavailable' });
    });

    it('a worker state report is fenced by the sandbox lease generation', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('w-fence'));
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t));
      const placed = await s.store.sandboxes.commitPlacement(sbx.id, 'w-fence', 'process', 30_000);
      assert.equal(placed.kind, 'placed');
      await assert.rejects(s.store.sandboxes.reportSandboxState(sbx.id, 'w-fence', 2, { from: ['starting'], to: 'running' }), LeaseLost);
      await assert.rejects(s.store.sandboxes.reportSandboxState(sbx.id, 'w-other', 1, { from: ['starting'], to: 'running' }), LeaseLost);
      const ok = await s.store.sandboxes.reportSandboxState(sbx.id, 'w-fence', 1, { from: ['starting'], to: 'running', startedNow: true });
      assert.equal(ok?.state, 'running');
      s.advance(30_001);
      await assert.rejects(s.store.sandboxes.reportSandboxState(sbx.id, 'w-fence', 1, { from: ['running'], to: 'idle' }), LeaseLost);
    });

    it('a lost sandbox is re-placed with a new generation and its old worker is fenced', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('w-old'));
      await s.store.workers.recordHeartbeat(heartbeat('w-new'));
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t, { restartOnWorkerLoss: true }));
      await s.store.sandboxes.commitPlacement(sbx.id, 'w-old', 'process', 30_000);
      await s.store.sandboxes.transitionSandbox(sbx.id, { from: ['starting'], to: 'running' });
      const lost = await s.store.sandboxes.transitionSandbox(sbx.id, { from: ['running'], to: 'lost', reason: 'worker_lost' });
      assert.equal(lost?.state, 'lost');
      assert.equal((await s.store.workers.getWorker('w-old'))?.allocated.sandboxes, 0);
      await s.store.sandboxes.transitionSandbox(sbx.id, { from: ['lost'], to: 'pending' });
      const again = await s.store.sandboxes.commitPlacement(sbx.id, 'w-new', 'process', 30_000);
      assert.equal(again.kind, 'placed');
      if (again.kind === 'placed') assert.equal(again.lease.generation, 2);
      await assert.rejects(s.store.sandboxes.reportSandboxState(sbx.id, 'w-old', 1, { from: ['starting'], to: 'running' }), LeaseLost);
    });

    it('TTL: expired sandboxes are listed for the reaper; extend moves the expiry', async () => {
      const short = await s.store.sandboxes.createSandbox(newSandbox(t, { ttlMs: 1_000 }));
      const long = await s.store.sandboxes.createSandbox(newSandbox(t, { ttlMs: 1_000 }));
      await s.store.sandboxes.extendSandbox({ kind: 'tenant', tenantId: t }, long.id, 60_000);
      s.advance(1_001);
      const expired = (await s.store.sandboxes.listExpiredSandboxes(100)).map((x) => x.id);
      assert.ok(expired.includes(short.id));
      assert.ok(!expired.includes(long.id));
    });
  });
}
