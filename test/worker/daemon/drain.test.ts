/**
 * Drain (fault 7 on the worker side): SIGTERM to a real `drover worker` process reports `draining`,
 * turns new placements away with `draining`, waits up to worker.shutdown_timeout for running work,
 * then exits 0 leaving no process behind. The same drain through the `worker.shutdown` RPC, and a
 * drain the control plane started, seen in the heartbeat reply.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { killQuietly, plantSandboxProcess, processAlive, processGroupMembers } from '../../e2e/support/host-processes.js';
import { startWorkerProcess } from '../../e2e/support/worker-process.js';
import { SHARED_WORKER_TOKEN } from '../../control-plane/support/harness.js';
import { until } from './support/manual-timers.js';
import { rpc } from './support/rpc.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane, type SandboxView } from './support/worker.js';

describe('drain', () => {
  let cp: LoopbackControlPlane;
  const dirs: Array<{ remove(): void }> = [];
  const planted: number[] = [];

  before(async () => {
    cp = await startLoopbackControlPlane();
  });
  after(async () => {
    planted.forEach(killQuietly);
    await cp?.close();
    dirs.forEach((d) => d.remove());
  });

  const farLease = (sandboxId: string, holder: string) => ({ resource_id: sandboxId, holder_id: holder, generation: 1, expires_at: new Date(cp.t.clock.now() + 3_600_000).toISOString() });
  const spawnParams = (sandboxId: string, provider = 'process') => ({ sandbox_id: sandboxId, tenant_id: 't', provider, spec: { cpu: 1, memory_mb: 64, disk_mb: 64 }, ttl_ms: 60_000 });

  it('SIGTERM: reports draining, refuses new sandboxes, waits for running work, exits 0 and leaves no process', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const id = 'w-drain';
    const worker = await startWorkerProcess({ controlPlaneUrl: cp.url, token: SHARED_WORKER_TOKEN, id, dataDir: dir.path, providers: ['process'], env: { DROVER_WORKER_SHUTDOWN_TIMEOUT: '4s' } });
    try {
      await until(async () => (await cp.t.store.workers.getWorker(id))?.rpcUrl === worker.url, 'the worker to register');
      const res = await cp.t.request('POST', '/api/v1/sandboxes', { key: cp.t.keys.apiA, body: { provider: 'process' } });
      const sbx = res.json<SandboxView>();
      assert.equal(sbx.state, 'running', res.text);
      const pid = plantSandboxProcess(sbx.runtime_id!);
      planted.push(pid);

      worker.proc.kill('SIGTERM');
      await until(async () => (await cp.t.store.workers.getWorker(id))?.status === 'draining', 'the control plane to see draining');
      // The sandbox is still there, so the worker is waiting out its shutdown timeout: a placement now is turned away.
      const secret = (await cp.t.store.workers.getWorker(id))!.rpcSecret!;
      const refused = await rpc(worker.url, secret, 'worker.spawn', spawnParams('sbx-late'), farLease('sbx-late', id));
      assert.equal(refused.body.error?.code, 'draining', JSON.stringify(refused.body));
      const status = await rpc(worker.url, secret, 'worker.status', {});
      assert.equal((status.body.result as { status: string }).status, 'draining');

      assert.equal(await worker.exited, 0, worker.output());
      assert.ok(!processAlive(pid), 'the sandbox process was killed');
      assert.ok(!existsSync(join(dir.path, 'runtimes', sbx.runtime_id!)), 'and its runtime removed');
      assert.deepEqual(processGroupMembers(worker.pid), [], "nothing of the worker's process group survives");
      assert.match(worker.output(), /drain wait over/);
      assert.ok(!worker.output().includes(SHARED_WORKER_TOKEN) && !worker.output().includes(secret), 'no secret in the output');
    } finally {
      await worker.stop('SIGKILL');
    }
  });

  it('worker.shutdown RPC drains the same way; with nothing running it stops at once', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const w = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, id: 'w-rpc-drain', flags: { 'worker.shutdown_timeout': '30s' } });
    try {
      await w.ready;
      const res = await rpc(w.url, w.rpcSecret, 'worker.shutdown', {});
      assert.deepEqual(res.body.result, { status: 'draining' });
      await w.stopped;
      assert.equal(w.status.phase, 'stopped');
      assert.equal((await cp.t.store.workers.getWorker('w-rpc-drain'))?.status, 'draining', 'the control plane heard draining before the worker went');
    } finally {
      await w.stop();
    }
  });

  it('a drain the control plane started refuses spawns from the next heartbeat on; undrained work keeps running', async () => {
    const dir = tempDir();
    dirs.push(dir);
    const w = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, id: 'w-cp-drain', flags: { 'worker.heartbeat_interval': '5s' } });
    try {
      await w.ready;
      const ok = await rpc(w.url, w.rpcSecret, 'worker.spawn', spawnParams('sbx-before', 'mock'), farLease('sbx-before', w.id));
      assert.ok(ok.body.result, JSON.stringify(ok.body));
      const drain = await cp.t.request('POST', `/api/v1/workers/${w.id}/drain`, { key: cp.t.keys.admin, body: {} });
      assert.equal(drain.status, 200, drain.text);
      const beats = w.heartbeat.replies;
      w.heartbeat.poke();
      await until(() => w.heartbeat.replies > beats, 'a heartbeat after the drain');
      assert.deepEqual(w.status.controlPlaneDrain, { deadline: null });
      const refused = await rpc(w.url, w.rpcSecret, 'worker.spawn', spawnParams('sbx-after', 'mock'), farLease('sbx-after', w.id));
      assert.equal(refused.body.error?.code, 'draining');
      assert.equal(w.runtimes.count(), 1, 'what runs keeps running');
      assert.equal(w.status.phase, 'serving', 'the worker itself is not stopping');
    } finally {
      await w.stop();
    }
  });
});
