/** The heartbeat decisions, as a pure function of (state, now): no timers, no clock, no HTTP. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  DEFAULT_HEARTBEAT_BOUNDS,
  FIRST_RETRY_MS,
  initialHeartbeatState,
  intervalFor,
  markAcked,
  markFailed,
  markFinishing,
  markRefused,
  markSent,
  MIN_REQUEST_TIMEOUT_MS,
  planHeartbeat,
  retryDelayMs,
  withProgress,
  type HeartbeatState,
} from '../../../src/sdk/task-worker/heartbeat-plan.js';

const T0 = 1_000_000;
const TTL = 30_000;
/** A fresh lease of TTL granted at T0. */
const fresh = (): HeartbeatState => initialHeartbeatState(T0 + TTL, T0);

describe('heartbeat plan: interval', () => {
  it('is a third of the lease the server granted, bounded', () => {
    assert.equal(intervalFor(T0 + 30_000, T0), 10_000);
    assert.equal(intervalFor(T0 + 1_500, T0), 500);
    assert.equal(intervalFor(T0 + 600_000, T0), DEFAULT_HEARTBEAT_BOUNDS.maxIntervalMs, 'a long lease still heartbeats often enough to hear a cancel');
    assert.equal(intervalFor(T0 + 30, T0), DEFAULT_HEARTBEAT_BOUNDS.minIntervalMs, 'a nearly expired lease never makes a tight loop');
    assert.equal(intervalFor(T0 - 5_000, T0), DEFAULT_HEARTBEAT_BOUNDS.minIntervalMs);
    assert.equal(intervalFor(T0 + 30_000, T0, { minIntervalMs: 10, maxIntervalMs: 2_000 }), 2_000);
  });

  it('follows the lease each reply grants (the server owns timing)', () => {
    let s = markSent(fresh(), T0 + 10_000);
    s = markAcked(s, T0 + 10_100 + 3_000, T0 + 10_100);
    assert.equal(s.intervalMs, 1_000, 'the server shortened the lease: heartbeat faster');
    assert.deepEqual(planHeartbeat(s, T0 + 10_500), { action: 'sleep', at: T0 + 11_000 });
  });
});

describe('heartbeat plan: when to send', () => {
  it('sleeps until a third of the lease has passed, then sends', () => {
    assert.deepEqual(planHeartbeat(fresh(), T0), { action: 'sleep', at: T0 + 10_000 });
    assert.deepEqual(planHeartbeat(fresh(), T0 + 9_999), { action: 'sleep', at: T0 + 10_000 });
    assert.deepEqual(planHeartbeat(fresh(), T0 + 10_000), { action: 'send', timeoutMs: 10_000 });
  });

  it('a send carries the newest progress; a newer value replaces an unsent one', () => {
    let s = withProgress(fresh(), { pct: 10 });
    s = withProgress(s, { pct: 20 });
    assert.deepEqual(planHeartbeat(s, T0 + 10_000), { action: 'send', progress: { value: { pct: 20 } }, timeoutMs: 10_000 });
  });

  it('progress alone never triggers a send (no flood from a chatty handler)', () => {
    let s = fresh();
    for (let i = 0; i < 1000; i++) s = withProgress(s, i);
    assert.deepEqual(planHeartbeat(s, T0 + 1), { action: 'sleep', at: T0 + 10_000 });
  });

  it('progress of undefined or null is still progress to carry', () => {
    const s = withProgress(fresh(), null);
    assert.deepEqual(planHeartbeat(s, T0 + 10_000), { action: 'send', progress: { value: null }, timeoutMs: 10_000 });
  });

  it('at most one in flight: while a request is out it only watches the lease expiry', () => {
    const s = markSent(fresh(), T0 + 10_000);
    assert.deepEqual(planHeartbeat(s, T0 + 10_001), { action: 'sleep', at: T0 + TTL });
    assert.deepEqual(planHeartbeat(s, T0 + 29_999), { action: 'sleep', at: T0 + TTL });
  });

  it('a hung request is abandoned after the interval, but never sooner than the floor', () => {
    assert.equal((planHeartbeat(fresh(), T0 + 10_000) as { timeoutMs: number }).timeoutMs, 10_000);
    const short = initialHeartbeatState(T0 + 300, T0);
    assert.equal((planHeartbeat(short, T0 + 100) as { timeoutMs: number }).timeoutMs, MIN_REQUEST_TIMEOUT_MS);
  });
});

