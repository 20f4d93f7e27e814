/**
 * A minimal streaming Server-Sent Events client over node:http, for tests: it parses frames as bytes
 * arrive (so a test sees each event when it is sent, not when the stream ends) and says when the
 * server ends the stream.
 */
import { request, type IncomingHttpHeaders } from 'node:http';

export interface SseFrame {
  id?: string;
  event?: string;
  data?: string;
  retry?: string;
  /** A comment line (`: keepalive`), without the colon and the space. */
  comment?: string;
}

export interface SseStream {
  status: number;
  headers: IncomingHttpHeaders;
  /** The next frame of any kind. Rejects if the stream ends first. */
  next(): Promise<SseFrame>;
  /** The next frame with an `id` (an event), skipping comments and `retry`. */
  nextEvent(): Promise<SseFrame & { id: string; event: string; data: string }>;
  /** `n` events, in order. */
  events(n: number): Promise<(SseFrame & { id: string; event: string; data: string })[]>;
  /** Resolves when the server ends the stream. */
  ended: Promise<void>;
  /** Drop the connection from the client side. */
  close(): void;
  /** The body, for non-200 replies. */
  body(): Promise<string>;
}

export function openSse(url: string, headers: Record<string, string> = {}): Promise<SseStream> {
  return new Promise((resolve, reject) => {
    const req = request(url, { headers: { accept: 'text/event-stream', ...headers }, agent: false }, (res) => {
      res.setEncoding('utf8');
      const frames: SseFrame[] = [];
      const waiters: { resolve: (f: SseFrame) => void; reject: (e: Error) => void }[] = [];
      let buffer = '';
      let done = false;
      let raw = '';
      let endResolve!: () => void;
      const ended = new Promise<void>((r) => (endResolve = r));
      const deliver = () => {
        while (frames.length > 0 && waiters.length > 0) waiters.shift()!.resolve(frames.shift()!);
        if (done) while (waiters.length > 0) waiters.shift()!.reject(new Error('the stream ended'));
      };
      res.on('data', (chunk: string) => {
        raw += chunk;
        buffer += chunk.replace(/\r\n/g, '\n');
        let at: number;
        while ((at = buffer.indexOf('\n\n')) >= 0) {
          const block = buffer.slice(0, at);
          buffer = buffer.slice(at + 2);
          frames.push(parseBlock(block));
        }
        deliver();
      });
      const finish = () => {
        done = true;
        endResolve();
        deliver();
      };
      res.on('end', finish);
      res.on('close', finish);
      res.on('error', finish);
      const next = () => new Promise<SseFrame>((res2, rej2) => {
        waiters.push({ resolve: res2, reject: rej2 });
        deliver();
      });
      const nextEvent = async () => {
        for (;;) {
          const f = await next();
          if (f.id !== undefined) return f as SseFrame & { id: string; event: string; data: string };
        }
      };
      resolve({
        status: res.statusCode ?? 0,
        headers: res.headers,
        next,
        nextEvent,
        async events(n) {
          const out = [];
          for (let i = 0; i < n; i++) out.push(await nextEvent());
          return out;
        },
        ended,
        close: () => req.destroy(),
        body: async () => {
          await ended;
          return raw;
        },
      });
    });
    req.on('error', reject);
    req.end();
  });
}

function parseBlock(block: string): SseFrame {
  const frame: SseFrame = {};
  for (const line of block.split('\n')) {
    if (line.startsWith(':')) {
      frame.comment = line.slice(1).trim();
      continue;
    }
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'id' || field === 'event' || field === 'retry') frame[field] = value;
    if (field === 'data') frame.data = frame.data === undefined ? value : `${frame.data}\n${value}`;
  }
  return frame;
}
