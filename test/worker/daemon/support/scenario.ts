/**
 * A worker on manual timers against a real control plane on its manual clock: both move only when
 * the test moves them (`advance`), so lease renewals and heartbeats happen at exact, known moments
 * while every request is still real HTTP.
 */
import type { Clock } from '../../../../src/domain/clock.js';
import type { RunningWorker } from '../../../../src/worker/daemon.js';
import { ManualTimers, until } from './manual-timers.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane, type SandboxView } from './worker.js';

export interface Scenario {
  cp: LoopbackControlPlane;
  worker: RunningWorker;
  timers: ManualTimers;
  /** Renew calls that should fail (connection error) before the next succeeds. */
  failRenewals: { count: number };
  /** Moves the control plane's clock and the worker's timers together. */
  advance(ms: number): Promise<void>;
  createSandbox(body?: Record<string, unknown>): Promise<SandboxView>;
  leaseExpiry(sandboxId: string): Promise<number | undefined>;
  close(): Promise<void>;
}

export async function startScenario(o: { clock?: (cpNow: number) => Clock; random?: () => number } = {}): Promise<Scenario> {
  const cp = await startLoopbackControlPlane();
  const dir = tempDir();
  const timers = new ManualTimers();
  const failRenewals = { count: 0 };
  const flaky: typeof fetch = async (input, init) => {
    if (String(input).includes('/renew') && failRenewals.count > 0) {
      failRenewals.count--;
      throw new TypeError('fetch failed');
    }
    return fetch(input, init);
  };
  let worker: RunningWorker;
  try {
    worker = await startTestWorker({
      cpUrl: cp.url,
      dataDir: dir.path,
      timers,
      fetch: flaky,
      random: o.random ?? (() => 0),
      ...(o.clock ? { clock: o.clock(cp.t.clock.now()) } : {}),
    });
  } catch (err) {
    await cp.close();
    dir.remove();
    throw err;
  }
  await timers.runDue();
  await until(() => worker.heartbeat.replies >= 1, 'the first heartbeat reply');
  await worker.ready;
  return {
    cp,
    worker,
    timers,
    failRenewals,
    async advance(ms) {
      cp.t.clock.advance(ms);
      await timers.advance(ms);
    },
    async createSandbox(body = { provider: 'mock' }) {
      const res = await cp.t.request('POST', '/api/v1/sandboxes', { key: cp.t.keys.apiA, body });
      if (res.status !== 201) throw new Error(`create answered ${res.status}: ${res.text}`);
      return res.json<SandboxView>();
    },
    async leaseExpiry(sandboxId) {
      return (await cp.t.store.leases.getLease({ type: 'sandbox', id: sandboxId }))?.expiresAt;
    },
    async close() {
      await worker.stop();
      await cp.close();
      dir.remove();
    },
  };
}
