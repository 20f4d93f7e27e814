/**
 * Contract for the queries added for sandbox creation and placement: the quota-checked create, the
 * spawn record, pending reasons and deadlines, template insert, and stale idempotency claims.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { OpenedStore, StoreFixture } from '../fixtures.js';
import { heartbeat, newSandbox, tenant } from './helpers.js';

const UNLIMITED = { maxSandboxes: null, maxCpuMilli: null, maxMemoryMb: null };

export function sandboxesExtraContract(fixture: StoreFixture): void {
  describe(`sandbox creation and placement extras [${fixture.name}]`, () => {
    let s: OpenedStore;
    before(async () => {
      s = await fixture.open();
    });
    after(() => s.close());

    it('createSandboxWithinQuota: unlimited creates, and creates a missing tenant', async () => {
      const r = await s.store.sandboxes.createSandboxWithinQuota(newSandbox('brand-new-tenant'), UNLIMITED);
      assert.equal(r.kind, 'created');
      assert.equal(r.kind === 'created' && r.sandbox.state, 'pending');
      assert.ok(await s.store.tenants.getTenant('brand-new-tenant'));
    });

    it('createSandboxWithinQuota: each limit, counting only non-terminal sandboxes', async () => {
      const t = await tenant(s.store);
      const limits = { maxSandboxes: 2, maxCpuMilli: 2500, maxMemoryMb: 3072 };
      const a = await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t), limits);
      assert.equal(a.kind, 'created');
      assert.deepEqual(await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t, { resources: { cpuMilli: 1600, memoryMb: 1, diskMb: 1 } }), limits), {
        kind: 'exceeded',
        limit: 'max_cpu',
        usage: { sandboxes: 1, cpuMilli: 1000, memoryMb: 1024 },
      });
      const mem = await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t, { resources: { cpuMilli: 1, memoryMb: 2049, diskMb: 1 } }), limits);
      assert.equal(mem.kind === 'exceeded' && mem.limit, 'max_memory_mb');
      assert.equal((await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t), limits)).kind, 'created');
      const count = await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t, { resources: { cpuMilli: 1, memoryMb: 1, diskMb: 1 } }), limits);
      assert.equal(count.kind === 'exceeded' && count.limit, 'max_sandboxes');
      await s.store.sandboxes.transitionSandbox(a.kind === 'created' ? a.sandbox.id : '', { from: ['pending'], to: 'stopped' });
      assert.equal((await s.store.sandboxes.createSandboxWithinQuota(newSandbox(t), limits)).kind, 'created', 'a stopped sandbox frees its quota');
    });

    it('createSandboxWithinQuota: concurrent creates never exceed the count', async () => {
      const t = await tenant(s.store);
      const limits = { maxSandboxes: 3, maxCpuMilli: null, maxMemoryMb: null };
      const results = await Promise.all(Array.from({ length: 12 }, () => s.store.sandboxes.createSandboxWithinQuota(newSandbox(t), limits)));
      assert.equal(results.filter((r) => r.kind === 'created').length, 3);
      assert.equal((await s.store.sandboxes.sandboxUsage(t)).sandboxes, 3);
    });

    it('recordSandboxRuntime: only for the placement at that generation, merging runtime into the spec', async () => {
      const t = await tenant(s.store);
      await s.store.workers.recordHeartbeat(heartbeat('w-rt'));
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t, { spec: { image: 'x' } }));
      assert.equal(await s.store.sandboxes.recordSandboxRuntime(sbx.id, 1, 'rt-1', {}), undefined, 'not placed yet');
      const placed = await s.store.sandboxes.commitPlacement(sbx.id, 'w-rt', 'process', 30_000);
      assert.equal(placed.kind, 'placed');
      assert.equal(await s.store.sandboxes.recordSandboxRuntime(sbx.id, 2, 'rt-1', {}), undefined, 'wrong generation');
      const rec = await s.store.sandboxes.recordSandboxRuntime(sbx.id, 1, 'rt-1', { service_port: 8080 });
      assert.equal(rec?.runtimeId, 'rt-1');
      assert.equal(rec?.state, 'starting');
      assert.deepEqual(rec?.spec, { image: 'x', runtime: { service_port: 8080 } });
      await s.store.sandboxes.transitionSandbox(sbx.id, { from: ['starting'], to: 'failed' });
      assert.equal(await s.store.sandboxes.recordSandboxRuntime(sbx.id, 1, 'rt-2', {}), undefined, 'ended');
    });

    it('noteSandboxReason: only in the given state', async () => {
      const t = await tenant(s.store);
      const sbx = await s.store.sandboxes.createSandbox(newSandbox(t));
      assert.equal(await s.store.sandboxes.noteSandboxReason(sbx.id, 'running', 'x'), false);
      assert.equal(await s.store.sandboxes.noteSandboxReason(sbx.id, 'pending', 'insufficient_capacity'), true);
      assert.equal((await s.store.sandboxes.getSandbox({ kind: 'all' }, sbx.id))?.stateReason, 'insufficient_capacity');
    });

    it('listOverdueSandboxes: pending sandboxes past queued_until (store clock), oldest deadline first', async () => {
      const t = await tenant(s.store);
      const late = await s.store.sandboxes.createSandbox(newSandbox(t, { queueTimeoutMs: 1_000 }));
      const later = await s.store.sandboxes.createSandbox(newSandbox(t, { queueTimeoutMs: 2_000 }));
      const mine = (xs: { id: string }[]) => xs.map((x) => x.id).filter((id) => id === late.id || id === later.id);
      assert.deepEqual(mine(await s.store.sandboxes.listOverdueSandboxes(100)), []);
      s.advance(1_000);
      assert.deepEqual(mine(await s.store.sandboxes.listOverdueSandboxes(100)), [late.id]);
      s.advance(1_000);
      assert.deepEqual(mine(await s.store.sandboxes.listOverdueSandboxes(100)), [late.id, later.id]);
      await s.store.sandboxes.transitionSandbox(late.id, { from: ['pending'], to: 'failed' });
      assert.deepEqual(mine(await s.store.sandboxes.listOverdueSandboxes(100)), [later.id]);
    });

    it('insertTemplate: creates, refuses a taken name within the tenant', async () => {
      const a = await tenant(s.store);
      const b = await tenant(s.store);
      const first = await s.store.templates.insertTemplate(a, 'base', { image: 'x' });
      assert.deepEqual(first?.spec, { image: 'x' });
      assert.equal(await s.store.templates.insertTemplate(a, 'base', { image: 'y' }), undefined);
      assert.deepEqual((await s.store.templates.getTemplate({ kind: 'tenant', tenantId: a }, 'base'))?.spec, { image: 'x' });
      assert.ok(await s.store.templates.insertTemplate(b, 'base', { image: 'z' }));
    });

    it('releaseStaleIdempotencyClaim: removes only an unanswered claim made at or before the cut-off', async () => {
      const t = await tenant(s.store);
      const k = { tenantId: t, scope: 'x', key: 'k1' };
      await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h', ttlMs: 60_000 });
      const claim = await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h', ttlMs: 60_000 });
      assert.equal(claim.kind, 'replay');
      const at = claim.kind === 'replay' ? claim.record.createdAt : 0;
      assert.equal(await s.store.idempotency.releaseStaleIdempotencyClaim(k, at - 1), false);
      assert.equal(await s.store.idempotency.releaseStaleIdempotencyClaim(k, at), true);
      assert.equal((await s.store.idempotency.claimIdempotencyKey({ ...k, requestHash: 'h2', ttlMs: 60_000 })).kind, 'claimed');
      await s.store.idempotency.completeIdempotencyKey(k, 'r', { ok: 1 });
      s.advance(10);
      assert.equal(await s.store.idempotency.releaseStaleIdempotencyClaim(k, at + 1_000_000), false, 'an answered claim is kept');
    });
  });
}
