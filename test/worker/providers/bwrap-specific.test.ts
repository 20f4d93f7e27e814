/**
 * What only the bwrap provider promises, beyond the shared conformance suite: containment (spec 06,
 * security item 4), limits against a noisy neighbour (fault item 10), and the design decisions that
 * keep it honest — signals reach the command and not the host-side nsenter, the sandbox's environment
 * never reaches host-side processes, stray worker fds never reach a sandbox. Each case that needs
 * something this host lacks is skipped with the reason.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { closeSync, existsSync } from 'node:fs';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { get } from 'node:http';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { limitWrites } from '../../../src/worker/providers/bwrap/cgroups/limits.js';
import { parseMountinfo, placeControllers } from '../../../src/worker/providers/bwrap/cgroups/mounts.js';
import { createBwrapProvider } from '../../../src/worker/providers/bwrap/index.js';
import { holderArgs } from '../../../src/worker/providers/bwrap/sandbox-fs.js';
import { prelude, shQuote } from '../../../src/worker/providers/bwrap/shell.js';
import type { Provider, RuntimeHandle, SpawnRequest } from '../../../src/worker/providers/types.js';
import { eventually, hostProcesses, run, start, uniqueId, uniqueSleep } from './conformance/support.js';

const unavailable = await (async (): Promise<string | undefined> => {
  if (process.platform !== 'linux') return 'bwrap sandboxes need Linux';
  try {
    const health = await createBwrapProvider({ dataDir: '/tmp' }).health();
    return health.ok ? undefined : `bwrap cannot start sandboxes here: ${health.detail ?? ''}`;
  } catch (err) {
    return (err as Error).message;
  }
})();
const T = { timeout: 120_000 };
const NODE_INSIDE = process.execPath.startsWith('/usr/') ? process.execPath : undefined;
const PYTHON_INSIDE = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : undefined;

/** One provider on a fresh data dir, destroying whatever it spawned at the end. */
function useProvider(options: { cgroups?: 'auto' | 'off' } = {}) {
  const state = { dataDir: '', provider: undefined as unknown as Provider, spawned: [] as string[] };
  before(async () => {
    state.dataDir = await mkdtemp(join(tmpdir(), 'drover-bwrap-'));
    await chmod(state.dataDir, 0o711);
    state.provider = createBwrapProvider({ dataDir: state.dataDir, ...options });
  });
  after(async () => {
    for (const id of state.spawned) await state.provider.destroy(id);
    await state.provider.close();
    await rm(state.dataDir, { recursive: true, force: true });
  });
  const spawn = (overrides: Partial<SpawnRequest> = {}): Promise<RuntimeHandle> => {
    const runtimeId = uniqueId();
    state.spawned.push(runtimeId);
    return state.provider.spawn({
      sandboxId: `sbx-${runtimeId}`, runtimeId, env: {}, network: 'none',
      resources: { cpuMilli: 1000, memoryMb: 512, diskMb: 0, pids: 256 }, ...overrides,
    });
  };
  return { state, spawn };
}

async function record(dataDir: string, runtimeId: string): Promise<{ cgroups: string[] }> {
  return JSON.parse(await readFile(join(dataDir, 'runtimes', runtimeId, 'runtime.json'), 'utf8')) as { cgroups: string[] };
}

function cgroupDir(dirs: string[], controller: string): string | undefined {
  return dirs.find((d) => d.startsWith(`/sys/fs/cgroup/${controller}/`)) ?? dirs.find((d) => !/\/sys\/fs\/cgroup\/(memory|pids|cpu)\//.test(d));
}

/**
 * The host pid of the command a SandboxProcess runs: the child of its host-side nsenter, once it has
 * become `argv0` (before that it is still nsenter, env or setsid, with their credentials and environment).
 */
async function commandPid(nsenterPid: number, argv0: string): Promise<number> {
  let found: number | undefined;
  await eventually(async () => {
    const { stdout } = await hostRun('ps', ['-o', 'pid=', '--ppid', String(nsenterPid)]);
    const pid = Number(stdout.trim().split('\n')[0]) || undefined;
    const cmdline = pid ? await readFile(`/proc/${pid}/cmdline`, 'utf8').catch(() => '') : '';
    found = cmdline.split('\0')[0] === argv0 ? pid : undefined;
    return found !== undefined;
  }, `${argv0} under nsenter`);
  return found as number;
}

function hostRun(file: string, args: string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => execFile(file, args, (err, stdout) => resolve({ code: err ? 1 : 0, stdout: String(stdout) })));
}

