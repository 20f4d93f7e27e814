/**
 * s3rver does not check signatures, so the s3 driver's presigned URLs are judged here by a minimal
 * endpoint that does what S3 does with a query-signed request: recompute the SigV4 signature from the
 * request it received (method, host, path, query, X-Amz-Date, X-Amz-Expires) with the shared secret,
 * and refuse it (403) when the signatures differ or the URL has expired.
 */
import assert from 'node:assert/strict';
import { createHash, createHmac, timingSafeEqual, type Hash, type Hmac } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { SignatureV4 } from '@smithy/signature-v4';
import { createS3Client } from '../../src/blob/s3-client.js';
import { S3BlobStore } from '../../src/blob/s3.js';
import { ManualClock } from '../../src/domain/clock.js';

const ACCESS_KEY = 'AKIDDROVERTEST';
const SECRET = 'drover-test-secret';
const REGION = 'eu-west-3';
const BUCKET = 'artifacts';
const DAY = 24 * 60 * 60 * 1000;

type SourceData = string | ArrayBuffer | ArrayBufferView;
const bytes = (data: SourceData): string | Uint8Array =>
  typeof data === 'string' ? data : ArrayBuffer.isView(data) ? new Uint8Array(data.buffer, data.byteOffset, data.byteLength) : new Uint8Array(data);

/** The hash SignatureV4 wants, over node:crypto (HMAC when given a secret). */
class NodeSha256 {
  private hash: Hash | Hmac;
  constructor(secret?: SourceData) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', bytes(secret));
  }
  update(data: SourceData): void {
    this.hash.update(bytes(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.hash.digest());
  }
}

/** Query parameters the presigner itself adds; everything else in the query was signed as given. */
const AUTH_PARAMS = ['X-Amz-Algorithm', 'X-Amz-Credential', 'X-Amz-Date', 'X-Amz-Expires', 'X-Amz-SignedHeaders', 'X-Amz-Signature'];

type Verdict = { ok: true } | { ok: false; reason: string };

async function verifyPresigned(req: IncomingMessage, nowMs: number): Promise<Verdict> {
  const url = new URL(req.url ?? '/', 'http://placeholder');
  const q = Object.fromEntries(url.searchParams);
  if (q['X-Amz-Algorithm'] !== 'AWS4-HMAC-SHA256') return { ok: false, reason: 'not SigV4' };
  const [accessKey, , region, service] = (q['X-Amz-Credential'] ?? '').split('/');
  if (accessKey !== ACCESS_KEY || region !== REGION || service !== 's3') return { ok: false, reason: 'unknown credential' };
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(q['X-Amz-Date'] ?? '');
  const expiresIn = Number(q['X-Amz-Expires']);
  if (!m || !Number.isInteger(expiresIn) || expiresIn < 1 || expiresIn > 604_800) return { ok: false, reason: 'malformed' };
  const signingDate = new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));

  const query: Record<string, string> = {};
  const headers: Record<string, string> = { host: req.headers.host ?? '' };
  for (const [k, v] of Object.entries(q)) {
    if (AUTH_PARAMS.includes(k)) continue;
    // The payload hash was hoisted from a header at signing time; give it back as that header, under
    // the same spelling, since the hoisted name goes into the (case-sensitive) canonical query.
    if (k === 'X-Amz-Content-Sha256') headers[k] = v;
    else query[k] = v;
  }
  const signer = new SignatureV4({
    credentials: { accessKeyId: ACCESS_KEY, secretAccessKey: SECRET },
    region: REGION,
    service: 's3',
    sha256: NodeSha256,
    uriEscapePath: false,
  });
  const expected = await signer.presign(
    { method: req.method ?? 'GET', protocol: 'http:', hostname: '127.0.0.1', path: url.pathname, query, headers },
    { signingDate, expiresIn },
  );
  const want = Buffer.from(String(expected.query?.['X-Amz-Signature']), 'utf8');
  const got = Buffer.from(q['X-Amz-Signature'] ?? '', 'utf8');
  if (want.length !== got.length || !timingSafeEqual(want, got)) return { ok: false, reason: 'signature mismatch' };
  if (nowMs > signingDate.getTime() + expiresIn * 1000) return { ok: false, reason: 'expired' };
  return { ok: true };
}

