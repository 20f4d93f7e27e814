import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openBlobStore } from '../../src/blob/open.js';
import type { ArtifactsSettings } from '../../src/blob/types.js';
import { configSchema } from '../../src/config/schema.js';
import { ManualClock } from '../../src/domain/clock.js';
import { BadRequest } from '../../src/domain/errors.js';

describe('openBlobStore', () => {
  let dir: string;
  let fs: ArtifactsSettings;
  const clock = new ManualClock();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-blob-open-'));
    fs = { driver: 'fs', path: dir, max_url_ttl: 60_000, s3: { force_path_style: false } };
  });
  after(async () => rm(dir, { recursive: true, force: true }));

  it('accepts the parsed config section as it is', () => {
    const artifacts: ArtifactsSettings = configSchema.parse({}).artifacts;
    assert.equal(artifacts.driver, 'fs');
  });

  it('opens the fs driver; its URLs verify with the configured key and expire by the injected clock', async () => {
    const store = openBlobStore({ ...fs, signing_key: 'configured' }, { publicBaseUrl: 'http://cp:7070', clock });
    assert.equal(store.driver, 'fs');
    const { url } = await store.presign('get', 'a/b', 10 * 60_000);
    const u = new URL(url);
    assert.equal(u.origin, 'http://cp:7070');
    const req = { method: 'GET', key: 'a/b', expires: u.searchParams.get('expires') ?? '', sig: u.searchParams.get('sig') ?? '' };
    assert.deepEqual(store.signedUrls?.verify(req), { ok: true, key: 'a/b' });
    assert.equal(Number(req.expires), clock.now() + 60_000, 'ttl capped at max_url_ttl');
    const again = openBlobStore({ ...fs, signing_key: 'configured' }, { publicBaseUrl: 'http://other', clock });
    assert.equal(again.signedUrls?.verify(req).ok, true, 'replicas sharing the key accept each other\'s URLs');
    clock.advance(60_001);
    assert.deepEqual(store.signedUrls?.verify(req), { ok: false, reason: 'expired' });
  });

  it('without a signing key, signs with a per-process random key that no other instance accepts', async () => {
    const a = openBlobStore(fs, { publicBaseUrl: 'http://cp', clock });
    const b = openBlobStore(fs, { publicBaseUrl: 'http://cp', clock });
    const u = new URL((await a.presign('put', 'k', 1000)).url);
    const req = { method: 'PUT', key: 'k', expires: u.searchParams.get('expires') ?? '', sig: u.searchParams.get('sig') ?? '' };
    assert.equal(a.signedUrls?.verify(req).ok, true);
    assert.deepEqual(b.signedUrls?.verify(req), { ok: false, reason: 'bad_signature' });
  });

  it('opens the s3 driver, which has no route-side verifier', () => {
    const store = openBlobStore(
      { ...fs, driver: 's3', s3: { bucket: 'b', region: 'us-east-1', endpoint: 'http://127.0.0.1:1', force_path_style: true } },
      { publicBaseUrl: 'http://cp', clock },
    );
    assert.equal(store.driver, 's3');
    assert.equal(store.signedUrls, undefined);
  });

  it('refuses an s3 config without a bucket, or with half a key pair', () => {
    assert.throws(() => openBlobStore({ ...fs, driver: 's3' }, { publicBaseUrl: 'http://cp' }), BadRequest);
    assert.throws(
      () => openBlobStore({ ...fs, driver: 's3', s3: { bucket: 'b', force_path_style: false, access_key_id: 'AKID' } }, { publicBaseUrl: 'http://cp' }),
      BadRequest,
    );
  });
});
