/** `drover worker --once`: one heartbeat, the reply as JSON, exit 0 — or 1 with the reason. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../e2e/support/worker-process.js';
import { SHARED_WORKER_TOKEN } from '../../control-plane/support/harness.js';
import { startLoopbackControlPlane, tempDir, type LoopbackControlPlane } from './support/worker.js';

describe('drover worker --once', () => {
  let cp: LoopbackControlPlane;
  const dir = tempDir();
  before(async () => {
    cp = await startLoopbackControlPlane();
  });
  after(async () => {
    await cp?.close();
    dir.remove();
  });

  const args = (url: string) => ['worker', '--once', '--id', 'w-once', '--control-plane', url, '--data-dir', dir.path, '--provider', 'mock', '--label', 'zone=z9'];

  it('sends one heartbeat, prints the reply and exits 0; the worker is registered without an RPC endpoint', async () => {
    const r = await runCli(args(cp.url), { DROVER_WORKER_TOKEN: SHARED_WORKER_TOKEN });
    assert.equal(r.code, 0, r.stderr);
    const reply = JSON.parse(r.stdout) as { next_heartbeat_ms: number; server_time: string; cordoned: boolean };
    assert.equal(reply.next_heartbeat_ms, cp.t.config.workers.heartbeat_interval);
    assert.equal(reply.cordoned, false);
    assert.equal(Date.parse(reply.server_time), cp.t.clock.now());
    const w = await cp.t.store.workers.getWorker('w-once');
    assert.equal(w?.status, 'online');
    assert.deepEqual(w?.labels, { zone: 'z9' });
    assert.equal(w?.rpcUrl, null);
    assert.equal(w?.rpcSecret, null);
  });

  it('exits 1 and says why when the control plane refuses or cannot be reached', async () => {
    const bad = await runCli(args(cp.url), { DROVER_WORKER_TOKEN: 'wt-wrong-token-0123456789' });
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /heartbeat failed: control plane answered 401/);
    assert.ok(!bad.stderr.includes('wt-wrong-token-0123456789'), 'the token is not echoed');
    const down = await runCli(args('http://127.0.0.1:9'), { DROVER_WORKER_TOKEN: SHARED_WORKER_TOKEN });
    assert.equal(down.code, 1);
    assert.match(down.stderr, /unreachable/);
  });

  it('refuses a listen address on every interface without an advertise URL (exit 2, with the reason)', async () => {
    const r = await runCli(['worker', '--id', 'w-any', '--listen', '0.0.0.0:7430', '--data-dir', dir.path, '--provider', 'mock'], { DROVER_WORKER_TOKEN: SHARED_WORKER_TOKEN });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /every interface.*advertise_url/);
  });
});
