/** Templates: CRUD, tenancy, and spawning with overrides (the template route and `template` in a create). */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { SpawnParams } from '../../../src/protocol/rpc.js';
import { sandboxHarness, type ErrorBody, type SandboxHarness, type View } from './support.js';

type Template = { name: string; tenant_id: string; spec: Record<string, unknown>; created_at: string; updated_at: string };

describe('templates', () => {
  let h: SandboxHarness;
  before(async () => {
    h = await sandboxHarness();
    await h.addWorker({ id: 'w-1', labels: { zone: 'a' } });
  });
  after(() => h.close());

  const req = (method: string, url: string, body?: unknown, key = h.t.keys.apiA) => h.t.request(method, url, { key, ...(body !== undefined ? { body } : {}) });
  const spec = { image: 'node:22', cpu: 0.25, memory_mb: 256, env: { A: '1', B: '2' }, labels: { kind: 'tpl' }, selector: { zone: 'a' }, ttl_ms: 600_000 };

  it('create, conflict on the same name, get, list', async () => {
    const created = await req('POST', '/api/v1/templates', { name: 'node', spec });
    assert.equal(created.status, 201, created.text);
    assert.deepEqual(created.json<Template>().spec, spec);
    assert.equal(created.json<Template>().tenant_id, 'tenant-a');
    assert.equal((await req('POST', '/api/v1/templates', { name: 'node', spec: {} })).status, 409);
    assert.equal((await req('POST', '/api/v1/templates', { name: 'py', spec: { image: 'python:3' } })).status, 201);
    assert.deepEqual((await req('GET', '/api/v1/templates/node')).json<Template>().spec, spec);
    const page1 = (await req('GET', '/api/v1/templates?limit=1')).json<{ items: Template[]; next_cursor: string | null }>();
    assert.deepEqual(page1.items.map((t) => t.name), ['node']);
    const page2 = (await req('GET', `/api/v1/templates?limit=1&cursor=${page1.next_cursor}`)).json<{ items: Template[]; next_cursor: string | null }>();
    assert.deepEqual(page2.items.map((t) => t.name), ['py']);
    assert.equal(page2.next_cursor, null);
  });

  it('validates names and specs like a create', async () => {
    assert.equal((await req('POST', '/api/v1/templates', { name: 'Bad Name', spec: {} })).status, 400);
    assert.equal((await req('POST', '/api/v1/templates', { name: 'x', spec: { wait: true } })).status, 400, 'wait is not part of a template');
    assert.equal((await req('POST', '/api/v1/templates', { name: 'x', spec: { template: 'y' } })).status, 400);
    assert.equal((await req('POST', '/api/v1/templates', { name: 'x', spec: { cpu: 0 } })).status, 400);
  });

  it('templates are per tenant: B sees none of A and may reuse the name', async () => {
    assert.equal((await req('GET', '/api/v1/templates/node', undefined, h.t.keys.apiB)).status, 404);
    assert.deepEqual((await req('GET', '/api/v1/templates', undefined, h.t.keys.apiB)).json<{ items: unknown[] }>().items, []);
    assert.equal((await req('POST', '/api/v1/templates', { name: 'node', spec: { image: 'b-image' } }, h.t.keys.apiB)).status, 201);
    assert.equal((await req('GET', '/api/v1/templates/node')).json<Template>().spec.image, 'node:22');
    assert.equal((await req('GET', '/api/v1/templates/node?tenant=tenant-b', undefined, h.t.keys.admin)).json<Template>().spec.image, 'b-image');
    assert.equal((await req('POST', '/api/v1/templates/node/sandboxes', { wait: false }, h.t.keys.apiB)).status, 201);
  });

  it('spawn with overrides: scalars replaced, env/labels/selector merged key by key', async () => {
    const res = await req('POST', '/api/v1/templates/node/sandboxes', { memory_mb: 512, env: { B: 'override', C: '3' }, labels: { run: '1' } });
    assert.equal(res.status, 201, res.text);
    const s = res.json<View>();
    assert.equal(s.template, 'node');
    assert.equal(s.image, 'node:22');
    assert.deepEqual(s.resources, { cpu: 0.25, memory_mb: 512, disk_mb: 1024, pids: null });
    assert.deepEqual(s.labels, { kind: 'tpl', run: '1' });
    assert.equal(s.ttl_ms, 600_000);
    const spawn = h.workers[0]!.callsOf('worker.spawn').find((c) => (c.params as SpawnParams).sandbox_id === s.id);
    assert.deepEqual((spawn!.params as SpawnParams).spec.env, { A: '1', B: 'override', C: '3' });
    // `template` in a plain create does the same.
    const viaCreate = await h.create({ template: 'node', wait: false });
    assert.equal(viaCreate.status, 201);
    assert.equal(viaCreate.json<View>().image, 'node:22');
  });

  it('an unknown template is 404 for a spawn and for a create', async () => {
    assert.equal((await req('POST', '/api/v1/templates/ghost/sandboxes', {})).status, 404);
    const res = await h.create({ template: 'ghost' });
    assert.equal(res.status, 404);
    assert.equal(res.json<ErrorBody>().error.code, 'not_found');
  });

  it('PUT replaces (and creates); DELETE removes; sandboxes made from it stay', async () => {
    const put = await req('PUT', '/api/v1/templates/node', { spec: { image: 'node:24' } });
    assert.equal(put.status, 200);
    assert.deepEqual(put.json<Template>().spec, { image: 'node:24' });
    assert.equal((await req('PUT', '/api/v1/templates/fresh', { spec: {} })).status, 200);
    assert.equal((await req('DELETE', '/api/v1/templates/node')).status, 204);
    assert.equal((await req('DELETE', '/api/v1/templates/node')).status, 404);
    assert.equal((await req('GET', '/api/v1/templates/node')).status, 404);
    assert.equal((await req('GET', '/api/v1/templates/node', undefined, h.t.keys.apiB)).status, 200, "B's template of that name is untouched");
    const list = (await h.t.request('GET', '/api/v1/sandboxes', { key: h.t.keys.apiA })).json<{ items: View[] }>();
    assert.ok(list.items.some((s) => s.template === 'node'));
  });

  it('viewers read but cannot write', async () => {
    assert.equal((await req('GET', '/api/v1/templates', undefined, h.t.keys.viewer)).status, 200);
    assert.equal((await req('POST', '/api/v1/templates', { name: 'v', spec: {} }, h.t.keys.viewer)).status, 403);
    assert.equal((await req('POST', '/api/v1/templates/py/sandboxes', {}, h.t.keys.viewer)).status, 403);
  });
});
