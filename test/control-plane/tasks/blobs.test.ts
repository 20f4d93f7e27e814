/**
 * The fs store's blob route, over loopback HTTP with plain fetch and no credentials: presigned
 * PUT/GET round trips byte for byte, ranges, HEAD, tampered and expired URLs (403), bearer tokens
 * ignored, 404 with the s3 driver; and the caller's artifact listing with working download URLs.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { blobRoutes, parseRange } from '../../../src/control-plane/routes/blobs.js';
import type { BlobStore } from '../../../src/blob/types.js';
import type { PresignReply } from '../../../src/protocol/tasks.js';
import { SHARED_WORKER_TOKEN } from '../support/harness.js';
import { freshKind, startReplica, taskHarness, type ErrorBody, type TaskHarness } from './support.js';

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('tasks: blob route and artifacts', () => {
  let h: TaskHarness;
  let base: string;
  let taskId: string;
  const payload = Buffer.alloc(256 * 1024);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 7 + (i >> 8)) & 0xff;

  /** Presigned URLs name the configured public URL; the signature does not cover the origin. */
  const here = (url: string) => {
    const u = new URL(url);
    return `${base}${u.pathname}${u.search}`;
  };
  const presign = async (key: string, op: 'put' | 'get') => {
    const r = await h.presign('w-blob', taskId, { generation: 1, key: `tasks/${taskId}/${key}`, op });
    assert.equal(r.status, 200, r.text);
    return r.json<PresignReply>();
  };
  const put = (url: string, body: Uint8Array | string, headers: Record<string, string> = {}) => fetch(here(url), { method: 'PUT', body, headers });

  before(async () => {
    h = await taskHarness({ config: { 'artifacts.max_url_ttl': 600_000 } });
    base = await h.t.app.listen({ host: '127.0.0.1', port: 0 });
    const kind = freshKind('blob');
    taskId = (await h.submitOk({ kind })).id;
    await h.leaseOk('w-blob', [kind]);
  });
  after(() => h.close());

  it('PUT then GET through presigned URLs, byte for byte, with no credentials', async () => {
    const up = await presign('out/data.bin', 'put');
    assert.ok(up.url.startsWith(`${h.t.cp.publicUrl()}/api/v1/blobs/`));
    const res = await put(up.url, payload, { 'content-type': 'application/x-test' });
    assert.equal(res.status, 200, await res.clone().text());
    assert.deepEqual(await res.json(), { key: `tasks/${taskId}/out/data.bin`, size: payload.length, sha256: sha256(payload) });
    const down = await presign('out/data.bin', 'get');
    const got = await fetch(here(down.url));
    assert.equal(got.status, 200);
    assert.equal(got.headers.get('content-length'), String(payload.length));
    assert.equal(got.headers.get('content-type'), 'application/x-test');
    assert.equal(got.headers.get('accept-ranges'), 'bytes');
    assert.ok(Buffer.from(await got.arrayBuffer()).equals(payload));
  });

  it('a streamed upload of unknown length (chunked) is stored whole', async () => {
    const up = await presign('out/streamed.bin', 'put');
    const chunks = [payload.subarray(0, 1000), payload.subarray(1000, 70_000), payload.subarray(70_000)];
    const body = new ReadableStream<Uint8Array>({
      pull(controller) {
        const next = chunks.shift();
        if (next) controller.enqueue(next);
        else controller.close();
      },
    });
    const res = await fetch(here(up.url), { method: 'PUT', body, duplex: 'half' } as RequestInit);
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { sha256: string }).sha256, sha256(payload));
  });

  it('X-Content-SHA256 is checked: a mismatch is 400 and stores nothing', async () => {
    const up = await presign('out/checked.bin', 'put');
    const bad = await put(up.url, 'hello', { 'x-content-sha256': sha256(Buffer.from('other')) });
    assert.equal(bad.status, 400);
    assert.equal((await h.t.cp.blobs.head(`tasks/${taskId}/out/checked.bin`)), undefined);
    const good = await put(up.url, 'hello', { 'x-content-sha256': sha256(Buffer.from('hello')).toUpperCase() });
    assert.equal(good.status, 200);
  });

  it('Range: 206 with Content-Range, suffix ranges, 416 past the end, garbage ignored; HEAD gives the headers only', async () => {
    const down = await presign('out/data.bin', 'get');
    const ranged = await fetch(here(down.url), { headers: { range: 'bytes=10-19' } });
    assert.equal(ranged.status, 206);
    assert.equal(ranged.headers.get('content-range'), `bytes 10-19/${payload.length}`);
    assert.ok(Buffer.from(await ranged.arrayBuffer()).equals(payload.subarray(10, 20)));
    const suffix = await fetch(here(down.url), { headers: { range: 'bytes=-5' } });
    assert.equal(suffix.status, 206);
    assert.ok(Buffer.from(await suffix.arrayBuffer()).equals(payload.subarray(payload.length - 5)));
    const open = await fetch(here(down.url), { headers: { range: `bytes=${payload.length - 3}-` } });
    assert.ok(Buffer.from(await open.arrayBuffer()).equals(payload.subarray(payload.length - 3)));
    const past = await fetch(here(down.url), { headers: { range: `bytes=${payload.length}-` } });
    assert.equal(past.status, 416);
    assert.equal(past.headers.get('content-range'), `bytes */${payload.length}`);
    const garbage = await fetch(here(down.url), { headers: { range: 'bytes=5-1' } });
    assert.equal(garbage.status, 200);
    assert.equal((await garbage.arrayBuffer()).byteLength, payload.length);
    const head = await fetch(here(down.url), { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), String(payload.length));
    assert.equal(head.headers.get('x-content-sha256'), sha256(payload));
    assert.equal((await head.arrayBuffer()).byteLength, 0);
  });

  it('parseRange is strict about what it serves', () => {
    assert.deepEqual(parseRange(undefined), { kind: 'none' });
    assert.deepEqual(parseRange('bytes=0-0'), { kind: 'from', start: 0, end: 0 });
    assert.deepEqual(parseRange('bytes=7-'), { kind: 'from', start: 7 });
    assert.deepEqual(parseRange('bytes=-9'), { kind: 'suffix', length: 9 });
    for (const h of ['bytes=-', 'bytes=0-1,3-4', 'items=0-1', 'bytes=2-1', 'bytes=a-b', `bytes=${'9'.repeat(30)}-`]) assert.deepEqual(parseRange(h), { kind: 'none' }, h);
  });

  it('a tampered key, expiry or signature, the wrong method, no signature, or an expired URL is 403', async () => {
    const up = await presign('out/tamper.bin', 'put');
    const u = new URL(here(up.url));
    const variants: Array<[string, string]> = [
      ['key', `${base}${u.pathname.replace('tamper', 'tampeR')}${u.search}`],
      ['expiry', `${base}${u.pathname}?expires=${Number(u.searchParams.get('expires')) + 1}&sig=${u.searchParams.get('sig')}`],
      ['sig', `${base}${u.pathname}?expires=${u.searchParams.get('expires')}&sig=${'0'.repeat(64)}`],
      ['no sig', `${base}${u.pathname}`],
      ['other task', `${base}${u.pathname.replace(taskId, 'tsk_other')}${u.search}`],
    ];
    for (const [what, url] of variants) {
      const r = await fetch(url, { method: 'PUT', body: 'x' });
      assert.equal(r.status, 403, what);
      assert.equal(((await r.json()) as ErrorBody).error.code, 'forbidden');
    }
    assert.equal((await fetch(here(up.url))).status, 403, 'a PUT URL does not allow GET');
    assert.equal((await put(up.url, 'ok')).status, 200, 'the untampered URL works');
    h.t.clock.advance(600_001);
    const expired = await put(up.url, 'late');
    assert.equal(expired.status, 403);
    assert.equal(((await expired.json()) as ErrorBody).error.details?.reason, 'expired');
    h.t.clock.advance(-600_001);
    const denied = await h.t.store.audit.list({ kind: 'all' }, { action: 'blobs.put' }, { limit: 100 });
    assert.ok(denied.items.some((a) => a.outcome === 'denied' && a.actorType === 'anonymous'));
    assert.ok(denied.items.some((a) => a.outcome === 'ok' && a.resourceId === `tasks/${taskId}/out/tamper.bin`));
  });

  it('dot segments in the raw path are refused, not resolved', async () => {
    const down = await presign('out/data.bin', 'get');
    const u = new URL(down.url);
    for (const path of [`/api/v1/blobs/tasks/${taskId}/out/../out/data.bin`, `/api/v1/blobs/tasks/${taskId}/out/%2e%2e/out/data.bin`]) {
      const status = await new Promise<number>((resolve, reject) => {
        // Options, not a URL string: a URL would be normalised (dot segments resolved) before sending.
        const { hostname, port } = new URL(base);
        const req = httpRequest({ host: hostname, port, path: `${path}${u.search}`, method: 'GET' }, (res) => {
          res.resume();
          resolve(res.statusCode ?? 0);
        });
        req.on('error', reject);
        req.end();
      });
      assert.equal(status, 403, path);
    }
  });

  it('a bearer token or worker credentials on a blob URL are neither required nor consulted', async () => {
    const down = await presign('out/data.bin', 'get');
    const credentials: Array<Record<string, string>> = [
      { authorization: 'Bearer drv_not-a-real-key' },
      { authorization: `Bearer ${h.t.keys.apiB}` },
      { 'x-worker-id': 'w-other', 'x-worker-token': SHARED_WORKER_TOKEN },
    ];
    for (const headers of credentials) {
      const r = await fetch(here(down.url), { headers });
      assert.equal(r.status, 200, JSON.stringify(headers));
      await r.arrayBuffer();
    }
    const tampered = `${here(down.url)}`.replace(/sig=[0-9a-f]+/, `sig=${'1'.repeat(64)}`);
    assert.equal((await fetch(tampered, { headers: { authorization: `Bearer ${h.t.keys.admin}` } })).status, 403, 'an admin key does not make a bad URL good');
  });

  it("the caller's artifact listing gives every object under the task's prefix with working download URLs", async () => {
    const r = await h.t.request('GET', `/api/v1/tasks/${taskId}/artifacts`, { key: h.t.keys.apiA });
    assert.equal(r.status, 200, r.text);
    const list = r.json<{ items: Array<{ key: string; size: number; url: string; expires_at: string }>; next_cursor: string | null }>();
    assert.deepEqual(list.items.map((i) => i.key), ['checked.bin', 'data.bin', 'streamed.bin', 'tamper.bin'].map((k) => `tasks/${taskId}/out/${k}`));
    assert.equal(list.next_cursor, null);
    const data = list.items.find((i) => i.key.endsWith('data.bin'))!;
    assert.equal(data.size, payload.length);
    assert.equal(data.expires_at, new Date(h.t.clock.now() + 600_000).toISOString(), 'the shorter of 15 min and max_url_ttl');
    assert.ok(Buffer.from(await (await fetch(here(data.url))).arrayBuffer()).equals(payload));
    const paged = (await h.t.request('GET', `/api/v1/tasks/${taskId}/artifacts?limit=3`, { key: h.t.keys.apiA })).json<{ items: unknown[]; next_cursor: string | null }>();
    assert.equal(paged.items.length, 3);
    const rest = (await h.t.request('GET', `/api/v1/tasks/${taskId}/artifacts?limit=3&cursor=${paged.next_cursor}`, { key: h.t.keys.apiA })).json<{ items: Array<{ key: string }> }>();
    assert.deepEqual(rest.items.map((i) => i.key), [`tasks/${taskId}/out/tamper.bin`]);
    assert.equal((await h.t.request('GET', `/api/v1/tasks/${taskId}/artifacts`, { key: h.t.keys.apiB })).status, 404);
  });

  it('with a store that presigns its own URLs (s3) the route answers 404', async () => {
    const s3Like = { driver: 's3', signedUrls: undefined } as unknown as BlobStore;
    const replica = await startReplica(h.t, blobRoutes());
    try {
      Object.assign(replica.cp, { blobs: s3Like });
      const r = await fetch(`${replica.base}/api/v1/blobs/tasks/${taskId}/out/data.bin?expires=1&sig=${'0'.repeat(64)}`);
      assert.equal(r.status, 404);
      assert.equal((await fetch(`${replica.base}/api/v1/blobs/x`, { method: 'PUT', body: 'x' })).status, 404);
    } finally {
      await replica.close();
    }
  });
});
