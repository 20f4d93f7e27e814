/**
 * A fetch that records every request the task worker makes (method, URL, headers, JSON body) and can
 * drop chosen ones as a network failure, or rewrite an upload's bytes in transit. The requests it lets
 * through go to the real control plane over loopback.
 */
export type CallKind = 'lease' | 'heartbeat' | 'report' | 'presign' | 'blob' | 'other';

export interface RecordedCall {
  kind: CallKind;
  method: string;
  url: string;
  headers: Record<string, string>;
  /** Parsed JSON body of control-plane calls. */
  body: unknown;
  signal: AbortSignal | undefined;
  /** Index of the call in order of issue. */
  seq: number;
  /** Set once the response arrived (status) or the call failed (-1). */
  status?: number;
}

export interface RecordingFetchOptions {
  /** Fail this request as the network would (TypeError: fetch failed) without sending it. */
  drop?: (call: RecordedCall) => boolean;
  /** Replace an upload's bytes (a whole body, or a stream's first chunk) before they are sent. */
  tamperUpload?: (bytes: Uint8Array) => Uint8Array;
}

export function kindOf(url: string): CallKind {
  const path = new URL(url).pathname;
  if (path.startsWith('/api/v1/blobs/')) return 'blob';
  const m = /^\/api\/v1\/worker\/[^/]+\/tasks\/(?:lease|[^/]+\/(heartbeat|report|presign))$/.exec(path);
  if (!m) return 'other';
  return (m[1] as CallKind | undefined) ?? 'lease';
}

export function recordingFetch(o: RecordingFetchOptions = {}) {
  const calls: RecordedCall[] = [];
  const doFetch: typeof fetch = async (input, init = {}) => {
    const url = String(input instanceof Request ? input.url : input);
    const headers: Record<string, string> = {};
    new Headers(init.headers).forEach((v, k) => (headers[k] = v));
    let body: unknown;
    if (typeof init.body === 'string') {
      try {
        body = JSON.parse(init.body);
      } catch {
        body = init.body;
      }
    }
    const call: RecordedCall = { kind: kindOf(url), method: init.method ?? 'GET', url, headers, body, signal: init.signal ?? undefined, seq: calls.length };
    calls.push(call);
    if (o.drop?.(call)) {
      call.status = -1;
      throw new TypeError('fetch failed', { cause: new Error('dropped by the test') });
    }
    let sent = init;
    if (o.tamperUpload && call.kind === 'blob' && init.body instanceof Uint8Array) sent = { ...init, body: o.tamperUpload(init.body) };
    if (o.tamperUpload && call.kind === 'blob' && init.body instanceof ReadableStream) {
      const tamper = o.tamperUpload;
      let first = true;
      const changed = (init.body as ReadableStream<Uint8Array>).pipeThrough(
        new TransformStream<Uint8Array, Uint8Array>({
          transform(chunk, controller) {
            controller.enqueue(first ? tamper(chunk) : chunk);
            first = false;
          },
        }),
      );
      sent = { ...init, body: changed };
    }
    try {
      const res = await fetch(input, sent);
      call.status = res.status;
      return res;
    } catch (err) {
      call.status = -1;
      throw err;
    }
  };
  return {
    fetch: doFetch,
    calls,
    of: (kind: CallKind) => calls.filter((c) => c.kind === kind),
  };
}
