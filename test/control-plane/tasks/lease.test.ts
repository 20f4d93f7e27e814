/**
 * The lease request: batch, priority, code-version pinning, the grant, the running-task quota, and the
 * long poll — woken by a submit on this replica, by the slow fallback for a submit on another, ended
 * by shutdown — and a claim whose client hung up is given back.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { realTimer, type Timer } from '../../../src/control-plane/loops/runner.js';
import { workerTaskRoutes } from '../../../src/control-plane/routes/worker-tasks.js';
import { leaseTasks } from '../../../src/control-plane/services/tasks/lease.js';
import type { LeasedTask, LeaseTasksReply } from '../../../src/protocol/tasks.js';
import { eventsOf, freshKind, serveWith, startReplica, taskHarness, workerHeaders, type TaskHarness } from './support.js';

/**
 * A real timer that tells when a long poll has started waiting (it arms the fallback timer then), and
 * optionally never ends a hold of `endlessHoldMs`: a request held that way can only come back because
 * something woke it (the test's own timeout fails it otherwise), not through the last look at the end
 * of the hold.
 */
function watchedTimer(fallbackMs: number, endlessHoldMs?: number): { timer: Timer; waiting: () => Promise<void> } {
  let resolve!: () => void;
  let entered = new Promise<void>((r) => (resolve = r));
  return {
    timer: {
      setTimeout: (fn, ms) => {
        if (ms === fallbackMs) resolve();
        if (ms === endlessHoldMs) return undefined;
        return realTimer.setTimeout(fn, ms);
      },
      clearTimeout: (handle) => realTimer.clearTimeout(handle),
    },
    waiting: async () => {
      await entered;
      entered = new Promise<void>((r) => (resolve = r));
    },
  };
}

const leaseOver = async (base: string, workerId: string, body: Record<string, unknown>, signal?: AbortSignal) => {
  const r = await fetch(`${base}/api/v1/worker/${workerId}/tasks/lease`, { method: 'POST', headers: workerHeaders(workerId), body: JSON.stringify(body), ...(signal ? { signal } : {}) });
  assert.equal(r.status, 200, await r.clone().text());
  return ((await r.json()) as LeaseTasksReply).tasks;
};

