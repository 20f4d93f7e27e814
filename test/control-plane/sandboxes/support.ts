/**
 * A control plane (SQLite, manual clock, real HTTP RPC client) with fake workers on loopback, for the
 * sandbox API tests.
 */
import { SHARED_WORKER_TOKEN, startTestControlPlane, type TestControlPlane, type TestControlPlaneOptions, type TestResponse } from '../support/harness.js';
import { registerFakeWorker, startFakeWorker, type FakeWorker, type FakeWorkerOptions } from '../support/fake-worker.js';

export interface SandboxHarness {
  t: TestControlPlane;
  workers: FakeWorker[];
  addWorker(o: Omit<FakeWorkerOptions, 'clock'>): Promise<FakeWorker>;
  /** Heartbeat every fake worker again (e.g. after moving the clock past stale_after). */
  heartbeatAll(): Promise<void>;
  create(body: Record<string, unknown>, o?: { key?: string; headers?: Record<string, string>; url?: string }): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function sandboxHarness(o: TestControlPlaneOptions = {}): Promise<SandboxHarness> {
  const t = await startTestControlPlane(o);
  const workers: FakeWorker[] = [];
  const target = { app: t.app, store: t.store, workerToken: SHARED_WORKER_TOKEN };
  return {
    t,
    workers,
    async addWorker(wo) {
      const w = await startFakeWorker({ ...wo, clock: t.clock });
      workers.push(w);
      await registerFakeWorker(target, w);
      return w;
    },
    async heartbeatAll() {
      for (const w of workers) await registerFakeWorker(target, w);
    },
    create(body, co = {}) {
      return t.request('POST', co.url ?? '/api/v1/sandboxes', { key: co.key ?? t.keys.apiA, body, ...(co.headers ? { headers: co.headers } : {}) });
    },
    async close() {
      await t.close();
      await Promise.all(workers.map((w) => w.close()));
    },
  };
}

export type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };
export type View = Record<string, unknown> & { id: string; state: string; state_reason: string | null; worker_id: string | null };
