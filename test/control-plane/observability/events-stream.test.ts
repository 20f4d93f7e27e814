import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { buildApp } from '../../../src/control-plane/app.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import type { SseOptions } from '../../../src/control-plane/observability/sse.js';
import { observabilityRoutes } from '../../../src/control-plane/routes/observability.js';
import type { EventInput } from '../../../src/store/types.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';
import { openSse, type SseFrame } from './sse-client.js';

interface Served {
  cp: ControlPlane;
  app: FastifyInstance;
  url: string;
  shutdown: AbortController;
}

/** A second control plane over the harness's store, with its own shutdown signal and short stream timers, listening on loopback. */
async function serve(t: TestControlPlane, sse: Partial<SseOptions>): Promise<Served> {
  const shutdown = new AbortController();
  const cp = createControlPlane({ config: t.config, store: t.store, clock: t.clock, log: t.cp.log, rpc: t.cp.rpc, shutdown: shutdown.signal, replicaId: 'cp-sse' });
  const app = await buildApp(cp, observabilityRoutes({ sse }));
  await app.listen({ port: 0, host: '127.0.0.1' });
  const address = app.server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { cp, app, url: `http://127.0.0.1:${address.port}`, shutdown };
}

const ev = (type: string, tenantId: string | null, resourceId = 'r1', data: Record<string, unknown> = { n: 1 }): EventInput => ({
  type,
  tenantId,
  resourceType: type.split('.')[0] ?? null,
  resourceId,
  data,
});

const parsed = (f: SseFrame) => JSON.parse(f.data ?? 'null') as { seq: number; type: string; tenant_id: string | null; resource_id: string; data: unknown; at: string };

