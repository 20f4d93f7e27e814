import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { tenantScope } from '../../../src/store/types.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { id, newSandbox, tenant } from './helpers.js';

export function recordsContract(fixture: StoreFixture): void {
  describe(`keys, tokens, quotas, templates, events, idempotency [${fixture.name}]`, () => {
    let s: OpenedStore;
    let t: string;
    before(async () => {
      s = await fixture.open();
      t = await tenant(s.store);
    });
    after(() => s.close());

    it('api keys are found by hash until revoked', async () => {
      const k = await s.store.credentials.createApiKey({ id: id('key'), tenantId: t, name: 'ci', role: 'operator', keyHash: 'hash-1' });
      assert.equal((await s.store.credentials.findApiKeyByHash('hash-1'))?.role, 'operator');
      assert.equal(await s.store.credentials.findApiKeyByHash('hash-2'), undefined);
      const revoked = await s.store.credentials.revokeApiKey(k.id);
      assert.equal(typeof revoked?.revokedAt, 'number');
      assert.equal(await s.store.credentials.findApiKeyByHash('hash-1'), undefined);
    });

    it('worker tokens expire by the store clock and can be revoked', async () => {
      const now = await s.store.now();
      await s.store.credentials.createWorkerToken({ id: id('wtk'), workerId: 'w1', name: null, scopes: ['worker:heartbeat'], tokenHash: 'tok-1', expiresAt: now + 1_000 });
      const tok = await s.store.credentials.findWorkerTokenByHash('tok-1');
      assert.deepEqual(tok?.scopes, ['worker:heartbeat']);
      assert.equal(tok?.workerId, 'w1');
      s.advance(1_001);
      assert.equal(await s.store.credentials.findWorkerTokenByHash('tok-1'), undefined);
      const t2 = await s.store.credentials.createWorkerToken({ id: id('wtk'), workerId: null, name: 'any', scopes: ['worker:tasks'], tokenHash: 'tok-2', expiresAt: null });
      assert.ok(await s.store.credentials.findWorkerTokenByHash('tok-2'));
      await s.store.credentials.revokeWorkerToken(t2.id);
      assert.equal(await s.store.credentials.findWorkerTokenByHash('tok-2'), undefined);
    });

    it('quotas default to unlimited and can be set; usage counts non-terminal sandboxes', async () => {
      assert.equal((await s.store.tenants.getQuota(t)).maxSandboxes, null);
      await s.store.tenants.putQuota(t, { maxSandboxes: 2, maxCpuMilli: 4000, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: 5, maxExecTimeoutMs: null });
      assert.equal((await s.store.tenants.getQuota(t)).maxSandboxes, 2);
      await s.store.tenants.putQuota(t, { maxSandboxes: 3, maxCpuMilli: null, maxMemoryMb: null, maxTtlMs: null, maxRunningTasks: null, maxExecTimeoutMs: null });
      assert.equal((await s.store.tenants.getQuota(t)).maxSandboxes, 3);
      await s.store.sandboxes.createSandbox(newSandbox(t));
      const usage = await s.store.sandboxes.sandboxUsage(t);
      assert.deepEqual(usage, { sandboxes: 1, cpuMilli: 1000, memoryMb: 1024 });
    });

    it('templates are put, replaced, listed and deleted', async () => {
      await s.store.templates.putTemplate(t, 'node', { image: 'node:20' });
      await s.store.templates.putTemplate(t, 'node', { image: 'node:22' });
      assert.deepEqual((await s.store.templates.getTemplate(tenantScope(t), 'node'))?.spec, { image: 'node:22' });
      assert.equal((await s.store.templates.listTemplates(tenantScope(t), { limit: 10 })).items.length, 1);
      assert.equal(await s.store.templates.deleteTemplate(tenantScope(t), 'node'), true);
      assert.equal(await s.store.templates.getTemplate(tenantScope(t), 'node'), undefined);
    });

    it('events are ordered, resumable after a sequence number, filterable, and pruned', async () => {
      const start = await s.store.events.latestEventSeq();
      for (let i = 0; i < 5; i++) await s.store.events.appendEvent({ type: i % 2 ? 'task.done' : 'sandbox.created', tenantId: t, resourceType: null, resourceId: null, data: { i } });
      const all = await s.store.events.listEvents({ kind: 'all' }, { afterSeq: start, limit: 100 });
      assert.deepEqual(all.map((e) => e.data.i), [0, 1, 2, 3, 4]);
      const resumed = await s.store.events.listEvents({ kind: 'all' }, { afterSeq: all[2]!.seq, limit: 100 });
      assert.deepEqual(resumed.map((e) => e.data.i), [3, 4]);
      const typed = await s.store.events.listEvents({ kind: 'all' }, { afterSeq: start, limit: 100, types: ['task.done'] });
      assert.deepEqual(typed.map((e) => e.data.i), [1, 3]);
      await s.store.events.pruneEvents(2, 3_600_000);
      assert.equal((await s.store.events.listEvents({ kind: 'all' }, { afterSeq: 0, limit: 100 })).length, 2);
    });

    it('idempotency keys: claim, replay the stored response, refuse another body, expire', async () => {
      const k = { tenantId: t, scope: 'sandboxes.create', key: 'abc' };
      assert.deepEqual(await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h1', ttlMs: 1_000 }), { kind: 'claimed' });
      await s.store.idempotency.completeIdempotencyKey(k, 'sbx_1', { id: 'sbx_1' });
      const replay = await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h1', ttlMs: 1_000 });
      assert.equal(replay.kind, 'replay');
      if (replay.kind === 'replay') assert.deepEqual(replay.record.response, { id: 'sbx_1' });
      assert.deepEqual(await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h2', ttlMs: 1_000 }), { kind: 'mismatch' });
      s.advance(1_001);
      assert.deepEqual(await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h2', ttlMs: 1_000 }), { kind: 'claimed' });
    });
  });
}
