/**
 * Artifacts end to end (04-tasks.md, "Artifacts and object storage"), real processes:
 *  - the grant: a presign or a report naming a key outside `tasks/{id}/` is a 403, through the API and
 *    through the SDK's `ctx.artifacts`;
 *  - fs URLs: tampered (signature, key, expiry, method) or expired → 403; a bearer token does not help;
 *  - binary round trips, byte for byte, through the SDK worker's `ctx.artifacts.put/get` and the
 *    caller's artifact listing, on fs and on S3 (a local s3rver as a child process).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import type { TaskView } from '../../../src/protocol/tasks.js';
import { call } from '../support/processes.js';
import { artifactBytes, sha256, type ArtifactSpec } from '../support/task-worker-main.js';
import { ADMIN_KEY, startTaskCluster, WORKER_TOKEN, type TaskCluster } from './cluster.js';

const MiB = 1024 * 1024;
const BUCKET = 'drover-e2e-tasks';

const FILES: ArtifactSpec[] = [
  { name: 'all-bytes.bin', size: 256, seed: 1, mode: 'buffer' },
  { name: 'empty.bin', size: 0, seed: 2, mode: 'buffer' },
  { name: 'nested/dir/big.bin', size: 3 * MiB + 12_345, seed: 42, mode: 'stream' },
  { name: 'unicode ü ß/ñ.bin', size: 70_001, seed: 9, mode: 'buffer' },
];

interface Listed {
  items: Array<{ key: string; size: number | null; url: string; expires_at: string }>;
  next_cursor: string | null;
}

/** The task worker writes FILES, reads each back, and the caller downloads each from its listing. */
async function roundTrip(c: TaskCluster, workerId: string) {
  const w = await c.startWorker({ id: workerId, kinds: ['e2e.art=artifact'], concurrency: 2 });
  const task = await c.submit({ kind: 'e2e.art', input: { files: FILES }, max_attempts: 1 });
  const done = await c.waitTerminal(task.id, 60_000);
  assert.equal(done.state, 'succeeded', JSON.stringify(done.error));
  const out = done.output as { files: Array<{ name: string; key: string; size: number; sha256: string; get_size: number; get_sha256: string }> };
  const expected = new Map(FILES.map((f) => [`tasks/${task.id}/${f.name}`, artifactBytes(f.size, f.seed)]));
  for (const f of out.files) {
    const bytes = expected.get(f.key);
    assert.ok(bytes, `unexpected key ${f.key}`);
    assert.deepEqual([f.size, f.sha256], [bytes.length, sha256(bytes)], `put ${f.key}`);
    assert.deepEqual([f.get_size, f.get_sha256], [bytes.length, sha256(bytes)], `ctx.artifacts.get ${f.key}`);
  }
  assert.deepEqual([...(done.artifacts ?? [])].sort(), [...expected.keys()].sort(), "the report's artifact keys");

  const listing = await call(c.url, 'GET', `/api/v1/tasks/${task.id}/artifacts`, { key: ADMIN_KEY });
  assert.equal(listing.status, 200, JSON.stringify(listing.body));
  const items = (listing.body as Listed).items;
  assert.deepEqual(items.map((i) => i.key).sort(), [...expected.keys()].sort());
  for (const item of items) {
    const want = expected.get(item.key)!;
    assert.equal(item.size, want.length, `listed size of ${item.key}`);
    // The URL is the whole credential: no token goes with it.
    const res = await fetch(item.url);
    assert.equal(res.status, 200, `download ${item.key}`);
    const got = Buffer.from(await res.arrayBuffer());
    assert.ok(got.equals(want), `${item.key}: ${got.length} bytes, sha256 ${sha256(got)}; want ${want.length}, ${sha256(want)}`);
  }
  await w.stop();
}

/** The test as a worker: lease one task of `kind` by hand. */
async function leaseByHand(c: TaskCluster, workerId: string, kind: string): Promise<{ task: TaskView; gen: number }> {
  const r = await call(c.url, 'POST', `/api/v1/worker/${workerId}/tasks/lease`, {
    worker: { id: workerId, token: WORKER_TOKEN },
    body: { kinds: [kind], max: 1, wait_ms: 5_000 },
  });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  const [leased] = (r.body as { tasks: Array<{ task: TaskView; lease: { generation: number } }> }).tasks;
  assert.ok(leased, 'leased a task');
  return { task: leased.task, gen: leased.lease.generation };
}

