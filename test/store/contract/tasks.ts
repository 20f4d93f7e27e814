import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseLost } from '../../../src/domain/errors.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { newTask, tenant } from './helpers.js';

export function taskContract(fixture: StoreFixture): void {
  describe(`tasks [${fixture.name}]`, () => {
    let s: OpenedStore;
    let t: string;
    let kindN = 0;
    /** Each test uses its own kind, so claims never see another test's tasks. */
    const kind = () => `k${++kindN}`;
    before(async () => {
      s = await fixture.open();
      t = await tenant(s.store);
    });
    after(() => s.close());

    const claim = (k: string, workerId = 'w1', over: { codeVersion?: string | null; max?: number } = {}) =>
      s.store.tasks.claimTasks({ workerId, kinds: [k], codeVersion: over.codeVersion ?? null, max: over.max ?? 10, leaseTtlMs: 30_000 });

    it('submit queues a task with its deadline counted from submission', async () => {
      const { task, created } = await s.store.tasks.submitTask(newTask(t, { kind: kind(), timeoutMs: 60_000, input: { a: [1, 'x'] } }));
      assert.equal(created, true);
      assert.equal(task.state, 'queued');
      assert.equal(task.attempt, 0);
      assert.deepEqual(task.input, { a: [1, 'x'] });
      assert.ok(Math.abs(task.deadlineAt - task.createdAt - 60_000) <= 1);
      assert.equal(typeof task.createdAt, 'number');
    });

    it('an idempotency key returns the existing task instead of a second one', async () => {
      const k = kind();
      const a = await s.store.tasks.submitTask(newTask(t, { kind: k, idempotencyKey: 'same' }));
      const b = await s.store.tasks.submitTask(newTask(t, { kind: k, idempotencyKey: 'same' }));
      assert.equal(b.created, false);
      assert.equal(b.task.id, a.task.id);
      assert.equal((await claim(k)).length, 1);
    });

    it('claims by kind, highest priority first, at most max, never the same task twice', async () => {
      const k = kind();
      const low = await s.store.tasks.submitTask(newTask(t, { kind: k, priority: 0 }));
      const high = await s.store.tasks.submitTask(newTask(t, { kind: k, priority: 5 }));
      await s.store.tasks.submitTask(newTask(t, { kind: kind() }));
      const first = await claim(k, 'w1', { max: 1 });
      assert.equal(first.length, 1);
      assert.equal(first[0]!.task.id, high.task.id);
      assert.equal(first[0]!.task.state, 'leased');
      assert.equal(first[0]!.task.attempt, 1);
      assert.equal(first[0]!.lease.generation, 1);
      assert.equal(first[0]!.task.generation, 1);
      const second = await claim(k, 'w2');
      assert.deepEqual(second.map((c) => c.task.id), [low.task.id]);
      assert.equal((await claim(k, 'w3')).length, 0);
    });

    it('a task waits for run_after', async () => {
      const k = kind();
      const now = await s.store.now();
      await s.store.tasks.submitTask(newTask(t, { kind: k, runAfter: now + 5_000 }));
      assert.equal((await claim(k)).length, 0);
      s.advance(5_001);
      assert.equal((await claim(k)).length, 1);
    });

    it('a pinned code version is leased only to a worker running exactly that version', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k, codeVersion: 'v1' }));
      assert.equal((await claim(k, 'w1', { codeVersion: 'v2' })).length, 0);
      assert.equal((await claim(k, 'w1', { codeVersion: null })).length, 0);
      assert.equal((await claim(k, 'w1', { codeVersion: 'v1' })).length, 1);
      const k2 = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k2, codeVersion: null }));
      assert.equal((await claim(k2, 'w1', { codeVersion: 'v9' })).length, 1);
    });

    it('heartbeat extends the lease, records progress, and is fenced by generation', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k }));
      const [c] = await claim(k);
      s.advance(10_000);
      const hb = await s.store.tasks.heartbeatTask(c!.task.id, 'w1', 1, 30_000, { pct: 50 });
      assert.ok(hb.leaseExpiresAt > c!.lease.expiresAt);
      assert.equal(hb.cancel, false);
      assert.deepEqual((await s.store.tasks.getTask({ kind: 'all' }, c!.task.id))?.progress, { pct: 50 });
      await assert.rejects(s.store.tasks.heartbeatTask(c!.task.id, 'w1', 2, 30_000, undefined), LeaseLost);
      await assert.rejects(s.store.tasks.heartbeatTask(c!.task.id, 'w2', 1, 30_000, undefined), LeaseLost);
    });

    it('a report is applied once; an identical repeat is a replay; anything else is LeaseLost and changes nothing', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k }));
      const [c] = await claim(k);
      const id = c!.task.id;
      const ok = await s.store.tasks.reportTask(id, 'w1', 1, { status: 'succeeded', output: { r: 42 }, artifacts: [`tasks/${id}/out.bin`] });
      assert.equal(ok.replay, false);
      assert.equal(ok.task.state, 'succeeded');
      assert.deepEqual(ok.task.output, { r: 42 });
      assert.deepEqual(ok.task.artifacts, [`tasks/${id}/out.bin`]);
      const again = await s.store.tasks.reportTask(id, 'w1', 1, { status: 'succeeded', output: { r: 42 }, artifacts: [`tasks/${id}/out.bin`] });
      assert.equal(again.replay, true);
      assert.equal(again.task.state, 'succeeded');
      await assert.rejects(s.store.tasks.reportTask(id, 'w1', 1, { status: 'succeeded', output: { r: 43 } }), LeaseLost);
      await assert.rejects(s.store.tasks.reportTask(id, 'w1', 0, { status: 'failed', error: { message: 'x' } }), LeaseLost);
      const final = await s.store.tasks.getTask({ kind: 'all' }, id);
      assert.deepEqual(final?.output, { r: 42 });
      assert.equal(final?.state, 'succeeded');
    });

    it('a retryable failure requeues with backoff; the next attempt has a new generation and the old one is fenced', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k, retryBackoffMs: 2_000 }));
      const [c1] = await claim(k);
      const failed = await s.store.tasks.reportTask(c1!.task.id, 'w1', 1, { status: 'failed', error: { message: 'boom' } });
      assert.equal(failed.task.state, 'queued');
      assert.deepEqual(failed.task.error, { message: 'boom' });
      assert.equal((await claim(k, 'w2')).length, 0, 'backoff not yet elapsed');
      s.advance(2_001);
      const [c2] = await claim(k, 'w2');
      assert.equal(c2!.task.attempt, 2);
      assert.equal(c2!.lease.generation, 2);
      await assert.rejects(s.store.tasks.reportTask(c1!.task.id, 'w1', 1, { status: 'succeeded', output: null }), LeaseLost);
      await assert.rejects(s.store.tasks.heartbeatTask(c1!.task.id, 'w1', 1, 30_000, undefined), LeaseLost);
      const done = await s.store.tasks.reportTask(c2!.task.id, 'w2', 2, { status: 'succeeded', output: 'ok' });
      assert.equal(done.task.state, 'succeeded');
    });

    it('failing the last attempt, or a non-retryable error, ends in failed with the last error', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k, maxAttempts: 1 }));
      const [c] = await claim(k);
      const r = await s.store.tasks.reportTask(c!.task.id, 'w1', 1, { status: 'failed', error: { message: 'last' } });
      assert.equal(r.task.state, 'failed');
      assert.equal(r.task.error?.message, 'last');
      const k2 = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k2, maxAttempts: 5 }));
      const [c2] = await claim(k2);
      const r2 = await s.store.tasks.reportTask(c2!.task.id, 'w1', 1, { status: 'failed', error: { message: 'fatal', retryable: false } });
      assert.equal(r2.task.state, 'failed');
    });

    it('the sweep requeues an expired lease, then dead-letters once attempts are exhausted; late reports are fenced', async () => {
      const k = kind();
      const { task } = await s.store.tasks.submitTask(newTask(t, { kind: k, maxAttempts: 2, retryBackoffMs: 0 }));
      await claim(k, 'dead-1');
      s.advance(30_001);
      const first = await s.store.tasks.sweepTasks();
      assert.ok(first.requeued.includes(task.id));
      await assert.rejects(s.store.tasks.reportTask(task.id, 'dead-1', 1, { status: 'succeeded', output: null }), LeaseLost);
      const [c2] = await claim(k, 'dead-2');
      assert.equal(c2!.lease.generation, 2);
      assert.equal(c2!.task.attempt, 2);
      s.advance(30_001);
      const second = await s.store.tasks.sweepTasks();
      assert.ok(second.failed.includes(task.id));
      const final = await s.store.tasks.getTask({ kind: 'all' }, task.id);
      assert.equal(final?.state, 'failed');
      assert.equal(final?.error?.code, 'lease_expired');
      // A sweep with nothing to do does nothing.
      const third = await s.store.tasks.sweepTasks();
      assert.ok(!third.failed.includes(task.id) && !third.requeued.includes(task.id));
    });

    it('the sweep leaves a renewed lease alone', async () => {
      const k = kind();
      const { task } = await s.store.tasks.submitTask(newTask(t, { kind: k }));
      await claim(k);
      s.advance(20_000);
      await s.store.tasks.heartbeatTask(task.id, 'w1', 1, 30_000, undefined);
      s.advance(20_000);
      const r = await s.store.tasks.sweepTasks();
      assert.ok(!r.requeued.includes(task.id));
      assert.equal((await s.store.tasks.getTask({ kind: 'all' }, task.id))?.state, 'leased');
    });

    it('the deadline expires queued and leased tasks; a report after it is fenced', async () => {
      const k = kind();
      const q = await s.store.tasks.submitTask(newTask(t, { kind: k, timeoutMs: 1_000, runAfter: (await s.store.now()) + 100_000 }));
      const l = await s.store.tasks.submitTask(newTask(t, { kind: k, timeoutMs: 1_000 }));
      const [c] = await claim(k);
      assert.equal(c!.task.id, l.task.id);
      s.advance(1_001);
      const r = await s.store.tasks.sweepTasks();
      assert.deepEqual(new Set(r.expired.filter((x) => x === q.task.id || x === l.task.id)), new Set([q.task.id, l.task.id]));
      await assert.rejects(s.store.tasks.reportTask(l.task.id, 'w1', 1, { status: 'succeeded', output: null }), LeaseLost);
      assert.equal((await s.store.tasks.getTask({ kind: 'all' }, l.task.id))?.state, 'expired');
    });

    it('a heartbeat past the deadline says cancel', async () => {
      const k = kind();
      await s.store.tasks.submitTask(newTask(t, { kind: k, timeoutMs: 1_000 }));
      const [c] = await claim(k);
      s.advance(1_500);
      const hb = await s.store.tasks.heartbeatTask(c!.task.id, 'w1', 1, 30_000, undefined);
      assert.equal(hb.cancel, true);
    });

    it('cancel: queued at once; leased via the heartbeat, final on report or lease expiry', async () => {
      const k = kind();
      const q = await s.store.tasks.submitTask(newTask(t, { kind: k, runAfter: (await s.store.now()) + 100_000 }));
      assert.equal((await s.store.tasks.requestCancel({ kind: 'all' }, q.task.id))?.state, 'cancelled');
      const k2 = kind();
      const l = await s.store.tasks.submitTask(newTask(t, { kind: k2 }));
      await claim(k2);
      const marked = await s.store.tasks.requestCancel({ kind: 'all' }, l.task.id);
      assert.equal(marked?.state, 'leased');
      assert.equal(marked?.cancelRequested, true);
      assert.equal((await s.store.tasks.heartbeatTask(l.task.id, 'w1', 1, 30_000, undefined)).cancel, true);
      assert.equal((await s.store.tasks.reportTask(l.task.id, 'w1', 1, { status: 'cancelled' })).task.state, 'cancelled');
      const k3 = kind();
      const e = await s.store.tasks.submitTask(newTask(t, { kind: k3 }));
      await claim(k3);
      await s.store.tasks.requestCancel({ kind: 'all' }, e.task.id);
      s.advance(30_001);
      assert.ok((await s.store.tasks.sweepTasks()).cancelled.includes(e.task.id));
    });
  });
}
