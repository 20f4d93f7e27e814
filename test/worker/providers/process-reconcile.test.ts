/**
 * The process provider's destroy and reconciliation beyond the conformance suite: the ways a process
 * can slip out of its process group, runtimes of other providers on the same data dir, and adoption
 * after a restart.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, before, describe, it } from 'node:test';
import { createProcessProvider, type ProcessProvider } from '../../../src/worker/providers/process/index.js';
import { TEST_TIMEOUT_MS } from './conformance/fixture.js';
import { eventually, hostProcesses, run, spawnRequest, start, uniqueId, uniqueSleep } from './conformance/support.js';

const opts = { timeout: TEST_TIMEOUT_MS };

describe('process provider: destroy finds every process of the runtime', () => {
  let dataDir: string;
  let provider: ProcessProvider;
  const sleeps: string[] = [];
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-process-reap-'));
    provider = await createProcessProvider({ dataDir, killGraceMs: 500 });
  });
  afterEach(async () => {
    for (const seconds of sleeps.splice(0)) {
      for (const argv of [['sleep', seconds], ['/bin/sleep', seconds]]) for (const pid of await hostProcesses(argv)) process.kill(pid, 'SIGKILL');
    }
  });
  after(async () => {
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  const escapes: Array<[string, (seconds: string) => string]> = [
    // The parent is gone and its exit reported, so its group is no longer tracked: found by its marker.
    ['a child whose parent has exited', (s) => `sleep ${s} >/dev/null 2>&1 &`],
    // Left the process group and session: found by its marker.
    ['a child that called setsid()', (s) => `setsid sleep ${s} >/dev/null 2>&1 &`],
    // Dropped the marker, and its parent is gone; it still holds the process's output, so the process
    // has not ended and its group is still tracked: found by its group.
    ['a child that cleared its environment', (s) => `env -i /bin/sleep ${s} &`],
  ];
  for (const [what, script] of escapes) {
    it(`kills ${what}`, opts, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId()));
      const seconds = uniqueSleep();
      sleeps.push(seconds);
      const argv = what.includes('environment') ? ['/bin/sleep', seconds] : ['sleep', seconds];
      const p = await start(provider, handle.runtimeId, { argv: ['sh', '-c', script(seconds)] });
      await eventually(async () => (await hostProcesses(argv)).length === 1, `${what} to appear`);
      await provider.destroy(handle.runtimeId);
      assert.deepEqual(await hostProcesses(argv), [], `${what} survived destroy`);
      await p.exited();
    });
  }
});

describe('process provider: one data dir, several providers and restarts', () => {
  let dataDir: string;
  let provider: ProcessProvider;
  before(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'drover-process-reconcile-'));
    provider = await createProcessProvider({ dataDir, killGraceMs: 500 });
  });
  after(async () => {
    for (const { runtimeId } of await provider.inventory()) await provider.destroy(runtimeId);
    await provider.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("neither lists nor destroys another provider's runtime", opts, async () => {
    const foreign = join(dataDir, 'runtimes', 'rt-of-bwrap');
    await mkdir(join(foreign, 'workspace'), { recursive: true });
    await writeFile(join(foreign, 'runtime.json'), JSON.stringify({ runtimeId: 'rt-of-bwrap', sandboxId: 'sbx-b', provider: 'bwrap' }));
    assert.deepEqual((await provider.inventory()).filter((r) => r.runtimeId === 'rt-of-bwrap'), []);
    assert.equal(await provider.status('rt-of-bwrap'), undefined);
    await assert.rejects(provider.destroy('rt-of-bwrap'), { code: 'conflict' });
    await assert.rejects(provider.spawn(spawnRequest('rt-of-bwrap', { sandboxId: 'sbx-b' })), { code: 'conflict' });
    assert.ok(existsSync(join(foreign, 'workspace')));
  });

  it('after a restart a runtime is dead until spawned again, which adopts it with its files', opts, async () => {
    const handle = await provider.spawn(spawnRequest(uniqueId(), { sandboxId: 'sbx-adopt' }));
    await writeFile(join(handle.workspace, 'state.txt'), 'survives');
    const successor = await createProcessProvider({ dataDir, killGraceMs: 500 });
    try {
      assert.equal((await successor.status(handle.runtimeId))?.state, 'dead');
      await assert.rejects(successor.startProcess(handle.runtimeId, { argv: ['true'] }), { code: 'not_found' });
      const adopted = await successor.spawn(spawnRequest(handle.runtimeId, { sandboxId: 'sbx-adopt' }));
      assert.equal(adopted.workspace, handle.workspace);
      assert.equal((await successor.status(handle.runtimeId))?.state, 'running');
      const p = await run(successor, handle.runtimeId, { argv: ['cat', 'state.txt'] });
      assert.equal(p.text(), 'survives');
    } finally {
      await successor.close();
    }
  });

  it('refuses new work once closed, but still destroys', opts, async () => {
    const closing = await createProcessProvider({ dataDir, killGraceMs: 500 });
    const handle = await closing.spawn(spawnRequest(uniqueId()));
    await closing.close();
    await assert.rejects(closing.startProcess(handle.runtimeId, { argv: ['true'] }), { code: 'unavailable' });
    await assert.rejects(closing.spawn(spawnRequest(uniqueId())), { code: 'unavailable' });
    await closing.destroy(handle.runtimeId);
    assert.equal(existsSync(handle.workspace), false);
  });
});
