/**
 * Sandbox lease renewal: a third of the TTL after the previous renewal was sent, with the TTL the
 * control plane chose; transient failures are retried with backoff while the sandbox keeps running;
 * a 409 lease_lost destroys the runtime.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { renewalTtl } from '../../../src/worker/leases.js';
import { until } from './support/manual-timers.js';
import { startScenario, type Scenario } from './support/scenario.js';

describe('lease renewal TTL', () => {
  it("keeps the control plane's lease length, rounded to a second and within the renew route's bounds", () => {
    assert.equal(renewalTtl(29_994, 60_000), 30_000);
    assert.equal(renewalTtl(30_004, 60_000), 30_000);
    assert.equal(renewalTtl(undefined, 60_000), 60_000);
    assert.equal(renewalTtl(-5, 60_000), 60_000);
    assert.equal(renewalTtl(100, 60_000), 1_000);
    assert.equal(renewalTtl(3_600_000, 60_000), 300_000);
  });
});

describe('sandbox lease renewal against a real control plane', () => {
  let s: Scenario;
  beforeEach(async () => {
    s = await startScenario();
  });
  afterEach(() => s.close());

  it('renews a third of the way through the lease, again and again, extending it in the store', async () => {
    const sbx = await s.createSandbox();
    assert.deepEqual(s.worker.leases.holds(sbx.id), { generation: sbx.lease_generation, ttlMs: 30_000 }, 'the TTL the control plane gave (workers.lost_after)');
    assert.ok(s.timers.delays().includes(10_000), `renewal armed at ttl/3: ${s.timers.delays().join(',')}`);
    for (let round = 1; round <= 3; round++) {
      await s.advance(9_999);
      assert.equal(s.worker.leases.renewals, round - 1, 'not before it is due');
      await s.advance(1);
      await until(async () => (await s.leaseExpiry(sbx.id)) === s.cp.t.clock.now() + 30_000, `renewal ${round} to reach the store`);
      assert.equal(s.worker.leases.renewals, round);
    }
  });

  it('retries a failed renewal with backoff; the sandbox keeps running meanwhile', async () => {
    const sbx = await s.createSandbox();
    s.failRenewals.count = 2;
    await s.advance(10_000);
    await until(() => s.worker.leases.renewals === 1 && s.timers.delays().includes(500), 'the first renewal to fail and a retry to be armed');
    await s.advance(500);
    await until(() => s.worker.leases.renewals === 2 && s.timers.delays().includes(1000), 'the second failure and a longer retry');
    assert.equal(s.worker.runtimes.count(), 1, 'still running: the control plane decides loss, not the worker');
    await s.advance(1000);
    await until(async () => (await s.leaseExpiry(sbx.id)) === s.cp.t.clock.now() + 30_000, 'the retry to renew the lease');
    assert.equal(s.worker.leases.lost, 0);
  });

  it('destroys the runtime when the control plane answers lease_lost', async () => {
    const sbx = await s.createSandbox();
    await s.cp.t.store.leases.releaseLease({ type: 'sandbox', id: sbx.id }, s.worker.id, sbx.lease_generation);
    await s.advance(10_000);
    await until(() => s.worker.runtimes.count() === 0, 'the runtime to be destroyed');
    assert.equal(s.worker.leases.lost, 1);
    assert.equal(s.worker.leases.holds(sbx.id), undefined);
  });
});
