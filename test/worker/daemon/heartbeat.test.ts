/**
 * The heartbeat loop: its own timer, one request in flight, the server's interval, backoff with
 * jitter, the inventory when due — stepped with manual timers — and then the real loop inside a real
 * daemon against a real control plane on loopback, including a destroy that hangs and must not hold
 * the heartbeat up.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import type { HeartbeatReply, HeartbeatRequest } from '../../../src/protocol/worker-protocol.js';
import type { RunningWorker } from '../../../src/worker/daemon.js';
import { createProvider } from '../../../src/worker/providers/index.js';
import type { Provider, ProviderName } from '../../../src/worker/providers/types.js';
import { backoffDelay } from '../../../src/worker/heartbeat/backoff.js';
import { HeartbeatLoop } from '../../../src/worker/heartbeat/loop.js';
import { MemoryStateStore } from '../../../src/worker/state/memory.js';
import { ManualTimers, tick, until } from './support/manual-timers.js';
import { startLoopbackControlPlane, startTestWorker, tempDir } from './support/worker.js';

const silent = pino({ level: 'silent' });

interface Scripted {
  loop: HeartbeatLoop;
  timers: ManualTimers;
  /** One entry per request sent; settle it with `reply`/`fail`. */
  sent: Array<{ body: HeartbeatRequest; reply(r?: Partial<HeartbeatReply>): void; fail(err?: Error): void }>;
  bodies: boolean[];
}

function scripted(o: { random?: () => number; onReply?: () => void } = {}): Scripted {
  const timers = new ManualTimers();
  const sent: Scripted['sent'] = [];
  const bodies: boolean[] = [];
  const loop = new HeartbeatLoop({
    timers,
    random: o.random ?? (() => 0.5),
    log: silent,
    initialIntervalMs: 5000,
    body: (inv) => {
      bodies.push(inv);
      return { hostname: 'h', version: '1', status: 'online', providers: [], capabilities: [], labels: {}, capacity: { cpu: 1, memory_mb: 1, disk_mb: 1, max_sandboxes: 1 }, rpc_url: null, ...(inv ? { inventory: [] } : {}) };
    },
    send: (body) =>
      new Promise((resolve, reject) => {
        sent.push({
          body,
          reply: (r = {}) => resolve({ next_heartbeat_ms: 5000, server_time: '2030-01-01T00:00:00.000Z', cordoned: false, ...r }),
          fail: (err = new Error('connection refused')) => reject(err),
        });
      }),
    onReply: o.onReply ?? (() => undefined),
  });
  return { loop, timers, sent, bodies };
}

describe('heartbeat loop', () => {
  it('keeps exactly one request in flight; the next beat comes next_heartbeat_ms after the reply', async () => {
    const { loop, timers, sent } = scripted();
    loop.start();
    await timers.runDue();
    assert.equal(sent.length, 1);
    loop.poke();
    loop.poke();
    await timers.advance(60_000);
    assert.equal(sent.length, 1, 'no second request while one is in flight, whatever the time or pokes');
    assert.equal(timers.size, 0, 'and no timer is armed meanwhile');
    sent[0]!.reply({ next_heartbeat_ms: 2000 });
    await tick();
    assert.deepEqual(timers.delays(), [0], 'the pokes during the beat ask for one beat right after it');
    await timers.runDue();
    assert.equal(sent.length, 2);
    sent[1]!.reply({ next_heartbeat_ms: 2000 });
    await tick();
    assert.deepEqual(timers.delays(), [2000], "the server's interval, not the configured one");
    await timers.advance(1999);
    assert.equal(sent.length, 2);
    await timers.advance(1);
    assert.equal(sent.length, 3);
    assert.equal(loop.currentIntervalMs, 2000);
    sent[2]!.reply();
    await loop.stop();
  });

  it('backs off with jitter after failures, capped at the interval, and resets on success', async () => {
    assert.equal(backoffDelay(1, { initialMs: 1000, maxMs: 5000 }, () => 0), 500);
    assert.equal(backoffDelay(1, { initialMs: 1000, maxMs: 5000 }, () => 0.999_999), 1000);
    for (let n = 1; n < 40; n++) {
      const d = backoffDelay(n, { initialMs: 1000, maxMs: 5000 }, Math.random);
      assert.ok(d >= Math.min(5000, 1000 * 2 ** (n - 1)) / 2 - 1 && d <= 5000, `failure ${n}: ${d}`);
    }

    const { loop, timers, sent } = scripted({ random: () => 0 });
    loop.start();
    const delays: number[] = [];
    for (let i = 0; i < 5; i++) {
      await timers.runDue();
      sent[i]!.fail();
      await tick();
      delays.push(timers.delays()[0]!);
      await timers.advance(delays[i]!);
    }
    assert.deepEqual(delays, [500, 1000, 2000, 2500, 2500]);
    assert.equal(loop.consecutiveFailures, 5);
    sent[5]!.reply({ next_heartbeat_ms: 3000 });
    await tick();
    assert.equal(loop.consecutiveFailures, 0);
    assert.deepEqual(timers.delays(), [3000]);
    await loop.stop();
  });

  it('sends the inventory first, again after a failure of that beat, and when a reply asks for it', async () => {
    const { loop, timers, sent, bodies } = scripted();
    loop.start();
    await timers.runDue();
    sent[0]!.fail();
    await tick();
    await timers.advance(timers.delays()[0]!);
    sent[1]!.reply();
    await tick();
    await timers.advance(5000);
    sent[2]!.reply({ inventory_wanted: true });
    await tick();
    await timers.advance(5000);
    sent[3]!.reply();
    await tick();
    await timers.advance(5000);
    assert.deepEqual(bodies, [true, true, false, true, false]);
    assert.ok(sent[0]!.body.inventory && !sent[2]!.body.inventory && sent[3]!.body.inventory);
    sent[4]!.reply();
    await loop.stop();
  });

  it('a reply handler that throws does not stop the heartbeat', async () => {
    const { loop, timers, sent } = scripted({
      onReply: () => {
        throw new Error('bug');
      },
    });
    loop.start();
    await timers.runDue();
    sent[0]!.reply();
    await tick();
    await timers.advance(5000);
    assert.equal(sent.length, 2);
    sent[1]!.reply();
    await loop.stop();
  });
});

