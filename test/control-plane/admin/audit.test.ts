import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { csvField, toCsv } from '../../../src/control-plane/routes/admin-csv.js';
import { startTestControlPlane, type TestControlPlane } from '../support/harness.js';
import { keyIdOf } from './helpers.js';

interface AuditView {
  id: string;
  at: string;
  actor_type: string;
  actor_id: string | null;
  tenant_id: string | null;
  action: string;
  resource_type: string | null;
  resource_id: string | null;
  outcome: string;
  request_id: string | null;
  remote_addr: string | null;
  details: Record<string, unknown> | null;
}
type AuditPage = { items: AuditView[]; next_cursor: string | null };

/** A small RFC 4180 parser, so the test reads the CSV the way a spreadsheet would. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  assert.equal(field, '', 'the CSV ends with CRLF');
  return rows;
}

describe('admin: audit log', () => {
  let t: TestControlPlane;
  before(async () => (t = await startTestControlPlane()));
  after(() => t.close());
  const audit = async (query = '') => {
    const r = await t.request('GET', `/api/v1/admin/audit${query}`, { key: t.keys.admin });
    assert.equal(r.status, 200, r.text);
    return r.json<AuditPage>();
  };

  it('records every mutation with actor, tenant, action, outcome, request id and remote address', async () => {
    const adminId = await keyIdOf(t, t.keys.admin);
    const created = await t.request('POST', '/api/v1/admin/keys', { key: t.keys.admin, body: { role: 'api', tenant_id: 'audited' }, headers: { 'x-request-id': 'req-create-1' } });
    assert.equal(created.status, 201);
    const keyId = created.json<{ id: string }>().id;
    // Audit ids order by the millisecond they were written in; within one ms their order is random.
    t.clock.advance(1);
    await t.request('DELETE', `/api/v1/admin/keys/${keyId}`, { key: t.keys.admin, headers: { 'x-request-id': 'req-revoke-1' } });

    const page = await audit('?actor_id=' + adminId);
    const create = page.items.find((i) => i.request_id === 'req-create-1');
    assert.ok(create, 'the create is audited');
    assert.deepEqual(
      { actor_type: create.actor_type, actor_id: create.actor_id, tenant_id: create.tenant_id, action: create.action, outcome: create.outcome, remote_addr: create.remote_addr },
      { actor_type: 'key', actor_id: adminId, tenant_id: 'default', action: 'admin.keys.create', outcome: 'ok', remote_addr: '127.0.0.1' },
    );
    assert.equal(new Date(create.at).toISOString(), create.at);
    // A create names what it made (the key's id, never the key).
    assert.deepEqual({ resource_type: create.resource_type, resource_id: create.resource_id }, { resource_type: 'api_key', resource_id: keyId });
    const revoke = page.items.find((i) => i.request_id === 'req-revoke-1');
    assert.deepEqual(
      { action: revoke?.action, resource_type: revoke?.resource_type, resource_id: revoke?.resource_id, outcome: revoke?.outcome },
      { action: 'admin.keys.revoke', resource_type: 'api_key', resource_id: keyId, outcome: 'ok' },
    );
    // Newest first.
    assert.ok(page.items.indexOf(revoke!) < page.items.indexOf(create));
    // Reads are not audited.
    assert.ok(!page.items.some((i) => i.action.endsWith('.list')));
    // No secret in the audit log.
    assert.ok(!JSON.stringify(page).includes(created.json<{ key: string }>().key));
  });

  it('records denied attempts and failed ones', async () => {
    const viewerId = await keyIdOf(t, t.keys.viewer);
    const denied = await t.request('POST', '/api/v1/admin/keys', { key: t.keys.viewer, body: { role: 'admin', tenant_id: 'tenant-a' }, headers: { 'x-request-id': 'req-denied-1' } });
    assert.equal(denied.status, 403);
    const anonymous = await t.request('DELETE', '/api/v1/admin/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV', { headers: { 'x-request-id': 'req-anon-1' } });
    assert.equal(anonymous.status, 401);
    const bogus = await t.request('POST', '/api/v1/admin/tenants', { key: 'drv_not-a-real-key', body: { id: 'x' }, headers: { 'x-request-id': 'req-bogus-1' } });
    assert.equal(bogus.status, 401);
    const missing = await t.request('DELETE', '/api/v1/admin/keys/key_01ARZ3NDEKTSV4RRFFQ69G5FAV', { key: t.keys.admin, headers: { 'x-request-id': 'req-missing-1' } });
    assert.equal(missing.status, 404);

    const all = (await audit('?limit=1000')).items;
    const byRequest = (id: string) => all.find((i) => i.request_id === id);
    assert.deepEqual(
      { actor_id: byRequest('req-denied-1')?.actor_id, tenant_id: byRequest('req-denied-1')?.tenant_id, outcome: byRequest('req-denied-1')?.outcome, details: byRequest('req-denied-1')?.details },
      { actor_id: viewerId, tenant_id: 'tenant-a', outcome: 'denied', details: { code: 'forbidden' } },
    );
    assert.deepEqual(
      { actor_type: byRequest('req-anon-1')?.actor_type, outcome: byRequest('req-anon-1')?.outcome, resource_id: byRequest('req-anon-1')?.resource_id },
      { actor_type: 'anonymous', outcome: 'denied', resource_id: 'key_01ARZ3NDEKTSV4RRFFQ69G5FAV' },
    );
    assert.equal(byRequest('req-bogus-1')?.outcome, 'denied');
    assert.equal(byRequest('req-bogus-1')?.action, 'admin.tenants.create');
    assert.deepEqual({ outcome: byRequest('req-missing-1')?.outcome, details: byRequest('req-missing-1')?.details }, { outcome: 'error', details: { code: 'not_found' } });
    assert.ok(!JSON.stringify(all).includes('drv_not-a-real-key'), 'a presented (wrong) key is not recorded');
  });

  it('filters by action, actor, resource and tenant, and pages', async () => {
    await t.cp.audit({ actorType: 'system', actorId: 'sweeper', tenantId: 'tenant-b', action: 'sandbox.expire', resourceType: 'sandbox', resourceId: 'sbx_1', outcome: 'ok', requestId: null, remoteAddr: null });
    t.clock.advance(1);
    await t.cp.audit({ actorType: 'system', actorId: 'sweeper', tenantId: 'tenant-b', action: 'sandbox.expire', resourceType: 'sandbox', resourceId: 'sbx_2', outcome: 'ok', requestId: null, remoteAddr: null });
    t.clock.advance(1);
    await t.cp.audit({ actorType: 'system', actorId: 'sweeper', tenantId: 'tenant-a', action: 'sandbox.expire', resourceType: 'sandbox', resourceId: 'sbx_3', outcome: 'ok', requestId: null, remoteAddr: null });

    assert.deepEqual((await audit('?action=sandbox.expire')).items.map((i) => i.resource_id), ['sbx_3', 'sbx_2', 'sbx_1']);
    assert.deepEqual((await audit('?action=sandbox.expire&tenant=tenant-b')).items.map((i) => i.resource_id), ['sbx_2', 'sbx_1']);
    assert.deepEqual((await audit('?resource_id=sbx_2')).items.map((i) => i.resource_id), ['sbx_2']);
    assert.equal((await audit('?actor_id=sweeper')).items.length, 3);
    assert.equal((await audit('?actor_id=nobody')).items.length, 0);

    const first = await audit('?action=sandbox.expire&limit=2');
    assert.equal(first.items.length, 2);
    assert.ok(first.next_cursor);
    const second = await audit(`?action=sandbox.expire&limit=2&cursor=${first.next_cursor}`);
    assert.deepEqual(second.items.map((i) => i.resource_id), ['sbx_1']);
    assert.equal(second.next_cursor, null);

    const bad = await t.request('GET', '/api/v1/admin/audit?cursor=forged', { key: t.keys.admin });
    assert.equal(bad.status, 400);
    assert.equal((await t.request('GET', '/api/v1/admin/audit?limit=5000', { key: t.keys.admin })).status, 400);
    assert.equal((await t.request('GET', '/api/v1/admin/audit', { key: t.keys.operator })).status, 403);
  });

  it('exports CSV with a header row and proper quoting', async () => {
    const nasty = 'a,b "quoted"\r\nline two';
    await t.cp.audit({
      actorType: 'key',
      actorId: 'key_csv',
      tenantId: 'tenant-csv',
      action: 'csv.test',
      resourceType: 'sandbox',
      resourceId: nasty,
      outcome: 'error',
      requestId: '=cmd|calc',
      remoteAddr: '::1',
      details: { code: 'x', note: 'y,z' },
    });
    t.clock.advance(1);
    await t.cp.audit({ actorType: 'key', actorId: 'key_csv', tenantId: 'tenant-csv', action: 'csv.test', resourceType: null, resourceId: 'plain', outcome: 'ok', requestId: null, remoteAddr: null });
    const r = await t.request('GET', '/api/v1/admin/audit?format=csv&tenant=tenant-csv', { key: t.keys.admin });
    assert.equal(r.status, 200);
    assert.match(String(r.headers['content-type']), /^text\/csv/);
    const rows = parseCsv(r.text);
    assert.deepEqual(rows[0], ['id', 'at', 'actor_type', 'actor_id', 'tenant_id', 'action', 'resource_type', 'resource_id', 'outcome', 'request_id', 'remote_addr', 'details']);
    assert.equal(rows.length, 3);
    const [plain, tricky] = [rows[1]!, rows[2]!];
    assert.equal(plain[7], 'plain');
    assert.equal(plain[6], '', 'null is an empty field');
    assert.equal(tricky[7], nasty, 'commas, quotes and line breaks survive a round trip');
    assert.equal(tricky[9], "'=cmd|calc", 'a formula-looking field is neutralised');
    assert.deepEqual(JSON.parse(tricky[11]!), { code: 'x', note: 'y,z' });
    assert.equal(new Date(tricky[1]!).toISOString(), tricky[1]);
    assert.equal(r.headers['x-next-cursor'], undefined);

    const paged = await t.request('GET', '/api/v1/admin/audit?format=csv&tenant=tenant-csv&limit=1', { key: t.keys.admin });
    assert.equal(parseCsv(paged.text).length, 2);
    assert.ok(paged.headers['x-next-cursor']);
  });

  it('csvField and toCsv (pure)', () => {
    assert.equal(csvField(null), '');
    assert.equal(csvField(12), '12');
    assert.equal(csvField('x'), 'x');
    assert.equal(csvField('a"b'), '"a""b"');
    assert.equal(csvField('-1'), "'-1");
    assert.equal(csvField('+x,y'), `"'+x,y"`);
    assert.equal(csvField({ a: '"' }), '"{""a"":""\\""""}"');
    assert.equal(toCsv(['a', 'b'], [{ a: 1, b: null }]), 'a,b\r\n1,\r\n');
    assert.equal(toCsv(['a'], []), 'a\r\n');
  });
});
