/**
 * Fault 11: a worker whose clock is off by ±5 minutes works normally — it registers, takes sandboxes
 * (the RPC lease check passes), renews their leases, and still judges expiry right, because it never
 * compares the control plane's times with its own clock. +5 min would make a naive check reject
 * every fresh lease; −5 min would make it accept expired ones.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/domain/clock.js';
import { rpc } from './support/rpc.js';
import { until } from './support/manual-timers.js';
import { startScenario } from './support/scenario.js';

const FIVE_MINUTES = 5 * 60_000;

for (const skew of [FIVE_MINUTES, -FIVE_MINUTES]) {
  describe(`worker clock ${skew > 0 ? '+' : '-'}5 min from the control plane`, () => {
    it('heartbeats, spawns under the lease check, renews, and judges expiry by the control plane clock', async () => {
      const s = await startScenario({ clock: (cpNow) => new ManualClock(cpNow + skew) });
      try {
        const record = await s.cp.t.store.workers.getWorker(s.worker.id);
        assert.equal(record?.status, 'online', 'registered by its heartbeat');

        const sbx = await s.createSandbox();
        assert.equal(sbx.state, 'running', 'the spawn passed the lease check');
        assert.equal(s.worker.leases.holds(sbx.id)?.ttlMs, 30_000, 'the lease length was read right despite the skew');

        await s.advance(10_000);
        await until(async () => (await s.leaseExpiry(sbx.id)) === s.cp.t.clock.now() + 30_000, 'the renewal');

        const lease = { resource_id: sbx.id, holder_id: s.worker.id, generation: sbx.lease_generation };
        const cpNow = s.cp.t.clock.now();
        const fresh = await rpc(s.worker.url, s.worker.rpcSecret, 'worker.renew_lease', { sandbox_id: sbx.id }, { ...lease, expires_at: new Date(cpNow + 10_000).toISOString() });
        assert.ok(fresh.body.result, `a lease with 10 s left is accepted: ${JSON.stringify(fresh.body)}`);
        const expired = await rpc(s.worker.url, s.worker.rpcSecret, 'worker.renew_lease', { sandbox_id: sbx.id }, { ...lease, expires_at: new Date(cpNow - 1_000).toISOString() });
        assert.equal(expired.body.error?.code, 'lease_lost', 'a lease that ended a second ago is refused');

        const gone = await s.cp.t.request('DELETE', `/api/v1/sandboxes/${sbx.id}`, { key: s.cp.t.keys.apiA });
        assert.equal(gone.status, 200);
        assert.equal(s.worker.runtimes.count(), 0, 'the destroy passed the lease check too');
      } finally {
        await s.close();
      }
    });
  });
}
