/** POST /api/v1/sandboxes/admission: the dry run agrees with what a create would do, and reserves nothing. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AdmissionView } from '../../../src/protocol/sandbox.js';
import { sandboxHarness, type SandboxHarness } from './support.js';

describe('sandboxes: admission dry run', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await sandboxHarness({ config: { 'scheduler.sample': 1 } });
  });
  after(() => h.close());

  const admit = async (body: Record<string, unknown>, key = h.t.keys.apiA) => {
    const res = await h.t.request('POST', '/api/v1/sandboxes/admission', { key, body });
    assert.equal(res.status, 200, res.text);
    return res.json<AdmissionView>();
  };

  it('no workers: not allowed, no_eligible_worker, and the quota usage', async () => {
    assert.deepEqual(await admit({}), {
      allowed: false,
      reason: 'no_eligible_worker',
      selected_worker_id: null,
      provider: null,
      eligible_workers: 0,
      quota: { used: { sandboxes: 0, cpu: 0, memory_mb: 0 }, max: { sandboxes: null, cpu: null, memory_mb: null, ttl_ms: null } },
    });
  });

  it('names the worker and provider a create would get, and reserves nothing', async () => {
    await h.addWorker({ id: 'gpu', providers: ['process', 'bwrap'], labels: { gpu: 'yes' }, capacity: { max_sandboxes: 1 } });
    await h.addWorker({ id: 'plain', providers: ['process'] });
    const a = await admit({ selector: { gpu: 'yes' } });
    assert.equal(a.allowed, true);
    assert.equal(a.reason, null);
    assert.equal(a.selected_worker_id, 'gpu');
    assert.equal(a.provider, 'bwrap');
    assert.equal(a.eligible_workers, 1);
    assert.equal((await h.t.store.workers.getWorker('gpu'))?.allocated.sandboxes, 0);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes', { key: h.t.keys.apiA })).json<{ items: unknown[] }>().items.length, 0);
    const created = await h.create({ selector: { gpu: 'yes' } });
    assert.equal(created.json<{ worker_id: string }>().worker_id, 'gpu');
  });

  it('each placement reason, as the create would fail with it', async () => {
    assert.equal((await admit({ selector: { gpu: 'yes' } })).reason, 'insufficient_capacity');
    assert.equal((await admit({ selector: { gpu: 'yes' } })).eligible_workers, 1);
    assert.equal((await admit({ selector: { gpu: 'no' } })).reason, 'selector_unmatched');
    assert.equal((await admit({ provider: 'mock' })).reason, 'provider_unsupported');
    assert.equal((await admit({ cpu: 1000 })).reason, 'insufficient_capacity');
  });

  it('quota: over a limit → quota_exceeded, with used and max', async () => {
    await h.t.store.tenants.putQuota('tenant-a', { maxSandboxes: 1, maxCpuMilli: 2000, maxMemoryMb: null, maxTtlMs: 3_600_000, maxRunningTasks: null, maxExecTimeoutMs: null });
    const a = await admit({});
    assert.equal(a.allowed, false);
    assert.equal(a.reason, 'quota_exceeded');
    assert.equal(a.selected_worker_id, 'plain', 'placement is still reported');
    assert.deepEqual(a.quota, { used: { sandboxes: 1, cpu: 1, memory_mb: 512 }, max: { sandboxes: 1, cpu: 2, memory_mb: null, ttl_ms: 3_600_000 } });
    const b = await admit({}, h.t.keys.apiB);
    assert.equal(b.allowed, true, 'quotas are per tenant');
  });

  it('a bad request is still a 400, and viewers may ask', async () => {
    assert.equal((await h.t.request('POST', '/api/v1/sandboxes/admission', { key: h.t.keys.apiA, body: { cpu: -1 } })).status, 400);
    assert.equal((await h.t.request('POST', '/api/v1/sandboxes/admission', { key: h.t.keys.viewer, body: {} })).status, 200);
  });
});
