/** GET /api/v1/sandboxes[/{id}]: filters, pagination, tenancy. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sandboxHarness, type ErrorBody, type SandboxHarness, type View } from './support.js';

type List = { items: View[]; next_cursor: string | null };

describe('sandboxes: get and list', () => {
  let h: SandboxHarness;
  const ids: Record<string, string> = {};
  before(async () => {
    h = await sandboxHarness({ config: { 'scheduler.sample': 1 } });
    await h.addWorker({ id: 'w-a', labels: { zone: 'a' } });
    await h.addWorker({ id: 'w-b', labels: { zone: 'b' } });
    // Distinct milliseconds: ids sort by creation time, which is the list order.
    const make = async (name: string, body: Record<string, unknown>, key = h.t.keys.apiA) => {
      h.t.clock.advance(1);
      const res = await h.create(body, { key });
      assert.equal(res.status, 201, res.text);
      ids[name] = res.json<View>().id;
    };
    await make('web1', { labels: { app: 'web', tier: 'front' }, selector: { zone: 'a' } });
    await make('web2', { labels: { app: 'web', tier: 'back' }, selector: { zone: 'b' } });
    await make('db', { labels: { app: 'db' }, selector: { zone: 'a' } });
    await make('other', { labels: { app: 'web' } }, h.t.keys.apiB);
    assert.equal((await h.t.request('DELETE', `/api/v1/sandboxes/${ids.db}`, { key: h.t.keys.apiA })).status, 200);
  });
  after(() => h.close());

  const list = async (qs: string, key = h.t.keys.apiA) => {
    const res = await h.t.request('GET', `/api/v1/sandboxes${qs}`, { key });
    assert.equal(res.status, 200, res.text);
    return res.json<List>();
  };

  it('GET one: the full view', async () => {
    const res = await h.t.request('GET', `/api/v1/sandboxes/${ids.web1}`, { key: h.t.keys.viewer });
    assert.equal(res.status, 200);
    const s = res.json<View>();
    assert.equal(s.id, ids.web1);
    assert.equal(s.worker_id, 'w-a');
    assert.deepEqual(s.selector, { zone: 'a' });
    assert.deepEqual(s.previews, {});
    for (const field of ['expires_at', 'created_at', 'updated_at', 'started_at']) assert.match(String(s[field]), /^\d{4}-\d\d-\d\dT.*Z$/, field);
  });

  it("another tenant's sandbox is 404, for reads and writes alike", async () => {
    for (const [method, url] of [
      ['GET', `/api/v1/sandboxes/${ids.web1}`],
      ['DELETE', `/api/v1/sandboxes/${ids.web1}`],
      ['POST', `/api/v1/sandboxes/${ids.web1}/extend`],
    ] as const) {
      const res = await h.t.request(method, url, { key: h.t.keys.apiB, ...(method === 'POST' ? { body: { ttl_ms: 60_000 } } : {}) });
      assert.equal(res.status, 404, `${method} ${url}`);
      assert.equal(res.json<ErrorBody>().error.code, 'not_found');
    }
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes/sbx_nope', { key: h.t.keys.apiA })).status, 404);
    assert.equal((await h.t.request('GET', `/api/v1/sandboxes/${ids.web1}`, { key: h.t.keys.apiA })).json<View>().state, 'running', 'B could not delete it');
  });

  it("a tenant lists only its own; operators and admins see all, admins may narrow with ?tenant=", async () => {
    assert.deepEqual((await list('')).items.map((s) => s.id), [ids.db, ids.web2, ids.web1], 'newest first');
    assert.deepEqual((await list('', h.t.keys.apiB)).items.map((s) => s.id), [ids.other]);
    assert.equal((await list('', h.t.keys.operator)).items.length, 4);
    assert.equal((await list('', h.t.keys.admin)).items.length, 4);
    assert.deepEqual((await list('?tenant=tenant-b', h.t.keys.admin)).items.map((s) => s.id), [ids.other]);
    assert.equal((await list('?tenant=tenant-b')).items.length, 3, '?tenant= is ignored for non-admins');
  });

  it('filters: state, worker_id, label=k=v (repeatable, all must match)', async () => {
    assert.deepEqual((await list('?state=stopped')).items.map((s) => s.id), [ids.db]);
    assert.deepEqual((await list('?state=running&worker_id=w-a')).items.map((s) => s.id), [ids.web1]);
    assert.deepEqual((await list('?label=app=web')).items.map((s) => s.id), [ids.web2, ids.web1]);
    assert.deepEqual((await list('?label=app=web&label=tier=back')).items.map((s) => s.id), [ids.web2]);
    assert.deepEqual((await list('?label=app=we')).items, []);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?label=novalue', { key: h.t.keys.apiA })).status, 400);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?state=bogus', { key: h.t.keys.apiA })).status, 400);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?lable=app=web', { key: h.t.keys.apiA })).status, 400, 'a misspelt filter is refused, not ignored');
  });

  it('pagination: limit and an opaque cursor, no overlap, until next_cursor is null', async () => {
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: List = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
      assert.ok(page.items.length <= 2);
      seen.push(...page.items.map((s) => s.id));
      cursor = page.next_cursor;
    } while (cursor);
    assert.deepEqual(seen, [ids.db, ids.web2, ids.web1]);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?limit=0', { key: h.t.keys.apiA })).status, 400);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?limit=1001', { key: h.t.keys.apiA })).status, 400);
    assert.equal((await h.t.request('GET', '/api/v1/sandboxes?cursor=garbage', { key: h.t.keys.apiA })).status, 400);
  });
});
