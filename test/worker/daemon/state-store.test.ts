/**
 * The node-local state contract, run against both implementations (Nomad-style): the in-memory store
 * and the durable JSON file. The durable one additionally survives a reopen, coalesces concurrent
 * writes without losing any, keeps its file owner-only, and refuses a corrupt file.
 */
import assert from 'node:assert/strict';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { JsonFileStateStore, StateFileError } from '../../../src/worker/state/json-file.js';
import { MemoryStateStore } from '../../../src/worker/state/memory.js';
import type { RuntimeRecord, StateStore } from '../../../src/worker/state/types.js';
import { tempDir } from './support/worker.js';

function record(sandboxId: string, generation = 1, over: Partial<RuntimeRecord> = {}): RuntimeRecord {
  return {
    sandboxId,
    runtimeId: `${sandboxId}.g${generation}`,
    generation,
    provider: 'mock',
    tenantId: 't',
    state: 'running',
    request: { resources: { cpuMilli: 500, memoryMb: 64, diskMb: 64 }, env: { A: '1' }, network: 'none' },
    capabilities: ['cpu:none'],
    warnings: [],
    leaseTtlMs: 30_000,
    createdAt: 1,
    ...over,
  };
}

const dirs: Array<{ remove(): void }> = [];
after(() => dirs.forEach((d) => d.remove()));

const implementations: Array<[string, () => Promise<StateStore>]> = [
  ['memory', async () => new MemoryStateStore()],
  [
    'json-file',
    async () => {
      const d = tempDir('drover-state-');
      dirs.push(d);
      return JsonFileStateStore.open(d.path);
    },
  ],
];

for (const [name, open] of implementations) {
  describe(`state store contract: ${name}`, () => {
    it('put / get / list / remove; one record per sandbox; remove only the named runtime', async () => {
      const s = await open();
      assert.deepEqual(s.list(), []);
      await s.put(record('a'));
      await s.put(record('b'));
      assert.deepEqual(s.get('a'), record('a'));
      assert.deepEqual(s.findRuntime('b.g1'), record('b'));
      assert.equal(s.findRuntime('b.g2'), undefined);
      assert.deepEqual(s.list().map((r) => r.sandboxId).sort(), ['a', 'b']);
      await s.put(record('a', 2));
      assert.equal(s.get('a')?.generation, 2, 'replaced, not added');
      assert.equal(s.list().length, 2);
      assert.equal(await s.remove('a', 'a.g1'), false, 'an older runtime id does not remove the current one');
      assert.equal(await s.remove('a', 'a.g2'), true);
      assert.equal(s.get('a'), undefined);
      assert.equal(await s.remove('nope', 'x'), false);
      await s.close();
    });

    it('hands out copies: mutating what it returned changes nothing', async () => {
      const s = await open();
      const r = record('c');
      await s.put(r);
      r.state = 'stopping';
      s.get('c')!.request.env.A = 'changed';
      s.list()[0]!.generation = 99;
      assert.deepEqual(s.get('c'), record('c'));
    });

    it('high-water marks only rise, remember the latest expiry, and outlive the runtime', async () => {
      const s = await open();
      assert.equal(s.highWater('h'), 0);
      assert.deepEqual(await s.raiseHighWater('h', 3, 1000), { generation: 3, expiresAt: 1000 });
      assert.deepEqual(await s.raiseHighWater('h', 2, 5000), { generation: 3, expiresAt: 5000 }, 'a lower generation does not lower the mark');
      assert.deepEqual(await s.raiseHighWater('h', 3, 10), { generation: 3, expiresAt: 5000 });
      assert.equal(s.highWater('h'), 3);
      await s.put(record('h', 3));
      await s.remove('h', 'h.g3');
      assert.equal(s.highWater('h'), 3, 'kept after the runtime is gone');
    });

    it('prune drops only marks without a runtime whose last lease expired before the cutoff', async () => {
      const s = await open();
      await s.raiseHighWater('old', 1, 100);
      await s.raiseHighWater('old-running', 1, 100);
      await s.put(record('old-running'));
      await s.raiseHighWater('recent', 1, 10_000);
      assert.equal(await s.pruneHighWater(5_000), 1);
      assert.equal(s.highWater('old'), 0);
      assert.equal(s.highWater('old-running'), 1);
      assert.equal(s.highWater('recent'), 1);
      assert.equal(await s.pruneHighWater(5_000), 0);
    });
  });
}

describe('state store: the durable JSON file', () => {
  it('survives a reopen with records and marks intact, in an owner-only file', async () => {
    const d = tempDir('drover-state-');
    dirs.push(d);
    const s = await JsonFileStateStore.open(d.path);
    await s.put(record('a', 2));
    await s.raiseHighWater('a', 2, 777);
    await s.raiseHighWater('gone', 9, 888);
    await s.close();
    const again = await JsonFileStateStore.open(d.path);
    assert.deepEqual(again.list(), [record('a', 2)]);
    assert.equal(again.highWater('a'), 2);
    assert.equal(again.highWater('gone'), 9);
    assert.equal(statSync(join(d.path, 'worker-state.json')).mode & 0o777, 0o600);
  });

  it('coalesces concurrent changes without losing one; each resolves only once it is on disk', async () => {
    const d = tempDir('drover-state-');
    dirs.push(d);
    const s = await JsonFileStateStore.open(d.path);
    const ids = Array.from({ length: 50 }, (_, i) => `s${i}`);
    await Promise.all(ids.flatMap((id, i) => [s.put(record(id)), s.raiseHighWater(id, i + 1, i)]));
    const onDisk = JSON.parse(readFileSync(join(d.path, 'worker-state.json'), 'utf8')) as { runtimes: RuntimeRecord[]; high_water: Record<string, { generation: number }> };
    assert.equal(onDisk.runtimes.length, 50);
    assert.equal(onDisk.high_water.s49?.generation, 50);
    // A single change is on disk by the time its promise resolves.
    await s.raiseHighWater('late', 4, 1);
    const again = JSON.parse(readFileSync(join(d.path, 'worker-state.json'), 'utf8')) as { high_water: Record<string, { generation: number }> };
    assert.equal(again.high_water.late?.generation, 4);
  });

  it('refuses a corrupt file instead of starting empty (it would forget the marks)', async () => {
    const d = tempDir('drover-state-');
    dirs.push(d);
    writeFileSync(join(d.path, 'worker-state.json'), '{"version":1,"runtimes":[{"truncated');
    await assert.rejects(JsonFileStateStore.open(d.path), (err: Error) => err instanceof StateFileError && err.message.includes('worker-state.json'));
  });
});
