/** What wakes a waiting lease: matching announcements at once, delayed ones on a timer, others never. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Timer } from '../../../src/control-plane/loops/runner.js';
import { announcesReady, watchReadyTasks } from '../../../src/control-plane/services/tasks/notifier.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';

/** Timers that fire only when the test says so. */
function manualTimer() {
  const armed = new Map<number, { fn: () => void; ms: number }>();
  let next = 0;
  const timer: Timer = {
    setTimeout: (fn, ms) => {
      armed.set(++next, { fn, ms });
      return next;
    },
    clearTimeout: (h) => void armed.delete(h as number),
  };
  const fire = (ms: number) => {
    for (const [h, t] of armed) if (t.ms === ms) {
      armed.delete(h);
      t.fn();
    }
  };
  return { timer, armed, fire };
}

const settled = async (p: Promise<unknown>) => {
  let done = false;
  void p.then(() => (done = true));
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  return done;
};

describe('tasks: ready notifier', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  const announce = (type: string, data: Record<string, unknown>) => t.cp.events.emit({ type, tenantId: 'tenant-a', resourceType: 'task', resourceId: 'tsk_x', data });

  it('announcesReady matches kind and pinned version, and reports the delay', () => {
    const m = { kinds: ['a', 'b'], codeVersion: 'v1' };
    assert.deepEqual(announcesReady({ type: 'task.submitted', data: { kind: 'a', code_version: null } }, m), { delayMs: 0 });
    assert.deepEqual(announcesReady({ type: 'task.requeued', data: { kind: 'b', code_version: 'v1', delay_ms: 250 } }, m), { delayMs: 250 });
    assert.deepEqual(announcesReady({ type: 'task.returned', data: { kind: 'a' } }, m), { delayMs: 0 });
    assert.equal(announcesReady({ type: 'task.submitted', data: { kind: 'c' } }, m), undefined);
    assert.equal(announcesReady({ type: 'task.submitted', data: { kind: 'a', code_version: 'v2' } }, m), undefined);
    assert.equal(announcesReady({ type: 'task.leased', data: { kind: 'a' } }, m), undefined);
    assert.equal(announcesReady({ type: 'sandbox.created', data: { kind: 'a' } }, m), undefined);
  });

  it('a matching announcement wakes a waiter at once; one made before the wait is not lost', async () => {
    const { timer } = manualTimer();
    const w = watchReadyTasks(t.cp, { kinds: ['k'], codeVersion: null }, timer);
    const stop = new AbortController();
    const waiting = w.next(60_000, stop.signal);
    assert.equal(await settled(waiting), false);
    await announce('task.submitted', { kind: 'other' });
    assert.equal(await settled(waiting), false);
    await announce('task.submitted', { kind: 'k' });
    assert.equal(await settled(waiting), true);
    // Announced while nobody waits (during a claim): the next wait returns at once.
    await announce('task.submitted', { kind: 'k' });
    assert.equal(await settled(w.next(60_000, stop.signal)), true);
    assert.equal(await settled(w.next(60_000, stop.signal)), false, 'and only once');
    w.close();
  });

  it('a task ready later arms a timer for its delay; the fallback and the abort signal end a wait too', async () => {
    const { timer, fire } = manualTimer();
    const w = watchReadyTasks(t.cp, { kinds: ['k'], codeVersion: null }, timer);
    const stop = new AbortController();
    const waiting = w.next(60_000, stop.signal);
    await announce('task.requeued', { kind: 'k', delay_ms: 1_500 });
    assert.equal(await settled(waiting), false);
    fire(1_500);
    assert.equal(await settled(waiting), true);
    const fallback = w.next(60_000, stop.signal);
    fire(60_000);
    assert.equal(await settled(fallback), true);
    const aborted = w.next(60_000, stop.signal);
    stop.abort();
    assert.equal(await settled(aborted), true);
    w.close();
  });

  it('after close, announcements arm nothing', async () => {
    const { timer, armed } = manualTimer();
    const w = watchReadyTasks(t.cp, { kinds: ['k'], codeVersion: null }, timer);
    w.close();
    await announce('task.requeued', { kind: 'k', delay_ms: 10 });
    assert.equal(armed.size, 0);
  });
});
