import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { WorkerStatus } from '../../../src/domain/states/worker.js';
import { decideLiveness, initialGuardState, type LivenessSettings, type LivenessWorker } from '../../../src/control-plane/services/liveness.js';

const S: LivenessSettings = { staleAfterMs: 15_000, lostAfterMs: 30_000, maxLostFraction: 0.5, massLossMinWorkers: 3, massLossMaxHoldMs: 300_000 };
const T0 = 1_000_000;

function w(id: string, silentMs: number, over: Partial<LivenessWorker> = {}): LivenessWorker {
  return { id, status: 'online', lastHeartbeatAt: T0 - silentMs, drainDeadlineAt: null, liveLeases: 0, ...over };
}
const ids = (xs: { id: string }[]) => xs.map((x) => x.id).sort();
/** A control plane that started long ago: silence is measured from the heartbeat. */
const OLD_START = 0;

describe('decideLiveness', () => {
  it('a worker heard from within stale_after is left alone; exactly stale_after is not yet stale', () => {
    const d = decideLiveness([w('a', 0), w('b', 15_000)], T0, OLD_START, S, initialGuardState);
    assert.deepEqual(d.toStale, []);
    assert.deepEqual(d.toLost, []);
    assert.equal(d.held, false);
  });

  it('silent past stale_after → stale, carrying the status and heartbeat the decision saw', () => {
    const d = decideLiveness([w('a', 15_001), w('b', 20_000, { status: 'draining', liveLeases: 2 }), w('c', 16_000, { status: 'drained' })], T0, OLD_START, S, initialGuardState);
    assert.deepEqual(d.toStale, [
      { id: 'a', from: 'online', observedHeartbeatAt: T0 - 15_001 },
      { id: 'b', from: 'draining', observedHeartbeatAt: T0 - 20_000 },
      { id: 'c', from: 'drained', observedHeartbeatAt: T0 - 16_000 },
    ]);
    assert.deepEqual(d.toLost, []);
  });

  it('an already stale worker is not marked stale again, and goes lost past lost_after', () => {
    const d = decideLiveness([w('a', 20_000, { status: 'stale' }), w('b', 30_001, { status: 'stale' })], T0, OLD_START, S, initialGuardState);
    assert.deepEqual(d.toStale, []);
    assert.deepEqual(d.toLost, [{ id: 'b', from: 'stale', observedHeartbeatAt: T0 - 30_001 }]);
  });

  it('an online worker past lost_after goes stale and lost in the same sweep', () => {
    const d = decideLiveness([w('a', 60_000)], T0, OLD_START, S, initialGuardState);
    assert.deepEqual(ids(d.toStale), ['a']);
    assert.deepEqual(d.toLost, [{ id: 'a', from: 'online', observedHeartbeatAt: T0 - 60_000 }]);
  });

  it('lost workers are ignored (and not counted in the fleet)', () => {
    const d = decideLiveness([w('a', 999_999, { status: 'lost' })], T0, OLD_START, S, initialGuardState);
    assert.deepEqual(d.toStale, []);
    assert.deepEqual(d.toLost, []);
  });

  it('silence is measured from the control plane start when that is later: a restart evicts nobody', () => {
    const startedAt = T0 - 10_000;
    const d = decideLiveness([w('a', 120_000), w('b', 120_000, { status: 'stale' })], T0, startedAt, S, initialGuardState);
    assert.deepEqual(d.toStale, []);
    assert.deepEqual(d.toLost, []);
    const later = decideLiveness([w('a', 120_000)], T0 + 5_001, startedAt, S, initialGuardState);
    assert.deepEqual(ids(later.toStale), ['a']);
    assert.deepEqual(later.toLost, []);
  });

  describe('mass-failure guard', () => {
    /** `silent` workers quiet for 31 s and `healthy` ones heard from just now, as seen at `at`. */
    const fleet = (silent: number, healthy: number, at = T0): LivenessWorker[] => [
      ...Array.from({ length: silent }, (_, i) => w(`s${i}`, 31_000 + T0 - at)),
      ...Array.from({ length: healthy }, (_, i) => w(`h${i}`, T0 - at)),
    ];

    it('holds when more than the fraction and at least the minimum would be lost', () => {
      const d = decideLiveness(fleet(3, 2), T0, OLD_START, S, initialGuardState);
      assert.equal(d.held, true);
      assert.deepEqual(d.toLost, []);
      assert.deepEqual(ids(d.suspected), ['s0', 's1', 's2']);
      assert.deepEqual(d.guardState, { holdingSince: T0 });
      assert.equal(d.toStale.length, 3, 'stale is harmless and still applied');
    });

    it('does not hold at exactly the fraction', () => {
      const d = decideLiveness(fleet(3, 3), T0, OLD_START, S, initialGuardState);
      assert.equal(d.held, false);
      assert.deepEqual(ids(d.toLost), ['s0', 's1', 's2']);
      assert.deepEqual(d.guardState, { holdingSince: null });
    });

    it('small fleets are judged normally: one or two lost workers, even all of them', () => {
      for (const [silent, healthy] of [[1, 0], [2, 0], [2, 1]] as const) {
        const d = decideLiveness(fleet(silent, healthy), T0, OLD_START, S, initialGuardState);
        assert.equal(d.held, false, `${silent} of ${silent + healthy}`);
        assert.equal(d.toLost.length, silent);
      }
    });

    it('keeps its start time while holding, and gives up after the max hold', () => {
      const first = decideLiveness(fleet(4, 1), T0, OLD_START, S, initialGuardState);
      const still = decideLiveness(fleet(4, 1, T0 + 299_999), T0 + 299_999, OLD_START, S, first.guardState);
      assert.equal(still.held, true);
      assert.deepEqual(still.guardState, { holdingSince: T0 });
      const giveUp = decideLiveness(fleet(4, 1, T0 + 300_000), T0 + 300_000, OLD_START, S, still.guardState);
      assert.equal(giveUp.held, false);
      assert.equal(giveUp.toLost.length, 4);
      assert.deepEqual(giveUp.guardState, { holdingSince: null });
    });

    it('a sweep that does not hold resets the hold', () => {
      const held = decideLiveness(fleet(3, 1), T0, OLD_START, S, initialGuardState);
      const calm = decideLiveness(fleet(0, 4, T0 + 1_000), T0 + 1_000, OLD_START, S, held.guardState);
      assert.deepEqual(calm.guardState, { holdingSince: null });
      const again = decideLiveness(fleet(3, 1, T0 + 400_000), T0 + 400_000, OLD_START, S, calm.guardState);
      assert.equal(again.held, true, 'a new hold starts its own window');
    });

    it('already lost workers do not count in the fleet', () => {
      // 3 of 5 live workers is suspicious; had the 2 lost ones counted, 3 of 7 would not be.
      const workers = [...fleet(3, 2), w('x', 99_999, { status: 'lost' }), w('y', 99_999, { status: 'lost' })];
      assert.equal(decideLiveness(workers, T0, OLD_START, S, initialGuardState).held, true);
    });
  });

  describe('drains', () => {
    it('a draining worker with no live lease is drained; one with leases is not', () => {
      const d = decideLiveness([w('a', 0, { status: 'draining' }), w('b', 0, { status: 'draining', liveLeases: 1 }), w('c', 0, { liveLeases: 0 })], T0, OLD_START, S, initialGuardState);
      assert.deepEqual(d.toDrained, [{ id: 'a', from: 'draining', observedHeartbeatAt: T0 }]);
      assert.deepEqual(d.drainDeadlinePassed, []);
    });

    it('the deadline passes for a draining worker still holding leases, at the deadline exactly', () => {
      const d = decideLiveness(
        [
          w('due', 0, { status: 'draining', liveLeases: 1, drainDeadlineAt: T0 }),
          w('later', 0, { status: 'draining', liveLeases: 1, drainDeadlineAt: T0 + 1 }),
          w('none', 0, { status: 'draining', liveLeases: 1, drainDeadlineAt: null }),
        ],
        T0,
        OLD_START,
        S,
        initialGuardState,
      );
      assert.deepEqual(d.drainDeadlinePassed, ['due']);
      assert.deepEqual(d.toDrained, []);
    });

    it('a passed deadline is listed even with no lease left (a lapsed lease leaves its sandbox behind)', () => {
      const d = decideLiveness([w('a', 0, { status: 'draining', liveLeases: 0, drainDeadlineAt: T0 - 1 })], T0, OLD_START, S, initialGuardState);
      assert.deepEqual(d.drainDeadlinePassed, ['a']);
      assert.deepEqual(ids(d.toDrained), ['a']);
    });

    it('a silent draining worker is not judged for its drain: it is going stale', () => {
      const d = decideLiveness([w('a', 16_000, { status: 'draining', drainDeadlineAt: T0 - 1, liveLeases: 1 }), w('b', 16_000, { status: 'draining' })], T0, OLD_START, S, initialGuardState);
      assert.deepEqual(ids(d.toStale), ['a', 'b']);
      assert.deepEqual(d.toDrained, []);
      assert.deepEqual(d.drainDeadlinePassed, []);
    });

    it('other statuses are never drained', () => {
      const statuses: WorkerStatus[] = ['online', 'drained', 'stale', 'lost'];
      const d = decideLiveness(statuses.map((status) => w(status, 0, { status, drainDeadlineAt: T0 - 1 })), T0, OLD_START, S, initialGuardState);
      assert.deepEqual(d.toDrained, []);
      assert.deepEqual(d.drainDeadlinePassed, []);
    });
  });
});
