/**
 * `ctx.artifacts`: large outputs go straight to object storage through presigned URLs. The control
 * plane signs a URL for one key under the task's grant prefix; the bytes never pass through the worker
 * protocol. The presign call carries the worker token; the PUT/GET to the URL carries nothing but the
 * URL (it is the whole credential), so the token never reaches S3 or the blob route.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { ReadableStream as WebReadableStream } from 'node:stream/web';
import type { TaskProtocol } from './protocol-client.js';
import type { ArtifactBody, PutArtifactOptions, PutArtifactResult, TaskArtifacts } from './types.js';

export interface ArtifactDeps {
  protocol: TaskProtocol;
  /** Plain fetch: no transport, so no credentials are ever attached. */
  fetch: typeof fetch;
  taskId: string;
  generation: number;
  /** The grant prefix, `tasks/{task_id}/`. */
  prefix: string;
  /** The task's signal: transfers stop when the task is aborted. */
  signal: AbortSignal;
}

/** An artifact transfer failed (the storage answered an error, or the bytes did not match). */
export class ArtifactError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = 'ArtifactError';
  }
}

export function taskArtifacts(d: ArtifactDeps): TaskArtifacts & { keys(): string[] } {
  const written = new Set<string>();
  const presign = (name: string, op: 'put' | 'get') => d.protocol.presign(d.taskId, { generation: d.generation, key: d.prefix + name, op }, d.signal);

  return {
    keys: () => [...written],

    async put(name: string, body: ArtifactBody, options: PutArtifactOptions = {}): Promise<PutArtifactResult> {
      const signed = await presign(name, 'put');
      const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/octet-stream' };
      const whole = wholeBytes(body);
      let payload: Uint8Array | WebReadableStream<Uint8Array>;
      let size = 0;
      let digest: () => string;
      if (whole) {
        const sha256 = createHash('sha256').update(whole).digest('hex');
        size = whole.byteLength;
        payload = whole;
        digest = () => sha256;
        // Known up front, so the fs blob route refuses a mismatch and stores nothing. S3 ignores a
        // header its presigned URL did not sign.
        headers['x-content-sha256'] = sha256;
      } else {
        const hash = createHash('sha256');
        if (options.size !== undefined) headers['content-length'] = String(options.size);
        payload = hashingStream(body as AsyncIterable<Uint8Array | string>, (chunk) => {
          hash.update(chunk);
          size += chunk.byteLength;
        });
        digest = () => hash.digest('hex');
      }
      let res: Response;
      try {
        res = await d.fetch(signed.url, { method: signed.method, headers, body: payload, duplex: 'half', signal: d.signal } as RequestInit);
      } catch (err) {
        if (d.signal.aborted) throw d.signal.reason;
        throw new ArtifactError(`upload of ${signed.key} failed: ${(err as Error).message}`);
      }
      const text = await res.text();
      if (!res.ok) throw new ArtifactError(`upload of ${signed.key} was refused: HTTP ${res.status}${text ? `: ${text.slice(0, 500)}` : ''}`, res.status);
      const sha256 = digest();
      // The fs blob route answers the size and sha256 it stored; S3 answers neither (docs/artifacts.md),
      // and there the hash computed while streaming is the record.
      const stored = storedFacts(text);
      if (stored.sha256 !== undefined && stored.sha256 !== sha256) throw new ArtifactError(`upload of ${signed.key} was corrupted in transit: sent sha256 ${sha256}, stored ${stored.sha256}`);
      if (stored.size !== undefined && stored.size !== size) throw new ArtifactError(`upload of ${signed.key} was truncated: sent ${size} bytes, stored ${stored.size}`);
      written.add(signed.key);
      return { key: signed.key, size, sha256 };
    },

    async get(name: string): Promise<Readable> {
      const signed = await presign(name, 'get');
      let res: Response;
      try {
        res = await d.fetch(signed.url, { method: signed.method, signal: d.signal });
      } catch (err) {
        if (d.signal.aborted) throw d.signal.reason;
        throw new ArtifactError(`download of ${signed.key} failed: ${(err as Error).message}`);
      }
      if (!res.ok) {
        await res.body?.cancel();
        throw new ArtifactError(`download of ${signed.key} was refused: HTTP ${res.status}`, res.status);
      }
      return res.body ? Readable.fromWeb(res.body as WebReadableStream<Uint8Array>) : Readable.from([]);
    },
  };
}

/** Buffers and strings are sent whole (with a Content-Length); everything else streams. */
function wholeBytes(body: ArtifactBody): Uint8Array | undefined {
  if (typeof body === 'string') return Buffer.from(body, 'utf8');
  if (body instanceof Uint8Array) return body;
  return undefined;
}

/** A pull-based web stream over the body: a chunk is read only when fetch wants one (backpressure). */
function hashingStream(source: AsyncIterable<Uint8Array | string>, observe: (chunk: Uint8Array) => void): WebReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new WebReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await it.next();
      if (next.done) return controller.close();
      const chunk = typeof next.value === 'string' ? Buffer.from(next.value, 'utf8') : next.value;
      observe(chunk);
      controller.enqueue(chunk);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

function storedFacts(text: string): { sha256?: string; size?: number } {
  try {
    const body = JSON.parse(text) as { sha256?: unknown; size?: unknown };
    return {
      ...(typeof body.sha256 === 'string' ? { sha256: body.sha256 } : {}),
      ...(typeof body.size === 'number' ? { size: body.size } : {}),
    };
  } catch {
    return {};
  }
}
