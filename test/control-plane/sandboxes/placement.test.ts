/** The pure placement decision: every filter, both strategies, best-of-K, and a property over random fleets. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { filterWorkers, fits, isSchedulable, matchesSelector, resolveProvider } from '../../../src/control-plane/placement/filter.js';
import { place } from '../../../src/control-plane/placement/place.js';
import { score, utilisationAfter } from '../../../src/control-plane/placement/score.js';
import type { PlacementRequest, PlacementSnapshot, WorkerView } from '../../../src/control-plane/placement/types.js';

const NOW = 1_900_000_000_000;

function worker(id: string, over: Partial<WorkerView> = {}): WorkerView {
  return {
    id,
    status: 'online',
    cordoned: false,
    providers: ['process'],
    labels: {},
    capacity: { cpuMilli: 4000, memoryMb: 4096, diskMb: 10_000, sandboxes: 4 },
    allocated: { cpuMilli: 0, memoryMb: 0, diskMb: 0, sandboxes: 0 },
    lastHeartbeatAt: NOW,
    ...over,
  };
}

const snap = (workers: WorkerView[], over: Partial<PlacementSnapshot> = {}): PlacementSnapshot => ({ workers, now: NOW, staleAfterMs: 15_000, ...over });
const req = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  provider: 'process',
  selector: {},
  need: { cpuMilli: 1000, memoryMb: 1024, diskMb: 1000 },
  strategy: 'binpack',
  sample: 1,
  ...over,
});
const first = () => 0;

describe('placement: filters', () => {
  it('no workers at all, or none schedulable → no_eligible_worker', () => {
    assert.deepEqual(place(snap([]), req(), first), { kind: 'rejected', reason: 'no_eligible_worker', eligible: 0 });
    const unschedulable = [
      worker('a', { status: 'draining' }),
      worker('b', { status: 'stale' }),
      worker('c', { status: 'lost' }),
      worker('d', { status: 'drained' }),
      worker('e', { cordoned: true }),
      worker('f', { lastHeartbeatAt: NOW - 15_001 }),
    ];
    assert.deepEqual(place(snap(unschedulable), req(), first), { kind: 'rejected', reason: 'no_eligible_worker', eligible: 0 });
  });

  it('freshness: silence counts from the later of the last heartbeat and the replica start', () => {
    const quiet = worker('a', { lastHeartbeatAt: NOW - 60_000 });
    assert.equal(isSchedulable(quiet, snap([quiet])), false);
    assert.equal(isSchedulable(quiet, snap([quiet], { notBefore: NOW - 10_000 })), true);
    assert.equal(isSchedulable(worker('b', { lastHeartbeatAt: NOW - 15_000 }), snap([])), true, 'exactly stale_after is still fresh');
  });

  it('provider: auto prefers bwrap, falls back to process, never picks mock', () => {
    assert.equal(resolveProvider(worker('a', { providers: ['process', 'bwrap'] }), 'auto'), 'bwrap');
    assert.equal(resolveProvider(worker('a', { providers: ['process'] }), 'auto'), 'process');
    assert.equal(resolveProvider(worker('a', { providers: ['mock'] }), 'auto'), undefined);
    assert.equal(resolveProvider(worker('a', { providers: ['mock'] }), 'mock'), 'mock');
    assert.equal(resolveProvider(worker('a', { providers: ['process'] }), 'bwrap'), undefined);
  });

  it('no worker offers the provider → provider_unsupported', () => {
    const d = place(snap([worker('a'), worker('b', { providers: ['mock'] })]), req({ provider: 'bwrap' }), first);
    assert.deepEqual(d, { kind: 'rejected', reason: 'provider_unsupported', eligible: 0 });
    assert.deepEqual(place(snap([worker('a', { providers: ['bwrap'] })]), req({ provider: 'auto' }), first), { kind: 'placed', workerId: 'a', provider: 'bwrap', eligible: 1 });
  });

  it('selector: every pair must equal the worker label → else selector_unmatched', () => {
    assert.equal(matchesSelector({ gpu: 'yes', zone: 'a' }, { gpu: 'yes' }), true);
    assert.equal(matchesSelector({ gpu: 'yes' }, { gpu: 'yes', zone: 'a' }), false);
    assert.equal(matchesSelector({}, {}), true);
    const fleet = [worker('a', { labels: { zone: 'a' } }), worker('b', { labels: { zone: 'b', gpu: 'yes' } })];
    assert.deepEqual(place(snap(fleet), req({ selector: { zone: 'c' } }), first), { kind: 'rejected', reason: 'selector_unmatched', eligible: 0 });
    assert.equal((place(snap(fleet), req({ selector: { gpu: 'yes' } }), first) as { workerId: string }).workerId, 'b');
  });

  it('capacity: each dimension, exact fit allowed → else insufficient_capacity with the eligible count', () => {
    const need = { cpuMilli: 1000, memoryMb: 1024, diskMb: 1000 };
    const full = { cpuMilli: 4000, memoryMb: 4096, diskMb: 10_000, sandboxes: 4 };
    assert.equal(fits(worker('a', { allocated: { cpuMilli: 3000, memoryMb: 3072, diskMb: 9000, sandboxes: 3 } }), need), true, 'exactly full after');
    for (const dim of ['cpuMilli', 'memoryMb', 'diskMb', 'sandboxes'] as const) {
      const allocated = { cpuMilli: 0, memoryMb: 0, diskMb: 0, sandboxes: 0, [dim]: full[dim] - (dim === 'sandboxes' ? 0 : need[dim] - 1) };
      assert.equal(fits(worker('a', { allocated }), need), false, dim);
    }
    const fleet = [worker('a', { allocated: { ...full } }), worker('b', { allocated: { ...full, sandboxes: 0 } })];
    assert.deepEqual(place(snap(fleet), req(), first), { kind: 'rejected', reason: 'insufficient_capacity', eligible: 2 });
  });

  it('filterWorkers reports the first stage that emptied the set', () => {
    const fleet = [worker('a', { providers: ['bwrap'], labels: { x: '1' } })];
    const reason = (r: ReturnType<typeof filterWorkers>) => (r.kind === 'none' ? r.reason : r.kind);
    assert.equal(reason(filterWorkers(snap(fleet), req({ provider: 'process', selector: { x: '2' } }))), 'provider_unsupported');
    assert.equal(reason(filterWorkers(snap(fleet), req({ provider: 'bwrap', selector: { x: '2' } }))), 'selector_unmatched');
    assert.equal(reason(filterWorkers(snap(fleet), req({ provider: 'bwrap', selector: { x: '1' } }))), 'ok');
  });
});

describe('placement: scoring and best-of-K', () => {
  const empty = worker('empty');
  const half = worker('half', { allocated: { cpuMilli: 2000, memoryMb: 2048, diskMb: 5000, sandboxes: 2 } });
  const most = worker('most', { allocated: { cpuMilli: 3000, memoryMb: 3072, diskMb: 9000, sandboxes: 3 } });

  it('utilisation is the mean fullness after placement; a zero-capacity dimension is skipped', () => {
    assert.equal(utilisationAfter(empty, { cpuMilli: 1000, memoryMb: 1024, diskMb: 2500 }), 0.25);
    const noDisk = worker('x', { capacity: { cpuMilli: 4000, memoryMb: 4096, diskMb: 0, sandboxes: 4 } });
    assert.equal(utilisationAfter(noDisk, { cpuMilli: 1000, memoryMb: 1024, diskMb: 0 }), 0.25);
    const nothing = worker('y', { capacity: { cpuMilli: 0, memoryMb: 0, diskMb: 0, sandboxes: 0 } });
    assert.equal(utilisationAfter(nothing, { cpuMilli: 0, memoryMb: 0, diskMb: 0 }), 1);
    assert.equal(score('spread', empty, { cpuMilli: 1000, memoryMb: 1024, diskMb: 2500 }), 0.75);
  });

  it('binpack takes the fullest that fits; spread the emptiest', () => {
    const fleet = [empty, half, most];
    assert.equal((place(snap(fleet), req({ strategy: 'binpack' }), first) as { workerId: string }).workerId, 'most');
    assert.equal((place(snap(fleet), req({ strategy: 'spread' }), first) as { workerId: string }).workerId, 'empty');
  });

  it('best-of-K chooses uniformly among the K best; K is clamped to the candidates', () => {
    const fleet = [empty, half, most];
    const pick = (sample: number, r: number) => (place(snap(fleet), req({ sample }), () => r) as { workerId: string }).workerId;
    assert.equal(pick(2, 0), 'most');
    assert.equal(pick(2, 0.99), 'half');
    assert.equal(pick(1, 0.99), 'most', 'K = 1 is strict best-fit');
    assert.equal(pick(10, 0.99), 'empty', 'K larger than the fleet means any candidate');
    const seen = new Set([0, 0.3, 0.6, 0.9].map((r) => pick(3, r)));
    assert.deepEqual([...seen].sort(), ['empty', 'half', 'most']);
  });

  it('ties are broken by worker id, so a decision is reproducible', () => {
    const fleet = [worker('c'), worker('a'), worker('b')];
    assert.equal((place(snap(fleet), req(), first) as { workerId: string }).workerId, 'a');
    assert.equal((place(snap(fleet), req({ sample: 2 }), () => 0.99) as { workerId: string }).workerId, 'b');
  });
});

describe('placement: properties over random fleets', () => {
  const arbWorker = fc.record({
    id: fc.string({ minLength: 1, maxLength: 4 }),
    status: fc.constantFrom('online', 'online', 'draining', 'stale', 'lost'),
    cordoned: fc.boolean(),
    providers: fc.subarray(['bwrap', 'process', 'mock']),
    labels: fc.dictionary(fc.constantFrom('zone', 'gpu'), fc.constantFrom('a', 'b')),
    cap: fc.record({ cpuMilli: fc.nat(8000), memoryMb: fc.nat(8192), diskMb: fc.nat(8192), sandboxes: fc.nat(8) }),
    used: fc.record({ cpuMilli: fc.nat(8000), memoryMb: fc.nat(8192), diskMb: fc.nat(8192), sandboxes: fc.nat(8) }),
    age: fc.nat(30_000),
  });

  it('a placed sandbox always fits a schedulable, matching worker; a rejection means no worker could take it', () => {
    fc.assert(
      fc.property(
        fc.array(arbWorker, { maxLength: 12 }),
        fc.record({ cpuMilli: fc.nat(4000), memoryMb: fc.nat(4096), diskMb: fc.nat(4096) }),
        fc.constantFrom('auto', 'process', 'bwrap', 'mock'),
        fc.dictionary(fc.constantFrom('zone', 'gpu'), fc.constantFrom('a', 'b'), { maxKeys: 1 }),
        fc.constantFrom<'binpack' | 'spread'>('binpack', 'spread'),
        fc.integer({ min: 1, max: 4 }),
        fc.double({ min: 0, max: 0.999, noNaN: true }),
        (raw, need, provider, selector, strategy, sample, r) => {
          const workers = raw.map((w) => worker(w.id, { status: w.status as WorkerView['status'], cordoned: w.cordoned, providers: w.providers, labels: w.labels, capacity: w.cap, allocated: w.used, lastHeartbeatAt: NOW - w.age }));
          const s = snap(workers);
          const d = place(s, { provider, selector, need, strategy, sample }, () => r);
          const ok = (w: WorkerView) => isSchedulable(w, s) && resolveProvider(w, provider) !== undefined && matchesSelector(w.labels, selector) && fits(w, need);
          if (d.kind === 'placed') {
            const chosen = workers.filter((w) => w.id === d.workerId);
            assert.ok(chosen.some(ok), `chose ${d.workerId}, which cannot take it`);
            assert.ok(d.eligible >= 1);
          } else {
            assert.equal(workers.some(ok), false, `rejected (${d.reason}) though a worker fits`);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});
