/**
 * The task worker's lease loop under manual time, with the control plane unreachable (a fetch that
 * always fails, as the network would): it backs off with jitter instead of spinning, and stop() ends it
 * at once. Plus the option checks that fail at construction.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/domain/clock.js';
import { createTaskWorker, type TaskWorkerOptions } from '../../../src/sdk/task-worker/index.js';
import { ManualTimers, settle } from './support/manual-timers.js';

const base: TaskWorkerOptions = { url: 'http://127.0.0.1:9', workerId: 'w-1', token: 't', concurrency: 1, handlers: { k: async () => null } };

describe('task worker: lease loop', () => {
  it('backs off exponentially (with jitter) while the control plane is unreachable, and stop() ends it', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    const attempts: number[] = [];
    const worker = createTaskWorker({
      ...base,
      clock,
      timers,
      random: () => 0.5,
      fetch: async () => {
        attempts.push(clock.now() - T0);
        throw new TypeError('fetch failed');
      },
    });
    const T0 = clock.now();
    const delays: number[] = [];
    worker.on('lease.error', (e) => delays.push(e.retryInMs));
    await worker.start();
    await settle();
    await timers.advance(20_000);
    // 0.5 → three quarters of each ceiling: 375, 750, 1500, 3000, 6000, 12000 …
    assert.deepEqual(delays.slice(0, 6), [375, 750, 1_500, 3_000, 6_000, 12_000]);
    assert.deepEqual(attempts.slice(0, 6), [0, 375, 1_125, 2_625, 5_625, 11_625]);
    assert.equal(attempts.length, 6, 'no request outside the backoff schedule');
    await worker.stop();
    await timers.advance(120_000);
    assert.equal(attempts.length, 6, 'nothing after stop');
    assert.equal(timers.armed, 0, 'no timer left behind');
  });

  it('a listener that throws does not break the loop', async () => {
    const clock = new ManualClock();
    const timers = new ManualTimers(clock);
    let calls = 0;
    const worker = createTaskWorker({ ...base, clock, timers, random: () => 0, fetch: async () => (calls++, Promise.reject(new TypeError('fetch failed'))) });
    worker.on('lease.error', () => {
      throw new Error('listener bug');
    });
    await worker.start();
    await timers.advance(1_000);
    assert.ok(calls >= 3, `kept leasing (${calls})`);
    await worker.stop();
  });

  it('refuses bad options at construction', () => {
    const bad: Array<[Partial<TaskWorkerOptions>, RegExp]> = [
      [{ concurrency: 0 }, /concurrency/],
      [{ concurrency: 1.5 }, /concurrency/],
      [{ handlers: {} }, /at least one task kind/],
      [{ handlers: { 'no spaces': async () => null } }, /not a valid task kind/],
      [{ handlers: { ok: 'nope' as never } }, /not a function/],
      [{ token: '' }, /token/],
    ];
    for (const [patch, message] of bad) assert.throws(() => createTaskWorker({ ...base, ...patch }), message);
  });

  it('start twice is an error; stop before start is a no-op', async () => {
    const w = createTaskWorker({ ...base, fetch: async () => Promise.reject(new TypeError('x')), timers: new ManualTimers(new ManualClock()) });
    await w.stop();
    await assert.rejects(w.start(), /cannot start: it is stopped/);
  });
});
