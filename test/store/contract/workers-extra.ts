/**
 * Contract for the worker-registry queries the liveness sweep and the worker routes add: drain
 * completion and cancellation, heartbeat repair, lost workers still holding work, and the lease
 * lookups by holder.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { heartbeat, newSandbox, tenant } from './helpers.js';

export function workersExtraContract(fixture: StoreFixture): void {
  describe(`worker registry extras [${fixture.name}]`, () => {
    let s: OpenedStore;
    let t: string;
    before(async () => {
      s = await fixture.open();
      t = await tenant(s.store);
    });
    after(() => s.close());

    const place = async (workerId: string) => {
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t));
      const placed = await s.store.sandboxes.commitPlacement(sbx.id, workerId, 'process', 30_000);
      assert.equal(placed.kind, 'placed');
      return sbx.id;
    };
    const lapse = async (workerId: string) => {
      const { worker } = await s.store.workers.recordHeartbeat(heartbeat(workerId));
      await s.store.workers.transitionWorker(workerId, ['online'], 'stale', worker.lastHeartbeatAt);
      return s.store.workers.transitionWorker(workerId, ['stale'], 'lost', worker.lastHeartbeatAt);
    };

    it('completeDrain: only a draining worker with no live lease and no attached sandbox; clears the deadline', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('wx-drain'));
      assert.equal(await s.store.workers.completeDrain('wx-drain'), undefined, 'not draining');
      const id = await place('wx-drain');
      await s.store.workers.startDrain('wx-drain', 10_000_000_000_000, true);
      assert.equal(await s.store.workers.completeDrain('wx-drain'), undefined, 'holds a lease');
      // The lease lapses but the sandbox is still on the worker.
      s.advance(30_001);
      assert.equal(await s.store.leases.countLiveLeases('wx-drain'), 0);
      assert.equal(await s.store.workers.completeDrain('wx-drain'), undefined, 'a sandbox is still attached');
      await s.store.sandboxes.transitionSandbox(id, { from: ['starting'], to: 'failed' });
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_wx' }, 'wx-drain', 30_000);
      assert.equal(await s.store.workers.completeDrain('wx-drain'), undefined, 'holds a task lease');
      await s.store.leases.releaseLease({ type: 'task', id: 'tsk_wx' }, 'wx-drain', 1);
      const drained = await s.store.workers.completeDrain('wx-drain');
      assert.equal(drained?.status, 'drained');
      assert.deepEqual(drained?.drain, { deadlineAt: null, migrate: true });
      assert.equal(await s.store.workers.completeDrain('wx-drain'), undefined, 'only once');
    });

    it('endDrain: draining or drained → online with the drain cleared; other statuses kept', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('wx-end'));
      await s.store.workers.startDrain('wx-end', 10_000_000_000_000, true);
      const ended = await s.store.workers.endDrain('wx-end');
      assert.deepEqual([ended?.previousStatus, ended?.worker.status, ended?.worker.drain], ['draining', 'online', null]);
      const again = await s.store.workers.endDrain('wx-end');
      assert.deepEqual([again?.previousStatus, again?.worker.status], ['online', 'online']);
      await lapse('wx-end-lost');
      assert.equal((await s.store.workers.endDrain('wx-end-lost'))?.worker.status, 'lost');
      assert.equal(await s.store.workers.endDrain('wx-missing'), undefined);
    });

    it('repairHeartbeat: bumps the heartbeat; stale and lost come back online, others keep their status', async () => {
      const lost = await lapse('wx-rep');
      assert.equal(lost?.status, 'lost');
      s.advance(5_000);
      const repaired = await s.store.workers.repairHeartbeat('wx-rep');
      assert.equal(repaired?.previousStatus, 'lost');
      assert.equal(repaired?.worker.status, 'online');
      assert.ok((repaired?.worker.lastHeartbeatAt ?? 0) >= (lost?.lastHeartbeatAt ?? 0) + 5_000);
      await s.store.workers.startDrain('wx-rep', null, false);
      const draining = await s.store.workers.repairHeartbeat('wx-rep');
      assert.deepEqual([draining?.previousStatus, draining?.worker.status], ['draining', 'draining']);
      assert.equal(await s.store.workers.repairHeartbeat('wx-missing'), undefined);
    });

    it('lostWorkersHoldingWork: lost workers with an attached sandbox or a live lease', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('wx-l1'));
      await s.store.workers.recordHeartbeat(heartbeat('wx-l2'));
      const id = await place('wx-l1');
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_l2' }, 'wx-l2', 600_000);
      await lapse('wx-l1');
      await lapse('wx-l2');
      await lapse('wx-l3');
      assert.deepEqual(await s.store.workers.lostWorkersHoldingWork(), ['wx-l1', 'wx-l2']);
      await s.store.sandboxes.transitionSandbox(id, { from: ['starting'], to: 'lost' });
      assert.deepEqual(await s.store.workers.lostWorkersHoldingWork(), ['wx-l1', 'wx-l2'], 'lost sandboxes are still attached');
      await s.store.sandboxes.transitionSandbox(id, { from: ['lost'], to: 'failed' });
      await s.store.leases.expireLeasesHeldBy('wx-l2');
      assert.deepEqual(await s.store.workers.lostWorkersHoldingWork(), []);
    });

    it('countLiveLeasesByHolder and liveLeasesHeldBy see only live leases', async () => {
      await s.store.workers.recordHeartbeat(heartbeat('wx-c'));
      const a = await place('wx-c');
      const b = await place('wx-c');
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_c' }, 'wx-c', 1_000);
      assert.equal((await s.store.leases.countLiveLeasesByHolder())['wx-c'], 3);
      assert.deepEqual((await s.store.leases.liveLeasesHeldBy('wx-c', 'sandbox')).map((l) => l.resourceId).sort(), [a, b].sort());
      assert.equal((await s.store.leases.liveLeasesHeldBy('wx-c')).length, 3);
      s.advance(1_001);
      assert.equal((await s.store.leases.countLiveLeasesByHolder())['wx-c'], 2);
      assert.deepEqual((await s.store.leases.liveLeasesHeldBy('wx-c', 'task')), []);
      s.advance(30_000);
      assert.equal((await s.store.leases.countLiveLeasesByHolder())['wx-c'], undefined);
    });
  });
}
