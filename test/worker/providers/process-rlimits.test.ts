/**
 * The process provider's limits and environment: the pure decisions (limits.ts, env.ts), and that
 * what it reports as enforced is what a process inside actually gets.
 */
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { buildEnv, hostCwd } from '../../../src/worker/providers/process/env.js';
import { limitValues, planLimits, wrapArgv, type HostFacts } from '../../../src/worker/providers/process/limits.js';
import { createProcessProvider, type ProcessProvider } from '../../../src/worker/providers/process/index.js';
import { TEST_TIMEOUT_MS } from './conformance/fixture.js';
import { MiB, run, spawnRequest, uniqueId } from './conformance/support.js';

const USER: HostFacts = { prlimit: '/usr/bin/prlimit', shell: '/bin/sh', uid: 1000 };
const ROOT: HostFacts = { ...USER, uid: 0 };
const NO_PRLIMIT: HostFacts = { ...USER, prlimit: undefined };
const RESOURCES = { cpuMilli: 500, memoryMb: 256, diskMb: 100, pids: 64 };

describe('process provider: limit planning (pure)', () => {
  it('uses prlimit when installed, the shell otherwise, and reports what each enforces', () => {
    const plan = planLimits(RESOURCES, USER, 'auto');
    assert.equal(plan.mechanism, 'prlimit');
    assert.deepEqual(plan.enforced, { cpu: 'none', memory: 'rlimit', pids: 'rlimit', disk: 'none', network: 'host', filesystem: 'host' });
    assert.equal(planLimits(RESOURCES, NO_PRLIMIT, 'auto').mechanism, 'shell');
    assert.throws(() => planLimits(RESOURCES, NO_PRLIMIT, 'prlimit'), /prlimit/);
  });

  it('does not claim a process limit for root, nor when no pids were asked for, nor with rlimits off', () => {
    const root = planLimits(RESOURCES, ROOT, 'auto');
    assert.equal(root.enforced.pids, 'none');
    assert.ok(root.warnings.some((w) => w.includes('root')));
    assert.equal(planLimits({ ...RESOURCES, pids: undefined }, USER, 'auto').enforced.pids, 'none');
    const off = planLimits(RESOURCES, USER, 'off');
    assert.equal(off.enforced.memory, 'none');
    assert.equal(off.enforced.pids, 'none');
  });

  it('sets the process limit above what the user already runs', () => {
    const plan = planLimits(RESOURCES, USER, 'auto');
    assert.deepEqual(limitValues(RESOURCES, plan, 300), { dataBytes: 256 * MiB, nproc: 364 });
  });

  it('wraps the command so that it is exec()ed with its argv intact', () => {
    const values = { dataBytes: 256 * MiB, nproc: 364 };
    const viaPrlimit = wrapArgv(['echo', 'a b', '$HOME'], planLimits(RESOURCES, USER, 'auto'), USER, values);
    assert.deepEqual(viaPrlimit, { file: '/usr/bin/prlimit', args: [`--data=${256 * MiB}`, '--nproc=364', '--', 'echo', 'a b', '$HOME'] });
    const viaShell = wrapArgv(['echo', 'a b'], planLimits(RESOURCES, USER, 'shell'), USER, values);
    assert.equal(viaShell.file, '/bin/sh');
    assert.deepEqual(viaShell.args.slice(2), ['drover-sandbox', 'echo', 'a b']);
    assert.match(viaShell.args[1] as string, /ulimit -d 262144 \|\| exit 126; .*exec "\$@"$/);
  });

  it("builds the environment from scratch: defaults < sandbox < process, marker last", () => {
    const env = buildEnv({ runtimeId: 'rt-1', home: '/data/ws', sandboxEnv: { A: 'sandbox', PATH: '/opt/bin' }, processEnv: { A: 'process' }, pty: true });
    assert.deepEqual(env, { PATH: '/opt/bin', HOME: '/data/ws', LANG: 'C.UTF-8', TERM: 'xterm-256color', A: 'process', DROVER_RUNTIME_ID: 'rt-1' });
    const forged = buildEnv({ runtimeId: 'rt-1', home: '/h', sandboxEnv: {}, processEnv: { DROVER_RUNTIME_ID: 'rt-other' }, pty: false });
    assert.equal(forged.DROVER_RUNTIME_ID, 'rt-1', 'a process cannot pose as another runtime');
  });

  it('maps /workspace and relative cwds into the workspace', () => {
    assert.equal(hostCwd('/d/ws', undefined), '/d/ws');
    assert.equal(hostCwd('/d/ws', '/workspace'), '/d/ws');
    assert.equal(hostCwd('/d/ws', '/workspace/a/b'), '/d/ws/a/b');
    assert.equal(hostCwd('/d/ws', 'a'), '/d/ws/a');
    assert.equal(hostCwd('/d/ws', '/workspace/../etc'), '/etc');
    assert.equal(hostCwd('/d/ws', '/workspaces'), '/workspaces');
    assert.equal(hostCwd('/d/ws', '/tmp'), '/tmp');
  });
});

