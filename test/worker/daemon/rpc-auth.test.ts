/**
 * Security suite item 5: the worker's /rpc (and every other route of its server) refuses callers
 * without its rpc secret — no header, a wrong secret, a user's API key, the worker token, the secret
 * of an earlier start — and neither the secret nor the token reaches the worker's logs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { RunningWorker } from '../../../src/worker/daemon.js';
import { bearerMatches } from '../../../src/worker/rpc/auth.js';
import { createWorkerLogger } from '../../../src/worker/logger.js';
import { SHARED_WORKER_TOKEN } from '../../control-plane/support/harness.js';
import { until } from './support/manual-timers.js';
import { rpc } from './support/rpc.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane } from './support/worker.js';

describe('worker RPC authentication', () => {
  let cp: LoopbackControlPlane;
  let worker: RunningWorker;
  const dir = tempDir();
  const lines: string[] = [];
  const log = createWorkerLogger({ level: 'trace', format: 'json' }, { write: (line: string) => void lines.push(line) });

  before(async () => {
    cp = await startLoopbackControlPlane();
    worker = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, log });
    await worker.ready;
  });
  after(async () => {
    await worker?.stop();
    await cp?.close();
    dir.remove();
  });

  const refused = async (secret: string | undefined, headers: Record<string, string> = {}) => {
    const res = await rpc(worker.url, secret, 'worker.status', {}, undefined, headers);
    assert.equal(res.status, 401);
    assert.deepEqual(res.body, { id: null, error: { code: 'unauthorized', message: 'missing or wrong rpc secret' } });
  };

  it('answers the holder of the secret', async () => {
    const res = await rpc(worker.url, worker.rpcSecret, 'worker.status', {});
    assert.equal(res.status, 200);
    assert.equal((res.body.result as { worker_id: string }).worker_id, worker.id);
  });

  it('refuses no secret, a wrong one, a user API key and the worker token with 401', async () => {
    await refused(undefined);
    await refused(`${worker.rpcSecret}x`);
    await refused(worker.rpcSecret.slice(0, -1));
    await refused(cp.t.keys.admin);
    await refused(SHARED_WORKER_TOKEN);
    await refused(undefined, { 'x-worker-id': worker.id, 'x-worker-token': SHARED_WORKER_TOKEN });
    await refused(undefined, { authorization: `Basic ${Buffer.from(`x:${worker.rpcSecret}`).toString('base64')}` });
  });

  it('guards every route, not only /rpc: unknown paths and the data plane are 401 before they are 404', async () => {
    for (const path of ['/v1/sandboxes/rt-1/files', '/nope', '/rpc/']) {
      const anon = await fetch(`${worker.url}${path}`);
      assert.equal(anon.status, 401, path);
      const authed = await fetch(`${worker.url}${path}`, { headers: { authorization: `Bearer ${worker.rpcSecret}` } });
      assert.equal(authed.status, 404, path);
    }
  });

  it('a malformed envelope from the secret holder is 400 bad_request', async () => {
    const res = await fetch(`${worker.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${worker.rpcSecret}`, 'content-type': 'application/json' }, body: '{"method":' });
    assert.equal(res.status, 400);
    assert.equal(((await res.json()) as { error: { code: string } }).error.code, 'bad_request');
    const noId = await fetch(`${worker.url}/rpc`, { method: 'POST', headers: { authorization: `Bearer ${worker.rpcSecret}`, 'content-type': 'application/json' }, body: '{"method":"worker.status","params":{}}' });
    assert.equal(noId.status, 400);
  });

  it('a restarted worker has a new secret: the old one is refused, the control plane learns the new one', async () => {
    const old = worker.rpcSecret;
    await worker.stop();
    worker = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, log });
    await worker.ready;
    assert.notEqual(worker.rpcSecret, old);
    await refused(old);
    await until(async () => (await cp.t.store.workers.getWorker(worker.id))?.rpcSecret === worker.rpcSecret, 'the control plane to store the new secret');
  });

  it('constant-time comparison helper accepts only the exact bearer secret', () => {
    assert.ok(bearerMatches('Bearer abc', 'abc'));
    assert.ok(bearerMatches('bearer   abc', 'abc'));
    assert.ok(!bearerMatches('Bearer abcd', 'abc'));
    assert.ok(!bearerMatches('abc', 'abc'));
    assert.ok(!bearerMatches(undefined, 'abc'));
  });

  it('neither the rpc secret nor the worker token is ever logged', () => {
    assert.ok(lines.length > 5, 'the worker did log (at trace level)');
    const all = lines.join('\n');
    assert.ok(!all.includes(worker.rpcSecret), 'rpc secret in the logs');
    assert.ok(!all.includes(SHARED_WORKER_TOKEN), 'worker token in the logs');
  });
});
