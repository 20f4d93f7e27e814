/**
 * Request bodies (02-api.md conventions; security item 6's "oversized bodies → 413"): unknown fields are
 * 400 with one detail per field, a body over `server.body_limit` is 413, malformed JSON is 400, and no
 * error body ever carries a stack trace or an internal message.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane, type TestResponse } from '../support/harness.js';

const LIMIT = 4096;

interface ErrorBody {
  error: { code: string; message: string; details?: { fields?: Record<string, string> } };
}

/** No stack frames, no file paths, no error class names: what an internal error could leak. */
function assertClean(r: TestResponse): void {
  assert.doesNotMatch(r.text, /\bat \S+ \(|\.(?:ts|js):\d+|node_modules|\/work\/|Error:|"stack"/, `leaky error body: ${r.text}`);
  const body = r.json<ErrorBody>();
  assert.deepEqual(Object.keys(body), ['error']);
  assert.ok(Object.keys(body.error).every((k) => ['code', 'message', 'details'].includes(k)));
}

describe('request bodies', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane({ config: { 'server.body_limit': LIMIT } })));
  after(() => t.close());

  const post = (opts: { body?: unknown; payload?: string | Buffer; headers?: Record<string, string> }) =>
    t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, ...opts, headers: { 'content-type': 'application/json', ...opts.headers } });

  it('unknown fields are 400 with a detail for each', async () => {
    const r = await post({ body: { role: 'api', tenant_id: 'x', is_root: true, extra: 1 } });
    assert.equal(r.status, 400);
    const e = r.json<ErrorBody>().error;
    assert.equal(e.code, 'bad_request');
    const fields = e.details?.fields ?? {};
    assert.ok(fields['body.is_root'], `a detail for body.is_root: ${r.text}`);
    assert.ok(fields['body.extra'], `a detail for body.extra: ${r.text}`);
    assertClean(r);
  });

  it('invalid values are 400 with the offending field named', async () => {
    const r = await post({ body: { role: 'api', tenant_id: 42 } });
    assert.equal(r.status, 400);
    assert.deepEqual(Object.keys(r.json<ErrorBody>().error.details?.fields ?? {}), ['body.tenant_id']);
    assertClean(r);
  });

  it(`a JSON body over server.body_limit (${LIMIT} B) is 413 payload_too_large`, async () => {
    const r = await post({ body: { role: 'api', tenant_id: 'x', name: 'n'.repeat(LIMIT) } });
    assert.equal(r.status, 413);
    assert.equal(r.json<ErrorBody>().error.code, 'payload_too_large');
    assertClean(r);
    // Just under the limit is parsed (and then refused by the schema, not by the size).
    const under = await post({ payload: JSON.stringify({ role: 'api', tenant_id: 'x', name: 'n'.repeat(LIMIT - 100) }) });
    assert.equal(under.status, 400);
    assert.equal(under.json<ErrorBody>().error.code, 'bad_request');
  });

  it('malformed JSON is 400 whatever the breakage', async () => {
    for (const payload of ['{', '{"role": "api",}', 'not json', '{"a":1}{"b":2}', '\u0000\u0001', '[1, 2', '{"role": "\\uZZZZ"}']) {
      const r = await post({ payload });
      assert.equal(r.status, 400, `payload ${JSON.stringify(payload)}: ${r.text}`);
      assert.equal(r.json<ErrorBody>().error.code, 'bad_request');
      assertClean(r);
    }
  });

  it('a non-object JSON body or a wrong content type is 400, never 500', async () => {
    for (const payload of ['null', '42', '"text"', '[]', 'true']) {
      const r = await post({ payload });
      assert.equal(r.status, 400, `payload ${payload}: ${r.text}`);
      assertClean(r);
    }
    const xml = await post({ payload: '<key/>', headers: { 'content-type': 'application/xml' } });
    assert.ok(xml.status === 400 || xml.status === 415, `wrong content type: ${xml.status}`);
    assertClean(xml);
  });

  it('an empty body on a JSON route is validated as an empty object', async () => {
    const r = await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin });
    assert.equal(r.status, 400);
    assert.ok(r.json<ErrorBody>().error.details?.fields?.['body.role']);
    assertClean(r);
  });

  it('bad query strings are 400 with details, and refusals carry no internals either', async () => {
    const r = await t.request('GET', '/api/v1/admin/keys?limit=abc&surprise=1', { key: t.keys.admin });
    assert.equal(r.status, 400);
    const fields = r.json<ErrorBody>().error.details?.fields ?? {};
    assert.ok(fields['query.limit'], r.text);
    assert.ok(fields['query.surprise'], r.text);
    assertClean(r);
    assertClean(await t.request('GET', '/api/v1/admin/keys'));
    assertClean(await t.request('GET', '/api/v1/admin/keys', { key: t.keys.viewer }));
    assertClean(await t.request('GET', '/api/v1/admin/keys', { headers: { authorization: 'Basic abc' } }));
  });
});
