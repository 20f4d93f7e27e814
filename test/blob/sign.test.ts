/**
 * The fs driver's signed URLs: the format other components rely on, and every way a URL can be
 * tampered with or outlive itself, judged by the pure verifier and through a route over real HTTP.
 */
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import { FsBlobStore } from '../../src/blob/fs.js';
import { verifySignedUrl } from '../../src/blob/signed-url.js';
import type { SignedUrlRequest } from '../../src/blob/types.js';
import { ManualClock } from '../../src/domain/clock.js';
import { chunked, readAll } from './support/bytes.js';
import { startSignedRoute, type SignedRoute } from './support/signed-route.js';

const KEY = 'signing-key-for-tests';
const MAX_TTL = 15 * 60 * 1000;

/** What the blob route would hand to the verifier for this URL and method. */
function requestOf(url: string, method: string): SignedUrlRequest {
  const u = new URL(url);
  return {
    method,
    key: u.pathname.slice('/api/v1/blobs/'.length).split('/').map(decodeURIComponent).join('/'),
    expires: u.searchParams.get('expires') ?? undefined,
    sig: u.searchParams.get('sig') ?? undefined,
  };
}

function flipLastHex(sig: string): string {
  return sig.slice(0, -1) + (sig.endsWith('0') ? '1' : '0');
}

