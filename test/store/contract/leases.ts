import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { LeaseConflict, LeaseLost, NotFound } from '../../../src/domain/errors.js';
import type { OpenedStore, StoreFixture } from '../fixtures.js';

export function leaseContract(fixture: StoreFixture): void {
  describe(`leases [${fixture.name}]`, () => {
    let s: OpenedStore;
    before(async () => (s = await fixture.open()));
    after(() => s.close());
    let n = 0;
    const ref = () => ({ type: 'sandbox', id: `res-${++n}` });

    it('first acquire gets generation 1 and expires ttl after acquisition', async () => {
      const lease = await s.store.leases.acquireLease(ref(), 'w1', 10_000);
      assert.equal(lease.generation, 1);
      assert.equal(lease.holderId, 'w1');
      // PostgreSQL reads clock_timestamp() once per use, so the two may straddle a millisecond.
      assert.ok(Math.abs(lease.expiresAt - lease.acquiredAt - 10_000) <= 1);
      assert.equal(typeof lease.expiresAt, 'number');
    });

    it('the holder re-acquiring an unexpired lease keeps its generation', async () => {
      const r = ref();
      const a = await s.store.leases.acquireLease(r, 'w1', 10_000);
      const b = await s.store.leases.acquireLease(r, 'w1', 10_000);
      assert.equal(b.generation, a.generation);
      assert.equal(b.acquiredAt, a.acquiredAt);
    });

    it('another holder gets LeaseConflict while the lease is live', async () => {
      const r = ref();
      await s.store.leases.acquireLease(r, 'w1', 10_000);
      await assert.rejects(s.store.leases.acquireLease(r, 'w2', 10_000), LeaseConflict);
      const current = await s.store.leases.getLease(r);
      assert.equal(current?.holderId, 'w1');
      assert.equal(current?.generation, 1);
    });

    it('a takeover after expiry (judged by the store clock) increments the generation', async () => {
      const r = ref();
      await s.store.leases.acquireLease(r, 'w1', 1_000);
      s.advance(1_001);
      const b = await s.store.leases.acquireLease(r, 'w2', 1_000);
      assert.equal(b.generation, 2);
      assert.equal(b.holderId, 'w2');
    });

    it('the same holder re-acquiring after its own lease expired is a takeover too', async () => {
      const r = ref();
      await s.store.leases.acquireLease(r, 'w1', 1_000);
      s.advance(1_001);
      const b = await s.store.leases.acquireLease(r, 'w1', 1_000);
      assert.equal(b.generation, 2);
    });

    it('renew extends without changing the generation, only for the holder at its generation', async () => {
      const r = ref();
      const a = await s.store.leases.acquireLease(r, 'w1', 1_000);
      s.advance(500);
      const b = await s.store.leases.renewLease(r, 'w1', a.generation, 1_000);
      assert.equal(b.generation, a.generation);
      assert.ok(b.expiresAt > a.expiresAt);
      await assert.rejects(s.store.leases.renewLease(r, 'w2', a.generation, 1_000), LeaseLost);
      await assert.rejects(s.store.leases.renewLease(r, 'w1', a.generation + 1, 1_000), LeaseLost);
      await assert.rejects(s.store.leases.renewLease({ type: 'sandbox', id: 'never' }, 'w1', 1, 1_000), LeaseLost);
    });

    it('renew after expiry is LeaseLost, even for the holder', async () => {
      const r = ref();
      const a = await s.store.leases.acquireLease(r, 'w1', 1_000);
      s.advance(1_001);
      await assert.rejects(s.store.leases.renewLease(r, 'w1', a.generation, 1_000), LeaseLost);
    });

    it('release only by the holder; the next acquire continues the generation sequence', async () => {
      const r = ref();
      const a = await s.store.leases.acquireLease(r, 'w1', 10_000);
      await assert.rejects(s.store.leases.releaseLease(r, 'w2', a.generation), LeaseLost);
      await assert.rejects(s.store.leases.releaseLease(r, 'w1', a.generation + 1), LeaseLost);
      await s.store.leases.releaseLease(r, 'w1', a.generation);
      await assert.rejects(s.store.leases.releaseLease(r, 'w1', a.generation), LeaseLost);
      const b = await s.store.leases.acquireLease(r, 'w2', 10_000);
      assert.equal(b.generation, a.generation + 1);
      await assert.rejects(s.store.leases.releaseLease({ type: 'sandbox', id: 'never' }, 'w1', 1), NotFound);
    });

    it('the fence check passes only for the live holder at its generation', async () => {
      const r = ref();
      const a = await s.store.leases.acquireLease(r, 'w1', 1_000);
      assert.equal((await s.store.leases.checkFence(r, 'w1', a.generation)).generation, a.generation);
      await assert.rejects(s.store.leases.checkFence(r, 'w1', a.generation - 1), LeaseLost);
      await assert.rejects(s.store.leases.checkFence(r, 'w2', a.generation), LeaseLost);
      s.advance(1_001);
      await assert.rejects(s.store.leases.checkFence(r, 'w1', a.generation), LeaseLost);
    });

    it('lists with filters and pages; expires all of a holder', async () => {
      const holder = `h-${n}`;
      for (let i = 0; i < 5; i++) await s.store.leases.acquireLease({ type: 'task', id: `l-${n}-${i}` }, holder, 10_000);
      const first = await s.store.leases.listLeases({ holderId: holder }, { limit: 2 });
      assert.equal(first.items.length, 2);
      assert.ok(first.nextCursor);
      const rest = await s.store.leases.listLeases({ holderId: holder }, { limit: 10, cursor: first.nextCursor! });
      assert.equal(rest.items.length, 3);
      assert.equal(rest.nextCursor, null);
      assert.equal(new Set([...first.items, ...rest.items].map((l) => l.resourceId)).size, 5);
      assert.equal(await s.store.leases.countLiveLeases(holder), 5);
      const expired = await s.store.leases.expireLeasesHeldBy(holder);
      assert.equal(expired.length, 5);
      assert.equal(await s.store.leases.countLiveLeases(holder), 0);
      assert.equal((await s.store.leases.listLeases({ holderId: holder, expired: true }, { limit: 10 })).items.length, 5);
      assert.equal((await s.store.leases.listLeases({ holderId: holder, expired: false }, { limit: 10 })).items.length, 0);
    });
  });
}
