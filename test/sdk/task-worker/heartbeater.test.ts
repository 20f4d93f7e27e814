/**
 * The heartbeat driver under manual time: heartbeats come from timers whatever the handler is doing,
 * one request at a time, and lease loss is declared at the lease's own expiry. The control plane is a
 * scripted TaskProtocol (the boundary the driver talks through); integration.test.ts runs the real one.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ManualClock } from '../../../src/domain/clock.js';
import { DroverApiError, DroverConnectionError } from '../../../src/sdk/errors.js';
import { DEFAULT_HEARTBEAT_BOUNDS } from '../../../src/sdk/task-worker/heartbeat-plan.js';
import { startHeartbeater } from '../../../src/sdk/task-worker/heartbeater.js';
import type { TaskProtocol } from '../../../src/sdk/task-worker/protocol-client.js';
import { silentLogger } from '../../../src/sdk/task-worker/worker.js';
import { ManualTimers, settle } from './support/manual-timers.js';

interface Call {
  body: { generation: number; progress?: unknown };
  signal: AbortSignal | undefined;
  resolve(reply: { lease_expires_at: string; cancel: boolean }): void;
  reject(err: unknown): void;
}

function scripted() {
  const calls: Call[] = [];
  const protocol: TaskProtocol = {
    heartbeat: (_id, body, signal) =>
      new Promise((resolve, reject) => {
        calls.push({ body: body as Call['body'], signal, resolve, reject });
        signal?.addEventListener('abort', () => reject(signal.reason));
      }),
    lease: () => Promise.reject(new Error('unused')),
    report: () => Promise.reject(new Error('unused')),
    presign: () => Promise.reject(new Error('unused')),
  };
  return { protocol, calls };
}

function setup(ttl = 30_000) {
  const clock = new ManualClock();
  const timers = new ManualTimers(clock);
  const { protocol, calls } = scripted();
  const seen = { cancel: 0, lost: 0 };
  const hb = startHeartbeater({
    protocol,
    clock,
    timers,
    log: silentLogger,
    bounds: DEFAULT_HEARTBEAT_BOUNDS,
    taskId: 't_1',
    generation: 7,
    leaseExpiresAt: clock.now() + ttl,
    onCancel: () => seen.cancel++,
    onLeaseLost: () => seen.lost++,
  });
  const ack = (i: number, cancel = false) => calls[i]!.resolve({ lease_expires_at: new Date(clock.now() + ttl).toISOString(), cancel });
  return { clock, timers, calls, seen, hb, ack };
}

describe('heartbeater', () => {
  it('heartbeats every third of the lease from its timer, carrying the newest progress', async () => {
    const { timers, calls, hb, ack } = setup();
    hb.progress({ pct: 1 });
    hb.progress({ pct: 2 });
    await timers.advance(9_999);
    assert.equal(calls.length, 0);
    await timers.advance(1);
    assert.equal(calls.length, 1);
    assert.deepEqual(calls[0]!.body, { generation: 7, progress: { pct: 2 } });
    ack(0);
    await settle();
    await timers.advance(10_000);
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.body, { generation: 7 }, 'no new progress: nothing to carry');
    ack(1);
    hb.stop();
  });

  it('never has two requests in flight; a hung one is abandoned after the interval and retried', async () => {
    const { timers, calls, seen, hb, ack } = setup();
    await timers.advance(10_000);
    assert.equal(calls.length, 1);
    await timers.advance(9_999);
    assert.equal(calls.length, 1, 'the first is still out: no second request');
    await timers.advance(1);
    assert.ok(calls[0]!.signal?.aborted, 'abandoned after its timeout');
    await timers.advance(200);
    assert.equal(calls.length, 2, 'retried after the first backoff step');
    ack(1);
    await settle();
    assert.equal(seen.lost, 0);
    hb.stop();
  });

  it('network errors are retried; the lease is lost at its own expiry without a success', async () => {
    const { timers, calls, seen, hb } = setup();
    let t = 0;
    while (t < 30_000 && seen.lost === 0) {
      const before = calls.length;
      await timers.advance(50);
      t += 50;
      for (let i = before; i < calls.length; i++) calls[i]!.reject(new DroverConnectionError('http://cp', new Error('ECONNREFUSED')));
      await settle();
    }
    assert.ok(calls.length >= 5, `retried (${calls.length} attempts)`);
    assert.equal(seen.lost, 1);
    assert.equal(t, 30_000, 'declared exactly at the expiry, not before');
    assert.equal(await hb.finish(), 'lease_lost');
    assert.equal(timers.armed, 0, 'no timer left behind');
  });

  it('409 lease_lost ends at once', async () => {
    const { timers, calls, seen, hb } = setup();
    await timers.advance(10_000);
    calls[0]!.reject(new DroverApiError(409, 'lease_lost', 'gone', undefined, undefined));
    await settle();
    assert.equal(seen.lost, 1);
    await timers.advance(60_000);
    assert.equal(calls.length, 1, 'no heartbeats after the loss');
    assert.equal(await hb.finish(), 'lease_lost');
  });

  it('cancel: true is passed on (every time), but not once the handler is finishing', async () => {
    const { timers, seen, hb, ack } = setup();
    await timers.advance(10_000);
    ack(0, true);
    await settle();
    assert.equal(seen.cancel, 1);
    hb.progress('last');
    const finishing = hb.finish();
    await settle();
    ack(1, true);
    assert.equal(await finishing, 'ok');
    assert.equal(seen.cancel, 1, 'the handler finished first: its result wins');
  });

  it('finish waits for the request in flight, then sends the last progress once', async () => {
    const { timers, calls, hb, ack } = setup();
    hb.progress(1);
    await timers.advance(10_000);
    hb.progress(2);
    const finishing = hb.finish();
    await settle();
    assert.equal(calls.length, 1, 'still waiting for the first');
    ack(0);
    await settle();
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[1]!.body, { generation: 7, progress: 2 });
    ack(1);
    assert.equal(await finishing, 'ok');
    assert.equal(timers.armed, 0);
  });

  it('finish with nothing unsent sends nothing', async () => {
    const { timers, calls, hb } = setup();
    await timers.advance(5_000);
    assert.equal(await hb.finish(), 'ok');
    assert.equal(calls.length, 0);
  });
});