describe('heartbeat loop in a real daemon against a real control plane', () => {
  it('registers the worker with its RPC endpoint and secret, follows the server interval, and is not held up by a hanging destroy', async () => {
    const cp = await startLoopbackControlPlane({ config: { 'workers.heartbeat_interval': '2s' } });
    const dir = tempDir();
    const timers = new ManualTimers();
    // A runtime the control plane knows nothing about, whose destroy hangs until the test lets go.
    const state = new MemoryStateStore();
    const mock = await createProvider('mock', { dataDir: dir.path });
    let letGo: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (letGo = resolve));
    const destroy = mock.destroy.bind(mock);
    const hanging: Provider = Object.assign(mock, { destroy: async (id: string) => (await gate, destroy(id)) });
    await state.put({
      sandboxId: 'sbx-unknown',
      runtimeId: 'sbx-unknown.g1',
      generation: 1,
      provider: 'mock',
      tenantId: 't',
      state: 'running',
      request: { resources: { cpuMilli: 100, memoryMb: 64, diskMb: 64 }, env: {}, network: 'none' },
      capabilities: [],
      warnings: [],
      leaseTtlMs: 30_000,
      createdAt: 0,
    });
    let worker: RunningWorker | undefined;
    try {
      worker = await startTestWorker({
        cpUrl: cp.url,
        dataDir: dir.path,
        timers,
        state,
        openProviders: new Map<ProviderName, Provider>([['mock', hanging]]),
        flags: { 'worker.labels': { zone: 'z1' } },
      });
      const w = worker;
      await timers.runDue();
      await until(() => w.heartbeat.replies === 1, 'the first heartbeat reply');
      const record = await cp.t.store.workers.getWorker(w.id);
      assert.equal(record?.status, 'online');
      assert.equal(record?.rpcUrl, w.url);
      assert.equal(record?.rpcSecret, w.rpcSecret);
      assert.deepEqual(record?.labels, { zone: 'z1' });
      assert.deepEqual(record?.providers, ['mock']);
      assert.equal(record?.capacity.sandboxes, 64);
      assert.equal(w.heartbeat.currentIntervalMs, 2000);
      assert.ok(timers.delays().includes(2000), `next beat armed at the server's interval: ${timers.delays().join(',')}`);

      // The reply released the unknown runtime; its destroy now hangs. The heartbeat goes on.
      await until(() => w.state.get('sbx-unknown')?.state === 'stopping', 'the release to start destroying');
      for (let beat = 2; beat <= 4; beat++) {
        await timers.advance(2000);
        await until(() => w.heartbeat.replies === beat, `heartbeat ${beat} while the destroy hangs`);
      }
      assert.equal(w.status.phase, 'reconciling', 'leased work still waits for the reconciliation');
      letGo();
      await w.ready;
      assert.equal(w.status.phase, 'serving');
      assert.equal(w.runtimes.count(), 0);
    } finally {
      letGo();
      await worker?.stop();
      await cp.close();
      dir.remove();
    }
  });
});
