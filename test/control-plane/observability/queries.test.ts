/** The observability aggregates and event retention, on both drivers. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import { EVENT_RETENTION, pruneEvents } from '../../../src/control-plane/observability/retention.js';
import { heartbeat, newSandbox, newTask, tenant } from '../../store/contract/helpers.js';
import { postgresFixture, sqliteFixture, type OpenedStore, type StoreFixture } from '../../store/fixtures.js';
import { describePostgres } from '../../support/postgres.js';

function observabilityQueries(fixture: StoreFixture): void {
  describe(`observability queries [${fixture.name}]`, () => {
    let s: OpenedStore;
    before(async () => (s = await fixture.open()));
    after(() => s.close());

    it('count sandboxes by state and live placements, tasks by kind, leases live and expired', async () => {
      const t = await tenant(s.store);
      await s.store.workers.recordHeartbeat(heartbeat('w-q1'));
      await s.store.workers.recordHeartbeat(heartbeat('w-q2'));
      const a = await s.store.sandboxes.createSandbox(newSandbox(t));
      const b = await s.store.sandboxes.createSandbox(newSandbox(t));
      await s.store.sandboxes.createSandbox(newSandbox(t));
      const pa = await s.store.sandboxes.commitPlacement(a.id, 'w-q1', 'process', 60_000);
      const pb = await s.store.sandboxes.commitPlacement(b.id, 'w-q2', 'bwrap', 60_000);
      assert.equal(pa.kind, 'placed');
      assert.equal(pb.kind, 'placed');
      // A terminal sandbox counts by state but is no longer a live placement, and its lease has ended.
      assert.equal((await s.store.sandboxes.transitionSandbox(b.id, { from: ['starting'], to: 'failed', reason: 'test' }))?.state, 'failed');
      await s.store.tasks.submitTask(newTask(t, { kind: 'k1' }));
      await s.store.tasks.submitTask(newTask(t, { kind: 'k1' }));
      await s.store.tasks.submitTask(newTask(t, { kind: 'k2' }));
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_x' }, 'w-q1', 60_000);
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_y' }, 'w-q2', 1_000);
      s.advance(2_000);

      assert.deepEqual(await s.store.events.countSandboxesByState(), { pending: 1, starting: 1, failed: 1 });
      const placements = await s.store.events.countLiveSandboxPlacements();
      const key = (p: { state: string; provider: string | null; workerId: string | null; count: number }) => `${p.state}/${p.provider}/${p.workerId}=${p.count}`;
      assert.deepEqual(placements.map(key).sort(), ['pending/null/null=1', 'starting/process/w-q1=1']);
      assert.deepEqual(await s.store.events.countTasksByKind(), [
        { kind: 'k1', state: 'queued', count: 2 },
        { kind: 'k2', state: 'queued', count: 1 },
      ]);

      const leases = await s.store.events.leaseCounts(10);
      assert.deepEqual(leases.activeByType, { sandbox: 1, task: 1 });
      assert.deepEqual(leases.expiredByType, { sandbox: 1, task: 1 });
      assert.deepEqual(leases.topHolders, [{ holderId: 'w-q1', active: 2 }]);
      await s.store.leases.acquireLease({ type: 'task', id: 'tsk_z' }, 'w-q2', 60_000);
      assert.deepEqual((await s.store.events.leaseCounts(10)).topHolders, [{ holderId: 'w-q1', active: 2 }, { holderId: 'w-q2', active: 1 }]);
      assert.deepEqual((await s.store.events.leaseCounts(1)).topHolders, [{ holderId: 'w-q1', active: 2 }]);
      assert.deepEqual((await s.store.events.leaseCounts(0)).topHolders, []);
    });

    it('event log stats, and retention by count then by age', async () => {
      assert.deepEqual(await s.store.events.eventLogStats(), { count: 0, oldestSeq: null, latestSeq: null, oldestAt: null });
      const appended = [];
      for (let i = 0; i < 5; i++) appended.push(await s.store.events.appendEvent({ type: 'task.queued', tenantId: null, resourceType: 'task', resourceId: `t${i}`, data: {} }));
      const stats = await s.store.events.eventLogStats();
      assert.equal(stats.count, 5);
      assert.equal(stats.oldestSeq, appended[0]!.seq);
      assert.equal(stats.latestSeq, appended[4]!.seq);
      assert.equal(stats.oldestAt, appended[0]!.at);

      const cp = { store: s.store, log: pino({ level: 'silent' }) };
      assert.equal(await pruneEvents(cp, { maxCount: 3, maxAgeMs: EVENT_RETENTION.maxAgeMs }), 2);
      assert.equal((await s.store.events.eventLogStats()).oldestSeq, appended[2]!.seq);
      s.advance(10_000);
      const fresh = await s.store.events.appendEvent({ type: 'task.queued', tenantId: null, resourceType: 'task', resourceId: 'late', data: {} });
      assert.equal(await pruneEvents(cp, { maxCount: 100, maxAgeMs: 5_000 }), 3);
      const left = await s.store.events.eventLogStats();
      assert.equal(left.count, 1);
      assert.equal(left.oldestSeq, fresh.seq);
    });
  });
}

observabilityQueries(sqliteFixture);
await describePostgres('observability queries on PostgreSQL', () => observabilityQueries(postgresFixture));
