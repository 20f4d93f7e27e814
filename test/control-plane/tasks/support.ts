/**
 * Helpers for the task broker tests: a harness control plane (SQLite, manual clock) plus shortcuts for
 * the caller API and the task-worker protocol, and a second app with injected long-poll options.
 */
import pino from 'pino';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/control-plane/app.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import type { RouteDef } from '../../../src/control-plane/http/route.js';
import type { LeasedTask, TaskView } from '../../../src/protocol/tasks.js';
import type { EventRecord } from '../../../src/store/types.js';
import { startTestControlPlane, workerCaller, SHARED_WORKER_TOKEN, type TestControlPlane, type TestControlPlaneOptions, type TestResponse } from '../support/harness.js';

export type ErrorBody = { error: { code: string; message: string; details?: Record<string, unknown> } };

export interface TaskHarness {
  t: TestControlPlane;
  submit(body: Record<string, unknown>, o?: { key?: string; headers?: Record<string, string>; url?: string }): Promise<TestResponse>;
  /** Submit and return the view (asserting 201). */
  submitOk(body: Record<string, unknown>, key?: string): Promise<TaskView>;
  get(id: string, key?: string): Promise<TaskView>;
  lease(workerId: string, body: Record<string, unknown>): Promise<TestResponse>;
  /** Lease (no wait) and return the leased tasks. */
  leaseOk(workerId: string, kinds: string[], o?: { max?: number; code_version?: string | null }): Promise<LeasedTask[]>;
  heartbeat(workerId: string, taskId: string, body: Record<string, unknown>): Promise<TestResponse>;
  report(workerId: string, taskId: string, body: Record<string, unknown>): Promise<TestResponse>;
  presign(workerId: string, taskId: string, body: Record<string, unknown>): Promise<TestResponse>;
  close(): Promise<void>;
}

export async function taskHarness(o: TestControlPlaneOptions = {}): Promise<TaskHarness> {
  const t = await startTestControlPlane(o);
  const worker = (id: string, path: string, body: Record<string, unknown>) => t.request('POST', `/api/v1/worker/${id}/tasks${path}`, { ...workerCaller(id), body });
  const h: TaskHarness = {
    t,
    submit: (body, so = {}) => t.request('POST', so.url ?? '/api/v1/tasks', { key: so.key ?? t.keys.apiA, body, ...(so.headers ? { headers: so.headers } : {}) }),
    async submitOk(body, key) {
      const r = await h.submit(body, key ? { key } : {});
      if (r.status !== 201) throw new Error(`submit: ${r.status} ${r.text}`);
      return r.json<TaskView>();
    },
    async get(id, key) {
      const r = await t.request('GET', `/api/v1/tasks/${id}`, { key: key ?? t.keys.apiA });
      if (r.status !== 200) throw new Error(`get: ${r.status} ${r.text}`);
      return r.json<TaskView>();
    },
    lease: (id, body) => worker(id, '/lease', body),
    async leaseOk(id, kinds, lo = {}) {
      const r = await h.lease(id, { kinds, max: lo.max ?? 1, ...(lo.code_version !== undefined ? { code_version: lo.code_version } : {}) });
      if (r.status !== 200) throw new Error(`lease: ${r.status} ${r.text}`);
      return r.json<{ tasks: LeasedTask[] }>().tasks;
    },
    heartbeat: (id, taskId, body) => worker(id, `/${taskId}/heartbeat`, body),
    report: (id, taskId, body) => worker(id, `/${taskId}/report`, body),
    presign: (id, taskId, body) => worker(id, `/${taskId}/presign`, body),
    close: () => t.close(),
  };
  return h;
}

/**
 * Another control-plane replica over the same store (its own event bus, its own shutdown signal),
 * serving `routes` on a real loopback port.
 */
export interface Replica {
  cp: ControlPlane;
  app: FastifyInstance;
  base: string;
  shutdown: AbortController;
  close(): Promise<void>;
}

export async function startReplica(t: TestControlPlane, routes: RouteDef[]): Promise<Replica> {
  const shutdown = new AbortController();
  const cp = createControlPlane({ config: t.config, store: t.store, clock: t.clock, log: pino({ level: 'silent' }), shutdown: shutdown.signal, replicaId: 'cp-replica', blobs: t.cp.blobs });
  const app = await buildApp(cp, routes);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    cp,
    app,
    base,
    shutdown,
    async close() {
      shutdown.abort();
      await app.close();
    },
  };
}

/** A second app over the harness's own ControlPlane (same event bus), on a loopback port. */
export async function serveWith(cp: ControlPlane, routes: RouteDef[]): Promise<{ base: string; close(): Promise<void> }> {
  const app = await buildApp(cp, routes);
  const base = await app.listen({ host: '127.0.0.1', port: 0 });
  return { base, close: () => app.close() };
}

export const workerHeaders = (id: string): Record<string, string> => ({ 'x-worker-id': id, 'x-worker-token': SHARED_WORKER_TOKEN, 'content-type': 'application/json' });

let kindCounter = 0;
/** A fresh task kind per test, so leases never pick up another test's tasks. */
export const freshKind = (name = 'k'): string => `${name}-${++kindCounter}`;

/** The persisted events of one resource, in order. */
export async function eventsOf(h: TaskHarness, resourceId: string): Promise<EventRecord[]> {
  const all = await h.t.store.events.listEvents({ kind: 'all' }, { afterSeq: 0, limit: 100_000 });
  return all.filter((e) => e.resourceId === resourceId);
}
