/**
 * A stand-in for the control plane's blob route (owned elsewhere), as small as it can be: verify the
 * URL with the store's verifier, then stream the request into `put` or `get` into the response. The
 * fs fixture serves its presigned URLs through it, and sign.test.ts checks its 403s.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { DroverError } from '../../../src/domain/errors.js';
import { BLOB_ROUTE_PREFIX } from '../../../src/blob/signed-url.js';
import type { BlobStore } from '../../../src/blob/types.js';

const STATUS: Record<string, number> = { bad_request: 400, not_found: 404, conflict: 409 };

export interface SignedRoute {
  baseUrl: string;
  /** Set once the store exists (the store needs the base URL first). */
  attach(store: BlobStore): void;
  close(): Promise<void>;
}

export async function startSignedRoute(): Promise<SignedRoute> {
  let store: BlobStore | undefined;
  const server: Server = createServer((req, res) => {
    const reply = (status: number, body: unknown): void => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://route');
      const verifier = store?.signedUrls;
      if (!store || !verifier || !url.pathname.startsWith(BLOB_ROUTE_PREFIX)) return reply(404, {});
      let key: string;
      try {
        key = url.pathname.slice(BLOB_ROUTE_PREFIX.length).split('/').map(decodeURIComponent).join('/');
      } catch {
        return reply(403, { reason: 'malformed' });
      }
      const check = verifier.verify({
        method: req.method ?? '',
        key,
        expires: url.searchParams.get('expires') ?? undefined,
        sig: url.searchParams.get('sig') ?? undefined,
      });
      if (!check.ok) return reply(403, { reason: check.reason });
      if (req.method === 'PUT') return reply(200, await store.put(check.key, req));
      const blob = await store.get(check.key);
      res.writeHead(200, { 'content-length': String(blob.contentLength), 'content-type': 'application/octet-stream' });
      await pipeline(blob.body, res);
    })().catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      reply(err instanceof DroverError ? (STATUS[err.code] ?? 500) : 500, { error: String(err) });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    attach: (s) => {
      store = s;
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((err) => (err ? reject(err) : resolve()));
      }),
  };
}
