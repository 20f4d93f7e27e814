import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from './support/harness.js';

describe('control plane: system routes, errors, request ids', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());

  it('health and readiness', async () => {
    assert.deepEqual((await t.request('GET', '/health')).body, { status: 'ok' });
    const ready = await t.request('GET', '/ready');
    assert.equal(ready.status, 200);
    assert.equal(ready.json().status, 'ready');
  });

  it('echoes a given X-Request-ID and generates one otherwise', async () => {
    const given = await t.request('GET', '/health', { headers: { 'x-request-id': 'abc-123' } });
    assert.equal(given.headers['x-request-id'], 'abc-123');
    const generated = await t.request('GET', '/health');
    assert.match(String(generated.headers['x-request-id']), /^req_/);
    const hostile = await t.request('GET', '/health', { headers: { 'x-request-id': 'a b\u0001' } });
    assert.match(String(hostile.headers['x-request-id']), /^req_/);
  });

  it('unknown routes are 404 in the error model', async () => {
    const r = await t.request('GET', '/api/v1/nope');
    assert.equal(r.status, 404);
    assert.equal(r.json<{ error: { code: string } }>().error.code, 'not_found');
  });

  it('serves the OpenAPI 3.1 document and the /docs reference', async () => {
    const doc = (await t.request('GET', '/api/v1/openapi.json')).json<{ openapi: string; paths: Record<string, unknown> }>();
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/health']);
    const docs = await t.request('GET', '/docs/');
    assert.equal(docs.status, 200);
    assert.match(docs.text, /swagger/i);
  });
});