describe('tasks: lease', () => {
  let h: TaskHarness;
  before(async () => (h = await taskHarness({ config: { 'tasks.lease_ttl': 20_000 } })));
  after(() => h.close());

  it('leases a batch, highest priority first, with its lease and its grant', async () => {
    const kind = freshKind();
    const low = await h.submitOk({ kind, priority: 0 });
    const high = await h.submitOk({ kind, priority: 9, timeout_ms: 120_000 });
    for (let i = 0; i < 3; i++) await h.submitOk({ kind, priority: 1 });
    const now = h.t.clock.now();
    const first = await h.leaseOk('w-batch', [kind], { max: 3 });
    assert.equal(first.length, 3);
    const top = first[0]!;
    assert.equal(top.task.id, high.id);
    assert.equal(top.task.state, 'leased');
    assert.equal(top.task.worker_id, 'w-batch');
    assert.equal(top.task.attempt, 1);
    assert.deepEqual(top.lease, { generation: 1, expires_at: new Date(now + 20_000).toISOString(), server_time: new Date(now).toISOString() });
    assert.deepEqual(top.grant, { prefix: `tasks/${high.id}/`, expires_at: high.deadline });
    assert.ok(!first.some((l) => l.task.id === low.id));
    const rest = await h.leaseOk('w-batch-2', [kind], { max: 10 });
    assert.equal(rest.length, 2);
    assert.equal(rest[1]!.task.id, low.id);
    assert.deepEqual(await h.leaseOk('w-batch-3', [kind], { max: 10 }), []);
    const types = (await eventsOf(h, high.id)).map((e) => e.type);
    assert.deepEqual(types, ['task.submitted', 'task.leased']);
    const latency = await h.t.cp.metrics.taskStartLatency.get();
    assert.ok(latency.values.some((v) => v.metricName?.endsWith('_count') && v.labels.kind === kind && v.value === 5));
  });

  it('a pinned task goes only to a worker running exactly its code version', async () => {
    const kind = freshKind();
    const pinned = await h.submitOk({ kind, code_version: 'v2' });
    assert.deepEqual(await h.leaseOk('w-v1', [kind], { code_version: 'v1' }), []);
    assert.deepEqual(await h.leaseOk('w-none', [kind]), []);
    assert.deepEqual(await h.leaseOk('w-null', [kind], { code_version: null }), []);
    const [got] = await h.leaseOk('w-v2', [kind], { code_version: 'v2' });
    assert.equal(got?.task.id, pinned.id);
    // An unpinned task goes to any version.
    const free = await h.submitOk({ kind });
    assert.equal((await h.leaseOk('w-v1', [kind], { code_version: 'v1' }))[0]?.task.id, free.id);
  });

  it('validates the request and the worker binding', async () => {
    assert.equal((await h.lease('w-x', {})).status, 400);
    assert.equal((await h.lease('w-x', { kinds: ['a'], max: 101 })).status, 400);
    assert.equal((await h.lease('w-x', { kinds: ['a'], wait_ms: 30_001 })).status, 400);
    const other = await h.t.request('POST', '/api/v1/worker/w-x/tasks/lease', { worker: { id: 'w-y', token: 'wt-shared-test-token-0123456789' }, body: { kinds: ['a'] } });
    assert.equal(other.status, 403);
    const user = await h.t.request('POST', '/api/v1/worker/w-x/tasks/lease', { key: h.t.keys.admin, body: { kinds: ['a'] } });
    assert.equal(user.status, 401);
  });

  it("max_running_tasks: a tenant's leased tasks never exceed its quota", async () => {
    await h.t.store.tenants.putQuota('tenant-b', { maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: 2, maxExecTimeoutMs: null });
    const kind = freshKind('quota');
    for (let i = 0; i < 4; i++) await h.submitOk({ kind }, h.t.keys.apiB);
    const other = await h.submitOk({ kind }); // tenant-a, unlimited
    const got = await h.leaseOk('w-quota', [kind], { max: 10 });
    assert.equal(got.filter((l) => l.task.tenant_id === 'tenant-b').length, 2);
    assert.ok(got.some((l) => l.task.id === other.id));
    assert.deepEqual(await h.leaseOk('w-quota', [kind], { max: 10 }), []);
    const one = got.find((l) => l.task.tenant_id === 'tenant-b')!;
    await h.report('w-quota', one.task.id, { generation: one.lease.generation, outcome: { status: 'succeeded' } });
    assert.equal((await h.leaseOk('w-quota', [kind], { max: 10 })).length, 1);
  });

  it('a claim whose client has hung up is given back: queued again, attempt not counted', async () => {
    const kind = freshKind();
    const v = await h.submitOk({ kind });
    const gone = new AbortController();
    gone.abort();
    const got = await leaseTasks(h.t.cp, 'w-gone', { kinds: [kind], codeVersion: null, max: 1, waitMs: 0 }, gone.signal);
    assert.deepEqual(got, []);
    const back = await h.get(v.id);
    assert.equal(back.state, 'queued');
    assert.equal(back.attempt, 0);
    assert.deepEqual((await eventsOf(h, v.id)).map((e) => e.type), ['task.submitted', 'task.returned']);
    const [again] = await h.leaseOk('w-next', [kind]);
    assert.equal(again?.task.attempt, 1);
    assert.equal(again?.lease.generation, 2);
  });

  describe('long poll (over loopback HTTP)', () => {
    const FALLBACK = 600_000;
    const ENDLESS = 29_999;
    const watched = watchedTimer(FALLBACK, ENDLESS);
    let server: { base: string; close(): Promise<void> };
    before(async () => (server = await serveWith(h.t.cp, workerTaskRoutes({ fallbackMs: FALLBACK, timer: watched.timer }))));
    after(() => server.close());

    it('a waiting lease is woken by a submit and returns the task (no fallback re-check, no end of hold)', { timeout: 20_000 }, async () => {
      const kind = freshKind('wake');
      const pending = leaseOver(server.base, 'w-wake', { kinds: [kind], max: 5, wait_ms: ENDLESS });
      await watched.waiting();
      const v = await h.submitOk({ kind });
      const tasks = await pending;
      assert.deepEqual(tasks.map((l: LeasedTask) => l.task.id), [v.id]);
    });

    it("a submit of another kind or another pinned version does not satisfy the wait; the hold ends with an empty batch", async () => {
      const kind = freshKind('nowake');
      const pending = leaseOver(server.base, 'w-nowake', { kinds: [kind], code_version: 'v1', wait_ms: 300 });
      await watched.waiting();
      await h.submitOk({ kind: freshKind('unrelated') });
      const pinned = await h.submitOk({ kind, code_version: 'v2' });
      assert.deepEqual(await pending, []);
      assert.equal((await h.get(pinned.id)).state, 'queued');
    });

    it('a task that is ready at once is returned without waiting', async () => {
      const kind = freshKind('ready');
      const v = await h.submitOk({ kind });
      const tasks = await leaseOver(server.base, 'w-ready', { kinds: [kind], wait_ms: 30_000 });
      assert.equal(tasks[0]?.task.id, v.id);
    });
  });

  describe('another replica', () => {
    it('a lease waiting on one replica sees a submit made on another, by the slow fallback re-check', { timeout: 20_000 }, async () => {
      const watched = watchedTimer(50, 29_999);
      const replica = await startReplica(h.t, workerTaskRoutes({ fallbackMs: 50, timer: watched.timer }));
      try {
        const kind = freshKind('replica');
        const pending = leaseOver(replica.base, 'w-rep', { kinds: [kind], wait_ms: 29_999 });
        await watched.waiting();
        const v = await h.submitOk({ kind }); // on the harness replica: no event reaches the other one
        assert.equal((await pending)[0]?.task.id, v.id);
      } finally {
        await replica.close();
      }
    });

    it('shutdown ends a waiting lease at once with an empty batch', async () => {
      const watched = watchedTimer(600_000);
      const replica = await startReplica(h.t, workerTaskRoutes({ fallbackMs: 600_000, timer: watched.timer }));
      try {
        const pending = leaseOver(replica.base, 'w-shut', { kinds: [freshKind('shut')], wait_ms: 30_000 });
        await watched.waiting();
        replica.shutdown.abort();
        assert.deepEqual(await pending, []);
      } finally {
        await replica.close();
      }
    });
  });
});
