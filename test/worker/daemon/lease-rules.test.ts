/**
 * The lease rule of src/protocol/rpc.ts on the worker side: missing lease, another sandbox, another
 * holder, expiry (by the control plane's clock), and the per-sandbox generation high-water mark —
 * including a worker restarted on the same data dir, which must keep refusing the old generations.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { RpcLeaseWire } from '../../../src/protocol/rpc.js';
import type { RunningWorker } from '../../../src/worker/daemon.js';
import { checkLease } from '../../../src/worker/rpc/lease-check.js';
import { rpc } from './support/rpc.js';
import { startLoopbackControlPlane, startTestWorker, tempDir, type LoopbackControlPlane } from './support/worker.js';

describe('lease check (pure)', () => {
  const lease: RpcLeaseWire = { resource_id: 's', holder_id: 'w', generation: 5, expires_at: '2030-01-01T00:01:00.000Z' };
  const at = (serverNow: number | undefined, highWater = 0, l: RpcLeaseWire | null = lease) => checkLease({ method: 'worker.spawn', lease: l ?? undefined, sandboxId: 's', workerId: 'w', highWater, serverNow });
  const t0 = Date.parse('2030-01-01T00:00:00.000Z');

  it('in the order the protocol lists the checks', () => {
    assert.equal((at(t0, 0, null) as { code: string }).code, 'lease_required');
    assert.equal((at(t0, 0, { ...lease, resource_id: 'other' }) as { code: string }).code, 'lease_lost');
    assert.equal((at(t0, 0, { ...lease, holder_id: 'w2' }) as { code: string }).code, 'lease_lost');
    assert.equal((at(t0 + 60_000) as { code: string }).code, 'lease_lost', 'expired at exactly expires_at');
    assert.equal((at(t0 + 60_000, 9) as { code: string }).code, 'lease_lost', 'expiry is checked before the generation');
    assert.equal((at(t0, 6) as { code: string }).code, 'stale_generation');
    assert.deepEqual(at(t0, 5), { ok: true, generation: 5, expiresAt: t0 + 60_000 }, 'the same generation passes (retries)');
    assert.deepEqual(at(t0, 4), { ok: true, generation: 5, expiresAt: t0 + 60_000 });
  });

  it('without an estimate of the control plane clock, expiry is not judged (never by the worker clock)', () => {
    assert.equal(at(undefined, 0, { ...lease, expires_at: '1999-01-01T00:00:00.000Z' }).ok, true);
    assert.equal((at(undefined, 6) as { code: string }).code, 'stale_generation', 'the high-water mark still holds');
  });
});

describe('lease checks and high-water marks through a real worker', () => {
  let cp: LoopbackControlPlane;
  let worker: RunningWorker;
  const dir = tempDir();
  const sbx = 'sbx-lease-1';

  before(async () => {
    cp = await startLoopbackControlPlane();
    worker = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, id: 'w-lease' });
    await worker.ready;
  });
  after(async () => {
    await worker?.stop();
    await cp?.close();
    dir.remove();
  });

  // Leases as the control plane would send them; times in the control plane's (manual) clock.
  const lease = (generation: number, o: Partial<RpcLeaseWire> = {}): RpcLeaseWire => ({
    resource_id: sbx,
    holder_id: worker.id,
    generation,
    expires_at: new Date(cp.t.clock.now() + 60_000).toISOString(),
    ...o,
  });
  const spawnParams = { sandbox_id: sbx, tenant_id: 't', provider: 'mock', spec: { cpu: 1, memory_mb: 64, disk_mb: 64 }, ttl_ms: 60_000 };
  const call = (method: string, params: unknown, l?: RpcLeaseWire) => rpc(worker.url, worker.rpcSecret, method, params, l);
  const code = async (method: string, params: unknown, l?: RpcLeaseWire) => (await call(method, params, l)).body.error?.code;

  it('rejects a missing lease, another sandbox, another holder and an expired lease on every leased method', async () => {
    const destroy = { sandbox_id: sbx, runtime_id: null };
    const renew = { sandbox_id: sbx };
    for (const [method, params] of [
      ['worker.spawn', spawnParams],
      ['worker.destroy', destroy],
      ['worker.renew_lease', renew],
    ] as const) {
      assert.equal(await code(method, params), 'lease_required', method);
      assert.equal(await code(method, params, lease(1, { resource_id: 'sbx-other' })), 'lease_lost', method);
      assert.equal(await code(method, params, lease(1, { holder_id: 'w-other' })), 'lease_lost', method);
      assert.equal(await code(method, params, lease(1, { expires_at: new Date(cp.t.clock.now() - 1000).toISOString() })), 'lease_lost', method);
    }
    assert.equal(worker.state.highWater(sbx), 0, 'a refused lease raises nothing');
    assert.equal(await code('worker.status', {}), undefined, 'worker.status needs no lease');
  });

  it('keeps a high-water mark per sandbox: lower generations are stale, the same one is a retry, a higher one replaces the runtime', async () => {
    const first = await call('worker.spawn', spawnParams, lease(3));
    assert.equal((first.body.result as { runtime_id: string }).runtime_id, `${sbx}.g3`);
    assert.equal(await code('worker.spawn', spawnParams, lease(2)), 'stale_generation');
    assert.equal(await code('worker.destroy', { sandbox_id: sbx, runtime_id: null }, lease(2)), 'stale_generation');
    assert.equal(await code('worker.renew_lease', { sandbox_id: sbx }, lease(2)), 'stale_generation');
    const renewed = lease(3);
    assert.deepEqual((await call('worker.renew_lease', { sandbox_id: sbx }, renewed)).body.result, { expires_at: renewed.expires_at });
    const replaced = await call('worker.spawn', spawnParams, lease(4));
    assert.equal((replaced.body.result as { runtime_id: string }).runtime_id, `${sbx}.g4`);
    assert.deepEqual(
      worker.runtimes.records().map((r) => r.runtimeId),
      [`${sbx}.g4`],
      'the generation-3 runtime was destroyed first',
    );
    assert.equal(worker.state.highWater(sbx), 4);
    assert.equal(await code('worker.destroy', { sandbox_id: sbx, runtime_id: `${sbx}.g3` }, lease(3)), 'stale_generation');
  });

  it('a worker restarted on the same data dir keeps refusing the older generations (the marks are on disk)', async () => {
    const onDisk = JSON.parse(readFileSync(join(dir.path, 'state', 'worker-state.json'), 'utf8')) as { high_water: Record<string, { generation: number }> };
    assert.equal(onDisk.high_water[sbx]?.generation, 4);
    await worker.stop();
    worker = await startTestWorker({ cpUrl: cp.url, dataDir: dir.path, id: 'w-lease' });
    await worker.ready;
    assert.equal(worker.runtimes.count(), 0, 'the runtime itself went with the stop');
    assert.equal(await code('worker.spawn', spawnParams, lease(3)), 'stale_generation', 'a replayed spawn of an old placement');
    assert.equal(await code('worker.spawn', spawnParams, lease(4)), undefined, 'the current generation still works');
    assert.equal(await code('worker.destroy', { sandbox_id: sbx, runtime_id: null }, lease(4)), undefined);
  });
});