describe('fs signed URLs', () => {
  let root: string;
  let route: SignedRoute;
  let clock: ManualClock;
  let store: FsBlobStore;

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'drover-blob-sign-'));
    route = await startSignedRoute();
    clock = new ManualClock(Date.UTC(2030, 0, 1));
    store = new FsBlobStore({ root, signingKey: KEY, maxUrlTtlMs: MAX_TTL, publicBaseUrl: `${route.baseUrl}/`, clock });
    route.attach(store);
    await store.put('docs/report v1.pdf', chunked(Buffer.from('the report')));
  });
  after(async () => {
    await route.close();
    await rm(root, { recursive: true, force: true });
  });

  it('has the documented format: /api/v1/blobs/{key}?expires=<ms>&sig=<hex HMAC-SHA256 of METHOD\\nkey\\nexpires>', async () => {
    const { url, expiresAt, method } = await store.presign('get', 'docs/report v1.pdf', 60_000);
    assert.equal(method, 'GET');
    assert.equal(expiresAt, clock.now() + 60_000);
    const sig = createHmac('sha256', KEY).update(`GET\ndocs/report v1.pdf\n${expiresAt}`).digest('hex');
    assert.equal(url, `${route.baseUrl}/api/v1/blobs/docs/report%20v1.pdf?expires=${expiresAt}&sig=${sig}`);
  });

  describe('verifySignedUrl', () => {
    let get: SignedUrlRequest;
    let put: SignedUrlRequest;
    before(async () => {
      get = requestOf((await store.presign('get', 'docs/report v1.pdf', 60_000)).url, 'GET');
      put = requestOf((await store.presign('put', 'docs/new.bin', 60_000)).url, 'PUT');
    });
    const verify = (req: SignedUrlRequest, now = clock.now()) => verifySignedUrl(req, KEY, now);

    it('accepts the URL as issued, until and including its expiry instant', () => {
      assert.deepEqual(verify(get), { ok: true, key: 'docs/report v1.pdf' });
      assert.deepEqual(verify(put), { ok: true, key: 'docs/new.bin' });
      assert.equal(verify(get, Number(get.expires)).ok, true);
    });

    it('refuses a tampered key, expiry or signature as bad_signature', () => {
      assert.deepEqual(verify({ ...get, key: 'docs/report v2.pdf' }), { ok: false, reason: 'bad_signature' });
      assert.deepEqual(verify({ ...get, key: 'docs/report v1.pdf/../secret' }), { ok: false, reason: 'malformed' });
      assert.deepEqual(verify({ ...get, expires: String(Number(get.expires) + 1) }), { ok: false, reason: 'bad_signature' });
      assert.deepEqual(verify({ ...get, expires: String(Number(get.expires) + 86_400_000) }), { ok: false, reason: 'bad_signature' });
      assert.deepEqual(verify({ ...get, sig: flipLastHex(get.sig!) }), { ok: false, reason: 'bad_signature' });
    });

    it('refuses the URL for another method', () => {
      assert.deepEqual(verify({ ...get, method: 'PUT' }), { ok: false, reason: 'bad_signature' });
      assert.deepEqual(verify({ ...put, method: 'GET' }), { ok: false, reason: 'bad_signature' });
      for (const method of ['HEAD', 'DELETE', 'POST', 'get']) assert.deepEqual(verify({ ...get, method }), { ok: false, reason: 'malformed' });
    });

    it('refuses an expired URL, and reports a forged one as forged even when expired', () => {
      const later = Number(get.expires) + 1;
      assert.deepEqual(verify(get, later), { ok: false, reason: 'expired' });
      assert.deepEqual(verify({ ...get, sig: flipLastHex(get.sig!) }, later), { ok: false, reason: 'bad_signature' });
    });

    it('refuses a URL signed with another key', () => {
      assert.deepEqual(verifySignedUrl(get, 'another-key', clock.now()), { ok: false, reason: 'bad_signature' });
    });

    it('never accepts a signature of a different length, or not lowercase hex', () => {
      const sig = get.sig!;
      for (const bad of [sig.slice(0, -1), `${sig}0`, sig.slice(0, 32), sig + sig, '', sig.toUpperCase(), `${sig.slice(0, -1)}g`]) {
        assert.deepEqual(verify({ ...get, sig: bad }), { ok: false, reason: 'malformed' }, `sig of length ${bad.length}`);
      }
      assert.deepEqual(verify({ ...get, sig: undefined }), { ok: false, reason: 'malformed' });
    });

    it('refuses malformed expiries and keys', () => {
      for (const expires of ['', 'soon', '-1', '1e12', ' 1', '1.5', '99999999999999999', undefined]) {
        assert.deepEqual(verify({ ...get, expires }), { ok: false, reason: 'malformed' }, String(expires));
      }
      for (const key of ['', '../x', '/abs', 'a%2fb', 'a\0b']) {
        assert.deepEqual(verify({ ...get, key }), { ok: false, reason: 'malformed' }, key);
      }
    });

    it('no change to key, method or expiry keeps the signature valid', () => {
      fc.assert(
        fc.property(
          fc.stringMatching(/^[a-z0-9 ._-]{1,12}(\/[a-z0-9._-]{1,12}){0,2}$/),
          fc.constantFrom('GET', 'PUT'),
          fc.integer({ min: 0, max: 2 ** 45 }),
          (key, method, expires) => {
            fc.pre(key !== get.key || method !== get.method || expires !== Number(get.expires));
            fc.pre(!key.split('/').some((s) => s === '.' || s === '..'));
            return !verify({ method, key, expires: String(expires), sig: get.sig }, 0).ok;
          },
        ),
      );
    });
  });

  describe('through the blob route', () => {
    it('serves a genuine GET URL without any bearer token', async () => {
      const { url } = await store.presign('get', 'docs/report v1.pdf', 60_000);
      const res = await fetch(url);
      assert.equal(res.status, 200);
      assert.equal(await res.text(), 'the report');
    });

    it('answers 403 with the reason for tampered, expired and wrong-method requests', async () => {
      const { url } = await store.presign('get', 'docs/report v1.pdf', 60_000);
      const u = new URL(url);
      const tampered = {
        key: url.replace('report%20v1.pdf', 'report%20v2.pdf'),
        expiry: url.replace(`expires=${u.searchParams.get('expires')}`, `expires=${Number(u.searchParams.get('expires')) + 1000}`),
        signature: url.replace(/sig=([0-9a-f]+)/, (_m, s: string) => `sig=${flipLastHex(s)}`),
        shortSignature: url.slice(0, -2),
      };
      const expect = async (target: string, status: number, reason: string, init?: RequestInit) => {
        const res = await fetch(target, init);
        assert.equal(res.status, status, target);
        assert.deepEqual(await res.json(), { reason });
      };
      await expect(tampered.key, 403, 'bad_signature');
      await expect(tampered.expiry, 403, 'bad_signature');
      await expect(tampered.signature, 403, 'bad_signature');
      await expect(tampered.shortSignature, 403, 'malformed');
      await expect(url, 403, 'bad_signature', { method: 'PUT', body: 'overwrite attempt' });
      clock.advance(60_001);
      await expect(url, 403, 'expired');
      assert.equal(await readAll((await store.get('docs/report v1.pdf')).body).then(String), 'the report');
    });

    it('a PUT URL stores the body, and is refused once it has expired', async () => {
      const { url, expiresAt } = await store.presign('put', 'uploads/a.bin', 10 * MAX_TTL);
      assert.equal(expiresAt, clock.now() + MAX_TTL, 'ttl is capped at max_url_ttl');
      const first = await fetch(url, { method: 'PUT', body: 'first' });
      assert.equal(first.status, 200);
      assert.equal((await first.json() as { size: number }).size, 5);
      clock.advance(MAX_TTL + 1);
      const replay = await fetch(url, { method: 'PUT', body: 'replayed' });
      assert.equal(replay.status, 403);
      assert.equal(await readAll((await store.get('uploads/a.bin')).body).then(String), 'first');
    });
  });
});