describe('GET /api/v1/events (SSE)', { timeout: 20_000 }, () => {
  let t: TestControlPlane;
  let s: Served;
  const auth = (key: string) => ({ authorization: `Bearer ${key}` });

  before(async () => {
    t = await startTestControlPlane();
    // Keepalive is long here so streams carry events only; its own test below shortens it.
    s = await serve(t, { keepaliveMs: 60_000, pollMs: 20 });
  });
  after(async () => {
    s.shutdown.abort();
    await s.app.close();
    await t.close();
  });

  it('refuses callers without a key, and malformed resume points and filters', async () => {
    assert.equal((await t.request('GET', '/api/v1/events')).status, 401);
    const badId = await openSse(`${s.url}/api/v1/events`, { ...auth(t.keys.admin), 'last-event-id': 'abc' });
    assert.equal(badId.status, 400);
    const badTypes = await openSse(`${s.url}/api/v1/events?types=${encodeURIComponent('a b')}`, auth(t.keys.admin));
    assert.equal(badTypes.status, 400);
    assert.match(await badTypes.body(), /bad_request/);
    // A misspelt filter is refused rather than ignored (which would stream everything).
    const misspelt = await openSse(`${s.url}/api/v1/events?type=task.queued`, auth(t.keys.admin));
    assert.equal(misspelt.status, 400);
  });

  it('streams emitted events in order, each as id/event/data', async () => {
    const stream = await openSse(`${s.url}/api/v1/events`, auth(t.keys.admin));
    assert.equal(stream.status, 200);
    assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
    assert.ok(stream.headers['x-request-id']);
    assert.equal((await stream.next()).retry, '2000');
    const emitted = [];
    for (let i = 0; i < 5; i++) emitted.push(await s.cp.events.emit(ev('sandbox.running', 'tenant-a', `sbx_${i}`, { i })));
    const got = await stream.events(5);
    assert.deepEqual(got.map((f) => Number(f.id)), emitted.map((e) => e!.seq));
    assert.deepEqual(got.map((f) => f.event), Array(5).fill('sandbox.running'));
    assert.deepEqual(got.map((f) => parsed(f).data), [0, 1, 2, 3, 4].map((i) => ({ i })));
    const first = parsed(got[0]!);
    assert.equal(first.tenant_id, 'tenant-a');
    assert.equal(first.resource_id, 'sbx_0');
    assert.match(first.at, /^\d{4}-\d\d-\d\dT/);
    stream.close();
  });

  it('a reconnect with Last-Event-ID resumes with no gap and no duplicate', async () => {
    const start = await t.store.events.latestEventSeq();
    const first = await openSse(`${s.url}/api/v1/events?after=${start}`, auth(t.keys.operator));
    const all: number[] = [];
    for (let i = 0; i < 6; i++) all.push((await s.cp.events.emit(ev('task.queued', 'tenant-a', `tsk_${i}`)))!.seq);
    const seen = (await first.events(3)).map((f) => Number(f.id));
    first.close();
    await first.ended;
    // Emitted while no client is connected.
    for (let i = 6; i < 9; i++) all.push((await s.cp.events.emit(ev('task.queued', 'tenant-a', `tsk_${i}`)))!.seq);
    // ?after= names an older point; the header is what an EventSource sends on reconnect, and it wins.
    const again = await openSse(`${s.url}/api/v1/events?after=${start}`, { ...auth(t.keys.operator), 'last-event-id': String(seen[2]) });
    for (const f of await again.events(6)) seen.push(Number(f.id));
    all.push((await s.cp.events.emit(ev('task.queued', 'tenant-a', 'tsk_live')))!.seq);
    seen.push(Number((await again.nextEvent()).id));
    assert.deepEqual(seen, all);
    again.close();
  });

  it('?after= replays from that point', async () => {
    const a = await s.cp.events.emit(ev('lease.lost', 'tenant-b', 'sbx_x'));
    const b = await s.cp.events.emit(ev('lease.lost', 'tenant-b', 'sbx_y'));
    const stream = await openSse(`${s.url}/api/v1/events?after=${a!.seq - 1}&types=lease.lost`, auth(t.keys.admin));
    assert.deepEqual((await stream.events(2)).map((f) => Number(f.id)), [a!.seq, b!.seq]);
    stream.close();
  });

  it('?types= selects exact types and families', async () => {
    const stream = await openSse(`${s.url}/api/v1/events?types=task.*,sandbox.stopped`, auth(t.keys.admin));
    await stream.next();
    await s.cp.events.emit(ev('sandbox.created', 'tenant-a'));
    const stopped = await s.cp.events.emit(ev('sandbox.stopped', 'tenant-a'));
    await s.cp.events.emit(ev('worker.online', null));
    const task = await s.cp.events.emit(ev('task.succeeded', 'tenant-a'));
    await s.cp.events.emit(ev('lease.lost', 'tenant-a'));
    const marker = await s.cp.events.emit(ev('task.marker', 'tenant-a'));
    // Events arrive in log order, so reaching the marker proves the others were filtered, not late.
    assert.deepEqual((await stream.events(3)).map((f) => Number(f.id)), [stopped!.seq, task!.seq, marker!.seq]);
    stream.close();
  });

  it('a tenant sees only its own events; tenant-less worker events only operators and admins', async () => {
    const streamB = await openSse(`${s.url}/api/v1/events`, auth(t.keys.apiB));
    // A non-admin cannot widen its view with ?tenant=.
    const streamB2 = await openSse(`${s.url}/api/v1/events?tenant=tenant-a`, auth(t.keys.apiB));
    const streamViewer = await openSse(`${s.url}/api/v1/events`, auth(t.keys.viewer));
    const streamOps = await openSse(`${s.url}/api/v1/events`, auth(t.keys.operator));
    const streamAdminA = await openSse(`${s.url}/api/v1/events?tenant=tenant-a`, auth(t.keys.admin));
    await Promise.all([streamB, streamB2, streamViewer, streamOps, streamAdminA].map((x) => x.next()));
    const a = await s.cp.events.emit(ev('sandbox.created', 'tenant-a', 'sbx_secret_of_a'));
    const w = await s.cp.events.emit(ev('worker.online', null, 'w-1'));
    const b = await s.cp.events.emit(ev('sandbox.created', 'tenant-b', 'sbx_b'));
    const a2 = await s.cp.events.emit(ev('sandbox.stopped', 'tenant-a', 'sbx_a2'));
    const b2 = await s.cp.events.emit(ev('sandbox.stopped', 'tenant-b', 'sbx_b2'));
    const ids = async (x: Awaited<ReturnType<typeof openSse>>, n: number) => (await x.events(n)).map((f) => Number(f.id));
    assert.deepEqual(await ids(streamB, 2), [b!.seq, b2!.seq]);
    assert.deepEqual(await ids(streamB2, 2), [b!.seq, b2!.seq]);
    assert.deepEqual(await ids(streamViewer, 2), [a!.seq, a2!.seq]);
    assert.deepEqual(await ids(streamOps, 5), [a!.seq, w!.seq, b!.seq, a2!.seq, b2!.seq]);
    assert.deepEqual(await ids(streamAdminA, 2), [a!.seq, a2!.seq]);
    for (const x of [streamB, streamB2, streamViewer, streamOps, streamAdminA]) x.close();
  });

  it('events appended by another replica (no local notification) arrive by polling', async () => {
    const stream = await openSse(`${s.url}/api/v1/events`, auth(t.keys.admin));
    await stream.next();
    const appended = await t.store.events.appendEvent(ev('worker.stale', null, 'w-remote'));
    const got = await stream.nextEvent();
    assert.equal(Number(got.id), appended.seq);
    assert.equal(got.event, 'worker.stale');
    stream.close();
  });

  it('sends keepalive comments while idle', async () => {
    const k = await serve(t, { keepaliveMs: 30, pollMs: 10 });
    try {
      const stream = await openSse(`${k.url}/api/v1/events`, auth(t.keys.admin));
      assert.equal((await stream.next()).retry, '2000');
      assert.equal((await stream.next()).comment, 'keepalive');
      assert.equal((await stream.next()).comment, 'keepalive');
      stream.close();
    } finally {
      k.shutdown.abort();
      await k.app.close();
    }
  });

  it('ends open streams when the control plane shuts down', async () => {
    const k = await serve(t, { keepaliveMs: 60_000, pollMs: 60_000 });
    try {
      const one = await openSse(`${k.url}/api/v1/events`, auth(t.keys.admin));
      const two = await openSse(`${k.url}/api/v1/events?types=task.*`, auth(t.keys.apiA));
      await Promise.all([one.next(), two.next()]);
      k.shutdown.abort();
      // Both streams end on their own: the server has not been closed, only told to shut down.
      await Promise.all([one.ended, two.ended]);
      await assert.rejects(one.next(), /ended/);
    } finally {
      await k.app.close();
    }
  });
});
