/**
 * `drover sandbox|template` as a user runs them: the built CLI in a child process against a control
 * plane on loopback with a fake worker behind it.
 */
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { SpawnParams } from '../../src/protocol/rpc.js';
import type { SandboxView, TemplateView } from '../../src/sdk/index.js';
import { sdkHarness, type SdkHarness } from '../sdk/support.js';
import { cliFor, emptyDir } from './api-support.js';

describe('cli: sandbox and template commands', () => {
  let s: SdkHarness;
  let cli: ReturnType<typeof cliFor>;
  before(async () => {
    s = await sdkHarness();
    cli = cliFor(s.url, s.h.t.keys.apiA);
    await s.h.addWorker({ id: 'w-1', labels: { zone: 'a' } });
  });
  after(() => s.close());

  const spawnOf = (id: string) => s.h.workers[0]!.callsOf('worker.spawn').find((c) => (c.params as SpawnParams).sandbox_id === id)!.params as SpawnParams;

  it('create from flags waits until running and prints the summary', async () => {
    const r = await cli(['sandbox', 'create', '--cpu', '0.5', '--memory', '1GiB', '--ttl', '2h', '-e', 'TOKEN=hunter2', '-e', 'MODE=a=b', '-l', 'app=web', '--selector', 'zone=a', '-p', '8080']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr, '', 'no spinner when stderr is not a terminal');
    const id = /^id:\s+(sbx_\S+)$/m.exec(r.stdout)?.[1];
    assert.ok(id, r.stdout);
    assert.match(r.stdout, /^state:\s+running$/m);
    assert.match(r.stdout, /^worker:\s+w-1$/m);
    assert.match(r.stdout, /^resources:\s+cpu 0\.5, memory 1024 MiB, disk 1024 MiB$/m);
    assert.match(r.stdout, /^env:\s+MODE,TOKEN$|^env:\s+TOKEN,MODE$/m);
    assert.ok(!r.stdout.includes('hunter2'), 'env values are never shown');
    const spec = spawnOf(id!).spec;
    assert.deepEqual([spec.cpu, spec.memory_mb, spec.env], [0.5, 1024, { TOKEN: 'hunter2', MODE: 'a=b' }]);
    const view = await s.apiA.sandboxes.get(id!);
    assert.equal(view.ttl_ms, 7_200_000);
    assert.deepEqual(view.ports, [8080]);
    assert.deepEqual(view.labels, { app: 'web' });
  });

  it('create from --file (or stdin) with flags on top; --json; --no-wait; idempotency key', async () => {
    const dir = emptyDir();
    const file = join(dir, 'spec.json');
    writeFileSync(file, JSON.stringify({ cpu: 0.25, labels: { app: 'api', tier: 'x' }, env: { A: '1' } }));
    const r = await cli(['sandbox', 'create', '--file', file, '-l', 'tier=y', '--memory', '300', '--json', '--idempotency-key', 'k-1']);
    assert.equal(r.code, 0, r.stderr);
    const v = JSON.parse(r.stdout) as SandboxView;
    assert.equal(v.state, 'running');
    assert.deepEqual(v.resources, { cpu: 0.25, memory_mb: 300, disk_mb: 1024, pids: null });
    assert.deepEqual(v.labels, { app: 'api', tier: 'y' }, 'maps merge key by key; the flag wins');
    const replay = JSON.parse((await cli(['sandbox', 'create', '--file', file, '-l', 'tier=y', '--memory', '300', '--json', '--idempotency-key', 'k-1'])).stdout) as SandboxView;
    assert.equal(replay.id, v.id);

    const fromStdin = await cli(['sandbox', 'create', '--file', '-', '--no-wait', '--json'], { stdin: '{"labels": {"via": "stdin"}}' });
    assert.equal(fromStdin.code, 0, fromStdin.stderr);
    const sv = JSON.parse(fromStdin.stdout) as SandboxView;
    assert.deepEqual(sv.labels, { via: 'stdin' });
  });

  it('bad input is a usage error (2) before anything is sent; an API refusal is 1', async () => {
    const before = s.h.workers[0]!.callsOf('worker.spawn').length;
    const cases = await Promise.all([
      cli(['sandbox', 'create', '--cpu', 'lots']),
      cli(['sandbox', 'create', '--cpu', '0']),
      cli(['sandbox', 'create', '--network', 'internet']),
      cli(['sandbox', 'create', '-e', 'NOEQUALS']),
      cli(['sandbox', 'create', '--ttl', 'forever']),
      cli(['sandbox', 'create', '--service-port', '8080']),
      cli(['sandbox', 'create', '--file', '-'], { stdin: '[1, 2]' }),
      cli(['sandbox', 'create', '--file', '-'], { stdin: '{"cpus": 2}' }),
      cli(['sandbox', 'create', '--file', '/nonexistent/spec.json']),
      cli(['sandbox', 'ls', '--state', 'sleeping']),
      cli(['sandbox', 'extend', 'sbx_x']),
      cli(['sandbox', 'get']),
    ]);
    cases.forEach((r, i) => assert.equal(r.code, 2, `case ${i}: ${r.stderr}`));
    assert.match(cases[1]!.stderr, /invalid sandbox spec:\n {2}cpu: /);
    assert.match(cases[7]!.stderr, /unknown field\(s\) cpus/);
    assert.equal(s.h.workers[0]!.callsOf('worker.spawn').length, before, 'nothing was created');

    // Valid on its face, refused by the server (over sandboxes.max_ttl): an API error, exit 1.
    const tooLong = await cli(['sandbox', 'create', '--ttl', '30d']);
    assert.equal(tooLong.code, 1);
    assert.match(tooLong.stderr, /^drover: bad_request: .+\(request [\w-]+\)\n$/);
    const missing = await cli(['sandbox', 'get', 'sbx_missing']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /^drover: not_found: /);
  });

  it('ls (table, filters, json), get, extend, rm', async () => {
    const ls = await cli(['sandbox', 'ls', '-l', 'app=web']);
    assert.equal(ls.code, 0, ls.stderr);
    const lines = ls.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, /^ID\s+STATE\s+WORKER\s+PROVIDER\s+SOURCE\s+CPU\s+MEMORY_MB\s+EXPIRES_AT\s+LABELS$/);
    assert.equal(lines.length, 2);
    const id = lines[1]!.split(/\s+/)[0]!;
    assert.match(lines[1]!, /\srunning\s+w-1\s/);
    const all = JSON.parse((await cli(['sandbox', 'ls', '--json', '--all', '--limit', '1'])).stdout) as { items: SandboxView[] };
    assert.equal(all.items.length, 3);
    assert.equal((await cli(['sandbox', 'ls', '--state', 'running', '--json'])).code, 0);

    const other = cliFor(s.url, s.h.t.keys.apiB);
    assert.equal((await other(['sandbox', 'get', id])).code, 1, "another tenant's sandbox is not found");
    const asAdmin = await cliFor(s.url, s.h.t.keys.admin)(['sandbox', 'get', id, '--tenant', 'tenant-a', '--json']);
    assert.equal((JSON.parse(asAdmin.stdout) as SandboxView).id, id);

    const ext = await cli(['sandbox', 'extend', id, '--ttl', '3h']);
    assert.equal(ext.code, 0, ext.stderr);
    assert.match(ext.stdout, new RegExp(`^sandbox ${id} now expires at ${new Date(s.h.t.clock.now() + 3 * 3_600_000).toISOString().replace('.000Z', '')}`, 'm'));

    const rm = await cli(['sandbox', 'rm', ...all.items.map((x) => x.id)]);
    assert.equal(rm.code, 0, rm.stderr);
    assert.equal(rm.stdout.trimEnd().split('\n').length, 3);
    assert.match(rm.stdout, new RegExp(`^sandbox ${id} (stopping|stopped)$`, 'm'));
    assert.equal((await cli(['sandbox', 'rm', id])).code, 0, 'rm is idempotent');
  });

  it('template create (flags, file, --replace), ls, get, sandbox create --template, rm', async () => {
    const created = await cli(['template', 'create', 'node', '--image', 'node:22', '--memory', '256', '-e', 'A=1']);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /^template node created$/m);
    const conflict = await cli(['template', 'create', 'node', '--image', 'node:24']);
    assert.equal(conflict.code, 1);
    assert.match(conflict.stderr, /^drover: conflict: /);
    assert.match((await cli(['template', 'create', 'node', '--image', 'node:24', '--memory', '256', '--replace'])).stdout, /^template node saved$/m);

    const ls = await cli(['template', 'ls']);
    assert.match(ls.stdout, /^NAME\s+TENANT\s+SPEC\s+UPDATED_AT$/m);
    assert.match(ls.stdout, /^node\s+tenant-a\s+\{"image":"node:24","memory_mb":256\}/m);
    const get = JSON.parse((await cli(['template', 'get', 'node', '--json'])).stdout) as TemplateView;
    assert.deepEqual(get.spec, { image: 'node:24', memory_mb: 256 });
    assert.match((await cli(['template', 'get', 'node'])).stdout, /^image:\s+node:24$/m);
    assert.equal((await cli(['template', 'create', 'bad', '--wait'])).code, 2, 'template create has no --wait');

    const spawned = await cli(['sandbox', 'create', '--template', 'node', '--cpu', '0.5', '--json']);
    assert.equal(spawned.code, 0, spawned.stderr);
    const v = JSON.parse(spawned.stdout) as SandboxView;
    assert.deepEqual([v.template, v.image, v.resources.cpu, v.resources.memory_mb], ['node', 'node:24', 0.5, 256]);
    await s.apiA.sandboxes.delete(v.id);

    assert.match((await cli(['template', 'rm', 'node'])).stdout, /^template node deleted$/m);
    assert.equal((await cli(['template', 'rm', 'node'])).code, 1);
  });
});
