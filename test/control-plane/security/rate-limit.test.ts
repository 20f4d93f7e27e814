/**
 * Security suite item 8: a token bucket per key. With 60 requests/minute and a burst of 5, a key gets
 * five requests at once, then 429 with Retry-After and the RateLimit-* headers; another key is
 * unaffected; the manual clock refills the bucket at one token a second.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, workerCaller, type TestControlPlane } from '../support/harness.js';

describe('rate limiting', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ config: { 'rate_limit.enabled': true, 'rate_limit.requests_per_minute': 60, 'rate_limit.burst': 5 } })));
  after(() => t.close());

  const quota = (key?: string) => t.request('GET', '/api/v1/quota', { key });

  it('a burst from one key gets 429 with Retry-After and RateLimit headers; another key is unaffected', async () => {
    const remaining: string[] = [];
    for (let i = 0; i < 5; i++) {
      const r = await quota(t.keys.apiA);
      assert.equal(r.status, 200, `request ${i + 1} of the burst`);
      assert.equal(r.headers['ratelimit-limit'], '5');
      remaining.push(String(r.headers['ratelimit-remaining']));
    }
    assert.deepEqual(remaining, ['4', '3', '2', '1', '0']);

    const limited = await quota(t.keys.apiA);
    assert.equal(limited.status, 429);
    assert.equal(limited.json<{ error: { code: string } }>().error.code, 'rate_limited');
    assert.equal(limited.headers['retry-after'], '1', 'one token a second at 60/min');
    assert.equal(limited.headers['ratelimit-limit'], '5');
    assert.equal(limited.headers['ratelimit-remaining'], '0');

    const other = await quota(t.keys.apiB);
    assert.equal(other.status, 200, 'another key has its own bucket');
    assert.equal(other.headers['ratelimit-remaining'], '4');
  });

  it('the clock refills the bucket', async () => {
    assert.equal((await quota(t.keys.apiA)).status, 429, 'still empty: no time has passed');
    t.clock.advance(1_000);
    const one = await quota(t.keys.apiA);
    assert.equal(one.status, 200, 'one token after a second');
    assert.equal((await quota(t.keys.apiA)).status, 429);
    t.clock.advance(60_000);
    for (let i = 0; i < 5; i++) assert.equal((await quota(t.keys.apiA)).status, 200, 'a full burst after a minute');
    assert.equal((await quota(t.keys.apiA)).status, 429, 'never more than the burst');
  });

  it('a limited caller is refused even on routes it could not use (the bucket is taken before authorization)', async () => {
    const key = await t.createKey('viewer', 'tenant-rl');
    for (let i = 0; i < 5; i++) assert.equal((await t.request('GET', '/api/v1/admin/keys', { key })).status, 403);
    assert.equal((await t.request('GET', '/api/v1/admin/keys', { key })).status, 429);
  });

  it('anonymous callers share a bucket per address; workers have their own per worker id', async () => {
    for (let i = 0; i < 5; i++) assert.equal((await quota()).status, 401);
    const anon = await quota();
    assert.equal(anon.status, 429);
    assert.ok(anon.headers['retry-after']);
    // A worker is keyed by its id, not by the address it shares with the anonymous caller.
    const w = await t.request('GET', '/metrics', workerCaller('w-rl'));
    assert.notEqual(w.status, 429);
  });
});
