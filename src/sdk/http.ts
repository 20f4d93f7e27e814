/**
 * The SDK's transport: one `request` function over an injected `fetch`, so the client works against a
 * real server, an in-process app, or a test double, and never reads process.env.
 */
import { DroverApiError, DroverConnectionError } from './errors.js';

export interface TransportOptions {
  url: string;
  apiKey?: string | undefined;
  /** Worker credentials, for the worker-protocol calls made by the task worker. */
  worker?: { id: string; token: string } | undefined;
  fetch?: typeof fetch | undefined;
  /** Extra headers on every request (e.g. a tenant for admin keys is a query parameter, not this). */
  headers?: Record<string, string> | undefined;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined | string[]> | undefined;
  body?: unknown;
  headers?: Record<string, string> | undefined;
  signal?: AbortSignal | undefined;
  idempotencyKey?: string | undefined;
}

export interface Transport {
  readonly baseUrl: string;
  request<T>(method: string, path: string, options?: RequestOptions): Promise<T>;
  /** The raw response, for streams and non-JSON bodies; errors are still thrown as DroverApiError. */
  raw(method: string, path: string, options?: RequestOptions & { rawBody?: RequestInit['body'] }): Promise<Response>;
}

export function createTransport(o: TransportOptions): Transport {
  const doFetch = o.fetch ?? globalThis.fetch;
  const base = o.url.replace(/\/+$/, '');

  const urlFor = (path: string, query?: RequestOptions['query']) => {
    const url = new URL(base + path);
    for (const [k, v] of Object.entries(query ?? {})) {
      if (v === undefined) continue;
      if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, item);
      else url.searchParams.set(k, String(v));
    }
    return url;
  };

  const headersFor = (options: RequestOptions, json: boolean) => {
    const h: Record<string, string> = { accept: 'application/json', ...o.headers, ...options.headers };
    if (o.apiKey) h.authorization = `Bearer ${o.apiKey}`;
    if (o.worker) {
      h['x-worker-id'] = o.worker.id;
      h['x-worker-token'] = o.worker.token;
    }
    if (json) h['content-type'] = 'application/json';
    if (options.idempotencyKey) h['idempotency-key'] = options.idempotencyKey;
    return h;
  };

  const send = async (method: string, path: string, options: RequestOptions & { rawBody?: RequestInit['body'] }): Promise<Response> => {
    const json = options.body !== undefined;
    let res: Response;
    try {
      res = await doFetch(urlFor(path, options.query), {
        method,
        headers: headersFor(options, json),
        body: json ? JSON.stringify(options.body) : options.rawBody,
        signal: options.signal,
        ...(options.rawBody !== undefined ? { duplex: 'half' } : {}),
      } as RequestInit);
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw err;
      throw new DroverConnectionError(base, err);
    }
    if (!res.ok) throw await toApiError(res);
    return res;
  };

  return {
    baseUrl: base,
    async request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
      const res = await send(method, path, options);
      if (res.status === 204) return undefined as T;
      const text = await res.text();
      return (text.length ? JSON.parse(text) : undefined) as T;
    },
    raw: (method, path, options = {}) => send(method, path, options),
  };
}

async function toApiError(res: Response): Promise<DroverApiError> {
  const requestId = res.headers.get('x-request-id') ?? undefined;
  let body: { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined;
  try {
    body = (await res.json()) as typeof body;
  } catch {
    body = undefined;
  }
  const e = body?.error;
  return new DroverApiError(res.status, e?.code ?? 'http_error', e?.message ?? `HTTP ${res.status}`, e?.details, requestId);
}

/** Iterate every item of a paginated list, page by page. */
export async function* paginate<T>(fetchPage: (cursor: string | undefined) => Promise<{ items: T[]; next_cursor: string | null }>): AsyncGenerator<T> {
  let cursor: string | undefined;
  do {
    const page = await fetchPage(cursor);
    yield* page.items;
    cursor = page.next_cursor ?? undefined;
  } while (cursor);
}