/** Soft limit of one row of /proc/self/limits, as printed inside the sandbox. */
function limit(limits: string, row: string): string {
  const line = limits.split('\n').find((l) => l.startsWith(row));
  assert.ok(line, `no ${row} row in ${limits}`);
  return line.slice(26).trim().split(/\s+/)[0] as string;
}

for (const rlimits of ['prlimit', 'shell'] as const) {
  describe(`process provider: limits a process really gets (${rlimits})`, () => {
    let dataDir: string;
    let provider: ProcessProvider;
    before(async () => {
      dataDir = await mkdtemp(join(tmpdir(), 'drover-process-limits-'));
      provider = await createProcessProvider({ dataDir, rlimits, killGraceMs: 500 });
    });
    after(async () => {
      for (const { runtimeId } of await provider.inventory()) await provider.destroy(runtimeId);
      await provider.close();
      await rm(dataDir, { recursive: true, force: true });
    });

    it('applies the memory limit, and the process limit unless running as root', { timeout: TEST_TIMEOUT_MS }, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId(), { resources: { cpuMilli: 100, memoryMb: 200, diskMb: 10, pids: 50 } }));
      const p = await run(provider, handle.runtimeId, { argv: ['cat', '/proc/self/limits'] });
      assert.equal(limit(p.text(), 'Max data size'), String(200 * MiB));
      assert.equal(handle.enforced.memory, 'rlimit');
      if (process.getuid?.() === 0) {
        assert.equal(handle.enforced.pids, 'none');
        assert.ok(handle.warnings.some((w) => w.includes('root')));
      } else {
        assert.equal(handle.enforced.pids, 'rlimit');
        assert.ok(Number(limit(p.text(), 'Max processes')) >= 50);
      }
    });

    it('contains a memory hog: allocation fails long before it gets far', { timeout: TEST_TIMEOUT_MS }, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId(), { resources: { cpuMilli: 100, memoryMb: 128, diskMb: 10 } }));
      // Gives up on its own at 1 GiB, so a broken limit fails the test instead of exhausting the host.
      const hog = "const a = []; for (let i = 0; i < 64; i++) a.push(Buffer.alloc(16 << 20, 1)); console.log('allocated 1 GiB');";
      const p = await run(provider, handle.runtimeId, { argv: ['node', '-e', hog] });
      assert.notDeepEqual(p.exit, { exitCode: 0, signal: null }, `the hog was not contained: ${p.describe()}`);
      assert.ok(!p.text().includes('allocated 1 GiB'));
    });

    it('says a network "none" request is not honoured', { timeout: TEST_TIMEOUT_MS }, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId(), { network: 'none' }));
      assert.equal(handle.enforced.network, 'host');
      assert.ok(handle.warnings.some((w) => w.includes('network')));
      const hostNet = await provider.spawn(spawnRequest(uniqueId(), { network: 'host' }));
      assert.ok(!hostNet.warnings.some((w) => w.includes('"none"')));
    });

    it('sets HOME to the workspace and LANG, and marks the process with its runtime', { timeout: TEST_TIMEOUT_MS }, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId()));
      const p = await run(provider, handle.runtimeId, { argv: ['sh', '-c', 'echo "$HOME|$LANG|$DROVER_RUNTIME_ID"'] });
      assert.equal(p.text(), `${handle.workspace}|C.UTF-8|${handle.runtimeId}\n`);
    });

    it('rejects a cwd that does not exist and env that execve cannot carry', { timeout: TEST_TIMEOUT_MS }, async () => {
      const handle = await provider.spawn(spawnRequest(uniqueId()));
      await assert.rejects(provider.startProcess(handle.runtimeId, { argv: ['true'], cwd: '/workspace/nope' }), { code: 'bad_request' });
      await assert.rejects(provider.startProcess(handle.runtimeId, { argv: ['true'], env: { 'A=B': 'x' } }), { code: 'bad_request' });
      await assert.rejects(provider.startProcess(handle.runtimeId, { argv: ['true'], env: { A: 'x\0y' } }), { code: 'bad_request' });
      await assert.rejects(provider.startProcess(handle.runtimeId, { argv: [] }), { code: 'bad_request' });
      await assert.rejects(provider.spawn(spawnRequest(uniqueId(), { env: { '': 'x' } })), { code: 'bad_request' });
    });
  });
}
