/** Idempotent submit: header or body key, replay, mismatch, per tenant, and after the record is pruned. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { IDEMPOTENCY_TTL_MS } from '../../../src/control-plane/services/idempotency.js';
import type { TaskView } from '../../../src/protocol/tasks.js';
import { freshKind, taskHarness, type ErrorBody, type TaskHarness } from './support.js';

describe('tasks: idempotent submit', () => {
  let h: TaskHarness;
  before(async () => (h = await taskHarness()));
  after(() => h.close());

  const countOf = async (kind: string, key = h.t.keys.apiA) =>
    (await h.t.request('GET', `/api/v1/tasks?kind=${kind}`, { key })).json<{ items: TaskView[] }>().items.length;

  it('the same key and request replays the original answer (201, same task) and creates nothing', async () => {
    const kind = freshKind();
    const first = await h.submit({ kind, input: { a: 1, b: 2 } }, { headers: { 'idempotency-key': 'sub-1' } });
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    // Key order in the body does not make it another request.
    const again = await h.submit({ input: { b: 2, a: 1 }, kind }, { headers: { 'idempotency-key': 'sub-1' } });
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.deepEqual(again.json(), first.json());
    assert.equal(await countOf(kind), 1);
    const submitted = (await h.t.store.events.listEvents({ kind: 'all' }, { afterSeq: 0, limit: 100_000 })).filter((e) => e.type === 'task.submitted' && e.data.kind === kind);
    assert.equal(submitted.length, 1);
  });

  it('the body field is the same key as the header; giving both, differently, is 400', async () => {
    const kind = freshKind();
    const viaBody = await h.submit({ kind, idempotency_key: 'sub-2' });
    assert.equal(viaBody.status, 201);
    const viaHeader = await h.submit({ kind }, { headers: { 'idempotency-key': 'sub-2' } });
    assert.equal(viaHeader.headers['idempotent-replayed'], 'true');
    assert.equal(viaHeader.json<TaskView>().id, viaBody.json<TaskView>().id);
    assert.equal(viaBody.json<TaskView>().id.length > 0, true);
    const both = await h.submit({ kind, idempotency_key: 'sub-2' }, { headers: { 'idempotency-key': 'other' } });
    assert.equal(both.status, 400);
    assert.equal(await countOf(kind), 1);
  });

  it('the same key with another request is 409 and creates nothing', async () => {
    const kind = freshKind();
    await h.submit({ kind, input: 1 }, { headers: { 'idempotency-key': 'sub-3' } });
    const other = await h.submit({ kind, input: 2 }, { headers: { 'idempotency-key': 'sub-3' } });
    assert.equal(other.status, 409);
    assert.equal(other.json<ErrorBody>().error.code, 'conflict');
    assert.equal(await countOf(kind), 1);
  });

  it('keys are per tenant', async () => {
    const kind = freshKind();
    const a = await h.submit({ kind }, { headers: { 'idempotency-key': 'sub-4' } });
    const b = await h.submit({ kind }, { key: h.t.keys.apiB, headers: { 'idempotency-key': 'sub-4' } });
    assert.equal(b.status, 201);
    assert.equal(b.headers['idempotent-replayed'], undefined);
    assert.notEqual(b.json<TaskView>().id, a.json<TaskView>().id);
  });

  it('a request that fails validation gives its key back', async () => {
    const kind = freshKind();
    const bad = await h.submit({ kind, timeout_ms: 1_000, run_after: new Date(h.t.clock.now() + 10_000).toISOString() }, { headers: { 'idempotency-key': 'sub-5' } });
    assert.equal(bad.status, 400);
    const good = await h.submit({ kind }, { headers: { 'idempotency-key': 'sub-5' } });
    assert.equal(good.status, 201);
    assert.equal(good.headers['idempotent-replayed'], undefined);
  });

  it('after the idempotency record is pruned the key still names the task: 200 with it as it is now, or 409', async () => {
    const kind = freshKind();
    const first = (await h.submit({ kind, input: 'x' }, { headers: { 'idempotency-key': 'sub-6' } })).json<TaskView>();
    await h.leaseOk('w-idem', [kind]);
    h.t.clock.advance(IDEMPOTENCY_TTL_MS + 1);
    assert.ok((await h.t.store.idempotency.pruneIdempotencyKeys()) > 0);
    const late = await h.submit({ kind, input: 'x' }, { headers: { 'idempotency-key': 'sub-6' } });
    assert.equal(late.status, 200, late.text);
    assert.equal(late.json<TaskView>().id, first.id);
    assert.equal(late.json<TaskView>().state, 'leased');
    h.t.clock.advance(IDEMPOTENCY_TTL_MS + 1);
    await h.t.store.idempotency.pruneIdempotencyKeys();
    const different = await h.submit({ kind, input: 'y' }, { headers: { 'idempotency-key': 'sub-6' } });
    assert.equal(different.status, 409);
    assert.equal(await countOf(kind), 1);
  });
});