describe('bwrap provider', { skip: unavailable }, () => {
  describe('containment (security item 4)', () => {
    const { state, spawn } = useProvider();

    it("hides the worker's data dir, other sandboxes, /root, /home and host directories", T, async () => {
      const mine = await spawn();
      const other = await spawn();
      await writeFile(join(other.workspace, 'private.txt'), 'other sandbox');
      await writeFile(join(state.dataDir, 'worker-secret.txt'), 'secret');
      const paths = [state.dataDir, join(state.dataDir, 'worker-secret.txt'), other.workspace, join(other.workspace, 'private.txt'),
        mine.workspace, '/root', '/home', '/var', '/srv', '/etc/shadow', '/run', '/sys/fs/cgroup'];
      const p = await run(state.provider, mine.runtimeId, {
        argv: ['sh', '-c', 'for p in "$@"; do [ -e "$p" ] && echo "visible: $p"; done; echo checked', 'sh', ...paths],
      });
      assert.equal(p.text(), 'checked\n', p.describe());
    });

    it('cannot see or signal host processes', T, async () => {
      const h = await spawn();
      const p = await run(state.provider, h.runtimeId, {
        argv: ['sh', '-c', `[ -e /proc/${process.pid} ] && echo "proc visible"; kill -0 ${process.pid} 2>/dev/null && echo "signalled"; kill -0 1 && echo "init ok"; echo done`],
      });
      assert.equal(p.text(), 'init ok\ndone\n', p.describe());
      const listing = (await run(state.provider, h.runtimeId, { argv: ['ls', '/proc'] })).text().split('\n').filter((n) => /^\d+$/.test(n));
      assert.ok(listing.length > 0 && listing.every((pid) => Number(pid) < 1000), `host pids in the sandbox's /proc: ${listing.join(' ')}`);
    });

    it('runs as an unprivileged user with no capabilities, on a read-only root', T, async () => {
      const h = await spawn();
      const p = await run(state.provider, h.runtimeId, {
        argv: ['sh', '-c', [
          'id -un; grep CapEff /proc/self/status',
          'for p in /x /usr/x /etc/x /dev/x; do touch $p 2>/dev/null && echo "wrote $p"; done',
          'for p in /tmp/x /dev/shm/x /workspace/x; do touch $p || echo "cannot write $p"; done',
          'echo end',
        ].join('; ')],
      });
      assert.equal(p.text(), 'sandbox\nCapEff:\t0000000000000000\nend\n', p.describe());
      if (process.getuid?.() === 0) {
        const sleeper = await start(state.provider, h.runtimeId, { argv: ['sleep', uniqueSleep()] });
        const status = await readFile(`/proc/${await commandPid(sleeper.proc.pid, 'sleep')}/status`, 'utf8');
        assert.match(status, /^Uid:\s+65534\s/m, 'the host sees the sandbox as nobody, not root');
        sleeper.proc.signal('SIGKILL');
        await sleeper.exited();
      }
    });

    it('network "none" cannot reach the host loopback; network "host" can', { ...T, skip: NODE_INSIDE ? false : 'node is not under /usr here' }, async () => {
      const server = createServer((s) => {
        s.on('error', () => {}); // The probe exits as soon as it is connected.
        s.end('hi');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const port = String((server.address() as { port: number }).port);
      const probe = "const s=require('net').connect(+process.argv[1],'127.0.0.1');s.on('connect',()=>{console.log('connected');process.exit(0)});s.on('error',e=>{console.log(e.code);process.exit(0)})";
      try {
        const none = await spawn({ network: 'none' });
        const host = await spawn({ network: 'host' });
        assert.equal(none.enforced.network, 'namespace');
        assert.equal(host.enforced.network, 'host');
        assert.equal((await run(state.provider, none.runtimeId, { argv: ['node', '-e', probe, port] })).text(), 'ECONNREFUSED\n');
        assert.equal((await run(state.provider, host.runtimeId, { argv: ['node', '-e', probe, port] })).text(), 'connected\n');
        assert.deepEqual(await state.provider.portAddress(host.runtimeId, 8080), { kind: 'tcp', host: '127.0.0.1', port: 8080 });
      } finally {
        server.close();
      }
    });

    it('serves portAddress over a 0600 unix socket with network "none"', { ...T, skip: NODE_INSIDE ? false : 'node is not under /usr here' }, async () => {
      const h = await spawn();
      const server = await start(state.provider, h.runtimeId, {
        argv: ['node', '-e', "require('http').createServer((q,r)=>r.end('inside')).listen(+process.argv[1],'127.0.0.1',()=>console.log('up'))", '18080'],
      });
      await server.until(() => server.text().includes('up'), 'the server');
      const address = await state.provider.portAddress(h.runtimeId, 18080);
      assert.equal(address.kind, 'unix');
      if (address.kind !== 'unix') return;
      assert.equal((await stat(address.path)).mode & 0o777, 0o600);
      const body = await new Promise<string>((resolve, reject) => {
        const req = get({ socketPath: address.path, path: '/' }, (res) => {
          let text = '';
          res.on('data', (c: Buffer) => (text += c.toString()));
          res.on('end', () => resolve(text));
        });
        req.on('error', reject);
      });
      assert.equal(body, 'inside');
      assert.deepEqual(await state.provider.portAddress(h.runtimeId, 18080), address, 'the forwarder is reused');
      server.proc.signal('SIGKILL');
      await server.exited();
    });

    it('survives `kill -9 -1` inside: the holder is pid 1 and ignores it', T, async () => {
      const h = await spawn();
      await run(state.provider, h.runtimeId, { argv: ['sh', '-c', 'kill -9 -1'] });
      assert.equal((await state.provider.status(h.runtimeId))?.state, 'running');
      assert.equal((await run(state.provider, h.runtimeId, { argv: ['echo', 'still here'] })).text(), 'still here\n');
    });
  });

  describe('processes', () => {
    const { state, spawn } = useProvider();
    let id: string;
    before(async () => {
      id = (await spawn({ env: { SANDBOX_MARKER: 'sandbox-env' } })).runtimeId;
    });

    it('SIGTERM reaches the command (which may trap it), not the host-side nsenter', T, async () => {
      const p = await start(state.provider, id, { argv: ['sh', '-c', 'trap "echo caught; exit 5" TERM; echo ready; while :; do sleep 0.1; done'] });
      await p.until(() => p.text().includes('ready'), 'ready');
      p.proc.signal('SIGTERM');
      assert.deepEqual(await p.exited(), { exitCode: 5, signal: null });
      assert.match(p.text(), /caught/);
    });

    it('Ctrl-C on a terminal interrupts the command, which leads its own session', T, async () => {
      const p = await start(state.provider, id, {
        argv: ['sh', '-c', 'trap "echo caught-int; exit 7" INT; echo ready; while :; do sleep 0.1; done'],
        pty: { cols: 80, rows: 24 },
      });
      await p.until(() => p.text().includes('ready'), 'ready');
      p.proc.write(Buffer.from([0x03]));
      assert.deepEqual(await p.exited(), { exitCode: 7, signal: null });
      assert.match(p.text(), /caught-int/);
    });

    it("keeps the sandbox's environment off host-side processes", T, async () => {
      const p = await start(state.provider, id, { argv: ['sleep', uniqueSleep()], env: { PROCESS_MARKER: 'process-env' } });
      const command = await commandPid(p.proc.pid, 'sleep');
      const hostSide = await readFile(`/proc/${p.proc.pid}/environ`, 'utf8');
      const inside = await readFile(`/proc/${command}/environ`, 'utf8');
      assert.ok(!hostSide.includes('MARKER'), `the host-side nsenter saw the sandbox env: ${hostSide.split('\0').join(' ')}`);
      assert.ok(inside.includes('SANDBOX_MARKER=sandbox-env') && inside.includes('PROCESS_MARKER=process-env'));
      p.proc.signal('SIGKILL');
      await p.exited();
    });

    it("passes none of the worker's inheritable fds (e.g. node-pty masters) into a sandbox", T, async () => {
      const pty = createRequire(import.meta.url)('node-pty') as { native?: { open(c: number, r: number): { master: number; slave: number } } };
      const leaked = pty.native?.open(80, 24);
      try {
        const p = await run(state.provider, id, { argv: ['sh', '-c', 'for f in /proc/self/fd/*; do echo "$f -> $(readlink $f)"; done'] });
        const extra = p.text().split('\n').filter((l) => /fd\/(\d+) ->/.test(l) && Number(/fd\/(\d+)/.exec(l)?.[1]) > 2);
        // /dev/null where the worker had stray fds; an empty target is the loop's own directory fd, gone by then.
        assert.ok(extra.every((l) => l.endsWith('/dev/null') || l.endsWith('-> ')), `leaked: ${extra.join('; ')}`);
      } finally {
        if (leaked) for (const fd of [leaked.master, leaked.slave]) closeSync(fd);
      }
    });
  });

  describe('limits (fault item 10: noisy neighbour)', () => {
    const { state, spawn } = useProvider();

    it('reports cgroup enforcement when cgroups are writable', T, async () => {
      const h = await spawn();
      const info = state.provider.info();
      for (const c of ['memory', 'pids', 'cpu'] as const) {
        assert.equal(h.enforced[c], info.capabilities.includes(`limits:${c}`) ? 'cgroup' : c === 'cpu' ? 'none' : 'rlimit');
      }
    });

    it('kills a memory hog at its memory limit', T, async (t) => {
      const h = await spawn({ resources: { cpuMilli: 1000, memoryMb: 64, diskMb: 0, pids: 64 } });
      if (h.enforced.memory !== 'cgroup') return t.skip('no writable memory cgroup on this host');
      if (!PYTHON_INSIDE) return t.skip('no /usr/bin/python3 to allocate with');
      const p = await run(state.provider, h.runtimeId, { argv: ['python3', '-c', "x = b'a' * (512 << 20); print('survived')"] });
      assert.deepEqual(p.exit, { exitCode: null, signal: 'SIGKILL' }, p.describe());
      assert.ok(!p.text().includes('survived'));
    });

    it('stops a fork bomb at pids.max; the host keeps working; destroy ends it', T, async (t) => {
      const h = await spawn({ resources: { cpuMilli: 500, memoryMb: 256, diskMb: 0, pids: 48 } });
      if (h.enforced.pids !== 'cgroup') return t.skip('no writable pids cgroup on this host');
      const pids = cgroupDir((await record(state.dataDir, h.runtimeId)).cgroups, 'pids') as string;
      const bomb = await start(state.provider, h.runtimeId, { argv: ['sh', '-c', 'exec 2>/dev/null; f() { f | f & }; f; wait'] });
      await eventually(async () => /max [1-9]/.test(await readFile(join(pids, 'pids.events'), 'utf8').catch(() => '')), 'the bomb to hit pids.max');
      assert.ok(Number(await readFile(join(pids, 'pids.current'), 'utf8')) <= 48);
      assert.equal((await hostRun('true', [])).code, 0, 'the host can still start processes');
      await state.provider.destroy(h.runtimeId);
      await bomb.exited();
      assert.equal(existsSync(pids), false, 'the cgroup is gone');
    });

    it('runs a CPU burn under its quota', T, async (t) => {
      const h = await spawn({ resources: { cpuMilli: 250, memoryMb: 256, diskMb: 0, pids: 64 } });
      if (h.enforced.cpu !== 'cgroup') return t.skip('no writable cpu cgroup on this host');
      const dir = cgroupDir((await record(state.dataDir, h.runtimeId)).cgroups, 'cpu') as string;
      const burn = await start(state.provider, h.runtimeId, { argv: ['sh', '-c', 'while :; do :; done'] });
      const pid = await commandPid(burn.proc.pid, 'sh');
      assert.ok((await readFile(join(dir, 'cgroup.procs'), 'utf8')).split('\n').includes(String(pid)), 'the burn is in the cgroup');
      const quota = existsSync(join(dir, 'cpu.max')) ? await readFile(join(dir, 'cpu.max'), 'utf8') : await readFile(join(dir, 'cpu.cfs_quota_us'), 'utf8');
      assert.match(quota, /^25000\b/);
      burn.proc.signal('SIGKILL');
      await burn.exited();
    });
  });

  describe('without cgroups: rlimits, said so', () => {
    const { state, spawn } = useProvider({ cgroups: 'off' });

    it('falls back to RLIMIT_AS and RLIMIT_NPROC and reports it', T, async () => {
      const h = await spawn({ resources: { cpuMilli: 500, memoryMb: 300, diskMb: 0, pids: 77 } });
      assert.deepEqual([h.enforced.memory, h.enforced.pids, h.enforced.cpu], ['rlimit', 'rlimit', 'none']);
      assert.ok(h.warnings.some((w) => w.includes('RLIMIT_AS')) && h.warnings.some((w) => w.includes('RLIMIT_NPROC')));
      assert.ok(!state.provider.info().capabilities.some((c) => c.startsWith('cgroup:')));
      const p = await run(state.provider, h.runtimeId, { argv: ['sh', '-c', 'ulimit -v; ulimit -u 2>/dev/null || ulimit -p'] });
      assert.equal(p.text(), `${300 * 1024}\n77\n`);
    });
  });

  describe('restarts', () => {
    const { state, spawn } = useProvider();

    it('re-spawning a runtime whose holder died starts a new one around the same workspace', T, async () => {
      const h = await spawn();
      await writeFile(join(h.workspace, 'kept.txt'), 'kept');
      const { holder } = JSON.parse(await readFile(join(state.dataDir, 'runtimes', h.runtimeId, 'runtime.json'), 'utf8')) as { holder: { pid: number } };
      process.kill(holder.pid, 'SIGKILL');
      await eventually(async () => (await state.provider.status(h.runtimeId))?.state === 'dead', 'the runtime to be dead');
      await state.provider.spawn({ sandboxId: h.sandboxId, runtimeId: h.runtimeId, env: {}, network: 'none', resources: { cpuMilli: 1000, memoryMb: 512, diskMb: 0 } });
      assert.equal((await run(state.provider, h.runtimeId, { argv: ['cat', 'kept.txt'] })).text(), 'kept');
    });

    it('leaves no cgroup or process of destroyed runtimes behind', T, async () => {
      const h = await spawn();
      const seconds = uniqueSleep();
      await start(state.provider, h.runtimeId, { argv: ['sleep', seconds] });
      await eventually(async () => (await hostProcesses(['sleep', seconds])).length === 1, 'the sleep');
      const dirs = (await record(state.dataDir, h.runtimeId)).cgroups;
      await state.provider.destroy(h.runtimeId);
      assert.deepEqual(await hostProcesses(['sleep', seconds]), []);
      for (const dir of dirs) assert.equal(existsSync(dir), false, `${dir} removed`);
    });
  });
});

describe('bwrap provider: pure pieces', () => {
  it('places each controller in its v1 hierarchy, else in v2 when delegated there', () => {
    const hybrid = parseMountinfo([
      '35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime - cgroup cgroup rw,cpu,cpuacct',
      '41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
      '22 1 8:1 / / rw - ext4 /dev/sda1 rw',
    ].join('\n'));
    assert.deepEqual(placeControllers(hybrid, ['pids']), [
      { controller: 'memory', version: 1, mount: '/sys/fs/cgroup/memory' },
      { controller: 'pids', version: 2, mount: '/sys/fs/cgroup/unified' },
      { controller: 'cpu', version: 1, mount: '/sys/fs/cgroup/cpu,cpuacct' },
    ]);
    const pure = parseMountinfo('30 23 0:26 / /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate');
    assert.deepEqual(placeControllers(pure, ['cpu', 'io']).map((p) => `${p.controller}@v${p.version}`), ['cpu@v2']);
    assert.equal(parseMountinfo('1 1 0:1 / /a\\040b rw - cgroup2 cgroup2 rw').v2, '/a b');
  });

  it('writes memory (with swap), pids and cpu limits in each version', () => {
    const r = { cpuMilli: 1500, memoryMb: 64, pids: 32 };
    assert.deepEqual(limitWrites('memory', 1, r, true), [
      { file: 'memory.limit_in_bytes', value: String(64 << 20) },
      { file: 'memory.memsw.limit_in_bytes', value: String(64 << 20) },
    ]);
    assert.deepEqual(limitWrites('memory', 2, r, true), [{ file: 'memory.max', value: String(64 << 20) }, { file: 'memory.swap.max', value: '0' }]);
    assert.deepEqual(limitWrites('memory', 2, r, false), [{ file: 'memory.max', value: String(64 << 20) }]);
    assert.deepEqual(limitWrites('pids', 1, r, false), [{ file: 'pids.max', value: '32' }]);
    assert.deepEqual(limitWrites('pids', 2, { cpuMilli: 1, memoryMb: 1 }, false), [{ file: 'pids.max', value: '1024' }], 'a default pid limit');
    assert.deepEqual(limitWrites('cpu', 1, r, false), [{ file: 'cpu.cfs_period_us', value: '100000' }, { file: 'cpu.cfs_quota_us', value: '150000' }]);
    assert.deepEqual(limitWrites('cpu', 2, { cpuMilli: 1, memoryMb: 1 }, false), [{ file: 'cpu.max', value: '1000 100000' }], 'at least 1 ms');
    assert.deepEqual(limitWrites('cpu', 2, { cpuMilli: 0, memoryMb: 0 }, false), []);
  });

  it('quotes everything it puts into shell text', () => {
    assert.equal(shQuote(`it's "x" $HOME`), `'it'\\''s "x" $HOME'`);
    const script = prelude({ cgroupProcs: [`/sys/fs/cgroup/x/a'b/cgroup.procs`], rlimits: { addressSpaceKb: 1024, processes: 10 } });
    assert.match(script, /echo \$\$ > '\/sys\/fs\/cgroup\/x\/a'\\''b\/cgroup.procs' \|\| /);
    assert.match(script, /ulimit -v 1024/);
    assert.ok(script.endsWith('exec "$0" "$@"'));
  });

  it('shares the network only for network "host" and never binds host home or state directories', () => {
    const base = { workspace: '/data/runtimes/r/workspace', rootLayout: [{ name: 'bin', kind: 'symlink' as const, target: 'usr/bin' }], sh: '/bin/sh', sleep: '/bin/sleep' };
    const none = holderArgs({ ...base, network: 'none', fds: { info: 3, passwd: 4, group: 5, hosts: 6, ready: 7 } });
    const host = holderArgs({ ...base, network: 'host', fds: { info: 3, passwd: 4, group: 5, ready: 7 } });
    assert.ok(!none.includes('--share-net') && host.includes('--share-net'));
    assert.ok(host.includes('/etc/resolv.conf') && !none.includes('/etc/resolv.conf'));
    const sources = none.filter((_, i) => ['--bind', '--ro-bind', '--ro-bind-try'].includes(none[i - 1] ?? ''));
    assert.ok(sources.every((src) => /^\/(usr|etc\/|data\/runtimes\/r\/workspace$)/.test(src)), sources.join(' '));
    for (const flag of ['--unshare-all', '--unshare-user', '--disable-userns', '--as-pid-1', '--remount-ro']) assert.ok(none.includes(flag), flag);
  });
});