describe('artifacts on fs', () => {
  let c: TaskCluster;
  before(async () => {
    c = await startTaskCluster({ driver: 'sqlite' });
  });
  after(() => c?.close());

  it('binary artifacts round-trip byte for byte (SDK put/get, caller listing)', () => roundTrip(c, 'tw-art-fs'));

  it('presign and report outside the task prefix are 403, and change nothing', async () => {
    const other = await c.submit({ kind: 'e2e.other', input: {} });
    await c.submit({ kind: 'e2e.grant', input: {} });
    const me = 'tw-grant';
    const { task, gen } = await leaseByHand(c, me, 'e2e.grant');
    const worker = { id: me, token: WORKER_TOKEN };
    const id = task.id;
    const outside = [
      `tasks/${other.id}/x.bin`,
      `tasks/${id}/../${other.id}/x.bin`,
      `../x.bin`,
      `/tasks/${id}/x.bin`,
      `tasks/${id}/%2e%2e/%2e%2e/${other.id}/x.bin`,
      `tasks/${id}/%252e%252e/x.bin`,
      `tasks/${id}x/y.bin`,
      `tasks/${id}/a\\..\\..\\x.bin`,
      `tasks/${id}//x.bin`,
      `tasks/${id}/./x.bin`,
      `tasks/${id}`,
    ];
    for (const key of outside) {
      for (const op of ['put', 'get']) {
        const r = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${id}/presign`, { worker, body: { generation: gen, key, op } });
        assert.equal(r.status, 403, `presign ${op} ${key}: ${r.status} ${JSON.stringify(r.body)}`);
        assert.equal((r.body as { error: { code: string } }).error.code, 'forbidden');
      }
    }
    const inside = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${id}/presign`, { worker, body: { generation: gen, key: `tasks/${id}/ok.bin`, op: 'put' } });
    assert.equal(inside.status, 200, 'the control: a key inside the grant is fine');

    const before = await c.task(id);
    const report = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${id}/report`, {
      worker,
      body: { generation: gen, outcome: { status: 'succeeded', output: {}, artifacts: [`tasks/${id}/ok.bin`, `tasks/${other.id}/x.bin`] } },
    });
    assert.equal(report.status, 403, JSON.stringify(report.body));
    const afterReport = await c.task(id);
    assert.deepEqual([afterReport.state, afterReport.lease_generation, afterReport.artifacts, afterReport.updated_at], [before.state, gen, null, before.updated_at]);
    const ok = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${id}/report`, { worker, body: { generation: gen, outcome: { status: 'succeeded', output: {} } } });
    assert.equal(ok.status, 200);
  });

  it("the SDK's ctx.artifacts cannot leave the prefix either", async () => {
    const w = await c.startWorker({ id: 'tw-escape', kinds: ['e2e.escape=artifact'], concurrency: 1 });
    const task = await c.submit({ kind: 'e2e.escape', input: { files: [{ name: '../escape.bin', size: 10, seed: 1, mode: 'buffer' }] }, max_attempts: 1 });
    const done = await c.waitTerminal(task.id);
    assert.equal(done.state, 'failed');
    assert.match(done.error?.message ?? '', /grant/);
    const refused = w.lines.find((l) => l.ev === 'write' && l.kind === 'presign' && l.task === task.id);
    assert.equal(refused?.status, 403);
    assert.ok(!w.lines.some((l) => l.ev === 'blob'), 'no upload was attempted');
    await w.stop();
  });

  it('tampered fs URLs are 403 whatever was changed, and a bearer token does not help', async () => {
    await c.submit({ kind: 'e2e.tamper', input: {} });
    const me = 'tw-tamper';
    const worker = { id: me, token: WORKER_TOKEN };
    const { task, gen } = await leaseByHand(c, me, 'e2e.tamper');
    const presign = async (key: string, op: 'put' | 'get') => {
      const r = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${task.id}/presign`, { worker, body: { generation: gen, key, op } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return (r.body as { url: string }).url;
    };
    const bytes = artifactBytes(5_000, 5);
    const putUrl = await presign(`tasks/${task.id}/a.bin`, 'put');
    assert.equal((await fetch(putUrl, { method: 'PUT', body: bytes })).status, 200);
    const getUrl = await presign(`tasks/${task.id}/a.bin`, 'get');
    const good = await fetch(getUrl);
    assert.equal(good.status, 200);
    assert.ok(Buffer.from(await good.arrayBuffer()).equals(bytes));
    // A second object under the same prefix, so a URL re-pointed at it names something real.
    assert.equal((await fetch(await presign(`tasks/${task.id}/b.bin`, 'put'), { method: 'PUT', body: 'b' })).status, 200);

    const u = new URL(getUrl);
    const sig = u.searchParams.get('sig')!;
    const expires = Number(u.searchParams.get('expires'));
    const variant = (edit: (v: URL) => void) => {
      const v = new URL(getUrl);
      edit(v);
      return v.toString();
    };
    const tampered: Array<[string, string, string]> = [
      ['signature', 'GET', variant((v) => v.searchParams.set('sig', (sig[0] === 'a' ? 'b' : 'a') + sig.slice(1)))],
      ['signature length', 'GET', variant((v) => v.searchParams.set('sig', sig.slice(0, 62)))],
      ['no signature', 'GET', variant((v) => v.searchParams.delete('sig'))],
      ['key', 'GET', variant((v) => (v.pathname = v.pathname.replace('/a.bin', '/b.bin')))],
      ['key (traversal)', 'GET', variant((v) => (v.pathname = v.pathname.replace('/a.bin', '/%2e%2e/a.bin')))],
      ['expiry', 'GET', variant((v) => v.searchParams.set('expires', String(expires + 60_000)))],
      ['method (PUT on a GET URL)', 'PUT', getUrl],
      ['method (GET on a PUT URL)', 'GET', putUrl],
    ];
    const credentials: Array<Record<string, string>> = [{}, { authorization: `Bearer ${ADMIN_KEY}` }, { 'x-worker-id': me, 'x-worker-token': WORKER_TOKEN }];
    for (const [what, method, url] of tampered) {
      for (const headers of credentials) {
        const res = await fetch(url, { method, headers, ...(method === 'PUT' ? { body: 'overwrite' } : {}) });
        await res.arrayBuffer();
        assert.equal(res.status, 403, `${what} with ${Object.keys(headers).join(',') || 'no credentials'}`);
      }
    }
    // Nothing was overwritten by the refused PUTs.
    assert.ok(Buffer.from(await (await fetch(getUrl)).arrayBuffer()).equals(bytes));
  });

  it('expired fs URLs are 403: a URL lives no longer than its task', async () => {
    await c.submit({ kind: 'e2e.expire', input: {}, timeout_ms: 2_500 });
    const me = 'tw-expire';
    const worker = { id: me, token: WORKER_TOKEN };
    const { task, gen } = await leaseByHand(c, me, 'e2e.expire');
    const sign = async (op: 'put' | 'get') => {
      const r = await call(c.url, 'POST', `/api/v1/worker/${me}/tasks/${task.id}/presign`, { worker, body: { generation: gen, key: `tasks/${task.id}/late.bin`, op } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body as { url: string; expires_at: string };
    };
    const put = await sign('put');
    const get = await sign('get');
    assert.ok(Date.parse(put.expires_at) <= Date.parse(task.deadline), 'capped at the deadline');
    assert.equal((await fetch(put.url, { method: 'PUT', body: 'in time' })).status, 200);
    const wait = Date.parse(get.expires_at) - Date.now() + 200;
    assert.ok(wait < 5_000, `the URL would live ${wait} ms`);
    await delay(Math.max(0, wait));
    for (const [method, url] of [['GET', get.url], ['PUT', put.url]] as const) {
      const res = await fetch(url, { method, ...(method === 'PUT' ? { body: 'too late' } : {}) });
      await res.arrayBuffer();
      assert.equal(res.status, 403, `${method} after expiry`);
    }
  });
});

interface S3rver {
  port: number;
  stop(): Promise<void>;
}

/** s3rver as a child process, as the blob tests run it (test/blob/support/s3rver-server.ts). */
async function startS3rver(directory: string): Promise<S3rver> {
  const script = fileURLToPath(new URL('../../blob/support/s3rver-server.js', import.meta.url));
  const child = spawn(process.execPath, ['--openssl-legacy-provider', script, directory, BUCKET], { stdio: ['pipe', 'pipe', 'inherit'] });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const timeout = delay(20_000).then(() => {
    throw new Error('s3rver did not start within 20 s');
  });
  const [line] = (await Promise.race([
    once(createInterface({ input: child.stdout }), 'line'),
    exited.then(() => {
      throw new Error('s3rver exited before it was listening');
    }),
    timeout,
  ])) as [string];
  const { port } = JSON.parse(line) as { port: number };
  return {
    port,
    async stop() {
      child.stdin.end();
      const kill = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(kill);
    },
  };
}

describe('artifacts on S3 (s3rver)', () => {
  let c: TaskCluster;
  let s3: S3rver;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'drover-e2e-s3-'));
    s3 = await startS3rver(dir);
    c = await startTaskCluster(
      { driver: 'sqlite' },
      {
        DROVER_ARTIFACTS_DRIVER: 's3',
        DROVER_ARTIFACTS_S3_BUCKET: BUCKET,
        DROVER_ARTIFACTS_S3_ENDPOINT: `http://127.0.0.1:${s3.port}`,
        DROVER_ARTIFACTS_S3_REGION: 'us-east-1',
        DROVER_ARTIFACTS_S3_FORCE_PATH_STYLE: 'true',
        // s3rver's one built-in account.
        DROVER_ARTIFACTS_S3_ACCESS_KEY_ID: 'S3RVER',
        DROVER_ARTIFACTS_S3_SECRET_ACCESS_KEY: 'S3RVER',
      },
    );
  });
  after(async () => {
    await c?.close();
    await s3?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it('binary artifacts round-trip byte for byte (SDK put/get, caller listing)', () => roundTrip(c, 'tw-art-s3'));

  it('the control plane serves no blobs itself with S3 (its blob route answers 404)', async () => {
    const res = await fetch(`${c.url}/api/v1/blobs/tasks/x/y?expires=1&sig=${'0'.repeat(64)}`);
    await res.arrayBuffer();
    assert.equal(res.status, 404);
  });
});
