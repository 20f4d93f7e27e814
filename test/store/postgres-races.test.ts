/**
 * Real races on PostgreSQL: each racer is a separate store with its own connection pool, so the
 * database — not a JavaScript event loop — decides who wins. All racers share one clock offset, the
 * way replicas share the database's clock.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import { systemClock } from '../../src/domain/clock.js';
import { LeaseConflict } from '../../src/domain/errors.js';
import { openPostgres } from '../../src/store/postgres/driver.js';
import { createStore, type Store } from '../../src/store/store.js';
import { createTestDatabase, describePostgres, type TestDatabase } from '../support/postgres.js';
import { heartbeat, newSandbox, newTask, tenant } from './contract/helpers.js';

await describePostgres('PostgreSQL races', () => {
  let db: TestDatabase;
  const clockOffset = { ms: 0 };
  let racers: Store[] = [];

  const open = (n: number) => {
    const stores = Array.from({ length: n }, () => createStore(openPostgres({ dsn: db.url, poolSize: 1, clockOffset }), systemClock));
    racers.push(...stores);
    return stores;
  };

  before(async () => {
    db = await createTestDatabase();
    const [setup] = open(1);
    await setup!.migrate();
  });
  after(async () => {
    await Promise.all(racers.map((s) => s.close()));
    racers = [];
    await db.drop();
  });

  it('16 connections acquiring one lease: exactly one winner', async () => {
    const stores = open(16);
    const results = await Promise.allSettled(stores.map((s, i) => s.leases.acquireLease({ type: 'sandbox', id: 'race-1' }, `holder-${i}`, 30_000)));
    const won = results.filter((r) => r.status === 'fulfilled');
    const lost = results.filter((r) => r.status === 'rejected');
    assert.equal(won.length, 1);
    assert.equal(lost.length, 15);
    for (const r of lost) assert.ok((r as PromiseRejectedResult).reason instanceof LeaseConflict);
    assert.equal((won[0] as PromiseFulfilledResult<{ generation: number }>).value.generation, 1);
  });

  it('16 connections taking over one expired lease: exactly one winner, generation + 1', async () => {
    const stores = open(16);
    const first = await stores[0]!.leases.acquireLease({ type: 'sandbox', id: 'race-2' }, 'original', 1_000);
    clockOffset.ms += 1_001;
    const results = await Promise.allSettled(stores.map((s, i) => s.leases.acquireLease({ type: 'sandbox', id: 'race-2' }, `taker-${i}`, 30_000)));
    const won = results.filter((r): r is PromiseFulfilledResult<Awaited<ReturnType<Store['leases']['acquireLease']>>> => r.status === 'fulfilled');
    assert.equal(won.length, 1);
    assert.equal(won[0]!.value.generation, first.generation + 1);
    const lease = await stores[0]!.leases.getLease({ type: 'sandbox', id: 'race-2' });
    assert.equal(lease?.holderId, won[0]!.value.holderId);
  });

  it('32 concurrent task claimers: every task leased exactly once, never two live leases on one task', async () => {
    const stores = open(32);
    const t = await tenant(stores[0]!);
    const total = 400;
    for (let i = 0; i < total; i++) await stores[0]!.tasks.submitTask(newTask(t, { kind: 'race' }));
    const claimedBy = new Map<string, string[]>();
    await Promise.all(
      stores.map(async (s, i) => {
        for (;;) {
          const got = await s.tasks.claimTasks({ workerId: `w-${i}`, kinds: ['race'], codeVersion: null, max: 5, leaseTtlMs: 30_000 });
          if (got.length === 0) return;
          for (const c of got) claimedBy.set(c.task.id, [...(claimedBy.get(c.task.id) ?? []), `w-${i}`]);
        }
      }),
    );
    assert.equal(claimedBy.size, total);
    for (const [taskId, holders] of claimedBy) assert.equal(holders.length, 1, `${taskId} claimed by ${holders.join(', ')}`);
    const live = await stores[0]!.leases.listLeases({ resourceType: 'task', expired: false }, { limit: 1000 });
    assert.equal(live.items.length, total);
    assert.equal(new Set(live.items.map((l) => l.resourceId)).size, total);
  });

  it('16 replicas placing onto one worker never over-commit it', async () => {
    const stores = open(16);
    const t = await tenant(stores[0]!);
    await stores[0]!.workers.recordHeartbeat(heartbeat('w-race', { capacity: { cpuMilli: 5000, memoryMb: 1_000_000, diskMb: 1_000_000, sandboxes: 100 } }));
    const sandboxes = await Promise.all(stores.map(() => stores[0]!.sandboxes.createSandbox(newSandbox(t))));
    const results = await Promise.all(stores.map((s, i) => s.sandboxes.commitPlacement(sandboxes[i]!.id, 'w-race', 'process', 30_000)));
    assert.equal(results.filter((r) => r.kind === 'placed').length, 5);
    assert.ok(results.filter((r) => r.kind === 'conflict').every((r) => r.kind === 'conflict' && r.reason === 'insufficient_capacity'));
    const w = await stores[0]!.workers.getWorker('w-race');
    assert.equal(w?.allocated.cpuMilli, 5000);
    assert.equal(w?.allocated.sandboxes, 5);
  });
});
