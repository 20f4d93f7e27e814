/**
 * `GET /api/v1/events` as an async iterator. The call connects (so a 401 or a bad `types` filter throws
 * right there), then yields events as frames arrive. The stream ends when the server ends it, when the
 * caller's `signal` aborts, or on `close()`; any of those simply finishes the loop. Reconnecting is the
 * caller's decision: open a new stream with `after: stream.lastEventId`, and the persisted log resumes
 * exactly after the last event received, with nothing missed and nothing repeated.
 */
import type { Transport } from './http.js';
import { SseParser } from './sse.js';
import type { DroverEvent, TenantCallOptions } from './types.js';

export interface EventStreamOptions extends TenantCallOptions {
  /** Only events after this seq (a previous stream's `lastEventId`). Default: from now on. */
  after?: number | string;
  /** Exact types (`worker.cordoned`) or families (`sandbox.*`). */
  types?: string[];
}

export interface EventStream extends AsyncIterable<DroverEvent> {
  /** The id (seq) of the last event yielded; resume with `after: lastEventId`. */
  readonly lastEventId: string | undefined;
  /** The server's suggested reconnect delay, once it has sent one. */
  readonly retryMs: number | undefined;
  /** Stop reading; the iteration ends. */
  close(): void;
}

export interface EventsApi {
  stream(options?: EventStreamOptions): Promise<EventStream>;
}

export function eventsApi(t: Transport): EventsApi {
  return {
    async stream(o = {}) {
      const stop = new AbortController();
      const signal = o.signal ? AbortSignal.any([o.signal, stop.signal]) : stop.signal;
      const res = await t.raw('GET', '/api/v1/events', {
        query: { after: o.after === undefined ? undefined : String(o.after), types: o.types?.join(','), tenant: o.tenant },
        headers: { accept: 'text/event-stream' },
        signal,
      });
      if (!res.body) throw new Error('the event stream answered without a body');
      const parser = new SseParser();
      let lastEventId: string | undefined;
      const reader = res.body.getReader();

      async function* frames(): AsyncGenerator<DroverEvent> {
        const decoder = new TextDecoder();
        try {
          for (;;) {
            let chunk: Awaited<ReturnType<typeof reader.read>>;
            try {
              chunk = await reader.read();
            } catch (err) {
              if (signal.aborted) return;
              throw err;
            }
            if (chunk.done) return;
            for (const message of parser.push(decoder.decode(chunk.value, { stream: true }))) {
              // One chunk may hold many events; an abort between them stops here, not at the chunk's end.
              if (signal.aborted) return;
              const event = JSON.parse(message.data) as DroverEvent;
              lastEventId = message.id ?? String(event.seq);
              yield event;
            }
          }
        } finally {
          stop.abort();
          await reader.cancel().catch(() => undefined);
        }
      }
      const iterator = frames();
      return {
        get lastEventId() {
          return lastEventId;
        },
        get retryMs() {
          return parser.retryMs;
        },
        close: () => stop.abort(),
        [Symbol.asyncIterator]: () => iterator,
      };
    },
  };
}
