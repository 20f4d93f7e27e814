/**
 * The event stream against PostgreSQL's out-of-order commits: a seq handed out to a transaction that
 * has not committed yet, while a later seq is already visible. The stream must neither skip the early
 * event nor send the later one twice.
 */
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { loadConfig } from '../../../src/config/index.js';
import { buildApp } from '../../../src/control-plane/app.js';
import { createControlPlane } from '../../../src/control-plane/compose.js';
import type { ControlPlane } from '../../../src/control-plane/deps.js';
import type { SseOptions } from '../../../src/control-plane/observability/sse.js';
import { observabilityRoutes } from '../../../src/control-plane/routes/observability.js';
import type { Store } from '../../../src/store/store.js';
import type { EventInput, EventRecord } from '../../../src/store/types.js';
import { postgresFixture, type OpenedStore } from '../../store/fixtures.js';
import { describePostgres } from '../../support/postgres.js';
import { openSse } from './sse-client.js';

const ev = (type: string): EventInput => ({ type, tenantId: 'tenant-a', resourceType: 'task', resourceId: type, data: {} });

/** The real store, with a hook on every event-log read the stream makes. */
function observed(store: Store, onRead: (batch: EventRecord[]) => void): Store {
  return {
    ...store,
    events: {
      ...store.events,
      listEvents: async (...args: Parameters<Store['events']['listEvents']>) => {
        const batch = await store.events.listEvents(...args);
        onRead(batch);
        return batch;
      },
    },
  };
}

await describePostgres('event stream on PostgreSQL: out-of-order commits', () => {
  let opened: OpenedStore;
  const readers: ((batch: EventRecord[]) => void)[] = [];
  const servers: { app: FastifyInstance; shutdown: AbortController }[] = [];

  /** Resolves once the stream has read a batch containing `seq`. */
  const readOf = (seq: number) => new Promise<void>((resolve) => readers.push((batch) => batch.some((e) => e.seq === seq) && resolve()));

  async function serve(sse: Partial<SseOptions>): Promise<{ cp: ControlPlane; url: string }> {
    const config = loadConfig({ env: {}, flags: { 'auth.enabled': false, 'rate_limit.enabled': false } });
    const shutdown = new AbortController();
    const store = observed(opened.store, (batch) => readers.forEach((r) => r(batch)));
    const cp = createControlPlane({ config, store, log: pino({ level: 'silent' }), shutdown: shutdown.signal, replicaId: 'cp-pg' });
    const app = await buildApp(cp, observabilityRoutes({ sse }));
    await app.listen({ port: 0, host: '127.0.0.1' });
    servers.push({ app, shutdown });
    const address = app.server.address();
    if (address === null || typeof address === 'string') throw new Error('no port');
    return { cp, url: `http://127.0.0.1:${address.port}/api/v1/events` };
  }

  before(async () => (opened = await postgresFixture.open()));
  after(async () => {
    for (const s of servers) {
      s.shutdown.abort();
      await s.app.close();
    }
    await opened.close();
  });

  it('holds a later event back until an earlier, still uncommitted one commits, then sends both in order', { timeout: 20_000 }, async () => {
    // A settle window far longer than the test: only the commit can release the held event.
    const { cp, url } = await serve({ pollMs: 20, gapSettleMs: 600_000 });
    const stream = await openSse(url);
    await stream.next();

    let commit!: () => void;
    const gate = new Promise<void>((r) => (commit = r));
    let early!: (e: EventRecord) => void;
    const earlyInserted = new Promise<EventRecord>((r) => (early = r));
    const tx = opened.store.transaction(async (t) => {
      early(await t.events.appendEvent(ev('task.early')));
      await gate;
    });
    const a = await earlyInserted;
    const seen = readOf(a.seq + 1);
    const b = await cp.events.emit(ev('task.late'));
    assert.equal(b?.seq, a.seq + 1);
    // The stream has now read the log with `late` visible and `early` not: the gap it must not skip.
    await seen;
    commit();
    await tx;
    const got = await stream.events(2);
    assert.deepEqual(got.map((f) => [Number(f.id), f.event]), [
      [a.seq, 'task.early'],
      [b.seq, 'task.late'],
    ]);
    stream.close();
  });

  it('skips a gap left by a rolled-back insert once the settle window has passed', { timeout: 20_000 }, async () => {
    const { cp, url } = await serve({ pollMs: 20, gapSettleMs: 50 });
    const stream = await openSse(url);
    await stream.next();
    await assert.rejects(
      opened.store.transaction(async (t) => {
        await t.events.appendEvent(ev('task.rolled_back'));
        throw new Error('roll back');
      }),
      /roll back/,
    );
    const after = await cp.events.emit(ev('task.after_gap'));
    const got = await stream.nextEvent();
    assert.deepEqual([Number(got.id), got.event], [after!.seq, 'task.after_gap']);
    stream.close();
  });
});