describe('heartbeat plan: replies', () => {
  it('an ack extends the lease and clears only the progress that was sent', () => {
    let s = withProgress(fresh(), 'a');
    s = markSent(s, T0 + 10_000);
    s = withProgress(s, 'b'); // arrives while 'a' is in flight
    s = markAcked(s, T0 + 40_050, T0 + 10_050);
    assert.equal(s.inFlight, false);
    assert.equal(s.leaseExpiresAt, T0 + 40_050);
    assert.deepEqual(s.pending?.value, 'b', "'b' was not delivered yet");
    assert.deepEqual(planHeartbeat(s, T0 + 20_000), { action: 'send', progress: { value: 'b' }, timeoutMs: 10_000 });

    s = markAcked(markSent(s, T0 + 20_000), T0 + 50_000, T0 + 20_000);
    assert.equal(s.pending, null, "'b' was delivered");
  });

  it('a failure keeps the lease and the progress, and retries sooner with doubling backoff', () => {
    let s = withProgress(fresh(), 'p');
    s = markFailed(markSent(s, T0 + 10_000));
    assert.equal(s.failures, 1);
    assert.deepEqual(s.pending?.value, 'p');
    assert.deepEqual(planHeartbeat(s, T0 + 10_000), { action: 'sleep', at: T0 + 10_000 + FIRST_RETRY_MS });
    assert.equal(planHeartbeat(s, T0 + 10_000 + FIRST_RETRY_MS).action, 'send');
    s = markFailed(markSent(s, T0 + 10_200));
    assert.deepEqual(planHeartbeat(s, T0 + 10_200), { action: 'sleep', at: T0 + 10_200 + 2 * FIRST_RETRY_MS });
    s = markAcked(markSent(s, T0 + 10_600), T0 + 40_600, T0 + 10_600);
    assert.equal(s.failures, 0, 'a success resets the backoff');
    assert.deepEqual(planHeartbeat(s, T0 + 10_600), { action: 'sleep', at: T0 + 20_600 });
  });

  it('a refused request drops the progress it carried (it would be refused again), but not a newer value', () => {
    let s = markRefused(markSent(withProgress(fresh(), 'x'.repeat(10)), T0 + 10_000));
    assert.equal(s.pending, null);
    assert.equal(s.failures, 1);
    assert.deepEqual(s.leaseExpiresAt, T0 + TTL);
    s = markSent(withProgress(s, 'a'), T0 + 10_200);
    s = withProgress(s, 'b');
    s = markRefused(s);
    assert.deepEqual(s.pending?.value, 'b');
  });

  it('retry delays double but never exceed the interval', () => {
    assert.deepEqual([1, 2, 3, 4, 5, 6, 7].map((f) => retryDelayMs(f, 10_000)), [200, 400, 800, 1_600, 3_200, 6_400, 10_000]);
    assert.equal(retryDelayMs(1_000, 500), 500);
  });

  it('never sleeps past the lease expiry', () => {
    // The last success left a lease that ends before the next retry would be due.
    let s = initialHeartbeatState(T0 + 1_000, T0, { minIntervalMs: 50, maxIntervalMs: 5_000 });
    s = { ...s, intervalMs: 5_000 };
    assert.deepEqual(planHeartbeat(s, T0 + 100), { action: 'sleep', at: T0 + 1_000 });
  });
});

describe('heartbeat plan: lease loss', () => {
  it('is declared once the expiry passes without a successful heartbeat', () => {
    let s = fresh();
    for (let t = T0 + 10_000; t < T0 + TTL; t += 1_000) s = markFailed(markSent(s, t));
    assert.notEqual(planHeartbeat(s, T0 + TTL - 1).action, 'lease_lost');
    assert.deepEqual(planHeartbeat(s, T0 + TTL), { action: 'lease_lost' });
  });

  it('is declared even with a request still in flight (by then the lease may be someone else’s)', () => {
    const s = markSent(fresh(), T0 + 25_000);
    assert.deepEqual(planHeartbeat(s, T0 + TTL), { action: 'lease_lost' });
  });

  it('is declared while finishing too: the result must then be discarded', () => {
    const s = markFinishing(withProgress(fresh(), 1));
    assert.deepEqual(planHeartbeat(s, T0 + TTL + 1), { action: 'lease_lost' });
  });
});

describe('heartbeat plan: the final heartbeat', () => {
  it('sends the last unsent progress at once, then is done', () => {
    let s = markFinishing(withProgress(fresh(), { pct: 100 }));
    assert.deepEqual(planHeartbeat(s, T0 + 1), { action: 'send', progress: { value: { pct: 100 } }, timeoutMs: 10_000 });
    s = markAcked(markSent(s, T0 + 1), T0 + 30_001, T0 + 2);
    assert.deepEqual(planHeartbeat(s, T0 + 2), { action: 'done' });
  });

  it('with nothing unsent there is no final request', () => {
    assert.deepEqual(planHeartbeat(markFinishing(fresh()), T0 + 1), { action: 'done' });
  });

  it('waits for a heartbeat in flight, then sends what arrived meanwhile', () => {
    let s = markSent(withProgress(fresh(), 1), T0 + 10_000);
    s = markFinishing(withProgress(s, 2));
    assert.equal(planHeartbeat(s, T0 + 10_001).action, 'sleep');
    s = markAcked(s, T0 + 40_010, T0 + 10_010);
    assert.deepEqual(planHeartbeat(s, T0 + 10_010), { action: 'send', progress: { value: 2 }, timeoutMs: 10_000 });
  });

  it('is tried once: a failed final heartbeat gives up its progress so the report is not held up', () => {
    let s = markFinishing(withProgress(fresh(), 'last'));
    s = markFailed(markSent(s, T0 + 1));
    assert.deepEqual(planHeartbeat(s, T0 + 2), { action: 'done' });
  });
});
