/** Conformance: what a provider says about itself, and the life of a runtime from spawn to destroy. */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { isAbsolute, join } from 'node:path';
import { describe, it } from 'node:test';
import type { RuntimeHandle } from '../../../../src/worker/providers/types.js';
import { needs, type ProviderFixture } from './fixture.js';
import { useSession } from './session.js';
import { hostProcesses, eventually, rejectsWithCode, start, uniqueId, uniqueSleep } from './support.js';

const LIMIT_VALUES = {
  cpu: ['cgroup', 'none'],
  memory: ['cgroup', 'rlimit', 'none'],
  pids: ['cgroup', 'rlimit', 'none'],
  disk: ['none'],
  network: ['namespace', 'host'],
  filesystem: ['private', 'host'],
} as const;

export function lifecycleContract(fixture: ProviderFixture): void {
  describe('describing itself', () => {
    const session = useSession(fixture);

    it('reports its name, capabilities and warnings, and is healthy', needs(fixture), async () => {
      const { provider } = session();
      const info = provider.info();
      assert.equal(provider.name, fixture.name);
      assert.equal(info.name, fixture.name);
      assert.equal(typeof info.isolated, 'boolean');
      assert.ok(info.capabilities.every((c) => typeof c === 'string' && c.length > 0));
      assert.ok(info.capabilities.some((c) => c.startsWith('network:')), `a network capability: ${info.capabilities.join(', ')}`);
      assert.equal(info.capabilities.includes('pty'), !fixture.exempt?.pty, "'pty' is a capability exactly when the PTY checks apply");
      if (!info.isolated) assert.ok(info.warnings.length > 0, 'a provider that does not isolate must warn about it');
      assert.ok(info.warnings.every((w) => typeof w === 'string' && w.length > 0));
      assert.deepEqual(await provider.health(), { ok: true });
    });
  });

  describe('runtime lifecycle', () => {
    const session = useSession(fixture);

    it('spawns a running runtime with an existing, absolute workspace and an honest limits report', needs(fixture), async () => {
      const { provider } = session();
      const handle = await session().spawn({ sandboxId: 'sbx-lifecycle-1', network: 'none' });
      assert.equal(handle.sandboxId, 'sbx-lifecycle-1');
      assert.ok(isAbsolute(handle.workspace) && existsSync(handle.workspace), `workspace ${handle.workspace} exists`);
      for (const [key, allowed] of Object.entries(LIMIT_VALUES)) {
        assert.ok((allowed as readonly string[]).includes(handle.enforced[key as keyof typeof LIMIT_VALUES]), `enforced.${key}`);
      }
      if (provider.info().isolated) {
        assert.equal(handle.enforced.network, 'namespace', 'network "none" gets its own namespace');
        assert.equal(handle.enforced.filesystem, 'private');
      } else {
        assert.equal(handle.enforced.filesystem, 'host');
        assert.ok(handle.warnings.length > 0, 'an unisolated runtime carries warnings');
      }
      const status = await provider.status(handle.runtimeId);
      assert.deepEqual({ ...status, processes: 0 }, { runtimeId: handle.runtimeId, sandboxId: 'sbx-lifecycle-1', state: 'running', processes: 0 });
    });

    it('lists the runtime in inventory until it is destroyed; destroy removes the workspace and is idempotent', needs(fixture), async () => {
      const { provider } = session();
      const handle = await session().spawn();
      const entry = { runtimeId: handle.runtimeId, sandboxId: handle.sandboxId };
      assert.deepEqual((await provider.inventory()).filter((r) => r.runtimeId === handle.runtimeId), [entry]);
      await writeFile(join(handle.workspace, 'left-behind.txt'), 'x');
      await provider.destroy(handle.runtimeId);
      assert.equal(existsSync(handle.workspace), false, 'workspace removed');
      assert.equal(await provider.status(handle.runtimeId), undefined);
      assert.deepEqual((await provider.inventory()).filter((r) => r.runtimeId === handle.runtimeId), []);
      await provider.destroy(handle.runtimeId);
      await provider.destroy(uniqueId('never-spawned'));
      await rejectsWithCode(provider.startProcess(handle.runtimeId, { argv: ['true'] }), 'not_found');
    });

    it('gives two runtimes distinct workspaces', needs(fixture), async () => {
      const a = await session().spawn();
      const b = await session().spawn();
      assert.notEqual(a.workspace, b.workspace);
      await writeFile(join(a.workspace, 'only-in-a.txt'), 'a');
      assert.equal(existsSync(join(b.workspace, 'only-in-a.txt')), false);
      await session().provider.destroy(a.runtimeId);
      assert.ok(existsSync(b.workspace), "destroying one runtime leaves the other's workspace");
    });

    it('re-spawning a runtime of the same sandbox keeps it; another sandbox cannot take its id', needs(fixture), async () => {
      const first = await session().spawn({ sandboxId: 'sbx-owner' });
      await writeFile(join(first.workspace, 'kept.txt'), 'kept');
      const again: RuntimeHandle = await session().spawn({ sandboxId: 'sbx-owner', runtimeId: first.runtimeId });
      assert.equal(again.workspace, first.workspace);
      assert.equal(await readFile(join(again.workspace, 'kept.txt'), 'utf8'), 'kept');
      await rejectsWithCode(session().spawn({ sandboxId: 'sbx-intruder', runtimeId: first.runtimeId }), 'conflict');
    });

    it('rejects runtime ids that could step outside its directory, touching nothing', needs(fixture), async () => {
      const { provider, dataDir } = session();
      const victim = join(dataDir, 'victim');
      await mkdir(victim, { recursive: true });
      await writeFile(join(victim, 'precious.txt'), 'keep me');
      for (const bad of ['../victim', '..', '.', 'a/b', '', 'x\0y', '/etc']) {
        await rejectsWithCode(provider.destroy(bad), 'bad_request');
        await rejectsWithCode(session().spawn({ runtimeId: bad }), 'bad_request');
        await rejectsWithCode(provider.status(bad), 'bad_request');
      }
      assert.equal(await readFile(join(victim, 'precious.txt'), 'utf8'), 'keep me');
    });

    it('rejects processes in a runtime it does not have', needs(fixture), async () => {
      await rejectsWithCode(session().provider.startProcess(uniqueId('missing'), { argv: ['true'] }), 'not_found');
    });

    it('ends the processes of a runtime when it is destroyed, reporting how they ended', needs(fixture), async () => {
      const { provider } = session();
      const handle = await session().spawn();
      const sleeper = await start(provider, handle.runtimeId, { argv: ['sleep', '100'] });
      const status = await provider.status(handle.runtimeId);
      assert.ok((status?.processes ?? 0) >= 1, `a running process is counted: ${JSON.stringify(status)}`);
      await provider.destroy(handle.runtimeId);
      const exit = await sleeper.exited();
      assert.equal(exit.exitCode, null);
      assert.ok(exit.signal === 'SIGTERM' || exit.signal === 'SIGKILL', `ended by a signal: ${JSON.stringify(exit)}`);
    });
  });

  describe('runtimes outlive the provider instance', () => {
    const session = useSession(fixture);

    it('a new instance on the same data dir lists a runtime and destroys it, processes included', needs(fixture, 'reopen', 'realCommands', 'backgroundChildren'), async () => {
      const { provider } = session();
      const handle = await session().spawn();
      const seconds = uniqueSleep();
      const sleeper = await start(provider, handle.runtimeId, { argv: ['sleep', seconds] });
      await eventually(async () => (await hostProcesses(['sleep', seconds])).length > 0, 'the sleep to appear on the host');
      const pids = await hostProcesses(['sleep', seconds]);

      // As after a worker restart: the new instance knows the runtime only from what is on disk.
      const successor = await session().reopen();
      assert.deepEqual(
        (await successor.inventory()).filter((r) => r.runtimeId === handle.runtimeId),
        [{ runtimeId: handle.runtimeId, sandboxId: handle.sandboxId }],
      );
      assert.ok(await successor.status(handle.runtimeId), 'the successor knows the runtime exists');
      await successor.destroy(handle.runtimeId);
      assert.deepEqual(await hostProcesses(['sleep', seconds]), [], `the orphaned sleep (${pids.join(', ')}) was killed`);
      assert.equal(existsSync(handle.workspace), false);
      assert.deepEqual((await provider.inventory()).filter((r) => r.runtimeId === handle.runtimeId), []);
      await sleeper.exited();
    });
  });
}
