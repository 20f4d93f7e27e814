/** The caller API: submit, get, list, cancel, wait, artifacts; defaults, validation and tenancy. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { taskRoutes } from '../../../src/control-plane/routes/tasks.js';
import type { TaskView } from '../../../src/protocol/tasks.js';
import { eventsOf, freshKind, serveWith, taskHarness, type ErrorBody, type TaskHarness } from './support.js';

describe('tasks: caller API', () => {
  let h: TaskHarness;
  before(async () => {
    h = await taskHarness({ config: { 'tasks.default_timeout': 600_000, 'tasks.default_max_attempts': 4 } });
  });
  after(() => h.close());

  it('submit answers 201 with the task, defaults from config, deadline counted from submission', async () => {
    const kind = freshKind();
    const r = await h.submit({ kind, input: { n: [1, 'two', null] }, labels: { team: 'x' } });
    assert.equal(r.status, 201, r.text);
    const v = r.json<TaskView>();
    assert.match(v.id, /^tsk_/);
    assert.equal(v.tenant_id, 'tenant-a');
    assert.equal(v.state, 'queued');
    assert.equal(v.kind, kind);
    assert.deepEqual(v.input, { n: [1, 'two', null] });
    assert.equal(v.max_attempts, 4);
    assert.equal(v.attempt, 0);
    assert.equal(v.code_version, null);
    assert.deepEqual(v.labels, { team: 'x' });
    assert.equal(Date.parse(v.deadline) - Date.parse(v.created_at), 600_000);
    assert.equal(v.run_after, v.created_at);
    assert.equal(v.worker_id, null);
    const got = await h.get(v.id);
    assert.deepEqual(got, v);
    const events = await eventsOf(h, v.id);
    assert.deepEqual(events.map((e) => [e.type, e.tenantId]), [['task.submitted', 'tenant-a']]);
    assert.equal(events[0]!.data.kind, kind);
  });

  it('explicit fields are kept; run_after delays; an unknown field, a bad kind or run_after past the deadline is 400', async () => {
    const runAfter = new Date(h.t.clock.now() + 5_000).toISOString();
    const v = await h.submitOk({ kind: freshKind(), timeout_ms: 60_000, max_attempts: 2, retry_backoff_ms: 10, priority: 7, code_version: 'v9', run_after: runAfter });
    assert.deepEqual([v.max_attempts, v.retry_backoff_ms, v.priority, v.code_version, v.run_after], [2, 10, 7, 'v9', runAfter]);
    for (const body of [
      { kind: freshKind(), surprise: 1 },
      { kind: 'has space' },
      { input: 1 },
      { kind: freshKind(), timeout_ms: 1_000, run_after: new Date(h.t.clock.now() + 2_000).toISOString() },
    ]) {
      const r = await h.submit(body);
      assert.equal(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
      assert.equal(r.json<ErrorBody>().error.code, 'bad_request');
    }
  });

  it('a viewer may read but not submit; a worker credential is not a user', async () => {
    assert.equal((await h.submit({ kind: freshKind() }, { key: h.t.keys.viewer })).status, 403);
    assert.equal((await h.t.request('GET', '/api/v1/tasks', { key: h.t.keys.viewer })).status, 200);
    assert.equal((await h.t.request('GET', '/api/v1/tasks', { worker: { id: 'w-1', token: 'x' } })).status, 401);
  });

  it('list: newest first, filters by state and kind, paginates', async () => {
    const kind = freshKind('list');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      ids.push((await h.submitOk({ kind })).id);
      h.t.clock.advance(1); // ids sort by their millisecond, then at random
    }
    const [leased] = await h.leaseOk('w-list', [kind]);
    const page1 = await h.t.request('GET', `/api/v1/tasks?kind=${kind}&limit=2`, { key: h.t.keys.apiA });
    const body1 = page1.json<{ items: TaskView[]; next_cursor: string | null }>();
    assert.equal(body1.items.length, 2);
    assert.ok(body1.next_cursor);
    const page2 = (await h.t.request('GET', `/api/v1/tasks?kind=${kind}&limit=2&cursor=${body1.next_cursor}`, { key: h.t.keys.apiA })).json<{ items: TaskView[]; next_cursor: string | null }>();
    const page3 = (await h.t.request('GET', `/api/v1/tasks?kind=${kind}&limit=2&cursor=${page2.next_cursor}`, { key: h.t.keys.apiA })).json<{ items: TaskView[]; next_cursor: string | null }>();
    assert.equal(page3.next_cursor, null);
    assert.deepEqual([...body1.items, ...page2.items, ...page3.items].map((t) => t.id), [...ids].reverse());
    const onlyLeased = (await h.t.request('GET', `/api/v1/tasks?kind=${kind}&state=leased`, { key: h.t.keys.apiA })).json<{ items: TaskView[] }>();
    assert.deepEqual(onlyLeased.items.map((t) => t.id), [leased!.task.id]);
    assert.equal((await h.t.request('GET', '/api/v1/tasks?state=nope', { key: h.t.keys.apiA })).status, 400);
  });

  it('cancel: a queued task at once; a leased one via the heartbeat, final when the worker reports; idempotent', async () => {
    const kind = freshKind('cancel');
    const queued = await h.submitOk({ kind, run_after: new Date(h.t.clock.now() + 60_000).toISOString() });
    const c1 = await h.t.request('POST', `/api/v1/tasks/${queued.id}/cancel`, { key: h.t.keys.apiA, body: {} });
    assert.equal(c1.status, 200);
    assert.equal(c1.json<TaskView>().state, 'cancelled');
    assert.ok(c1.json<TaskView>().ended_at);

    const running = await h.submitOk({ kind });
    const [l] = await h.leaseOk('w-cancel', [kind]);
    assert.equal(l!.task.id, running.id);
    const c2 = (await h.t.request('POST', `/api/v1/tasks/${running.id}/cancel`, { key: h.t.keys.apiA, body: {} })).json<TaskView>();
    assert.equal(c2.state, 'leased');
    assert.equal(c2.cancel_requested, true);
    const hb = await h.heartbeat('w-cancel', running.id, { generation: l!.lease.generation });
    assert.equal(hb.json<{ cancel: boolean }>().cancel, true);
    const rep = await h.report('w-cancel', running.id, { generation: l!.lease.generation, outcome: { status: 'cancelled' } });
    assert.equal(rep.json<{ task: { state: string } }>().task.state, 'cancelled');
    // Cancelling a finished task answers it as it is.
    const again = await h.t.request('POST', `/api/v1/tasks/${running.id}/cancel`, { key: h.t.keys.apiA, body: {} });
    assert.equal(again.status, 200);
    assert.equal(again.json<TaskView>().state, 'cancelled');
    const types = (await eventsOf(h, running.id)).map((e) => e.type);
    assert.deepEqual(types, ['task.submitted', 'task.leased', 'task.cancel_requested', 'task.cancelled']);
    const audit = await h.t.store.audit.list({ kind: 'all' }, { action: 'tasks.cancel' }, { limit: 10 });
    assert.ok(audit.items.some((a) => a.resourceId === running.id && a.outcome === 'ok'));
  });

  it('an admin may submit for another tenant with ?tenant=, which is created on first use', async () => {
    const r = await h.submit({ kind: freshKind() }, { key: h.t.keys.admin, url: '/api/v1/tasks?tenant=brand-new' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json<TaskView>().tenant_id, 'brand-new');
    // ?tenant= is the admin's privilege: an api key's submit stays in its own tenant.
    const mine = await h.submit({ kind: freshKind() }, { key: h.t.keys.apiB, url: '/api/v1/tasks?tenant=tenant-a' });
    assert.equal(mine.json<TaskView>().tenant_id, 'tenant-b');
  });

  it("tenancy: B gets 404 for A's task, its cancel, its wait and its artifacts, and A's task is untouched", async () => {
    const v = await h.submitOk({ kind: freshKind() });
    for (const [method, url] of [
      ['GET', `/api/v1/tasks/${v.id}`],
      ['POST', `/api/v1/tasks/${v.id}/cancel`],
      ['GET', `/api/v1/tasks/${v.id}/wait?timeout_ms=0`],
      ['GET', `/api/v1/tasks/${v.id}/artifacts`],
    ] as const) {
      const r = await h.t.request(method, url, { key: h.t.keys.apiB, ...(method === 'POST' ? { body: {} } : {}) });
      assert.equal(r.status, 404, `${method} ${url}: ${r.text}`);
      assert.equal(r.json<ErrorBody>().error.code, 'not_found');
    }
    const list = (await h.t.request('GET', '/api/v1/tasks?limit=1000', { key: h.t.keys.apiB })).json<{ items: TaskView[] }>();
    assert.ok(!list.items.some((t) => t.id === v.id));
    const still = await h.get(v.id);
    assert.equal(still.state, 'queued');
    assert.equal(still.cancel_requested, false);
  });

  describe('wait (over loopback HTTP)', () => {
    let server: { base: string; close(): Promise<void> };
    before(async () => (server = await serveWith(h.t.cp, taskRoutes({ fallbackMs: 600_000 }))));
    after(() => server.close());
    const wait = (id: string, q: string, key = h.t.keys.apiA) => fetch(`${server.base}/api/v1/tasks/${id}/wait?${q}`, { headers: { authorization: `Bearer ${key}` } });

    it('a finished task is answered at once; timeout_ms=0 answers the task as it is', async () => {
      const v = await h.submitOk({ kind: freshKind() });
      const r = await wait(v.id, 'timeout_ms=0');
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as TaskView).state, 'queued');
    });

    it('holds until the task is terminal, woken by its report (not by the fallback re-read)', async () => {
      const kind = freshKind('wait');
      const v = await h.submitOk({ kind });
      const [l] = await h.leaseOk('w-wait', [kind]);
      const pending = wait(v.id, 'timeout_ms=30000');
      // The report may land before the wait has subscribed: the wait re-reads after subscribing.
      const rep = await h.report('w-wait', v.id, { generation: l!.lease.generation, outcome: { status: 'succeeded', output: { ok: true } } });
      assert.equal(rep.status, 200, rep.text);
      const r = await pending;
      assert.equal(r.status, 200);
      const done = (await r.json()) as TaskView;
      assert.equal(done.state, 'succeeded');
      assert.deepEqual(done.output, { ok: true });
    });

    it('answers 200 with the task as it is when timeout_ms passes', async () => {
      const v = await h.submitOk({ kind: freshKind() });
      const r = await wait(v.id, 'timeout_ms=50');
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as TaskView).state, 'queued');
      assert.equal((await wait(v.id, 'timeout_ms=60001')).status, 400);
    });
  });
});