describe('s3 presigned URLs, checked by a SigV4-verifying endpoint', () => {
  let server: Server;
  let endpoint: string;
  const clock = new ManualClock(Date.UTC(2030, 5, 1, 12, 0, 0, 250));
  const open = (secret = SECRET, maxUrlTtlMs = 60 * 60 * 1000) =>
    new S3BlobStore({
      client: createS3Client({ endpoint, region: REGION, force_path_style: true, access_key_id: ACCESS_KEY, secret_access_key: secret }),
      bucket: BUCKET,
      maxUrlTtlMs,
      clock,
    });

  before(async () => {
    server = createServer((req, res) => {
      req.resume();
      void verifyPresigned(req, clock.now()).then((verdict) => {
        res.writeHead(verdict.ok ? 200 : 403, { 'content-type': 'application/json' });
        res.end(JSON.stringify(verdict));
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const status = async (url: string, method = 'GET'): Promise<number> =>
    (await fetch(url, { method, body: method === 'PUT' ? 'bytes' : undefined })).status;

  it('accepts the GET and PUT URLs our presign issues, for their own method only', async () => {
    const store = open();
    const get = await store.presign('get', 'tasks/t_1/out put.json', 60_000);
    const put = await store.presign('put', 'tasks/t_1/up load.bin', 60_000);
    assert.equal(await status(get.url, 'GET'), 200);
    assert.equal(await status(put.url, 'PUT'), 200);
    assert.equal(await status(get.url, 'PUT'), 403);
    assert.equal(await status(put.url, 'GET'), 403);
  });

  it('refuses the URL with a changed key, expiry, date or signature', async () => {
    const { url } = await open().presign('get', 'tasks/t_1/out.json', 60_000);
    const u = new URL(url);
    const changed = (mutate: (x: URL) => void): string => {
      const copy = new URL(u);
      mutate(copy);
      return copy.toString();
    };
    assert.equal(await status(url), 200, 'the untouched URL must pass, or the refusals below prove nothing');
    assert.equal(await status(changed((x) => (x.pathname = x.pathname.replace('t_1', 't_2')))), 403);
    assert.equal(await status(changed((x) => (x.pathname = `/${BUCKET}/tasks/t_1/other.json`))), 403);
    assert.equal(await status(changed((x) => x.searchParams.set('X-Amz-Expires', '600'))), 403);
    assert.equal(await status(changed((x) => x.searchParams.set('X-Amz-Date', x.searchParams.get('X-Amz-Date')!.replace(/\d{2}Z$/, '59Z')))), 403);
    const sig = u.searchParams.get('X-Amz-Signature')!;
    assert.equal(await status(changed((x) => x.searchParams.set('X-Amz-Signature', sig.slice(0, -1) + (sig.endsWith('a') ? 'b' : 'a')))), 403);
  });

  it('refuses a URL signed with another secret', async () => {
    const { url } = await open('not-the-secret').presign('get', 'tasks/t_1/out.json', 60_000);
    assert.equal(await status(url), 403);
  });

  it('expires at the reported instant, which follows the injected clock', async () => {
    const { url, expiresAt } = await open().presign('get', 'tasks/t_1/out.json', 90_000);
    assert.equal(expiresAt, Math.floor(clock.now() / 1000) * 1000 + 90_000);
    clock.set(expiresAt);
    assert.equal(await status(url), 200);
    clock.set(expiresAt + 1);
    assert.equal(await status(url), 403);
  });

  it('caps the ttl at max_url_ttl and at S3 own 7 days', async () => {
    const capped = await open(SECRET, 10 * 60 * 1000).presign('get', 'a', DAY);
    assert.equal(new URL(capped.url).searchParams.get('X-Amz-Expires'), '600');
    const week = await open(SECRET, 30 * DAY).presign('put', 'a', 30 * DAY);
    assert.equal(new URL(week.url).searchParams.get('X-Amz-Expires'), '604800');
    assert.equal(await status(week.url, 'PUT'), 200);
  });

  it('a presigned PUT demands no checksum header from the uploader', async () => {
    const { url, headers } = await open().presign('put', 'tasks/t_1/x.bin', 60_000);
    const params = [...new URL(url).searchParams.keys()].map((k) => k.toLowerCase());
    assert.deepEqual(params.filter((k) => k.includes('checksum')), []);
    assert.equal(headers, undefined);
  });
});
