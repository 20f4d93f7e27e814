/**
 * The fs artifact store's presigned URLs point here (docs/artifacts.md, "Signed URLs"):
 *
 *   GET|HEAD|PUT /api/v1/blobs/{key}?expires=<unix ms>&sig=<hex>
 *
 * The URL is the whole credential. Auth kind `signed`: no bearer token is required, and one that is
 * sent is never looked at (a worker must not need to send its token to a URL it was handed). The
 * signature binds method, key and expiry; the blob store's verifier checks it with its own key and
 * clock, and every failure is a 403. With the s3 driver URLs point at S3, so this route answers 404.
 *
 * Bodies stream both ways: PUT pipes the request into the store and answers `{key, size, sha256}` only
 * once the bytes are durable; GET streams the object out, with single byte ranges (206, or 416 when
 * the range starts past the end). HEAD (a GET-signed URL) answers the headers alone.
 */
import { Readable } from 'node:stream';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { BLOB_ROUTE_PREFIX } from '../../blob/signed-url.js';
import type { ByteRange } from '../../blob/types.js';
import { BadRequest, DroverError, NotFound } from '../../domain/errors.js';
import type { ControlPlane } from '../deps.js';
import { defineRoute, type RouteDef } from '../http/route.js';

const signedQuery = z.object({
  expires: z.string().optional().describe('Expiry, unix ms (part of the signed URL)'),
  sig: z.string().optional().describe('HMAC-SHA256 signature (part of the signed URL)'),
});
const putReply = z.object({ key: z.string(), size: z.number().int(), sha256: z.string() });
const SHA256_HEX = /^[0-9a-f]{64}$/i;

/** A `Range` header, as far as this route serves it: one range, or none (then the whole object). */
export type RangeSpec = { kind: 'none' } | { kind: 'from'; start: number; end?: number } | { kind: 'suffix'; length: number };

/**
 * Pure. Anything but a single well-formed `bytes=` range — another unit, several ranges, garbage, an
 * end before the start — is ignored and the whole object is served, as RFC 9110 §14.2 allows.
 */
export function parseRange(header: string | undefined): RangeSpec {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header?.trim() ?? '');
  if (!m || (m[1] === '' && m[2] === '')) return { kind: 'none' };
  const [a, b] = [m[1]!, m[2]!];
  if (a === '') {
    const length = Number(b);
    return Number.isSafeInteger(length) ? { kind: 'suffix', length } : { kind: 'none' };
  }
  const start = Number(a);
  const end = b === '' ? undefined : Number(b);
  if (!Number.isSafeInteger(start) || (end !== undefined && (!Number.isSafeInteger(end) || end < start))) return { kind: 'none' };
  return end === undefined ? { kind: 'from', start } : { kind: 'from', start, end };
}

/** The key this request's URL is signed for, or 403; 404 when this store does not sign URLs here. */
function verifiedKey(cp: ControlPlane, req: FastifyRequest, method: 'GET' | 'PUT'): string {
  const verifier = cp.blobs.signedUrls;
  if (!verifier) throw new NotFound('blob (the artifact store serves its own presigned URLs)');
  // The raw URL, split by hand: a URL parser would resolve `..` and `%2e%2e` segments before the key
  // ever reached the verifier, which must see (and refuse) them.
  const raw = req.raw.url ?? '';
  const q = raw.indexOf('?');
  const path = q < 0 ? raw : raw.slice(0, q);
  const search = new URLSearchParams(q < 0 ? '' : raw.slice(q + 1));
  if (!path.startsWith(BLOB_ROUTE_PREFIX)) throw new DroverError('forbidden', 'this URL is not valid (malformed)', { reason: 'malformed' });
  let key: string;
  try {
    key = path.slice(BLOB_ROUTE_PREFIX.length).split('/').map(decodeURIComponent).join('/');
  } catch {
    throw new DroverError('forbidden', 'this URL is not valid (malformed)', { reason: 'malformed' });
  }
  const check = verifier.verify({ method, key, expires: search.get('expires') ?? undefined, sig: search.get('sig') ?? undefined });
  if (!check.ok) throw new DroverError('forbidden', `this URL is not valid (${check.reason})`, { reason: check.reason });
  return check.key;
}

/**
 * 416 is HTTP's answer to a range, not one of the API's error codes: the body still says bad_request,
 * and Content-Range tells the client the object's size.
 */
