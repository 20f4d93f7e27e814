/**
 * Security suite item 2: tenant B gets 404 for everything of tenant A's, and a B request aimed at A's
 * resource changes nothing; an admin sees both tenants and can narrow to one with ?tenant=.
 *
 * Resources are created with the store directly, so this file does not depend on the create routes.
 * A probe whose route is not registered yet (the not-found handler answers "no route for ...") is
 * reported as skipped with that reason, and runs as soon as the route exists. Before asserting that
 * B gets 404, each probe asserts that A gets 200 for the same URL, so a 404 for B means isolation, not
 * a broken fixture.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it, type TestContext } from 'node:test';
import { newId } from '../../../src/domain/ids.js';
import { keyIdOf, sandboxFor, taskFor } from '../admin/helpers.js';
import { startTestControlPlane, type TestControlPlane, type TestResponse } from '../support/harness.js';

const A = 'tenant-a';
const B = 'tenant-b';

const unregistered = (r: TestResponse) => r.status === 404 && /^no route for/.test(r.json<{ error?: { message?: string } }>()?.error?.message ?? '');

interface Listed {
  items: Array<Record<string, unknown>>;
}

describe('tenant isolation', () => {
  let t: TestControlPlane;
  let base: string;
  let sandboxA: string;
  let taskA: string;
  before(async () => {
    t = await startTestControlPlane();
    base = await t.app.listen({ host: '127.0.0.1', port: 0 });
    const now = t.clock.now();
    sandboxA = (await t.store.sandboxes.createSandbox(sandboxFor(A, now, { labels: { owner: 'a' } }))).id;
    await t.store.sandboxes.createSandbox(sandboxFor(B, now));
    taskA = (await t.store.tasks.submitTask(taskFor(A, now))).task.id;
    await t.store.tasks.submitTask(taskFor(B, now));
    await t.store.templates.putTemplate(A, 'tpl-a', { image: 'python' });
    await t.store.templates.putTemplate(B, 'tpl-b', { image: 'node' });
  });
  after(() => t.close());

  const as = (key: string, method: string, url: string, body?: unknown) => t.request(method, url, { key, body });

  /**
   * A resource of A's: A reads it; B gets 404 for it; every other request B aims at it is answered
   * exactly as the same request aimed at an id that does not exist (so B learns nothing), is never a
   * success, and leaves A's resource as it was.
   */
  const probes: Array<{
    name: string;
    id: () => string;
    missing: string;
    url: (id: string) => string;
    requests: (id: string) => Array<[string, string, unknown?]>;
    unchanged: () => Promise<unknown>;
  }> = [
    {
      name: 'sandbox',
      id: () => sandboxA,
      missing: newId('sbx', Date.UTC(2030, 0, 1)),
      url: (id) => `/api/v1/sandboxes/${id}`,
      requests: (id) => [
        ['DELETE', `/api/v1/sandboxes/${id}`],
        ['POST', `/api/v1/sandboxes/${id}/extend`, { ttl_ms: 60_000 }],
        ['POST', `/api/v1/sandboxes/${id}/exec`, { command: ['true'] }],
        ['POST', `/api/v1/sandboxes/${id}/processes`, { command: ['true'] }],
        ['GET', `/api/v1/sandboxes/${id}/processes`],
        ['GET', `/api/v1/sandboxes/${id}/files?path=/etc/hostname`],
        ['GET', `/api/v1/sandboxes/${id}/files/list?path=/`],
        ['GET', `/api/v1/sandboxes/${id}/logs`],
        ['GET', `/api/v1/sandboxes/${id}/ports/8080/`],
        ['POST', `/api/v1/sandboxes/${id}/ports/8080/token`, { ttl_ms: 60_000 }],
      ],
      unchanged: async () => {
        const s = await t.store.sandboxes.getSandbox({ kind: 'all' }, sandboxA);
        return { state: s?.state, expiresAt: s?.expiresAt };
      },
    },
    {
      name: 'task',
      id: () => taskA,
      missing: newId('tsk', Date.UTC(2030, 0, 1)),
      url: (id) => `/api/v1/tasks/${id}`,
      requests: (id) => [
        ['POST', `/api/v1/tasks/${id}/cancel`, {}],
        ['GET', `/api/v1/tasks/${id}/artifacts`],
      ],
      unchanged: async () => {
        const task = await t.store.tasks.getTask({ kind: 'all' }, taskA);
        return { state: task?.state, cancel: task?.cancelRequested };
      },
    },
    {
      name: 'template',
      id: () => 'tpl-a',
      missing: 'tpl-missing',
      url: (id) => `/api/v1/templates/${id}`,
      requests: (id) => [
        ['DELETE', `/api/v1/templates/${id}`],
        ['POST', `/api/v1/templates/${id}/sandboxes`, {}],
      ],
      unchanged: async () => (await t.store.templates.getTemplate({ kind: 'all' }, 'tpl-a'))?.spec,
    },
  ];

  const outcome = (r: TestResponse) => ({ status: r.status, code: r.json<{ error?: { code?: string } } | undefined>()?.error?.code });

  for (const p of probes) {
    it(`${p.name}: B gets 404 for A's, and B's requests against it change nothing`, async (ctx: TestContext) => {
      const own = await as(t.keys.apiA, 'GET', p.url(p.id()));
      if (unregistered(own)) return ctx.skip(`GET ${p.url(':id')} is not registered yet`);
      assert.equal(own.status, 200, `A reads its own ${p.name}: ${own.text}`);
      const before = await p.unchanged();
      const theirs = await as(t.keys.apiB, 'GET', p.url(p.id()));
      assert.equal(theirs.status, 404, `B must not see A's ${p.name}`);
      assert.equal(theirs.json<{ error: { code: string } }>().error.code, 'not_found');
      assert.ok(!theirs.text.includes(A), 'the 404 does not reveal the owner');
      const requests = p.requests(p.id());
      const controls = p.requests(p.missing);
      for (const [i, [method, url, body]] of requests.entries()) {
        const r = await as(t.keys.apiB, method, url, body);
        if (unregistered(r)) {
          ctx.diagnostic(`not registered yet, not checked: ${method} ${url.replace(p.id(), ':id')}`);
          continue;
        }
        const [, controlUrl, controlBody] = controls[i]!;
        const control = await as(t.keys.apiB, method, controlUrl, controlBody);
        assert.ok(r.status >= 400 && r.status < 500, `${method} ${url} as B must fail: ${r.status} ${r.text}`);
        assert.deepEqual(outcome(r), outcome(control), `${method} ${url} as B must look exactly like a missing ${p.name}`);
      }
      assert.deepEqual(await p.unchanged(), before, `A's ${p.name} is unchanged`);
    });
  }

  const lists = [
    { name: 'sandboxes', url: '/api/v1/sandboxes', idOf: (i: Record<string, unknown>) => String(i.id), aId: () => sandboxA },
    { name: 'tasks', url: '/api/v1/tasks', idOf: (i: Record<string, unknown>) => String(i.id), aId: () => taskA },
    { name: 'templates', url: '/api/v1/templates', idOf: (i: Record<string, unknown>) => String(i.name), aId: () => 'tpl-a' },
  ];

  for (const l of lists) {
    it(`${l.name} list: B sees none of A's; the admin sees both and narrows with ?tenant=`, async (ctx: TestContext) => {
      const b = await as(t.keys.apiB, 'GET', `${l.url}?limit=1000`);
      if (unregistered(b)) return ctx.skip(`GET ${l.url} is not registered yet`);
      assert.equal(b.status, 200, b.text);
      const bItems = b.json<Listed>().items;
      assert.ok(bItems.length > 0, 'B sees its own');
      assert.ok(!bItems.some((i) => l.idOf(i) === l.aId()), "B's list has none of A's");
      assert.ok(!b.text.includes(`"${A}"`), "no item of B's list names tenant A");
      // The viewer of tenant A sees A's; the operator sees every tenant.
      assert.ok((await as(t.keys.viewer, 'GET', `${l.url}?limit=1000`)).json<Listed>().items.some((i) => l.idOf(i) === l.aId()));
      const admin = (await as(t.keys.admin, 'GET', `${l.url}?limit=1000`)).json<Listed>().items;
      assert.ok(admin.some((i) => l.idOf(i) === l.aId()), 'the admin sees A');
      assert.ok(admin.some((i) => i.tenant_id === B), 'the admin sees B');
      const narrowed = (await as(t.keys.admin, 'GET', `${l.url}?limit=1000&tenant=${B}`)).json<Listed>().items;
      assert.ok(narrowed.length > 0 && narrowed.every((i) => i.tenant_id === B), 'the admin narrows to B');
      // ?tenant= is an admin's privilege: B asking for A's gets its own.
      const sneaky = (await as(t.keys.apiB, 'GET', `${l.url}?limit=1000&tenant=${A}`)).json<Listed | undefined>();
      assert.ok(!sneaky?.items?.some((i) => l.idOf(i) === l.aId()), 'B cannot widen its scope with ?tenant=');
    });
  }

  it("events: B's stream carries none of A's; the admin's carries both and narrows with ?tenant=", async (ctx: TestContext) => {
    const probe = await fetch(`${base}/api/v1/events`, { headers: { authorization: `Bearer ${t.keys.apiB}` }, signal: AbortSignal.timeout(5_000) });
    void probe.body?.cancel();
    if (probe.status === 404) return ctx.skip('GET /api/v1/events is not registered yet');
    await t.cp.events.emit({ type: 'sandbox.created', tenantId: A, resourceType: 'sandbox', resourceId: 'sbx_of_a', data: { secret_of_a: true } });
    await t.cp.events.emit({ type: 'sandbox.created', tenantId: B, resourceType: 'sandbox', resourceId: 'sbx_of_b', data: {} });
    await t.cp.events.emit({ type: 'test.marker', tenantId: A, resourceType: null, resourceId: 'marker-a', data: {} });
    await t.cp.events.emit({ type: 'test.marker', tenantId: B, resourceType: null, resourceId: 'marker-b', data: {} });

    // Streams replay from seq 0 in seq order, so once the stream's last marker arrives, everything
    // written before it that the caller may see has arrived too: no waiting on time.
    const bSeen = await readEvents(t.keys.apiB, '', 'marker-b');
    assert.ok(bSeen.includes('sbx_of_b'));
    assert.ok(!bSeen.includes('sbx_of_a') && !bSeen.includes('marker-a'), `B saw A's events: ${bSeen.join(',')}`);
    const adminAll = await readEvents(t.keys.admin, '', 'marker-b');
    assert.ok(adminAll.includes('sbx_of_a') && adminAll.includes('sbx_of_b'));
    const adminB = await readEvents(t.keys.admin, `&tenant=${B}`, 'marker-b');
    assert.ok(adminB.includes('sbx_of_b') && !adminB.includes('sbx_of_a'));
    // ?tenant= from a non-admin does not widen the scope.
    const sneaky = await readEvents(t.keys.apiB, `&tenant=${A}`, 'marker-b');
    assert.ok(!sneaky.includes('sbx_of_a'));
  });

  /** Resource ids of the events a caller's stream delivers, up to and including `until`. */
  async function readEvents(key: string, query: string, until: string): Promise<string[]> {
    const res = await fetch(`${base}/api/v1/events?after=0${query}`, { headers: { authorization: `Bearer ${key}` }, signal: AbortSignal.timeout(10_000) });
    assert.equal(res.status, 200);
    const seen: string[] = [];
    const decoder = new TextDecoder();
    let buffer = '';
    const reader = res.body!.getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        assert.ok(!done, `the stream ended before ${until}`);
        buffer += decoder.decode(value, { stream: true });
        let end: number;
        while ((end = buffer.indexOf('\n\n')) >= 0) {
          const frame = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          const data = frame.split('\n').find((l) => l.startsWith('data: '));
          if (!data) continue;
          const id = (JSON.parse(data.slice(6)) as { resource_id: string | null }).resource_id ?? '';
          seen.push(id);
          if (id === until) return seen;
        }
      }
    } finally {
      await reader.cancel().catch(() => undefined);
    }
  }

  it("audit: the admin sees both tenants' records and narrows with ?tenant=; nobody else reads it", async () => {
    await t.cp.audit({ actorType: 'key', actorId: 'key_a', tenantId: A, action: 'iso.test', resourceType: 'sandbox', resourceId: 'res-a', outcome: 'ok', requestId: null, remoteAddr: null });
    await t.cp.audit({ actorType: 'key', actorId: 'key_b', tenantId: B, action: 'iso.test', resourceType: 'sandbox', resourceId: 'res-b', outcome: 'ok', requestId: null, remoteAddr: null });
    const all = (await as(t.keys.admin, 'GET', '/api/v1/admin/audit?action=iso.test')).json<Listed>().items.map((i) => i.resource_id);
    assert.deepEqual(new Set(all), new Set(['res-a', 'res-b']));
    const onlyB = (await as(t.keys.admin, 'GET', `/api/v1/admin/audit?action=iso.test&tenant=${B}`)).json<Listed>().items.map((i) => i.resource_id);
    assert.deepEqual(onlyB, ['res-b']);
    for (const key of [t.keys.apiA, t.keys.apiB, t.keys.viewer, t.keys.operator]) assert.equal((await as(key, 'GET', '/api/v1/admin/audit')).status, 403);
  });

  it("keys: the admin narrows with ?tenant=; B can neither list nor revoke A's keys", async () => {
    const aKeyId = await keyIdOf(t, t.keys.apiA);
    const onlyB = (await as(t.keys.admin, 'GET', `/api/v1/admin/keys?tenant=${B}`)).json<Listed>().items;
    assert.ok(onlyB.length > 0 && onlyB.every((k) => k.tenant_id === B));
    const all = (await as(t.keys.admin, 'GET', '/api/v1/admin/keys?limit=1000')).json<Listed>().items;
    assert.ok(all.some((k) => k.id === aKeyId) && all.some((k) => k.tenant_id === B));
    assert.equal((await as(t.keys.apiB, 'GET', '/api/v1/admin/keys')).status, 403);
    assert.equal((await as(t.keys.apiB, 'DELETE', `/api/v1/admin/keys/${aKeyId}`)).status, 403);
    assert.equal((await as(t.keys.apiA, 'GET', '/api/v1/quota')).status, 200, "A's key still works");
  });

  it("quota: a key reads only its own tenant's usage, whatever ?tenant= says", async () => {
    const r = await as(t.keys.apiB, 'GET', `/api/v1/quota?tenant=${A}`);
    assert.equal(r.status, 200);
    assert.equal(r.json<{ tenant_id: string }>().tenant_id, B);
  });
});
