/**
 * `drover keys|worker-tokens|tenants|audit|workers|leases` as a user runs them: the built CLI in a child
 * process against a control plane on loopback. Checks tables, --json, exit codes, and that no secret
 * is printed except the one `keys create` / `worker-tokens create` exist to show.
 */
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { sdkHarness, type SdkHarness } from '../sdk/support.js';
import { cliFor, emptyDir, run, type RunResult } from './api-support.js';

const REQUEST_ID = /\(request [\w-]+\)/;

describe('cli: administration commands', () => {
  let s: SdkHarness;
  let admin: ReturnType<typeof cliFor>;
  /** Every output the admin key could have leaked into. */
  const outputs: RunResult[] = [];
  const adminRun = async (args: string[]) => {
    const r = await admin(args);
    outputs.push(r);
    return r;
  };

  before(async () => {
    s = await sdkHarness();
    admin = cliFor(s.url, s.h.t.keys.admin);
    await s.h.addWorker({ id: 'w-1', labels: { zone: 'a' } });
    await s.h.addWorker({ id: 'w-2' });
  });
  after(async () => {
    for (const r of outputs) assert.ok(!r.stdout.includes(s.h.t.keys.admin) && !r.stderr.includes(s.h.t.keys.admin), 'the API key in use is never printed');
    await s.close();
  });

  it('keys create prints the key once; ls and revoke never show it', async () => {
    const created = await adminRun(['keys', 'create', '--role', 'api', '--tenant', 'acme', '--name', 'ci']);
    assert.equal(created.code, 0, created.stderr);
    const key = /^(drv_\S+)$/m.exec(created.stdout)?.[1];
    assert.ok(key, created.stdout);
    assert.match(created.stdout, /^ID\s+NAME\s+ROLE\s+TENANT/m);
    assert.match(created.stdout, /shown only now/);
    const id = /^(key_\S+)/m.exec(created.stdout)?.[1];
    assert.ok(id);

    const asJson = await adminRun(['keys', 'create', '--role', 'viewer', '--tenant', 'acme', '--json']);
    const body = JSON.parse(asJson.stdout) as { id: string; key: string; role: string };
    assert.match(body.key, /^drv_/);
    assert.equal(body.role, 'viewer');

    const ls = await adminRun(['keys', 'ls', '--tenant', 'acme']);
    assert.equal(ls.code, 0, ls.stderr);
    assert.match(ls.stdout, new RegExp(`^${id}\\s+ci\\s+api\\s+acme`, 'm'));
    const lsJson = await adminRun(['keys', 'ls', '--tenant', 'acme', '--json']);
    assert.equal((JSON.parse(lsJson.stdout) as { items: unknown[] }).items.length, 2);
    for (const r of [ls, lsJson]) assert.ok(!r.stdout.includes(key!) && !r.stdout.includes(body.key), 'no secret in a listing');

    // The new key works through the environment, and stops working once revoked.
    const quota = await run(['tenants', 'quota', '--json'], { env: { DROVER_URL: s.url, DROVER_API_KEY: key! } });
    assert.equal(quota.code, 0, quota.stderr);
    assert.equal((JSON.parse(quota.stdout) as { tenant_id: string }).tenant_id, 'acme');
    assert.ok(!quota.stdout.includes(key!) && !quota.stderr.includes(key!));
    const revoked = await adminRun(['keys', 'revoke', id!]);
    assert.match(revoked.stdout, new RegExp(`key ${id} revoked at `));
    const refused = await run(['tenants', 'quota'], { env: { DROVER_URL: s.url, DROVER_API_KEY: key! } });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /^drover: unauthorized: .+ \(request [\w-]+\)\n$/);
    assert.ok(!refused.stderr.includes(key!), 'a rejected key is not echoed');
  });

  it('worker-tokens create (token shown once), ls, revoke', async () => {
    const created = await adminRun(['worker-tokens', 'create', '--worker', 'w-9', '--scope', 'worker:heartbeat', '--scope', 'worker:lease', '--ttl', '30d', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const t = JSON.parse(created.stdout) as { id: string; token: string; scopes: string[]; expires_at: string };
    assert.match(t.token, /^dwt_/);
    assert.deepEqual(t.scopes, ['worker:heartbeat', 'worker:lease']);
    assert.ok(t.expires_at);
    const ls = await adminRun(['worker-tokens', 'ls']);
    assert.match(ls.stdout, new RegExp(`^${t.id}\\s+w-9\\s+-\\s+worker:heartbeat,worker:lease`, 'm'));
    assert.ok(!ls.stdout.includes(t.token));
    assert.equal((await adminRun(['worker-tokens', 'revoke', t.id])).code, 0);
    const bad = await adminRun(['worker-tokens', 'create', '--scope', 'worker:everything']);
    assert.equal(bad.code, 2, 'an unknown scope is a usage error');
  });

  it('tenants: create, get, update, quota --set and show, own quota, rm', async () => {
    assert.match((await adminRun(['tenants', 'create', 'globex', '--name', 'Globex'])).stdout, /tenant globex created/);
    const got = await adminRun(['tenants', 'get', 'globex']);
    assert.match(got.stdout, /^id:\s+globex$/m);
    assert.match(got.stdout, /^name:\s+Globex$/m);
    assert.match((await adminRun(['tenants', 'update', 'globex', '--name', 'Globex Corp'])).stdout, /now named "Globex Corp"/);

    const set = await adminRun(['tenants', 'quota', 'globex', '--set', 'max_sandboxes=5', '--set', 'max_cpu=2.5', '--set', 'max_ttl_ms=2h', '--set', 'max_memory_mb=4GiB', '--json']);
    assert.equal(set.code, 0, set.stderr);
    const q = JSON.parse(set.stdout) as Record<string, unknown>;
    assert.deepEqual([q.max_sandboxes, q.max_cpu, q.max_ttl_ms, q.max_memory_mb, q.max_running_tasks], [5, 2.5, 7_200_000, 4096, null]);
    const shown = await adminRun(['tenants', 'quota', 'globex']);
    assert.match(shown.stdout, /^max_sandboxes\s+5$/m);
    assert.match(shown.stdout, /^max_running_tasks\s+unlimited$/m);
    const unset = await adminRun(['tenants', 'quota', 'globex', '--set', 'max_sandboxes=unlimited', '--json']);
    assert.equal((JSON.parse(unset.stdout) as Record<string, unknown>).max_sandboxes, null);

    const own = await cliFor(s.url, s.h.t.keys.apiA)(['tenants', 'quota']);
    assert.equal(own.code, 0, own.stderr);
    assert.match(own.stdout, /^tenant tenant-a$/m);
    assert.match(own.stdout, /^LIMIT\s+VALUE\s+USED$/m);

    assert.match((await adminRun(['tenants', 'ls'])).stdout, /^globex\s+Globex Corp/m);
    assert.match((await adminRun(['tenants', 'rm', 'globex'])).stdout, /tenant globex deleted/);
  });

  it('exit codes: 1 with code, message and request id on an API error; 2 on usage errors', async () => {
    const missing = await adminRun(['tenants', 'get', 'nope']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^drover: not_found: tenant nope not found /);
    assert.match(missing.stderr, REQUEST_ID);
    assert.equal(missing.stdout, '');

    const forbidden = await cliFor(s.url, s.h.t.keys.viewer)(['keys', 'ls']);
    assert.equal(forbidden.code, 1);
    assert.match(forbidden.stderr, /^drover: forbidden: /);

    const usage = await Promise.all([
      adminRun(['tenants', 'quota', 'x', '--set', 'max_bananas=1']),
      adminRun(['tenants', 'quota', 'x', '--set', 'max_sandboxes=many']),
      adminRun(['tenants', 'quota', '--set', 'max_sandboxes=1']),
      adminRun(['keys', 'create', '--tenant', 'acme']),
      adminRun(['keys', 'create', '--role', 'root', '--tenant', 'acme']),
      adminRun(['tenants', 'get']),
      adminRun(['workers', 'frobnicate']),
      adminRun(['workers', 'ls', '--limit', '0']),
      adminRun(['workers', 'drain', 'w-1', '--deadline', 'soon']),
      adminRun(['leases', 'ls', '--expired', '--live']),
    ]);
    usage.forEach((r, i) => assert.equal(r.code, 2, `case ${i}: ${r.stderr}`));

    const unreachable = await run(['--url', 'http://127.0.0.1:1', 'workers', 'ls']);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /cannot reach the Drover control plane at http:\/\/127\.0\.0\.1:1/);
  });

  it('workers: ls (table and json), get, cordon, uncordon, drain, rm', async () => {
    const ls = await adminRun(['workers', 'ls']);
    assert.equal(ls.code, 0, ls.stderr);
    const [header, ...rows] = ls.stdout.trimEnd().split('\n');
    assert.match(header!, /^ID\s+STATUS\s+FLAGS\s+SANDBOXES\s+CPU\s+MEMORY_MB\s+PROVIDERS\s+LAST_HEARTBEAT$/);
    assert.deepEqual(rows.map((r) => r.split(/\s+/).slice(0, 6)).sort(), [
      ['w-1', 'online', '-', '0/10', '0/4', '0/8192'],
      ['w-2', 'online', '-', '0/10', '0/4', '0/8192'],
    ]);
    const json = JSON.parse((await adminRun(['workers', 'ls', '--json'])).stdout) as { items: { id: string }[]; next_cursor: null };
    assert.equal(json.items.length, 2);
    assert.equal(json.next_cursor, null);
    const paged = await adminRun(['workers', 'ls', '--limit', '1']);
    assert.equal(paged.stdout.trimEnd().split('\n').length, 2, 'one row under the header');
    assert.match(paged.stderr, /more results: add --cursor \S+ \(or --all\)/);
    assert.equal((await adminRun(['workers', 'ls', '--limit', '1', '--all'])).stdout.trimEnd().split('\n').length, 3);
    for (const r of [ls, paged]) for (const w of s.h.workers) assert.ok(!r.stdout.includes(w.secret), 'no rpc secret');

    const get = await adminRun(['workers', 'get', 'w-1']);
    assert.match(get.stdout, /^id:\s+w-1$/m);
    assert.match(get.stdout, /^sandboxes \(0\):$/m);

    const op = cliFor(s.url, s.h.t.keys.operator);
    assert.match((await op(['workers', 'cordon', 'w-2'])).stdout, /^worker w-2 cordoned \(status online, cordoned\)$/m);
    assert.match((await op(['workers', 'ls'])).stdout, /^w-2\s+online\s+cordoned\s/m);
    assert.match((await op(['workers', 'uncordon', 'w-2'])).stdout, /^worker w-2 uncordoned/m);
    const drain = await op(['workers', 'drain', 'w-2', '--deadline', '10m', '--no-migrate', '--json']);
    assert.equal(drain.code, 0, drain.stderr);
    const drained = JSON.parse(drain.stdout) as { status: string; drain: { migrate: boolean; deadline: string } };
    assert.equal(drained.drain.migrate, false);
    assert.equal(Date.parse(drained.drain.deadline), s.h.t.clock.now() + 600_000);

    const rmByOperator = await op(['workers', 'rm', 'w-2']);
    assert.equal(rmByOperator.code, 1, 'rm needs admin');
    const rm = await adminRun(['workers', 'rm', 'w-2']);
    assert.equal(rm.code, 0, rm.stderr);
    assert.match(rm.stdout, /^worker w-2 removed; 0 lease\(s\) expired$/m);
    assert.match((await adminRun(['workers', 'repair-heartbeat', 'w-1'])).stdout, /^worker w-1 heartbeat recorded/m);
  });

  it('leases ls and audit ls (table, json, csv with --all)', async () => {
    const sbx = await s.apiA.sandboxes.create({});
    const leases = await adminRun(['leases', 'ls', '--holder', 'w-1', '--live']);
    assert.equal(leases.code, 0, leases.stderr);
    assert.match(leases.stdout, new RegExp(`^sandbox\\s+${sbx.id}\\s+w-1\\s+1\\s+\\S+\\s+live$`, 'm'));

    const table = await adminRun(['audit', 'ls', '--action', 'admin.tenants.create']);
    assert.match(table.stdout, /^AT\s+ACTOR\s+TENANT\s+ACTION\s+RESOURCE\s+OUTCOME\s+REQUEST$/m);
    assert.match(table.stdout, /admin\.tenants\.create\s+-\s+ok/);
    const json = JSON.parse((await adminRun(['audit', 'ls', '--format', 'json', '--limit', '1'])).stdout) as { items: unknown[]; next_cursor: string };
    assert.equal(json.items.length, 1);
    assert.ok(json.next_cursor);

    const all = await adminRun(['audit', 'ls', '--format', 'csv', '--all', '--limit', '2']);
    assert.equal(all.code, 0, all.stderr);
    const lines = all.stdout.trimEnd().split('\r\n');
    assert.equal(lines.filter((l) => l.startsWith('id,at,actor_type')).length, 1, 'one header for the whole export');
    const everything = JSON.parse((await adminRun(['audit', 'ls', '--all', '--json'])).stdout) as { items: unknown[] };
    assert.equal(lines.length - 1, everything.items.length, 'every record, once');
    assert.equal((await adminRun(['audit', 'ls', '--json', '--format', 'csv'])).code, 2);
  });

  it('with no flags and no environment, the key comes from ./drover-data/admin.key', async () => {
    const dir = emptyDir();
    mkdirSync(join(dir, 'drover-data'));
    writeFileSync(join(dir, 'drover-data', 'admin.key'), `${s.h.t.keys.admin}\n`, { mode: 0o600 });
    const r = await run(['tenants', 'ls', '--json'], { cwd: dir, env: { DROVER_URL: s.url } });
    outputs.push(r);
    assert.equal(r.code, 0, r.stderr);
    assert.ok((JSON.parse(r.stdout) as { items: { id: string }[] }).items.some((t) => t.id === 'default'));
    const flagWins = await run(['--api-key', s.h.t.keys.viewer, 'tenants', 'ls'], { cwd: dir, env: { DROVER_URL: s.url } });
    assert.equal(flagWins.code, 1, '--api-key overrides the file');
    const noKey = await run(['tenants', 'ls'], { env: { DROVER_URL: s.url } });
    assert.match(noKey.stderr, /^drover: unauthorized: /);
  });
});
