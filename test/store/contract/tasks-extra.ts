/**
 * Contract for what the task broker added to the task queries: the running-task quota inside the
 * claim, the read-only fence (presign), giving back an unseen claim, a failure after a cancel request,
 * and reading several tasks at once.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLost } from '../../../src/domain/errors.js';
import { tenantScope, type Quota } from '../../../src/store/types.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { newTask, tenant } from './helpers.js';

const limit = (n: number | null): Quota => ({ maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: n, maxExecTimeoutMs: null });

export function tasksExtraContract(fixture: StoreFixture): void {
  describe(`tasks, broker additions [${fixture.name}]`, () => {
    let s: OpenedStore;
    let kindN = 0;
    /** Each test uses its own kind, so claims never see another test's tasks. */
    const kind = () => `x${++kindN}`;
    before(async () => {
      s = await fixture.open();
    });
    after(() => s.close());

    const claim = (kinds: string[], workerId = 'w1', max = 10) => s.store.tasks.claimTasks({ workerId, kinds, codeVersion: null, max, leaseTtlMs: 30_000 });
    const all = { kind: 'all' } as const;

    it('max_running_tasks bounds what a tenant has leased; a report frees a slot', async () => {
      const t = await tenant(s.store);
      await s.store.tenants.putQuota(t, limit(2));
      const k = kind();
      for (let i = 0; i < 5; i++) await s.store.tasks.submitTask(newTask(t, { kind: k }));
      const first = await claim([k]);
      assert.equal(first.length, 2);
      assert.equal((await claim([k], 'w2')).length, 0, 'at the limit nothing more is leased');
      await s.store.tasks.reportTask(first[0]!.task.id, 'w1', first[0]!.lease.generation, { status: 'succeeded', output: null });
      assert.equal((await claim([k], 'w2')).length, 1);
      assert.equal((await s.store.tasks.countTasksByState(tenantScope(t))).leased, 2);
    });

    it('a tenant at its limit does not crowd other tenants out of a batch, even mid-batch', async () => {
      const a = await tenant(s.store);
      const b = await tenant(s.store);
      await s.store.tenants.putQuota(a, limit(1));
      const k = kind();
      // A's tasks rank first; B's come after them.
      for (let i = 0; i < 3; i++) await s.store.tasks.submitTask(newTask(a, { kind: k, priority: 10 }));
      for (let i = 0; i < 2; i++) await s.store.tasks.submitTask(newTask(b, { kind: k, priority: 0 }));
      const got = await claim([k], 'w1', 3);
      assert.deepEqual(got.map((c) => c.task.tenantId).sort(), [a, b, b].sort());
      // A is now at its limit: it is left out up front, and its queued tasks stay queued.
      assert.equal((await claim([k], 'w2', 3)).length, 0);
      assert.equal((await s.store.tasks.countTasksByState(tenantScope(a))).queued, 2);
    });

    it('a null limit is no limit', async () => {
      const t = await tenant(s.store);
      await s.store.tenants.putQuota(t, limit(null));
      const k = kind();
      for (let i = 0; i < 4; i++) await s.store.tasks.submitTask(newTask(t, { kind: k }));
      assert.equal((await claim([k])).length, 4);
    });

    it('concurrent claimers never lease past a tenant limit', async () => {
      const t = await tenant(s.store);
      await s.store.tenants.putQuota(t, limit(3));
      const k = kind();
      for (let i = 0; i < 12; i++) await s.store.tasks.submitTask(newTask(t, { kind: k }));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => claim([k], `w-race-${i}`, 2)));
      const ids = results.flat().map((c) => c.task.id);
      assert.equal(ids.length, 3);
      assert.equal(new Set(ids).size, 3);
      assert.equal((await s.store.tasks.countTasksByState(tenantScope(t))).leased, 3);
    });

    it('checkTaskFence: the holder at its generation before lease expiry and deadline; anything else is LeaseLost', async () => {
      const t = await tenant(s.store);
      const k = kind();
      const { task } = await s.store.tasks.submitTask(newTask(t, { kind: k, timeoutMs: 100_000 }));
      const [c] = await claim([k]);
      const fenced = await s.store.tasks.checkTaskFence(task.id, 'w1', 1);
      assert.equal(fenced.id, task.id);
      assert.equal(fenced.deadlineAt, c!.task.deadlineAt);
      await assert.rejects(s.store.tasks.checkTaskFence(task.id, 'w1', 2), LeaseLost);
      await assert.rejects(s.store.tasks.checkTaskFence(task.id, 'w2', 1), LeaseLost);
      await assert.rejects(s.store.tasks.checkTaskFence('tsk_missing', 'w1', 1), LeaseLost);
      s.advance(30_001);
      await assert.rejects(s.store.tasks.checkTaskFence(task.id, 'w1', 1), LeaseLost, 'lease expired');
      // A live lease past the deadline is fenced too: the attempt has no time left to use access.
      const k2 = kind();
      const late = await s.store.tasks.submitTask(newTask(t, { kind: k2, timeoutMs: 1_000 }));
      await claim([k2]);
      s.advance(1_000);
      await assert.rejects(s.store.tasks.checkTaskFence(late.task.id, 'w1', 1), LeaseLost);
    });

    it('abandonClaim queues the task again uncounted; the next claim continues the generation sequence', async () => {
      const t = await tenant(s.store);
      const k = kind();
      const { task } = await s.store.tasks.submitTask(newTask(t, { kind: k }));
      await claim([k], 'gone');
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'gone', 2), false, 'not at that generation');
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'other', 1), false, 'not that worker');
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'gone', 1), true);
      const back = await s.store.tasks.getTask(all, task.id);
      assert.equal(back?.state, 'queued');
      assert.equal(back?.attempt, 0);
      assert.equal(back?.workerId, null);
      assert.equal(back?.startedAt, null);
      assert.equal(back?.firstStartedAt, null);
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'gone', 1), false, 'once');
      await assert.rejects(s.store.tasks.heartbeatTask(task.id, 'gone', 1, 30_000, undefined), LeaseLost);
      const [again] = await claim([k], 'w2');
      assert.equal(again?.task.attempt, 1);
      assert.equal(again?.lease.generation, 2);
      // A second attempt given back restores the first attempt's start.
      await s.store.tasks.reportTask(task.id, 'w2', 2, { status: 'failed', error: { message: 'retry me' } });
      const afterFirst = await s.store.tasks.getTask(all, task.id);
      s.advance(10_000);
      await claim([k], 'gone-again');
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'gone-again', 3), true);
      const restored = await s.store.tasks.getTask(all, task.id);
      assert.equal(restored?.attempt, 1);
      assert.equal(restored?.startedAt, afterFirst?.startedAt);
      assert.equal(restored?.firstStartedAt, afterFirst?.firstStartedAt);
      const [third] = await claim([k], 'w3');
      assert.equal(third?.task.attempt, 2);
      assert.equal(third?.lease.generation, 4);
    });

    it('abandonClaim after a report changes nothing', async () => {
      const t = await tenant(s.store);
      const k = kind();
      const { task } = await s.store.tasks.submitTask(newTask(t, { kind: k }));
      await claim([k]);
      await s.store.tasks.reportTask(task.id, 'w1', 1, { status: 'succeeded', output: 1 });
      assert.equal(await s.store.tasks.abandonClaim(task.id, 'w1', 1), false);
      assert.equal((await s.store.tasks.getTask(all, task.id))?.state, 'succeeded');
    });

    it('a retryable failure reported after a cancel request ends cancelled, not retried; a success still wins', async () => {
      const t = await tenant(s.store);
      const k = kind();
      const f = await s.store.tasks.submitTask(newTask(t, { kind: k, maxAttempts: 5 }));
      const ok = await s.store.tasks.submitTask(newTask(t, { kind: k, maxAttempts: 5 }));
      await claim([k]);
      await s.store.tasks.requestCancel(all, f.task.id);
      await s.store.tasks.requestCancel(all, ok.task.id);
      assert.equal((await s.store.tasks.reportTask(f.task.id, 'w1', 1, { status: 'failed', error: { message: 'interrupted' } })).task.state, 'cancelled');
      assert.equal((await s.store.tasks.reportTask(ok.task.id, 'w1', 1, { status: 'succeeded', output: 'done' })).task.state, 'succeeded');
    });

    it('getTasksByIds returns the visible ones and respects the tenant scope', async () => {
      const a = await tenant(s.store);
      const b = await tenant(s.store);
      const ta = await s.store.tasks.submitTask(newTask(a));
      const tb = await s.store.tasks.submitTask(newTask(b));
      assert.deepEqual(await s.store.tasks.getTasksByIds(all, []), []);
      const both = await s.store.tasks.getTasksByIds(all, [ta.task.id, tb.task.id, 'tsk_missing']);
      assert.deepEqual(both.map((x) => x.id).sort(), [ta.task.id, tb.task.id].sort());
      const onlyA = await s.store.tasks.getTasksByIds(tenantScope(a), [ta.task.id, tb.task.id]);
      assert.deepEqual(onlyA.map((x) => x.id), [ta.task.id]);
    });
  });
}
