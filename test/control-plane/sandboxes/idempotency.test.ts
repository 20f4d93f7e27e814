/** Idempotency-Key on creates: replay, mismatch, a failed request gives its key back, in-flight, takeover. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashRequest, STALE_CLAIM_MS, withIdempotency } from '../../../src/control-plane/services/idempotency.js';
import { sandboxHarness, type ErrorBody, type SandboxHarness, type View } from './support.js';

describe('sandboxes: Idempotency-Key', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await sandboxHarness();
    await h.addWorker({ id: 'w-1' });
  });
  after(() => h.close());

  it('the same key and body replays the stored answer (same status, same sandbox) and creates nothing', async () => {
    const body = { labels: { run: 'one' }, memory_mb: 256 };
    const first = await h.create(body, { headers: { 'idempotency-key': 'create-1' } });
    assert.equal(first.status, 201);
    assert.equal(first.headers['idempotent-replayed'], undefined);
    // Key order in the body does not make it a different request.
    const again = await h.create({ memory_mb: 256, labels: { run: 'one' } }, { headers: { 'idempotency-key': 'create-1' } });
    assert.equal(again.status, 201);
    assert.equal(again.headers['idempotent-replayed'], 'true');
    assert.equal(again.json<View>().id, first.json<View>().id);
    assert.deepEqual(again.json(), first.json());
    assert.equal(h.workers[0]!.callsOf('worker.spawn').length, 1);
  });

  it('the same key with another body is 409', async () => {
    const res = await h.create({ labels: { run: 'two' } }, { headers: { 'idempotency-key': 'create-1' } });
    assert.equal(res.status, 409);
    assert.equal(res.json<ErrorBody>().error.code, 'conflict');
  });

  it('keys are per tenant: tenant B may use the same key for its own create', async () => {
    const res = await h.create({ labels: { run: 'one' }, memory_mb: 256 }, { key: h.t.keys.apiB, headers: { 'idempotency-key': 'create-1' } });
    assert.equal(res.status, 201);
    assert.equal(res.headers['idempotent-replayed'], undefined);
    assert.equal(res.json<View>().tenant_id, 'tenant-b');
  });

  it('a failed create gives its key back: the retry with the same key runs again', async () => {
    const w = h.workers[0]!;
    w.failNext('worker.spawn', 'spawn_failed', 'transient');
    const failed = await h.create({ labels: { run: 'three' } }, { headers: { 'idempotency-key': 'create-3' } });
    assert.equal(failed.status, 503);
    const retry = await h.create({ labels: { run: 'three' } }, { headers: { 'idempotency-key': 'create-3' } });
    assert.equal(retry.status, 201);
    assert.equal(retry.headers['idempotent-replayed'], undefined);
    assert.notEqual(retry.json<View>().id, failed.json<ErrorBody>().error.details?.sandbox_id);
  });

  it('rejects a malformed key', async () => {
    const res = await h.create({}, { headers: { 'idempotency-key': 'has space' } });
    assert.equal(res.status, 400);
  });

  it('a request still in flight is 409; a claim left by a dead request is taken over after a while', async () => {
    const k = { tenantId: 'tenant-a', scope: 'test.scope', key: 'in-flight' };
    const claim = await h.t.store.idempotency.claimIdempotencyKey({ ...k, requestHash: hashRequest({ a: 1 }), ttlMs: 86_400_000 });
    assert.equal(claim.kind, 'claimed');
    const run = () => withIdempotency(h.t.cp, { ...k, body: { a: 1 } }, async () => ({ status: 201, body: { ok: true }, resourceId: 'r1' }));
    await assert.rejects(run(), (err: Error & { code?: string; details?: Record<string, unknown> }) => err.code === 'conflict' && err.details?.in_progress === true);
    h.t.clock.advance(STALE_CLAIM_MS);
    const taken = await run();
    assert.deepEqual(taken, { status: 201, body: { ok: true }, resourceId: 'r1', replayed: false });
    const replay = await run();
    assert.equal(replay.replayed, true);
    assert.deepEqual(replay.body, { ok: true });
  });

  it('hashRequest is independent of key order and distinguishes values', () => {
    assert.equal(hashRequest({ a: 1, b: [1, { c: 2, d: 3 }] }), hashRequest({ b: [1, { d: 3, c: 2 }], a: 1 }));
    assert.notEqual(hashRequest({ a: 1 }), hashRequest({ a: '1' }));
    assert.equal(hashRequest({ a: 1, b: undefined }), hashRequest({ a: 1 }));
  });
});
