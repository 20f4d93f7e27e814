/**
 * The event stream (GET /api/v1/events): Server-Sent Events read from the persisted event log.
 *
 * Ordering and exactly-once delivery come from the log alone: the stream keeps a cursor (the last seq
 * it has passed) and only ever sends what it reads after it, in seq order. The in-process event bus is
 * used as a doorbell ("something was appended, read again now"), never as a source of events, so a
 * notification that arrives early, late or twice cannot reorder or duplicate anything. A slow poll
 * catches events appended by other replicas, whose bus this process never hears.
 *
 * One loop per stream: read and send, then sleep until the doorbell, the poll interval or the keepalive
 * deadline. Writes honour backpressure (a full socket buffer pauses the loop until 'drain'), so a slow
 * client costs one paused loop and a bounded buffer, not unbounded memory.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { toRfc3339 } from '../../domain/clock.js';
import type { Store } from '../../store/store.js';
import { allTenants, type EventRecord, type TenantScope } from '../../store/types.js';
import type { EventBus } from '../events.js';
import { advance, visible, type CursorState, type TypeFilter } from './event-cursor.js';

/** Timers and a monotonic clock, injectable so tests can run the stream on short intervals. */
export interface SseTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Monotonic ms: only differences are used (keepalive idle time, how long a gap has stood). */
  now(): number;
}

export const realSseTimers: SseTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
  now: () => performance.now(),
};

export interface SseOptions {
  /** A comment line after this much silence, so proxies and load balancers keep the connection open. */
  keepaliveMs: number;
  /** Re-read the log this often even without a notification: events from other replicas. */
  pollMs: number;
  /** How long a seq gap may stand before it is skipped as permanent (see event-cursor.ts). */
  gapSettleMs: number;
  /** Events read per query. */
  batch: number;
  timers: SseTimers;
}

export const DEFAULT_SSE_OPTIONS: SseOptions = {
  // 15 s is under the idle timeouts of common proxies (nginx 60 s, AWS ALB 60 s) with a wide margin.
  keepaliveMs: 15_000,
  pollMs: 1_000,
  // Autocommitted inserts become visible within milliseconds; 2 s is far above that and still short
  // enough that a rolled-back seq delays a stream only briefly.
  gapSettleMs: 2_000,
  batch: 500,
  timers: realSseTimers,
};

/** Tells an EventSource how long to wait before reconnecting after the stream ends. */
const RETRY_MS = 2_000;

export interface EventStreamInput {
  res: ServerResponse;
  /** Headers already decided for this reply (request id, rate limit). */
  headers: Record<string, string | number | string[] | undefined>;
  store: Store;
  bus: EventBus;
  /** The request's logger (its lines carry the request id). */
  log: { warn(obj: object, msg: string): void };
  scope: TenantScope;
  types: TypeFilter | undefined;
  /** Send events with seq greater than this. */
  after: number;
  /** Aborted at control-plane shutdown: the stream ends. */
  signal: AbortSignal;
  options: SseOptions;
}

/** The wire shape of one event (02-api.md conventions: snake_case, RFC 3339 times). */
export function eventBody(e: EventRecord) {
  return { seq: e.seq, type: e.type, at: toRfc3339(e.at), tenant_id: e.tenantId, resource_type: e.resourceType, resource_id: e.resourceId, data: e.data };
}

export function sseFrame(e: EventRecord): string {
  // JSON.stringify never emits a raw newline, so `data` is one line; the type is ours, but a newline
  // in it would start a new field, so it is stripped rather than trusted.
  return `id: ${e.seq}\nevent: ${e.type.replace(/[\r\n]/g, '')}\ndata: ${JSON.stringify(eventBody(e))}\n\n`;
}

/** Serve the stream until the client goes away or `signal` aborts. Never throws. */
export async function serveEventStream(i: EventStreamInput): Promise<void> {
  const { res, options: o } = i;
  let state: CursorState = { cursor: i.after, hold: null };
  let closed = false;
  let rung = false;
  let wake: (() => void) | undefined;
  const ring = () => {
    rung = true;
    wake?.();
  };
  const close = () => {
    closed = true;
    ring();
  };
  const unsubscribe = i.bus.subscribe(ring);
  res.on('close', close);
  i.signal.addEventListener('abort', close, { once: true });
  if (i.signal.aborted) closed = true;
  let lastWrite = o.timers.now();

  const write = async (chunk: string): Promise<void> => {
    if (closed) return;
    lastWrite = o.timers.now();
    if (!res.write(chunk)) await drained(res, i.signal);
  };

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      if (rung || closed) return resolve();
      const handle = o.timers.setTimeout(() => {
        wake = undefined;
        resolve();
      }, Math.max(0, ms));
      wake = () => {
        o.timers.clearTimeout(handle);
        wake = undefined;
        resolve();
      };
    });

  /** Send everything the cursor may pass now; reads until the log is exhausted or a gap holds. */
  const pump = async (): Promise<void> => {
    for (;;) {
      const batch = await i.store.events.listEvents(allTenants, { afterSeq: state.cursor, limit: o.batch });
      const step = advance(state, batch, o.timers.now(), o.gapSettleMs);
      for (const event of batch.slice(0, step.accepted)) {
        if (closed) return;
        if (visible(event, i.scope, i.types)) await write(sseFrame(event));
      }
      state = step.state;
      if (closed || step.accepted < batch.length || batch.length < o.batch) return;
    }
  };

  let failing = false;
  try {
    res.writeHead(200, {
      ...i.headers,
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache, no-transform',
      connection: 'keep-alive',
      // nginx buffers responses by default, which would hold events back until its buffer fills.
      'x-accel-buffering': 'no',
    });
    await write(`retry: ${RETRY_MS}\n\n`);
    while (!closed) {
      rung = false;
      try {
        await pump();
        failing = false;
      } catch (err) {
        // The store is down or slow: keep the connection (keepalives continue) and retry on the next
        // poll; log once per outage, not once per poll.
        if (!failing) i.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'event stream: reading the event log failed; retrying');
        failing = true;
      }
      if (closed) break;
      const idle = o.timers.now() - lastWrite;
      if (idle >= o.keepaliveMs) {
        await write(': keepalive\n\n');
        continue;
      }
      await sleep(Math.min(o.pollMs, o.keepaliveMs - idle));
    }
  } catch (err) {
    i.log.warn({ err: err instanceof Error ? err.message : String(err) }, 'event stream ended with an error');
  } finally {
    unsubscribe();
    res.off('close', close);
    i.signal.removeEventListener('abort', close);
    if (!res.writableEnded && !res.destroyed) res.end();
  }
}

/** Resolves when the socket buffer drains, the connection closes, or shutdown begins. */
function drained(res: ServerResponse, signal: AbortSignal): Promise<void> {
  if (res.destroyed || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      res.off('drain', done);
      res.off('close', done);
      signal.removeEventListener('abort', done);
      resolve();
    };
    res.on('drain', done);
    res.on('close', done);
    signal.addEventListener('abort', done, { once: true });
  });
}
