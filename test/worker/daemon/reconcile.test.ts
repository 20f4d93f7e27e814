/**
 * Reconciliation on start: a real `drover worker` process is SIGKILLed with sandboxes running; while
 * it is down one of them is deleted (so its lease is no longer the worker's) and a runtime nobody
 * recorded appears on disk. The restarted worker reports its inventory, kills and removes what it no
 * longer holds (released) or never recorded, adopts the rest — workspace and processes kept, lease
 * renewed at once — and only then serves.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pino from 'pino';
import type { RunningWorker } from '../../../src/worker/daemon.js';
import { createProvider } from '../../../src/worker/providers/index.js';
import { planRelease } from '../../../src/worker/reconcile.js';
import type { RuntimeRecord } from '../../../src/worker/state/types.js';
import { killQuietly, plantSandboxProcess, processAlive } from '../../e2e/support/host-processes.js';
import { startWorkerProcess } from '../../e2e/support/worker-process.js';
import { SHARED_WORKER_TOKEN } from '../../control-plane/support/harness.js';
import { until } from './support/manual-timers.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane, type SandboxView } from './support/worker.js';

describe('reconciliation plan', () => {
  const rec = (sandboxId: string, generation: number) => ({ sandboxId, runtimeId: `${sandboxId}.g${generation}`, generation }) as RuntimeRecord;
  const sent = [rec('a', 1), rec('b', 2), rec('c', 1)];

  it('at start: released runtimes are destroyed, every other one of the inventory is adopted', () => {
    const plan = planRelease(sent, ['b.g2', 'zzz.g9'], true);
    assert.deepEqual(plan.destroy.map((r) => r.runtimeId), ['b.g2']);
    assert.deepEqual(plan.adopt.map((r) => r.runtimeId), ['a.g1', 'c.g1'], 'a release naming something never sent changes nothing');
    assert.deepEqual(planRelease(sent, undefined, true).adopt.length, 3, 'no release list: everything is still held');
  });

  it('later: only what is released is touched', () => {
    const plan = planRelease(sent, ['a.g1'], false);
    assert.deepEqual(plan.destroy.map((r) => r.runtimeId), ['a.g1']);
    assert.deepEqual(plan.adopt, []);
  });
});

describe('reconciliation after a worker was killed', () => {
  let cp: LoopbackControlPlane;
  let restarted: RunningWorker | undefined;
  const dir = tempDir();
  const planted: number[] = [];
  const id = 'w-rec';

  before(async () => {
    cp = await startLoopbackControlPlane();
  });
  after(async () => {
    await restarted?.stop();
    planted.forEach(killQuietly);
    await cp?.close();
    dir.remove();
  });

  it('kills what it no longer holds and what it never recorded; adopts what it holds', async () => {
    const first = await startWorkerProcess({ controlPlaneUrl: cp.url, token: SHARED_WORKER_TOKEN, id, dataDir: dir.path, providers: ['process'] });
    let keep: SandboxView;
    let drop: SandboxView;
    try {
      await until(async () => (await cp.t.store.workers.getWorker(id))?.rpcUrl === first.url, 'the worker to register');
      const create = async () => {
        const res = await cp.t.request('POST', '/api/v1/sandboxes', { key: cp.t.keys.apiA, body: { provider: 'process' } });
        assert.equal(res.status, 201, res.text);
        return res.json<SandboxView>();
      };
      keep = await create();
      drop = await create();
      assert.equal(keep.state, 'running');
    } finally {
      await first.stop('SIGKILL');
    }
    const runtimeDir = (rt: string) => join(dir.path, 'runtimes', rt);
    // Processes the sandboxes started, which outlived their worker.
    const keepPid = plantSandboxProcess(keep.runtime_id!);
    const dropPid = plantSandboxProcess(drop.runtime_id!);
    planted.push(keepPid, dropPid);

    // While the worker is down: the control plane ends one sandbox (it cannot reach the worker, so
    // only the record and the lease end), and a runtime with no record appears on disk.
    const deleted = await cp.t.request('DELETE', `/api/v1/sandboxes/${drop.id}`, { key: cp.t.keys.apiA });
    assert.equal(deleted.json<SandboxView>().state, 'stopped');
    const loose = await createProvider('process', { dataDir: dir.path });
    await loose.spawn({ sandboxId: 'sbx-unrecorded', runtimeId: 'sbx-unrecorded.g1', resources: { cpuMilli: 100, memoryMb: 64, diskMb: 64 }, env: {}, network: 'host' });
    await loose.close();
    const strayPid = plantSandboxProcess('sbx-unrecorded.g1');
    planted.push(strayPid);
    assert.ok([keepPid, dropPid, strayPid].every(processAlive));

    restarted = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, id, providers: ['process'], log: pino({ level: 'silent' }) });
    await restarted.ready;

    assert.ok(!existsSync(runtimeDir('sbx-unrecorded.g1')), 'the unrecorded runtime was removed before serving');
    await until(() => !processAlive(strayPid), 'the unrecorded runtime\'s process to be killed');
    assert.ok(!existsSync(runtimeDir(drop.runtime_id!)), 'the released runtime was removed');
    await until(() => !processAlive(dropPid), "the released runtime's process to be killed");

    assert.deepEqual(
      restarted.runtimes.records().map((r) => [r.sandboxId, r.runtimeId, r.state]),
      [[keep.id, keep.runtime_id, 'running']],
      'the held runtime was adopted',
    );
    assert.ok(existsSync(join(runtimeDir(keep.runtime_id!), 'workspace')), 'with its workspace');
    assert.ok(processAlive(keepPid), 'and its processes');
    await until(() => restarted!.leases.renewals >= 1, 'its lease to be renewed at once');
    assert.equal(restarted.leases.lost, 0, 'the control plane confirms the lease is still ours');
    assert.equal((await cp.t.store.sandboxes.getSandbox({ kind: 'all' }, keep.id))?.state, 'running');

    await restarted.stop();
    restarted = undefined;
    await until(() => !processAlive(keepPid), 'a stopped worker leaves no sandbox process behind');
    assert.ok(!existsSync(runtimeDir(keep.runtime_id!)));
  });
});