function rangeNotSatisfiable(reply: FastifyReply, size: number | undefined): FastifyReply {
  if (size !== undefined) void reply.header('content-range', `bytes */${size}`);
  return reply.code(416).send({ error: { code: 'bad_request', message: 'range not satisfiable', details: { reason: 'range_not_satisfiable', size } } });
}

const isUnsatisfiable = (err: unknown): err is BadRequest => err instanceof BadRequest && err.details?.reason === 'range_not_satisfiable';

async function serveHead(cp: ControlPlane, key: string, reply: FastifyReply): Promise<FastifyReply> {
  const h = await cp.blobs.head(key);
  if (!h) throw new NotFound(`blob ${key}`);
  void reply.code(200).headers({
    'content-length': String(h.size),
    'content-type': h.contentType ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    'cache-control': 'private, no-store',
    ...(h.sha256 ? { 'x-content-sha256': h.sha256 } : {}),
  });
  // An empty stream rather than no payload: Fastify keeps our Content-Length on HEAD only then.
  return reply.send(Readable.from([]));
}

async function serveGet(cp: ControlPlane, key: string, req: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
  const spec = parseRange(req.headers.range);
  let range: ByteRange | undefined;
  if (spec.kind === 'from') range = spec.end === undefined ? { start: spec.start } : { start: spec.start, end: spec.end };
  if (spec.kind === 'suffix') {
    const h = await cp.blobs.head(key);
    if (!h) throw new NotFound(`blob ${key}`);
    if (spec.length === 0 || h.size === 0) return rangeNotSatisfiable(reply, h.size);
    range = { start: Math.max(0, h.size - spec.length) };
  }
  let blob;
  try {
    blob = await cp.blobs.get(key, range);
  } catch (err) {
    if (isUnsatisfiable(err)) return rangeNotSatisfiable(reply, typeof err.details?.size === 'number' ? err.details.size : undefined);
    throw err;
  }
  void reply.code(range ? 206 : 200).headers({
    'content-length': String(blob.contentLength),
    'content-type': blob.contentType ?? 'application/octet-stream',
    'accept-ranges': 'bytes',
    'cache-control': 'private, no-store',
    ...(range && blob.contentRange ? { 'content-range': blob.contentRange } : {}),
  });
  return reply.send(blob.body);
}

export function blobRoutes(): RouteDef[] {
  return [
    defineRoute({
      id: 'blobs.get',
      method: 'GET',
      path: '/api/v1/blobs/*',
      summary: 'Download an artifact through a presigned URL (fs store); Range supported; HEAD too. No bearer token.',
      tags: ['artifacts'],
      auth: { kind: 'signed' },
      query: signedQuery,
      responses: { 200: null, 206: null, 416: null },
      handler: async ({ cp, req, reply }) => {
        const key = verifiedKey(cp, req, 'GET');
        await (req.method === 'HEAD' ? serveHead(cp, key, reply) : serveGet(cp, key, req, reply));
        return undefined;
      },
    }),
    defineRoute({
      id: 'blobs.put',
      method: 'PUT',
      path: '/api/v1/blobs/*',
      summary: 'Upload an artifact through a presigned URL (fs store), streamed; answers size and sha256 once durable. No bearer token.',
      tags: ['artifacts'],
      auth: { kind: 'signed' },
      query: signedQuery,
      rawBody: true,
      auditResource: { type: 'blob', param: '*' },
      responses: { 200: putReply },
      handler: async ({ cp, req }) => {
        const key = verifiedKey(cp, req, 'PUT');
        const length = req.headers['content-length'];
        const sha = req.headers['x-content-sha256'];
        const expectedSha256 = typeof sha === 'string' ? sha : undefined;
        if (expectedSha256 !== undefined && !SHA256_HEX.test(expectedSha256)) {
          throw new BadRequest('X-Content-SHA256 must be 64 hex characters', { fields: { 'headers.x-content-sha256': 'not a sha256' } });
        }
        const stored = await cp.blobs.put(key, req.raw, {
          contentType: req.headers['content-type'],
          expectedSize: length !== undefined && /^\d+$/.test(length) ? Number(length) : undefined,
          expectedSha256: expectedSha256?.toLowerCase(),
        });
        return { body: { key: stored.key, size: stored.size, sha256: stored.sha256 } };
      },
    }),
  ];
}
